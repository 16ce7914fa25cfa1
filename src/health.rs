//! `GET /healthz` and `GET /readyz`: what a supervisor or a load balancer asks.
//!
//! - **Live** (`/healthz`): the process answers HTTP. `200 ok`, always: a supervisor
//!   that gets no answer restarts the process.
//! - **Ready** (`/readyz`): a new stream would be admitted now. `200 ready`, or `503`
//!   with one line saying why not: the stream cap is reached, the server is draining
//!   for shutdown, or (with `--redis`) the shared log cannot be reached, so that this
//!   instance could neither take a publish nor hear the other instances. A load
//!   balancer then sends new clients elsewhere, while the streams already open go on.
//!
//! Both read a few atomics and nothing else, and neither is logged at `info` (a probe
//! every second would drown the log; see `routes::QUIET_PATHS`).

use std::sync::atomic::Ordering;

use crate::http::response::{Response, Status};
use crate::redis::log::RedisLog;
use crate::shared::Shared;

/// The answer to `/healthz`.
pub fn liveness() -> Response {
    Response::text(Status::Ok, "ok\n").with_header("Cache-Control", "no-store")
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
    if shared.shutdown.is_triggered() {
        return Err("draining: the server is shutting down".into());
    }
    if shared.streams.is_full() {
        return Err(format!(
            "full: {} streams open, the cap is {} (--max-clients)",
            shared.streams.taken(),
            shared.config.max_clients
        ));
    }
    let log_lost = |log: &RedisLog| !log.status.connected.load(Ordering::Acquire);
    if shared.log.as_ref().is_some_and(log_lost) {
        return Err("Redis unreachable: the shared log cannot be followed".into());
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
        assert_eq!(liveness().status, Status::Ok);
    }

    #[test]
    fn with_redis_ready_only_while_the_log_is_followed() {
        let shared = Shared::new(Config {
            redis: Some(RedisUrl::parse("redis://127.0.0.1:1").unwrap()),
            ..Config::default()
        });
        let log = shared.log.as_ref().unwrap();
        assert!(
            readiness(&shared)
                .unwrap_err()
                .starts_with("Redis unreachable")
        );
        log.status.connected.store(true, Ordering::Release);
        assert_eq!(readiness(&shared), Ok(()));
    }
}
