//! The memory that replays from the Redis log hold, all streams together, stays within
//! `--replay-memory-bytes` (issue 23, item 2; `redis/replay_memory.rs`), measured on a
//! server process of its own: its resident memory and its `/metrics`.
//!
//! The figures: a topic with 70 messages of 60 KiB, then 1,000 small ones (so
//! memory holds none of the large ones), then 200 subscribers resuming from before
//! them, each with a 4 KiB receive buffer and reading slowly. Each replay held its
//! 4 MiB until its client had read it: the server grew from 7 to 948 MiB. Now at most
//! the budget is held; the replays that find no room wait, then end without sending
//! anything, and nothing is ever skipped.

mod support;

use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::redis::RedisServer;
use support::small_buffer::connect_with_receive_buffer;
use support::{READ_TIMEOUT, StreamReader, wait_for};

use sse_server::pubsub::event_id::EventId;
use sse_server::pubsub::topic::check_topic_name;
use sse_server::redis::log::{LogSettings, RedisLog};
use sse_server::redis::url::RedisUrl;

const BINARY: &str = env!("CARGO_BIN_EXE_sse-server");
const CLIENTS: usize = 200;
const LARGE: usize = 70;
const LARGE_BYTES: usize = 60 * 1024;
const SMALL: usize = 1000;
/// Room for two replays of these (about 4.5 MB each once read, 16 MiB while reading).
const BUDGET: usize = 24 * 1024 * 1024;
/// Large enough that no replay of these is cut: every client can get everything.
const MAX_REPLAY_BYTES: usize = 8 * 1024 * 1024;

/// A server process we started; stopped (by its PID, through `Child`) when dropped.
struct ServerProcess {
    child: Child,
    address: SocketAddr,
}

impl ServerProcess {
    fn start(args: &[&str]) -> ServerProcess {
        let mut child = Command::new(BINARY)
            .args(["--bind", "127.0.0.1", "--port", "0"])
            .args(args)
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sse-server");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let address = support::binary::announced_address(&mut stderr)
            .parse()
            .unwrap();
        // Its log lines go on being read, so that a full pipe never blocks it.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        ServerProcess { child, address }
    }

    fn get(&self, target: &str) -> String {
        let mut socket = TcpStream::connect(self.address).unwrap();
        socket.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        let request =
            format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        socket.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        socket.read_to_string(&mut response).unwrap();
        response
    }

    /// One unlabelled sample of `/metrics`.
    fn metric(&self, name: &str) -> u64 {
        let text = self.get("/metrics");
        let line = text
            .lines()
            .find(|line| line.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {text}"));
        line.split(' ').nth(1).unwrap().parse().unwrap()
    }

    /// Its resident memory, from `/proc`.
    fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib * 1024
    }

    /// A subscriber with a receive buffer of `buffer_bytes`, resuming after
    /// `last_event_id`, on a non-blocking socket.
    fn subscriber(&self, last_event_id: EventId, buffer_bytes: i32) -> StreamReader {
        let mut socket = connect_with_receive_buffer(self.address, buffer_bytes);
        let request = format!(
            "GET /subscribe?topic=t HTTP/1.1\r\nHost: localhost\r\nLast-Event-ID: {last_event_id}\r\n\r\n"
        );
        socket.write_all(request.as_bytes()).unwrap();
        socket.set_nonblocking(true).unwrap();
        StreamReader::new(socket)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ids_of(reader: &StreamReader) -> Vec<String> {
    let events = reader.parsed().events;
    assert!(
        events.iter().all(|event| event.event_type == "message"),
        "nothing is missed: {:?}",
        events.iter().find(|event| event.event_type != "message")
    );
    events
        .into_iter()
        .map(|event| event.last_event_id)
        .collect()
}

#[test]
fn two_hundred_slow_replays_hold_no_more_than_the_budget_and_skip_nothing() {
    let redis = RedisServer::start(&[]);
    let log = RedisLog::new(LogSettings {
        url: RedisUrl::parse(&redis.url()).unwrap(),
        key: "memory".into(),
        max_len: 1_000_000,
        max_log_replays: 1,
        replay_memory_bytes: 1 << 30,
        max_bytes: None,
    });
    let topics = vec![check_topic_name("t").unwrap()];
    let start = log.append(&topics, None, "before").unwrap();
    let large = "x".repeat(LARGE_BYTES);
    let mut expected: Vec<String> = Vec::new();
    for index in 0..LARGE + SMALL {
        let data = if index < LARGE { &large } else { "small" };
        expected.push(log.append(&topics, None, data).unwrap().to_string());
    }
    let (budget, max_replay_bytes) = (BUDGET.to_string(), MAX_REPLAY_BYTES.to_string());
    let server = ServerProcess::start(&[
        "--redis",
        &redis.url(),
        "--redis-key",
        "memory",
        "--history",
        "3",
        "--max-replay-bytes",
        &max_replay_bytes,
        "--replay-memory-bytes",
        &budget,
    ]);
    let connected = wait_for(Duration::from_secs(10), || {
        server.get("/stats").contains("\"connected\": true")
    });
    assert!(connected.is_some());
    let rss_before = server.rss_bytes();

    // Slow readers: 4 KiB each every 100 ms, for 6 s (past the 5 s a replay waits
    // for room: some of those that found none have ended by then).
    let mut readers: Vec<StreamReader> = (0..CLIENTS)
        .map(|_| server.subscriber(start, 4096))
        .collect();
    let (mut most_held, mut most_rss) = (0, rss_before);
    for round in 0..60 {
        for reader in readers.iter_mut() {
            reader.read_available(4096);
        }
        if round % 5 == 0 {
            most_held = most_held.max(server.metric("sse_replay_memory_bytes"));
            most_rss = most_rss.max(server.rss_bytes());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let growth = most_rss.saturating_sub(rss_before);
    let ended = readers.iter().filter(|reader| reader.finished).count();
    eprintln!(
        "{CLIENTS} slow replays: at most {most_held} bytes held (budget {BUDGET}), RSS {rss_before} + {growth} bytes; {ended} ended to come back later"
    );
    assert!(most_held > 0, "some replays held their events");
    assert!(most_held <= BUDGET as u64, "{most_held} bytes held");
    // The budget, plus each stream's thread and buffers (well under 256 KiB each).
    let bound = (BUDGET + CLIENTS * 256 * 1024) as u64;
    assert!(
        growth <= bound,
        "RSS grew by {growth} bytes (bound {bound})"
    );
    assert_eq!(
        server.metric("sse_replay_memory_limit_bytes"),
        BUDGET as u64
    );

    // Nothing was skipped: each client got a first part of the messages, in order.
    for reader in &readers {
        let ids = ids_of(reader);
        assert_eq!(ids, expected[..ids.len()], "in order, from the first");
    }
    // A client that comes back after its stream ended gets every message.
    drop(readers);
    let mut back = server.subscriber(start, 4 << 20);
    read_all(&mut back, expected.len());
    assert_eq!(ids_of(&back), expected);
}

/// Reads as fast as it can until `count` events have come, for at most 60 s.
fn read_all(reader: &mut StreamReader, count: usize) {
    reader.socket.set_nonblocking(false).unwrap();
    reader.socket.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let done = wait_for(Duration::from_secs(60), || {
        reader.read_available(256 * 1024);
        reader.finished || reader.parsed().events.len() >= count
    });
    assert!(done.is_some(), "{} events", reader.parsed().events.len());
}
