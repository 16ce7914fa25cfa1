//! The ids this instance's tail has read from the log, in log order: what lets a
//! replay tell "the client's id was the newest entry Redis trimmed" (it missed
//! nothing) from "entries after the client's id were trimmed" (it missed some).
//!
//! Redis keeps no trace of a trimmed entry: neither `XINFO STREAM` nor any range says
//! which id came just before the log's first entry (`max-deleted-entry-id` moves only
//! with `XDEL`). But the tail read every entry in order since this instance started,
//! so for a client whose id it saw, the question is whether any entry came between
//! that id and the log's first: a binary search here.
//!
//! Bounded: about two logs' worth of ids (`--redis-max-len` × 2, 16 bytes each, 3 MB
//! at the default), oldest out first. An id older than that, or than this instance,
//! stays unknown, and the replay says the client may have missed something.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::pubsub::event_id::EventId;
use crate::sync::lock;

/// The ids the tail has read, oldest first.
pub struct SeenIds {
    ids: Mutex<VecDeque<EventId>>,
    capacity: usize,
}

impl SeenIds {
    /// Remembers at most `capacity` ids.
    pub fn new(capacity: usize) -> SeenIds {
        SeenIds {
            ids: Mutex::new(VecDeque::new()),
            capacity,
        }
    }

    /// Records ids read from the log, in log order (older ones, read twice after a
    /// reconnect, are already here and skipped).
    pub fn record(&self, read: impl IntoIterator<Item = EventId>) {
        let mut ids = lock(&self.ids);
        for id in read {
            if ids.back().is_none_or(|&newest| id > newest) {
                ids.push_back(id);
            }
        }
        while ids.len() > self.capacity {
            ids.pop_front();
        }
    }

    /// Whether `first` came right after `before` in the log, as far as the tail saw:
    /// both read, and nothing read in between.
    pub fn adjacent(&self, before: EventId, first: EventId) -> bool {
        let ids = lock(&self.ids);
        match ids.binary_search(&before) {
            Ok(index) => ids.get(index + 1) == Some(&first),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_are_known_only_while_both_are_remembered() {
        let seen = SeenIds::new(3);
        let id = EventId::counted;
        seen.record([id(1), id(2), id(4)]);
        seen.record([id(4)]);
        assert!(seen.adjacent(id(2), id(4)));
        assert!(!seen.adjacent(id(1), id(4)), "2 came between");
        assert!(!seen.adjacent(id(3), id(4)), "3 was never read");
        seen.record([id(5)]);
        assert!(!seen.adjacent(id(1), id(2)), "1 is forgotten");
        assert!(seen.adjacent(id(4), id(5)));
    }
}
