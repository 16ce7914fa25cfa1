//! The log's byte bound (`--redis-max-bytes`): which entries to trim so that the
//! Redis Stream holds no more than so many bytes.
//!
//! Redis trims a stream by entry count (`MAXLEN`) or by id (`MINID`), never by bytes
//! (Redis docs, `XTRIM`). But this instance's tail reads every entry of the log, in
//! order, with its size: so it keeps the sizes of the newest entries here, and when
//! they add up to more than the bound, the oldest go, and the tail asks Redis to drop
//! every entry older than the first one kept:
//!
//! ```text
//! XTRIM sse:log MINID ~ 1732368000000-0
//! ```
//!
//! Every instance reads the same entries in the same order, so every instance that
//! trims names the same id, and trimming twice changes nothing.
//!
//! How exact: `~` lets Redis drop only whole nodes of its radix tree (up to
//! `stream-node-max-bytes`, 4 KiB, or `stream-node-max-entries`, 100 entries, by
//! default; a larger entry is a node of its own), so the log may keep one node more
//! than asked. Exact trimming (`=`) would not free that node's memory either: Redis
//! only marks the entries of a node deleted until the whole node goes. And an entry
//! costs Redis more than its bytes: the allocator rounds each node up to a size class
//! (by at most a quarter) and each node and entry has a header. So an entry counts
//! here as [`redis_cost`] of its bytes, which keeps Redis's memory for the log within
//! the bound (a log of small entries holds about a third less than it could).
//!
//! What it does not see: entries appended before this instance started are not
//! counted, and go at its first trim (`MINID` drops everything older); and an entry
//! `MAXLEN` trimmed is forgotten here too, as the window keeps at most
//! `--redis-max-len` entries.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::pubsub::event_id::EventId;
use crate::sync::lock;

/// What one entry is counted as: its bytes, a quarter more for the allocator's
/// rounding, and a header for Redis's own bookkeeping, larger for an entry that is a
/// node of its own. Measured on Redis 7.0 (jemalloc): an entry of 64 KiB of data takes
/// 82,348 bytes of `used_memory` and is counted as 82,976; one of 100 bytes takes 128
/// and is counted as 189.
pub fn redis_cost(entry_bytes: usize) -> usize {
    // `stream-node-max-bytes`' default: an entry this large is a node of its own.
    const NODE_BYTES: usize = 4096;
    let header = if entry_bytes >= NODE_BYTES { 1024 } else { 32 };
    entry_bytes.saturating_add(entry_bytes / 4) + header
}

/// The sizes of the newest entries of the log, oldest first.
pub struct LogBytes {
    window: Mutex<Window>,
    /// The bound, in [`redis_cost`] bytes.
    max_bytes: usize,
    /// The most entries Redis keeps anyway (`--redis-max-len`).
    max_entries: usize,
}

struct Window {
    /// Entries in log order with their cost. Invariant: `total` is the sum of the
    /// costs, and at most `max_bytes` after each `record`.
    entries: VecDeque<(EventId, usize)>,
    total: usize,
    /// The newest id recorded, so that entries read twice (after a reconnect) are
    /// counted once.
    newest: Option<EventId>,
}

impl LogBytes {
    pub fn new(max_bytes: usize, max_entries: usize) -> LogBytes {
        LogBytes {
            window: Mutex::new(Window {
                entries: VecDeque::new(),
                total: 0,
                newest: None,
            }),
            max_bytes,
            max_entries,
        }
    }

    /// Records entries read from the log, in log order, with their sizes. When the
    /// bound had to drop some, returns the id of the oldest entry still kept: the log
    /// should drop every entry older than it.
    pub fn record(&self, read: impl IntoIterator<Item = (EventId, usize)>) -> Option<EventId> {
        let mut window = lock(&self.window);
        let window = &mut *window;
        let mut over_bytes = false;
        for (id, bytes) in read {
            if window.newest.is_some_and(|newest| id <= newest) {
                continue;
            }
            window.newest = Some(id);
            let cost = redis_cost(bytes);
            window.entries.push_back((id, cost));
            window.total += cost;
            // Redis already trimmed these by count (`MAXLEN`): forget them quietly.
            while window.entries.len() > self.max_entries {
                let (_, cost) = window.entries.pop_front().expect("more than max_entries");
                window.total -= cost;
            }
            // Never the newest entry: a log always keeps its last message.
            while window.total > self.max_bytes && window.entries.len() > 1 {
                let (_, cost) = window.entries.pop_front().expect("more than one");
                window.total -= cost;
                over_bytes = true;
            }
        }
        over_bytes
            .then(|| window.entries.front().map(|(id, _)| *id))
            .flatten()
    }

    /// The bytes counted now (in [`redis_cost`] terms), for tests.
    pub fn counted(&self) -> usize {
        lock(&self.window).total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(seq: u64) -> EventId {
        EventId { ms: 1, seq }
    }

    #[test]
    fn the_oldest_entries_go_once_the_bound_is_passed() {
        let per_entry = redis_cost(1000);
        let log = LogBytes::new(3 * per_entry, 100);
        assert_eq!(log.record((1..=3).map(|seq| (id(seq), 1000))), None);
        assert_eq!(log.counted(), 3 * per_entry);
        // A fourth entry: the first goes, and the log should start at the second.
        assert_eq!(log.record([(id(4), 1000)]), Some(id(2)));
        // Two at once: two go.
        assert_eq!(log.record([(id(5), 1000), (id(6), 1000)]), Some(id(4)));
        assert_eq!(log.counted(), 3 * per_entry);
    }

    #[test]
    fn entries_read_twice_count_once_and_the_newest_always_stays() {
        let log = LogBytes::new(redis_cost(10), 100);
        assert_eq!(log.record([(id(1), 10)]), None);
        assert_eq!(
            log.record([(id(1), 10)]),
            None,
            "read again after a reconnect"
        );
        // Larger than the bound on its own: it is kept, everything older goes.
        assert_eq!(log.record([(id(2), 1_000_000)]), Some(id(2)));
        assert_eq!(log.counted(), redis_cost(1_000_000));
    }

    #[test]
    fn entries_beyond_the_count_bound_are_forgotten_without_trimming() {
        let log = LogBytes::new(usize::MAX, 2);
        assert_eq!(log.record((1..=5).map(|seq| (id(seq), 10))), None);
        assert_eq!(log.counted(), 2 * redis_cost(10));
    }
}
