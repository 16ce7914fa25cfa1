//! # Chapter 2: the event stream
//!
//! Using it, as an operator or an app: docs/wire-format.md.
//!
//! The `text/event-stream` format and a live stream on one socket.
//!
//! Read in this order:
//!
//! 1. [`event`]: an event as bytes (WHATWG HTML, "Server-sent events").
//! 2. [`stream`]: a live stream on one socket: events, heartbeats, noticing that the
//!    client left, the end.
//! 3. [`hangups`]: the kernel tells one thread which idle clients hung up (epoll).
//! 4. [`watch`]: one thread that notices when the clients of idle streams leave.
//! 5. [`feeds`]: the streams this server offers, each a loop on its client's thread.
//! 6. [`missed`]: the event that tells a subscription's page what it will never get.
//! 7. [`ending`]: how a stream ends: a spread last `retry:` at shutdown, and why each
//!    end is counted.

pub mod ending;
pub mod event;
pub mod feeds;
pub mod hangups;
pub mod missed;
pub mod stream;
pub mod watch;
