//! # sse-server: Server-Sent Events over hand-written HTTP/1.1
//!
//! A blocking server built on `std::net`: one OS thread per client, which reads the
//! request, writes the response head and the events itself, and learns that its client
//! has left when a write fails.
//!
//! Read the modules in this order; each one builds on the ones before it.
//!
//! 1. [`config`]: every setting, its default, and the command line.
//! 2. [`server`]: the accept loop, one thread per client, and the life of a connection.
//! 3. [`request`]: reading a request head (and a body) within size and time limits.
//! 4. [`routes`]: which handler answers which method and path.
//! 5. [`response`]: the only writer of status lines and headers; chunked framing.
//! 6. [`sse`]: an event as the bytes of `text/event-stream`.
//! 7. [`stream`]: a live event stream on one socket: events, heartbeats, the end.
//! 8. [`feeds`]: the counter, clock and subscription streams.
//! 9. [`hub`]: publish/subscribe with a replay history; [`publish`]: `POST /publish`.
//! 10. [`shutdown`], [`stats`], [`limits`], [`sync`]: Ctrl-C, counters, OS limits, and
//!     the one place lock poisoning is handled.

#![forbid(unsafe_code)]

pub mod config;
pub mod feeds;
pub mod hub;
pub mod limits;
pub mod publish;
pub mod request;
pub mod response;
pub mod routes;
pub mod server;
pub mod shutdown;
pub mod sse;
pub mod stats;
pub mod stream;
pub mod sync;

pub use config::Config;
pub use server::{Server, ServerHandle};
