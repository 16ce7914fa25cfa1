//! The server under test as a child process, and what `/proc` tells about it:
//! resident memory, threads, descriptors and CPU time. Shared by the load benchmark
//! (which pins the server to a core) and the abuse tests in `tests/abuse.rs`.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Linux reports CPU time in clock ticks of 1/100 s (`getconf CLK_TCK`).
const TICKS_PER_SECOND: f64 = 100.0;

/// A running `sse-server`.
pub struct ServerProcess {
    child: Child,
    pub port: u16,
}

/// One reading of a process's resources.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub at: Instant,
    pub rss_kib: u64,
    pub threads: u64,
    pub descriptors: u64,
    pub cpu_seconds: f64,
}

impl ServerProcess {
    /// Starts the server pinned to `core` with `taskset`, on a free loopback port, and
    /// waits until it accepts connections.
    pub fn start(binary: &Path, core: usize, extra_args: &[String]) -> ServerProcess {
        let port = free_port();
        let mut command = Command::new("taskset");
        command
            .args(["-c", &core.to_string()])
            .arg(binary)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            // The load generator's requests say `Host: bench` (see src/http/host.rs).
            .args(["--allowed-host", "bench"])
            // No drain window: the shutdown scenario times the end itself.
            .args(["--drain-window-s", "0"])
            // Every connection of the load generator comes from 127.0.0.1, one client
            // address, where a real crowd comes from many: the per-client shares (a
            // quarter of each cap, src/shares.rs) would refuse three quarters of it.
            .args(["--max-streams-per-client", "1000000"])
            .args(["--max-requests-per-client", "1000000"])
            .args(extra_args)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        ServerProcess::spawn(command, port)
    }

    /// Starts a reference server pinned to `core`: `program` followed by `args`, then
    /// the port (both references take `PORT` as their last argument).
    pub fn start_reference(program: &Path, args: &[&Path], core: usize) -> ServerProcess {
        let port = free_port();
        let mut command = Command::new("taskset");
        command
            .args(["-c", &core.to_string()])
            .arg(program)
            .args(args)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        ServerProcess::spawn(command, port)
    }

    /// Runs `command`, which must start the server on `port` and exec it (so that the
    /// child's pid is the server's), and waits until it accepts connections.
    pub fn spawn(mut command: Command, port: u16) -> ServerProcess {
        let child = command.spawn().expect("start the server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "server did not start listening");
            std::thread::sleep(Duration::from_millis(10));
        }
        ServerProcess { child, port }
    }

    /// The server's own pid (taskset execs it, so the child's pid is the server's).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn sample(&self) -> Sample {
        sample(&format!("/proc/{}", self.pid()))
    }

    /// The CPU time of the process's live threads, in nanoseconds summed from each
    /// thread's `/proc/<pid>/task/<tid>/schedstat` (its first field is the time the
    /// thread has run). `/proc/<pid>/stat` counts in 10 ms ticks, too coarse for the
    /// few milliseconds a fan-out to 100 streams costs; this is exact, but reads a file
    /// per thread, so it is only taken around measurements that no thread leaves.
    pub fn cpu_seconds_exact(&self) -> f64 {
        let Ok(tasks) = fs::read_dir(format!("/proc/{}/task", self.pid())) else {
            return 0.0;
        };
        let nanoseconds: u64 = tasks
            .filter_map(|task| {
                let path = task.ok()?.path().join("schedstat");
                let stat = fs::read_to_string(path).ok()?;
                stat.split_whitespace().next()?.parse::<u64>().ok()
            })
            .sum();
        nanoseconds as f64 / 1e9
    }

    /// The process's memory maps (lines of `/proc/<pid>/maps`), which
    /// `vm.max_map_count` limits. Reading them holds the process's memory map lock, so
    /// this is not part of [`sample`](Self::sample), which runs inside measurements.
    pub fn maps(&self) -> u64 {
        fs::read_to_string(format!("/proc/{}/maps", self.pid()))
            .map(|maps| maps.lines().count() as u64)
            .unwrap_or(0)
    }

    /// Sends SIGINT, as Ctrl-C would, and returns the time until the process exited
    /// and whether it exited with status 0. Gives up (and kills it) after `limit`.
    pub fn interrupt_and_wait(mut self, limit: Duration) -> (Duration, bool) {
        let started = Instant::now();
        let sent = Command::new("kill")
            .args(["-INT", &self.pid().to_string()])
            .status();
        assert!(
            sent.is_ok_and(|status| status.success()),
            "could not signal the server"
        );
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the server") {
                return (started.elapsed(), status.success());
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return (started.elapsed(), false);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Only if a scenario panicked: never leave our server running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// This load generator's own CPU time, to show it is not the bottleneck.
pub fn own_cpu_seconds() -> f64 {
    cpu_seconds("/proc/self")
}

fn sample(proc_dir: &str) -> Sample {
    let status = fs::read_to_string(format!("{proc_dir}/status")).unwrap_or_default();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|value| value.parse().ok())
            .unwrap_or(0)
    };
    let descriptors = fs::read_dir(format!("{proc_dir}/fd"))
        .map(|dir| dir.count() as u64)
        .unwrap_or(0);
    Sample {
        at: Instant::now(),
        rss_kib: field("VmRSS:"),
        threads: field("Threads:"),
        descriptors,
        cpu_seconds: cpu_seconds(proc_dir),
    }
}

/// utime + stime from `/proc/<pid>/stat` (fields 14 and 15, after the command name,
/// which may contain spaces and is wrapped in parentheses).
fn cpu_seconds(proc_dir: &str) -> f64 {
    let stat = fs::read_to_string(format!("{proc_dir}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // After ")": state is index 0, so utime (field 14) is index 11 and stime index 12.
    (ticks(11) + ticks(12)) as f64 / TICKS_PER_SECOND
}

/// A port that was free a moment ago (the OS picks it; we release it at once).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}
