//! The floor of a thread per client: what it costs, on the server's core, to wake one
//! of N sleeping threads and switch to it, with nothing else to do.
//!
//! In the fan-out scenario every delivery is one such hop (the subscriber's thread is
//! woken, runs, writes, sleeps again) plus one `write`. The async reference pays the
//! `write` and a task poll, no hop. So `hop + the reference's CPU per delivery` is the
//! least a thread per client can spend per delivery on this machine, however clever
//! its wake-ups: the report sets it beside sse-server's figure.
//!
//! The threads form a ring: thread `i`, woken, wakes `i + 1` and sleeps again, the way
//! the relay (`pubsub/relay.rs`) passes its turn. Each sleeps in `park_timeout` on a
//! 128 KiB stack, as a subscriber does (its timeout is the heartbeat). With ten
//! thousand of them, every hop lands on a thread whose stack, kernel stack and
//! scheduler data have long left the caches: that, not the system calls, is most of
//! the cost.
//!
//! It runs in a child process (this same binary with `--hop-floor N`) pinned to the
//! server's core, so that its ten thousand threads come and go with it.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crate::SERVER_CORE;

/// Hops measured in all, whatever N (more rounds for fewer threads).
const HOPS: usize = 200_000;
/// The subscriber threads' stack (sse-server's `--thread-stack-kib` default).
const STACK_BYTES: usize = 128 * 1024;

/// Measures the hop among `threads` threads in a child process on the server's core;
/// µs per hop.
pub fn run(threads: usize) -> f64 {
    let output = Command::new("taskset")
        .args(["-c", &SERVER_CORE.to_string()])
        .arg(std::env::current_exe().expect("the benchmark's own path"))
        .args(["--bench", "--hop-floor", &threads.to_string()])
        .output()
        .expect("run taskset");
    assert!(output.status.success(), "hop floor: {output:?}");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("hop floor: µs per hop on stdout")
}

/// In the child: the ring of `threads` threads; returns µs per hop, leaving out the
/// first round (threads just started are still warm).
pub fn measure(threads: usize) -> f64 {
    static RING: OnceLock<Vec<Thread>> = OnceLock::new();
    let measuring = thread::current();
    let rounds = (HOPS / threads).max(3) as u32 + 1;
    // `turn[i]` is the round thread `i` may run; `done` the last round finished.
    let turn: Arc<Vec<AtomicU32>> = Arc::new((0..threads).map(|_| AtomicU32::new(0)).collect());
    let done = Arc::new(AtomicU32::new(0));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (turn, done) = (Arc::clone(&turn), Arc::clone(&done));
            let measuring = measuring.clone();
            thread::Builder::new()
                .stack_size(STACK_BYTES)
                .spawn(move || {
                    for round in 1..=rounds {
                        while turn[i].load(Ordering::Acquire) < round {
                            thread::park_timeout(Duration::from_secs(15));
                        }
                        match RING
                            .get()
                            .expect("the ring is set before round 1")
                            .get(i + 1)
                        {
                            Some(next) => {
                                turn[i + 1].store(round, Ordering::Release);
                                next.unpark();
                            }
                            None => {
                                done.store(round, Ordering::Release);
                                measuring.unpark();
                            }
                        }
                    }
                })
                .expect("spawn a ring thread")
        })
        .collect();
    let _ = RING.set(handles.iter().map(|h| h.thread().clone()).collect());
    thread::sleep(Duration::from_millis(500));
    let mut started = Instant::now();
    for round in 1..=rounds {
        if round == 2 {
            started = Instant::now();
        }
        turn[0].store(round, Ordering::Release);
        handles[0].thread().unpark();
        while done.load(Ordering::Acquire) < round {
            thread::park();
        }
    }
    let hops = (rounds - 1) as f64 * threads as f64;
    let elapsed = started.elapsed();
    for handle in handles {
        handle.join().expect("ring thread");
    }
    elapsed.as_secs_f64() * 1e6 / hops
}
