//! # Chapter 5: many instances over Redis
//!
//! Using it, as an operator or an app: docs/redis.md.
//!
//! With `--redis URL`, every instance shares one ordered log, a Redis Stream: a
//! publish on any instance is appended there, each instance follows the log and hands
//! new entries to its own hub, and a message's id is its entry's id, the same
//! everywhere. So a browser whose instance went away reconnects (through the proxy in
//! front) to any other, and its `Last-Event-ID` means the same thing there.
//!
//! The Redis protocol is small, and the few commands needed are written here, like
//! the HTTP layer, as a lesson of their own.
//!
//! Read in this order:
//!
//! 1. [`resp`]: the wire format, commands out and replies in.
//! 2. [`url`]: where Redis is, `redis://:PASSWORD@HOST:PORT/DB`.
//! 3. [`connection`]: one connection, with timeouts, `AUTH` and `SELECT`.
//! 4. [`log`]: the stream as a message log: append, read, range, trim ([`entry`]
//!    reads its entries out of replies); [`log_bytes`], which entries to trim to keep
//!    it within its byte bound; [`kinds`], entries of another kind (Mercure's) that
//!    travel in the same order.
//! 5. [`tail`]: the thread that follows the log into the hub (and hands the other
//!    kinds to whoever the program names), and survives outages.
//! 6. [`replay`]: reading back what the hub no longer holds; [`seen`], the ids the
//!    tail read, which tell whether a client's trimmed id missed anything; [`slots`],
//!    the cap on replays running at once; [`replay_memory`], the bytes they may hold.

pub mod connection;
pub mod entry;
pub mod kinds;
pub mod log;
pub mod log_bytes;
pub mod replay;
pub mod replay_memory;
pub mod resp;
pub mod seen;
pub mod slots;
pub mod tail;
pub mod url;
