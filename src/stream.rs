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
//! How a thread learns its client has gone: a write fails. After the client closes,
//! the next write gets `EPIPE` or `ECONNRESET`; a client that stops reading lets the
//! socket's send buffer fill up, and the write times out after `--write-timeout-s`.
//! Either way the error travels up with `?` to the one place that logs it. An idle
//! stream would never write and so never notice, which is one reason for heartbeats.

use std::io::{self, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::response::{self, Framing, LAST_CHUNK};
use crate::shutdown::ShutdownSignal;
use crate::sse::{self, Event};
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
        response::write_stream_head(socket, framing, Some(&sse::encode_retry(config.retry)))?;
        Ok(EventStream {
            socket,
            framing,
            heartbeat_interval: config.heartbeat_interval,
            last_write: Instant::now(),
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
        self.write_pieces(&[&sse::encode_comment(HEARTBEAT_TEXT)], 0)
    }

    /// How long until a heartbeat is due if nothing else is written.
    pub fn time_until_heartbeat(&self) -> Duration {
        (self.last_write + self.heartbeat_interval).saturating_duration_since(Instant::now())
    }

    /// Waits until `until`, sending heartbeats if the wait is longer than the
    /// heartbeat interval, and returns at once if the server shuts down.
    pub fn pause_until(&mut self, until: Instant, shutdown: &ShutdownSignal) -> io::Result<Pause> {
        loop {
            let now = Instant::now();
            if now >= until {
                return Ok(Pause::Elapsed);
            }
            let heartbeat_due = self.last_write + self.heartbeat_interval;
            if now >= heartbeat_due {
                self.send_heartbeat()?;
                continue;
            }
            if shutdown.wait_timeout(until.min(heartbeat_due) - now) {
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
