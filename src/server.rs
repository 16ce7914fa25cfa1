//! The accept loop and the life of one connection.
//!
//! ```text
//! main thread                          one thread per client ("client 127.0.0.1:40312")
//! ───────────                          ─────────────────────────────────────────────────
//! accept() ──► claim a client slot ──► read_request ──► route ──► write a response
//!      ▲        (503 if none left)          ▲                       │ (keep-alive: loop)
//!      └──── next connection                └───────────────────────┘
//!                                                              or ──► run a stream until
//!                                                                     it ends, the client
//!                                                                     leaves, or Ctrl-C
//! ```
//!
//! Every connection gets its own named OS thread, and there is no pool: an event
//! stream holds its thread for as long as the client listens, so a fixed pool of N
//! threads would leave stream N+1 waiting forever. The threads are cheap because each
//! one's stack is small (`Config::thread_stack_bytes`) and mostly untouched.
//!
//! The accept loop does nothing slow: a burst of connections beyond the listen
//! backlog (128) would otherwise wait about a second for a SYN retry. Everything
//! that reads or waits happens on the client's thread.
//!
//! Shared state is one `Arc<Shared>`, handed to each thread inside its [`ClientSlot`].
//! A panic in one client's thread unwinds that thread only (a spawned thread's panic
//! never reaches the accept loop, which does not join it): its socket closes, the
//! slot's and the stream counter's `Drop` give their places back, and `sync::lock`
//! keeps the shared mutexes usable for everyone else (see `sync.rs`).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread;
use std::time::{Duration, Instant};

use log::{debug, error, info, warn};

use crate::config::Config;
use crate::feeds::{self, StreamEnd};
use crate::hub::Hub;
use crate::request::{Connection, ReadError, Request};
use crate::response::{self, Framing, HttpError, Persistence, Response};
use crate::routes::{self, Reply};
use crate::shutdown::ShutdownSignal;
use crate::stats::Stats;

/// How long the accept loop pauses when the process is out of file descriptors.
/// Without a pause it would spin: the pending connection stays queued, and every
/// `accept()` would fail again at once.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Refused connections waiting for the lingering close (see [`reject_busy`]).
const REJECT_QUEUE: usize = 256;
/// How often shutdown checks whether the last stream has ended.
const SHUTDOWN_POLL: Duration = Duration::from_millis(5);

/// Everything the client threads share.
pub struct Shared {
    pub config: Config,
    pub hub: Hub,
    pub stats: Stats,
    pub shutdown: ShutdownSignal,
    /// Connections being served now; never above `config.max_clients`.
    connections_open: AtomicUsize,
}

/// A listening server, not yet accepting.
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
}

/// Stops a running server from any thread (the Ctrl-C handler, or a test).
#[derive(Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
}

/// What [`Server::run`] reports after shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownSummary {
    /// Streams that had not ended when the grace period ran out.
    pub streams_still_open: u64,
    pub waited: Duration,
}

impl Server {
    /// Binds the listening socket. `config.port` 0 asks the OS for a free port.
    pub fn bind(config: Config) -> io::Result<Server> {
        let listener = TcpListener::bind((config.bind, config.port))?;
        let shared = Arc::new(Shared {
            hub: Hub::new(config.history),
            stats: Stats::default(),
            shutdown: ShutdownSignal::new(),
            connections_open: AtomicUsize::new(0),
            config,
        });
        Ok(Server { listener, shared })
    }

    /// The address actually bound (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has a local address")
    }

    /// A handle that can stop this server once it runs.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            shared: Arc::clone(&self.shared),
            local_addr: self.local_addr(),
        }
    }

    /// Accepts connections until shutdown, then waits (at most the grace period) for
    /// open streams to end.
    pub fn run(self) -> ShutdownSummary {
        let rejected = start_lingering_thread();
        let mut last_exhaustion_warning: Option<Instant> = None;
        loop {
            let accepted = self.listener.accept();
            if self.shared.shutdown.is_triggered() {
                break;
            }
            match accepted {
                Ok((socket, peer)) => self.dispatch(socket, peer, &rejected),
                // EMFILE / ENFILE: out of file descriptors. Warn at most once a second.
                Err(error) if matches!(error.raw_os_error(), Some(23 | 24)) => {
                    if last_exhaustion_warning
                        .is_none_or(|at| at.elapsed() >= Duration::from_secs(1))
                    {
                        warn!(
                            "accept failed, out of file descriptors: {error} (see --max-clients)"
                        );
                        last_exhaustion_warning = Some(Instant::now());
                    }
                    self.shared.shutdown.wait_timeout(ACCEPT_BACKOFF);
                }
                // The client reset before we accepted, and similar: nothing to do.
                Err(error) => debug!("accept failed: {error}"),
            }
        }
        self.wait_for_streams()
    }

    /// Hands a new connection to its own thread, or refuses it when every slot is taken.
    fn dispatch(&self, socket: TcpStream, peer: SocketAddr, rejected: &SyncSender<TcpStream>) {
        let Some(slot) = ClientSlot::claim(&self.shared) else {
            warn!("{peer} rejected: {}", HttpError::ServiceUnavailable);
            reject_busy(socket, rejected);
            return;
        };
        let spawned = thread::Builder::new()
            .name(format!("client {peer}"))
            .stack_size(self.shared.config.thread_stack_bytes)
            .spawn(move || handle_connection(socket, peer, slot));
        if let Err(error) = spawned {
            // The closure, with the socket and the slot, was dropped: the client sees
            // the connection close and the slot is free again.
            error!("{peer} dropped: cannot start a thread: {error}");
        }
    }

    fn wait_for_streams(&self) -> ShutdownSummary {
        let started = Instant::now();
        let deadline = started + self.shared.config.shutdown_grace;
        while self.shared.stats.streams_open() > 0 && Instant::now() < deadline {
            thread::sleep(SHUTDOWN_POLL);
        }
        ShutdownSummary {
            streams_still_open: self.shared.stats.streams_open(),
            waited: started.elapsed(),
        }
    }
}

impl ServerHandle {
    /// Stops accepting and ends every stream: counter and clock streams wake from the
    /// shutdown signal, subscribers from the closed hub.
    pub fn shutdown(&self) {
        info!(
            "shutting down: {} streams open",
            self.shared.stats.streams_open()
        );
        self.shared.shutdown.trigger();
        self.shared.hub.close();
        // The accept loop is blocked in accept(); a connection of our own wakes it, and
        // it then sees the signal. An unspecified bind address (0.0.0.0) is reachable
        // through loopback.
        let wake_ip = match self.local_addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let _ = TcpStream::connect_timeout(
            &SocketAddr::new(wake_ip, self.local_addr.port()),
            Duration::from_secs(1),
        );
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

/// One client's claim on a connection slot. It carries the shared state into the
/// client's thread and gives the slot back when dropped, on every exit path
/// (including a panic).
pub struct ClientSlot {
    shared: Arc<Shared>,
}

impl ClientSlot {
    /// Takes a slot if fewer than `max_clients` connections are open.
    fn claim(shared: &Arc<Shared>) -> Option<ClientSlot> {
        let max = shared.config.max_clients;
        shared
            .connections_open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < max).then_some(open + 1)
            })
            .ok()?;
        Some(ClientSlot {
            shared: Arc::clone(shared),
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.shared.connections_open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serves one connection from its first byte to its close, then logs one line.
fn handle_connection(socket: TcpStream, peer: SocketAddr, slot: ClientSlot) {
    let shared = &*slot.shared;
    let started = Instant::now();
    // Small writes (one event) must leave at once, not wait for Nagle's algorithm to
    // batch them. The write timeout is how we notice a client that stopped reading.
    let setup = socket
        .set_nodelay(true)
        .and_then(|()| socket.set_write_timeout(Some(shared.config.write_timeout)));
    if let Err(error) = setup {
        debug!("{peer} could not configure socket: {error}");
        return;
    }
    let mut connection = Connection::new(socket);
    let mut target = String::from("-");
    let mut events_sent = 0;

    let ending = loop {
        // What this connection published is announced to subscribers before it waits
        // for its client again, not after every message: a burst of pipelined
        // publishes then costs one wake-up of every subscriber (hub.rs, "Waking").
        if !connection.has_buffered_request() {
            shared.hub.wake_subscribers();
        }
        let deadline = Instant::now() + shared.config.head_timeout;
        let request = match connection.read_request(&shared.config, deadline) {
            Ok(request) => request,
            Err(ReadError::Closed) => break "client closed the connection".to_string(),
            Err(ReadError::Io(error)) => break describe_io_error(&error),
            Err(ReadError::Http(error)) => {
                warn!("{peer} rejected: {error}");
                let _ = response::close_after_error(connection.socket(), &error);
                break format!("rejected with {}", error.status());
            }
        };
        target = format!("{} {}", request.method, request.path);
        let head_only = request.method == "HEAD";
        let response = match routes::route(&request, &mut connection, shared) {
            Ok(Reply::Stream(feed)) => {
                shared.hub.wake_subscribers();
                debug!("{peer} {target} stream opened");
                connection.release_buffer();
                let framing = Framing::for_version(request.version);
                let report =
                    feeds::serve(feed, connection.socket(), framing, head_only, shared, peer);
                events_sent = report.events_sent;
                break match report.end {
                    Ok(StreamEnd::Finished) => "stream finished".to_string(),
                    Ok(StreamEnd::ShuttingDown) => "server shutting down".to_string(),
                    Err(error) => describe_io_error(&error),
                };
            }
            Ok(Reply::Response(response)) => response,
            Err(error) => {
                warn!("{peer} {target} rejected: {error}");
                error.to_response()
            }
        };
        match respond(&connection, &request, &response, head_only, shared) {
            Ok(Persistence::KeepAlive) => continue,
            Ok(Persistence::Close) => break format!("answered {}", response.status),
            Err(error) => break describe_io_error(&error),
        }
    };
    // The last request may have been a publish; it must not wait for a wake-up.
    shared.hub.wake_subscribers();
    info!(
        "{peer} {target} closed after {:.1}s, {events_sent} events: {ending}",
        started.elapsed().as_secs_f64()
    );
}

/// Writes an ordinary response, keeping the connection open only if the client wants
/// that, the request's body was read (otherwise its bytes would be taken for the next
/// request), and the server is not shutting down.
fn respond(
    connection: &Connection,
    request: &Request,
    response: &Response,
    head_only: bool,
    shared: &Shared,
) -> io::Result<Persistence> {
    let persistence =
        if request.wants_keep_alive() && connection.is_in_sync() && !shared.shutdown.is_triggered()
        {
            Persistence::KeepAlive
        } else {
            Persistence::Close
        };
    response::write_response(connection.socket(), response, persistence, head_only)?;
    if persistence == Persistence::Close && !connection.is_in_sync() {
        response::linger_close(connection.socket());
    }
    Ok(persistence)
}

/// Answers 503 at once from the accept loop (a ~200-byte write to a fresh socket does
/// not block), then lets the lingering thread drain and close it, so the client gets
/// the answer rather than a reset. If that queue is full, the socket is just closed.
fn reject_busy(socket: TcpStream, rejected: &SyncSender<TcpStream>) {
    let busy = HttpError::ServiceUnavailable.to_response();
    if response::write_response(&socket, &busy, Persistence::Close, false).is_ok() {
        let _ = rejected.try_send(socket);
    }
}

/// Starts the one thread that closes refused connections gently.
fn start_lingering_thread() -> SyncSender<TcpStream> {
    let (sender, receiver): (SyncSender<TcpStream>, Receiver<TcpStream>) =
        mpsc::sync_channel(REJECT_QUEUE);
    let spawned = thread::Builder::new()
        .name("lingering close".into())
        .spawn(move || {
            for socket in receiver {
                response::linger_close(&socket);
            }
        });
    if let Err(error) = spawned {
        // Refused sockets will then close at once (the receiver is gone); still served.
        warn!("cannot start the lingering-close thread: {error}");
    }
    sender
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
        _ => format!("I/O error: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_client_thread_gives_its_slot_back() {
        let config = Config {
            port: 0,
            max_clients: 1,
            ..Config::default()
        };
        let server = Server::bind(config).expect("bind 127.0.0.1:0");
        let slot = ClientSlot::claim(&server.shared).expect("one slot is free");
        assert!(
            ClientSlot::claim(&server.shared).is_none(),
            "the cap is one client"
        );
        // Unwinding runs the slot's Drop, exactly as a normal return does.
        let client = thread::spawn(move || {
            let _slot = slot;
            panic!("a bug in a handler");
        });
        assert!(client.join().is_err());
        assert!(
            ClientSlot::claim(&server.shared).is_some(),
            "the slot was not given back"
        );
    }
}
