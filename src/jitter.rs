//! Spreading retries, so that clients refused together do not come back together.
//!
//! When ten thousand clients are refused in the same second and all told "retry in
//! 3 s", they all return in the same second and are refused again. Each refusal
//! therefore names a delay drawn at random from a range (RFC 9110 section 10.2.3 for
//! `Retry-After`; the SSE `retry:` field for a browser's EventSource).
//!
//! The randomness comes from std's `RandomState`, which seeds its hasher with random
//! keys: hashing a counter with it gives numbers no client can predict or synchronise
//! on, which is all a retry delay needs (this is not for secrets).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// A number drawn evenly from `low..=high` (`low` if the range is empty).
pub fn spread(low: u64, high: u64) -> u64 {
    static DRAWS: AtomicU64 = AtomicU64::new(0);
    if high <= low {
        return low;
    }
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(DRAWS.fetch_add(1, Ordering::Relaxed));
    low + hasher.finish() % (high - low + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_stay_in_range_and_vary() {
        let draws: Vec<u64> = (0..1000).map(|_| spread(10, 20)).collect();
        assert!(draws.iter().all(|draw| (10..=20).contains(draw)));
        let distinct = draws.iter().collect::<std::collections::HashSet<_>>().len();
        assert_eq!(distinct, 11, "every value in a small range appears");
        assert_eq!(spread(5, 5), 5);
    }
}
