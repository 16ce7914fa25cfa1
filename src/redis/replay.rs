//! Replay from the log: when a subscriber resumes from an id older than anything its
//! instance holds in memory (an instance that just started, or a browser that was away
//! a long time), the messages in between are read back from Redis and sent before the
//! hub takes over (`Delivery::Gap`). Four rules keep that honest and cheap:
//!
//! - **Bounded by entries and bytes read.** One replay reads at most `--max-replay`
//!   entries and about `--max-replay-bytes` bytes, newest first (`XREVRANGE`), a page
//!   at a time, whether or not they are for the subscriber's topics: a request for a
//!   quiet topic with `Last-Event-ID: 1-0` costs Redis no more than any other, however
//!   large the other topics' entries. A page asks for no more entries than the bytes
//!   left allow at the size of the largest entry seen so far (at first,
//!   `--max-message-bytes`), so the byte bound is passed only by an entry larger than
//!   all before it. If a bound stops the read before it reaches the client's id, the
//!   client gets the newest messages, after a `missed` event naming the newest entry
//!   left out (the oldest one read, kept back for that).
//! - **Never past what it could not read.** If Redis cannot be read, nothing is sent
//!   and nothing is skipped: the stream ends, the browser comes back after `retry:`
//!   with the same `Last-Event-ID`, and once Redis is back it gets every message.
//! - **Few at once, in bounded memory.** At most `--max-log-replays` replays read the
//!   log at a time (each holds one Redis connection), and what all replays hold in
//!   memory stays within `--replay-memory-bytes` (`replay_memory.rs`): a replay takes
//!   room for twice its byte bound before it reads (the events it keeps, and the page
//!   it is reading), keeps what its events need once the walk ends, and gives that
//!   back batch by batch as a slow client reads them. A stream that finds no slot or
//!   no room waits up to [`SLOT_WAIT`] for each, then ends the same way, the kind
//!   refusal: its `200` and `retry:` already went out. The slot is given back before
//!   the events are written, so a client that reads slowly keeps no other replay from
//!   Redis, only from the memory it holds.
//! - **Not for nobody.** Before each page a replay looks whether its client is still
//!   there (one read of its socket, which says at once if the client closed or
//!   reset), so it stops within one page of its client leaving, whether or not it has
//!   sent anything yet; a client that left while its stream waited costs no page.
//!
//! Why not read only the topics' entries? A Redis Stream has no server-side filter:
//! `XRANGE`/`XREVRANGE` return every entry in a range, so the filtering happens here.
//! A stream per topic would let Redis do it, but a message published to two topics
//! would then be two `XADD`s with two ids (not atomic, and ids no longer one order
//! across topics), and one `Last-Event-ID` could not resume several topics: that
//! design gives up the property the whole log is for. The bounds above are what keep
//! the filtering affordable instead.
//!
//! Why newest first: the bounds must leave out the *oldest* entries, and walking back
//! from the newest finds where to start without reading anything twice. The events
//! kept are held until the walk ends (within the bytes read, and the room taken for
//! them), then sent oldest first.

use std::io;
use std::mem::size_of;
use std::time::{Duration, Instant};

use log::{info, warn};

use crate::pubsub::event_id::EventId;
use crate::pubsub::hub::MAX_BATCH_BYTES;
use crate::pubsub::missed::Missed;
use crate::pubsub::topic::{TopicName, encode_with_id};
use crate::redis::log::RedisLog;
use crate::redis::replay_memory::Room;
use crate::shutdown::ShutdownSignal;
use crate::sse::missed::missed_event;
use crate::sse::stream::EventStream;

/// The most log entries read per `XREVRANGE`.
pub const PAGE: usize = 500;
/// How long a stream waits for a replay slot, and then for room in memory, before it
/// ends (its browser retries).
pub const SLOT_WAIT: Duration = Duration::from_secs(5);
/// How often a stream waiting for a slot or room looks whether its client is still
/// there.
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
    /// About the most bytes to read from Redis (`--max-replay-bytes`).
    pub max_bytes: usize,
    /// How large an entry may be, as far as this instance knows
    /// (`--max-message-bytes`): the first page's size is guessed from it.
    pub entry_bytes_guess: usize,
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
    /// replay slot or room came free. The stream should end so the browser resumes
    /// later.
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
    // The byte bound, and the room taken for it: at most half the budget each, so
    // that one replay can always run.
    let max_bytes = request.max_bytes.min(log.replay_memory.limit() / 2).max(1);
    let room = wait_for(stream, request.shutdown, |wait| {
        log.replay_memory.take(2 * max_bytes, wait)
    })?;
    let Some(mut room) = room else {
        info!("{client} GET /subscribe: no room for a log replay came free; the stream ends");
        return Ok(Replayed::Unavailable);
    };
    let slot = wait_for(stream, request.shutdown, |wait| log.replays.take(wait))?;
    let Some(slot) = slot else {
        info!("{client} GET /subscribe: no log replay slot came free; the stream ends");
        return Ok(Replayed::Unavailable);
    };
    let collected = match read_newest(stream, log, request, max_bytes)? {
        Ok(collected) => collected,
        Err(error) => {
            warn!(
                "{client} GET /subscribe: cannot replay from Redis after {} ({error}); the stream ends, nothing is skipped",
                request.after
            );
            return Ok(Replayed::Unavailable);
        }
    };
    // The page read is gone; what the events need stays taken until they are sent.
    room.keep(collected.kept_bytes);
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
    send_oldest_first(stream, collected.events, &mut room)?;
    Ok(Replayed::Done { last_sent })
}

/// What the walk back through the log kept.
struct Collected {
    /// Encoded events of the topics, newest first.
    events: Vec<(EventId, Box<[u8]>)>,
    /// The memory `events` takes: see [`held_bytes`].
    kept_bytes: usize,
    /// The newest entry left out because a bound was reached (none if the walk got
    /// back to `after`).
    cut_at: Option<EventId>,
}

/// The memory one kept event takes: its bytes and its place in the list.
fn held_bytes(encoded: &[u8]) -> usize {
    encoded.len() + size_of::<(EventId, Box<[u8]>)>()
}

/// Walks the log back from `through` towards `after`, a page at a time, for at most
/// `max_replay` entries and about `max_bytes` bytes, keeping the events of the
/// topics (at most `max_bytes` of them too). The outer `Err` is the client leaving,
/// the inner one Redis failing.
fn read_newest(
    stream: &mut EventStream,
    log: &RedisLog,
    request: &ReplayRequest,
    max_bytes: usize,
) -> io::Result<io::Result<Collected>> {
    let mut collected = Collected {
        events: Vec::new(),
        kept_bytes: 0,
        cut_at: None,
    };
    let (mut read, mut read_bytes) = (0, 0);
    // The largest entry read so far; before the first page, a guess.
    let mut largest_entry: Option<usize> = None;
    let mut upper = (request.through, true);
    loop {
        // Before each page: a client that has left (even while this stream waited
        // for a slot) stops the replay here.
        stream.keep_alive(true)?;
        if request.shutdown.is_triggered() {
            return Ok(Err(io::Error::other("the server is shutting down")));
        }
        // One more than the count bound: the entry after the last one we may read is
        // the one a `missed` event names. And no more than the bytes left hold at
        // the size of the largest entry seen (at least one, to make progress).
        let entry_bytes = largest_entry.unwrap_or(request.entry_bytes_guess).max(1);
        let bytes_left = max_bytes.saturating_sub(read_bytes);
        let want = (request.max_replay + 1 - read)
            .min(PAGE)
            .min((bytes_left / entry_bytes).max(1));
        let page = match log.range_back(request.after, upper, want) {
            Ok(page) => page,
            Err(error) => return Ok(Err(error)),
        };
        read += page.read;
        read_bytes += page.bytes;
        let largest = largest_entry.unwrap_or(0).max(page.largest_entry_bytes);
        largest_entry = Some(largest);
        let Some(oldest) = page.last_id else {
            return Ok(Ok(collected));
        };
        // A full page means there may be more. Then the walk stops here if a bound is
        // reached: past the count, or no room left for one more entry of the largest
        // size. The oldest entry read is then not sent but named as missed.
        let more = page.read == want;
        let cut_here = more && (read > request.max_replay || read_bytes + largest > max_bytes);
        for entry in page.entries {
            if cut_here && entry.id == oldest {
                break;
            }
            if !entry.is_for(request.topics) {
                continue;
            }
            let encoded = encode_with_id(entry.id, entry.event);
            if collected.kept_bytes + held_bytes(&encoded) > max_bytes {
                collected.cut_at = Some(entry.id);
                return Ok(Ok(collected));
            }
            collected.kept_bytes += held_bytes(&encoded);
            collected.events.push((entry.id, encoded));
        }
        if cut_here {
            collected.cut_at = Some(oldest);
            return Ok(Ok(collected));
        }
        if !more {
            return Ok(Ok(collected));
        }
        upper = (oldest, false);
    }
}

/// Sends events held newest first in id order, in writes of about a batch each,
/// freeing each batch (and giving its room back) once it is written.
fn send_oldest_first(
    stream: &mut EventStream,
    mut events: Vec<(EventId, Box<[u8]>)>,
    room: &mut Room,
) -> io::Result<()> {
    while !events.is_empty() {
        // The oldest are at the end: take a batch of them off it.
        let mut bytes = 0;
        let mut count = 0;
        for (_, event) in events.iter().rev() {
            if count > 0 && bytes + event.len() > MAX_BATCH_BYTES {
                break;
            }
            bytes += event.len();
            count += 1;
        }
        let batch = events.split_off(events.len() - count);
        let pieces: Vec<&[u8]> = batch.iter().rev().map(|(_, event)| &**event).collect();
        stream.send_encoded(&pieces)?;
        // The list's own places are freed with it, at the end.
        let freed: usize = batch.iter().map(|(_, event)| event.len()).sum();
        drop(pieces);
        drop(batch);
        room.keep(room.bytes().saturating_sub(freed));
    }
    Ok(())
}

/// Waits up to [`SLOT_WAIT`] for what `take` tries to get (a slot, or room), looking
/// meanwhile whether the client is still there. `Ok(None)`: it did not come (or the
/// server is shutting down).
fn wait_for<T>(
    stream: &mut EventStream,
    shutdown: &ShutdownSignal,
    mut take: impl FnMut(Duration) -> Option<T>,
) -> io::Result<Option<T>> {
    let deadline = Instant::now() + SLOT_WAIT;
    loop {
        if shutdown.is_triggered() {
            return Ok(None);
        }
        let now = Instant::now();
        if let Some(taken) = take(SLOT_CHECK.min(deadline.saturating_duration_since(now))) {
            return Ok(Some(taken));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        stream.keep_alive(true)?;
    }
}
