//! The state every client thread shares, and the slot each one holds.
//!
//! There is exactly one [`Shared`], created when the server binds and handed to each
//! client thread inside its [`RequestSlot`] (an `Arc`, so it lives as long as the last
//! thread that uses it). Nothing else is global, no hidden singletons; the one
//! `static` in the crate is `jitter.rs`'s count of draws, which only spreads retries.
//! It lives in its own module so that the server, the routes and the handlers can all
//! use it without importing each other.
//!
//! # Two budgets
//!
//! A connection holds one of two kinds of place, each counted in a [`Budget`]:
//!
//! - a **request slot** (`--max-requests`) while its requests are read and answered:
//!   a publish, `/stats`, the demo page, or the first request of a stream;
//! - a **stream slot** (`--max-clients`) once it streams, traded for its request slot.
//!
//! Streams hold their place for hours, so they alone count against the stream cap. If
//! requests shared it, a server full of streams could not take one publish, and the
//! clients that are connected would receive nothing. Requests get a budget of their
//! own, also bounded: a flood of short requests cannot take every thread either.
//!
//! A keep-alive connection *between* requests holds neither: it holds an **idle
//! place** (as many as request slots), and claims a request slot again when its next
//! request starts to arrive (`client.rs`). Otherwise a thousand idle connections
//! would hold every request slot while sending nothing. Each of the three is also
//! counted per client address (`shares.rs`), so that no one client holds them all.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::config::{Config, DEFAULT_MERCURE_RESOURCE};
use crate::mercure::hub::{HubLimits as MercureLimits, MercureHub};
use crate::mercure::namespace::HubUrl;
use crate::pubsub::hub::{Hub, HubLimits, IdSource, SubjectLimits};
use crate::redis::log::{LogSettings, RedisLog};
use crate::shares::{ClientShares, Place, ShareClaim, Taken};
use crate::shutdown::ShutdownSignal;
use crate::sse::watch::ClientWatch;
use crate::stats::Stats;
use crate::sync::{lock, wait_timeout};

/// Everything the client threads share.
pub struct Shared {
    pub config: Config,
    pub hub: Hub,
    /// The Mercure hub (`mercure/`), a namespace of its own.
    pub mercure: MercureHub,
    /// The log shared with other instances, with `--redis` (see `redis/`).
    pub log: Option<RedisLog>,
    pub stats: Stats,
    pub shutdown: ShutdownSignal,
    /// Notices when the clients of idle subscriptions leave.
    pub watch: ClientWatch,
    /// Connections reading or answering requests; at most `config.max_requests`.
    pub requests: Budget,
    /// Connections streaming; at most `config.max_clients`.
    pub streams: Budget,
    /// Keep-alive connections waiting for their next request; at most
    /// `config.max_requests`.
    pub idle: Budget,
    /// What each client address holds of the three budgets above (`shares.rs`).
    pub shares: ClientShares,
    /// Requests waiting for a stream slot; at most half of `config.max_requests`, so
    /// that a reconnect wave at the stream cap leaves room for publishes.
    pub stream_waiters: Budget,
}

impl Shared {
    /// The shared state of a new server.
    pub fn new(config: Config) -> Arc<Shared> {
        let limits = HubLimits {
            history_per_topic: config.history,
            history_bytes: config.history_bytes,
            max_topics: config.max_topics,
            relay_width: config.relay_width,
            max_replay: config.max_replay,
        };
        // With a shared log, message ids are the log's; alone, the hub counts them.
        let log = config.redis.clone().map(|url| {
            RedisLog::new(LogSettings {
                url,
                key: config.redis_key.clone(),
                max_len: config.redis_max_len,
                max_log_replays: config.max_log_replays,
                replay_memory_bytes: config.replay_memory_bytes,
                max_bytes: Some(config.redis_max_bytes()),
            })
        });
        let ids = match log {
            Some(_) => IdSource::Log,
            None => IdSource::Counted,
        };
        // The flag was checked when it was read; the default is a valid URL too.
        let hub_url = HubUrl::parse(&config.mercure.resource)
            .or_else(|_| HubUrl::parse(DEFAULT_MERCURE_RESOURCE))
            .expect("the default Mercure resource is a valid hub URL");
        let mercure = MercureHub::new(
            hub_url,
            MercureLimits {
                history: config.history,
                history_bytes: config.history_bytes,
            },
        );
        // With a shared log, subscription events go through it (`mercure/log.rs`).
        let mercure = match &log {
            Some(_) => mercure.announcing_through_the_log(),
            None => mercure,
        };
        Arc::new(Shared {
            hub: Hub::with_ids(limits, ids).with_subject_limits(SubjectLimits {
                topics_per_subject: config.topics_per_subject(),
                history_ttl: Some(config.history_ttl),
            }),
            mercure,
            log,
            stats: Stats::default(),
            shutdown: ShutdownSignal::new(),
            watch: ClientWatch::default(),
            requests: Budget::new(config.max_requests),
            streams: Budget::new(config.max_clients),
            idle: Budget::new(config.max_requests),
            shares: ClientShares::new(
                config.requests_per_client(),
                config.streams_per_client(),
                config.trusted_proxies.clone(),
            ),
            stream_waiters: Budget::new((config.max_requests / 2).max(1)),
            config,
        })
    }
}

/// At most `max` places taken at once, counted without a lock; a thread may also
/// sleep until one is given back ([`Budget::claim_before`]).
pub struct Budget {
    taken: AtomicUsize,
    max: usize,
    /// Threads asleep in `claim_before`, so that giving a place back wakes one only
    /// when someone waits (the common case takes no lock at all).
    sleepers: AtomicUsize,
    /// Held while a sleeper checks for a place and falls asleep, and while a place
    /// given back wakes one: a wake-up then never falls between the two.
    lock: Mutex<()>,
    given_back: Condvar,
}

impl Budget {
    pub fn new(max: usize) -> Budget {
        Budget {
            taken: AtomicUsize::new(0),
            max,
            sleepers: AtomicUsize::new(0),
            lock: Mutex::new(()),
            given_back: Condvar::new(),
        }
    }

    /// Takes a place if one is free; the place is given back when the claim drops.
    pub fn claim(&self) -> Option<Claim<'_>> {
        self.try_take().then(|| Claim { budget: self })
    }

    /// Takes a place, sleeping until one is given back if none is free, until
    /// `deadline` or until `give_up()` says so (checked at least every `check`).
    pub fn claim_before(
        &self,
        deadline: Instant,
        check: Duration,
        give_up: impl Fn() -> bool,
    ) -> Option<Claim<'_>> {
        self.take_before(deadline, check, give_up)
            .then(|| Claim { budget: self })
    }

    /// [`Budget::claim_before`] for an owner that gives the place back itself.
    fn take_before(&self, deadline: Instant, check: Duration, give_up: impl Fn() -> bool) -> bool {
        if self.try_take() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        self.sleepers.fetch_add(1, Ordering::AcqRel);
        let mut guard = lock(&self.lock);
        let claimed = loop {
            if self.try_take() {
                break true;
            }
            let now = Instant::now();
            if now >= deadline || give_up() {
                break false;
            }
            let nap = (deadline - now).min(check);
            guard = wait_timeout(&self.given_back, guard, nap).0;
        };
        drop(guard);
        self.sleepers.fetch_sub(1, Ordering::AcqRel);
        claimed
    }

    fn try_take(&self) -> bool {
        self.taken
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |taken| {
                (taken < self.max).then_some(taken + 1)
            })
            .is_ok()
    }

    fn give_back(&self) {
        self.taken.fetch_sub(1, Ordering::AcqRel);
        if self.sleepers.load(Ordering::Acquire) > 0 {
            let _guard = lock(&self.lock);
            self.given_back.notify_one();
        }
    }

    /// Places taken now.
    pub fn taken(&self) -> usize {
        self.taken.load(Ordering::Acquire)
    }

    /// Whether every place is taken.
    pub fn is_full(&self) -> bool {
        self.taken() >= self.max
    }
}

/// Which listening socket a connection came in on: `routes.rs` decides what each
/// one serves (with `--admin-bind`, the admin routes move to their own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// `--bind` and `--port`: the clients.
    Public,
    /// `--admin-bind`: probes and scrapers.
    Admin,
}

/// Why no slot was had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoSlot {
    /// The server's budget is spent.
    Full,
    /// This client address holds its share already (`shares.rs`).
    ClientShare,
}

/// A connection's claim on a request slot, and on its client's share of them. It
/// carries the shared state into the client's thread and gives both back when
/// dropped, on every exit path (including a panic).
pub struct RequestSlot {
    shared: Arc<Shared>,
    /// The listener the connection came in on.
    pub listener: Listener,
    /// `None` only inside `drop`.
    share: Option<Taken>,
}

impl RequestSlot {
    /// Takes a request slot for `client` on the public listener if one is free and
    /// the client is within its share.
    pub fn claim(shared: &Arc<Shared>, client: IpAddr) -> Result<RequestSlot, NoSlot> {
        RequestSlot::claim_on(shared, client, Listener::Public)
    }

    /// Takes a request slot for `client` on `listener`, if one is free and the client
    /// is within its share.
    pub fn claim_on(
        shared: &Arc<Shared>,
        client: IpAddr,
        listener: Listener,
    ) -> Result<RequestSlot, NoSlot> {
        RequestSlot::claim_before(shared, client, listener, Instant::now(), || false)
    }

    /// Takes a request slot for `client` on `listener`, sleeping until `deadline` for
    /// one to be given back if none is free (or until `give_up()`). A client at its
    /// share is refused at once: waiting would only hold its connection longer.
    pub fn claim_before(
        shared: &Arc<Shared>,
        client: IpAddr,
        listener: Listener,
        deadline: Instant,
        give_up: impl Fn() -> bool,
    ) -> Result<RequestSlot, NoSlot> {
        // The waiting room asks this for every waiting connection every few
        // milliseconds: a full budget says no without touching the shares' lock.
        if Instant::now() >= deadline && shared.requests.is_full() {
            return Err(NoSlot::Full);
        }
        let share = shared
            .shares
            .take(client, Place::Request)
            .ok_or(NoSlot::ClientShare)?;
        if !shared.requests.take_before(deadline, SLEEP_CHECK, give_up) {
            shared.shares.give_back(share);
            return Err(NoSlot::Full);
        }
        Ok(RequestSlot {
            shared: Arc::clone(shared),
            listener,
            share: Some(share),
        })
    }

    /// The shared state this slot belongs to.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl Drop for RequestSlot {
    fn drop(&mut self) {
        self.shared.requests.give_back();
        if let Some(share) = self.share.take() {
            self.shared.shares.give_back(share);
        }
    }
}

/// A keep-alive connection's place while it waits for its next request (see the
/// module docs), and its client's share of them.
pub struct IdlePlace<'s> {
    _place: Claim<'s>,
    _share: ShareClaim<'s>,
}

impl IdlePlace<'_> {
    /// An idle place for `client`, if one is free and the client is within its share.
    pub fn claim(shared: &Shared, client: IpAddr) -> Option<IdlePlace<'_>> {
        let share = shared.shares.claim(client, Place::Idle)?;
        let place = shared.idle.claim()?;
        Some(IdlePlace {
            _place: place,
            _share: share,
        })
    }
}

/// A place taken in a [`Budget`], given back when dropped.
pub struct Claim<'b> {
    budget: &'b Budget,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.budget.give_back();
    }
}

/// A stream's place among `--max-clients` and in its client's share of them, held
/// until the stream ends (see `admission::admit_stream`, which waits for one).
pub struct StreamSlot<'s> {
    // Held, never read: their `Drop`s give the places back.
    #[allow(dead_code)]
    pub(crate) place: Claim<'s>,
    #[allow(dead_code)]
    pub(crate) share: ShareClaim<'s>,
}

/// How often a thread asleep in [`Budget::take_before`] with a `give_up` looks up.
const SLEEP_CHECK: Duration = Duration::from_millis(100);

#[cfg(test)]
#[path = "shared_tests.rs"]
mod tests;
