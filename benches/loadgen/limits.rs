//! The largest N this machine allows, and which limit sets it.
//!
//! Every subscriber costs a socket on each side (the server's descriptor and the load
//! generator's), and for sse-server a thread: a process id from the kernel's table
//! (`kernel.pid_max`, shared by every thread on the machine) and the memory maps of its
//! stack (`vm.max_map_count`, per process). Every connection from the load generator to
//! one server port also takes a local port (`net.ipv4.ip_local_port_range`). Each budget
//! below is what is left of one limit for the streams of one run; the sweep's largest N
//! is the smallest of them, rounded down, so that no run fails for a reason the report
//! does not name.

use std::fs;
use std::thread;
use std::time::Duration;

/// Descriptors kept back in each process, for listeners, the publisher, stdio and
/// what the runtimes open (sse-server keeps 64 back for itself, `src/limits.rs`).
const RESERVED_DESCRIPTORS: usize = 256;
/// Process ids kept back for the rest of the machine (compilers, shells, daemons).
const RESERVED_PIDS: usize = 2_000;
/// Memory maps kept back in the server for what is not a stream's thread: its
/// binary, libraries, heap and allocator arenas (a few hundred), with room to spare.
/// Running out is not an error a server can answer: the process aborts.
const RESERVED_MAPS: usize = 1_000;
/// Threads started to count the memory maps one thread costs.
const PROBE_THREADS: usize = 500;
/// The stack of the probe's threads (sse-server's `--thread-stack-kib` default).
const PROBE_STACK_BYTES: usize = 128 * 1024;
/// The largest N is a multiple of this.
const ROUND_TO: usize = 500;

/// One limit and how many streams it leaves room for.
pub struct Budget {
    pub limit: String,
    pub value: String,
    pub streams: usize,
    /// Whether the limit is the machine's (or the load generator's), shared by every
    /// instance of a cluster, rather than each server process's own.
    pub shared: bool,
}

/// The budgets of this machine, smallest first.
pub fn budgets() -> Vec<Budget> {
    let mut budgets = Vec::new();
    if let Some(open_files) = open_files_soft_limit() {
        budgets.push(Budget {
            limit: "open files per process (`ulimit -n`; the server's and the load \
                    generator's sockets)"
                .into(),
            value: open_files.to_string(),
            streams: open_files.saturating_sub(RESERVED_DESCRIPTORS),
            shared: true,
        });
    }
    if let (Some(pid_max), Some(in_use)) = (read_number("/proc/sys/kernel/pid_max"), threads()) {
        budgets.push(Budget {
            limit: format!(
                "process ids (`kernel.pid_max`, one per thread, machine-wide; {in_use} in \
                 use when the bench started)"
            ),
            value: pid_max.to_string(),
            streams: pid_max.saturating_sub(in_use + RESERVED_PIDS),
            shared: true,
        });
    }
    if let (Some(max_maps), Some(per_thread)) =
        (read_number("/proc/sys/vm/max_map_count"), maps_per_thread())
    {
        budgets.push(Budget {
            limit: format!(
                "memory maps per process (`vm.max_map_count`; a std thread takes \
                 {per_thread:.0}: its stack, its guard page, and the same again for the \
                 alternate signal stack that reports a stack overflow)"
            ),
            value: max_maps.to_string(),
            streams: (max_maps.saturating_sub(RESERVED_MAPS) as f64 / per_thread.max(1.0)) as usize,
            shared: false,
        });
    }
    if let Some((low, high)) = port_range() {
        budgets.push(Budget {
            limit: "local ports to one server port (`net.ipv4.ip_local_port_range`)".into(),
            value: format!("{low}–{high}"),
            streams: high + 1 - low,
            shared: false,
        });
    }
    budgets.sort_by_key(|budget| budget.streams);
    budgets
}

/// The largest N the budgets allow, rounded down to [`ROUND_TO`].
pub fn largest_n(budgets: &[Budget]) -> usize {
    let room = budgets.iter().map(|b| b.streams).min().unwrap_or(10_000);
    (room / ROUND_TO * ROUND_TO).max(ROUND_TO)
}

/// Streams per instance for a cluster of `instances`: at most `wanted`, and within
/// each process's own limits and an equal share of the machine's. Returns it with the
/// limit that set it (or "wanted").
pub fn per_instance(budgets: &[Budget], instances: usize, wanted: usize) -> (usize, String) {
    let mut best = (wanted, "the scenario's size".to_string());
    for budget in budgets {
        let room = if budget.shared {
            budget.streams / instances
        } else {
            budget.streams
        };
        if room < best.0 {
            best = (room, budget.limit.clone());
        }
    }
    ((best.0 / ROUND_TO * ROUND_TO).max(ROUND_TO), best.1)
}

fn read_number(path: &str) -> Option<usize> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn open_files_soft_limit() -> Option<usize> {
    let limits = fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Threads on the machine now: the fourth field of `/proc/loadavg` is
/// `runnable/total` scheduling entities.
fn threads() -> Option<usize> {
    let loadavg = fs::read_to_string("/proc/loadavg").ok()?;
    let entities = loadavg.split_whitespace().nth(3)?;
    entities.split_once('/')?.1.parse().ok()
}

fn port_range() -> Option<(usize, usize)> {
    let range = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut ends = range.split_whitespace().map(|n| n.parse().ok());
    Some((ends.next()??, ends.next()??))
}

/// Memory maps one more thread adds to a process: measured here, by starting
/// [`PROBE_THREADS`] sleeping threads on sse-server's stack size.
fn maps_per_thread() -> Option<f64> {
    let count = || {
        fs::read_to_string("/proc/self/maps")
            .ok()
            .map(|maps| maps.lines().count())
    };
    let before = count()?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let handles: Vec<_> = (0..PROBE_THREADS)
        .map(|_| {
            let stop = stop.clone();
            thread::Builder::new()
                .stack_size(PROBE_STACK_BYTES)
                .spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Acquire) {
                        thread::park_timeout(Duration::from_millis(100));
                    }
                })
                .expect("spawn a probe thread")
        })
        .collect();
    let during = count();
    stop.store(true, std::sync::atomic::Ordering::Release);
    for handle in handles {
        handle.thread().unpark();
        handle.join().expect("probe thread");
    }
    // A thread's maps are whole: fewer than a whole number each means neighbours merged
    // or an allocator arena came and went, which a server's threads cannot count on.
    Some((during?.saturating_sub(before) as f64 / PROBE_THREADS as f64).ceil())
}
