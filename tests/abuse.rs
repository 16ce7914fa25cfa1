//! The abuse suite: the real binary under everything a public port attracts, with
//! bounded counts and times on loopback. Each scenario checks what must hold and
//! prints its figures (`cargo test --test abuse -- --nocapture` shows them).
//!
//! The scenarios run one at a time (they share two CPU cores and measure timing), so
//! each takes the `ONE_AT_A_TIME` lock first.

mod support;

#[path = "../benches/loadgen/process.rs"]
#[allow(dead_code)]
mod process;

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use process::{Sample, ServerProcess, free_port};
use support::{read_until, wait_for};

const BINARY: &str = env!("CARGO_BIN_EXE_sse-server");
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A server process with its log in a file, so a test can check it never panicked.
/// Threads a server has with no client: main (accept loop), the Ctrl-C handler, the
/// waiting room, the client watch and the history expiry.
const IDLE_THREADS: u64 = 5;

struct Target {
    server: Option<ServerProcess>,
    port: u16,
    log_path: std::path::PathBuf,
}

impl Target {
    fn start(args: &[&str]) -> Target {
        Target::start_with(None, args)
    }

    /// `fd_limit`: run the server under `ulimit -n fd_limit`.
    fn start_with(fd_limit: Option<u32>, args: &[&str]) -> Target {
        let port = free_port();
        let log_path =
            std::env::temp_dir().join(format!("sse-abuse-{}-{port}.log", std::process::id()));
        let log = File::create(&log_path).expect("create the log file");
        let mut command = match fd_limit {
            Some(limit) => {
                let mut shell = Command::new("sh");
                shell.args([
                    "-c",
                    &format!("ulimit -n {limit} && exec \"$0\" \"$@\""),
                    BINARY,
                ]);
                shell
            }
            None => Command::new(BINARY),
        };
        command
            // The scenarios' requests say `Host: t` (see http/host.rs).
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--allowed-host", "t"])
            // No drain window: the Ctrl-C scenario is about the end itself.
            .args(["--drain-window-s", "0"])
            // Every scenario's clients share one address, 127.0.0.1; the per-client
            // shares that would then bind first are tested in tests/shares.rs.
            .args(["--max-requests-per-client", "1000000"])
            .args(["--max-streams-per-client", "1000000"])
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log);
        let target = Target {
            server: Some(ServerProcess::spawn(command, port)),
            port,
            log_path,
        };
        // The start-up probe connection must be gone before a scenario counts threads
        // or fills the client slots. Connections are accepted in order, so once a
        // request made after the probe is answered, the probe has its thread; then wait
        // for the idle set: main, the Ctrl-C handler and the lingering thread.
        target.stats();
        wait_for(Duration::from_secs(2), || {
            target.sample().threads <= IDLE_THREADS
        });
        target
    }

    fn server(&self) -> &ServerProcess {
        self.server.as_ref().expect("server running")
    }

    fn sample(&self) -> Sample {
        self.server().sample()
    }

    fn connect(&self) -> TcpStream {
        let socket = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        socket
            .set_write_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        socket
    }

    /// Opens `count` connections, sending `request(n)` on the n-th. Every 50 it waits
    /// until the server has a thread for each: a burst beyond the listen backlog (128)
    /// would otherwise wait a second for a SYN retry, and the scenario would measure
    /// that instead of the server.
    fn open_many(&self, count: usize, request: impl Fn(usize) -> &'static [u8]) -> Vec<TcpStream> {
        // A few threads from earlier requests may still be ending: allow for them.
        const SLACK: usize = 3;
        let threads_before = self.sample().threads as usize;
        let mut sockets = Vec::with_capacity(count);
        for n in 0..count {
            sockets.push(self.send(request(n)));
            if (n + 1) % 50 == 0 || n + 1 == count {
                let expected = (threads_before + n + 1).saturating_sub(SLACK);
                wait_for(Duration::from_secs(5), || {
                    self.sample().threads as usize >= expected
                });
            }
        }
        sockets
    }

    fn send(&self, raw: &[u8]) -> TcpStream {
        let mut socket = self.connect();
        socket.write_all(raw).expect("send");
        socket
    }

    fn stats(&self) -> String {
        let mut socket = self.send(b"GET /stats HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        let response = read_all(&mut socket);
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        response.split_once("\r\n\r\n").unwrap().1.to_string()
    }

    fn stat(&self, name: &str) -> u64 {
        let stats = self.stats();
        let key = format!("\"{name}\": ");
        let start = stats.find(&key).unwrap() + key.len();
        stats[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap()
    }

    fn publish(&self, body: &str) -> Duration {
        let started = Instant::now();
        let head = format!(
            "POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let mut socket = self.send(head.as_bytes());
        socket.write_all(body.as_bytes()).unwrap();
        let response = read_all(&mut socket);
        assert!(response.starts_with("HTTP/1.1 202"), "{response}");
        started.elapsed()
    }

    /// Time from connecting to the first counter event, for a fresh client.
    fn time_to_first_event(&self) -> Duration {
        let started = Instant::now();
        let mut socket = self.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        read_until(&mut socket, "This is event number 1");
        started.elapsed()
    }

    /// SIGINT; returns the time to exit and whether the exit status was 0.
    fn interrupt(&mut self) -> (Duration, bool) {
        self.server
            .take()
            .expect("server running")
            .interrupt_and_wait(Duration::from_secs(10))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if self.server.is_some() && !thread::panicking() {
            let log = self.log();
            assert!(!log.contains("panicked"), "the server panicked:\n{log}");
        }
        let _ = std::fs::remove_file(&self.log_path);
    }
}

/// Reads until the server closes the connection, for at most ten seconds in all (a
/// read timeout alone would not end a stream that keeps sending heartbeats).
fn read_all(socket: &mut TcpStream) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    while Instant::now() < deadline {
        match socket.read(&mut chunk) {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&bytes).into_owned(),
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
        }
    }
    panic!(
        "the connection stayed open; got {:?}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
    );
}

fn figure(scenario: &str, text: String) {
    eprintln!("abuse figure [{scenario}]: {text}");
}

#[test]
fn slow_heads_do_not_delay_new_clients_and_each_gets_408_at_the_deadline() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let target = Target::start(&["--head-timeout-s", "2", "--interval-ms", "20"]);
    let baseline = target.time_to_first_event();
    // 300 connections, each trickling a head one byte at a time that never ends.
    let started = Instant::now();
    let mut slow = target.open_many(300, |_| b"GET / HTTP/1.1\r\nX-Slow: ");
    let connected = started.elapsed();
    let mut under_attack = Vec::new();
    while started.elapsed() < Duration::from_millis(1500) {
        for socket in &mut slow {
            let _ = socket.write_all(b"a");
        }
        under_attack.push(target.time_to_first_event());
        thread::sleep(Duration::from_millis(100));
    }
    let threads_during = target.sample().threads;
    let worst = *under_attack.iter().max().unwrap();
    figure(
        "slowloris",
        format!(
            "time to first event: {baseline:?} before, worst {worst:?} over {} tries under 300 slow heads; server threads {threads_during}",
            under_attack.len()
        ),
    );
    assert!(
        worst < Duration::from_millis(500),
        "a fresh client waited {worst:?}"
    );
    let mut first_answer = None;
    for socket in &mut slow {
        let answer = read_all(socket);
        first_answer.get_or_insert(started.elapsed());
        assert!(
            answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
            "{answer:?}"
        );
    }
    let answered_after = started.elapsed();
    figure(
        "slowloris",
        format!(
            "300 slow heads answered 408 from {first_answer:?} to {answered_after:?} \
             (deadline: 2 s after each connected, the last {connected:?} after the first)"
        ),
    );
    assert!(
        answered_after < Duration::from_millis(3500),
        "408s came late: {answered_after:?}"
    );
    assert!(
        wait_for(Duration::from_secs(2), || target.sample().threads
            <= IDLE_THREADS)
        .is_some(),
        "threads left behind"
    );
}

#[test]
fn malformed_and_oversized_requests_get_the_right_status_and_nothing_breaks() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let target = Target::start(&["--head-timeout-s", "2", "--interval-ms", "20"]);
    let garbage: Vec<u8> = (0..=255u8).cycle().take(20_000).collect();
    let huge_line = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(100_000));
    let huge_header = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "b".repeat(20_000)
    );
    let many_headers = format!(
        "GET / HTTP/1.1\r\nHost: t\r\n{}\r\n",
        "X-H: 1\r\n".repeat(500)
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("huge request line", huge_line.into_bytes(), "431"),
        ("huge header", huge_header.into_bytes(), "431"),
        ("too many headers", many_headers.into_bytes(), "431"),
        ("binary garbage", garbage, "400"),
        ("NUL in the target", b"GET /\0 HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), "400"),
        ("bare LF line ends", b"GET / HTTP/1.1\nHost: t\n\n".to_vec(), "400"),
        ("HTTP/0.9 request", b"GET /\r\n\r\n".to_vec(), "400"),
        ("unknown method", b"BREW /events HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), "501"),
        ("lower-case method", b"get /stats HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), "501"),
        ("absolute form", b"GET http://localhost/stats HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".to_vec(), "200"),
        ("asterisk for OPTIONS", b"OPTIONS * HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".to_vec(), "204"),
        ("asterisk for GET", b"GET * HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), "400"),
        ("dot-dot path", b"GET /../stats HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".to_vec(), "404"),
        ("percent-encoded path", b"GET /%73tats HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".to_vec(), "404"),
        ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(), "505"),
        ("conflicting Content-Length", b"POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd".to_vec(), "400"),
        ("Content-Length list that disagrees", b"POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: 3, 4\r\n\r\nabcd".to_vec(), "400"),
        ("Transfer-Encoding with Content-Length", b"POST /publish HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n".to_vec(), "400"),
        ("Transfer-Encoding alone", b"POST /publish HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n".to_vec(), "501"),
        ("space before colon", b"GET / HTTP/1.1\r\nHost : t\r\n\r\n".to_vec(), "400"),
        ("two Host headers", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".to_vec(), "400"),
        ("body over the limit", format!("POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: 70000\r\n\r\n{}", "x".repeat(70_000)).into_bytes(), "413"),
    ];
    for (name, request, status) in &cases {
        let mut socket = target.connect();
        // Write what the server will take; it may answer and close before reading it all.
        let _ = socket.write_all(request);
        let _ = socket.shutdown(Shutdown::Write);
        let answer = read_all(&mut socket);
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{name}: expected {status}, got {:?}",
            &answer[..answer.len().min(120)]
        );
    }
    // A repeated but identical Content-Length is allowed and publishes once.
    let mut same = target.send(b"POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi");
    assert!(read_all(&mut same).starts_with("HTTP/1.1 202"));
    assert_eq!(
        target.stat("messages_published"),
        1,
        "no refused request may publish"
    );
    let first_event = target.time_to_first_event();
    figure(
        "malformed",
        format!(
            "{} hostile requests answered with the right status; a fresh client then got its first event in {first_event:?}",
            cases.len()
        ),
    );
}

#[test]
fn subscribers_that_stop_reading_are_dropped_and_delay_no_one() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let target = Target::start(&["--write-timeout-s", "1", "--history", "200"]);
    let baseline = target.sample();
    let mut stalled = target.open_many(50, |_| b"GET /subscribe HTTP/1.1\r\nHost: t\r\n\r\n");
    for socket in &mut stalled {
        read_until(socket, "retry: 3000");
    }
    // A healthy subscriber reads everything on its own thread and timestamps arrivals.
    let mut healthy = target.send(b"GET /subscribe HTTP/1.1\r\nHost: t\r\n\r\n");
    read_until(&mut healthy, "retry");
    assert!(wait_for(Duration::from_secs(5), || target.stat("subscribers") == 51).is_some());
    let reader = thread::spawn(move || {
        let mut seen = 0usize;
        let mut chunk = vec![0u8; 256 * 1024];
        let mut tail = Vec::new();
        let started = Instant::now();
        while seen < 300 && started.elapsed() < Duration::from_secs(30) {
            let n = healthy.read(&mut chunk).unwrap_or(0);
            assert!(
                n > 0,
                "the healthy subscriber was cut off after {seen} messages"
            );
            tail.extend_from_slice(&chunk[..n]);
            seen += tail.windows(7).filter(|w| w == b"\ndata: ").count();
            let keep = tail.len().saturating_sub(6);
            tail.drain(..keep);
        }
        // The socket is handed back: closing it would (rightly) count as leaving.
        (seen, started.elapsed(), healthy)
    });
    let message = "m".repeat(60_000);
    let mut slowest_publish = Duration::ZERO;
    let mut peak_rss = 0;
    for _ in 0..300 {
        slowest_publish = slowest_publish.max(target.publish(&message));
        peak_rss = peak_rss.max(target.sample().rss_kib);
    }
    let (seen, healthy_took, _healthy) = reader.join().expect("healthy reader");
    let dropped_after = wait_for(Duration::from_secs(6), || target.stat("subscribers") == 1);
    let after = target.sample();
    figure(
        "stalled readers",
        format!(
            "300 x 60 kB to 1 healthy + 50 non-reading subscribers: slowest publish {slowest_publish:?}, healthy got {seen} in {healthy_took:?}; \
         stalled dropped within {dropped_after:?} of the last publish; RSS {} KiB before, peak {peak_rss} KiB, {} KiB after; threads {} after",
            baseline.rss_kib, after.rss_kib, after.threads
        ),
    );
    assert_eq!(seen, 300);
    assert!(
        slowest_publish < Duration::from_millis(500),
        "a publish waited {slowest_publish:?}"
    );
    assert!(
        dropped_after.is_some(),
        "stalled subscribers were not dropped: {}",
        target.stats()
    );
    // Bounded: the history (200 x 60 kB = 12 MB) plus at most one batch per subscriber.
    assert!(
        peak_rss < baseline.rss_kib + 64 * 1024,
        "peak RSS {peak_rss} KiB"
    );
    drop(stalled);
}

#[test]
fn thousands_of_reset_connections_are_released_within_a_heartbeat() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let target = Target::start(&["--heartbeat-s", "1", "--interval-ms", "60000"]);
    let baseline = target.sample();
    let mut clients = target.open_many(2000, |n| {
        if n % 2 == 0 {
            b"GET /subscribe HTTP/1.1\r\nHost: t\r\n\r\n"
        } else {
            b"GET /events HTTP/1.1\r\nHost: t\r\n\r\n"
        }
    });
    for socket in &mut clients {
        // Read one byte only: the rest stays unread, so closing sends a TCP reset.
        let mut first = [0u8; 1];
        socket.read_exact(&mut first).expect("stream started");
    }
    let open = target.sample();
    assert_eq!(target.stat("streams_open"), 2000);
    let closed_at = Instant::now();
    drop(clients);
    let released = wait_for(Duration::from_secs(4), || {
        let now = target.sample();
        now.threads <= baseline.threads && now.descriptors <= baseline.descriptors
    });
    let after = target.sample();
    figure(
        "resets",
        format!(
            "2000 streams reset: threads {} -> {} -> {}, descriptors {} -> {} -> {}, released within {:?} (heartbeat 1 s)",
            baseline.threads,
            open.threads,
            after.threads,
            baseline.descriptors,
            open.descriptors,
            after.descriptors,
            released
        ),
    );
    assert!(
        released.is_some() && closed_at.elapsed() < Duration::from_secs(4),
        "not released: {after:?}"
    );
    let stats = target.stats();
    assert!(
        stats.contains("\"streams_open\": 0,") && stats.contains("\"subscribers\": 0,"),
        "{stats}"
    );
}

#[test]
fn past_max_clients_new_connections_wait_briefly_then_get_a_refusal_they_act_on() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let target = Target::start(&[
        "--max-clients",
        "20",
        "--interval-ms",
        "60000",
        "--admission-wait-ms",
        "300",
    ]);
    let mut streams = target.open_many(20, |_| b"GET /subscribe HTTP/1.1\r\nHost: t\r\n\r\n");
    for socket in &mut streams {
        read_until(socket, "retry: 3000");
    }
    // A plain client is told to come back later, at a spread time.
    let started = Instant::now();
    let mut refused = target.send(b"GET /events HTTP/1.1\r\nHost: t\r\n\r\n");
    let answer = read_all(&mut refused);
    let refused_in = started.elapsed();
    assert!(
        answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{answer}"
    );
    let retry_after: u64 = answer
        .split("\r\nRetry-After: ")
        .nth(1)
        .and_then(|rest| rest.split("\r\n").next())
        .and_then(|secs| secs.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After in {answer}"));
    assert!((1..=5).contains(&retry_after), "{answer}");
    // An EventSource gets a 200 stream that tells it when to reconnect, and ends.
    let mut browser =
        target.send(b"GET /subscribe HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n");
    let answer = read_all(&mut browser);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        answer.contains("\r\nContent-Type: text/event-stream\r\n"),
        "{answer}"
    );
    let retry_ms: u64 = answer
        .split("\r\n\r\nretry: ")
        .nth(1)
        .and_then(|rest| rest.split('\n').next())
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("no retry: in {answer}"));
    assert!((3000..=9000).contains(&retry_ms), "{answer}");
    // Five clients leave; a newcomer right behind them is served, not refused: the
    // client watch frees their slots at once, and a stream at the cap waits for one.
    streams.truncate(15);
    let started = Instant::now();
    let mut newcomer = target.send(b"GET /subscribe HTTP/1.1\r\nHost: t\r\n\r\n");
    let head = read_until(&mut newcomer, "retry: 3000");
    let admitted_in = started.elapsed();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    figure(
        "max clients",
        format!(
            "21st client refused in {refused_in:?} (admission wait 300 ms), Retry-After {retry_after} s; \
             an EventSource got 200 with retry: {retry_ms}; after 5 streams closed a newcomer was served in {admitted_in:?}"
        ),
    );
    assert!(refused_in < Duration::from_millis(1500), "{refused_in:?}");
    assert!(admitted_in < Duration::from_millis(300), "{admitted_in:?}");
}

#[test]
fn running_out_of_descriptors_neither_spins_nor_kills_the_server() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // 64 descriptors, but a cap of 1000 clients: accept() itself will fail with EMFILE.
    let target = Target::start_with(
        Some(64),
        &[
            "--max-clients",
            "1000",
            "--interval-ms",
            "60000",
            "--heartbeat-s",
            "1",
        ],
    );
    let mut clients: Vec<TcpStream> = (0..100)
        .map(|_| target.send(b"GET /events HTTP/1.1\r\nHost: t\r\n\r\n"))
        .collect();
    thread::sleep(Duration::from_millis(300));
    let before = target.sample();
    thread::sleep(Duration::from_secs(1));
    let after = target.sample();
    let cpu =
        100.0 * (after.cpu_seconds - before.cpu_seconds) / (after.at - before.at).as_secs_f64();
    figure(
        "EMFILE",
        format!(
            "100 clients against 64 descriptors: server CPU {cpu:.0}% of a core while out of descriptors, {} descriptors open",
            after.descriptors
        ),
    );
    assert!(cpu < 30.0, "the accept loop spins: {cpu:.0}% CPU");
    clients.clear();
    let recovered = wait_for(Duration::from_secs(5), || {
        let mut socket =
            target.send(b"GET /stats HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        read_all(&mut socket).starts_with("HTTP/1.1 200")
    });
    figure(
        "EMFILE",
        format!("served again {recovered:?} after the clients left"),
    );
    assert!(
        recovered.is_some(),
        "the server did not recover:\n{}",
        target.log()
    );
    assert!(
        target.log().contains("out of file descriptors"),
        "the exhaustion was not logged"
    );
}

#[test]
fn ctrl_c_under_load_exits_cleanly_within_two_seconds() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut target = Target::start(&[
        "--interval-ms",
        "60000",
        "--write-timeout-s",
        "10",
        "--history",
        "100",
    ]);
    // 1,900 clock streams and 100 subscribers (every published byte goes to each).
    let mut healthy = target.open_many(2000, |n| {
        if n % 20 == 0 {
            b"GET /subscribe HTTP/1.1\r\nHost: t\r\n\r\n"
        } else {
            b"GET /events HTTP/1.1\r\nHost: t\r\n\r\n"
        }
    });
    for socket in &mut healthy {
        read_until(socket, "retry: 3000\n\n\r\n");
    }
    let _slow_heads = target.open_many(100, |_| b"GET / HTTP/1.1\r\nX-Slow: a");
    let mut stalled = target.open_many(20, |_| b"GET /subscribe HTTP/1.1\r\nHost: t\r\n\r\n");
    for socket in &mut stalled {
        read_until(socket, "retry: 3000");
    }
    // Fill the stalled readers' buffers; the healthy subscribers drain theirs below.
    let drains: Vec<_> = healthy
        .iter()
        .filter_map(|socket| socket.try_clone().ok())
        .map(|mut socket| thread::spawn(move || read_all(&mut socket)))
        .collect();
    for _ in 0..30 {
        target.publish(&"z".repeat(60_000));
    }
    let (took, clean) = target.interrupt();
    figure(
        "shutdown",
        format!(
            "SIGINT with 2000 healthy streams, 100 slow heads and 20 stalled readers: exited in {took:?}, status 0: {clean}"
        ),
    );
    assert!(clean, "exit status was not 0");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    for drain in drains {
        let rest = drain.join().expect("drain thread");
        assert!(
            rest.ends_with("0\r\n\r\n"),
            "a healthy stream did not end cleanly: ...{:?}",
            &rest[rest.len().saturating_sub(80)..]
        );
    }
}
