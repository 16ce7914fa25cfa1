//! Reading requests off one socket: heads within a deadline, and bodies of exactly
//! `Content-Length` bytes (RFC 9112 section 6.2).
//!
//! The whole head must arrive before a deadline (408). A socket read timeout alone
//! would not do: it limits each `read`, so a client sending one byte every few
//! seconds would never trip it. We keep one deadline and set the *remaining* time
//! before every read.
//!
//! A client that opens a connection and sends nothing at all before the deadline is
//! closed without an answer: there is no request to answer, and a `408` would be
//! read (if at all) as the answer to whatever it sends next.
//!
//! Deliberately left out: chunked request bodies (501) and HTTP/1.0 keep-alive.

use std::io::{self, Read};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::http::error::HttpError;
use crate::http::head::{HeadScanner, parse_head};
use crate::http::request::Request;

/// Bytes read from the socket per `read` call. The buffer lives on the client thread's
/// stack: a heap buffer freed before a stream starts would leave a hole in the
/// allocator's memory for every connection (glibc keeps a freed block of up to 1 KiB in
/// the freeing thread's own cache, and a stream's thread then sleeps for hours), and
/// resident memory per stream is what limits how many clients fit (measured: 1.1 KiB
/// more per stream at N = 10,000). On the stack it costs nothing as long as the frames
/// around it keep the thread within two pages (`client.rs`, tests/stack_budget.rs).
/// 1 KiB holds a typical head, or a dozen small pipelined publishes.
const READ_CHUNK_BYTES: usize = 1024;
/// How far past its deadline a read may wait, so that the socket's timeout need not be
/// set again before every read (see [`Connection::read_before`]).
const TIMEOUT_SLACK: Duration = Duration::from_millis(50);

/// Why no request could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The client closed the connection, or stayed silent until the deadline,
    /// without starting a request: nothing to answer.
    Closed,
    /// The bytes are not an acceptable request; answer with this error and close.
    Http(HttpError),
    /// The socket failed (reset, for example).
    Io(io::Error),
}

impl From<HttpError> for ReadError {
    fn from(error: HttpError) -> ReadError {
        ReadError::Http(error)
    }
}

/// One client connection on the reading side: the socket plus bytes received but not
/// yet used (a pipelined next request, or the start of a body).
pub struct Connection {
    /// Shared (not cloned: no second descriptor) with the client watch once the
    /// connection becomes a stream.
    socket: Arc<TcpStream>,
    received: Vec<u8>,
    /// Body bytes announced by the last request and not read yet. Until they are read,
    /// the connection cannot carry another request.
    unread_body: u64,
    /// The read timeout the socket has now (`None`: none set yet).
    read_timeout: Option<Duration>,
}

impl Connection {
    /// Wraps an accepted socket.
    pub fn new(socket: TcpStream) -> Connection {
        Connection {
            socket: Arc::new(socket),
            received: Vec::new(),
            unread_body: 0,
            read_timeout: None,
        }
    }

    /// The socket, for writing responses.
    pub fn socket(&self) -> &Arc<TcpStream> {
        &self.socket
    }

    /// Whether the last request's body was read, so another request may follow.
    pub fn is_in_sync(&self) -> bool {
        self.unread_body == 0
    }

    /// Whether bytes of a next request have been received already (pipelined).
    pub fn has_next_request_bytes(&self) -> bool {
        !self.received.is_empty()
    }

    /// Waits, between two requests on a kept-alive connection, until the next request
    /// starts to arrive: `true` then; `false` if the client closed the connection or
    /// sent nothing before `deadline` (then there is nothing to answer, RFC 9112
    /// section 9.3 lets either side close an idle connection).
    pub fn await_next_request(&mut self, deadline: Instant) -> Result<bool, ReadError> {
        if self.has_next_request_bytes() {
            return Ok(true);
        }
        Ok(matches!(self.read_before(deadline)?, Some(read) if read > 0))
    }

    /// Gives back the memory of the request buffer. Called once, before a stream
    /// starts: a stream holds its connection for hours, and it reads nothing more.
    pub fn release_buffer(&mut self) {
        self.received = Vec::new();
    }

    /// Reads the next request head, which must be complete before `deadline`.
    pub fn read_request(
        &mut self,
        config: &Config,
        deadline: Instant,
    ) -> Result<Request, ReadError> {
        let mut scanner = HeadScanner::default();
        loop {
            if let Some(head_length) = scanner.scan(&self.received, config)? {
                let request = parse_head(&self.received[..head_length])?;
                self.received.drain(..head_length);
                self.unread_body = request.content_length.unwrap_or(0);
                return Ok(request);
            }
            match self.read_before(deadline)? {
                Some(0) if self.received.is_empty() => return Err(ReadError::Closed),
                Some(0) => {
                    return Err(HttpError::BadRequest("request head ended early".into()).into());
                }
                Some(_) => {}
                None if self.received.is_empty() => return Err(ReadError::Closed),
                None => return Err(HttpError::RequestTimeout.into()),
            }
        }
    }

    /// Reads the body announced by the last request: exactly `Content-Length` bytes.
    pub fn read_body(&mut self, deadline: Instant) -> Result<Vec<u8>, HttpError> {
        let length = usize::try_from(self.unread_body)
            .map_err(|_| HttpError::BadRequest("Content-Length too large".into()))?;
        while self.received.len() < length {
            match self.read_before(deadline) {
                Ok(Some(0)) | Err(_) => {
                    return Err(HttpError::BadRequest("body ended early".into()));
                }
                Ok(Some(_)) => {}
                Ok(None) => return Err(HttpError::RequestTimeout),
            }
        }
        self.unread_body = 0;
        Ok(self.received.drain(..length).collect())
    }

    /// One `read` that waits no longer than the time left until `deadline` (give or
    /// take [`TIMEOUT_SLACK`]). Returns `Some(bytes read)`, or `None` once the deadline
    /// has passed.
    ///
    /// The socket's timeout is set again only when the time left has become shorter
    /// than it: a publisher on a keep-alive connection sends request after request,
    /// each with a fresh deadline, and a `setsockopt` before every read would be one
    /// more system call per message.
    fn read_before(&mut self, deadline: Instant) -> Result<Option<usize>, ReadError> {
        let mut chunk = [0u8; READ_CHUNK_BYTES];
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let left = deadline - now;
            if self
                .read_timeout
                .is_none_or(|set| set > left + TIMEOUT_SLACK)
            {
                self.socket
                    .set_read_timeout(Some(left))
                    .map_err(ReadError::Io)?;
                self.read_timeout = Some(left);
            }
            match (&*self.socket).read(&mut chunk) {
                Ok(n) => {
                    self.received.extend_from_slice(&chunk[..n]);
                    return Ok(Some(n));
                }
                // The timeout fired (Linux reports WouldBlock): loop to re-check the deadline.
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(error) => return Err(ReadError::Io(error)),
            }
        }
    }
}
