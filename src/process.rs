//! What the kernel says about this process, for the standard `process_*` families of
//! `/metrics` and for `sse_threads`: read from `/proc/self` at each scrape (proc(5)).
//!
//! | family | file | field |
//! |---|---|---|
//! | `process_cpu_seconds_total` | `/proc/self/stat` | `utime` + `stime` (fields 14, 15), in clock ticks |
//! | `process_start_time_seconds` | `/proc/self/stat`, `/proc/stat` | `starttime` (field 22), ticks after `btime` |
//! | `process_resident_memory_bytes` | `/proc/self/status` | `VmRSS`, in kB |
//! | `sse_threads` | `/proc/self/status` | `Threads` |
//! | `process_open_fds` | `/proc/self/fd` | one entry per descriptor |
//! | `process_max_fds` | `/proc/self/limits` | "Max open files", soft |
//!
//! Each parser takes the file's text, so the tests can feed it samples. A file that
//! cannot be read (not Linux) leaves its family out of `/metrics` rather than report
//! a made-up zero.

use std::fs;

use crate::limits;

/// Clock ticks per second in `/proc/self/stat`. The kernel reports these fields in
/// USER_HZ, which is 100 on every Linux architecture (std has no `sysconf` to ask).
const TICKS_PER_SECOND: f64 = 100.0;

/// One reading of the process's counters; `None` for what could not be read.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct ProcessSample {
    pub cpu_seconds: Option<f64>,
    pub start_time_seconds: Option<f64>,
    pub resident_bytes: Option<u64>,
    pub threads: Option<u64>,
    pub open_fds: Option<u64>,
    pub max_fds: Option<u64>,
}

impl ProcessSample {
    /// Reads `/proc` now.
    pub fn read() -> ProcessSample {
        let stat = fs::read_to_string("/proc/self/stat").ok();
        let times = stat.as_deref().and_then(parse_stat);
        let boot_time = fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|text| parse_boot_time(&text));
        let status = fs::read_to_string("/proc/self/status").ok();
        let status_field = |name| status.as_deref().and_then(|text| status_value(text, name));
        ProcessSample {
            cpu_seconds: times.map(|times| times.cpu_ticks as f64 / TICKS_PER_SECOND),
            start_time_seconds: times
                .zip(boot_time)
                .map(|(times, boot)| boot as f64 + times.start_ticks as f64 / TICKS_PER_SECOND),
            resident_bytes: status_field("VmRSS").map(|kb| kb * 1024),
            threads: status_field("Threads"),
            open_fds: fs::read_dir("/proc/self/fd")
                .ok()
                .map(|entries| entries.count() as u64),
            max_fds: limits::open_files_soft_limit().map(|n| n as u64),
        }
    }
}

/// The CPU time and start time of `/proc/self/stat`, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StatTimes {
    cpu_ticks: u64,
    start_ticks: u64,
}

/// Reads `utime`, `stime` and `starttime` from a `/proc/PID/stat` line. The second
/// field is the command name in parentheses, and may itself hold spaces and
/// parentheses, so fields are counted from the *last* `)`.
fn parse_stat(stat: &str) -> Option<StatTimes> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // After the name comes field 3 (state); field N is at index N - 3.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |number: usize| fields.get(number - 3)?.parse::<u64>().ok();
    Some(StatTimes {
        cpu_ticks: field(14)? + field(15)?,
        start_ticks: field(22)?,
    })
}

/// `btime` of `/proc/stat`: when the machine booted, in seconds since the epoch.
fn parse_boot_time(stat: &str) -> Option<u64> {
    stat.lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

/// The number of a `Name:   value [kB]` line of `/proc/self/status`.
fn status_value(status: &str, name: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_times_even_with_a_parenthesis_in_the_name() {
        // Fields 1-22 of a real line, with a hostile command name.
        let stat = "4242 (sse) (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 \
                    250 130 0 0 20 0 12 0 987654 1000000 500 18446744073709551615";
        assert_eq!(
            parse_stat(stat),
            Some(StatTimes {
                cpu_ticks: 380,
                start_ticks: 987654
            })
        );
        assert_eq!(parse_stat("4242 (truncated) S 1"), None);
    }

    #[test]
    fn reads_boot_time_and_status_fields() {
        let stat = "cpu  1 2 3 4\nintr 5\nctxt 6\nbtime 1764460000\nprocesses 7\n";
        assert_eq!(parse_boot_time(stat), Some(1_764_460_000));
        let status = "Name:\tsse-server\nVmPeak:\t  20000 kB\nVmRSS:\t    5120 kB\n\
                      Threads:\t12\nSigQ:\t0/63460\n";
        assert_eq!(status_value(status, "VmRSS"), Some(5120));
        assert_eq!(status_value(status, "Threads"), Some(12));
        assert_eq!(status_value(status, "VmSwap"), None);
    }

    #[test]
    fn this_process_can_be_read_on_linux() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let sample = ProcessSample::read();
        assert!(sample.threads.is_some_and(|threads| threads >= 1));
        assert!(sample.open_fds.is_some_and(|fds| fds >= 3));
        assert!(sample.resident_bytes.is_some_and(|bytes| bytes > 0));
        let started = sample.start_time_seconds.expect("a start time");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        // Started in the past, and not before 2020.
        assert!(
            started <= now + 1.0 && started > 1_577_836_800.0,
            "{started}"
        );
    }
}
