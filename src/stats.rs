//! Counters for `GET /stats`, kept with atomics so no request ever waits on them.
//!
//! Gauges that go up and down (streams open now) are changed only through a guard,
//! [`OpenStream`], whose `Drop` gives the count back: every way a stream can end,
//! including a panic in its thread, is counted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::pubsub::hub::HubSnapshot;

/// The server's running totals.
pub struct Stats {
    started: Instant,
    streams_open: AtomicU64,
    streams_served: AtomicU64,
    events_sent: AtomicU64,
}

impl Default for Stats {
    fn default() -> Stats {
        Stats {
            started: Instant::now(),
            streams_open: AtomicU64::new(0),
            streams_served: AtomicU64::new(0),
            events_sent: AtomicU64::new(0),
        }
    }
}

impl Stats {
    /// Counts a stream as open until the returned guard is dropped.
    pub fn open_stream(&self) -> OpenStream<'_> {
        self.streams_open.fetch_add(1, Ordering::Relaxed);
        self.streams_served.fetch_add(1, Ordering::Relaxed);
        OpenStream { stats: self }
    }

    /// Adds `count` events to the total sent.
    pub fn count_events(&self, count: u64) {
        self.events_sent.fetch_add(count, Ordering::Relaxed);
    }

    /// Streams open right now.
    pub fn streams_open(&self) -> u64 {
        self.streams_open.load(Ordering::Relaxed)
    }

    /// The `/stats` document, with `redis` (an object, from `redis/log.rs`) when the
    /// server shares a log. Written by hand: every value is a number, a boolean or an
    /// id, so there is nothing to escape.
    pub fn to_json(&self, hub: HubSnapshot, redis: Option<String>) -> String {
        let redis = redis.map_or(String::new(), |redis| format!(", \"redis\": {redis}"));
        format!(
            "{{\"streams_open\": {}, \"streams_served\": {}, \"events_sent\": {}, \
             \"uptime_secs\": {}, \"subscribers\": {}, \"topics\": {}, \
             \"messages_published\": {}, \"history_held\": {}, \"history_bytes\": {}, \
             \"subscribers_left\": {}, \"leave_lock_ns\": {}{redis}}}\n",
            self.streams_open(),
            self.streams_served.load(Ordering::Relaxed),
            self.events_sent.load(Ordering::Relaxed),
            self.started.elapsed().as_secs(),
            hub.subscribers,
            hub.topics,
            hub.messages_published,
            hub.history_held,
            hub.history_bytes,
            hub.subscribers_left,
            hub.leave_lock_ns,
        )
    }
}

/// One open stream; dropping it closes the count.
pub struct OpenStream<'a> {
    stats: &'a Stats,
}

impl Drop for OpenStream<'_> {
    fn drop(&mut self) {
        self.stats.streams_open.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_stream_guard_counts_while_alive() {
        let stats = Stats::default();
        let guard = stats.open_stream();
        stats.count_events(3);
        assert_eq!(stats.streams_open(), 1);
        drop(guard);
        assert_eq!(stats.streams_open(), 0);
        let hub = HubSnapshot {
            subscribers: 2,
            topics: 1,
            messages_published: 9,
            history_held: 4,
            history_bytes: 400,
            subscribers_left: 5,
            leave_lock_ns: 1234,
        };
        let json = stats.to_json(hub, None);
        let with_redis = stats.to_json(hub, Some("{\"connected\": false}".into()));
        assert!(
            with_redis.ends_with("\"leave_lock_ns\": 1234, \"redis\": {\"connected\": false}}\n"),
            "{with_redis}"
        );
        assert!(
            json.starts_with("{\"streams_open\": 0, \"streams_served\": 1, \"events_sent\": 3, "),
            "{json}"
        );
        assert!(
            json.ends_with(
                "\"subscribers\": 2, \"topics\": 1, \"messages_published\": 9, \
                 \"history_held\": 4, \"history_bytes\": 400, \
                 \"subscribers_left\": 5, \"leave_lock_ns\": 1234}\n"
            ),
            "{json}"
        );
    }
}
