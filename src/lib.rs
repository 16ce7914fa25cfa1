//! # sse-server: Server-Sent Events over hand-written HTTP/1.1
//!
//! A blocking server built on `std::net`: one OS thread per client, which reads the
//! request, writes the response head and the events itself, and learns that its client
//! has left when a write fails or a read says so.
//!
//! **Start here** (the path from `accept()` to the bytes of an event):
//! [`server`] accepts, [`client`] serves one connection, and [`sse::feeds`] runs its
//! stream. Then read the chapters in order; each builds on the ones before it.
//!
//! - The program: [`config`], [`cli`], [`flags`] and [`switches`] (every setting and
//!   the command line), [`startup`] (what the server says it is about to do),
//!   [`shared`] (the one shared state), [`server`], [`client`], [`routes`],
//!   [`admission`] (a full server), [`shares`] (no client takes more than its share), [`shutdown`] (Ctrl-C), [`mint`] (`sse-server
//!   token`).
//! - Chapter 1, [`http`]: HTTP/1.1 by hand: requests, limits, responses, chunks.
//! - Chapter 2, [`sse`]: the event-stream format and a live stream on one socket.
//! - Chapter 3, [`pubsub`]: topics, histories, and waking ten thousand threads.
//! - Chapter 4, [`auth`]: tokens that say who may follow and publish which topics,
//!   from SHA-256 up.
//! - Chapter 5, [`redis`]: many instances sharing one log in a Redis Stream, from the
//!   wire protocol up.
//! - Chapter 6, [`mercure`]: the open Mercure protocol at `/.well-known/mercure`,
//!   over the same streams, starting with URLs and URL Patterns as browsers read them.
//! - Running it as a service: [`metrics`] (Prometheus), [`process`] (what `/proc`
//!   says about us), [`health`] (`/healthz`, `/readyz`).
//! - Support: [`stats`], [`slab`] (entries that keep their key), [`limits`] (what the
//!   OS allows), [`open_files`] (raising the descriptor limit to what is allowed),
//!   [`futex_table`] (room for ten thousand sleeping threads), [`jitter`] (spread
//!   retries), [`sync`] (the one place lock poisoning is handled), [`secret`]
//!   (passwords kept out of logs), [`vanish`] (clients that disappear without a word).

// Four files call into the C library for what std lacks, and allow themselves `unsafe`
// for it: `futex_table` (one `prctl`), `sse::hangups` (epoll), `vanish` (one
// `setsockopt`) and `open_files` (`getrlimit`, `setrlimit`); see there.
#![deny(unsafe_code)]

pub mod admission;
pub mod auth;
pub mod cli;
pub mod client;
pub mod config;
pub mod flags;
pub mod futex_table;
pub mod health;
pub mod http;
pub mod jitter;
pub mod limits;
pub mod mercure;
pub mod metrics;
pub mod mint;
pub mod open_files;
pub mod process;
pub mod pubsub;
pub mod redis;
pub mod routes;
pub mod secret;
pub mod server;
pub mod shared;
pub mod shares;
pub mod shutdown;
pub mod slab;
pub mod sse;
pub mod startup;
pub mod stats;
pub mod switches;
pub mod sync;
pub mod vanish;

pub use config::Config;
pub use server::{Server, ServerHandle};
