//! The hub: publishers add messages to topics, subscribers take what they have not
//! sent yet, and each topic's recent history lets a reconnecting client catch up.
//!
//! # Why this shape
//!
//! The hub never writes to a socket and never waits for a subscriber. It is a table of
//! topics behind one mutex; each subscriber thread takes what it has not sent yet and
//! writes it to its own client after letting go of the lock:
//!
//! ```text
//! publish ──► lock: give the message the next id, append it to each of its topics,
//!             queue the sleeping followers in the relay; unlock; wake a few of them
//!                                   │
//!         ┌─────────────────────────┴───────────────────────────┐
//!   subscriber A (its own thread)                  subscriber B (its own thread)
//!   lock, copy messages after A's last id, unlock  ...same, when the relay wakes it
//!   write them to A's socket in one write          write to B's socket
//! ```
//!
//! Each subscriber only remembers the id of the last message it sent. Whatever has a
//! larger id in the topics it follows is pending for it. So live delivery and replay
//! after a reconnect are the same operation: "send me everything after id K", where K
//! is the `Last-Event-ID` the browser sent back. Ids form one sequence across all
//! topics, so one `Last-Event-ID` resumes a subscription to several topics.
//!
//! One lock for all topics keeps that simple and correct: a subscriber to topics A and
//! B sees both histories at one instant, so it can never send message 11 of B and
//! later find a message 10 of A that it would then skip. The lock is held only to copy
//! a few `Arc`s; no I/O and no waiting happen under it.
//!
//! # Memory
//!
//! Each topic keeps at most `history_per_topic` messages, and all histories together
//! at most `history_bytes` (the oldest message anywhere goes first). A subscriber that
//! falls so far behind that its next messages were dropped gets what is still held and
//! is told it missed some. Nothing is queued per subscriber, so the memory a lagging
//! subscriber can pin is bounded by the histories, however far it lags. A topic with
//! no follower and nothing held is removed: it costs nothing.
//!
//! Who is woken, and when, is the relay's job (`relay.rs`); a subscriber's side of all
//! this is `subscription.rs`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::thread::Thread;

use crate::pubsub::relay::Relay;
use crate::pubsub::topic::{Message, Topic, TopicName};
use crate::sse::event::Event;
use crate::sync::lock;

/// The most bytes of messages one delivery hands to a subscriber (unless a single
/// message is larger). It bounds the memory a lagging subscriber can hold at once.
pub const MAX_BATCH_BYTES: usize = 64 * 1024;

/// The hub's limits, from `Config`.
#[derive(Debug, Clone, Copy)]
pub struct HubLimits {
    /// Messages each topic keeps for replay.
    pub history_per_topic: usize,
    /// Bytes all histories together may hold.
    pub history_bytes: usize,
    /// Topics that may exist at once.
    pub max_topics: usize,
    /// Subscribers the relay keeps woken at once.
    pub relay_width: usize,
}

/// What a publish returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub id: u64,
    /// Subscribers that follow at least one of the topics, counted once each.
    pub subscribers: usize,
}

/// Why the hub refused a publish or a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HubError {
    /// The request would create topics beyond `max_topics`.
    TooManyTopics { limit: usize },
}

/// Counters for `/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HubSnapshot {
    pub subscribers: usize,
    pub topics: usize,
    pub messages_published: u64,
    pub history_held: usize,
    pub history_bytes: usize,
}

/// Topics, their histories and their subscribers.
pub struct Hub {
    pub(super) state: Mutex<HubState>,
    pub(super) limits: HubLimits,
}

pub(super) struct HubState {
    pub(super) topics: HashMap<TopicName, Topic>,
    /// The id of the newest message ever published (0 before the first).
    pub(super) last_id: u64,
    /// Every message some history may still hold, oldest first: the order in which
    /// the byte budget drops them.
    held: VecDeque<Arc<Message>>,
    /// What `held` is charged, in bytes.
    held_bytes: usize,
    pub(super) relay: Relay,
    /// Set at shutdown: every subscriber returns [`Delivery::Closed`].
    pub(super) closed: bool,
}

impl Hub {
    /// An empty hub.
    pub fn new(limits: HubLimits) -> Hub {
        Hub {
            state: Mutex::new(HubState {
                topics: HashMap::new(),
                last_id: 0,
                held: VecDeque::new(),
                held_bytes: 0,
                relay: Relay::new(limits.relay_width),
                closed: false,
            }),
            limits,
        }
    }

    /// Publishes `event` (its type and data; the hub gives it its id) to every topic in
    /// `topics`, and wakes their sleeping followers through the relay. Never blocks on
    /// a subscriber.
    pub fn publish(&self, topics: &[TopicName], event: Event) -> Result<Published, HubError> {
        let mut to_wake = Vec::new();
        let published = {
            let mut state = lock(&self.state);
            state.make_room_for(topics, self.limits.max_topics)?;
            // The id is assigned under the lock, so ids follow publish order and every
            // history stays sorted.
            let id = state.last_id + 1;
            let encoded = event
                .with_id(id.to_string())
                .expect("decimal digits contain no CR, LF or NUL")
                .encode()
                .into_boxed_slice();
            let message = Arc::new(Message {
                id,
                topics: topics.into(),
                encoded,
            });
            state.last_id = id;
            state.hold(&message, self.limits);
            let subscribers = state.schedule_followers(topics);
            state.relay.wake_next(&mut to_wake);
            Published { id, subscribers }
        };
        to_wake.iter().for_each(Thread::unpark);
        Ok(published)
    }

    /// Wakes every subscriber and makes its next look end the stream (see
    /// `subscription.rs`).
    pub fn close(&self) {
        let threads = {
            let mut state = lock(&self.state);
            state.closed = true;
            state.relay.all_threads()
        };
        threads.iter().for_each(Thread::unpark);
    }

    /// Counters for `/stats`.
    pub fn snapshot(&self) -> HubSnapshot {
        let state = lock(&self.state);
        HubSnapshot {
            subscribers: state.relay.len(),
            topics: state.topics.len(),
            messages_published: state.last_id,
            history_held: state.held.len(),
            history_bytes: state.held_bytes,
        }
    }
}

impl HubState {
    /// Refuses a request that would create topics beyond `max_topics`.
    pub(super) fn make_room_for(
        &self,
        topics: &[TopicName],
        max_topics: usize,
    ) -> Result<(), HubError> {
        let new = topics
            .iter()
            .filter(|name| !self.topics.contains_key(*name))
            .count();
        if self.topics.len() + new > max_topics {
            return Err(HubError::TooManyTopics { limit: max_topics });
        }
        Ok(())
    }

    /// Appends `message` to each of its topics, then drops the oldest messages until
    /// every history and the byte budget are within their limits.
    fn hold(&mut self, message: &Arc<Message>, limits: HubLimits) {
        for name in message.topics.iter() {
            let topic = self.topics.entry(Arc::clone(name)).or_default();
            topic.history.push_back(Arc::clone(message));
            if topic.history.len() > limits.history_per_topic {
                let oldest = topic.history[0].id;
                topic.drop_oldest_if(oldest);
            }
        }
        self.held.push_back(Arc::clone(message));
        self.held_bytes += message.charged_bytes();
        // Messages the per-topic limits have dropped from every history stop counting
        // against the budget once they reach the front of `held`.
        while let Some(oldest) = self.held.front()
            && !self.is_in_a_history(oldest)
        {
            self.held_bytes -= oldest.charged_bytes();
            self.held.pop_front();
        }
        // The newest message always stays, even if it alone is over the budget.
        while self.held_bytes > limits.history_bytes && self.held.len() > 1 {
            let oldest = self.held.pop_front().expect("held has more than one");
            self.held_bytes -= oldest.charged_bytes();
            for name in oldest.topics.iter() {
                if let Some(topic) = self.topics.get_mut(name) {
                    topic.drop_oldest_if(oldest.id);
                    if topic.is_unused() {
                        self.topics.remove(name);
                    }
                }
            }
        }
    }

    /// Whether some topic's history still holds `message`. Histories only ever lose
    /// their oldest messages, so a topic still holds it exactly when its oldest held
    /// message is not newer.
    fn is_in_a_history(&self, message: &Message) -> bool {
        message.topics.iter().any(|name| {
            self.topics
                .get(name)
                .and_then(|topic| topic.history.front())
                .is_some_and(|oldest| oldest.id <= message.id)
        })
    }

    /// Queues the sleeping followers of `topics` in the relay; returns how many
    /// distinct subscribers follow them.
    fn schedule_followers(&mut self, topics: &[TopicName]) -> usize {
        let mut counted = HashSet::new();
        for name in topics {
            let Some(topic) = self.topics.get(name) else {
                continue;
            };
            for &key in &topic.followers {
                self.relay.schedule(key);
                if topics.len() > 1 {
                    counted.insert(key);
                }
            }
        }
        match topics {
            [only] => self
                .topics
                .get(only)
                .map_or(0, |topic| topic.followers.len()),
            _ => counted.len(),
        }
    }

    /// The messages after `after_id` in `topics`, in id order, each once, up to
    /// [`MAX_BATCH_BYTES`] (always at least one if any is pending).
    pub(super) fn pending(&self, topics: &[TopicName], after_id: u64) -> Vec<Arc<Message>> {
        let mut pending: Vec<&Arc<Message>> = topics
            .iter()
            .filter_map(|name| self.topics.get(name))
            .flat_map(|topic| topic.messages_after(after_id))
            .collect();
        if topics.len() > 1 {
            // A message published to two followed topics sits in both histories.
            pending.sort_unstable_by_key(|message| message.id);
            pending.dedup_by_key(|message| message.id);
        }
        let mut batch = Vec::new();
        let mut bytes = 0;
        for message in pending {
            if !batch.is_empty() && bytes + message.encoded.len() > MAX_BATCH_BYTES {
                break;
            }
            bytes += message.encoded.len();
            batch.push(Arc::clone(message));
        }
        batch
    }

    /// The newest id dropped from any of `topics` (0 if none was).
    pub(super) fn dropped_through(&self, topics: &[TopicName]) -> u64 {
        topics
            .iter()
            .filter_map(|name| self.topics.get(name))
            .map(|topic| topic.dropped_through)
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
#[path = "hub_tests.rs"]
mod tests;
