//! The life of one connection, on its own thread: read a request, route it, answer
//! or stream, and log one line when it ends.
//!
//! ```text
//! spawn ──► read_request ──► route ──► write a response ──┐ (keep-alive: next request)
//!               ▲                                          │
//!               └── claim a request slot ◄── wait, idle ◄──┘
//!                          or ──► run a stream until it ends, the client leaves, or Ctrl-C
//! ```
//!
//! Between two requests a kept-alive connection holds an idle place instead of its
//! request slot (`shared.rs`): a client that keeps many connections open and quiet
//! does not keep the slots that others' publishes need. When its next request starts
//! to arrive, it claims a slot again, within its client's share (`shares.rs`).
//!
//! Every connection gets its own named OS thread, and there is no pool: an event
//! stream holds its thread for as long as the client listens, so a fixed pool of N
//! threads would leave stream N+1 waiting forever. The threads are cheap because each
//! one's stack is small (`Config::thread_stack_bytes`) and mostly untouched.
//!
//! A panic in one client's thread unwinds that thread only (a spawned thread's panic
//! never reaches the accept loop, which does not join it): its socket closes, the
//! slot's and the stream counter's `Drop` give their places back, and `sync::lock`
//! keeps the shared mutexes usable for everyone else (see `sync.rs`).

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use log::{debug, error, warn};

use crate::admission;
use crate::http::connection::{Connection, ReadError};
use crate::http::cors;
use crate::http::error::HttpError;
use crate::http::forwarded::ClientView;
use crate::http::log_text::log_safe;
use crate::http::request::Request;
use crate::http::response::{self, Framing, Persistence, Response, Status};
use crate::routes::{self, Reply};
use crate::shared::{IdlePlace, Listener, NoSlot, RequestSlot, Shared, StreamSlot};
use crate::sse::feeds::{self, Feed, StreamEnd};
use crate::stats::Share;
use crate::vanish;

/// Starts the thread that serves `socket`, holding a request slot.
pub fn spawn(socket: TcpStream, peer: SocketAddr, slot: RequestSlot) {
    let stack_bytes = slot.shared().config.thread_stack_bytes;
    let spawned = thread::Builder::new()
        .name(format!("client {peer}"))
        .stack_size(stack_bytes)
        .spawn(move || serve(socket, peer, slot));
    if let Err(error) = spawned {
        // The closure, with the socket and the slot, was dropped: the client sees
        // the connection close and the slot is free again.
        error!("{peer} dropped: cannot start a thread: {error}");
    }
}

/// Serves one connection from its first byte to its close, then logs one line.
///
/// This frame stays on the thread's stack for as long as a stream runs, under the
/// stream's own frames, so it is kept small by construction: reading, routing and
/// answering a request happen in [`answer_request`], and the closing log line in
/// [`log_close`], each in a frame of its own that is gone before the stream starts.
/// A subscriber's thread then touches two stack pages rather than three: 4 KiB less
/// resident per stream (tests/stack_budget.rs measures it).
fn serve(socket: TcpStream, peer: SocketAddr, slot: RequestSlot) {
    let shared_state = Arc::clone(slot.shared());
    let shared: &Shared = &shared_state;
    let listener = slot.listener;
    let started = Instant::now();
    if !configure(&socket, peer, shared) {
        return;
    }
    let mut visit = Visit::new(socket, peer, shared);
    // Held while requests are read and answered; a stream trades it for a stream slot.
    let mut request_slot = Some(slot);
    // Where `answer_request` puts the stream a request opened. Boxed, so that it takes
    // no room in this frame, which is under the request's routing as well as under the
    // stream; and never moved out of its box before the stream ends (`run_stream`
    // borrows it): a block freed before the stream starts would stay in this thread's
    // allocator cache while it sleeps.
    let mut opened = None;
    let (events_sent, ending) = loop {
        match answer_request(&mut visit, listener, shared, &mut opened) {
            Next::AnotherRequest => continue,
            Next::Idle(idle_place) => {
                // Idle: the request slot goes back while the client is silent (a
                // thousand idle connections must not hold every slot), and is claimed
                // again when the next request starts to arrive.
                drop(request_slot.take());
                match wait_idle(&mut visit, idle_place, listener, &shared_state) {
                    Ok(slot) => request_slot = Some(slot),
                    Err(ending) => break (0, ending),
                }
            }
            Next::Close(ending) => break (0, ending),
            Next::Stream => {
                // The stream slot (in `opened`) now counts this connection; its request
                // slot is free for someone else.
                drop(request_slot.take());
                break run_stream(&mut opened, &mut visit, shared);
            }
        }
    };
    log_close(&visit, started, events_sent, &ending);
}

/// Sets the socket's options; `false` if it cannot be used.
// Not inlined into `serve`, whose frame stays small (see there).
#[inline(never)]
fn configure(socket: &TcpStream, peer: SocketAddr, shared: &Shared) -> bool {
    // Small writes (one event) must leave at once, not wait for Nagle's algorithm to
    // batch them. The write timeout is how we notice a client that stopped reading;
    // the vanish timeout, one that is gone without a word (`vanish.rs`).
    let setup = socket
        .set_nodelay(true)
        .and_then(|()| socket.set_write_timeout(Some(shared.config.write_timeout)))
        .and_then(|()| vanish::limit_unacknowledged(socket, shared.config.vanish_timeout));
    if let Err(error) = setup {
        debug!("{peer} could not configure socket: {error}");
        return false;
    }
    true
}

/// One connection's state between requests.
struct Visit {
    connection: Connection,
    peer: SocketAddr,
    /// The last request's method and target (secrets redacted), for the log.
    target: String,
    /// Who the client is, for the log: the peer, or the client behind a trusted proxy
    /// (then each request says who it is for).
    client: ClientView,
    behind_proxy: bool,
}

impl Visit {
    /// The state of a connection whose socket is configured.
    // Not inlined into `serve`: formatting the peer's address takes a frame of its own.
    #[inline(never)]
    fn new(socket: TcpStream, peer: SocketAddr, shared: &Shared) -> Visit {
        Visit {
            connection: Connection::new(socket),
            peer,
            target: String::from("-"),
            client: ClientView::direct(peer),
            behind_proxy: shared.config.trusted_proxies.contains(&peer.ip()),
        }
    }
}

/// What one request led to.
enum Next<'s> {
    /// It was answered, and the next request is already here (pipelined).
    AnotherRequest,
    /// It was answered, and the connection waits for another in this idle place.
    Idle(IdlePlace<'s>),
    /// The connection closes, for this reason (for the log).
    Close(String),
    /// An event stream, to run until it ends; it is in `answer_request`'s `opened`
    /// (returned here, it would take its size twice in `serve`'s frame: the returned
    /// value, and the value moved out of it).
    Stream,
}

/// A stream that routing opened, and what it needs from the request that asked for it
/// (the request itself is gone by the time the stream runs).
struct OpenedStream<'s> {
    feed: Feed<'s>,
    /// Held until the stream ends.
    _slot: StreamSlot<'s>,
    framing: Framing,
    head_only: bool,
    cors: cors::Headers,
}

/// Reads one request and answers it, or hands back the stream it opened.
// Not inlined into `serve`: the request, the response and everything routing touches
// live in this frame, which must be gone before a stream starts (see `serve`).
#[inline(never)]
fn answer_request<'s>(
    visit: &mut Visit,
    listener: Listener,
    shared: &'s Shared,
    opened: &mut Option<Box<OpenedStream<'s>>>,
) -> Next<'s> {
    let deadline = Instant::now() + shared.config.head_timeout;
    let request = match visit.connection.read_request(&shared.config, deadline) {
        Ok(request) => request,
        Err(error) => return close_unread(error, visit),
    };
    note_request(visit, &request, shared);
    // Only the request and the routing's result are in this frame while routing runs
    // (a token's check goes deepest); what the answer takes is in `reply`'s.
    let routed = routes::route(
        &request,
        &visit.client,
        listener,
        &mut visit.connection,
        shared,
    );
    reply(routed, &request, visit, shared, opened)
}

/// Why a connection closes when no request could be read from it (answering a bad
/// one with its error first).
#[cold]
#[inline(never)]
fn close_unread<'s>(error: ReadError, visit: &Visit) -> Next<'s> {
    match error {
        ReadError::Closed => Next::Close("client closed the connection".to_string()),
        ReadError::Io(error) => Next::Close(describe_io_error(&error)),
        ReadError::Http(error) => {
            warn!("{} rejected: {error}", visit.peer);
            let _ = response::close_after_error(visit.connection.socket(), &error.to_response());
            Next::Close(format!("rejected with {}", error.status()))
        }
    }
}

/// Notes who asked for what, for the log.
#[inline(never)]
fn note_request(visit: &mut Visit, request: &Request, shared: &Shared) {
    visit.target = format!(
        "{} {}",
        request.method,
        log_safe(&request.redacted_target())
    );
    if visit.behind_proxy {
        visit.client = ClientView::of(request, visit.peer, &shared.config.trusted_proxies);
    }
}

/// Answers `request` as routing decided: the stream it opened, or a response.
// Not inlined into `answer_request` (see there).
#[inline(never)]
fn reply<'s>(
    routed: Result<Reply<'s>, HttpError>,
    request: &Request,
    visit: &Visit,
    shared: &'s Shared,
    opened: &mut Option<Box<OpenedStream<'s>>>,
) -> Next<'s> {
    let target = &visit.target;
    let who = &visit.client.label;
    let head_only = request.method == "HEAD";
    let cors = cors::headers_for(request, &shared.config.allowed_origins);
    let (response, may_stay) = match routed {
        Ok(Reply::Stream(feed, stream_slot)) => {
            debug!("{who} {target} stream opened: {feed:?}");
            *opened = Some(Box::new(OpenedStream {
                feed,
                _slot: stream_slot,
                framing: Framing::for_version(request.version),
                head_only,
                cors,
            }));
            return Next::Stream;
        }
        Ok(Reply::Response(response)) => (response.with_headers(cors), true),
        Err(error) if error.status() == Status::ServiceUnavailable => {
            // Told to come back later (to an EventSource, kindly: see admission.rs),
            // and it comes back on a new connection.
            let refusal = admission::refusal(Some(request), &error, shared);
            warn!(
                "{who} {target} refused: {error}; answered {}",
                refusal.status
            );
            (refusal, false)
        }
        Err(error) => {
            warn!("{who} {target} rejected: {error}");
            (error.to_response().with_headers(cors), true)
        }
    };
    // Kept alive, the connection waits for its next request in an idle place, not a
    // request slot; with none free (or its client at its share of them), it is
    // closed after this answer. A pipelined request already here needs none.
    let connection = &visit.connection;
    let pipelined = connection.has_next_request_bytes();
    let idle_place = match pipelined {
        true => None,
        false => IdlePlace::claim(shared, visit.peer.ip()),
    };
    let may_stay = may_stay && (pipelined || idle_place.is_some());
    match respond(connection, request, &response, head_only, may_stay, shared) {
        Ok(Persistence::KeepAlive) => match idle_place {
            Some(idle_place) => Next::Idle(idle_place),
            None => Next::AnotherRequest,
        },
        Ok(Persistence::Close) => Next::Close(format!("answered {}", response.status)),
        Err(error) => Next::Close(describe_io_error(&error)),
    }
}

/// Runs the stream a request opened until it ends: the events sent, and why it ended.
// Not inlined into `serve`, whose frame stays small (see there).
#[inline(never)]
fn run_stream(
    opened: &mut Option<Box<OpenedStream>>,
    visit: &mut Visit,
    shared: &Shared,
) -> (u64, String) {
    // Borrowed where it lies, in `serve`'s frame: a copy here would sit under the
    // whole stream, beside the original.
    let Some(stream) = opened.as_mut() else {
        unreachable!("answer_request said Next::Stream, with the stream in `opened`");
    };
    visit.connection.release_buffer();
    let report = feeds::serve(
        &mut stream.feed,
        visit.connection.socket(),
        stream.framing,
        stream.head_only,
        &stream.cors,
        shared,
        &visit.client.label,
    );
    // The stream and its slot end here, before the closing log line is written (in
    // place: `take()` would copy the stream into this frame first).
    *opened = None;
    (report.events_sent, describe_stream_end(report.end))
}

/// Logs the one line that says how a connection went.
// Not inlined into `serve`: formatting takes a large frame, needed once, at the end.
#[cold]
#[inline(never)]
fn log_close(visit: &Visit, started: Instant, events_sent: u64, ending: &str) {
    let target = &visit.target;
    // Probes and scrapes come every few seconds: at info they would drown the log.
    let path = target.split([' ', '?']).nth(1).unwrap_or_default();
    let level = if routes::QUIET_PATHS.contains(&path) {
        log::Level::Debug
    } else {
        log::Level::Info
    };
    log::log!(
        level,
        "{} {target} closed after {:.1}s, {events_sent} events: {ending}",
        visit.client.label,
        started.elapsed().as_secs_f64()
    );
}

/// Waits, holding `idle_place` and no request slot, for the connection's next request
/// to start arriving, then claims a request slot for it; or says why the connection
/// closes.
#[inline(never)]
fn wait_idle(
    visit: &mut Visit,
    idle_place: IdlePlace,
    listener: Listener,
    shared: &Arc<Shared>,
) -> Result<RequestSlot, String> {
    let deadline = Instant::now() + shared.config.head_timeout;
    match visit.connection.await_next_request(deadline) {
        Ok(true) => {}
        Ok(false) => return Err("idle keep-alive connection closed".to_string()),
        Err(ReadError::Io(error)) => return Err(describe_io_error(&error)),
        Err(ReadError::Http(_) | ReadError::Closed) => {
            return Err("idle keep-alive connection closed".to_string());
        }
    }
    drop(idle_place);
    reclaim_slot(&visit.connection, visit.peer, listener, shared)
}

/// A request slot for the next request of a kept-alive connection, waiting at most
/// `--admission-wait-ms` for one as a new connection would (`admission.rs`). Without
/// one, the client is told `503` and the connection closes; returns why.
fn reclaim_slot(
    connection: &Connection,
    peer: SocketAddr,
    listener: Listener,
    shared: &Arc<Shared>,
) -> Result<RequestSlot, String> {
    let deadline = Instant::now() + shared.config.admission_wait;
    let shutting_down = || shared.shutdown.is_triggered();
    let claimed = RequestSlot::claim_before(shared, peer.ip(), listener, deadline, shutting_down);
    let why = match claimed {
        Ok(slot) => return Ok(slot),
        Err(NoSlot::ClientShare) => {
            shared.stats.count_share_refusal(Share::PerClient);
            admission::over_client_share(shared)
        }
        Err(NoSlot::Full) => HttpError::ServiceUnavailable(format!(
            "the server is full ({} requests), retry later",
            shared.config.max_requests
        )),
    };
    warn!(
        "{peer} refused its next request: {}; answered 503",
        why.detail()
    );
    let _ = response::close_after_error(connection.socket(), &why.to_response());
    Err(format!("next request refused: {}", why.detail()))
}

/// Why a stream ended, for the log.
// Not inlined into `serve`: formatting an I/O error takes a frame of its own.
#[inline(never)]
fn describe_stream_end(end: io::Result<StreamEnd>) -> String {
    match end {
        Ok(StreamEnd::Finished) => "stream finished".to_string(),
        Ok(StreamEnd::ShuttingDown) => "server shutting down".to_string(),
        Ok(StreamEnd::TokenExpired) => "its token expired".to_string(),
        Ok(StreamEnd::LogUnavailable) => {
            "no replay from the Redis log now; the browser retries".to_string()
        }
        Err(error) => describe_io_error(&error),
    }
}

/// Writes an ordinary response, keeping the connection open only if it `may_stay`,
/// the client wants that, the request's body was read (otherwise its bytes would be
/// taken for the next request), and the server is not shutting down.
fn respond(
    connection: &Connection,
    request: &Request,
    response: &Response,
    head_only: bool,
    may_stay: bool,
    shared: &Shared,
) -> io::Result<Persistence> {
    let persistence = if may_stay
        && request.wants_keep_alive()
        && connection.is_in_sync()
        && !shared.shutdown.is_triggered()
    {
        Persistence::KeepAlive
    } else {
        Persistence::Close
    };
    response::write_response(&**connection.socket(), response, persistence, head_only)?;
    if persistence == Persistence::Close && !connection.is_in_sync() {
        response::linger_close(connection.socket());
    }
    Ok(persistence)
}

/// Why a connection ended, from the I/O error that ended it.
fn describe_io_error(error: &io::Error) -> String {
    match error.kind() {
        // A write that could not finish within --write-timeout-s: the client's
        // receive window stayed full, so it is not reading.
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            "write timed out, client stopped reading".into()
        }
        io::ErrorKind::BrokenPipe
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted => "client left".into(),
        // The kernel gave up on a client that acknowledged nothing (`vanish.rs`).
        io::ErrorKind::HostUnreachable => "client vanished, nothing acknowledged".into(),
        _ => format!("I/O error: {error}"),
    }
}
