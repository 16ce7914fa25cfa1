//! Who owns which topics: the table and the histories shared fairly among subjects.
//!
//! With `--auth-secret`, every publisher and private follower is a *subject*: the
//! `sub` of its token (`users/{sub}/*` patterns name it). One subject with an ordinary
//! token may create as many topics as its patterns allow, so without a share of its
//! own it could fill `--max-topics` alone (3,126 publishes to 32 new topics each do),
//! and Alice could then not even follow her own inbox. So a topic belongs to the
//! subject whose publish or subscription created it, and:
//!
//! - a subject may own at most `--max-topics-per-subject` topics (`room.rs` refuses a
//!   request that would create more: `503`, counted as `per_subject`), and when the
//!   table is full anyway, the subject that owns the most gives up topics nobody
//!   follows to another token subject's new ones (`room.rs`), so Alice's own topics
//!   always have room while someone else holds more than she does;
//! - when the histories hold too much, the subject whose topics hold the most bytes
//!   gives up a message first (`budget.rs`), so one subject's publishing evicts its own
//!   history before anyone else's;
//! - held messages older than `--history-ttl-s` are dropped (`expiry.rs`), and a topic
//!   left with neither a message nor a follower goes with them.
//!
//! Clients without a token are one subject, `subject::ANONYMOUS`; their topics are bounded by
//! their own half of `--max-topics` (`HubLimits::anonymous_topics`) rather than by the
//! per-subject cap, so that a server without tokens, where everyone is anonymous, is
//! not capped at a subject's share.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use std::time::Duration;

use crate::pubsub::forgotten::Forgotten;
use crate::pubsub::subject::{Subject, is_anonymous};
use crate::pubsub::topic::{Topic, TopicName};

/// How many topics each subject owns. Invariant: the counts add up to the number of
/// topics, and a subject that owns none has no entry (so the table is never larger
/// than the topic table).
#[derive(Default)]
pub struct Owners {
    topics: HashMap<Subject, usize>,
}

impl Owners {
    /// The subject that owns the most topics, and how many.
    pub fn largest(&self) -> Option<(Subject, usize)> {
        self.topics
            .iter()
            .max_by_key(|(_, owned)| **owned)
            .map(|(subject, owned)| (Subject::clone(subject), *owned))
    }

    /// How many topics `subject` owns now.
    pub fn topics_of(&self, subject: &str) -> usize {
        self.topics.get(subject).copied().unwrap_or(0)
    }

    /// The topic `name` in `topics`, created for `owner` if need be (see
    /// [`Forgotten::topic_entry`] for what a re-created topic remembers).
    pub fn topic_entry<'t>(
        &mut self,
        forgotten: &Forgotten,
        topics: &'t mut HashMap<TopicName, Topic>,
        name: &TopicName,
        owner: &Subject,
    ) -> &'t mut Topic {
        let created = !topics.contains_key(name);
        let topic = forgotten.topic_entry(topics, name);
        if created {
            topic.owner = Subject::clone(owner);
            *self.topics.entry(Subject::clone(owner)).or_default() += 1;
        }
        topic
    }

    /// Removes the topic `name` (unused by now), and counts it off its owner.
    pub fn remove_topic(
        &mut self,
        forgotten: &mut Forgotten,
        topics: &mut HashMap<TopicName, Topic>,
        name: &TopicName,
    ) {
        let Some(owner) = topics.get(name).map(|topic| Subject::clone(&topic.owner)) else {
            return;
        };
        forgotten.remove_topic(topics, name);
        if let Some(count) = self.topics.get_mut(&owner) {
            *count -= 1;
            if *count == 0 {
                self.topics.remove(&owner);
            }
        }
    }
}

/// What each subject's topics hold together in the histories, and who holds the most
/// (`budget.rs` takes from it first). Invariant: each count is the sum of the `bytes`
/// of the subject's topics, and a subject whose topics hold nothing has no entry.
#[derive(Default)]
pub struct OwnerRanking {
    bytes: HashMap<Subject, usize>,
    /// The subjects by those bytes.
    ranked: BTreeSet<(usize, Subject)>,
}

impl OwnerRanking {
    /// Changes what `owner`'s topics hold by `-removed + added` bytes, keeping its
    /// place in the ranking.
    pub fn recount(&mut self, owner: &Subject, removed: usize, added: usize) {
        let before = self.bytes_of(owner);
        let after = before - removed + added;
        self.ranked.remove(&(before, Arc::clone(owner)));
        if after == 0 {
            self.bytes.remove(owner);
        } else {
            self.bytes.insert(Arc::clone(owner), after);
            self.ranked.insert((after, Arc::clone(owner)));
        }
    }

    /// The subjects holding anything, the one holding the most first.
    pub fn largest_first(&self) -> impl Iterator<Item = &Subject> {
        self.ranked.iter().rev().map(|(_, owner)| owner)
    }

    /// What `owner`'s topics hold now, in bytes.
    pub fn bytes_of(&self, owner: &str) -> usize {
        self.bytes.get(owner).copied().unwrap_or(0)
    }
}

/// How the hub is shared among subjects (`owners.rs`), from `Config`; kept apart from
/// [`HubLimits`] so that a hub without them (the default) needs no mention of them.
#[derive(Debug, Clone, Copy)]
pub struct SubjectLimits {
    /// Topics one token subject may own (`--max-topics-per-subject`).
    pub topics_per_subject: usize,
    /// How long a held message stays (`--history-ttl-s`); `None`: until pushed out.
    pub history_ttl: Option<Duration>,
}

impl Default for SubjectLimits {
    fn default() -> SubjectLimits {
        SubjectLimits {
            topics_per_subject: usize::MAX,
            history_ttl: None,
        }
    }
}

impl Owners {
    /// Whether `subject` may create the topics of `topics` that `existing` lacks:
    /// `Err(limit)` if a token subject would own more than its share of them. Clients
    /// without a token have their own half of the table instead (module docs).
    pub fn check_share(
        &self,
        existing: &HashMap<TopicName, Topic>,
        topics: &[TopicName],
        subject: &Subject,
        limits: SubjectLimits,
    ) -> Result<(), usize> {
        if is_anonymous(subject) {
            return Ok(());
        }
        let new = topics
            .iter()
            .filter(|name| !existing.contains_key(*name))
            .count();
        let limit = limits.topics_per_subject;
        if new > 0 && self.topics_of(subject) + new > limit {
            return Err(limit);
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "owners_tests.rs"]
mod tests;
