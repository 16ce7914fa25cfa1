//! What happens to a connection when the server is full.
//!
//! # Two caps, two waits
//!
//! Streams and requests are counted apart (see `shared.rs`): streams against
//! `--max-clients`, everything else against `--max-requests`. So a server full of
//! streams still takes publishes, answers `/stats`, and serves the demo page.
//!
//! A full server is often full of clients that have already left: after a network
//! blip or a proxy restart, thousands of clients reconnect while their old streams
//! are still ending (the client watch sees each departure at once, but ten thousand
//! threads take a moment to wake and finish). So neither cap refuses at once:
//!
//! - A **stream** that finds every stream slot taken waits on its own thread, for at
//!   most `--admission-wait-ms` ([`admit_stream`]). Only half the request budget may
//!   wait like this at once; past that, a stream is refused without waiting, so that a
//!   reconnect wave never takes the places publishes need.
//! - A **connection** that finds every request slot taken goes to the *waiting room*
//!   ([`WaitingRoom`]), for at most `--admission-wait-ms` too.
//!
//! # Refuse kindly
//!
//! A refused client is told in a way it will act on ([`refusal`]):
//!
//! - An `EventSource` (its request says `Accept: text/event-stream`) gets
//!   `200 text/event-stream` with a `retry:` field and no events, and the stream ends.
//!   A browser treats the end of a 200 stream as a dropped connection and reconnects
//!   by itself after `retry` milliseconds. A `503` would be worse than useless: the
//!   WHATWG spec has an EventSource *fail for good* on any status but 200 (HTML
//!   9.2.3), so the page would stay disconnected until reloaded. This holds for every
//!   `503` a stream could get once its request is read: the stream cap, the topic cap.
//!   (A shared log that is down refuses no stream: a replay it cannot serve ends a
//!   stream that already had its `200`, see `redis/replay.rs`.)
//! - Everything else gets `503 Service Unavailable` with `Retry-After`.
//!
//! Both delays are drawn from a range (`jitter.rs`), so that clients refused together
//! do not come back together. A refusal carries the same CORS headers the stream
//! would have had: a credentialed EventSource on a listed origin would otherwise see a
//! CORS failure, and never the `retry:` the refusal exists to deliver.
//!
//! # The waiting room: one thread for all of them
//!
//! A flood of connections must not cost a thread each, nor slow the accept loop. The
//! accept loop only hands the socket over a bounded channel; one thread keeps every
//! waiting socket in non-blocking mode and visits them all every few milliseconds:
//! is there a slot now? has the client left? is the time up? Past [`MAX_WAITING`]
//! sockets (and as many more on their way in), new arrivals are refused at once, from
//! what of their head has arrived.
//!
//! The waiting room never *reads* a waiting socket: it only peeks (`MSG_PEEK`) at what
//! has arrived, which leaves every byte in the kernel for whoever serves the
//! connection. A request that waited is then read exactly as if it had not: a large
//! publish body, or two pipelined requests, arrive whole and in order.

use std::io::{self, Read};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread;
use std::time::{Duration, Instant};

use log::{debug, warn};

use crate::http::cors;
use crate::http::error::HttpError;
use crate::http::head::{HeadScanner, parse_head};
use crate::http::request::Request;
use crate::http::response::{self, Persistence, Response, Status};
use crate::shared::{NoSlot, RequestSlot, Shared, StreamSlot};
use crate::shares::Place;
use crate::sse::event::EVENT_STREAM;
use crate::sse::stream;
use crate::stats::{Refusal, Share};

/// Connections that may wait for a slot at once, and as many more handed over and not
/// yet taken in (both counted in the OS budgets of `limits.rs`).
pub const MAX_WAITING: usize = crate::limits::WAITING_ROOM_SOCKETS;
/// How often a stream waiting at the cap checks whether the server is shutting down.
const SHUTDOWN_CHECK: Duration = Duration::from_millis(100);
/// How often the waiting room looks at its sockets.
const VISIT_INTERVAL: Duration = Duration::from_millis(5);
/// How long a refused connection is drained before it is closed (see
/// `response::linger_close` for why).
const LINGER_TIME: Duration = Duration::from_millis(500);

/// Waits, when every stream slot is taken, for one to free up: at most
/// `--admission-wait-ms`, and only while fewer than half the request budget waits.
/// The caller holds a request slot meanwhile. A `client` that holds its share of
/// streams already (`shares.rs`) is refused at once. An `Err` is answered with
/// [`refusal`].
pub fn admit_stream(shared: &Shared, client: IpAddr) -> Result<StreamSlot<'_>, HttpError> {
    let Some(share) = shared.shares.claim(client, Place::Stream) else {
        shared.stats.count_share_refusal(Share::PerClient);
        let share = shared.config.streams_per_client();
        return Err(HttpError::ServiceUnavailable(format!(
            "this client address holds its share of streams ({share}, \
             --max-streams-per-client)"
        )));
    };
    if let Some(place) = shared.streams.claim() {
        return Ok(StreamSlot { place, share });
    }
    let full = || {
        let streams = shared.config.max_clients;
        HttpError::ServiceUnavailable(format!("the server is full ({streams} streams)"))
    };
    let Some(_waiting) = shared.stream_waiters.claim() else {
        shared.stats.count_refusal(Refusal::WaitingRoomFull);
        return Err(full());
    };
    // Asleep until a stream ends and gives its slot back (or Ctrl-C, seen within
    // a tenth of a second).
    let deadline = Instant::now() + shared.config.admission_wait;
    let shutting_down = || shared.shutdown.is_draining();
    if let Some(place) = shared
        .streams
        .claim_before(deadline, SHUTDOWN_CHECK, shutting_down)
    {
        return Ok(StreamSlot { place, share });
    }
    let why = if shared.shutdown.is_draining() {
        Refusal::Draining
    } else {
        Refusal::Full
    };
    shared.stats.count_refusal(why);
    Err(full())
}

/// How an admitted connection is served: `client::spawn`, handed in by the server, so
/// that this module does not import `client.rs` (which imports this one).
pub type Serve = fn(TcpStream, SocketAddr, RequestSlot);

/// What a client at its share of request slots is told (`shares.rs`).
pub fn over_client_share(shared: &Shared) -> HttpError {
    let share = shared.config.requests_per_client();
    HttpError::ServiceUnavailable(format!(
        "this client address holds its share of requests ({share}, --max-requests-per-client)"
    ))
}

/// The accept loop's side of the waiting room.
pub struct WaitingRoom {
    arrivals: SyncSender<(TcpStream, SocketAddr)>,
    shared: Arc<Shared>,
}

impl WaitingRoom {
    /// Starts the waiting room's thread; an admitted connection goes to `serve`.
    pub fn open(shared: Arc<Shared>, serve: Serve) -> io::Result<WaitingRoom> {
        // As many again may be on their way in while the room is busy visiting.
        let (arrivals, receiver) = mpsc::sync_channel(MAX_WAITING);
        let room = Arc::clone(&shared);
        thread::Builder::new()
            .name("waiting room".into())
            .spawn(move || run(&room, &receiver, serve))?;
        Ok(WaitingRoom { arrivals, shared })
    }

    /// Hands over a connection that found no free slot. Never blocks: if the room is
    /// full, the connection is refused at once.
    pub fn enter(&self, socket: TcpStream, peer: SocketAddr) {
        match self.arrivals.try_send((socket, peer)) {
            Ok(()) => {}
            Err(
                TrySendError::Full((socket, peer)) | TrySendError::Disconnected((socket, peer)),
            ) => self.turn_away(&socket, peer),
        }
    }

    /// Refuses a connection at once, on the accept loop's thread, so without waiting
    /// for its head: an EventSource whose request has already arrived (a peek at it)
    /// is refused kindly, anything else gets a plain `503`.
    fn turn_away(&self, socket: &TcpStream, peer: SocketAddr) {
        let shared = &self.shared;
        let mut head = vec![0u8; shared.config.max_head_bytes];
        let length = match socket.set_nonblocking(true) {
            Ok(()) => socket.peek(&mut head).unwrap_or(0),
            Err(_) => 0,
        };
        let request = parsed_head(&head[..length], shared);
        if request.as_ref().is_some_and(wants_event_stream) {
            shared.stats.count_refusal(Refusal::WaitingRoomFull);
        }
        let busy = HttpError::ServiceUnavailable("the server is full".into());
        let refused = refusal(request.as_ref(), &busy, shared);
        warn!(
            "{peer} refused: the server is full and so is its waiting room; answered {}",
            refused.status
        );
        // A fresh socket's send buffer is empty: this small answer never blocks.
        let _ = socket.set_nonblocking(false);
        if response::write_response(socket, &refused, Persistence::Close, false).is_ok() {
            // Take in what has arrived of the request, so that closing with it unread
            // does not reset the connection before the client reads the answer.
            let _ = socket.shutdown(Shutdown::Write);
            let _ = socket.set_nonblocking(true);
            drained(socket, Instant::now());
        }
    }
}

/// A connection waiting for a request slot.
struct Waiting {
    socket: TcpStream,
    peer: SocketAddr,
    arrived: Instant,
}

/// The waiting room's loop: runs until shutdown.
fn run(shared: &Arc<Shared>, arrivals: &Receiver<(TcpStream, SocketAddr)>, serve: Serve) {
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
        // A full room takes no one in: arrivals then fill the channel, and the accept
        // loop turns the next ones away (`WaitingRoom::enter`).
        if waiting.len() < MAX_WAITING {
            match arrivals.recv_timeout(timeout) {
                Ok(arrival) => wait(arrival, &mut waiting),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        } else {
            thread::sleep(VISIT_INTERVAL);
        }
        while waiting.len() < MAX_WAITING
            && let Ok(arrival) = arrivals.try_recv()
        {
            wait(arrival, &mut waiting);
        }
        waiting.retain(|guest| visit(shared, guest, serve, &mut closing));
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
    });
}

/// One visit to a waiting connection. Returns whether it still waits.
fn visit(
    shared: &Arc<Shared>,
    guest: &Waiting,
    serve: Serve,
    closing: &mut Vec<(TcpStream, Instant)>,
) -> bool {
    let claimed = RequestSlot::claim(shared, guest.peer.ip());
    if let Ok(slot) = claimed {
        let socket = guest.socket.try_clone();
        match socket.and_then(|socket| socket.set_nonblocking(false).map(|()| socket)) {
            Ok(socket) => {
                debug!(
                    "{} admitted after waiting {:?}",
                    guest.peer,
                    guest.arrived.elapsed()
                );
                serve(socket, guest.peer, slot);
            }
            Err(error) => debug!("{} dropped while waiting: {error}", guest.peer),
        }
        return false;
    }
    // Has the client left? A peek at one byte says, and consumes nothing.
    match guest.socket.peek(&mut [0u8; 1]) {
        Ok(0) => return false,
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
        Err(_) => return false,
    }
    if guest.arrived.elapsed() < shared.config.admission_wait {
        return true;
    }
    // Time is up: peek at the head that has arrived, to refuse it in a way its client
    // acts on. The bytes stay unread; `drained` discards them after the answer.
    let mut head = vec![0u8; shared.config.max_head_bytes];
    let length = guest.socket.peek(&mut head).unwrap_or(0);
    let request = parsed_head(&head[..length], shared);
    let full = match claimed {
        Err(NoSlot::ClientShare) => {
            shared.stats.count_share_refusal(Share::PerClient);
            over_client_share(shared)
        }
        _ => {
            if request.as_ref().is_some_and(wants_event_stream) {
                shared.stats.count_refusal(Refusal::Full);
            }
            let requests = shared.config.max_requests;
            HttpError::ServiceUnavailable(format!(
                "the server is full ({requests} requests), retry later"
            ))
        }
    };
    let refused = refusal(request.as_ref(), &full, shared);
    warn!(
        "{} refused: {}; answered {}",
        guest.peer,
        full.detail(),
        refused.status
    );
    if response::write_response(&guest.socket, &refused, Persistence::Close, false).is_ok() {
        let _ = guest.socket.shutdown(Shutdown::Write);
        if let Ok(socket) = guest.socket.try_clone() {
            closing.push((socket, Instant::now()));
        }
    }
    false
}

/// The request in `received`, if its whole head is there.
fn parsed_head(received: &[u8], shared: &Shared) -> Option<Request> {
    let mut scanner = HeadScanner::default();
    match scanner.scan(received, &shared.config) {
        Ok(Some(length)) => parse_head(&received[..length]).ok(),
        _ => None,
    }
}

/// Whether `request` comes from an `EventSource` (or a client that reads like one).
pub fn wants_event_stream(request: &Request) -> bool {
    request.method == "GET"
        && request
            .header("accept")
            .is_some_and(|accept| accept.contains(EVENT_STREAM))
}

/// The answer to a request refused with `error`, one its client will act on: for a
/// `503` to an EventSource, a reconnect hint; for anything else, the error's own
/// response (see the module docs). It carries the CORS headers `request` would get.
pub fn refusal(request: Option<&Request>, error: &HttpError, shared: &Shared) -> Response {
    let cors = request.map_or_else(Vec::new, |request| {
        cors::headers_for(request, &shared.config.allowed_origins)
    });
    let unavailable = error.status() == Status::ServiceUnavailable;
    if !unavailable || !request.is_some_and(wants_event_stream) {
        return error.to_response().with_headers(cors);
    }
    let why = format!("{}; retrying later", error.detail());
    stream::reconnect_later(shared.config.retry, &why).with_headers(cors)
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
