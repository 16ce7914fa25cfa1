//! Counters for `GET /stats` and `GET /metrics`, kept with atomics so no request ever
//! waits on them.
//!
//! Gauges that go up and down (streams open now) are changed only through a guard,
//! [`OpenStream`], whose `Drop` gives the count back: every way a stream can end,
//! including a panic in its thread, is counted.
//!
//! Every label a counter has comes from a short fixed list ([`StreamKind`],
//! [`Refusal`], [`Share`], [`Ending`], an HTTP status code): never a topic, a token or an
//! address, which would make one series per client (unbounded, and private).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::pubsub::hub::HubSnapshot;

/// Which stream a client follows: the `stream` label of `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    Counter,
    Clock,
    Subscribe,
}

impl StreamKind {
    pub const ALL: [StreamKind; 3] = [
        StreamKind::Counter,
        StreamKind::Clock,
        StreamKind::Subscribe,
    ];

    pub fn label(self) -> &'static str {
        match self {
            StreamKind::Counter => "counter",
            StreamKind::Clock => "clock",
            StreamKind::Subscribe => "subscribe",
        }
    }
}

/// Why a stream was refused: the `reason` label of `sse_streams_refused_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No slot freed within `--admission-wait-ms` (`admission.rs`).
    Full,
    /// Every place to wait was taken, so the stream was refused without waiting: half
    /// of `--max-requests` already waited for a stream slot (`admission::admit_stream`),
    /// or the waiting room itself was full (counted when the stream's request had
    /// already arrived, so that it could be told from another request).
    WaitingRoomFull,
    /// The server is shutting down and admits no new streams.
    Draining,
}

impl Refusal {
    pub const ALL: [Refusal; 3] = [Refusal::Full, Refusal::WaitingRoomFull, Refusal::Draining];

    pub fn label(self) -> &'static str {
        match self {
            Refusal::Full => "full",
            Refusal::WaitingRoomFull => "waiting_room_full",
            Refusal::Draining => "draining",
        }
    }
}

/// Whose share a refusal protected: the `reason` label of `sse_share_refusals_total`.
/// Counts requests, streams, keep-alives and publishes alike: what they have in common
/// is that one client, not the server, had used up its part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    /// One client address held its share of request slots, idle keep-alive
    /// connections or streams (`shares.rs`).
    PerClient,
    /// One token subject held its share of the topics (`pubsub/owners.rs`).
    PerSubject,
}

impl Share {
    pub const ALL: [Share; 2] = [Share::PerClient, Share::PerSubject];

    pub fn label(self) -> &'static str {
        match self {
            Share::PerClient => "per_client",
            Share::PerSubject => "per_subject",
        }
    }
}

/// Why a stream ended: the `reason` label of `sse_streams_ended_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The client closed or reset the connection.
    ClientLeft,
    /// The client's host stopped answering (the kernel gave up on the connection).
    Vanished,
    /// The client stopped reading for `--write-timeout-s`.
    SlowClient,
    /// The subscription's token expired.
    TokenExpired,
    /// The stream sent all it had (the counter's `close`).
    Finished,
    /// The server shut down.
    Shutdown,
    /// A replay from the Redis log could not run; the client resumes after `retry:`.
    LogUnavailable,
    /// Any other I/O error.
    Error,
}

impl Ending {
    pub const ALL: [Ending; 8] = [
        Ending::ClientLeft,
        Ending::Vanished,
        Ending::SlowClient,
        Ending::TokenExpired,
        Ending::Finished,
        Ending::Shutdown,
        Ending::LogUnavailable,
        Ending::Error,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Ending::ClientLeft => "client_left",
            Ending::Vanished => "vanished",
            Ending::SlowClient => "slow_client",
            Ending::TokenExpired => "token_expired",
            Ending::Finished => "finished",
            Ending::Shutdown => "shutdown",
            Ending::LogUnavailable => "log_unavailable",
            Ending::Error => "error",
        }
    }
}

/// One counter per value of a label: `N` atomics indexed by the label's position.
struct Labelled<const N: usize>([AtomicU64; N]);

impl<const N: usize> Labelled<N> {
    fn new() -> Labelled<N> {
        Labelled(std::array::from_fn(|_| AtomicU64::new(0)))
    }

    fn add(&self, index: usize, count: u64) {
        self.0[index].fetch_add(count, Ordering::Relaxed);
    }

    fn get(&self, index: usize) -> u64 {
        self.0[index].load(Ordering::Relaxed)
    }
}

/// HTTP status codes go up to 599 (RFC 9110 section 15).
const STATUS_CODES: usize = 600;

/// The server's running totals.
pub struct Stats {
    started: Instant,
    streams_open: AtomicU64,
    streams_served: AtomicU64,
    events_sent: AtomicU64,
    open_by_kind: Labelled<3>,
    started_by_kind: Labelled<3>,
    refused: Labelled<3>,
    share_refusals: Labelled<2>,
    ended: Labelled<8>,
    publishes_accepted: AtomicU64,
    publishes_rejected: Labelled<STATUS_CODES>,
}

impl Default for Stats {
    fn default() -> Stats {
        Stats {
            started: Instant::now(),
            streams_open: AtomicU64::new(0),
            streams_served: AtomicU64::new(0),
            events_sent: AtomicU64::new(0),
            open_by_kind: Labelled::new(),
            started_by_kind: Labelled::new(),
            refused: Labelled::new(),
            share_refusals: Labelled::new(),
            ended: Labelled::new(),
            publishes_accepted: AtomicU64::new(0),
            publishes_rejected: Labelled::new(),
        }
    }
}

impl Stats {
    /// Counts a stream of `kind` as open until the returned guard is dropped.
    pub fn open_stream(&self, kind: StreamKind) -> OpenStream<'_> {
        self.streams_open.fetch_add(1, Ordering::Relaxed);
        self.streams_served.fetch_add(1, Ordering::Relaxed);
        self.open_by_kind.add(kind as usize, 1);
        self.started_by_kind.add(kind as usize, 1);
        OpenStream { stats: self, kind }
    }

    /// Adds `count` events to the total sent.
    pub fn count_events(&self, count: u64) {
        self.events_sent.fetch_add(count, Ordering::Relaxed);
    }

    /// Counts a stream refused for `why`.
    pub fn count_refusal(&self, why: Refusal) {
        self.refused.add(why as usize, 1);
    }

    /// Counts a request, stream or publish refused because a client or a subject had
    /// used up `whose` share.
    pub fn count_share_refusal(&self, whose: Share) {
        self.share_refusals.add(whose as usize, 1);
    }

    /// Refusals for a client's or a subject's share.
    pub fn share_refusals(&self, whose: Share) -> u64 {
        self.share_refusals.get(whose as usize)
    }

    /// Counts a stream that ended for `why`.
    pub fn count_end(&self, why: Ending) {
        self.ended.add(why as usize, 1);
    }

    /// Counts a publish answered with `status`: `202` is a message accepted, anything
    /// else a publish rejected.
    pub fn count_publish(&self, status: u16) {
        if status == 202 {
            self.publishes_accepted.fetch_add(1, Ordering::Relaxed);
        } else {
            self.publishes_rejected
                .add(usize::from(status).min(STATUS_CODES - 1), 1);
        }
    }

    /// Streams open right now.
    pub fn streams_open(&self) -> u64 {
        self.streams_open.load(Ordering::Relaxed)
    }

    /// Streams of `kind` open right now.
    pub fn streams_open_of(&self, kind: StreamKind) -> u64 {
        self.open_by_kind.get(kind as usize)
    }

    /// Streams of `kind` started since the server did.
    pub fn streams_started_of(&self, kind: StreamKind) -> u64 {
        self.started_by_kind.get(kind as usize)
    }

    /// Streams refused for `why`.
    pub fn refusals(&self, why: Refusal) -> u64 {
        self.refused.get(why as usize)
    }

    /// Streams that ended for `why`.
    pub fn ends(&self, why: Ending) -> u64 {
        self.ended.get(why as usize)
    }

    /// Events written to clients.
    pub fn events_sent(&self) -> u64 {
        self.events_sent.load(Ordering::Relaxed)
    }

    /// Publishes answered `202`.
    pub fn publishes_accepted(&self) -> u64 {
        self.publishes_accepted.load(Ordering::Relaxed)
    }

    /// Publishes refused, as `(status, count)` for every status seen at least once.
    pub fn publishes_rejected(&self) -> Vec<(u16, u64)> {
        (0..STATUS_CODES)
            .map(|status| (status as u16, self.publishes_rejected.get(status)))
            .filter(|&(_, count)| count > 0)
            .collect()
    }

    /// The `/stats` document, with `redis` (an object, from `redis/log.rs`) when the
    /// server shares a log. Written by hand: every value is a number, a boolean or an
    /// id, so there is nothing to escape.
    pub fn to_json(&self, hub: HubSnapshot, redis: Option<String>) -> String {
        let redis = redis.map_or(String::new(), |redis| format!(", \"redis\": {redis}"));
        format!(
            "{{\"streams_open\": {}, \"streams_served\": {}, \"events_sent\": {}, \
             \"uptime_secs\": {}, \"subscribers\": {}, \"topics\": {}, \
             \"messages_published\": {}, \"messages_received\": {}, \
             \"history_held\": {}, \"history_bytes\": {}, \
             \"subscribers_left\": {}, \"leave_lock_ns\": {}{redis}}}\n",
            self.streams_open(),
            self.streams_served.load(Ordering::Relaxed),
            self.events_sent.load(Ordering::Relaxed),
            self.started.elapsed().as_secs(),
            hub.subscribers,
            hub.topics,
            self.publishes_accepted(),
            hub.messages_received,
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
    kind: StreamKind,
}

impl Drop for OpenStream<'_> {
    fn drop(&mut self) {
        self.stats.streams_open.fetch_sub(1, Ordering::Relaxed);
        self.stats.open_by_kind.0[self.kind as usize].fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
