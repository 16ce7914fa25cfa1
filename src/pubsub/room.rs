//! Room in the topic table for a request's new topics: the cap, the subject's share,
//! and, when the table is full, who gives a topic up.
//!
//! `--max-topics` bounds the table and `--max-topics-per-subject` each subject's part
//! of it (`owners.rs`). The share alone cannot promise Alice room for her inbox: a
//! hundred subjects at their share fill the table too. So when a token subject's
//! request finds the table full, the subject that owns the most topics, if it owns
//! more than the requester would, gives up as many topics that nobody follows (each
//! with its whole history, dropped as the budget drops messages), in no particular
//! order. Followed topics are never taken: someone is reading them.
//! Clients without a token take no one's topic; their half of the table is theirs.
//!
//! Finding those topics walks the table, under the hub's lock, but only while the
//! table is full and a subject below the largest asks for more, which takes a
//! subject that is not the one filling it.

use std::time::Instant;

use crate::pubsub::budget::Histories;
use crate::pubsub::hub::{Hub, HubError, HubState, SubjectLimits};
use crate::pubsub::subject::{Subject, is_anonymous};
use crate::pubsub::topic::TopicName;
use crate::sync::lock;

impl Hub {
    /// Refuses a publish by `subject` that would create topics past its share
    /// (`owners.rs`), without creating any: with `--redis`, the topics are created when
    /// the message comes back from the log (`redis/tail.rs`).
    pub fn check_subject_room(
        &self,
        subject: &Subject,
        topics: &[TopicName],
    ) -> Result<(), HubError> {
        let mut state = lock(&self.state);
        state.expire_held(self.subjects.history_ttl, Instant::now());
        state.make_room_for_subject(topics, subject, self.subjects)
    }
}

impl HubState {
    /// Makes room for the new topics among `topics`, for `subject`: expires what is
    /// past its time-to-live, refuses a subject past its share, and, when the table
    /// would exceed `max_topics`, takes unfollowed topics from the subject that owns
    /// the most (module docs). Refuses if there is still no room.
    pub(super) fn make_room(
        &mut self,
        topics: &[TopicName],
        subject: &Subject,
        max_topics: usize,
        limits: SubjectLimits,
    ) -> Result<(), HubError> {
        self.expire_held(limits.history_ttl, Instant::now());
        self.make_room_for_subject(topics, subject, limits)?;
        if self.make_room_for(topics, max_topics).is_ok() || is_anonymous(subject) {
            return self.make_room_for(topics, max_topics);
        }
        let new = topics
            .iter()
            .filter(|name| !self.topics.contains_key(*name))
            .count();
        let needed = (self.topics.len() + new).saturating_sub(max_topics);
        self.take_unfollowed_topics(subject, new, needed);
        self.make_room_for(topics, max_topics)
    }

    /// Removes up to `needed` unfollowed topics of the subject that owns the most, if
    /// it owns more than `subject` will with its `new` ones.
    fn take_unfollowed_topics(&mut self, subject: &Subject, new: usize, needed: usize) {
        let Some((largest, owned)) = self.owners.largest() else {
            return;
        };
        if owned <= self.owners.topics_of(subject) + new || largest == *subject {
            return;
        }
        let taken: Vec<TopicName> = self
            .topics
            .iter()
            .filter(|(_, topic)| topic.owner == largest && topic.followers.is_empty())
            .map(|(name, _)| TopicName::clone(name))
            .take(needed)
            .collect();
        let mut histories = Histories {
            topics: &mut self.topics,
            budget: &mut self.budget,
            forgotten: &mut self.forgotten,
            owners: &mut self.owners,
        };
        for name in taken {
            // Its last message gone, an unfollowed topic is removed with it.
            while histories.topics.contains_key(&name) {
                histories.drop_oldest_of(&name);
            }
        }
    }
}
