//! The tail: one thread per instance that follows the shared log and hands every new
//! entry to the hub, which wakes the local subscribers as if the message had been
//! published here.
//!
//! ```text
//!  instance A: POST /publish ──► XADD ──► Redis Stream ◄── XREAD BLOCK ── tail of A ──► hub of A
//!                                              ▲
//!                                              └────────── XREAD BLOCK ── tail of B ──► hub of B
//! ```
//!
//! Even the instance that published a message learns of it from its tail: if the
//! publishing thread added it to its hub itself, two publishes on two threads could
//! reach the hub in the other order than their ids, and a subscriber that had sent
//! the later one would never send the earlier. One reader, in log order, keeps every
//! history sorted.
//!
//! # When Redis goes away
//!
//! The tail remembers the id of the last entry it handed over. When a read fails it
//! reconnects, waiting a little longer after each failure (up to `MAX_BACKOFF`, 2 s), and
//! reads on from that id: entries appended meanwhile (by instances that could still
//! reach Redis) arrive then, none twice, none skipped. Meanwhile publishes here are
//! answered `503` (`publish.rs`), streams stay open with their heartbeats, and
//! `/stats` says `"connected": false`.
//!
//! # At start
//!
//! Before following, the tail fills the hub with the newest `--history` entries of the
//! log, so a restarted instance can replay to a reconnecting browser at once. Older
//! entries are read from the log when a subscriber asks for them
//! (`Delivery::Gap`, see `sse/feeds.rs`).
//!
//! # Keeping the log within its bytes
//!
//! The tail reads every entry with its size, so it is also what keeps the log within
//! `--redis-max-bytes`: it counts what it reads and, when the newest entries pass the
//! bound, trims the older ones (`log_bytes.rs`).

use std::io;
use std::sync::atomic::Ordering;
use std::time::Duration;

use log::{info, warn};

use crate::pubsub::event_id::EventId;
use crate::pubsub::hub::Hub;
use crate::redis::connection::RedisConnection;
use crate::redis::kinds::OtherEntry;
use crate::redis::log::{COMMAND_TIMEOUT, RedisLog};
use crate::shutdown::ShutdownSignal;

/// How long one `XREAD` waits for a new entry; also how soon the tail notices Ctrl-C.
const BLOCK: Duration = Duration::from_millis(1000);
/// The most entries one read hands over.
const READ_COUNT: usize = 1000;
/// The first wait before reconnecting, doubled after each failure up to
/// [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Entries of other kinds go to this (Mercure's updates, `mercure/log.rs`), in log
/// order, from the tail's thread.
pub type OtherEntries<'a> = &'a dyn Fn(Vec<OtherEntry>);

/// Follows `log` into `hub` until `shutdown`. `fill` is how many of the newest entries
/// to load at start; `others` takes the entries of other kinds.
pub fn run(
    hub: &Hub,
    log: &RedisLog,
    shutdown: &ShutdownSignal,
    fill: usize,
    others: OtherEntries,
) {
    let url = &log.settings.url;
    let mut position: Option<EventId> = None;
    let mut backoff = FIRST_BACKOFF;
    let mut reported_down = false;
    while !shutdown.is_triggered() {
        let outcome = log.connect().and_then(|mut connection| {
            connection.set_reply_timeout(BLOCK + COMMAND_TIMEOUT)?;
            log.status.connected.store(true, Ordering::Release);
            if reported_down {
                info!(
                    "Redis at {url} is back; following {} again",
                    log.settings.key
                );
                reported_down = false;
            }
            backoff = FIRST_BACKOFF;
            follow(
                hub,
                log,
                &mut connection,
                &mut position,
                shutdown,
                fill,
                others,
            )
        });
        let Err(error) = outcome else {
            return;
        };
        log.status.connected.store(false, Ordering::Release);
        log.forget_idle_connections();
        if !reported_down {
            warn!("Redis at {url} unreachable ({error}); publishing answers 503 until it is back");
            reported_down = true;
        }
        if shutdown.wait_timeout(backoff) {
            return;
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Fills the hub if this is the first connection, then hands over every new entry
/// until an error (returned) or shutdown (`Ok`).
fn follow(
    hub: &Hub,
    log: &RedisLog,
    connection: &mut RedisConnection,
    position: &mut Option<EventId>,
    shutdown: &ShutdownSignal,
    fill: usize,
    others: OtherEntries,
) -> io::Result<()> {
    let mut after = match *position {
        Some(id) => id,
        None => {
            let page = log.newest(connection, fill)?;
            if let Some(first) = page.entries.first() {
                // Whatever is older than this may be in the log but not in the hub.
                hub.set_floor(first.id.before());
            }
            let last = page.last_id.unwrap_or(EventId::ZERO);
            log.seen.record(page.entries.iter().map(|entry| entry.id));
            trim_to_bytes(log, connection, page.sizes)?;
            let filled = hub.append(page.entries);
            others(page.others);
            info!(
                "following the log {} on {}: {filled} recent messages loaded",
                log.settings.key, log.settings.url
            );
            *position = Some(last);
            last
        }
    };
    while !shutdown.is_triggered() {
        let page = log.read_after(connection, after, READ_COUNT, BLOCK)?;
        let Some(last_id) = page.last_id else {
            continue;
        };
        log.seen.record(page.entries.iter().map(|entry| entry.id));
        trim_to_bytes(log, connection, page.sizes)?;
        hub.append(page.entries);
        if !page.others.is_empty() {
            others(page.others);
        }
        log.record_delivery(last_id);
        after = last_id;
        *position = Some(last_id);
    }
    Ok(())
}

/// Counts entries just read against the log's byte bound, and trims the log when they
/// pass it (`log_bytes.rs`).
fn trim_to_bytes(
    log: &RedisLog,
    connection: &mut RedisConnection,
    sizes: Vec<(EventId, usize)>,
) -> io::Result<()> {
    let Some(bytes) = &log.bytes else {
        return Ok(());
    };
    match bytes.record(sizes) {
        Some(first_kept) => log.trim_before(connection, first_kept),
        None => Ok(()),
    }
}
