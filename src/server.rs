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
//!
//! With `--admin-bind`, a second, smaller loop accepts on the admin address: its
//! connections are served the same way, and `routes.rs` serves them the admin routes
//! only. A full server drops an admin connection rather than making it wait.
//!
//! # Stopping: a drain window, then the end
//!
//! ```text
//! SIGTERM ──► draining (--drain-window-s): still accepting; /readyz 503; new streams
//!             refused kindly; publishes and open streams go on
//!         ──► shutdown: stop accepting, end every stream with a spread retry:, exit
//! ```
//!
//! A load balancer learns that an instance is going away from its readiness probe,
//! and a probe is a new connection: if the accept loop stopped at the signal, the
//! probe would be refused outright, and the balancer would keep routing here until
//! its health check failed several times. During the window it gets a clean 503 and
//! moves new clients elsewhere; by the time the streams end, their reconnects go
//! elsewhere too. A second signal (Ctrl-C twice) skips what is left of the window.

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
use crate::shared::{Listener, RequestSlot, Shared};

/// How long the accept loop pauses when the process is out of file descriptors.
/// Without a pause it would spin: the pending connection stays queued, and every
/// `accept()` would fail again at once.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How often shutdown checks whether the last stream has ended.
const SHUTDOWN_POLL: Duration = Duration::from_millis(5);

/// A listening server, not yet accepting.
pub struct Server {
    listener: TcpListener,
    /// The `--admin-bind` listener.
    admin: Option<TcpListener>,
    shared: Arc<Shared>,
}

/// Stops a running server from any thread (the Ctrl-C handler, or a test).
#[derive(Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    admin_addr: Option<SocketAddr>,
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
        let admin = match config.admin_bind {
            Some(address) => Some(TcpListener::bind(address).map_err(|error| {
                io::Error::new(error.kind(), format!("--admin-bind {address}: {error}"))
            })?),
            None => None,
        };
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
        Ok(Server {
            listener,
            admin,
            shared,
        })
    }

    /// The address actually bound (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has a local address")
    }

    /// The address the admin routes are served on, with `--admin-bind`.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        let admin = self.admin.as_ref()?;
        Some(
            admin
                .local_addr()
                .expect("a bound listener has a local address"),
        )
    }

    /// A handle that can stop this server once it runs.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            shared: Arc::clone(&self.shared),
            local_addr: self.local_addr(),
            admin_addr: self.admin_addr(),
        }
    }

    /// Accepts connections until shutdown, then waits (at most the grace period) for
    /// open streams to end.
    pub fn run(mut self) -> ShutdownSummary {
        if let Some(admin) = self.admin.take() {
            let shared = Arc::clone(&self.shared);
            let accepting = thread::Builder::new()
                .name("admin accept".into())
                .spawn(move || accept_admin(&admin, &shared));
            if let Err(error) = accepting {
                warn!("cannot start the admin listener's loop: {error}");
            }
        }
        let watch = Arc::clone(&self.shared);
        let watching = thread::Builder::new()
            .name("client watch".into())
            .spawn(move || {
                watch.watch.run(|| watch.shutdown.is_triggered());
            });
        if let Err(error) = watching {
            warn!("cannot start the client watch: {error}; departed clients are noticed at writes");
        }
        let expiry = Arc::clone(&self.shared);
        let expiring = thread::Builder::new()
            .name("history expiry".into())
            .spawn(move || expire_histories(&expiry));
        if let Err(error) = expiring {
            warn!("cannot start the history expiry: {error}; old messages go at the next publish");
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
        // A client at its share waits too: one of its own requests may end meanwhile.
        match RequestSlot::claim(&self.shared, peer.ip()) {
            Ok(slot) => client::spawn(socket, peer, slot),
            Err(_) => match waiting_room {
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

/// The admin listener's loop: each connection gets a request slot and its own
/// thread, like any other (no waiting room: a probe that cannot be served now is
/// better answered by its own timeout than by a queue).
fn accept_admin(listener: &TcpListener, shared: &Arc<Shared>) {
    loop {
        let accepted = listener.accept();
        if shared.shutdown.is_triggered() {
            return;
        }
        match accepted {
            Ok((socket, peer)) => match RequestSlot::claim_on(shared, peer.ip(), Listener::Admin) {
                Ok(slot) => client::spawn(socket, peer, slot),
                Err(_) => warn!("{peer} dropped from the admin listener: the server is full"),
            },
            Err(error) => {
                debug!("admin accept failed: {error}");
                shared.shutdown.wait_timeout(ACCEPT_BACKOFF);
            }
        }
    }
}

/// Drops held messages past `--history-ttl-s` (`pubsub/expiry.rs`) about every
/// second, or every tenth of the time-to-live if that is shorter, until shutdown.
fn expire_histories(shared: &Shared) {
    let interval =
        (shared.config.history_ttl / 10).clamp(Duration::from_millis(10), Duration::from_secs(1));
    while !shared.shutdown.wait_timeout(interval) {
        shared.hub.expire();
    }
}

impl ServerHandle {
    /// What a stop signal does: the first starts the drain window (`--drain-window-s`),
    /// after which [`shutdown`](Self::shutdown) runs by itself; a second, or a window
    /// of 0, shuts down at once.
    pub fn stop(&self) {
        let window = self.shared.config.drain_window;
        if window.is_zero() || !self.shared.shutdown.begin_drain() {
            self.shutdown();
            return;
        }
        info!(
            "draining for {} s: /readyz answers 503 and new streams are refused, then the \
             {} open streams end (a second Ctrl-C ends them now)",
            window.as_secs(),
            self.shared.stats.streams_open()
        );
        let handle = self.clone();
        let timer = thread::Builder::new()
            .name("drain window".into())
            .spawn(move || {
                // Returns early when a second signal already shut the server down.
                if !handle.shared.shutdown.wait_timeout(window) {
                    handle.shutdown();
                }
            });
        if let Err(error) = timer {
            warn!("cannot time the drain window ({error}): shutting down now");
            self.shutdown();
        }
    }

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
        // The accept loops are blocked in accept(); a connection of our own wakes
        // each, and it then sees the signal.
        wake(self.local_addr);
        if let Some(admin) = self.admin_addr {
            wake(admin);
        }
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

/// Connects to a listener so that its blocked `accept()` returns. An unspecified bind
/// address (0.0.0.0) is reachable through loopback.
fn wake(address: SocketAddr) {
    let wake_ip = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let _ = TcpStream::connect_timeout(
        &SocketAddr::new(wake_ip, address.port()),
        Duration::from_secs(1),
    );
}
