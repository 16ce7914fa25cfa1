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
//! at most `history_bytes` (the topic holding the most gives up its oldest message
//! first, so a busy topic cannot evict the others: `budget.rs`). A subscriber that
//! falls so far behind that its next messages were dropped gets what is still held and
//! is told it missed some (`missed.rs`). Nothing is queued per subscriber, so the
//! memory a lagging subscriber can pin is bounded by the histories, however far it
//! lags, plus the one batch it is writing ([`MAX_BATCH_BYTES`], whose messages the
//! histories may already have evicted). A topic with no follower and nothing held is
//! removed: it costs nothing. Topics and the byte budget are shared fairly among the
//! subjects that own them, and held messages expire after `--history-ttl-s`
//! (`owners.rs`, `expiry.rs`).
//!
//! Who is woken, and when, is the relay's job (`relay.rs`); a subscriber's side of all
//! this is `subscription.rs`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::thread::Thread;
use std::time::Instant;

use crate::pubsub::budget::{Budget, Histories, HistoryLimits};
use crate::pubsub::event_id::EventId;
use crate::pubsub::forgotten::Forgotten;
use crate::pubsub::merge;
use crate::pubsub::owners::Owners;
pub use crate::pubsub::owners::SubjectLimits;
use crate::pubsub::relay::{Relay, SubscriberKey};
use crate::pubsub::subject::{ANONYMOUS, Subject};
use crate::pubsub::topic::{LogEntry, Message, Topic, TopicName, encode_with_id};
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
    /// The most held messages one reconnect replays (`--max-replay`, see `missed.rs`).
    pub max_replay: usize,
}

impl HubLimits {
    /// The limits that concern the histories (`budget.rs`).
    fn for_histories(self) -> HistoryLimits {
        HistoryLimits {
            max_topics: self.max_topics,
            per_topic: self.history_per_topic,
            bytes: self.history_bytes,
        }
    }
}

/// Where a hub's message ids come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdSource {
    /// The hub counts them, 1, 2, 3... (a server on its own).
    Counted,
    /// A shared log gives them (`--redis`): every instance sees the same ids.
    Log,
}

/// What a publish returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub id: EventId,
    /// Subscribers that follow at least one of the topics, counted once each.
    pub subscribers: usize,
}

/// Why the hub refused a publish or a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HubError {
    /// The request would create topics beyond `max_topics`.
    TooManyTopics { limit: usize },
    /// An anonymous subscription would create topics beyond its share of
    /// `max_topics` ([`HubLimits::anonymous_topics`]).
    TooManyAnonymousTopics { limit: usize },
    /// A token subject would own more than its share of topics
    /// ([`SubjectLimits::topics_per_subject`]).
    TooManySubjectTopics { limit: usize },
}

impl HubLimits {
    /// How many topics may exist once an anonymous subscription (no token, on
    /// `--public` topics) has created its new ones: half of `max_topics`. The other
    /// half is kept for the topics of token holders, so that idle anonymous
    /// connections that follow made-up topic names cannot lock Bob out of his own
    /// inbox. (A token holder may still use every topic that is free.)
    pub fn anonymous_topics(&self) -> usize {
        self.max_topics / 2
    }
}

/// Counters for `/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HubSnapshot {
    pub subscribers: usize,
    pub topics: usize,
    /// Messages this hub took in since the start: published here, or (with
    /// `--redis`) read from the shared log, whichever instance published them.
    pub messages_received: u64,
    pub history_held: usize,
    pub history_bytes: usize,
    /// Subscribers that have left since the start, and the total time the hub's lock
    /// was held to let them go: what leaving costs every publish that waits for the
    /// lock (see `Followers` in topic.rs).
    pub subscribers_left: u64,
    pub leave_lock_ns: u64,
}

/// Topics, their histories and their subscribers.
pub struct Hub {
    pub(super) state: Mutex<HubState>,
    pub(super) limits: HubLimits,
    pub(super) subjects: SubjectLimits,
}

pub(super) struct HubState {
    pub(super) topics: HashMap<TopicName, Topic>,
    /// The id of the newest message ever published (`ZERO` before the first).
    pub(super) last_id: EventId,
    /// Messages added since the start.
    messages_added: u64,
    /// Counted here, or given by a shared log.
    pub(super) ids: IdSource,
    /// Messages at or before this id may be missing here although they exist (in the
    /// shared log, before what this hub was filled with). `ZERO` when counted.
    pub(super) floor: EventId,
    /// What the histories hold, and which topic gives up a message next (`budget.rs`).
    pub(super) budget: Budget,
    pub(super) relay: Relay,
    /// Notes of removed topics' gaps (`forgotten.rs`).
    pub(super) forgotten: Forgotten,
    /// Who owns which topics (`owners.rs`).
    pub(super) owners: Owners,
    /// Set at shutdown: every subscriber returns [`Delivery::Closed`].
    pub(super) closed: bool,
    /// Subscribers that have left, and how long they held the lock to do it.
    pub(super) subscribers_left: u64,
    pub(super) leave_lock_ns: u64,
}

impl Hub {
    /// An empty hub that counts its own ids.
    pub fn new(limits: HubLimits) -> Hub {
        Hub::with_ids(limits, IdSource::Counted)
    }

    /// An empty hub whose ids come from `ids`.
    pub fn with_ids(limits: HubLimits, ids: IdSource) -> Hub {
        Hub {
            state: Mutex::new(HubState {
                topics: HashMap::new(),
                last_id: EventId::ZERO,
                messages_added: 0,
                ids,
                floor: EventId::ZERO,
                budget: Budget::default(),
                relay: Relay::new(limits.relay_width),
                forgotten: Forgotten::default(),
                owners: Owners::default(),
                closed: false,
                subscribers_left: 0,
                leave_lock_ns: 0,
            }),
            limits,
            subjects: SubjectLimits::default(),
        }
    }

    /// This hub, sharing its topics and histories among subjects within `subjects`.
    pub fn with_subject_limits(mut self, subjects: SubjectLimits) -> Hub {
        self.subjects = subjects;
        self
    }

    /// Publishes `event` (its type and data; the hub gives it its id) to every topic in
    /// `topics`, and wakes their sleeping followers through the relay. Never blocks on
    /// a subscriber. (A hub that follows a shared log takes its messages from
    /// [`Hub::append`] instead.)
    pub fn publish(&self, topics: &[TopicName], event: Event) -> Result<Published, HubError> {
        self.publish_as(&Subject::from(ANONYMOUS), topics, event)
    }

    /// [`Hub::publish`] by `publisher`, who owns the topics it creates (`owners.rs`):
    /// refused if a token subject would own more than its share of them.
    pub fn publish_as(
        &self,
        publisher: &Subject,
        topics: &[TopicName],
        event: Event,
    ) -> Result<Published, HubError> {
        let mut to_wake = Vec::new();
        let published = {
            let mut state = lock(&self.state);
            debug_assert_eq!(state.ids, IdSource::Counted);
            state.make_room(topics, publisher, self.limits.max_topics, self.subjects)?;
            // The id is assigned under the lock, so ids follow publish order and every
            // history stays sorted.
            let id = state.last_id.next_counted();
            let subscribers = state.add(id, topics, event, publisher, self.limits);
            state.relay.wake_next(&mut to_wake);
            Published { id, subscribers }
        };
        to_wake.iter().for_each(Thread::unpark);
        Ok(published)
    }

    /// Adds messages that already have their ids, in the order of the shared log they
    /// come from (`redis/tail.rs`), and wakes their followers. An entry whose id is not
    /// above the newest one held is already here and is skipped, so reading part of
    /// the log twice (after a reconnect) repeats nothing. A topic that would exceed
    /// `max_topics` on this instance is left out of the histories here: the message is
    /// still in the log. Returns how many entries were new.
    pub fn append(&self, entries: Vec<LogEntry>) -> usize {
        let mut to_wake = Vec::new();
        let mut added = 0;
        {
            let mut state = lock(&self.state);
            debug_assert_eq!(state.ids, IdSource::Log);
            state.expire_held(self.subjects.history_ttl, Instant::now());
            for entry in entries {
                if entry.id <= state.last_id {
                    continue;
                }
                let publisher = &entry.publisher;
                state.add(entry.id, &entry.topics, entry.event, publisher, self.limits);
                added += 1;
            }
            state.relay.wake_next(&mut to_wake);
        }
        to_wake.iter().for_each(Thread::unpark);
        added
    }

    /// Says that this hub holds nothing at or before `id`, though the log may: a
    /// subscriber resuming from an older id is then sent to the log for the messages
    /// in between (see `Delivery::Gap`). Called when a started instance fills its
    /// history from the newest part of the log.
    pub fn set_floor(&self, id: EventId) {
        let mut state = lock(&self.state);
        state.floor = state.floor.max(id);
    }

    /// How many distinct subscribers follow at least one of `topics` now.
    pub fn count_followers(&self, topics: &[TopicName]) -> usize {
        let state = lock(&self.state);
        let mut followers: Vec<SubscriberKey> = topics
            .iter()
            .filter_map(|name| state.topics.get(name))
            .flat_map(|topic| topic.followers.iter())
            .collect();
        followers.sort_unstable();
        followers.dedup();
        followers.len()
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
            messages_received: state.messages_added,
            history_held: state.budget.held,
            history_bytes: state.budget.bytes,
            subscribers_left: state.subscribers_left,
            leave_lock_ns: state.leave_lock_ns,
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
        if new > 0 && self.topics.len() + new > max_topics {
            return Err(HubError::TooManyTopics { limit: max_topics });
        }
        Ok(())
    }

    /// Refuses a request by a token subject that would own more than its share of
    /// topics (`owners.rs`).
    pub(super) fn make_room_for_subject(
        &self,
        topics: &[TopicName],
        subject: &Subject,
        limits: SubjectLimits,
    ) -> Result<(), HubError> {
        self.owners
            .check_share(&self.topics, topics, subject, limits)
            .map_err(|limit| HubError::TooManySubjectTopics { limit })
    }

    /// Encodes the message `id`, holds it, and queues the sleeping followers of its
    /// topics; returns how many distinct subscribers follow them.
    fn add(
        &mut self,
        id: EventId,
        topics: &[TopicName],
        event: Event,
        publisher: &Subject,
        limits: HubLimits,
    ) -> usize {
        let encoded = encode_with_id(id, event);
        let message = Arc::new(Message {
            id,
            topics: topics.into(),
            encoded,
            held_since: Instant::now(),
        });
        self.last_id = id;
        self.messages_added += 1;
        let mut histories = Histories {
            topics: &mut self.topics,
            budget: &mut self.budget,
            forgotten: &mut self.forgotten,
            owners: &mut self.owners,
        };
        histories.hold(&message, publisher, limits.for_histories());
        self.schedule_followers(topics)
    }

    /// Queues the sleeping followers of `topics` in the relay; returns how many
    /// distinct subscribers follow them.
    fn schedule_followers(&mut self, topics: &[TopicName]) -> usize {
        let mut counted = HashSet::new();
        for name in topics {
            let Some(topic) = self.topics.get(name) else {
                continue;
            };
            for key in topic.followers.iter() {
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
    pub(super) fn pending(&self, topics: &[TopicName], after_id: EventId) -> Vec<Arc<Message>> {
        // The histories are merged as they are read, and the merge stops at the
        // budget: a batch costs what it sends (`merge.rs`).
        let histories: Vec<&Topic> = topics
            .iter()
            .filter_map(|name| self.topics.get(name))
            .collect();
        merge::batch_after(&histories, after_id, MAX_BATCH_BYTES)
    }

    /// The newest id that may be missing from the histories of `topics`: the newest
    /// one they dropped, or the hub's floor (`ZERO` if neither).
    pub(super) fn dropped_through(&self, topics: &[TopicName]) -> EventId {
        topics
            .iter()
            .filter_map(|name| self.topics.get(name))
            .map(|topic| topic.dropped_through)
            .fold(self.floor, EventId::max)
    }
}

#[cfg(test)]
#[path = "hub_tests.rs"]
mod tests;
