//! `GET /metrics`: the counters of [`stats`](crate::stats), the hub and the process in
//! the Prometheus text exposition format, version 0.0.4.
//!
//! The format is lines of text (Prometheus docs, "Exposition formats"): for each
//! *family*, a `# HELP` line and a `# TYPE` line, then one sample per line, a name,
//! optional labels in braces, and a value:
//!
//! ```text
//! # HELP sse_streams_open Streams open now.
//! # TYPE sse_streams_open gauge
//! sse_streams_open{stream="subscribe"} 9998
//! sse_streams_open{stream="clock"} 2
//! ```
//!
//! A family's samples are written together, right after its `TYPE` line. Counters end
//! in `_total` and only ever grow while the process lives; a scraper computes rates
//! from them and notices a restart when one falls. Label values come from short fixed
//! lists only (see `stats.rs`), so no label needs escaping and a scrape has the same
//! few dozen series whatever the clients do.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::process::ProcessSample;
use crate::shared::Shared;
use crate::stats::{Ending, Refusal, Share, StreamKind};

/// The `Content-Type` of format 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a family's samples measure.
#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
}

/// An exposition being written.
#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    /// Starts a family: its `HELP` and `TYPE` lines.
    fn family(&mut self, name: &str, kind: Kind, help: &str) -> &mut Exposition {
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        };
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
        self
    }

    /// One sample, `name{label="value"} number` (no braces without a label).
    fn sample(&mut self, name: &str, label: Option<(&str, &str)>, value: impl Value) -> &mut Self {
        self.text.push_str(name);
        if let Some((label, label_value)) = label {
            let _ = write!(self.text, "{{{label}=\"{label_value}\"}}");
        }
        self.text.push(' ');
        value.write_to(&mut self.text);
        self.text.push('\n');
        self
    }

    /// A family of one unlabelled sample.
    fn single(&mut self, name: &str, kind: Kind, help: &str, value: impl Value) {
        self.family(name, kind, help).sample(name, None, value);
    }
}

/// A sample's value: an integer, or a float (written as Rust writes it, which never
/// uses an exponent and which Prometheus reads back exactly).
trait Value {
    fn write_to(self, out: &mut String);
}

impl Value for u64 {
    fn write_to(self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl Value for f64 {
    fn write_to(self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

/// The whole exposition for one scrape.
pub fn render(shared: &Shared) -> String {
    let mut out = Exposition::default();
    streams(&mut out, shared);
    messages(&mut out, shared);
    if let Some(log) = &shared.log {
        let status = &log.status;
        let up = status.connected.load(Ordering::Acquire);
        out.single(
            "sse_redis_up",
            Kind::Gauge,
            "1 while the tail follows the shared log in Redis, 0 while it cannot reach it.",
            u64::from(up),
        );
        let lag_ms = status.lag_ms.load(Ordering::Relaxed);
        out.single(
            "sse_redis_lag_seconds",
            Kind::Gauge,
            "How long the newest message waited in the log before this instance took it.",
            lag_ms as f64 / 1000.0,
        );
        out.single(
            "sse_replay_memory_bytes",
            Kind::Gauge,
            "Bytes replays from the log hold in memory now (at most --replay-memory-bytes).",
            log.replay_memory.in_use() as u64,
        );
        out.single(
            "sse_replay_memory_limit_bytes",
            Kind::Gauge,
            "The bytes replays from the log may hold in memory together (--replay-memory-bytes).",
            log.replay_memory.limit() as u64,
        );
    }
    process(&mut out, ProcessSample::read());
    out.text
}

fn streams(out: &mut Exposition, shared: &Shared) {
    let stats = &shared.stats;
    let name = "sse_streams_open";
    out.family(name, Kind::Gauge, "Streams open now.");
    for kind in StreamKind::ALL {
        out.sample(
            name,
            Some(("stream", kind.label())),
            stats.streams_open_of(kind),
        );
    }
    let name = "sse_streams_total";
    out.family(name, Kind::Counter, "Streams started.");
    for kind in StreamKind::ALL {
        let started = stats.streams_started_of(kind);
        out.sample(name, Some(("stream", kind.label())), started);
    }
    let name = "sse_streams_refused_total";
    out.family(name, Kind::Counter, "Streams refused, by reason.");
    for why in Refusal::ALL {
        out.sample(name, Some(("reason", why.label())), stats.refusals(why));
    }
    let name = "sse_share_refusals_total";
    out.family(
        name,
        Kind::Counter,
        "Requests, streams and publishes refused because one client address or one token subject held its share.",
    );
    for whose in Share::ALL {
        out.sample(
            name,
            Some(("reason", whose.label())),
            stats.share_refusals(whose),
        );
    }
    let name = "sse_streams_ended_total";
    out.family(name, Kind::Counter, "Streams ended, by reason.");
    for why in Ending::ALL {
        out.sample(name, Some(("reason", why.label())), stats.ends(why));
    }
    out.single(
        "sse_events_sent_total",
        Kind::Counter,
        "Events written to clients (heartbeats and retry fields not counted).",
        stats.events_sent(),
    );
}

fn messages(out: &mut Exposition, shared: &Shared) {
    let stats = &shared.stats;
    out.single(
        "sse_messages_published_total",
        Kind::Counter,
        "Publishes answered 202 Accepted.",
        stats.publishes_accepted(),
    );
    let name = "sse_publishes_rejected_total";
    out.family(
        name,
        Kind::Counter,
        "Publishes refused, by response status.",
    );
    for (status, count) in stats.publishes_rejected() {
        out.sample(name, Some(("status", &status.to_string())), count);
    }
    let hub = shared.hub.snapshot();
    let gauges = [
        (
            "sse_subscribers",
            "Subscription streams the hub serves now.",
            hub.subscribers,
        ),
        (
            "sse_topics",
            "Topics that exist now (with a follower or a held message).",
            hub.topics,
        ),
        (
            "sse_history_messages",
            "Messages held for replay, all topics together.",
            hub.history_held,
        ),
        (
            "sse_history_bytes",
            "Bytes of the messages held for replay.",
            hub.history_bytes,
        ),
    ];
    for (name, help, value) in gauges {
        out.single(name, Kind::Gauge, help, value as u64);
    }
}

fn process(out: &mut Exposition, sample: ProcessSample) {
    if let Some(threads) = sample.threads {
        let help = "OS threads of the process: one per connection, and a few of the server's own.";
        out.single("sse_threads", Kind::Gauge, help, threads);
    }
    if let Some(seconds) = sample.cpu_seconds {
        let help = "User and system CPU time spent, in seconds.";
        out.single("process_cpu_seconds_total", Kind::Counter, help, seconds);
    }
    if let Some(bytes) = sample.resident_bytes {
        let help = "Resident memory size in bytes.";
        out.single("process_resident_memory_bytes", Kind::Gauge, help, bytes);
    }
    if let Some(fds) = sample.open_fds {
        out.single(
            "process_open_fds",
            Kind::Gauge,
            "Open file descriptors.",
            fds,
        );
    }
    if let Some(fds) = sample.max_fds {
        let help = "The most file descriptors the process may open (soft limit).";
        out.single("process_max_fds", Kind::Gauge, help, fds);
    }
    if let Some(seconds) = sample.start_time_seconds {
        let help = "When the process started, in seconds since the Unix epoch.";
        out.single("process_start_time_seconds", Kind::Gauge, help, seconds);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn every_family_has_help_and_type_before_its_samples() {
        let shared = Shared::new(Config::default());
        shared.stats.count_publish(202);
        shared.stats.count_publish(413);
        let text = render(&shared);
        let mut current = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                current = rest.split(' ').next().map(str::to_string);
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                assert_eq!(rest.split(' ').next(), current.as_deref(), "{line}");
                continue;
            }
            let family = current.as_deref().expect("a sample before any HELP");
            let name = line.split(['{', ' ']).next().unwrap();
            assert_eq!(name, family, "{line}");
        }
        assert!(text.contains("sse_messages_published_total 1\n"), "{text}");
        assert!(text.contains("sse_publishes_rejected_total{status=\"413\"} 1\n"));
        assert!(text.contains("sse_streams_open{stream=\"subscribe\"} 0\n"));
        assert!(
            !text.contains("sse_redis_up"),
            "no Redis, no Redis families"
        );
    }
}
