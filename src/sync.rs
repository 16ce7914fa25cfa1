//! Locking that survives a panic elsewhere.
//!
//! A `std::sync::Mutex` is "poisoned" when a thread panics while holding it, and
//! every later `lock()` returns `Err`. Calling `unwrap()` there would turn one
//! client's panic into a panic in every other client's thread. This server never
//! leaves shared state half-updated across a point that can panic (each critical
//! section is a few field updates with no user input parsing or I/O inside), so the
//! data behind a poisoned lock is still consistent and we simply keep using it.
//! This file is the one place that decision is made.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Locks `mutex`, recovering the guard if another thread panicked while holding it.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits on `condvar` for at most `timeout`, with the same poison policy as [`lock`].
/// Returns the guard and whether the wait timed out.
pub fn wait_timeout<'a, T>(
    condvar: &Condvar,
    guard: MutexGuard<'a, T>,
    timeout: Duration,
) -> (MutexGuard<'a, T>, bool) {
    let (guard, result) = condvar
        .wait_timeout(guard, timeout)
        .unwrap_or_else(PoisonError::into_inner);
    (guard, result.timed_out())
}
