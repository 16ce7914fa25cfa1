//! How a stream ends: its last words at shutdown, the answer to a stream asked for
//! while the server drains, and the reason each end is counted under in `/metrics`.
//!
//! # Shutdown, without a stampede
//!
//! On SIGTERM or Ctrl-C every stream ends at once. If each said only "reconnect in
//! `--retry-ms`", every client of the instance would come back in the same second:
//! behind a proxy, ten thousand reconnects would land on the other instances at once.
//! So each stream's last words are a `retry:` drawn evenly from
//! `[--retry-ms, --retry-ms + --drain-spread-s]` ([`drain_retry`]), and its clients
//! come back spread over that time. The streams still end at once, when the drain
//! window is over; only the delay each client is told differs.
//!
//! A stream asked for while the server drains (in the drain window, `server.rs`, or
//! after it) is refused the same way ([`refuse_while_draining`]): a `200` stream that
//! only says when to come back. A
//! `503` would make an EventSource give up for good (WHATWG HTML 9.2.3, see
//! `admission.rs`).

use std::io;
use std::net::TcpStream;
use std::time::Duration;

use crate::config::Config;
use crate::http::response::Framing;
use crate::jitter;
use crate::shared::Shared;
use crate::sse::stream::EventStream;
use crate::stats::{Ending, Refusal};

/// A stream's last `retry:` at shutdown: drawn evenly from `--retry-ms` to
/// `--retry-ms` + `--drain-spread-s`.
pub fn drain_retry(config: &Config) -> Duration {
    let low = config.retry.as_millis() as u64;
    let high = low.saturating_add(config.drain_spread.as_millis() as u64);
    Duration::from_millis(jitter::spread(low, high))
}

/// The answer to a stream asked for while the server shuts down: a stream that only
/// says when to come back, and ends.
// Not inlined into `feeds::serve`: its frame would sit under every stream.
#[inline(never)]
pub fn refuse_while_draining(
    socket: &TcpStream,
    framing: Framing,
    cors: &[(&str, String)],
    shared: &Shared,
) -> io::Result<()> {
    shared.stats.count_refusal(Refusal::Draining);
    let mut stream = EventStream::start(socket, framing, cors, &shared.config, &shared.stats)?;
    stream.send_retry(drain_retry(&shared.config))?;
    stream.finish()
}

/// Why a stream ended, from the I/O error that ended it.
pub fn of_error(error: &io::Error) -> Ending {
    // Linux errno values: ETIMEDOUT, ENETUNREACH, EHOSTDOWN, EHOSTUNREACH. The kernel
    // gave up on a peer that stopped answering (keepalive, retransmissions or
    // TCP_USER_TIMEOUT, see `vanish.rs`), which is not a client that said goodbye.
    const PEER_UNREACHABLE: [i32; 4] = [110, 101, 112, 113];
    if error
        .raw_os_error()
        .is_some_and(|errno| PEER_UNREACHABLE.contains(&errno))
    {
        return Ending::Vanished;
    }
    match error.kind() {
        // Our own deadline on a write that the client's full buffers held up
        // (`stream::write_patiently`).
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Ending::SlowClient,
        // The kernel's ETIMEDOUT, named by `vanish::name_vanished`.
        io::ErrorKind::HostUnreachable => Ending::Vanished,
        io::ErrorKind::BrokenPipe
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::UnexpectedEof => Ending::ClientLeft,
        _ => Ending::Error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drain_retries_spread_over_the_configured_range() {
        let config = Config {
            retry: Duration::from_millis(1000),
            drain_spread: Duration::from_secs(10),
            ..Config::default()
        };
        let draws: Vec<u64> = (0..2000)
            .map(|_| drain_retry(&config).as_millis() as u64)
            .collect();
        assert!(draws.iter().all(|ms| (1000..=11_000).contains(ms)));
        // Evenly: each of the ten seconds gets about a tenth (200), never a fifth.
        for second in 0..10 {
            let low = 1000 + second * 1000;
            let in_second = draws
                .iter()
                .filter(|ms| (low..low + 1000).contains(*ms))
                .count();
            assert!(
                (100..=320).contains(&in_second),
                "second {second}: {in_second}"
            );
        }
        let no_spread = Config {
            drain_spread: Duration::ZERO,
            ..config
        };
        assert_eq!(drain_retry(&no_spread), Duration::from_millis(1000));
    }

    #[test]
    fn endings_are_told_apart() {
        let os = io::Error::from_raw_os_error;
        assert_eq!(of_error(&os(110)), Ending::Vanished); // ETIMEDOUT
        assert_eq!(of_error(&os(113)), Ending::Vanished); // EHOSTUNREACH
        let named = crate::vanish::name_vanished(os(110));
        assert_eq!(of_error(&named), Ending::Vanished);
        assert_eq!(of_error(&os(32)), Ending::ClientLeft); // EPIPE
        assert_eq!(of_error(&os(104)), Ending::ClientLeft); // ECONNRESET
        let stopped_reading = io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading");
        assert_eq!(of_error(&stopped_reading), Ending::SlowClient);
        assert_eq!(of_error(&os(5)), Ending::Error); // EIO
    }
}
