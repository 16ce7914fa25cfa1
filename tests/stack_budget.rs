//! How much stack a stream's thread touches, in the release build: at most two pages
//! (three for a stream opened with a token, whose check goes deepest).
//!
//! Every client has its own thread, and the stack pages a thread has touched stay
//! resident until it ends, so a stream costs as many pages as its deepest moment
//! touched: a frame that grows by inlining (a buffer, a copy of a big value, a log
//! call's formatting) can add a third page, 4 KiB more per stream, a third more memory
//! at 10,000 streams. The top ~4.4 KiB of each stack is not ours: glibc keeps the
//! thread's descriptor and its thread-local storage there, and std's thread start
//! adds its frames, which leaves ~3.3 KiB of the two pages for this server's frames
//! (`client.rs` says how its frames are kept small).
//!
//! The test builds the release binary (frames are the optimiser's; a debug build's are
//! several times larger), opens streams of every kind a subscriber takes (one public
//! topic, nine, a replay with a `missed` event, the clock; a token in the header and
//! in the query), sends them messages and heartbeats, then reads each stream thread's stack
//! pointer (`/proc/PID/task/TID/syscall`) and the resident size of the mapping that
//! holds it (`/proc/PID/smaps`). It counts pages, not time.
//!
//! When it fails, find the frames: build with
//! `RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Z emit-stack-sizes" cargo build --release` and list
//! them with `llvm-readobj --stack-sizes target/release/sse-server`.

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod support;

/// Two pages of 4 KiB.
const STACK_BUDGET_BYTES: u64 = 8 * 1024;
/// Three pages, for a stream opened with a token (see its test).
const TOKEN_STACK_BUDGET_BYTES: u64 = 12 * 1024;
const SECRET: &str = "a-test-secret-of-at-least-32-bytes!!";
/// Each message is held this many times per topic, so a replay from id 1 misses some.
const HISTORY: &str = "3";
const WAIT: Duration = Duration::from_secs(10);

/// The release binary, built now if needed (cargo does nothing when it is up to date).
fn release_binary() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--release", "--bin", "sse-server"])
        .args(["--message-format", "json-render-diagnostics"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo build --release");
    assert!(output.status.success(), "cargo build --release failed");
    let messages = String::from_utf8(output.stdout).unwrap();
    let executable = messages
        .lines()
        .filter(|line| line.contains("\"compiler-artifact\""))
        .find_map(|line| line.split("\"executable\":\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .expect("cargo names the executable it built");
    PathBuf::from(executable)
}

/// The server process, killed (by its PID) when the test ends however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(binary: &PathBuf) -> (Server, String) {
    let mut server = Server(
        Command::new(binary)
            .args(["--bind", "127.0.0.1", "--port", "0"])
            .args(["--auth-secret", SECRET, "--public", "public/*"])
            .args(["--history", HISTORY, "--heartbeat-s", "1"])
            .args(["--interval-ms", "100"])
            .env("RUST_LOG", "info")
            .env_remove("SSE_AUTH_SECRET")
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the release sse-server"),
    );
    let mut stderr = BufReader::new(server.0.stderr.take().unwrap());
    let address = support::binary::announced_address(&mut stderr);
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    (server, address)
}

/// A token with these claims (as JSON members) that expires in an hour.
fn token(claims: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = format!(r#"{{"exp":{},{claims}}}"#, now + 3600);
    sse_server::auth::jwt::sign(&claims, SECRET.as_bytes())
}

/// One open stream and everything it has received.
struct Stream {
    socket: TcpStream,
    received: String,
    /// The clock (`/events`), which has no topics.
    is_clock: bool,
    /// Sent `Last-Event-ID`: a replay comes first.
    replays: bool,
}

impl Stream {
    /// Opens a stream and reads until its head and `retry:` have arrived.
    fn open(address: &str, target: &str, headers: &str) -> Stream {
        let mut socket = TcpStream::connect(address).unwrap();
        socket.set_read_timeout(Some(WAIT)).unwrap();
        write!(
            socket,
            "GET {target} HTTP/1.1\r\nHost: {address}\r\nAccept: text/event-stream\r\n{headers}\r\n"
        )
        .unwrap();
        let mut stream = Stream {
            socket,
            received: String::new(),
            is_clock: target == "/events",
            replays: headers.contains("Last-Event-ID"),
        };
        let head = stream.read_past("retry:");
        assert!(head.starts_with("HTTP/1.1 200"), "{target}: {head}");
        stream
    }

    /// Reads until `needle` has arrived since the last call; returns what came up to
    /// it (and forgets that).
    fn read_past(&mut self, needle: &str) -> String {
        let mut chunk = [0u8; 4096];
        while !self.received.contains(needle) {
            let n = self.socket.read(&mut chunk).unwrap_or_else(|error| {
                panic!("{error} waiting for {needle:?}; got {:?}", self.received)
            });
            assert!(n > 0, "closed before {needle:?}; got {:?}", self.received);
            self.received
                .push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
        let at = self.received.find(needle).unwrap() + needle.len();
        self.received.drain(..at).collect()
    }
}

/// Publishes `body` on the keep-alive connection `publisher` and reads the 202.
fn publish(publisher: &mut TcpStream, address: &str, topics: &str, body: &str) {
    let publish_token = token(r#""publish":["*"]"#);
    write!(
        publisher,
        "POST /publish?{topics} HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {publish_token}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let response = support::read_response(publisher);
    assert_eq!(response.status, 202, "{}", response.body_text());
}

/// The client threads of `pid` and each one's stack pointer (`None` while it runs).
fn client_threads(pid: u32) -> Vec<(String, Option<u64>)> {
    let mut threads = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let task = task.unwrap().path();
        let Ok(name) = std::fs::read_to_string(task.join("comm")) else {
            continue; // the thread has just ended
        };
        // A client's thread is named after its peer, `client 127.0.0.1:PORT` (cut to
        // 15 bytes); the client watch's is `client watch`.
        let Some(peer) = name.strip_prefix("client ") else {
            continue;
        };
        if !peer.starts_with(|c: char| c.is_ascii_digit() || c == '[') {
            continue;
        }
        // "nr arg1 .. arg6 sp pc" while blocked in a system call (proc(5)).
        let syscall = std::fs::read_to_string(task.join("syscall")).unwrap_or_default();
        let fields: Vec<&str> = syscall.split_whitespace().collect();
        let sp = (fields.len() == 9)
            .then(|| u64::from_str_radix(fields[7].trim_start_matches("0x"), 16).ok())
            .flatten();
        threads.push((task.display().to_string(), sp));
    }
    threads
}

/// The resident bytes of the mapping of `pid` that holds `address`.
fn resident_bytes_around(pid: u32, address: u64) -> u64 {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let mut inside = false;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or_default();
        if let Some((start, end)) = first.split_once('-')
            && let (Ok(start), Ok(end)) =
                (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16))
        {
            inside = (start..end).contains(&address);
        } else if inside && let Some(kib) = line.strip_prefix("Rss:") {
            let kib = kib.trim().trim_end_matches("kB").trim();
            return kib.parse::<u64>().unwrap() * 1024;
        }
    }
    panic!("no mapping of {pid} holds {address:#x}");
}

#[test]
fn a_subscriber_thread_touches_at_most_two_stack_pages() {
    let streams = |address: &str| {
        let eight_topics: String = (0..8).map(|n| format!("topic=public/t{n}&")).collect();
        vec![
            Stream::open(address, "/subscribe?topic=public/news", ""),
            Stream::open(
                address,
                &format!("/subscribe?{eight_topics}topic=public/news"),
                "",
            ),
            // A replay from id 1, with its `missed` event first.
            Stream::open(
                address,
                "/subscribe?topic=public/held&topic=public/news",
                "Last-Event-ID: 1\r\n",
            ),
            Stream::open(address, "/events", ""),
        ]
    };
    let resident = measure_stream_threads(streams);
    assert_within(&resident, STACK_BUDGET_BYTES);
}

/// A token's check goes deeper than anything else on a stream's thread (the token's
/// JSON, its signature, its topic patterns) and touches a third page today; this
/// holds it there.
#[test]
fn a_token_holders_thread_touches_at_most_three_stack_pages() {
    let streams = |address: &str| {
        let alice = token(r#""sub":"alice","subscribe":["users/alice/*"]"#);
        vec![
            Stream::open(
                address,
                "/subscribe?topic=users/alice/inbox&topic=public/news",
                &format!("Authorization: Bearer {alice}\r\n"),
            ),
            Stream::open(
                address,
                &format!("/subscribe?topic=users/alice/inbox&topic=public/news&token={alice}"),
                "",
            ),
        ]
    };
    let resident = measure_stream_threads(streams);
    assert_within(&resident, TOKEN_STACK_BUDGET_BYTES);
}

fn assert_within(resident: &[(String, u64)], budget: u64) {
    for (task, bytes) in resident {
        assert!(
            *bytes >= 4096,
            "{task}: a stack that holds a sleeping thread has a resident page"
        );
        assert!(
            *bytes <= budget,
            "{task} touched {bytes} bytes of stack, over the budget of {budget} \
             (all stream threads: {resident:?}); see this file's header to find the frames"
        );
    }
}

/// Starts a server, opens the streams `open_streams` opens, sends every subscription
/// messages and a heartbeat, and returns each stream thread's resident stack bytes.
fn measure_stream_threads(open_streams: impl Fn(&str) -> Vec<Stream>) -> Vec<(String, u64)> {
    let binary = release_binary();
    let (server, address) = start(&binary);
    let pid = server.0.id();

    // The publisher's connection stays open until the streams are measured: a thread
    // that ends leaves its stack, touched pages and all, to the next thread started.
    let mut publisher = TcpStream::connect(&address).unwrap();
    publisher.set_read_timeout(Some(WAIT)).unwrap();
    // Five messages in a topic that holds three: a replay from id 1 has missed some.
    for number in 1..=5 {
        publish(
            &mut publisher,
            &address,
            "topic=public/held",
            &format!("{number}"),
        );
    }
    let mut streams = open_streams(&address);

    // Live messages, the last one large, to every subscription.
    let large = format!("{}(the end)", "x".repeat(60_000));
    for body in ["one", "two", large.as_str()] {
        publish(
            &mut publisher,
            &address,
            "topic=public/news&topic=users/alice/inbox",
            body,
        );
    }
    for stream in &mut streams {
        if stream.is_clock {
            stream.read_past("data: 20");
            continue;
        }
        if stream.replays {
            stream.read_past("event: missed");
            stream.read_past("data: 5");
        }
        stream.read_past("(the end)");
        // A heartbeat comes after a second of silence (--heartbeat-s 1).
        stream.read_past("\n:");
    }
    drop(publisher);

    // Measure once every stream's thread is asleep, and only they are left.
    let started = Instant::now();
    let threads = loop {
        let threads = client_threads(pid);
        if threads.len() == streams.len() && threads.iter().all(|(_, sp)| sp.is_some()) {
            break threads;
        }
        assert!(
            started.elapsed() < WAIT,
            "expected {} sleeping stream threads, found {threads:?}",
            streams.len()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    threads
        .into_iter()
        .map(|(task, sp)| (task, resident_bytes_around(pid, sp.unwrap())))
        .collect()
}
