//! Who owns which topics: the table and the histories shared fairly among subjects.
//!
//! With `--auth-secret`, every publisher and private follower is a *subject*: the
//! `sub` of its token (`users/{sub}/*` patterns name it). One subject with an ordinary
//! token may create as many topics as its patterns allow, so without a share of its
//! own it could fill `--max-topics` alone (3,126 publishes to 32 new topics each do),
//! and Alice could then not even follow her own inbox. So a topic belongs to the
//! subject whose publish or subscription created it, and:
//!
//! - a subject may own at most `--max-topics-per-subject` topics (`hub.rs` refuses a
//!   request that would create more: `503`, counted as `per_subject`);
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

use std::collections::HashMap;

use crate::pubsub::forgotten::Forgotten;
use crate::pubsub::subject::Subject;
use crate::pubsub::topic::{Topic, TopicName};

/// How many topics each subject owns. Invariant: the counts add up to the number of
/// topics, and a subject that owns none has no entry (so the table is never larger
/// than the topic table).
#[derive(Default)]
pub struct Owners {
    topics: HashMap<Subject, usize>,
}

impl Owners {
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

#[cfg(test)]
#[path = "owners_tests.rs"]
mod tests;
