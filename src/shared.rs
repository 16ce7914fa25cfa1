//! The state every client thread shares, and the slot each one holds.
//!
//! There is exactly one [`Shared`], created when the server binds and handed to each
//! client thread inside its [`ClientSlot`] (an `Arc`, so it lives as long as the last
//! thread that uses it). Nothing else is global: no `static`, no hidden singletons.
//! It lives in its own module so that the server, the routes and the handlers can all
//! use it without importing each other.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::config::Config;
use crate::pubsub::hub::{Hub, HubLimits, IdSource};
use crate::redis::log::{LogSettings, RedisLog};
use crate::shutdown::ShutdownSignal;
use crate::sse::watch::ClientWatch;
use crate::stats::Stats;

/// Everything the client threads share.
pub struct Shared {
    pub config: Config,
    pub hub: Hub,
    /// The log shared with other instances, with `--redis` (see `redis/`).
    pub log: Option<RedisLog>,
    pub stats: Stats,
    pub shutdown: ShutdownSignal,
    /// Notices when the clients of idle subscriptions leave.
    pub watch: ClientWatch,
    /// Connections being served now; never above `config.max_clients`.
    connections_open: AtomicUsize,
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
            })
        });
        let ids = match log {
            Some(_) => IdSource::Log,
            None => IdSource::Counted,
        };
        Arc::new(Shared {
            hub: Hub::with_ids(limits, ids),
            log,
            stats: Stats::default(),
            shutdown: ShutdownSignal::new(),
            watch: ClientWatch::default(),
            connections_open: AtomicUsize::new(0),
            config,
        })
    }

    /// Connections being served now.
    pub fn connections_open(&self) -> usize {
        self.connections_open.load(Ordering::Acquire)
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
    pub fn claim(shared: &Arc<Shared>) -> Option<ClientSlot> {
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

    /// The shared state this slot belongs to.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.shared.connections_open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_client_thread_gives_its_slot_back() {
        let shared = Shared::new(Config {
            max_clients: 1,
            ..Config::default()
        });
        let slot = ClientSlot::claim(&shared).expect("one slot is free");
        assert!(
            ClientSlot::claim(&shared).is_none(),
            "the cap is one client"
        );
        // Unwinding runs the slot's Drop, exactly as a normal return does.
        let client = std::thread::spawn(move || {
            let _slot = slot;
            panic!("a bug in a handler");
        });
        assert!(client.join().is_err());
        assert!(
            ClientSlot::claim(&shared).is_some(),
            "the slot was not given back"
        );
    }
}
