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
use crate::shared::{IdlePlace, Listener, NoSlot, RequestSlot, Shared};
use crate::sse::feeds::{self, StreamEnd};
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
fn serve(socket: TcpStream, peer: SocketAddr, slot: RequestSlot) {
    let shared_state = Arc::clone(slot.shared());
    let shared: &Shared = &shared_state;
    let listener = slot.listener;
    // Held while requests are read and answered; a stream trades it for a stream slot.
    let mut request_slot = Some(slot);
    let started = Instant::now();
    // Small writes (one event) must leave at once, not wait for Nagle's algorithm to
    // batch them. The write timeout is how we notice a client that stopped reading;
    // the vanish timeout, one that is gone without a word (`vanish.rs`).
    let setup = socket
        .set_nodelay(true)
        .and_then(|()| socket.set_write_timeout(Some(shared.config.write_timeout)))
        .and_then(|()| vanish::limit_unacknowledged(&socket, shared.config.vanish_timeout));
    if let Err(error) = setup {
        debug!("{peer} could not configure socket: {error}");
        return;
    }
    let mut connection = Connection::new(socket);
    let mut target = String::from("-");
    // Who the client is, for the log: the peer, or the client behind a trusted proxy
    // (then each request says who it is for).
    let mut client = ClientView::direct(peer);
    let behind_proxy = shared.config.trusted_proxies.contains(&peer.ip());
    let mut events_sent = 0;

    let ending = loop {
        let deadline = Instant::now() + shared.config.head_timeout;
        let request = match connection.read_request(&shared.config, deadline) {
            Ok(request) => request,
            Err(ReadError::Closed) => break "client closed the connection".to_string(),
            Err(ReadError::Io(error)) => break describe_io_error(&error),
            Err(ReadError::Http(error)) => {
                warn!("{peer} rejected: {error}");
                let _ = response::close_after_error(connection.socket(), &error.to_response());
                break format!("rejected with {}", error.status());
            }
        };
        target = format!(
            "{} {}",
            request.method,
            log_safe(&request.redacted_target())
        );
        if behind_proxy {
            client = ClientView::of(&request, peer, &shared.config.trusted_proxies);
        }
        let who = &client.label;
        let head_only = request.method == "HEAD";
        let cors = cors::headers_for(&request, &shared.config.allowed_origins);
        let routed = routes::route(&request, &client, listener, &mut connection, shared);
        let (response, may_stay) = match routed {
            Ok(Reply::Stream(feed, _stream_slot)) => {
                debug!("{who} {target} stream opened: {feed:?}");
                // The stream slot, held until this arm ends, now counts this
                // connection; its request slot is free for someone else.
                drop(request_slot.take());
                connection.release_buffer();
                let framing = Framing::for_version(request.version);
                let socket = connection.socket();
                let report = feeds::serve(feed, socket, framing, head_only, &cors, shared, who);
                events_sent = report.events_sent;
                break match report.end {
                    Ok(StreamEnd::Finished) => "stream finished".to_string(),
                    Ok(StreamEnd::ShuttingDown) => "server shutting down".to_string(),
                    Ok(StreamEnd::TokenExpired) => "its token expired".to_string(),
                    Ok(StreamEnd::LogUnavailable) => {
                        "no replay from the Redis log now; the browser retries".to_string()
                    }
                    Err(error) => describe_io_error(&error),
                };
            }
            Ok(Reply::Response(response)) => (response.with_headers(cors), true),
            Err(error) if error.status() == Status::ServiceUnavailable => {
                // Told to come back later (to an EventSource, kindly: see admission.rs),
                // and it comes back on a new connection.
                let refusal = admission::refusal(Some(&request), &error, shared);
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
        // Kept alive, the connection waits for its next request in an idle place,
        // not a request slot; with none free (or its client at its share of them), it
        // is closed after this answer. A pipelined request already here needs none.
        let pipelined = connection.has_next_request_bytes();
        let idle_place = match pipelined {
            true => None,
            false => IdlePlace::claim(shared, peer.ip()),
        };
        let may_stay = may_stay && (pipelined || idle_place.is_some());
        match respond(
            &connection,
            &request,
            &response,
            head_only,
            may_stay,
            shared,
        ) {
            Ok(Persistence::KeepAlive) if pipelined => continue,
            Ok(Persistence::KeepAlive) => {}
            Ok(Persistence::Close) => break format!("answered {}", response.status),
            Err(error) => break describe_io_error(&error),
        }
        // Idle: the request slot goes back while the client is silent (a thousand idle
        // connections must not hold every slot), and is claimed again when the next
        // request starts to arrive.
        drop(request_slot.take());
        match connection.await_next_request(Instant::now() + shared.config.head_timeout) {
            Ok(true) => {}
            Ok(false) => break "idle keep-alive connection closed".to_string(),
            Err(ReadError::Io(error)) => break describe_io_error(&error),
            Err(ReadError::Http(_) | ReadError::Closed) => {
                break "idle keep-alive connection closed".to_string();
            }
        }
        drop(idle_place);
        match reclaim_slot(&connection, peer, listener, &shared_state) {
            Ok(slot) => request_slot = Some(slot),
            Err(ending) => break ending,
        }
    };
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
        client.label,
        started.elapsed().as_secs_f64()
    );
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
