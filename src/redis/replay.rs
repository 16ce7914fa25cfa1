//! Replay from the log: when a subscriber resumes from an id older than anything its
//! instance holds in memory (an instance that just started, or a browser that was away
//! a long time), the messages in between are read back from Redis and sent before the
//! hub takes over (`Delivery::Gap`). Three rules keep that honest and cheap:
//!
//! - **Bounded by entries read.** One replay reads at most `--max-replay` entries,
//!   newest first (`XREVRANGE`), a page at a time, whether or not they are for the
//!   subscriber's topics: a request for a quiet topic with `Last-Event-ID: 1-0` costs
//!   Redis no more than any other. If the bound (or [`MAX_REPLAY_BYTES`]) stops the
//!   read before it reaches the client's id, the client gets the newest messages,
//!   after a `missed` event naming the newest entry left out.
//! - **Never past what it could not read.** If Redis cannot be read, nothing is sent
//!   and nothing is skipped: the stream ends, the browser comes back after `retry:`
//!   with the same `Last-Event-ID`, and once Redis is back it gets every message.
//! - **Few at once.** At most `--max-log-replays` replays read the log at a time (each
//!   holds one Redis connection); a stream that finds them all busy waits up to
//!   [`SLOT_WAIT`], then ends the same way, the kind refusal: its `200` and `retry:`
//!   already went out. The slot is given back before the events are written, so a
//!   client that reads slowly keeps no other replay waiting.
//!
//! A replay stops within one page of its client leaving: between pages it looks
//! whether the client is still there.
//!
//! Why not read only the topics' entries? A Redis Stream has no server-side filter:
//! `XRANGE`/`XREVRANGE` return every entry in a range, so the filtering happens here.
//! A stream per topic would let Redis do it, but a message published to two topics
//! would then be two `XADD`s with two ids (not atomic, and ids no longer one order
//! across topics), and one `Last-Event-ID` could not resume several topics: that
//! design gives up the property the whole log is for. The bound above is what keeps
//! the filtering affordable instead.
//!
//! Why newest first: the bound must leave out the *oldest* entries, and walking back
//! from the newest finds where to start without reading anything twice. The events
//! kept are held until the walk ends (at most `--max-replay` of them and
//! [`MAX_REPLAY_BYTES`]), then sent oldest first.

use std::io;
use std::time::{Duration, Instant};

use log::{info, warn};

use crate::pubsub::event_id::EventId;
use crate::pubsub::hub::MAX_BATCH_BYTES;
use crate::pubsub::missed::Missed;
use crate::pubsub::topic::{TopicName, encode_with_id};
use crate::redis::log::RedisLog;
use crate::redis::slots::{ReplaySlot, ReplaySlots};
use crate::shutdown::ShutdownSignal;
use crate::sse::missed::missed_event;
use crate::sse::stream::EventStream;

/// Log entries read per `XREVRANGE`.
pub const PAGE: usize = 500;
/// The most bytes of events one replay holds before sending them; entries older than
/// what fits are left out as if the count bound had been reached. About what the
/// kernel may buffer for one socket: a replay costs no more than its connection does.
pub const MAX_REPLAY_BYTES: usize = 4 * 1024 * 1024;
/// How long a stream waits for a replay slot before it ends (its browser retries).
pub const SLOT_WAIT: Duration = Duration::from_secs(5);
/// How often a stream waiting for a slot looks whether its client is still there.
const SLOT_CHECK: Duration = Duration::from_millis(250);

/// What a replay asks of the log.
pub struct ReplayRequest<'a> {
    pub topics: &'a [TopicName],
    /// The last id the subscription sent (or resumed from): read what is newer...
    pub after: EventId,
    /// ...up to and including this one (the hub holds what is newer).
    pub through: EventId,
    /// What the client itself last had, for the `missed` event.
    pub client_last_id: Option<&'a str>,
    /// The most entries to read: `--max-replay`, less what the hub sends after.
    pub max_replay: usize,
    /// At shutdown a replay stops where it is, as if the log could not be read.
    pub shutdown: &'a ShutdownSignal,
}

/// How a replay ended, when the client is still there.
#[derive(Debug, PartialEq, Eq)]
pub enum Replayed {
    /// Everything up to `through` was sent or told missed; `last_sent` is the id of
    /// the last message sent (none if there was none).
    Done { last_sent: Option<EventId> },
    /// Nothing past `after` was sent or skipped: the log could not be read, or no
    /// replay slot came free. The stream should end so the browser resumes later.
    Unavailable,
}

/// Sends `stream` the messages of `request.topics` after `request.after` up to and
/// including `request.through`, from `log`. An `Err` means the client left.
pub fn replay(
    stream: &mut EventStream,
    log: &RedisLog,
    request: &ReplayRequest,
    client: &str,
) -> io::Result<Replayed> {
    let Some(slot) = wait_for_slot(stream, &log.replays, request.shutdown)? else {
        info!("{client} GET /subscribe: no log replay slot came free; the stream ends");
        return Ok(Replayed::Unavailable);
    };
    let collected = match read_newest(stream, log, request)? {
        Ok(collected) => collected,
        Err(error) => {
            warn!(
                "{client} GET /subscribe: cannot replay from Redis after {} ({error}); the stream ends, nothing is skipped",
                request.after
            );
            return Ok(Replayed::Unavailable);
        }
    };
    let missed = match collected.cut_at {
        Some(cut_at) => Some(Missed {
            through: Some(cut_at),
        }),
        // The read reached the client's id: only trimming can have taken something.
        None => match log.lost_after(request.after) {
            Ok(lost) => lost.then_some(Missed { through: None }),
            Err(error) => {
                warn!(
                    "{client} GET /subscribe: cannot replay from Redis ({error}); the stream ends, nothing is skipped"
                );
                return Ok(Replayed::Unavailable);
            }
        },
    };
    // Sending needs no Redis: a client that reads slowly holds no slot.
    drop(slot);
    if let Some(missed) = missed {
        let through = missed.through.map_or("unknown".into(), |id| id.to_string());
        info!("{client} GET /subscribe told it missed messages through {through} (the log's)");
        stream.send(&missed_event(request.client_last_id, missed))?;
    }
    let last_sent = collected.events.first().map(|(id, _)| *id);
    send_oldest_first(stream, collected.events)?;
    Ok(Replayed::Done { last_sent })
}

/// What the walk back through the log kept.
struct Collected {
    /// Encoded events of the topics, newest first.
    events: Vec<(EventId, Box<[u8]>)>,
    /// The newest entry left out because a bound was reached (none if the walk got
    /// back to `after`).
    cut_at: Option<EventId>,
}

/// Walks the log back from `through` towards `after`, a page at a time, for at most
/// `max_replay` entries, keeping the events of the topics. The outer `Err` is the
/// client leaving, the inner one Redis failing.
fn read_newest(
    stream: &mut EventStream,
    log: &RedisLog,
    request: &ReplayRequest,
) -> io::Result<io::Result<Collected>> {
    let mut collected = Collected {
        events: Vec::new(),
        cut_at: None,
    };
    let (mut kept_bytes, mut read) = (0, 0);
    let mut upper = (request.through, true);
    loop {
        // One more than the bound: the entry after the last one we may read is the
        // one a `missed` event names.
        let want = (request.max_replay + 1 - read).min(PAGE);
        let page = match log.range_back(request.after, upper, want) {
            Ok(page) => page,
            Err(error) => return Ok(Err(error)),
        };
        read += page.read;
        let Some(oldest) = page.last_id else {
            return Ok(Ok(collected));
        };
        let over_count = read > request.max_replay;
        for entry in page.entries {
            if over_count && entry.id == oldest {
                break;
            }
            if !entry.is_for(request.topics) {
                continue;
            }
            let encoded = encode_with_id(entry.id, entry.event);
            if kept_bytes + encoded.len() > MAX_REPLAY_BYTES {
                collected.cut_at = Some(entry.id);
                return Ok(Ok(collected));
            }
            kept_bytes += encoded.len();
            collected.events.push((entry.id, encoded));
        }
        if over_count {
            collected.cut_at = Some(oldest);
            return Ok(Ok(collected));
        }
        if page.read < want {
            return Ok(Ok(collected));
        }
        upper = (oldest, false);
        // Between pages: a client that has left stops the replay here.
        stream.keep_alive(true)?;
        if request.shutdown.is_triggered() {
            return Ok(Err(io::Error::other("the server is shutting down")));
        }
    }
}

/// Sends events held newest first in id order, in writes of about a batch each.
fn send_oldest_first(
    stream: &mut EventStream,
    events: Vec<(EventId, Box<[u8]>)>,
) -> io::Result<()> {
    let mut batch: Vec<&[u8]> = Vec::new();
    let mut bytes = 0;
    for (_, event) in events.iter().rev() {
        if !batch.is_empty() && bytes + event.len() > MAX_BATCH_BYTES {
            stream.send_encoded(&batch)?;
            batch.clear();
            bytes = 0;
        }
        bytes += event.len();
        batch.push(event);
    }
    if !batch.is_empty() {
        stream.send_encoded(&batch)?;
    }
    Ok(())
}

/// Waits up to [`SLOT_WAIT`] for a replay slot, looking meanwhile whether the client
/// is still there. `Ok(None)`: none came free (or the server is shutting down).
fn wait_for_slot<'s>(
    stream: &mut EventStream,
    slots: &'s ReplaySlots,
    shutdown: &ShutdownSignal,
) -> io::Result<Option<ReplaySlot<'s>>> {
    let deadline = Instant::now() + SLOT_WAIT;
    loop {
        if shutdown.is_triggered() {
            return Ok(None);
        }
        let now = Instant::now();
        if let Some(slot) = slots.take(SLOT_CHECK.min(deadline.saturating_duration_since(now))) {
            return Ok(Some(slot));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        stream.keep_alive(true)?;
    }
}
