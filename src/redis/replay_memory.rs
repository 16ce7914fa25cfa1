//! The memory replays from the log may hold, all streams together
//! (`--replay-memory-bytes`): a counting semaphore of bytes, like `slots.rs` is one of
//! connections.
//!
//! A replay walks the log newest first and must hold what it keeps until the walk
//! ends (`replay.rs` says why), then writes it to a client that may read slowly. Held
//! per stream without a common bound, 200 slow readers held 948 MiB (issue 23). So a
//! replay takes [`Room`] for the most it can hold before it reads a byte, gives back
//! what it did not need when the walk ends, and gives back the rest as its events
//! are written. A replay that finds no room waits for some, then ends without
//! skipping anything (its browser resumes after `retry:`).
//!
//! Why the whole amount up front, and not page by page: replays that each held part
//! of what they need and waited for the rest could wait for each other for ever.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::sync::{lock, wait_timeout};

/// The bytes replays hold in memory, and the most they may.
pub struct ReplayMemory {
    /// Bytes taken by live [`Room`]s. Invariant: the sum of their `bytes`, never
    /// above `limit`.
    in_use: Mutex<usize>,
    freed: Condvar,
    limit: usize,
}

/// The room one replay holds; what is left of it is given back when dropped.
pub struct Room<'m> {
    memory: &'m ReplayMemory,
    /// The bytes this replay still holds of the budget.
    bytes: usize,
}

impl ReplayMemory {
    pub fn new(limit: usize) -> ReplayMemory {
        ReplayMemory {
            in_use: Mutex::new(0),
            freed: Condvar::new(),
            limit,
        }
    }

    /// The most bytes all replays may hold (`--replay-memory-bytes`).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The bytes replays hold now, for `/metrics`.
    pub fn in_use(&self) -> usize {
        *lock(&self.in_use)
    }

    /// Takes `bytes` (at most the whole budget), waiting up to `wait` for them.
    pub fn take(&self, bytes: usize, wait: Duration) -> Option<Room<'_>> {
        let bytes = bytes.min(self.limit);
        let deadline = Instant::now() + wait;
        let mut in_use = lock(&self.in_use);
        while self.limit - *in_use < bytes {
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            in_use = wait_timeout(&self.freed, in_use, deadline - now).0;
        }
        *in_use += bytes;
        Some(Room {
            memory: self,
            bytes,
        })
    }

    fn give_back(&self, bytes: usize) {
        if bytes == 0 {
            return;
        }
        let mut in_use = lock(&self.in_use);
        // A room gives back at most what it took (`Room::keep`), so this cannot pass
        // zero; checked anyway, as budget.rs does, so an error shows instead of wrapping.
        debug_assert!(*in_use >= bytes, "replay memory given back twice");
        *in_use = in_use.saturating_sub(bytes);
        drop(in_use);
        // Every waiter: the bytes freed may be enough for several small requests.
        self.freed.notify_all();
    }
}

impl Room<'_> {
    /// The bytes this room holds.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Keeps at most `bytes` of the room and gives back the rest.
    pub fn keep(&mut self, bytes: usize) {
        let surplus = self.bytes.saturating_sub(bytes);
        self.bytes -= surplus;
        self.memory.give_back(surplus);
    }
}

impl Drop for Room<'_> {
    fn drop(&mut self) {
        self.memory.give_back(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_bounded_shrinks_and_is_given_back() {
        let memory = ReplayMemory::new(100);
        let mut first = memory.take(60, Duration::ZERO).expect("room for 60");
        assert!(memory.take(60, Duration::from_millis(10)).is_none());
        first.keep(30);
        assert_eq!(memory.in_use(), 30);
        let second = memory.take(60, Duration::ZERO).expect("30 + 60 fit");
        assert_eq!(memory.in_use(), 90);
        // Keeping more than it holds takes nothing more.
        first.keep(1000);
        assert_eq!(first.bytes(), 30);
        drop(first);
        drop(second);
        assert_eq!(memory.in_use(), 0);
        // A request over the whole budget asks for the whole budget.
        assert_eq!(memory.take(1000, Duration::ZERO).unwrap().bytes(), 100);
    }

    #[test]
    fn a_waiting_replay_gets_room_when_another_gives_it_back() {
        let memory = ReplayMemory::new(100);
        let held = memory.take(100, Duration::ZERO).unwrap();
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| memory.take(50, Duration::from_secs(5)).is_some());
            std::thread::sleep(Duration::from_millis(20));
            drop(held);
            assert!(waiter.join().unwrap());
        });
    }
}
