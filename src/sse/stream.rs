//! A live event stream on one socket: the thread that owns the connection sends
//! events, heartbeats and the end of the stream through this type.
//!
//! On HTTP/1.1 every write is one chunk holding whole events, for example:
//!
//! ```text
//! 24\r\n                            chunk size: 36 bytes, in hex
//! id: 1\n                           the event's 36 bytes...
//! data: This is event number 1\n
//! \n                                ...ending with the blank line
//! \r\n                              end of the chunk
//! ```
//!
//! Each event (or batch of events) goes out in a single `write_all` of fully framed
//! bytes, and there is no `BufWriter`: nothing can sit in a buffer waiting for a
//! forgotten `flush()`. Nagle's algorithm is off on the socket (`set_nodelay`), so the
//! kernel sends each write at once.
//!
//! # How a thread learns its client has gone
//!
//! **A write fails.** A client that stops reading lets the socket's send buffer fill
//! up, and the write times out after `--write-timeout-s`. A client that reset the
//! connection makes the next write fail with `ECONNRESET`. But a client that closed
//! normally (a FIN) does not make the *first* write fail: the kernel accepts it, the
//! client's kernel answers it with a reset, and only the write after that fails with
//! `EPIPE`. Left to writes alone, an idle stream with a 15 s heartbeat would hold a
//! departed client's slot for up to 30 s.
//!
//! **A read says so.** An SSE client sends nothing after its request, so anything the
//! socket has to read is news: end-of-file (`Ok(0)`) means the client closed, an error
//! means it reset. So every `--client-check-ms` (1 s by default) an idle stream makes
//! one *non-blocking* read ([`EventStream::keep_alive`]): `WouldBlock` means all is
//! well, and the thread goes back to sleep. That costs one wake-up and three system
//! calls per idle stream per second (about 3 % of one core for 10,000 idle streams,
//! see BENCHMARKS.md); a longer interval costs proportionally less and frees slots
//! proportionally later.
//!
//! Either way the error travels up with `?` to the one place that logs it.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::http::response::{self, Framing, LAST_CHUNK};
use crate::shutdown::ShutdownSignal;
use crate::sse::event::{self, EVENT_STREAM, Event};
use crate::stats::Stats;

/// The comment that keeps an idle stream alive.
const HEARTBEAT_TEXT: &str = "keep-alive";

/// How a pause between events ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pause {
    /// The time we waited for has come.
    Elapsed,
    /// Ctrl-C: the stream should end now.
    ShuttingDown,
}

/// An open event stream: the head has been sent, events may follow.
pub struct EventStream<'a> {
    socket: &'a TcpStream,
    framing: Framing,
    heartbeat_interval: Duration,
    /// When we last wrote anything; a heartbeat is due `heartbeat_interval` after it.
    last_write: Instant,
    client_check_interval: Duration,
    /// When to next look whether the client has left.
    next_client_check: Instant,
    events_sent: u64,
    stats: &'a Stats,
}

impl<'a> EventStream<'a> {
    /// Sends the stream's head and its `retry:` line in one write. The browser fires
    /// `open` when the head arrives.
    pub fn start(
        socket: &'a TcpStream,
        framing: Framing,
        config: &Config,
        stats: &'a Stats,
    ) -> io::Result<EventStream<'a>> {
        let retry = event::encode_retry(config.retry);
        response::write_stream_head(socket, EVENT_STREAM, framing, Some(&retry))?;
        let now = Instant::now();
        Ok(EventStream {
            socket,
            framing,
            heartbeat_interval: config.heartbeat_interval,
            last_write: now,
            client_check_interval: config.client_check,
            next_client_check: now + config.client_check,
            events_sent: 0,
            stats,
        })
    }

    /// Sends one event.
    pub fn send(&mut self, event: &Event) -> io::Result<()> {
        self.write_pieces(&[&event.encode()], 1)
    }

    /// Sends events that are already encoded (by the hub), all in one write.
    pub fn send_encoded(&mut self, events: &[&[u8]]) -> io::Result<()> {
        self.write_pieces(events, events.len() as u64)
    }

    /// Sends the `: keep-alive` comment. Browsers ignore it; proxies see traffic.
    pub fn send_heartbeat(&mut self) -> io::Result<()> {
        self.write_pieces(&[&event::encode_comment(HEARTBEAT_TEXT)], 0)
    }

    /// How long an idle stream may sleep before [`keep_alive`](Self::keep_alive) has
    /// work to do: a heartbeat, or a look at the client.
    pub fn time_until_keep_alive(&self) -> Duration {
        let heartbeat_due = self.last_write + self.heartbeat_interval;
        heartbeat_due
            .min(self.next_client_check)
            .saturating_duration_since(Instant::now())
    }

    /// The upkeep of an idle stream: checks that the client is still there (when due,
    /// or at once with `check_now`) and sends a heartbeat when one is due. Returns an
    /// error, as a failed write would, if the client has left.
    pub fn keep_alive(&mut self, check_now: bool) -> io::Result<()> {
        let now = Instant::now();
        if check_now || now >= self.next_client_check {
            self.next_client_check = now + self.client_check_interval;
            check_client(self.socket)?;
        }
        if now >= self.last_write + self.heartbeat_interval {
            self.send_heartbeat()?;
        }
        Ok(())
    }

    /// Waits until `until`, keeping the stream alive meanwhile (heartbeats, client
    /// checks), and returns at once if the server shuts down.
    pub fn pause_until(&mut self, until: Instant, shutdown: &ShutdownSignal) -> io::Result<Pause> {
        loop {
            self.keep_alive(false)?;
            let now = Instant::now();
            if now >= until {
                return Ok(Pause::Elapsed);
            }
            let wait = (until - now).min(self.time_until_keep_alive());
            if shutdown.wait_timeout(wait) {
                return Ok(Pause::ShuttingDown);
            }
        }
    }

    /// Events sent so far (heartbeats and `retry:` not counted).
    pub fn events_sent(&self) -> u64 {
        self.events_sent
    }

    /// Ends the body: the last chunk on HTTP/1.1, nothing on HTTP/1.0 (closing the
    /// connection ends that body). The connection is closed when the socket is dropped.
    pub fn finish(self) -> io::Result<()> {
        match self.framing {
            Framing::Chunked => {
                let mut socket = self.socket;
                socket.write_all(LAST_CHUNK)
            }
            Framing::UntilClose => Ok(()),
        }
    }

    fn write_pieces(&mut self, pieces: &[&[u8]], event_count: u64) -> io::Result<()> {
        let mut framed = Vec::new();
        response::frame_into(&mut framed, self.framing, pieces);
        let mut socket = self.socket;
        socket.write_all(&framed)?;
        self.last_write = Instant::now();
        self.events_sent += event_count;
        self.stats.count_events(event_count);
        Ok(())
    }
}

/// Whether the client of an idle stream is still there, by one read that does not
/// wait. An SSE client sends nothing after its request: end-of-file means it closed
/// the connection, an error that it reset it, and `WouldBlock` that it is simply
/// listening. Stray bytes (a client may send them) are read and ignored.
fn check_client(mut socket: &TcpStream) -> io::Result<()> {
    let mut scratch = [0u8; 256];
    socket.set_nonblocking(true)?;
    let read = socket.read(&mut scratch);
    // Back to blocking before anything else: writes rely on it, with their timeout.
    socket.set_nonblocking(false)?;
    match read {
        Ok(0) => Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "the client closed the connection",
        )),
        Ok(_) => Ok(()),
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ) =>
        {
            Ok(())
        }
        Err(error) => Err(error),
    }
}
