//! What happens to a connection that arrives when every slot is taken.
//!
//! # Wait a moment, then refuse kindly
//!
//! A full server is often full of clients that have already left: after a network
//! blip or a proxy restart, thousands of clients reconnect while their old streams
//! are still ending (the client watch sees each departure at once, but ten thousand
//! threads take a moment to wake and finish). So a connection that finds no free slot
//! is not refused at once. It goes to the *waiting room*. If a slot frees up within
//! `--admission-wait-ms`, the connection is served as if nothing happened.
//!
//! If none does, it is refused, in a way its client will act on:
//!
//! - An `EventSource` (its request says `Accept: text/event-stream`) gets
//!   `200 text/event-stream` with a `retry:` field and no events, and the stream ends.
//!   A browser treats the end of a 200 stream as a dropped connection and reconnects
//!   by itself after `retry` milliseconds. A `503` would be worse than useless: the
//!   WHATWG spec has an EventSource *fail for good* on any status but 200, so the page
//!   would stay disconnected until reloaded.
//! - Everything else gets `503 Service Unavailable` with `Retry-After`.
//!
//! Both delays are drawn from a range (`jitter.rs`), so that clients refused together
//! do not come back together.
//!
//! # One thread for all of them
//!
//! A flood of connections must not cost a thread each, nor slow the accept loop. The
//! accept loop only hands the socket over a bounded channel; one thread keeps every
//! waiting socket in non-blocking mode and visits them all every few milliseconds:
//! is there a slot now? has the head arrived? is the time up? Past
//! [`MAX_WAITING`] sockets, new arrivals are refused at once with a plain `503`.

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread;
use std::time::{Duration, Instant};

use log::{debug, warn};

use crate::client;
use crate::http::error::HttpError;
use crate::http::head::{HeadScanner, parse_head};
use crate::http::response::{self, Persistence, Response};
use crate::shared::{ClientSlot, Shared};
use crate::sse::event::EVENT_STREAM;
use crate::sse::stream;

/// Connections that may wait for a slot at once.
pub const MAX_WAITING: usize = 1024;
/// How often the waiting room looks at its sockets.
const VISIT_INTERVAL: Duration = Duration::from_millis(5);
/// How long a refused connection is drained before it is closed (see
/// `response::linger_close` for why).
const LINGER_TIME: Duration = Duration::from_millis(500);

/// The accept loop's side of the waiting room.
pub struct WaitingRoom {
    arrivals: SyncSender<(TcpStream, SocketAddr)>,
}

impl WaitingRoom {
    /// Starts the waiting room's thread.
    pub fn open(shared: Arc<Shared>) -> io::Result<WaitingRoom> {
        let (arrivals, receiver) = mpsc::sync_channel(MAX_WAITING);
        thread::Builder::new()
            .name("waiting room".into())
            .spawn(move || run(&shared, &receiver))?;
        Ok(WaitingRoom { arrivals })
    }

    /// Hands over a connection that found no free slot. Never blocks: if the room is
    /// full, the connection is refused at once.
    pub fn enter(&self, socket: TcpStream, peer: SocketAddr) {
        match self.arrivals.try_send((socket, peer)) {
            Ok(()) => {}
            Err(
                TrySendError::Full((socket, peer)) | TrySendError::Disconnected((socket, peer)),
            ) => {
                warn!("{peer} refused: the server is full and so is its waiting room");
                let busy = HttpError::ServiceUnavailable("the server is full".into());
                let _ = response::write_response(
                    &socket,
                    &busy.to_response(),
                    Persistence::Close,
                    false,
                );
            }
        }
    }
}

/// A connection waiting for a slot.
struct Waiting {
    socket: TcpStream,
    peer: SocketAddr,
    arrived: Instant,
    /// What the client has sent so far: handed on with the socket, or read to decide
    /// how to refuse it.
    received: Vec<u8>,
}

/// The waiting room's loop: runs until shutdown.
fn run(shared: &Arc<Shared>, arrivals: &Receiver<(TcpStream, SocketAddr)>) {
    let mut waiting: Vec<Waiting> = Vec::new();
    let mut closing: Vec<(TcpStream, Instant)> = Vec::new();
    while !shared.shutdown.is_triggered() {
        // With nobody waiting, sleep until someone arrives (or, now and then, to see
        // whether the server is shutting down).
        let timeout = if waiting.is_empty() && closing.is_empty() {
            Duration::from_millis(250)
        } else {
            VISIT_INTERVAL
        };
        match arrivals.recv_timeout(timeout) {
            Ok(arrival) => wait(arrival, &mut waiting),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        while let Ok(arrival) = arrivals.try_recv() {
            wait(arrival, &mut waiting);
        }
        waiting.retain_mut(|guest| visit(shared, guest, &mut closing));
        closing.retain_mut(|(socket, since)| !drained(socket, *since));
    }
}

/// Puts an arrival in the waiting room. Its first visit comes at once: a slot may
/// have freed since the accept loop looked.
fn wait((socket, peer): (TcpStream, SocketAddr), waiting: &mut Vec<Waiting>) {
    if let Err(error) = socket.set_nonblocking(true) {
        debug!("{peer} dropped while waiting: {error}");
        return;
    }
    waiting.push(Waiting {
        socket,
        peer,
        arrived: Instant::now(),
        received: Vec::new(),
    });
}

/// One visit to a waiting connection. Returns whether it still waits.
fn visit(
    shared: &Arc<Shared>,
    guest: &mut Waiting,
    closing: &mut Vec<(TcpStream, Instant)>,
) -> bool {
    if let Some(slot) = ClientSlot::claim(shared) {
        let socket = guest.socket.try_clone();
        match socket.and_then(|socket| socket.set_nonblocking(false).map(|()| socket)) {
            Ok(socket) => {
                debug!(
                    "{} admitted after waiting {:?}",
                    guest.peer,
                    guest.arrived.elapsed()
                );
                client::spawn(
                    socket,
                    guest.peer,
                    slot,
                    std::mem::take(&mut guest.received),
                );
            }
            Err(error) => debug!("{} dropped while waiting: {error}", guest.peer),
        }
        return false;
    }
    // Keep reading the head, to know how to refuse it if it comes to that.
    let mut chunk = [0u8; 1024];
    match (&guest.socket).read(&mut chunk) {
        Ok(0) => return false,
        Ok(n) if guest.received.len() + n <= shared.config.max_head_bytes => {
            guest.received.extend_from_slice(&chunk[..n]);
        }
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
        Err(_) => return false,
    }
    if guest.arrived.elapsed() < shared.config.admission_wait {
        return true;
    }
    let refusal = refusal_for(&guest.received, shared);
    warn!(
        "{} refused: the server is full ({} clients); answered {}",
        guest.peer, shared.config.max_clients, refusal.status
    );
    if response::write_response(&guest.socket, &refusal, Persistence::Close, false).is_ok() {
        let _ = guest.socket.shutdown(Shutdown::Write);
        if let Ok(socket) = guest.socket.try_clone() {
            closing.push((socket, Instant::now()));
        }
    }
    false
}

/// The refusal a client will act on: a reconnect hint for an EventSource, a `503`
/// with `Retry-After` for anything else (see the module docs).
pub fn refusal_for(received: &[u8], shared: &Shared) -> Response {
    let mut scanner = HeadScanner::default();
    let request = match scanner.scan(received, &shared.config) {
        Ok(Some(length)) => parse_head(&received[..length]).ok(),
        _ => None,
    };
    let wants_event_stream = request.is_some_and(|request| {
        request.method == "GET"
            && request
                .header("accept")
                .is_some_and(|accept| accept.contains(EVENT_STREAM))
    });
    if !wants_event_stream {
        return HttpError::ServiceUnavailable("the server is full, retry later".into())
            .to_response();
    }
    stream::reconnect_later(shared.config.retry, "the server is full; retrying later")
}

/// Reads and discards what a refused client still sends; `true` once it is done.
fn drained(mut socket: &TcpStream, since: Instant) -> bool {
    let mut scratch = [0u8; 1024];
    loop {
        match socket.read(&mut scratch) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                return since.elapsed() >= LINGER_TIME;
            }
            Err(_) => return true,
        }
    }
}
