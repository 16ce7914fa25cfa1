//! The real binary as a new user and an operator meet it (issue 25): the open-files
//! limit of a stock shell, the start-up block, a reachable server that will not start
//! open, variables for every flag, `--no-demo`, `--admin-bind`, and the drain window.
//!
//! Servers listen on 127.0.0.1 only; each is stopped by its PID (or killed on drop).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_sse-server");
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A server process, its public address, its start-up block and its log so far.
struct Running {
    child: Child,
    address: String,
    admin: Option<String>,
    startup: Vec<String>,
    log: Arc<Mutex<String>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Running {
    /// Sends `signal` to this server (by its PID).
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits (bounded) until the log holds `text`.
    fn wait_for_log(&self, text: &str) {
        let deadline = Instant::now() + READ_TIMEOUT;
        while !self.log.lock().unwrap().contains(text) {
            assert!(
                Instant::now() < deadline,
                "no {text:?} in the log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The number in the start-up line `streams: at most N, ...`.
    fn stream_cap(&self) -> usize {
        let line = self
            .startup
            .iter()
            .find_map(|line| line.split("streams: at most ").nth(1))
            .unwrap_or_else(|| panic!("no stream cap in {:?}", self.startup));
        line.split(',').next().unwrap().parse().unwrap()
    }
}

/// Starts the binary (under `prefix`, such as `prlimit ...`, when given) on a free
/// loopback port, and reads its log up to the end of the start-up block.
fn start(prefix: &[&str], args: &[&str], env: &[(&str, &str)]) -> Running {
    let mut command = match prefix.split_first() {
        Some((program, rest)) => {
            let mut command = Command::new(program);
            command.args(rest).arg(BINARY);
            command
        }
        None => Command::new(BINARY),
    };
    command
        .args(["--bind", "127.0.0.1", "--port", "0"])
        .args(args)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped());
    // Only the variables a test gives: none of the developer's own shell.
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("SSE_") || name == "PORT")
    {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("start sse-server");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let log = Arc::new(Mutex::new(String::new()));
    let (mut address, mut admin, mut startup) = (None, None, Vec::new());
    let mut line = String::new();
    // The block: "Server running at", maybe "Admin routes at", then five facts.
    while startup.len() < 5 && stderr.read_line(&mut line).unwrap() > 0 {
        log.lock().unwrap().push_str(&line);
        let url = |marker: &str| {
            line.split(marker)
                .nth(1)
                .map(|rest| rest.trim().trim_end_matches('/').to_string())
        };
        if let Some(found) = url("Server running at http://") {
            address = Some(found);
        } else if let Some(found) = url("Admin routes at http://") {
            admin = Some(found);
        } else if address.is_some() {
            let fact = line.split("]   ").nth(1).unwrap_or(&line);
            startup.push(fact.trim().to_string());
        }
        line.clear();
    }
    let address = address.unwrap_or_else(|| panic!("no address line in:\n{}", log.lock().unwrap()));
    let rest = Arc::clone(&log);
    std::thread::spawn(move || {
        let mut line = String::new();
        while stderr.read_line(&mut line).unwrap_or(0) > 0 {
            rest.lock().unwrap().push_str(&line);
            line.clear();
        }
    });
    Running {
        child,
        address,
        admin,
        startup,
        log,
    }
}

/// Sends `request` and reads the answer to its end (the requests say `Connection:
/// close`; a stream is read until `until` appears, or for at most the read timeout).
fn exchange(address: &str, request: &str, until: Option<&str>) -> String {
    let mut socket = TcpStream::connect(address).unwrap();
    socket.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    socket.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let mut buffer = [0u8; 4096];
    loop {
        if until.is_some_and(|text| answer.contains(text)) {
            break;
        }
        match socket.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.push_str(&String::from_utf8_lossy(&buffer[..n])),
        }
    }
    answer
}

fn get(address: &str, target: &str) -> String {
    let request = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    exchange(address, &request, None)
}

fn publish(address: &str, target: &str, body: &str, headers: &str) -> String {
    let request = format!(
        "POST {target} HTTP/1.1\r\nHost: localhost\r\n{headers}Content-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    exchange(address, &request, None)
}

/// Opens a stream and reads until `until` arrives; returns the socket, still open.
fn open_stream(address: &str, target: &str, until: &str) -> (TcpStream, String) {
    let mut socket = TcpStream::connect(address).unwrap();
    socket.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let request =
        format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n");
    socket.write_all(request.as_bytes()).unwrap();
    let mut seen = String::new();
    let mut buffer = [0u8; 4096];
    while !seen.contains(until) {
        match socket.read(&mut buffer) {
            Ok(0) | Err(_) => panic!("{target}: no {until:?} before the end: {seen:?}"),
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buffer[..n])),
        }
    }
    (socket, seen)
}

/// The hard "Max open files" limit of this test process, which the server inherits.
fn hard_open_files_limit() -> String {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
    let row = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .expect("an open files row");
    row["Max open files".len()..]
        .split_whitespace()
        .nth(1)
        .expect("a hard limit")
        .to_string()
}

#[test]
fn a_stock_shells_soft_limit_is_raised_and_the_demo_pages_three_streams_run_at_once() {
    let nofile = format!("--nofile=1024:{}", hard_open_files_limit());
    let server = start(&["prlimit", &nofile, "--"], &["--interval-ms", "50"], &[]);
    assert!(server.stream_cap() >= 500, "{:?}", server.startup);
    assert!(!server.log().contains("--max-clients"), "{}", server.log());
    // The demo page's three streams: the counter, the clock, and the broadcast topic.
    let address = &server.address;
    let (_counter, _) = open_stream(address, "/", "data: This is event number 1");
    let (_clock, _) = open_stream(address, "/events", "data: 20");
    let (mut broadcast, _) = open_stream(address, "/subscribe?topic=default", "retry:");
    assert!(publish(address, "/publish", "hello", "").starts_with("HTTP/1.1 202"));
    let mut seen = String::new();
    let mut buffer = [0u8; 1024];
    while !seen.contains("data: hello") {
        match broadcast.read(&mut buffer) {
            Ok(0) | Err(_) => panic!("the broadcast stream ended: {seen:?}"),
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buffer[..n])),
        }
    }
    let stats = get(address, "/stats");
    assert!(stats.contains("\"streams_open\": 3"), "{stats}");
}

#[test]
fn with_soft_and_hard_limits_both_1024_the_cap_is_still_useful_and_blames_no_flag() {
    let server = start(&["prlimit", "--nofile=1024:1024", "--"], &[], &[]);
    let cap = server.stream_cap();
    assert!(cap >= 256, "{:?}", server.startup);
    let streams = server
        .startup
        .iter()
        .find(|l| l.starts_with("streams:"))
        .unwrap();
    assert!(
        streams.contains("open files (ulimit -n) (1024)"),
        "{streams}"
    );
    assert!(!server.log().contains("--max-clients"), "{}", server.log());
}

#[test]
fn the_start_up_block_says_who_may_publish_and_what_set_each_limit() {
    let open = start(&[], &[], &[]);
    let text = open.startup.join("\n");
    assert!(
        text.contains("publishing: open: anyone may publish"),
        "{text}"
    );
    assert!(text.contains("messages: in memory"), "{text}");
    assert!(text.contains("other requests: 1024 at once"), "{text}");
    let secret = "0123456789abcdef0123456789abcdef";
    let checked = start(
        &[],
        &["--public", "news/*", "--max-clients", "40"],
        &[("SSE_AUTH_SECRET", secret)],
    );
    let text = checked.startup.join("\n");
    assert!(
        text.contains("token-checked") && text.contains("news/*"),
        "{text}"
    );
    assert!(
        text.contains("streams: at most 40, set by --max-clients"),
        "{text}"
    );
    assert!(!checked.log().contains(secret), "{}", checked.log());
}

#[test]
fn a_reachable_server_refuses_to_start_open_and_says_both_ways_out() {
    for args in [
        &["--bind", "0.0.0.0"][..],
        &["--trusted-proxy", "127.0.0.1"],
    ] {
        let output = Command::new(BINARY)
            .args(args)
            .env_remove("SSE_TOKEN")
            .env_remove("SSE_AUTH_SECRET")
            .env_remove("SSE_OPEN")
            .output()
            .expect("run sse-server");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("--auth-secret") && stderr.contains("--open"),
            "{stderr}"
        );
    }
}

#[test]
fn a_flags_variable_works_end_to_end() {
    // An open server answers only loopback names and IP addresses, plus --allowed-host:
    // here given as SSE_ALLOWED_HOST, as a systemd EnvironmentFile= would.
    let server = start(&[], &[], &[("SSE_ALLOWED_HOST", "events.example")]);
    let ask = |host: &str| {
        let request = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        exchange(&server.address, &request, None)
    };
    assert!(ask("events.example").starts_with("HTTP/1.1 200"));
    assert!(ask("other.example").starts_with("HTTP/1.1 421"));
}

#[test]
fn no_demo_and_admin_bind_keep_each_route_where_it_belongs() {
    let server = start(&[], &["--no-demo", "--admin-bind", "127.0.0.1:0"], &[]);
    let public = &server.address;
    let admin = server
        .admin
        .as_deref()
        .expect("an admin address in the log");
    for path in ["/", "/events", "/metrics", "/stats", "/healthz", "/readyz"] {
        let answer = get(public, path);
        assert!(
            answer.starts_with("HTTP/1.1 404"),
            "public {path}: {answer}"
        );
    }
    assert!(publish(public, "/publish", "hi", "").starts_with("HTTP/1.1 202"));
    for path in ["/metrics", "/stats", "/healthz", "/readyz"] {
        let answer = get(admin, path);
        assert!(answer.starts_with("HTTP/1.1 200"), "admin {path}: {answer}");
    }
    for path in ["/", "/subscribe", "/events"] {
        let answer = get(admin, path);
        assert!(answer.starts_with("HTTP/1.1 404"), "admin {path}: {answer}");
    }
    assert!(get(admin, "/metrics").contains("sse_messages_published_total 1\n"));
}

#[test]
fn in_the_drain_window_probes_see_503_new_streams_are_refused_and_publishes_work() {
    let server = start(&[], &["--drain-window-s", "60", "--interval-ms", "50"], &[]);
    let address = &server.address;
    let (mut clock, _) = open_stream(address, "/events", "data: 20");
    server.signal("-TERM");
    server.wait_for_log("draining for 60 s");
    // A probe that connects after the signal is answered, with 503.
    let ready = get(address, "/readyz");
    assert!(
        ready.starts_with("HTTP/1.1 503") && ready.contains("draining"),
        "{ready}"
    );
    // A new EventSource gets the kind refusal: 200, a retry:, no events, the end.
    let request = "GET /events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n";
    let refused = exchange(address, request, None);
    assert!(
        refused.starts_with("HTTP/1.1 200") && refused.contains("retry:"),
        "{refused}"
    );
    assert!(!refused.contains("data:"), "{refused}");
    // Publishes still work, and the stream opened before the signal still runs.
    assert!(publish(address, "/publish", "late news", "").starts_with("HTTP/1.1 202"));
    let mut more = String::new();
    let mut buffer = [0u8; 1024];
    while more.matches("data: 20").count() < 2 {
        match clock.read(&mut buffer) {
            Ok(0) | Err(_) => panic!("the open stream ended in the window: {more:?}"),
            Ok(n) => more.push_str(&String::from_utf8_lossy(&buffer[..n])),
        }
    }
    // A second signal ends the window at once: the process exits within the bound.
    server.signal("-INT");
    let mut server = server;
    let deadline = Instant::now() + READ_TIMEOUT;
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "no exit after the second signal");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "{status:?}");
}
