//! # Chapter 1: HTTP/1.1 by hand
//!
//! Using it, as an operator or an app: docs/wire-format.md (the bytes on the wire)
//! and docs/limits.md (every bound and its status).
//!
//! Everything a server needs to read requests and write responses, and nothing that
//! knows what this server serves: no events, topics or tokens in here.
//!
//! Read in this order:
//!
//! 1. [`request`]: what a parsed request holds, and the questions handlers ask of it;
//!    [`version`]: HTTP/1.0 and HTTP/1.1, and where they differ.
//! 2. [`head`]: bytes to a [`request::Request`], byte by byte, within limits.
//! 3. [`connection`]: reading heads and bodies off a socket before a deadline.
//! 4. [`error`]: every status we send and every reason we refuse.
//! 5. [`response`]: the only writer of status lines and headers; chunked framing.
//! 6. [`cors`]: which pages on other origins may read an answer.
//! 7. [`forwarded`]: behind a reverse proxy, whom to believe about the client.
//! 8. [`host`]: which host names we answer for (DNS rebinding).

pub mod connection;
pub mod cors;
pub mod error;
pub mod forwarded;
pub mod head;
pub mod host;
pub mod log_text;
pub mod request;
pub mod response;
pub mod version;
