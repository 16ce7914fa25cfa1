//! The shared log: one Redis Stream that every instance appends to and reads from.
//!
//! A Redis Stream is an append-only list of entries, each a few field/value pairs,
//! each with an id that Redis assigns and that only grows (`1732368000000-0`: the
//! millisecond, then a sequence). That is exactly what the hub needs: one order of all
//! messages that every instance agrees on. So a message is one entry,
//!
//! ```text
//! XADD sse:log MAXLEN ~ 100000 * topics "orders/42 users/alice" event status data "shipped" by "sub:shop"
//!   → "1732368000000-0"          the message's id, on every instance
//! ```
//!
//! (`by` names the subject that published it, `pubsub/subject.rs`, so that every
//! instance shares its topics and history among subjects alike; an entry without it
//! counts as anonymous.)
//!
//! and the commands we need are few (Redis docs, "Redis Streams" and each command's
//! page):
//!
//! | command | use |
//! |---|---|
//! | `XADD key MAXLEN ~ N * f v ...` | publish; `~` trims the oldest entries cheaply, approximately to N |
//! | `XREAD COUNT n BLOCK ms STREAMS key ID` | entries after ID, waiting up to ms for one (the tail, `tail.rs`) |
//! | `XREVRANGE key + - COUNT n` | the newest n entries (filling the history at start) |
//! | `XREVRANGE key B (A COUNT n` | entries after A up to B, newest first (replay older than what is in memory, `replay.rs`) |
//! | `XTRIM key MINID ~ ID` | drop the entries older than ID, whole nodes only: the byte bound (`log_bytes.rs`) |
//! | `XINFO STREAM key` | `entries-added`, `recorded-first-entry-id`, `max-deleted-entry-id`: whether entries were trimmed or deleted ([`RedisLog::lost_after`]) |
//!
//! Connections for publishing and replay are kept in a small pool (replays are capped
//! at `--max-log-replays` at once, so they hold at most that many); the tail has its
//! own, because it spends its life blocked in `XREAD`.

use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::pubsub::event_id::EventId;
use crate::pubsub::subject::ANONYMOUS;
use crate::pubsub::topic::TopicName;
use crate::redis::connection::RedisConnection;
pub use crate::redis::entry::Page;
use crate::redis::entry::{entry_id, parse_page, stream_id, unexpected};
use crate::redis::log_bytes::LogBytes;
use crate::redis::replay_memory::ReplayMemory;
use crate::redis::resp::Value;
use crate::redis::seen::SeenIds;
use crate::redis::slots::ReplaySlots;
use crate::redis::url::RedisUrl;
use crate::sync::lock;

/// How long connecting, and any command but a blocking read, may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest bulk string a reply may hold: Redis's own limit (`proto-max-bulk-len`).
/// Not our `--max-message-bytes`: an instance configured with a larger one may have
/// published the entry, and a tail that refused to read it would be stuck on it for good.
/// (The reader grows its buffer as bytes arrive, so the limit allocates nothing.)
const MAX_REPLY_BULK_BYTES: usize = 512 * 1024 * 1024;
/// Idle connections kept for publishers; more are closed after use.
const MAX_IDLE_CONNECTIONS: usize = 16;

/// The log's settings, from `Config`.
#[derive(Clone, Debug)]
pub struct LogSettings {
    pub url: RedisUrl,
    /// The stream's key (`--redis-key`).
    pub key: String,
    /// About how many entries the stream keeps (`--redis-max-len`).
    pub max_len: usize,
    /// About how many bytes the stream keeps (`--redis-max-bytes`); `None` for a
    /// log client that never trims by bytes.
    pub max_bytes: Option<usize>,
    /// Replays from the log that may run at once (`--max-log-replays`).
    pub max_log_replays: usize,
    /// The bytes all replays together may hold in memory (`--replay-memory-bytes`).
    pub replay_memory_bytes: usize,
}

/// What `/stats` says about the log.
#[derive(Debug, Default)]
pub struct LogStatus {
    /// Whether the tail is connected now.
    pub connected: AtomicBool,
    /// How long the newest entry the tail handed over had waited in the log, in ms.
    pub lag_ms: AtomicU64,
    /// The id of the newest entry handed over (`ms`, `seq`).
    pub last_ms: AtomicU64,
    pub last_seq: AtomicU64,
}

impl LogStatus {
    /// `{"connected": true, "last_id": "1732368000000-0", "lag_ms": 1}` for `/stats`.
    pub fn to_json(&self) -> String {
        let last_id = EventId {
            ms: self.last_ms.load(Ordering::Relaxed),
            seq: self.last_seq.load(Ordering::Relaxed),
        };
        format!(
            "{{\"connected\": {}, \"last_id\": \"{last_id}\", \"lag_ms\": {}}}",
            self.connected.load(Ordering::Acquire),
            self.lag_ms.load(Ordering::Relaxed)
        )
    }
}

/// The shared log, and the connections to it.
pub struct RedisLog {
    pub settings: LogSettings,
    idle: Mutex<Vec<RedisConnection>>,
    pub status: LogStatus,
    /// The cap on replays running at once (`replay.rs`).
    pub replays: ReplaySlots,
    /// The bytes replays hold in memory (`replay_memory.rs`).
    pub replay_memory: ReplayMemory,
    /// The ids the tail has read, to place a trimmed client id (`seen.rs`).
    pub seen: SeenIds,
    /// The sizes of the newest entries, for the byte bound (`log_bytes.rs`).
    pub bytes: Option<LogBytes>,
}

impl RedisLog {
    pub fn new(settings: LogSettings) -> RedisLog {
        RedisLog {
            replays: ReplaySlots::new(settings.max_log_replays),
            replay_memory: ReplayMemory::new(settings.replay_memory_bytes),
            seen: SeenIds::new(settings.max_len.saturating_mul(2)),
            bytes: settings
                .max_bytes
                .map(|max_bytes| LogBytes::new(max_bytes, settings.max_len)),
            settings,
            idle: Mutex::new(Vec::new()),
            status: LogStatus::default(),
        }
    }

    /// A new connection of our own (the tail's).
    pub fn connect(&self) -> io::Result<RedisConnection> {
        RedisConnection::open(&self.settings.url, COMMAND_TIMEOUT, MAX_REPLY_BULK_BYTES)
    }

    /// Closes the idle connections: after Redis went away they are all dead.
    pub fn forget_idle_connections(&self) {
        lock(&self.idle).clear();
    }

    /// Runs `work` on a pooled connection (opening one if none is idle). A connection
    /// on which `work` failed is closed, and so are the idle ones.
    fn with_connection<T>(
        &self,
        work: impl FnOnce(&mut RedisConnection) -> io::Result<T>,
    ) -> io::Result<T> {
        let pooled = lock(&self.idle).pop();
        let mut connection = match pooled {
            Some(connection) => connection,
            None => self.connect()?,
        };
        match work(&mut connection) {
            Ok(value) => {
                let mut idle = lock(&self.idle);
                if idle.len() < MAX_IDLE_CONNECTIONS {
                    idle.push(connection);
                }
                Ok(value)
            }
            Err(error) => {
                self.forget_idle_connections();
                Err(error)
            }
        }
    }

    /// Appends one message; its id is the entry's. Once this returns `Ok`, Redis holds
    /// the message, and every instance's tail will hand it to its subscribers.
    pub fn append(
        &self,
        topics: &[TopicName],
        event_type: Option<&str>,
        data: &str,
    ) -> io::Result<EventId> {
        self.append_as(ANONYMOUS, topics, event_type, data)
    }

    /// [`RedisLog::append`] by `publisher`, a subject (`pubsub/subject.rs`) that every
    /// instance then counts the message's topics and bytes to.
    pub fn append_as(
        &self,
        publisher: &str,
        topics: &[TopicName],
        event_type: Option<&str>,
        data: &str,
    ) -> io::Result<EventId> {
        let key = self.settings.key.as_bytes();
        let max_len = self.settings.max_len.to_string();
        let topic_list = topics.join(" ");
        let mut args: Vec<&[u8]> = vec![
            b"XADD",
            key,
            b"MAXLEN",
            b"~",
            max_len.as_bytes(),
            b"*",
            b"topics",
            topic_list.as_bytes(),
        ];
        if let Some(event_type) = event_type {
            args.extend([&b"event"[..], event_type.as_bytes()]);
        }
        args.extend([&b"data"[..], data.as_bytes()]);
        // Who published it, so that every instance's hub knows whose topics these are.
        args.extend([&b"by"[..], publisher.as_bytes()]);
        let reply = self.with_connection(|connection| connection.command(&args))?;
        entry_id(&reply).ok_or_else(|| unexpected("XADD"))
    }

    /// Appends an entry of another kind (`fields` must hold `kind`, `kinds.rs`); the tail
    /// hands it over in log order like the project's own messages.
    pub fn append_other(&self, fields: &[(&str, &str)]) -> io::Result<EventId> {
        let key = self.settings.key.as_bytes();
        let max_len = self.settings.max_len.to_string();
        let mut args: Vec<&[u8]> = vec![b"XADD", key, b"MAXLEN", b"~", max_len.as_bytes(), b"*"];
        for (name, value) in fields {
            args.extend([name.as_bytes(), value.as_bytes()]);
        }
        let reply = self.with_connection(|connection| connection.command(&args))?;
        entry_id(&reply).ok_or_else(|| unexpected("XADD"))
    }

    /// The entries after `after`, waiting up to `block` for the first (the tail's read).
    pub fn read_after(
        &self,
        connection: &mut RedisConnection,
        after: EventId,
        count: usize,
        block: Duration,
    ) -> io::Result<Page> {
        let block_ms = block.as_millis().to_string();
        let (count, after) = (count.to_string(), stream_id(after));
        let reply = connection.command(&[
            b"XREAD",
            b"COUNT",
            count.as_bytes(),
            b"BLOCK",
            block_ms.as_bytes(),
            b"STREAMS",
            self.settings.key.as_bytes(),
            after.as_bytes(),
        ])?;
        // [[key, [entry, ...]]], or null when BLOCK timed out.
        match reply {
            Value::Array(None) => Ok(Page {
                entries: Vec::new(),
                others: Vec::new(),
                last_id: None,
                read: 0,
                bytes: 0,
                largest_entry_bytes: 0,
                sizes: Vec::new(),
            }),
            Value::Array(Some(streams)) => match streams.as_slice() {
                [Value::Array(Some(stream))] if stream.len() == 2 => parse_page(&stream[1]),
                _ => Err(unexpected("XREAD")),
            },
            _ => Err(unexpected("XREAD")),
        }
    }

    /// The newest `count` entries, oldest first.
    pub fn newest(&self, connection: &mut RedisConnection, count: usize) -> io::Result<Page> {
        let count = count.to_string();
        let key = self.settings.key.as_bytes();
        let reply =
            connection.command(&[b"XREVRANGE", key, b"+", b"-", b"COUNT", count.as_bytes()])?;
        let mut page = parse_page(&reply)?;
        page.entries.reverse();
        page.sizes.reverse();
        page.last_id = page.entries.last().map(|entry| entry.id);
        Ok(page)
    }

    /// Up to `count` entries after `after` and up to `upper` (`(id, true)`: including
    /// that id; `(id, false)`: below it), newest first; `last_id` is the oldest read.
    pub fn range_back(
        &self,
        after: EventId,
        upper: (EventId, bool),
        count: usize,
    ) -> io::Result<Page> {
        // `(` makes a bound exclusive (Redis 6.2 and later).
        let end = match upper {
            (id, true) => stream_id(id),
            (id, false) => format!("({}", stream_id(id)),
        };
        let (start, count) = (format!("({}", stream_id(after)), count.to_string());
        let key = self.settings.key.as_bytes();
        let reply = self.with_connection(|connection| {
            connection.command(&[
                b"XREVRANGE",
                key,
                end.as_bytes(),
                start.as_bytes(),
                b"COUNT",
                count.as_bytes(),
            ])
        })?;
        parse_page(&reply)
    }

    /// Whether the log may have lost entries newer than `after`: trimmed by `MAXLEN`
    /// (then everything before its first entry is gone) or deleted. Trimming does not
    /// move `max-deleted-entry-id` (seen on Redis 7.0.15), so both are looked at.
    ///
    /// "May": a trimmed entry leaves nothing behind, neither its id nor its topics. So
    /// when `after` is itself gone, Redis cannot tell whether it was the newest entry
    /// trimmed (nothing lost) or an older one; this instance can if its tail read
    /// both `after` and the log's first entry (`seen.rs`). Otherwise the answer is
    /// `true`, and the client is told `missed` with `through` unknown: a page that
    /// reloads once too often loses nothing, one that is never told shows stale
    /// state. Nor can anyone tell whether trimmed entries were for the caller's
    /// topics. When `after` is still in the log the answer is exact.
    ///
    /// An `after` older than the first entry of a log that never lost one was never
    /// an entry of this log (another log's, or another key's): it cannot be placed,
    /// and that too is `true`. (`ZERO`, "from the very start", is always placed.)
    pub fn lost_after(&self, after: EventId) -> io::Result<bool> {
        let key = self.settings.key.as_bytes();
        let reply = self.with_connection(|connection| {
            match connection.command(&[b"XINFO", b"STREAM", key]) {
                // No stream yet: nothing was ever lost.
                Err(error) if error.to_string().contains("no such key") => Ok(Value::Array(None)),
                other => other,
            }
        })?;
        let Value::Array(Some(fields)) = reply else {
            return Ok(false);
        };
        // A flat list of name, value, name, value...
        let field = |name: &str| {
            fields
                .chunks(2)
                .find(|pair| pair[0] == Value::Bulk(Some(name.as_bytes().to_vec())))
                .and_then(|pair| pair.get(1))
        };
        let number = |name| match field(name) {
            Some(Value::Integer(number)) => Some(*number),
            _ => None,
        };
        let id = |name| field(name).and_then(entry_id);
        let (Some(length), Some(added), Some(first), Some(deleted)) = (
            number("length"),
            number("entries-added"),
            id("recorded-first-entry-id"),
            id("max-deleted-entry-id"),
        ) else {
            return Err(unexpected("XINFO STREAM (Redis 7 or later is needed)"));
        };
        let trimmed = added > length;
        let foreign = after != EventId::ZERO;
        let lost_before_first = first > after && (trimmed || foreign);
        Ok(deleted > after || (lost_before_first && !self.seen.adjacent(after, first)))
    }

    /// Drops every entry older than `first_kept`, as far as whole nodes allow
    /// (`MINID ~`, see `log_bytes.rs`), on the tail's connection.
    pub fn trim_before(
        &self,
        connection: &mut RedisConnection,
        first_kept: EventId,
    ) -> io::Result<()> {
        let first_kept = stream_id(first_kept);
        let key = self.settings.key.as_bytes();
        connection.command(&[b"XTRIM", key, b"MINID", b"~", first_kept.as_bytes()])?;
        Ok(())
    }

    /// Records that the tail handed `id` over now, for `/stats`.
    pub fn record_delivery(&self, id: EventId) {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |now| now.as_millis() as u64);
        let status = &self.status;
        status
            .lag_ms
            .store(now_ms.saturating_sub(id.ms), Ordering::Relaxed);
        status.last_ms.store(id.ms, Ordering::Relaxed);
        status.last_seq.store(id.seq, Ordering::Relaxed);
    }
}

#[cfg(test)]
#[path = "log_tests.rs"]
mod tests;
