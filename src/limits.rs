//! How many clients this process can hold before the operating system says no.
//!
//! One client costs one file descriptor (its socket) and one thread. Linux limits both,
//! in six places, and the first one reached decides:
//!
//! | limit | where it is read | what happens past it |
//! |---|---|---|
//! | open files | soft `RLIMIT_NOFILE`, "Max open files" of `/proc/self/limits` | `accept()` fails with `EMFILE` |
//! | memory maps | `vm.max_map_count` (65,530 by default), per process | the process *aborts* |
//! | threads of the machine | `kernel.threads-max` | `thread::spawn` fails |
//! | process ids of the machine | `kernel.pid_max` (32,768 on many machines): every thread takes one | `thread::spawn` fails |
//! | processes of the user | soft `RLIMIT_NPROC`, "Max processes": it counts threads | `thread::spawn` fails |
//! | tasks of the cgroup | `pids.max` of our cgroup and its parents (systemd's `TasksMax`, a container's pids limit) | `thread::spawn` fails |
//!
//! Memory maps are the treacherous one: every std thread takes four (its stack and its
//! guard page, and the same again for the alternate signal stack std gives a thread to
//! report a stack overflow), and past the limit `thread::spawn` still returns `Ok` just
//! before the process dies. So the default cap stops well short of every limit: it is
//! the smallest of their budgets ([`budgets`]), each minus headroom, and a crowd is
//! refused (see `admission.rs`) instead of crashing the server. The two machine-wide
//! limits and the cgroup's are shared with everything else running, so what is in use
//! already comes off first.
//!
//! A `--max-clients` above that still starts (the operator may know better), with one
//! warning naming the limit that binds and how to raise it ([`warning_for`]).

use std::fs;
use std::path::{Path, PathBuf};

/// Connections reading or answering requests at once, apart from streams
/// (`--max-requests`, see `shared.rs`). An ordinary request holds its slot for a
/// millisecond; a slow or idle one for up to `--head-timeout-s`, so this is also how
/// many slow heads (slowloris) the server absorbs before newcomers wait. A flood costs
/// at most this many threads, and they come out of every budget below before streams.
pub const DEFAULT_MAX_REQUESTS: usize = 1024;
/// Sockets the waiting room may hold at once (`admission.rs`); as many more may be on
/// their way in.
pub const WAITING_ROOM_SOCKETS: usize = 1024;
/// Descriptors kept back for the listeners, stdio, logging, the shutdown wake-up and
/// Redis (64), short requests, as many keep-alive connections idle between requests
/// (`shared.rs`), and the waiting room, when the limit has room for them.
const RESERVED_DESCRIPTORS: usize = 64 + 2 * DEFAULT_MAX_REQUESTS + 2 * WAITING_ROOM_SOCKETS;
/// Threads kept back for the server's own (accept loop, client watch, waiting room,
/// history expiry, Redis tail, log replays: 64), for short requests, and for as many keep-alive
/// connections idle between requests (each keeps its thread, not its request slot).
/// With a `--max-requests` larger than the default, lower `--max-clients` by twice
/// the difference.
const RESERVED_THREADS: usize = 64 + 2 * DEFAULT_MAX_REQUESTS;
/// Memory maps each client thread costs, with room for allocator arenas.
const MAPS_PER_THREAD: usize = 5;
/// Used when `/proc` cannot be read (not Linux): a cap that is safe almost anywhere.
const FALLBACK_MAX_CLIENTS: usize = 1000;
/// Where cgroup v2 is mounted, and where cgroup v1 mounts its `pids` controller.
const CGROUP_V2: &str = "/sys/fs/cgroup";
const CGROUP_V1_PIDS: &str = "/sys/fs/cgroup/pids";

/// One of the operating system's limits on clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    OpenFiles,
    MemoryMaps,
    ThreadsMax,
    PidMax,
    UserProcesses,
    CgroupTasks,
}

impl Limit {
    /// What the limit is called, as an operator would look for it.
    pub fn name(self) -> &'static str {
        match self {
            Limit::OpenFiles => "open files (ulimit -n)",
            Limit::MemoryMaps => "vm.max_map_count",
            Limit::ThreadsMax => "kernel.threads-max",
            Limit::PidMax => "kernel.pid_max",
            Limit::UserProcesses => "processes of the user (ulimit -u)",
            Limit::CgroupTasks => "the cgroup's pids.max",
        }
    }

    /// How to raise it.
    pub fn how_to_raise(self) -> &'static str {
        match self {
            Limit::OpenFiles => {
                "raise the hard limit: ulimit -Hn 65536 as root, LimitNOFILE= under systemd \
                 (the server raises its soft limit to it)"
            }
            Limit::MemoryMaps => "sudo sysctl vm.max_map_count=262144",
            Limit::ThreadsMax => "sudo sysctl kernel.threads-max=200000",
            Limit::PidMax => "sudo sysctl kernel.pid_max=4194304",
            Limit::UserProcesses => "ulimit -u 65536 (LimitNPROC= under systemd)",
            Limit::CgroupTasks => "TasksMax= under systemd, --pids-limit for a container",
        }
    }
}

/// How many clients one limit leaves room for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub limit: Limit,
    /// The limit as the system states it.
    pub value: usize,
    /// Clients it leaves room for, after what is in use and the headroom.
    pub clients: usize,
}

/// The text of every file the limits are read from; `None` for one that could not be
/// read. A struct of text so that the tests can give samples.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// `/proc/self/limits`.
    pub limits: Option<String>,
    /// `/proc/sys/vm/max_map_count`, `/proc/sys/kernel/threads-max`, `.../pid_max`.
    pub max_map_count: Option<String>,
    pub threads_max: Option<String>,
    pub pid_max: Option<String>,
    /// `/proc/loadavg`, whose fourth field counts the machine's threads.
    pub loadavg: Option<String>,
    /// `pids.max` and `pids.current` of our cgroup, then of each parent up to the root.
    pub cgroup_pids: Vec<(String, Option<String>)>,
}

impl Sources {
    /// Reads the files of this machine and process.
    pub fn read() -> Sources {
        let read = |path: &Path| fs::read_to_string(path).ok();
        let cgroup = read(Path::new("/proc/self/cgroup")).unwrap_or_default();
        let cgroup_pids = cgroup_dirs(&cgroup)
            .iter()
            .filter_map(|dir| {
                Some((
                    read(&dir.join("pids.max"))?,
                    read(&dir.join("pids.current")),
                ))
            })
            .collect();
        Sources {
            limits: read(Path::new("/proc/self/limits")),
            max_map_count: read(Path::new("/proc/sys/vm/max_map_count")),
            threads_max: read(Path::new("/proc/sys/kernel/threads-max")),
            pid_max: read(Path::new("/proc/sys/kernel/pid_max")),
            loadavg: read(Path::new("/proc/loadavg")),
            cgroup_pids,
        }
    }
}

/// The budget of every limit that could be read (a limit that is "unlimited" or
/// unreadable leaves no budget).
pub fn budgets(sources: &Sources) -> Vec<Budget> {
    let number = |text: &Option<String>| text.as_deref().and_then(parse_number);
    let limit_row = |row| {
        sources
            .limits
            .as_deref()
            .and_then(|t| parse_soft_limit(t, row))
    };
    // Threads running on the machine now: they hold pids and count against threads-max.
    let in_use = sources
        .loadavg
        .as_deref()
        .and_then(parse_threads_running)
        .unwrap_or(0);
    let mut budgets = Vec::new();
    let mut add = |limit, value: Option<usize>, clients: &dyn Fn(usize) -> usize| {
        if let Some(value) = value {
            budgets.push(Budget {
                limit,
                value,
                clients: clients(value),
            });
        }
    };
    add(Limit::OpenFiles, limit_row("Max open files"), &|n| {
        n - reserved_descriptors(n)
    });
    add(Limit::MemoryMaps, number(&sources.max_map_count), &|n| {
        (n / MAPS_PER_THREAD).saturating_sub(RESERVED_THREADS)
    });
    let machine_wide = |n: usize| n.saturating_sub(in_use + RESERVED_THREADS);
    add(
        Limit::ThreadsMax,
        number(&sources.threads_max),
        &machine_wide,
    );
    add(Limit::PidMax, number(&sources.pid_max), &machine_wide);
    add(Limit::UserProcesses, limit_row("Max processes"), &|n| {
        n.saturating_sub(RESERVED_THREADS)
    });
    // Of our cgroup and its parents, the one with the least room left binds.
    let cgroup = sources
        .cgroup_pids
        .iter()
        .filter_map(|(max, current)| {
            let max = parse_number(max)?;
            let current = current.as_deref().and_then(parse_number).unwrap_or(0);
            Some((max, max.saturating_sub(current + RESERVED_THREADS)))
        })
        .min_by_key(|&(_, room)| room);
    if let Some((max, room)) = cgroup {
        add(Limit::CgroupTasks, Some(max), &|_| room);
    }
    budgets
}

/// Descriptors kept back from a limit of `open_files`: the full reserve when it is
/// under half the limit, else half. A fixed reserve of about 3,100 would leave a
/// stock shell's 1,024 (when the hard limit is 1,024 too, so `open_files.rs` cannot
/// raise it) no stream at all; with half, it holds 512 streams, and the short
/// requests and the waiting room share the other half (past it `accept()` fails with
/// `EMFILE`, and the accept loop waits a moment and tries again, see `server.rs`).
fn reserved_descriptors(open_files: usize) -> usize {
    RESERVED_DESCRIPTORS.min(open_files / 2)
}

/// The budget that binds: the one with the fewest clients.
pub fn binding(budgets: &[Budget]) -> Option<Budget> {
    budgets.iter().copied().min_by_key(|budget| budget.clients)
}

/// The client cap that fits every limit of this process and machine.
pub fn default_max_clients() -> usize {
    binding(&budgets(&Sources::read())).map_or(FALLBACK_MAX_CLIENTS, |b| b.clients.max(1))
}

/// The warning for a stream cap above what the limits allow, naming the limit that
/// binds and how to raise it; `None` when the cap fits. `set_by_flag` says whether
/// the operator gave `--max-clients`: a default cap is never blamed on a flag nobody
/// passed (it exceeds the limits only when they leave room for no stream at all).
pub fn warning_for(max_clients: usize, set_by_flag: bool, budgets: &[Budget]) -> Option<String> {
    let binding = binding(budgets)?;
    let cap = if set_by_flag {
        format!("--max-clients {max_clients} is")
    } else {
        format!("the default stream cap ({max_clients}) is")
    };
    (max_clients > binding.clients).then(|| {
        format!(
            "{cap} above what {} allows ({}, room for about {} \
             clients): past it new clients fail or the process aborts. Raise it: {}",
            binding.limit.name(),
            binding.value,
            binding.clients,
            binding.limit.how_to_raise()
        )
    })
}

/// The soft "Max open files" limit of this process, if `/proc/self/limits` says.
pub fn open_files_soft_limit() -> Option<usize> {
    let limits = fs::read_to_string("/proc/self/limits").ok()?;
    parse_soft_limit(&limits, "Max open files")
}

/// Finds the soft limit in a row of `/proc/self/limits` such as
/// `Max open files            20000                20000                files`.
fn parse_soft_limit(limits: &str, row: &str) -> Option<usize> {
    let line = limits.lines().find(|line| line.starts_with(row))?;
    // "unlimited" does not parse as a number: no budget from this limit.
    line[row.len()..].split_whitespace().next()?.parse().ok()
}

/// A file holding one number (`pids.max` holds `max` when there is no limit).
fn parse_number(text: &str) -> Option<usize> {
    text.trim().parse().ok()
}

/// The threads on the machine now: `/proc/loadavg` reads `0.10 0.20 0.30 2/345 6789`,
/// and 345 is the number of scheduling entities (threads) that exist.
fn parse_threads_running(loadavg: &str) -> Option<usize> {
    loadavg
        .split_whitespace()
        .nth(3)?
        .split_once('/')?
        .1
        .parse()
        .ok()
}

/// The folders holding our cgroup's `pids.max`, ours first, then each parent. From
/// `/proc/self/cgroup`: with cgroup v1's `pids` controller, the line
/// `8:pids:/system.slice/x.service` (under `/sys/fs/cgroup/pids`); with v2 only, the
/// line `0::/system.slice/x.service` (under `/sys/fs/cgroup`). See cgroups(7).
fn cgroup_dirs(cgroup: &str) -> Vec<PathBuf> {
    let mut v1 = None;
    let mut v2 = None;
    for line in cgroup.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if controllers.split(',').any(|c| c == "pids") {
            v1 = Some(path);
        } else if controllers.is_empty() {
            v2 = Some(path);
        }
    }
    let (base, path) = match (v1, v2) {
        (Some(path), _) => (CGROUP_V1_PIDS, path),
        (None, Some(path)) => (CGROUP_V2, path),
        (None, None) => return Vec::new(),
    };
    let mut dirs = Vec::new();
    let mut current = Some(Path::new(path));
    while let Some(dir) = current {
        let relative = dir.strip_prefix("/").unwrap_or(dir);
        dirs.push(Path::new(base).join(relative));
        current = dir.parent();
    }
    dirs
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
