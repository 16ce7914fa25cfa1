//! One setting for a process with ten thousand sleeping threads.
//!
//! # Why
//!
//! A subscriber thread sleeps in `thread::park`, which on Linux waits on a *futex*: the
//! kernel files the sleeping thread in a hash table under the address it waits on, and
//! `unpark` looks it up there to wake it. Since Linux 6.16 each process gets a table of
//! its own, sized for the number of CPUs rather than threads: on the 2-core machines
//! this project is measured on it has 16 buckets, so with 10,000 subscribers asleep
//! every wake-up walks a chain of about 600 sleepers to find the one it wants.
//!
//! Measured with `make bench` (10,000 subscribers, each on its own topic, 2,000
//! publishes a second, one wake-up each): the server's CPU per publish went from about
//! 165 µs to about 85 µs once the table had a bucket per connection slot. `perf` had
//! shown `futex_wake` itself as the largest single cost.
//!
//! # How
//!
//! `prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_SET_SLOTS, slots, 0)` resizes the table. std has
//! no wrapper for it, so this file declares the C library's `prctl` itself: a call with
//! plain integer arguments, no pointers (the crate's only other `unsafe` code is the
//! epoll calls in `sse/hangups.rs`, one `setsockopt` in `vanish.rs` and
//! `getrlimit`/`setrlimit` in `open_files.rs`).
//! Older kernels (and other systems) do not know the option; there the call fails
//! harmlessly, and those kernels use one large table for every process anyway.

use log::debug;

/// From `include/uapi/linux/prctl.h`.
#[cfg(target_os = "linux")]
const PR_FUTEX_HASH: i32 = 78;
#[cfg(target_os = "linux")]
const PR_FUTEX_HASH_SET_SLOTS: u64 = 1;
/// A bigger table costs the kernel memory (a few dozen bytes a bucket) for little gain.
const MAX_SLOTS: usize = 1 << 16;

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod ffi {
    unsafe extern "C" {
        /// `int prctl(int option, ...)`, from the C library std already links.
        pub fn prctl(option: i32, ...) -> i32;
    }
}

/// The table size for `threads` sleepers: a power of two (the kernel requires one),
/// at least one bucket per thread, within [16, `MAX_SLOTS`].
pub fn slots_for(threads: usize) -> usize {
    threads
        .clamp(16, MAX_SLOTS)
        .next_power_of_two()
        .min(MAX_SLOTS)
}

/// Gives this process a futex table with room for `threads` sleeping threads.
#[cfg(target_os = "linux")]
pub fn make_room_for(threads: usize) {
    let slots = slots_for(threads) as u64;
    // SAFETY: PR_FUTEX_HASH takes integers only: it reads no memory of ours. Unused
    // arguments are passed as 0, as prctl(2) asks.
    #[allow(unsafe_code)]
    let result = unsafe { ffi::prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_SET_SLOTS, slots, 0u64) };
    if result == 0 {
        debug!("futex table: {slots} buckets");
    } else {
        let error = std::io::Error::last_os_error();
        debug!("futex table left as the kernel sized it ({error})");
    }
}

/// Other systems size their wait queues their own way.
#[cfg(not(target_os = "linux"))]
pub fn make_room_for(_threads: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_a_power_of_two_with_room_for_every_thread() {
        assert_eq!(slots_for(0), 16);
        assert_eq!(slots_for(100), 128);
        assert_eq!(slots_for(13_106), 16_384);
        assert_eq!(slots_for(1_000_000), MAX_SLOTS);
    }
}
