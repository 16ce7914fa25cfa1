//! What the hub remembers of topics it has removed.
//!
//! A topic with no follower and nothing held is removed (`hub.rs`): it costs nothing.
//! But its `dropped_through` would go with it, and that is what tells a client
//! resuming on it later that messages were lost (`missed.rs`). So a removed topic that
//! had dropped messages leaves a small note, its name and the newest id it dropped,
//! and when the name is used again the topic starts from that note.
//!
//! The notes are bounded ([`MAX_NOTES`], oldest out first), so a stream of made-up
//! topic names cannot grow them without end. A resume on a topic whose note was pushed
//! out (ten thousand removals later) is not told what that topic lost: the one case of
//! silence, and a bounded one.

use std::collections::{HashMap, VecDeque};

use crate::pubsub::event_id::EventId;
use crate::pubsub::topic::{Topic, TopicName};

/// The most removed topics remembered by name.
pub const MAX_NOTES: usize = 10_000;

/// Notes left by removed topics.
#[derive(Default)]
pub struct Forgotten {
    /// The newest id each removed topic had dropped.
    by_name: HashMap<TopicName, EventId>,
    /// Names in the order their notes were first written, to push the oldest out.
    order: VecDeque<TopicName>,
}

impl Forgotten {
    /// Notes that the topic `name` was removed after dropping ids up to `dropped`.
    pub fn note(&mut self, name: &TopicName, dropped: EventId) {
        if dropped == EventId::ZERO {
            return;
        }
        if self
            .by_name
            .insert(TopicName::clone(name), dropped)
            .is_none()
        {
            self.order.push_back(TopicName::clone(name));
        }
        while self.order.len() > MAX_NOTES {
            let oldest = self.order.pop_front().expect("longer than MAX_NOTES");
            self.by_name.remove(&oldest);
        }
    }

    /// The newest id the removed topic `name` had dropped (`ZERO` if none is noted).
    pub fn dropped_by(&self, name: &TopicName) -> EventId {
        self.by_name.get(name).copied().unwrap_or(EventId::ZERO)
    }

    /// The topic `name` in `topics`, created if need be, knowing what it dropped
    /// before it was last removed.
    pub fn topic_entry<'t>(
        &self,
        topics: &'t mut HashMap<TopicName, Topic>,
        name: &TopicName,
    ) -> &'t mut Topic {
        let dropped = self.dropped_by(name);
        topics
            .entry(TopicName::clone(name))
            .or_insert_with(|| Topic {
                dropped_through: dropped,
                ..Topic::default()
            })
    }

    /// Removes the topic `name` (unused by now) from `topics`, noting what it dropped.
    pub fn remove_topic(&mut self, topics: &mut HashMap<TopicName, Topic>, name: &TopicName) {
        if let Some(topic) = topics.remove(name) {
            self.note(name, topic.dropped_through);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pubsub::topic::check_topic_name;

    #[test]
    fn a_note_is_kept_by_name_and_the_oldest_pushed_out() {
        let mut forgotten = Forgotten::default();
        let name = |n: usize| check_topic_name(&format!("t{n}")).unwrap();
        forgotten.note(&name(0), EventId::counted(5));
        forgotten.note(&name(1), EventId::ZERO);
        assert_eq!(forgotten.dropped_by(&name(0)), EventId::counted(5));
        assert_eq!(forgotten.dropped_by(&name(1)), EventId::ZERO);
        for n in 1..=MAX_NOTES {
            forgotten.note(&name(n), EventId::counted(10));
        }
        assert_eq!(forgotten.order.len(), MAX_NOTES);
        assert_eq!(forgotten.dropped_by(&name(0)), EventId::ZERO);
        assert_eq!(forgotten.dropped_by(&name(MAX_NOTES)), EventId::counted(10));
    }
}
