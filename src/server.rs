//! The accept loop: take each new connection and hand it to its own thread.
//!
//! ```text
//! main thread
//! ───────────
//! accept() ──► claim a request slot ──► spawn the client's thread (client.rs)
//!      ▲            │ none free
//!      │            └───────────────► the waiting room (admission.rs)
//!      └──── next connection
//! ```
//!
//! The accept loop does nothing slow: a burst of connections beyond the listen
//! backlog (128) would otherwise wait about a second for a SYN retry. Everything
//! that reads or waits happens on the client's thread, or in the waiting room.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use log::{debug, info, warn};

use crate::admission::WaitingRoom;
use crate::client;
use crate::config::Config;
use crate::futex_table;
use crate::mercure;
use crate::redis::tail;
use crate::shared::{RequestSlot, Shared};

/// How long the accept loop pauses when the process is out of file descriptors.
/// Without a pause it would spin: the pending connection stays queued, and every
/// `accept()` would fail again at once.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How often shutdown checks whether the last stream has ended.
const SHUTDOWN_POLL: Duration = Duration::from_millis(5);

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
        futex_table::make_room_for(config.max_clients);
        let shared = Shared::new(config);
        if shared.log.is_some() {
            // Without its tail, a server with --redis would deliver nothing: a thread
            // that cannot start is an error here, not a warning.
            let tail = Arc::clone(&shared);
            thread::Builder::new()
                .name("redis tail".into())
                .spawn(move || {
                    let log = tail.log.as_ref().expect("checked above");
                    let mercure = |entries| mercure::log::take_entries(&tail.mercure, entries);
                    tail::run(
                        &tail.hub,
                        log,
                        &tail.shutdown,
                        tail.config.history,
                        &mercure,
                    );
                })?;
        }
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
        let watch = Arc::clone(&self.shared);
        let watching = thread::Builder::new()
            .name("client watch".into())
            .spawn(move || {
                watch.watch.run(|| watch.shutdown.is_triggered());
            });
        if let Err(error) = watching {
            warn!("cannot start the client watch: {error}; departed clients are noticed at writes");
        }
        let waiting_room = match WaitingRoom::open(Arc::clone(&self.shared), client::spawn) {
            Ok(room) => Some(room),
            Err(error) => {
                // Still served: at capacity, connections are then simply closed.
                warn!("cannot start the waiting room: {error}");
                None
            }
        };
        let mut last_exhaustion_warning: Option<Instant> = None;
        loop {
            let accepted = self.listener.accept();
            if self.shared.shutdown.is_triggered() {
                break;
            }
            match accepted {
                Ok((socket, peer)) => self.dispatch(socket, peer, waiting_room.as_ref()),
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

    /// Hands a new connection to its own thread, or to the waiting room when every
    /// request slot is taken. (Whether it may stream is decided once its request is
    /// read: `admission::admit_stream`.)
    fn dispatch(&self, socket: TcpStream, peer: SocketAddr, waiting_room: Option<&WaitingRoom>) {
        match RequestSlot::claim(&self.shared) {
            Some(slot) => client::spawn(socket, peer, slot),
            None => match waiting_room {
                Some(room) => room.enter(socket, peer),
                None => warn!("{peer} dropped: the server is full"),
            },
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
    /// Stops accepting and ends every stream: the demo streams wake from the shutdown
    /// signal, subscribers from the closed hub.
    pub fn shutdown(&self) {
        info!(
            "shutting down: {} streams open",
            self.shared.stats.streams_open()
        );
        self.shared.shutdown.trigger();
        self.shared.hub.close();
        self.shared.mercure.close();
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
