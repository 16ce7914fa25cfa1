//! The Ctrl-C signal, as something every thread can wait on.
//!
//! Streams never wait for their next event in `thread::sleep`: a sleeping thread cannot
//! be woken, so a server with thousands of streams would take as long as the longest
//! sleep to exit. The demo streams wait on this signal's condition variable instead,
//! with a timeout equal to the time until their next event or heartbeat
//! (`sse/stream.rs`, `pause_until`). `trigger` wakes all of them at once.
//!
//! Subscribers of the broadcast hub wait in `thread::park`, which an `unpark` ends at
//! once (`pubsub/relay.rs` says why they park); the server closes the hub at the same
//! moment it triggers this signal, and closing it unparks every subscriber (see
//! `server::ServerHandle::shutdown`).
//!
//! Before the signal fires there may be a *drain window* (`--drain-window-s`, see
//! `server.rs`): [`begin_drain`](ShutdownSignal::begin_drain) marks the server as
//! draining, which refuses new streams and makes `/readyz` answer 503, while
//! everything else goes on; `trigger` then ends the streams.
//!
//! The one wait this signal cannot end is in `write_patiently` (`sse/stream.rs`): a
//! write that its client is not reading waits in the kernel for room. Such a stream
//! notices the shutdown once that write is done, or ends when `--write-timeout-s` has
//! passed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use crate::sync::{lock, wait_timeout};

/// A one-way flag: once triggered it stays triggered. Draining comes first (or not
/// at all) and is one-way too.
#[derive(Default)]
pub struct ShutdownSignal {
    triggered: Mutex<bool>,
    changed: Condvar,
    /// Set when the drain window starts; read on every stream admission, so it is an
    /// atomic rather than another lock.
    draining: AtomicBool,
}

impl ShutdownSignal {
    /// A signal that has not fired yet.
    pub fn new() -> ShutdownSignal {
        ShutdownSignal::default()
    }

    /// Fires the signal and wakes every thread waiting in [`wait_timeout`](Self::wait_timeout).
    pub fn trigger(&self) {
        *lock(&self.triggered) = true;
        self.changed.notify_all();
    }

    /// Whether the signal has fired.
    pub fn is_triggered(&self) -> bool {
        *lock(&self.triggered)
    }

    /// Starts draining; returns `false` if the server was draining already.
    pub fn begin_drain(&self) -> bool {
        !self.draining.swap(true, Ordering::AcqRel)
    }

    /// Whether new streams are refused: during the drain window, and after the signal.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire) || self.is_triggered()
    }

    /// Waits for at most `timeout`, returning early if the signal fires.
    /// Returns `true` when the server is shutting down.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let mut triggered = lock(&self.triggered);
        let deadline = std::time::Instant::now() + timeout;
        // Condition variables may wake spuriously, so loop until the flag is set or
        // the full timeout has passed.
        while !*triggered {
            let now = std::time::Instant::now();
            if now >= deadline {
                return false;
            }
            (triggered, _) = wait_timeout(&self.changed, triggered, deadline - now);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn wait_returns_false_after_the_timeout() {
        let signal = ShutdownSignal::new();
        assert!(!signal.wait_timeout(Duration::from_millis(5)));
        assert!(!signal.is_triggered());
    }

    #[test]
    fn draining_comes_before_the_signal_and_is_counted_once() {
        let signal = ShutdownSignal::new();
        assert!(!signal.is_draining());
        assert!(signal.begin_drain());
        assert!(!signal.begin_drain(), "a second drain is the same drain");
        assert!(signal.is_draining() && !signal.is_triggered());
        let undrained = ShutdownSignal::new();
        undrained.trigger();
        assert!(
            undrained.is_draining(),
            "a server shutting down admits no stream"
        );
    }

    #[test]
    fn trigger_wakes_a_waiting_thread_at_once() {
        let signal = Arc::new(ShutdownSignal::new());
        let waiter = {
            let signal = Arc::clone(&signal);
            std::thread::spawn(move || {
                let started = Instant::now();
                (
                    signal.wait_timeout(Duration::from_secs(30)),
                    started.elapsed(),
                )
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        signal.trigger();
        let (shutting_down, waited) = waiter.join().expect("waiter thread panicked");
        assert!(shutting_down);
        assert!(waited < Duration::from_secs(5), "waited {waited:?}");
    }
}
