//! Telling a subscriber what it missed: where a new subscription starts, when a
//! delivery follows a gap, and how far back one reconnect may replay.
//!
//! A client can miss messages in three ways, and each is told to it with a `missed`
//! event (`sse/missed.rs` writes it) before the messages it still gets:
//!
//! ```text
//! 1. it resumes from an id older than what the histories hold   through = newest dropped
//! 2. it resumes from an id this server cannot place             through = unknown
//! 3. it resumes from so far back that --max-replay cuts it      through = newest skipped
//! ```
//!
//! and a connected subscriber that reads too slowly falls into case 1 mid-stream.
//! What "held" means is decided per topic: each remembers the id of the newest message
//! it dropped (`Topic::dropped_through`), and a subscriber at id K missed something of
//! topic T exactly when that id is above K. Nothing is missed when K *is* that id.
//!
//! One message can sit in several topics; a subscriber following two of them still
//! gets it while either history holds it. So the id we name as the newest missed is
//! the newest dropped one that no followed history holds. A topic whose newest
//! dropped message is still held elsewhere may have lost older ones, below it, which
//! nobody remembers: unless a lost message newer than that is named anyway, we say
//! "missed, through unknown" rather than stay silent about a possible loss (a
//! property test in `budget_tests.rs` checks that no loss goes untold).

use std::collections::VecDeque;
use std::sync::Arc;

use crate::pubsub::event_id::EventId;
use crate::pubsub::hub::{HubState, IdSource};
use crate::pubsub::topic::{Message, TopicName};

/// The event type of the notice (`sse/missed.rs` writes it). Reserved: a publish may
/// not use it, so a page can trust that only the server says it.
pub const MISSED_EVENT: &str = "missed";

/// The default of `--max-replay`: the most messages one reconnect replays.
pub const DEFAULT_MAX_REPLAY: usize = 10_000;

/// Messages the client will not get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missed {
    /// The id of the newest message the client will not get, when known.
    pub through: Option<EventId>,
}

impl Missed {
    /// One report for two gaps: the newer bound, and unknown if either is.
    pub fn and(self, other: Option<Missed>) -> Missed {
        match other {
            None => self,
            Some(other) => Missed {
                through: self.through.zip(other.through).map(|(a, b)| a.max(b)),
            },
        }
    }
}

/// Where a new subscription starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// No `Last-Event-ID`: with the next message published.
    New,
    /// After this id, which the client sent back.
    After(EventId),
    /// The client sent an id that is not one of ours (see [`Resume::from_header`]).
    Unplaced,
}

impl Resume {
    /// Reads a `Last-Event-ID` value: none or empty is a new subscription, one of our
    /// ids resumes after it, and anything else cannot be placed.
    pub fn from_header(value: Option<&str>) -> Resume {
        match value.map(str::trim) {
            None | Some("") => Resume::New,
            Some(text) => EventId::parse(text).map_or(Resume::Unplaced, Resume::After),
        }
    }
}

impl From<Option<EventId>> for Resume {
    fn from(id: Option<EventId>) -> Resume {
        id.map_or(Resume::New, Resume::After)
    }
}

impl HubState {
    /// The id a subscription to `topics` starts after, and what it is to be told it
    /// missed before its first messages.
    pub(super) fn start_after(
        &self,
        topics: &[TopicName],
        resume: Resume,
        max_replay: usize,
    ) -> (EventId, Option<Missed>) {
        let resume = match resume {
            // A counted id from the future was issued by an earlier run of the server
            // (counting restarts at 1). With a shared log, a counted id is from a server
            // that ran without one; a log id from the future may simply be another
            // instance ahead of us, and what comes after it will reach us too.
            Resume::After(id) if self.ids == IdSource::Counted && id > self.last_id => {
                Resume::Unplaced
            }
            Resume::After(id) if self.ids == IdSource::Log && id.ms == 0 && id > EventId::ZERO => {
                Resume::Unplaced
            }
            other => other,
        };
        let (after, missed) = match resume {
            Resume::New => return (self.last_id, None),
            Resume::After(id) => (id, None),
            // Everything still held here is new to this client, and what else it
            // missed nobody here can say.
            Resume::Unplaced => (self.dropped_through(topics), Some(Missed { through: None })),
        };
        match self.replay_cutoff(topics, after, max_replay) {
            Some(cutoff) => {
                let cut = Missed {
                    through: Some(cutoff),
                };
                (cutoff, Some(cut.and(missed)))
            }
            None => (after, missed),
        }
    }

    /// What a subscriber at `after` has missed of `topics` that the histories dropped:
    /// `None` when nothing (see the module docs for the message held twice).
    pub(super) fn missed_since(&self, topics: &[TopicName], after: EventId) -> Option<Missed> {
        let mut any = false;
        let mut newest_lost = None;
        let mut newest_held = None;
        for dropped in topics
            .iter()
            .filter_map(|name| self.topics.get(name))
            .map(|topic| topic.dropped_through)
            .filter(|&dropped| dropped > after)
        {
            any = true;
            if self.is_held_in(topics, dropped) {
                newest_held = newest_held.max(Some(dropped));
            } else {
                newest_lost = newest_lost.max(Some(dropped));
            }
        }
        // A topic whose newest drop is held elsewhere may have lost older messages,
        // all below that drop: `newest_lost` names them only if it is newer still.
        let through = match newest_held {
            Some(held) if newest_lost < Some(held) => None,
            _ => newest_lost,
        };
        any.then_some(Missed { through })
    }

    /// How many held messages of `topics` come after `after` (a message held in two
    /// of them counted twice: an upper bound, cheap to take).
    pub(super) fn count_held_after(&self, topics: &[TopicName], after: EventId) -> usize {
        topics
            .iter()
            .filter_map(|name| self.topics.get(name))
            .map(|topic| pending_in(&topic.history, after))
            .sum()
    }

    /// Whether the history of one of `topics` holds the message `id`.
    fn is_held_in(&self, topics: &[TopicName], id: EventId) -> bool {
        topics
            .iter()
            .filter_map(|name| self.topics.get(name))
            .any(|topic| {
                topic
                    .history
                    .binary_search_by_key(&id, |message| message.id)
                    .is_ok()
            })
    }

    /// When more than `max_replay` held messages of `topics` come after `after`: the id
    /// of the newest one that does not fit, which the replay starts after. The
    /// histories are walked from their newest ends, like a merge run backwards, for at
    /// most `max_replay` steps.
    fn replay_cutoff(
        &self,
        topics: &[TopicName],
        after: EventId,
        max_replay: usize,
    ) -> Option<EventId> {
        let histories: Vec<&VecDeque<Arc<Message>>> = topics
            .iter()
            .filter_map(|name| self.topics.get(name))
            .map(|topic| &topic.history)
            .collect();
        // Counted with repeats (a message in two topics twice): if even that fits,
        // nothing is cut, and the common case costs one binary search per topic.
        if self.count_held_after(topics, after) <= max_replay {
            return None;
        }
        // How many of each history's newest messages the walk has passed.
        let mut passed = vec![0; histories.len()];
        let mut kept = 0;
        loop {
            let newest = histories
                .iter()
                .zip(&passed)
                .filter_map(|(history, &n)| history.len().checked_sub(n + 1).map(|i| history[i].id))
                .filter(|&id| id > after)
                .max()?;
            if kept == max_replay {
                return Some(newest);
            }
            kept += 1;
            for (history, n) in histories.iter().zip(&mut passed) {
                if history.len() > *n && history[history.len() - 1 - *n].id == newest {
                    *n += 1;
                }
            }
        }
    }
}

/// How many messages of `history` come after `after`.
fn pending_in(history: &VecDeque<Arc<Message>>, after: EventId) -> usize {
    history.len() - history.partition_point(|message| message.id <= after)
}

#[cfg(test)]
#[path = "missed_tests.rs"]
mod tests;
