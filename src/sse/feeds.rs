//! The three event streams this server offers, each a loop that runs on the
//! connection's own thread until the stream ends, the client leaves, or Ctrl-C:
//!
//! - **counter** (`GET /`): `This is event number N` for N = 1..count, then
//!   `event: close`. With `Last-Event-ID: K` it resumes at K+1.
//! - **clock** (`GET /events`): the current UTC time, forever.
//! - **subscription** (`GET /subscribe?topic=...`): every message published to the
//!   followed topics, after a replay of what the client missed. The router registers
//!   the subscription in the hub *before* this file writes a byte of the head: a page
//!   may publish the instant its EventSource reports `open`, and that message must
//!   already be ours.
//!
//! The counter and the clock are the *demo streams*: they wake every `--interval-ms`
//! whether or not there is news, and read their own socket to learn that their client
//! has left. Flags and comments elsewhere say "demo stream" rather than naming them, so
//! that this list stays the one place that does.
//!
//! ```text
//! retry: 3000            sent first by every stream
//!
//! id: 1
//! data: This is event number 1
//!
//! ...
//! event: close           the counter's last event: the page closes its EventSource
//! data:
//!
//! ```
//!
//! # Shutdown, without a stampede
//!
//! On SIGTERM or Ctrl-C every stream ends at once, and its last words are a `retry:`
//! drawn from `[--retry-ms, --retry-ms + --drain-spread-s]` ([`drain_retry`]): the
//! clients of a stopped instance then come back to the others spread over that time,
//! not all in the same second. A stream asked for while the server drains is refused
//! the same way: a `200` stream that only says when to come back (a `503` would make
//! an EventSource give up for good, see `admission.rs`).

use std::io;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant, SystemTime};

use chrono::{SecondsFormat, Utc};
use log::info;

use crate::auth::gate::ValidUntil;
use crate::config::Config;
use crate::http::response::{self, Framing};
use crate::jitter;
use crate::pubsub::subscription::{Delivery, Subscription};
use crate::redis::log::RedisLog;
use crate::redis::replay;
use crate::shared::Shared;
use crate::sse::event::{EVENT_STREAM, Event};
use crate::sse::stream::{EventStream, Pause};
use crate::sse::watch::Watching;
use crate::stats::{Ending, Refusal, StreamKind};

/// Which stream a request asked for.
pub enum Feed<'hub> {
    /// Counter events after `resume_after` (0 for a fresh start).
    Counter { resume_after: u64 },
    /// The clock.
    Clock,
    /// A subscription already registered in the hub, and when its token expires.
    Subscription {
        subscription: Subscription<'hub>,
        valid_until: ValidUntil,
    },
}

impl Feed<'_> {
    /// Which of the three streams this is, for the counters.
    pub fn kind(&self) -> StreamKind {
        match self {
            Feed::Counter { .. } => StreamKind::Counter,
            Feed::Clock => StreamKind::Clock,
            Feed::Subscription { .. } => StreamKind::Subscribe,
        }
    }
}

impl std::fmt::Debug for Feed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Feed::Counter { resume_after } => write!(f, "counter after {resume_after}"),
            Feed::Clock => write!(f, "clock"),
            Feed::Subscription { subscription, .. } => {
                write!(f, "subscription to {:?}", subscription.topics())
            }
        }
    }
}

/// Why a stream ended without an I/O error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// The counter sent its close event.
    Finished,
    /// Ctrl-C.
    ShuttingDown,
    /// The token the subscription was opened with expired.
    TokenExpired,
}

/// How a stream went: events sent, and how it ended (an `Err` means the client left
/// or stopped reading).
pub struct StreamReport {
    pub events_sent: u64,
    pub end: io::Result<StreamEnd>,
}

/// Runs `feed` on `socket` until it ends. `head_only` (a HEAD request) sends the head
/// and nothing else.
pub fn serve(
    feed: Feed<'_>,
    socket: &Arc<TcpStream>,
    framing: Framing,
    head_only: bool,
    cors: &[(&str, String)],
    shared: &Shared,
    client: &str,
) -> StreamReport {
    if head_only {
        let end = response::write_stream_head(&**socket, EVENT_STREAM, framing, cors, None)
            .map(|()| StreamEnd::Finished);
        return StreamReport {
            events_sent: 0,
            end,
        };
    }
    if shared.shutdown.is_triggered() {
        return refuse_while_draining(socket, framing, cors, shared);
    }
    let _open = shared.stats.open_stream(feed.kind());
    let mut stream = match EventStream::start(socket, framing, cors, &shared.config, &shared.stats)
    {
        Ok(stream) => stream,
        Err(error) => {
            return StreamReport {
                events_sent: 0,
                end: Err(error),
            };
        }
    };
    let end = match feed {
        Feed::Counter { resume_after } => serve_counter(&mut stream, resume_after, shared),
        Feed::Clock => serve_clock(&mut stream, shared),
        Feed::Subscription {
            subscription,
            valid_until,
        } => {
            // Idle subscribers sleep; the client watch notices for them when a client
            // leaves, and raises this stream's alarm.
            let watching = shared.watch.watch(Arc::clone(socket));
            if watching.is_some() {
                stream.leave_client_checks_to_the_watch();
            }
            let ends_at = valid_until.map(instant_of);
            let log = shared.log.as_ref();
            serve_subscription(
                &mut stream,
                subscription,
                watching.as_ref(),
                ends_at,
                log,
                client,
            )
        }
    };
    let events_sent = stream.events_sent();
    // A stream that ended on its own or at shutdown ends its body properly; after an
    // I/O error the client is gone and there is no one to tell. At shutdown the last
    // thing said is when to come back (see the module docs).
    let end = end.and_then(|end| match end {
        StreamEnd::ShuttingDown => stream.send_retry(drain_retry(&shared.config)).map(|()| end),
        _ => Ok(end),
    });
    let end = end.and_then(|end| stream.finish().map(|()| end));
    shared.stats.count_end(ending_of(&end));
    StreamReport { events_sent, end }
}

/// The answer to a stream asked for while the server shuts down: a stream that only
/// says when to come back, and ends.
fn refuse_while_draining(
    socket: &TcpStream,
    framing: Framing,
    cors: &[(&str, String)],
    shared: &Shared,
) -> StreamReport {
    shared.stats.count_refusal(Refusal::Draining);
    let end = EventStream::start(socket, framing, cors, &shared.config, &shared.stats)
        .and_then(|mut stream| {
            stream.send_retry(drain_retry(&shared.config))?;
            stream.finish()
        })
        .map(|()| StreamEnd::ShuttingDown);
    StreamReport {
        events_sent: 0,
        end,
    }
}

/// A stream's last `retry:` at shutdown: drawn evenly from `--retry-ms` to
/// `--retry-ms` + `--drain-spread-s`.
pub fn drain_retry(config: &Config) -> Duration {
    let low = config.retry.as_millis() as u64;
    let high = low.saturating_add(config.drain_spread.as_millis() as u64);
    Duration::from_millis(jitter::spread(low, high))
}

/// The `reason` a stream's end is counted under in `/metrics`.
pub fn ending_of(end: &io::Result<StreamEnd>) -> Ending {
    // Linux errno values: ETIMEDOUT, ENETUNREACH, EHOSTDOWN, EHOSTUNREACH. The kernel
    // gave up on a peer that stopped answering (keepalive or retransmissions), which
    // is not the same as a client that said goodbye.
    const PEER_UNREACHABLE: [i32; 4] = [110, 101, 112, 113];
    match end {
        Ok(StreamEnd::Finished) => Ending::Finished,
        Ok(StreamEnd::ShuttingDown) => Ending::Shutdown,
        Ok(StreamEnd::TokenExpired) => Ending::TokenExpired,
        Err(error)
            if error
                .raw_os_error()
                .is_some_and(|n| PEER_UNREACHABLE.contains(&n)) =>
        {
            Ending::Vanished
        }
        Err(error) => match error.kind() {
            // Our own deadline on a write the client's full buffers held up
            // (`stream::write_patiently`).
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Ending::SlowClient,
            io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::UnexpectedEof => Ending::ClientLeft,
            _ => Ending::Error,
        },
    }
}

/// The seed tutorial's stream: five numbered events a second apart, then `close`.
fn serve_counter(
    stream: &mut EventStream,
    resume_after: u64,
    shared: &Shared,
) -> io::Result<StreamEnd> {
    let config = &shared.config;
    let mut next_event_at = Instant::now() + config.interval;
    for number in resume_after + 1..=config.count {
        if stream.pause_until(next_event_at, &shared.shutdown)? == Pause::ShuttingDown {
            return Ok(StreamEnd::ShuttingDown);
        }
        let event = Event::new(format!("This is event number {number}"))
            .with_id(number.to_string())
            .expect("decimal digits contain no CR, LF or NUL");
        stream.send(&event)?;
        next_event_at += config.interval;
    }
    // `event: close` with an empty data line: a browser dispatches a `close` event (an
    // event with no data line at all would not be dispatched).
    let close = Event::new("")
        .with_type("close")
        .expect("\"close\" is a valid event type");
    stream.send(&close)?;
    Ok(StreamEnd::Finished)
}

/// The current time in UTC, RFC 3339 with milliseconds (`2026-11-21T12:00:00.000Z`).
fn serve_clock(stream: &mut EventStream, shared: &Shared) -> io::Result<StreamEnd> {
    let mut next_event_at = Instant::now() + shared.config.interval;
    loop {
        if stream.pause_until(next_event_at, &shared.shutdown)? == Pause::ShuttingDown {
            return Ok(StreamEnd::ShuttingDown);
        }
        stream.send(&Event::new(
            Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        ))?;
        next_event_at += shared.config.interval;
    }
}

/// Replays what the client missed, then relays every new message until shutdown.
fn serve_subscription(
    stream: &mut EventStream,
    mut subscription: Subscription,
    watching: Option<&Watching>,
    ends_at: Option<Instant>,
    log: Option<&RedisLog>,
    client: &str,
) -> io::Result<StreamEnd> {
    // Without the watch, the stream checks its client itself and the alarm stays down.
    let no_alarm = AtomicBool::new(false);
    let alarm = watching.map_or(&no_alarm, Watching::alarm);
    loop {
        // A stream opened with a token ends when the token does: the browser then
        // reconnects with whatever token the app has set by then, and a stale one gets
        // 401 (see auth/gate.rs).
        let mut wait = stream.time_until_keep_alive();
        if let Some(ends_at) = ends_at {
            let now = Instant::now();
            if now >= ends_at {
                return Ok(StreamEnd::TokenExpired);
            }
            wait = wait.min(ends_at - now);
        }
        // The hub lock is already released here: the write below may block for up to
        // the write timeout, and only this subscriber waits for it.
        match subscription.next_delivery(wait, alarm) {
            Delivery::Messages { messages, missed } => {
                if missed {
                    info!("{client} GET /subscribe missed messages no longer in the history");
                }
                let events: Vec<&[u8]> = messages.iter().map(|message| &*message.encoded).collect();
                stream.send_encoded(&events)?;
            }
            Delivery::Gap { after, through } => {
                if let Some(log) = log {
                    replay::replay(stream, log, subscription.topics(), after, through, client)?;
                }
                subscription.skip_to(through);
            }
            Delivery::Idle => stream.keep_alive(false)?,
            Delivery::CheckClient => {
                stream.keep_alive(true)?;
                // Still there: a false alarm. Watch for the next hang-up.
                watching.inspect(|watching| watching.rearm());
            }
            Delivery::Closed => return Ok(StreamEnd::ShuttingDown),
        }
    }
}

/// The moment on the monotonic clock that corresponds to `time` on the wall clock (now,
/// if it has passed).
fn instant_of(time: SystemTime) -> Instant {
    let from_now = time.duration_since(SystemTime::now()).unwrap_or_default();
    Instant::now() + from_now
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drain_retries_spread_over_the_configured_range() {
        let config = Config {
            retry: Duration::from_millis(1000),
            drain_spread: Duration::from_secs(10),
            ..Config::default()
        };
        let draws: Vec<u64> = (0..2000)
            .map(|_| drain_retry(&config).as_millis() as u64)
            .collect();
        assert!(draws.iter().all(|ms| (1000..=11_000).contains(ms)));
        // Evenly: each of the ten seconds gets about a tenth (200), never a fifth.
        for second in 0..10 {
            let low = 1000 + second * 1000;
            let in_second = draws
                .iter()
                .filter(|ms| (low..low + 1000).contains(*ms))
                .count();
            assert!(
                (100..=320).contains(&in_second),
                "second {second}: {in_second}"
            );
        }
        let no_spread = Config {
            drain_spread: Duration::ZERO,
            ..config
        };
        assert_eq!(drain_retry(&no_spread), Duration::from_millis(1000));
    }

    #[test]
    fn endings_are_told_apart() {
        let os = |errno| Err(io::Error::from_raw_os_error(errno));
        assert_eq!(ending_of(&Ok(StreamEnd::Finished)), Ending::Finished);
        assert_eq!(ending_of(&Ok(StreamEnd::ShuttingDown)), Ending::Shutdown);
        assert_eq!(
            ending_of(&Ok(StreamEnd::TokenExpired)),
            Ending::TokenExpired
        );
        assert_eq!(ending_of(&os(110)), Ending::Vanished);
        assert_eq!(ending_of(&os(113)), Ending::Vanished);
        assert_eq!(ending_of(&os(32)), Ending::ClientLeft); // EPIPE
        assert_eq!(ending_of(&os(104)), Ending::ClientLeft); // ECONNRESET
        let stopped_reading = io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading");
        assert_eq!(ending_of(&Err(stopped_reading)), Ending::SlowClient);
        assert_eq!(ending_of(&os(5)), Ending::Error); // EIO
    }
}
