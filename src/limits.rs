//! How many clients this process can hold before the operating system says no.
//!
//! One client costs one file descriptor (its socket) and one thread. Linux limits both:
//!
//! - **Descriptors**: the soft `RLIMIT_NOFILE` (`ulimit -n`, the "Max open files" row of
//!   `/proc/self/limits`). Past it `accept()` fails with `EMFILE`.
//! - **Memory maps**: every std thread takes about four maps (stack, guard page, and
//!   the allocator's), and `vm.max_map_count` (65,530 by default) caps them per process.
//!   Past it the process *aborts* - and `thread::spawn` still returns `Ok` just before,
//!   so the only safe answer is to stop well short of it.
//!
//! The default stream cap is the smaller of the two budgets, minus headroom, so a
//! crowd is refused (see `admission.rs`) instead of crashing the server. Raise the limits with
//! `ulimit -n 65536` and `sysctl vm.max_map_count=262144`, then pass `--max-clients`.

use std::fs;

/// Descriptors kept back for the listener, stdio, logging and the shutdown wake-up.
const RESERVED_DESCRIPTORS: usize = 64;
/// Memory maps each client thread costs, with room for allocator arenas.
const MAPS_PER_THREAD: usize = 5;
/// Used when `/proc` cannot be read (not Linux): a cap that is safe almost anywhere.
const FALLBACK_MAX_CLIENTS: usize = 1000;

/// The client cap that fits this process's descriptor and memory-map limits.
pub fn default_max_clients() -> usize {
    let by_descriptors = open_files_soft_limit().map(|n| n.saturating_sub(RESERVED_DESCRIPTORS));
    let by_maps = max_map_count().map(|maps| maps / MAPS_PER_THREAD);
    match (by_descriptors, by_maps) {
        (Some(a), Some(b)) => a.min(b).max(1),
        (Some(n), None) | (None, Some(n)) => n.max(1),
        (None, None) => FALLBACK_MAX_CLIENTS,
    }
}

/// The soft "Max open files" limit of this process, if `/proc/self/limits` says.
pub fn open_files_soft_limit() -> Option<usize> {
    let limits = fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_files_soft_limit(&limits)
}

fn max_map_count() -> Option<usize> {
    fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Finds the soft limit in a line such as
/// `Max open files            20000                20000                files`.
fn parse_open_files_soft_limit(limits: &str) -> Option<usize> {
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    // "unlimited" does not parse as a number; treat it as no descriptor budget.
    soft.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_soft_open_files_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max processes             96365                96365                processes\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(parse_open_files_soft_limit(limits), Some(1024));
        assert_eq!(
            parse_open_files_soft_limit("Max open files  unlimited  unlimited"),
            None
        );
    }

    #[test]
    fn default_cap_leaves_room_below_the_descriptor_limit() {
        let cap = default_max_clients();
        if let Some(open_files) = open_files_soft_limit() {
            assert!(cap + RESERVED_DESCRIPTORS <= open_files.max(RESERVED_DESCRIPTORS + 1));
        }
        assert!(cap >= 1);
    }
}
