//! The histories' memory budget: which message goes when they hold too much.
//!
//! Each topic keeps at most `--history` messages, and all histories together at most
//! `--history-bytes`. When a publish takes them over the budget, something must go.
//! Dropping the oldest message anywhere is simple, and unfair: a publisher allowed
//! only `users/alice/*` who sends three hundred 60 KB messages into an 8 MB budget
//! would push Bob's one message out of `users/bob/inbox`, and Bob's page, reconnecting,
//! would never see it.
//!
//! So the budget is shared among the subjects that own the topics (`owners.rs`: the
//! token's `sub`, or one subject for every client without a token), and then among
//! each subject's topics: it takes from the subject whose topics hold the most bytes,
//! from that subject's topic that holds the most, its oldest message first (on a tie,
//! the topic whose oldest message is older). A subject loses a message only while no
//! other subject holds more than it does, and a topic only while none of its owner's
//! holds more: Bob's small inbox is never taken to make room for Mallory, whether she
//! publishes to one big topic or spreads the same bytes over a thousand. A busy
//! publisher simply keeps a shorter past, which is what it paid for.
//!
//! ```text
//! budget 8 MB    mallory  users/mallory/0..999  ████████████████████  7.9 MB  <- the largest
//!                                                                             of hers loses
//!                bob      users/bob/inbox       █                     500 KB     its oldest
//! ```
//!
//! A message published to several topics is held once (`Arc`) but charged to each of
//! its topics in full, since each of them would keep it alive alone; the budget counts
//! its bytes once, and gets them back when the last history that holds it drops it.
//!
//! Finding the largest topic must not cost a walk over every topic under the hub's
//! lock, so the topics that hold anything are also kept in a [`BTreeSet`] ordered by
//! size: each change to a history moves its topic there in O(log topics).

use std::cmp::Reverse;
use std::collections::BTreeSet;
use std::sync::Arc;

use std::collections::HashMap;

use crate::pubsub::event_id::EventId;
use crate::pubsub::forgotten::Forgotten;
use crate::pubsub::owners::{OwnerRanking, Owners};
use crate::pubsub::subject::Subject;
use crate::pubsub::topic::{Message, Topic, TopicName};

/// What the histories hold, counted once per message, and which topic gives up a
/// message next.
#[derive(Default)]
pub struct Budget {
    /// Messages that at least one history holds.
    pub held: usize,
    /// What those messages are charged ([`Message::charged_bytes`]), each once.
    pub bytes: usize,
    /// Every topic whose history holds something, by its [`Rank`]: its owner's, then
    /// its own.
    ranking: BTreeSet<Rank>,
    /// What each subject's topics hold together: the largest gives up a message first.
    owners: OwnerRanking,
    /// Every topic whose history holds something, by the id of its oldest message:
    /// the first holds the oldest message of all (`expiry.rs`).
    by_age: BTreeSet<(EventId, TopicName)>,
}

/// A topic's place in the ranking: its owner, its bytes, then the age of its oldest
/// message (the older, the higher), then its name, so that every topic has a place of
/// its own and one owner's topics sit together, largest last.
type Rank = (Subject, usize, Reverse<EventId>, TopicName);

/// Where `topic` ranks now; `None` while its history is empty.
fn rank_of(name: &TopicName, topic: &Topic) -> Option<Rank> {
    let oldest = topic.history.front()?;
    Some((
        Arc::clone(&topic.owner),
        topic.bytes,
        Reverse(oldest.id),
        Arc::clone(name),
    ))
}

impl Budget {
    /// Counts `message`, which a history now holds and none held before.
    fn charge(&mut self, message: &Message) {
        self.held += 1;
        self.bytes += message.charged_bytes();
    }

    /// Gives back what [`Budget::charge`] counted for `message`, which no history
    /// holds any more. Each message is released once; were an accounting error ever to
    /// release more than was charged, the counters stop at zero rather than wrap to
    /// 2^64 (which would make every publish empty every history), and a debug build
    /// stops at the error.
    fn release(&mut self, message: &Message) {
        let (held, bytes) = (
            self.held.checked_sub(1),
            self.bytes.checked_sub(message.charged_bytes()),
        );
        debug_assert!(
            held.is_some() && bytes.is_some(),
            "released more than was charged: {} held, {} bytes, message {:?}",
            self.held,
            self.bytes,
            message.id
        );
        self.held = held.unwrap_or(0);
        self.bytes = bytes.unwrap_or(0);
    }

    /// Moves a topic from its old place in the rankings to its new one (a topic's
    /// owner never changes, so both ranks name the same one).
    fn rerank(&mut self, before: Option<Rank>, after: Option<Rank>) {
        if before == after {
            return;
        }
        if let Some(before) = before {
            self.owners.recount(&before.0, before.1, 0);
            self.by_age.remove(&(before.2.0, Arc::clone(&before.3)));
            self.ranking.remove(&before);
        }
        if let Some(after) = after {
            self.owners.recount(&after.0, 0, after.1);
            self.by_age.insert((after.2.0, Arc::clone(&after.3)));
            self.ranking.insert(after);
        }
    }

    /// The topic that should give up its oldest message: the largest topic of the
    /// subject holding the most bytes, unless all it holds is `newest` (the message
    /// being added, which always stays, even alone over the budget); then the next.
    fn largest_apart_from(&self, newest: EventId) -> Option<TopicName> {
        self.owners.largest_first().find_map(|owner| {
            self.topics_of(owner)
                .rev()
                .find(|(_, _, Reverse(oldest), _)| *oldest != newest)
                .map(|(_, _, _, name)| Arc::clone(name))
        })
    }

    /// `owner`'s topics that hold something, smallest first.
    fn topics_of<'b>(&'b self, owner: &Subject) -> impl DoubleEndedIterator<Item = &'b Rank> {
        // The smallest rank `owner` can have (no bytes, the newest possible oldest
        // message, the empty name) and the largest (every byte, the oldest possible
        // message, a name after every name: U+10FFFF is the last character).
        let newest = EventId {
            ms: u64::MAX,
            seq: u64::MAX,
        };
        let first = (Arc::clone(owner), 0, Reverse(newest), Arc::from(""));
        let last = (
            Arc::clone(owner),
            usize::MAX,
            Reverse(EventId::ZERO),
            Arc::from("\u{10FFFF}"),
        );
        self.ranking.range(first..=last)
    }

    /// The topic that holds the oldest message of all, and that message's id.
    pub fn oldest_held(&self) -> Option<&(EventId, TopicName)> {
        self.by_age.first()
    }

    /// What `owner`'s topics hold now, in bytes (each topic's `bytes`).
    pub fn bytes_of(&self, owner: &str) -> usize {
        self.owners.bytes_of(owner)
    }
}

/// The limits the histories are held within (from `HubLimits`).
#[derive(Debug, Clone, Copy)]
pub struct HistoryLimits {
    pub max_topics: usize,
    pub per_topic: usize,
    pub bytes: usize,
}

/// The hub's topics and what their histories hold, borrowed together from the hub's
/// state for one change.
pub struct Histories<'a> {
    pub topics: &'a mut HashMap<TopicName, Topic>,
    pub budget: &'a mut Budget,
    /// Where a removed topic leaves a note of what it dropped (`forgotten.rs`).
    pub forgotten: &'a mut Forgotten,
    /// Who owns which topics (`owners.rs`).
    pub owners: &'a mut Owners,
}

impl Histories<'_> {
    /// Appends `message` to each of its topics (but creates none beyond `max_topics`),
    /// then drops messages until every history and the byte budget are within their
    /// limits: each history's oldest beyond `per_topic`, then, while the budget is
    /// exceeded, the oldest of the topic that holds the most.
    /// A topic created for it belongs to `owner`.
    pub fn hold(&mut self, message: &Arc<Message>, owner: &Subject, limits: HistoryLimits) {
        let mut dropped = Vec::new();
        for name in message.topics.iter() {
            if !self.topics.contains_key(name) && self.topics.len() >= limits.max_topics {
                continue;
            }
            let topic = self
                .owners
                .topic_entry(self.forgotten, self.topics, name, owner);
            let before = rank_of(name, topic);
            topic.push(Arc::clone(message));
            if topic.history.len() > limits.per_topic {
                dropped.extend(topic.pop_oldest());
            }
            self.budget.rerank(before, rank_of(name, topic));
        }
        if self.is_in_a_history(message) {
            self.budget.charge(message);
        }
        // One message in several topics can fall out of several of them in this one
        // publish, and is then in `dropped` once per topic; it is released once.
        dropped.sort_unstable_by_key(|message: &Arc<Message>| message.id);
        dropped.dedup_by_key(|message| message.id);
        for message in dropped {
            self.release_if_unheld(&message);
        }
        while self.budget.bytes > limits.bytes {
            let Some(largest) = self.budget.largest_apart_from(message.id) else {
                break;
            };
            self.drop_oldest_of(&largest);
        }
    }

    /// Drops the oldest message of the topic `name`, and the topic itself if nothing
    /// needs it any more.
    pub(super) fn drop_oldest_of(&mut self, name: &TopicName) {
        let Some(topic) = self.topics.get_mut(name) else {
            return;
        };
        let before = rank_of(name, topic);
        let oldest = topic.pop_oldest();
        self.budget.rerank(before, rank_of(name, topic));
        if topic.is_unused() {
            self.owners.remove_topic(self.forgotten, self.topics, name);
        }
        if let Some(oldest) = oldest {
            self.release_if_unheld(&oldest);
        }
    }

    /// Gives back what `message` was charged once no history holds it. Called once
    /// per message that left a history, after all the histories it left this time.
    fn release_if_unheld(&mut self, message: &Message) {
        if !self.is_in_a_history(message) {
            self.budget.release(message);
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
}

#[cfg(test)]
#[path = "budget_eviction_tests.rs"]
mod tests;
