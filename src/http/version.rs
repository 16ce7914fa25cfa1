//! The two versions of HTTP this server speaks, and where they differ.
//!
//! An HTTP/1.1 request must carry exactly one `Host` header (`head.rs`), may leave
//! the connection open for another request (`request.rs`), and reads a stream's body
//! in chunks (`response.rs`); an HTTP/1.0 request needs no `Host`, gets one answer
//! per connection, and reads a stream until we close. How the version is read off the
//! request line is in `head.rs`.

/// The protocol versions we speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}
