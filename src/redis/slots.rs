//! The cap on replays from the log running at once (`--max-log-replays`): a counting
//! semaphore, a number of free slots behind a mutex and a condition variable to wait
//! for one. Each running replay holds one slot, and with it at most one Redis
//! connection (`replay.rs`), so the connections replays open are bounded too.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::sync::{lock, wait_timeout};

/// The cap on replays from the log running at once (`--max-log-replays`).
pub struct ReplaySlots {
    /// Slots free now.
    free: Mutex<usize>,
    freed: Condvar,
}

/// One running replay's slot, given back when dropped.
pub struct ReplaySlot<'s> {
    slots: &'s ReplaySlots,
}

impl ReplaySlots {
    pub fn new(count: usize) -> ReplaySlots {
        ReplaySlots {
            free: Mutex::new(count),
            freed: Condvar::new(),
        }
    }

    /// Takes a slot, waiting up to `wait` for one.
    pub fn take(&self, wait: Duration) -> Option<ReplaySlot<'_>> {
        let deadline = Instant::now() + wait;
        let mut free = lock(&self.free);
        while *free == 0 {
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            free = wait_timeout(&self.freed, free, deadline - now).0;
        }
        *free -= 1;
        Some(ReplaySlot { slots: self })
    }
}

impl Drop for ReplaySlot<'_> {
    fn drop(&mut self) {
        *lock(&self.slots.free) += 1;
        self.slots.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_and_given_back() {
        let slots = ReplaySlots::new(1);
        let first = slots.take(Duration::ZERO).expect("one is free");
        assert!(slots.take(Duration::from_millis(10)).is_none());
        drop(first);
        assert!(slots.take(Duration::ZERO).is_some());
    }
}
