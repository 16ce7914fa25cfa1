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
//! At shutdown every stream's last words are a spread `retry:`, and a stream asked for
//! while the server drains is refused kindly (see `ending.rs`).

use std::io;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Instant, SystemTime};

use chrono::{SecondsFormat, Utc};
use log::info;

use crate::auth::gate::ValidUntil;
use crate::http::response::{self, Framing};
use crate::pubsub::event_id::EventId;
use crate::pubsub::missed::Missed;
use crate::pubsub::subscription::{Delivery, Subscription};
use crate::redis::log::RedisLog;
use crate::redis::replay::{self, ReplayRequest, Replayed};
use crate::shared::Shared;
use crate::shutdown::ShutdownSignal;
use crate::sse::ending;
use crate::sse::event::{EVENT_STREAM, Event};
use crate::sse::missed::missed_event;
use crate::sse::stream::{EventStream, Pause};
use crate::sse::watch::Watching;
use crate::stats::{Ending, StreamKind};

/// Which stream a request asked for.
pub enum Feed<'hub> {
    /// Counter events after `resume_after` (0 for a fresh start).
    Counter { resume_after: u64 },
    /// The clock.
    Clock,
    /// A subscription already registered in the hub, when its token expires, and the
    /// `Last-Event-ID` its client sent (for the `missed` event, `sse/missed.rs`).
    Subscription {
        subscription: Subscription<'hub>,
        valid_until: ValidUntil,
        last_event_id: Option<String>,
    },
    /// A stream a later chapter runs itself (Mercure's, `mercure/stream.rs`).
    Chapter(Box<dyn ChapterStream + 'hub>),
}

/// A stream whose loop lives in a later chapter: this file opens it (head, `retry:`,
/// the client watch), hands it over, and closes it, so the later chapter needs
/// nothing of this one but [`EventStream`] (STYLE.md: a lower chapter calls a higher
/// one through a small trait).
pub trait ChapterStream {
    /// Headers the stream's head carries besides the CORS ones.
    fn head_headers(&self) -> Vec<(&'static str, String)>;
    /// What it is, for the log.
    fn describe(&self) -> String;
    /// Runs until the stream ends. `watching` is the client watch, if this stream has
    /// one: its alarm is raised when the client may have left.
    fn run(
        &mut self,
        stream: &mut EventStream,
        watching: Option<&Watching>,
    ) -> io::Result<StreamEnd>;
}

impl Feed<'_> {
    /// Which of the three streams this is, for the counters.
    pub fn kind(&self) -> StreamKind {
        match self {
            Feed::Counter { .. } => StreamKind::Counter,
            Feed::Clock => StreamKind::Clock,
            // A Mercure subscription is counted as a subscription.
            Feed::Subscription { .. } | Feed::Chapter(_) => StreamKind::Subscribe,
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
            Feed::Chapter(chapter) => f.write_str(&chapter.describe()),
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
    /// A replay from the Redis log could not run (Redis unreachable, or every replay
    /// slot busy): the browser resumes after `retry:` with the same `Last-Event-ID`.
    LogUnavailable,
}

/// How a stream went: events sent, and how it ended (an `Err` means the client left
/// or stopped reading).
pub struct StreamReport {
    pub events_sent: u64,
    pub end: io::Result<StreamEnd>,
}

/// Runs `feed` on `socket` until it ends. `head_only` (a HEAD request) sends the head
/// and nothing else.
// Not inlined into the connection's loop (`client::serve`), whose frame must stay small:
// it sits under every stream, and under every request the connection reads. This
// frame sits under every stream too, so the feed is borrowed where it lies (in
// `client::serve`'s box), not moved here; marking the helpers below out of line made it
// larger, not smaller (440 -> 488 bytes), so the optimiser decides (tests/stack_budget.rs).
#[inline(never)]
pub fn serve(
    feed: &mut Feed<'_>,
    socket: &Arc<TcpStream>,
    framing: Framing,
    head_only: bool,
    cors: &[(&str, String)],
    shared: &Shared,
    client: &str,
) -> StreamReport {
    let mut head_headers = cors.to_vec();
    if let Feed::Chapter(chapter) = &*feed {
        head_headers.extend(chapter.head_headers());
    }
    let cors = &head_headers[..];
    // In the drain window too: the listener still accepts (so that a probe sees
    // /readyz say 503), but a new stream belongs on another instance.
    if head_only || shared.shutdown.is_draining() {
        return answer_without_stream(socket, framing, head_only, cors, shared);
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
        Feed::Counter { resume_after } => serve_counter(&mut stream, *resume_after, shared),
        Feed::Clock => serve_clock(&mut stream, shared),
        Feed::Subscription {
            subscription,
            valid_until,
            last_event_id,
        } => {
            // Idle subscribers sleep; the client watch notices for them when a client
            // leaves, and raises this stream's alarm.
            let watching = shared.watch.watch(Arc::clone(socket));
            if watching.is_some() {
                stream.leave_client_checks_to_the_watch();
            }
            let ends_at = valid_until.map(instant_of);
            let source = Source {
                log: shared.log.as_ref(),
                max_replay: shared.config.max_replay,
                max_replay_bytes: shared.config.max_replay_bytes,
                max_message_bytes: shared.config.max_message_bytes,
                shutdown: &shared.shutdown,
                client,
            };
            serve_subscription(
                &mut stream,
                subscription,
                last_event_id.take(),
                watching.as_ref(),
                ends_at,
                &source,
            )
        }
        Feed::Chapter(chapter) => {
            let watching = shared.watch.watch(Arc::clone(socket));
            if watching.is_some() {
                stream.leave_client_checks_to_the_watch();
            }
            chapter.run(&mut stream, watching.as_ref())
        }
    };
    let events_sent = stream.events_sent();
    let end = close_stream(stream, end, shared);
    StreamReport { events_sent, end }
}

/// Ends a stream's body after the stream ended with `end`, and counts how it ended.
/// A stream that ended on its own or at shutdown ends its body properly; after an
/// I/O error the client is gone and there is no one to tell. At shutdown the last
/// thing said is when to come back (see the module docs).
fn close_stream(
    mut stream: EventStream,
    end: io::Result<StreamEnd>,
    shared: &Shared,
) -> io::Result<StreamEnd> {
    let end = end.and_then(|end| match end {
        StreamEnd::ShuttingDown => stream
            .send_retry(ending::drain_retry(&shared.config))
            .map(|()| end),
        _ => Ok(end),
    });
    let end = end.and_then(|end| stream.finish().map(|()| end));
    shared.stats.count_end(ending_of(&end));
    end
}

/// A HEAD request's answer (the head alone), or a stream refused while the server
/// drains (see `ending.rs`).
fn answer_without_stream(
    socket: &Arc<TcpStream>,
    framing: Framing,
    head_only: bool,
    cors: &[(&str, String)],
    shared: &Shared,
) -> StreamReport {
    let end = if head_only {
        response::write_stream_head(&**socket, EVENT_STREAM, framing, cors, None)
            .map(|()| StreamEnd::Finished)
    } else {
        ending::refuse_while_draining(socket, framing, cors, shared)
            .map(|()| StreamEnd::ShuttingDown)
    };
    StreamReport {
        events_sent: 0,
        end,
    }
}

/// The `reason` a stream's end is counted under in `/metrics`.
fn ending_of(end: &io::Result<StreamEnd>) -> Ending {
    match end {
        Ok(StreamEnd::Finished) => Ending::Finished,
        Ok(StreamEnd::ShuttingDown) => Ending::Shutdown,
        Ok(StreamEnd::TokenExpired) => Ending::TokenExpired,
        Ok(StreamEnd::LogUnavailable) => Ending::LogUnavailable,
        Err(error) => ending::of_error(error),
    }
}

/// The seed tutorial's stream: five numbered events a second apart, then `close`.
// Not inlined into `serve`, which stays under every stream: a subscriber's thread must
// not carry the demo streams' locals.
#[inline(never)]
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
// Not inlined into `serve` (see `serve_counter`).
#[inline(never)]
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

/// Where a subscription's messages come from besides the hub, and who it is for.
struct Source<'a> {
    log: Option<&'a RedisLog>,
    max_replay: usize,
    max_replay_bytes: usize,
    max_message_bytes: usize,
    shutdown: &'a ShutdownSignal,
    client: &'a str,
}

/// Replays what the client missed, then relays every new message until shutdown.
/// `client_last_id` is the last id the client has: its `Last-Event-ID`, then the id of
/// each message sent (a `missed` event names it as `after`).
// Not inlined into `serve`, so that the demo streams' threads do not hold its frame
// (a third stack page, 4 KiB more resident per stream, measured by `make bench`).
#[inline(never)]
fn serve_subscription(
    stream: &mut EventStream,
    subscription: &mut Subscription,
    mut client_last_id: Option<String>,
    watching: Option<&Watching>,
    ends_at: Option<Instant>,
    source: &Source,
) -> io::Result<StreamEnd> {
    let client = source.client;
    // Without the watch, the stream checks its client itself and the alarm stays down.
    let no_alarm = AtomicBool::new(false);
    let alarm = watching.map_or(&no_alarm, Watching::alarm);
    loop {
        // A stream opened with a token ends when the token does: the browser then
        // reconnects with whatever token the app has set by then, and a stale one gets
        // 401 (see auth/gate.rs).
        let Some(wait) = stream.time_until_upkeep_or(ends_at) else {
            return Ok(StreamEnd::TokenExpired);
        };
        // The hub lock is already released here: the write below may block for up to
        // the write timeout, and only this subscriber waits for it.
        match subscription.next_delivery(wait, alarm) {
            Delivery::Messages { messages, missed } => {
                // The `missed` event goes first, in the same write as what follows.
                let notice =
                    missed.map(|missed| encode_missed(client_last_id.as_deref(), missed, client));
                let events: Vec<&[u8]> = notice
                    .as_deref()
                    .into_iter()
                    .chain(messages.iter().map(|message| &*message.encoded))
                    .collect();
                stream.send_encoded(&events)?;
                if let Some(last) = messages.last() {
                    client_last_id = Some(last.id.to_string());
                }
            }
            Delivery::Gap { after, through } => {
                if let Some(log) = source.log {
                    let gap = (after, through);
                    let replayed =
                        replay_gap(stream, log, subscription, gap, &client_last_id, source)?;
                    match replayed {
                        Replayed::Done { last_sent } => {
                            if let Some(last) = last_sent {
                                client_last_id = Some(last.to_string());
                            }
                        }
                        // Nothing after `after` is skipped: the browser asks again.
                        Replayed::Unavailable => return Ok(StreamEnd::LogUnavailable),
                    }
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

/// The `missed` event, encoded, and the one log line that says it was sent.
// Out of line and cold: the log call's formatting would otherwise sit in
// `serve_subscription`'s frame, under every write and every sleep of the stream.
#[cold]
#[inline(never)]
fn encode_missed(client_last_id: Option<&str>, missed: Missed, client: &str) -> Vec<u8> {
    let through = missed.through.map_or("unknown".into(), |id| id.to_string());
    info!("{client} GET /subscribe told it missed messages through {through}");
    missed_event(client_last_id, missed).encode()
}

/// Replays from the Redis log the messages of the gap `(after, through)` the hub no
/// longer holds.
// Out of line: the replay request lives in this frame, gone before the stream sleeps
// again, not in `serve_subscription`'s, which stays under the whole stream.
#[cold]
#[inline(never)]
fn replay_gap(
    stream: &mut EventStream,
    log: &RedisLog,
    subscription: &Subscription,
    (after, through): (EventId, EventId),
    client_last_id: &Option<String>,
    source: &Source,
) -> io::Result<Replayed> {
    let request = ReplayRequest {
        topics: subscription.topics(),
        after,
        through,
        client_last_id: client_last_id.as_deref(),
        // One reconnect replays at most --max-replay messages, and the hub sends those
        // it holds after `through` itself.
        max_replay: source
            .max_replay
            .saturating_sub(subscription.held_after(through)),
        max_bytes: source.max_replay_bytes,
        entry_bytes_guess: source.max_message_bytes,
        shutdown: source.shutdown,
    };
    replay::replay(stream, log, &request, source.client)
}

/// The moment on the monotonic clock that corresponds to `time` on the wall clock (now,
/// if it has passed).
fn instant_of(time: SystemTime) -> Instant {
    let from_now = time.duration_since(SystemTime::now()).unwrap_or_default();
    Instant::now() + from_now
}
