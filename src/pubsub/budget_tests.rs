//! The history budget's accounting, checked after every step: what it counts is what
//! the histories hold, it evicts only while a limit is exceeded, and a subscriber is
//! never silently short of a message (see `budget.rs`).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::pubsub::event_id::EventId;
use crate::pubsub::hub::{Hub, HubLimits};
use crate::pubsub::subscription::{Delivery, Subscription};
use crate::pubsub::topic::{TopicName, check_topic_name};
use crate::sse::event::Event;

static QUIET: AtomicBool = AtomicBool::new(false);

fn names(list: &[String]) -> Vec<TopicName> {
    list.iter()
        .map(|name| check_topic_name(name).unwrap())
        .collect()
}

/// What the histories really hold, read from the hub's state: each distinct message
/// once, with what it is charged.
fn really_held(hub: &Hub) -> BTreeMap<EventId, usize> {
    let state = hub.state.lock().unwrap();
    let mut held = BTreeMap::new();
    for topic in state.topics.values() {
        for message in &topic.history {
            held.insert(message.id, message.charged_bytes());
        }
    }
    held
}

/// The budget's own counters, (held, bytes).
fn counted(hub: &Hub) -> (usize, usize) {
    let snapshot = hub.snapshot();
    (snapshot.history_held, snapshot.history_bytes)
}

/// Issue 23's reproduction: with `--history 100`, 1,200 publishes each to the same 32
/// topics used to release every message 32 times, wrapping `history_held` and
/// `history_bytes` to near 2^64, after which every publish emptied every history.
#[test]
fn publishing_to_thirty_two_topics_keeps_the_counters_exact_and_other_histories_whole() {
    let hub = Hub::new(HubLimits {
        history_per_topic: 100,
        history_bytes: 8 * 1024 * 1024,
        max_topics: 1000,
        relay_width: 2,
        max_replay: 10_000,
    });
    let all = names(&(0..32).map(|n| format!("m/{n}")).collect::<Vec<_>>());
    for _ in 0..1200 {
        hub.publish(&all, Event::new("x")).unwrap();
    }
    let held = really_held(&hub);
    assert_eq!(held.len(), 100);
    assert_eq!(counted(&hub), (100, held.values().sum()));

    // Another topic's 50 messages are all kept, and replayed.
    let other = names(&["other".to_string()]);
    let published: Vec<EventId> = (0..50)
        .map(|n| hub.publish(&other, Event::new(format!("{n}"))).unwrap().id)
        .collect();
    let mut replay = hub.subscribe(other, Some(EventId::ZERO)).unwrap();
    let (replayed, missed) = drain(&mut replay);
    assert_eq!(replayed, published);
    assert!(!missed);

    // A live subscriber, reading as it goes, gets all of a burst of 200, no `missed`.
    let live = names(&["live".to_string()]);
    let mut subscriber = hub.subscribe(live.clone(), None).unwrap();
    let mut burst = Vec::new();
    let mut received = Vec::new();
    for n in 0..200 {
        burst.push(hub.publish(&live, Event::new(format!("{n}"))).unwrap().id);
        if n % 7 == 0 {
            let (ids, missed) = drain(&mut subscriber);
            assert!(!missed);
            received.extend(ids);
        }
    }
    let (ids, missed) = drain(&mut subscriber);
    assert!(!missed);
    received.extend(ids);
    assert_eq!(received, burst);
}

/// Everything a subscription has waiting now, and whether it was told it missed some.
fn drain(subscription: &mut Subscription) -> (Vec<EventId>, bool) {
    let (mut ids, mut missed_any) = (Vec::new(), false);
    while let Delivery::Messages { messages, missed } =
        subscription.next_delivery(Duration::ZERO, &QUIET)
    {
        missed_any |= missed.is_some();
        ids.extend(messages.iter().map(|message| message.id));
    }
    (ids, missed_any)
}

/// A seeded generator (an LCG; good enough to vary the steps).
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// One subscriber of the property test: its topics, the ids published to them since it
/// subscribed, and how far it has read.
struct Follower<'hub> {
    hub: &'hub Hub,
    subscription: Subscription<'hub>,
    topics: Vec<TopicName>,
    expected: Vec<EventId>,
    last_read: EventId,
    /// Messages evicted from a history since this follower last read.
    evictions_since_read: usize,
}

impl Follower<'_> {
    /// Its topics' histories and newest drops, for a failure's message.
    fn histories(&self) -> String {
        let state = self.hub.state.lock().unwrap();
        let mut out = String::new();
        for name in &self.topics {
            if let Some(topic) = state.topics.get(name) {
                out += &format!(
                    "{name}: dropped_through {:?} history {:?}\n",
                    topic.dropped_through.seq,
                    topic.history.iter().map(|m| m.id.seq).collect::<Vec<_>>()
                );
            }
        }
        out
    }

    /// Reads everything waiting and checks it: in order, each once, each for one of
    /// its topics, and every expected message either delivered or inside a gap it was
    /// told about with `missed`, which it is told only if something was evicted.
    fn read_and_check(&mut self) {
        while let Delivery::Messages { messages, missed } =
            self.subscription.next_delivery(Duration::ZERO, &QUIET)
        {
            let told_through = missed.map(|missed| missed.through);
            if missed.is_some() {
                assert!(self.evictions_since_read > 0, "missed with nothing evicted");
            }
            for message in &messages {
                assert!(message.id > self.last_read, "out of order or repeated");
                assert!(message.topics.iter().any(|t| self.topics.contains(t)));
            }
            // Told "missed, through unknown", a page reloads what it built: that
            // covers everything published so far, delivered or not.
            let published_so_far = self.hub.state.lock().unwrap().last_id;
            let told_upto = match told_through {
                Some(Some(through)) => Some(through),
                Some(None) => Some(published_so_far),
                None => None,
            };
            let newest = messages.last().map(|message| message.id);
            let upto = newest.max(told_upto).unwrap_or(self.last_read);
            for &id in self.expected.iter().filter(|&&id| id > self.last_read) {
                if id > upto {
                    break;
                }
                let delivered = messages.iter().any(|message| message.id == id);
                let told = told_upto.is_some_and(|upto| id <= upto);
                assert!(
                    delivered || told,
                    "{id:?} silently lost: got {:?}, missed {told_through:?}, last read {:?}, \
                     expected {:?}, histories:\n{}",
                    messages
                        .iter()
                        .map(|m| (m.id.seq, m.topics.clone()))
                        .collect::<Vec<_>>(),
                    self.last_read,
                    self.expected,
                    self.histories()
                );
            }
            self.last_read = self.last_read.max(upto);
        }
        self.evictions_since_read = 0;
    }
}

/// Random single- and multi-topic publishes over random history limits, with
/// subscribers that come, read at their own pace and leave. After every step: the
/// budget counts exactly what the histories hold; a publish evicts nothing while every
/// limit has room, and stops evicting as soon as the bytes fit; no subscriber loses a
/// message without being told.
#[test]
fn the_budget_counts_what_is_held_and_evicts_only_past_a_limit() {
    for seed in 1..=24u64 {
        let mut dice = Dice(seed * 0x9e37_79b9);
        let limits = HubLimits {
            history_per_topic: 1 + dice.below(8) as usize,
            history_bytes: 300 + dice.below(4000) as usize,
            max_topics: 1000,
            relay_width: 2,
            max_replay: 10_000,
        };
        let hub = Hub::new(limits);
        let pool: Vec<String> = (0..6).map(|n| format!("t{n}")).collect();
        let mut followers: Vec<Follower> = Vec::new();
        let mut history_len: HashMap<TopicName, usize> = HashMap::new();
        for _ in 0..600 {
            match dice.below(10) {
                0 if followers.len() < 5 => {
                    let count = 1 + dice.below(3) as usize;
                    let start = dice.below(6) as usize;
                    let mut list: Vec<String> =
                        (0..count).map(|k| pool[(start + k) % 6].clone()).collect();
                    list.dedup();
                    let topics = names(&list);
                    followers.push(Follower {
                        hub: &hub,
                        subscription: hub.subscribe(topics.clone(), None).unwrap(),
                        topics,
                        expected: Vec::new(),
                        last_read: hub.state.lock().unwrap().last_id,
                        evictions_since_read: 0,
                    });
                }
                1 if !followers.is_empty() => {
                    followers.swap_remove(dice.below(followers.len() as u64) as usize);
                }
                2..=4 if !followers.is_empty() => {
                    let n = dice.below(followers.len() as u64) as usize;
                    followers[n].read_and_check();
                }
                _ => {
                    let count = 1 + dice.below(4) as usize;
                    let mut list: Vec<String> = (0..count)
                        .map(|_| pool[dice.below(6) as usize].clone())
                        .collect();
                    list.sort();
                    list.dedup();
                    let topics = names(&list);
                    let before = really_held(&hub);
                    let bytes_before: usize = before.values().sum();
                    let full_topic = topics.iter().any(|name| {
                        history_len.get(name).copied().unwrap_or(0) >= limits.history_per_topic
                    });
                    let size = dice.below(300) as usize;
                    let published = hub.publish(&topics, Event::new("x".repeat(size))).unwrap();
                    let after = really_held(&hub);
                    let charged = after[&published.id];
                    let bytes_after: usize = after.values().sum();
                    assert_eq!(counted(&hub), (after.len(), bytes_after));

                    let evicted: Vec<usize> = before
                        .iter()
                        .filter(|(id, _)| !after.contains_key(id))
                        .map(|(_, bytes)| *bytes)
                        .collect();
                    if !full_topic && bytes_before + charged <= limits.history_bytes {
                        assert!(evicted.is_empty(), "evicted within every limit");
                    }
                    if !full_topic && !evicted.is_empty() && after.len() > 1 {
                        // Only the byte budget evicted: it stopped as soon as it fit.
                        assert!(bytes_after <= limits.history_bytes);
                        let largest = evicted.iter().max().unwrap();
                        assert!(bytes_after + largest > limits.history_bytes);
                    }
                    let evictions = evicted.len() + usize::from(full_topic);
                    for follower in &mut followers {
                        follower.evictions_since_read += evictions;
                        if topics.iter().any(|t| follower.topics.contains(t)) {
                            follower.expected.push(published.id);
                        }
                    }
                    let state = hub.state.lock().unwrap();
                    history_len = state
                        .topics
                        .iter()
                        .map(|(name, topic)| (name.clone(), topic.history.len()))
                        .collect();
                }
            }
        }
        for follower in &mut followers {
            follower.read_and_check();
        }
    }
}
