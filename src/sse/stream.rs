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
//! means it reset. A subscription's socket is watched by one thread for all of them
//! (`watch.rs`), which the kernel tells when a client closes or resets (epoll,
//! `hangups.rs`), and which then wakes that stream's thread to read its socket and
//! end; the demo streams (`feeds.rs`), awake every interval anyway, read their own
//! every `--client-check-ms` ([`EventStream::keep_alive`]).
//!
//! **The kernel gives up.** A client that vanishes without a word (a phone out of
//! signal) makes no write fail and nothing to read: its bytes wait, unacknowledged, in
//! the send buffer. After `--vanish-timeout-s` the kernel aborts the connection
//! (`vanish.rs`); the next write or read fails with `ETIMEDOUT`, and the client watch
//! hears of it as of a reset.
//!
//! **Non-blocking, patiently.** From its first byte, a stream's socket is in
//! non-blocking mode, so that a read of it never waits. A write that finds the
//! client's buffers full gets `WouldBlock`; the stream then waits in the kernel for
//! the client to read, until `--write-timeout-s` has passed ([`write_patiently`]).
//!
//! Either way the error travels up with `?` to the one place that logs it.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::http::response::{self, Framing, LAST_CHUNK, Response, Status};
use crate::jitter;
use crate::shutdown::ShutdownSignal;
use crate::sse::event::{self, EVENT_STREAM, Event};
use crate::stats::Stats;
use crate::vanish;

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
    write_timeout: Duration,
    /// How often this thread looks whether its client has left; `None` when the client
    /// watch does it (`watch.rs`).
    client_check_interval: Option<Duration>,
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
        cors: &[(&str, String)],
        config: &Config,
        stats: &'a Stats,
    ) -> io::Result<EventStream<'a>> {
        socket.set_nonblocking(true)?;
        let retry = event::encode_retry(config.retry);
        // Larger than a thread's allocator cache takes, like the head itself (see
        // `STREAM_HEAD_CAPACITY`).
        let mut head = Vec::with_capacity(response::STREAM_HEAD_CAPACITY);
        response::write_stream_head(&mut head, EVENT_STREAM, framing, cors, Some(&retry))?;
        write_patiently(socket, &head, config.write_timeout)?;
        let now = Instant::now();
        Ok(EventStream {
            socket,
            framing,
            heartbeat_interval: config.heartbeat_interval,
            last_write: now,
            write_timeout: config.write_timeout,
            client_check_interval: Some(config.client_check),
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

    /// Sends a `retry:` field on its own: how long the client should wait before it
    /// reconnects, once this stream has ended (WHATWG HTML 9.2.6, "retry").
    pub fn send_retry(&mut self, delay: Duration) -> io::Result<()> {
        self.write_pieces(&[&event::encode_retry(delay)], 0)
    }

    /// Sends the `: keep-alive` comment. Browsers ignore it; proxies see traffic.
    pub fn send_heartbeat(&mut self) -> io::Result<()> {
        self.write_pieces(&[&event::encode_comment(HEARTBEAT_TEXT)], 0)
    }

    /// Leaves noticing a departed client to the client watch: this thread then wakes
    /// only for heartbeats (and when the watch raises its alarm).
    pub fn leave_client_checks_to_the_watch(&mut self) {
        self.client_check_interval = None;
    }

    /// How long an idle stream may sleep before [`keep_alive`](Self::keep_alive) has
    /// work to do: a heartbeat, or a look at the client.
    pub fn time_until_keep_alive(&self) -> Duration {
        let mut due = self.last_write + self.heartbeat_interval;
        if self.client_check_interval.is_some() {
            due = due.min(self.next_client_check);
        }
        due.saturating_duration_since(Instant::now())
    }

    /// How long a stream that must end at `ends_at` (its token's expiry) may sleep:
    /// until its next upkeep or its end, whichever comes first; `None` once it is over.
    pub fn time_until_upkeep_or(&self, ends_at: Option<Instant>) -> Option<Duration> {
        let wait = self.time_until_keep_alive();
        match ends_at {
            None => Some(wait),
            Some(ends_at) => {
                let left = ends_at.checked_duration_since(Instant::now())?;
                (!left.is_zero()).then(|| wait.min(left))
            }
        }
    }

    /// The upkeep of an idle stream: checks that the client is still there (when due,
    /// or at once with `check_now`) and sends a heartbeat when one is due. Returns an
    /// error, as a failed write would, if the client has left.
    pub fn keep_alive(&mut self, check_now: bool) -> io::Result<()> {
        let now = Instant::now();
        let check_due = self.client_check_interval.is_some() && now >= self.next_client_check;
        if check_now || check_due {
            self.next_client_check = now + self.client_check_interval.unwrap_or_default();
            if let Some(departure) = client_has_left(self.socket) {
                return Err(departure);
            }
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
            Framing::Chunked => write_patiently(self.socket, LAST_CHUNK, self.write_timeout),
            Framing::UntilClose => Ok(()),
        }
    }

    fn write_pieces(&mut self, pieces: &[&[u8]], event_count: u64) -> io::Result<()> {
        let mut framed = Vec::new();
        response::frame_into(&mut framed, self.framing, pieces);
        write_patiently(self.socket, &framed, self.write_timeout)?;
        self.last_write = Instant::now();
        self.events_sent += event_count;
        self.stats.count_events(event_count);
        Ok(())
    }
}

/// The refusal an EventSource acts on: `200 text/event-stream` with a `retry:` drawn
/// from `retry_base` to three times it (at least 100 ms), a comment that says `why`,
/// and no events. The stream ends at once and the browser reconnects after `retry:`;
/// a `503` would make it give up for good (WHATWG HTML 9.2.3, see `admission.rs`).
/// The delay is spread so that clients refused together do not return together.
///
/// ```text
/// retry: 5817
/// : the server is full (12018 streams); retrying later
///
/// ```
pub fn reconnect_later(retry_base: Duration, why: &str) -> Response {
    let base = retry_base.as_millis() as u64;
    let retry = Duration::from_millis(jitter::spread(base.max(100), base.max(100) * 3));
    let mut body = event::encode_retry(retry);
    body.pop();
    body.extend_from_slice(&event::encode_comment(why));
    Response::new(
        Status::Ok,
        EVENT_STREAM,
        String::from_utf8(body).expect("the encoder writes UTF-8"),
    )
    .with_header("Cache-Control", "no-cache")
}

/// Whether the client of a stream has left, and how (the error its stream ends
/// with), by one read of its non-blocking socket. An SSE client sends nothing after
/// its request: end-of-file means it closed the connection, an error that it reset
/// it (or vanished, `vanish.rs`), and `WouldBlock` that it is simply listening. Stray
/// bytes (a client may send them) are read and ignored.
pub fn client_has_left(mut socket: &TcpStream) -> Option<io::Error> {
    let mut scratch = [0u8; 256];
    match socket.read(&mut scratch) {
        Ok(0) => Some(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "the client closed the connection",
        )),
        Ok(_) => None,
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ) =>
        {
            None
        }
        Err(error) => Some(vanish::name_vanished(error)),
    }
}

/// Writes all of `bytes` to a non-blocking socket. When the client's buffers are full
/// (`WouldBlock`), waits in the kernel for room, for at most `timeout` in all: a client
/// that reads nothing for that long is dropped with `TimedOut`. Healthy clients never
/// make it wait at all.
///
/// Why wait in the kernel, and not sleep and try again: a thread that retries wakes
/// every few milliseconds whether or not its client read anything. A thousand clients
/// that stopped reading made twenty thousand such wake-ups a second, and each one went
/// ahead of the healthy subscribers' threads in the scheduler's queue: their lag grew
/// from 5 ms to a second (`make bench`, "healthy beside 1,000 stalled readers"). For
/// the wait, the socket turns blocking with a send timeout (`SO_SNDTIMEO`) of the time
/// left: the kernel wakes the thread when the client has read (or left), and not
/// before. Only this thread reads or writes the socket (the client watch only asks
/// epoll about it), so nothing else sees the mode change.
pub fn write_patiently(
    mut socket: &TcpStream,
    mut bytes: &[u8],
    timeout: Duration,
) -> io::Result<()> {
    let deadline = Instant::now() + timeout;
    while !bytes.is_empty() {
        match socket.write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => bytes = &bytes[written..],
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                let waited = write_waiting(socket, bytes, deadline);
                // Back to non-blocking, whatever the wait gave: the stream's reads of
                // its socket must never wait.
                let restored = socket.set_nonblocking(true);
                return waited.and(restored);
            }
            Err(error) => return Err(vanish::name_vanished(error)),
        }
    }
    Ok(())
}

/// The slow part of [`write_patiently`]: blocking writes, each allowed the time left
/// until `deadline`.
fn write_waiting(mut socket: &TcpStream, mut bytes: &[u8], deadline: Instant) -> io::Result<()> {
    socket.set_nonblocking(false)?;
    while !bytes.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            ));
        }
        // A zero timeout would mean "wait for ever"; `left` is never zero here.
        socket.set_write_timeout(Some(left))?;
        match socket.write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => bytes = &bytes[written..],
            // The send timeout passed with nothing written: the loop above ends it.
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(error) => return Err(vanish::name_vanished(error)),
        }
    }
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// This thread's voluntary context switches so far: each time it went to sleep.
    fn times_this_thread_slept() -> u64 {
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        let line = status
            .lines()
            .find(|line| line.starts_with("voluntary_ctxt_switches:"))
            .unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    // Issue 23, item 6: a write its client did not read used to sleep and try again,
    // 1 to 50 ms apart: about twenty wake-ups a second for each stalled client, which
    // put a thousand of them ahead of the healthy subscribers in the scheduler's queue.
    #[test]
    fn a_write_its_client_does_not_read_sleeps_in_the_kernel_until_its_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let _client_that_never_reads = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server_side, _) = listener.accept().unwrap();
        server_side.set_nonblocking(true).unwrap();
        // More than loopback's buffers take, however large they grow.
        let bytes = vec![b'x'; 64 << 20];
        let slept_before = times_this_thread_slept();
        let error = write_patiently(&server_side, &bytes, Duration::from_millis(500))
            .expect_err("nobody reads");
        let slept = times_this_thread_slept() - slept_before;
        assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error}");
        // Retrying every 1..50 ms slept 14 times in 500 ms; the kernel wakes it once.
        assert!(slept <= 3, "the writer slept {slept} times");
        // And the socket is non-blocking again: a read finds nothing and says so.
        let mut byte = [0u8; 1];
        let read = (&server_side).read(&mut byte).expect_err("nothing to read");
        assert_eq!(read.kind(), io::ErrorKind::WouldBlock);
    }
}
