//! `GET /healthz` and `GET /readyz`: what a supervisor or a load balancer asks.
//!
//! - **Live** (`/healthz`): the process answers HTTP. `200 ok`, always: a supervisor
//!   that gets no answer restarts the process. With `--redis` the body says whether
//!   the shared log is followed (`redis: connected` or `redis: unreachable`), for a
//!   person or a monitor; `sse_redis_up` in `/metrics` says the same.
//! - **Ready** (`/readyz`): a new stream would be admitted now. `200 ready`, or `503`
//!   with one line saying why not: the stream cap is reached, or the server is
//!   draining for shutdown (see `server.rs`: during the drain window the listener
//!   still accepts, so a probe that connects after the signal sees this 503). A load
//!   balancer then sends new clients elsewhere, while the streams already open go on.
//!
//! Readiness does **not** fail while Redis is unreachable. Every instance shares the
//! one Redis, so they would all turn unready at once, and a balancer that honours it
//! would drop the whole cluster, although each instance still serves its open
//! streams and their replays from memory (publishes get 503 until Redis is back; see
//! `redis/`). Taking one instance out helps only when the fault is that instance's.
//!
//! Both read a few atomics and nothing else, and neither is logged at `info` (a probe
//! every second would drown the log; see `routes::QUIET_PATHS`).

use std::sync::atomic::Ordering;

use crate::http::response::{Response, Status};
use crate::shared::Shared;

/// The answer to `/healthz`.
pub fn liveness(shared: &Shared) -> Response {
    let mut body = String::from("ok\n");
    if let Some(log) = &shared.log {
        body += if log.status.connected.load(Ordering::Acquire) {
            "redis: connected\n"
        } else {
            "redis: unreachable (publishes get 503; open streams go on)\n"
        };
    }
    Response::text(Status::Ok, body).with_header("Cache-Control", "no-store")
}

/// The answer to `/readyz`.
pub fn readiness_response(shared: &Shared) -> Response {
    let (status, body) = match readiness(shared) {
        Ok(()) => (Status::Ok, "ready\n".to_string()),
        Err(why) => (Status::ServiceUnavailable, format!("{why}\n")),
    };
    Response::text(status, body).with_header("Cache-Control", "no-store")
}

/// Whether a new stream would be admitted now, or why not.
pub fn readiness(shared: &Shared) -> Result<(), String> {
    if shared.shutdown.is_draining() {
        return Err("draining: the server is shutting down".into());
    }
    if shared.streams.is_full() {
        return Err(format!(
            "full: {} streams open, the cap is {} (--max-clients)",
            shared.streams.taken(),
            shared.config.max_clients
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::redis::url::RedisUrl;

    #[test]
    fn ready_until_the_stream_cap_then_until_shutdown() {
        let shared = Shared::new(Config {
            max_clients: 2,
            ..Config::default()
        });
        assert_eq!(readiness(&shared), Ok(()));
        let first = shared.streams.claim().expect("a stream slot");
        assert_eq!(readiness(&shared), Ok(()));
        let second = shared.streams.claim().expect("the last stream slot");
        let full = readiness(&shared).unwrap_err();
        assert!(full.starts_with("full: 2 streams open"), "{full}");
        assert_eq!(
            readiness_response(&shared).status,
            Status::ServiceUnavailable
        );
        drop(second);
        assert_eq!(readiness(&shared), Ok(()));
        shared.shutdown.trigger();
        let draining = readiness(&shared).unwrap_err();
        assert!(draining.starts_with("draining"), "{draining}");
        drop(first);
        assert_eq!(liveness(&shared).status, Status::Ok);
    }

    #[test]
    fn draining_is_unready_before_the_signal_fires() {
        let shared = Shared::new(Config::default());
        assert!(shared.shutdown.begin_drain());
        let draining = readiness(&shared).unwrap_err();
        assert!(draining.starts_with("draining"), "{draining}");
    }

    #[test]
    fn with_redis_down_ready_still_and_live_says_so() {
        let shared = Shared::new(Config {
            redis: Some(RedisUrl::parse("redis://127.0.0.1:1").unwrap()),
            ..Config::default()
        });
        let log = shared.log.as_ref().unwrap();
        // Every instance shares the one Redis: readiness must not fail for it.
        assert_eq!(readiness(&shared), Ok(()));
        let live = liveness(&shared);
        assert_eq!(live.status, Status::Ok);
        let body = live.body.to_string();
        assert!(body.contains("redis: unreachable"), "{body}");
        log.status.connected.store(true, Ordering::Release);
        let body = liveness(&shared).body.to_string();
        assert!(body.contains("redis: connected"), "{body}");
    }
}
