//! What a replay from the Redis log may cost (issue 23, `redis/replay.rs`): a replay
//! whose client hangs up stops within a page, whether or not it sent anything; one
//! replay makes Redis send at most `--max-replay-bytes`, however large the other
//! topics' entries; and the events replays hold in memory, across all streams, stay
//! within `--replay-memory-bytes` while slow readers take them. Redis's own counters
//! (`INFO`) measure the work each replay made it do.

mod support;

use std::net::TcpStream;
use std::time::Duration;

use support::redis::{RedisServer, instance};
use support::{StreamReader, TestServer, json_number, wait_for};

use sse_server::pubsub::event_id::EventId;
use sse_server::pubsub::topic::check_topic_name;
use sse_server::redis::log::{LogSettings, RedisLog};
use sse_server::redis::url::RedisUrl;

/// A log client of the test's own, to fill the log.
fn log_of(redis: &RedisServer, key: &str) -> RedisLog {
    RedisLog::new(LogSettings {
        url: RedisUrl::parse(&redis.url()).unwrap(),
        key: key.into(),
        max_len: 1_000_000,
        max_log_replays: 1,
        replay_memory_bytes: 1 << 30,
        max_bytes: None,
    })
}

/// Appends `count` messages of `bytes` bytes to `topic`; returns their ids.
fn fill(log: &RedisLog, topic: &str, count: usize, bytes: usize) -> Vec<EventId> {
    let topics = vec![check_topic_name(topic).unwrap()];
    let data = "x".repeat(bytes);
    (0..count)
        .map(|_| log.append(&topics, None, &data).unwrap())
        .collect()
}

/// Opens `GET /subscribe?topic=…` with a `Last-Event-ID`, without waiting for anything.
fn ask_to_resume(server: &TestServer, topic: &str, last_event_id: EventId) -> TcpStream {
    server.get(
        &format!("/subscribe?topic={topic}"),
        &format!("Last-Event-ID: {last_event_id}\r\n"),
    )
}

fn wait_for_no_subscribers(server: &TestServer) {
    let ended = wait_for(Duration::from_secs(30), || {
        json_number(&server.stats(), "subscribers") == 0
    });
    assert!(ended.is_some(), "{}", server.stats());
}

// Issue 23, item 3: a replay to a topic with nothing in the log wrote nothing, so it
// never noticed its client had gone and read the whole log for nobody (20 hang-ups
// made Redis send 313 MB of a 20 MB log).
#[test]
fn twenty_replays_that_send_nothing_stop_within_a_page_of_their_clients_hanging_up() {
    const ENTRIES: usize = 5000;
    const BYTES: usize = 4000;
    const CLIENTS: u64 = 20;
    let redis = RedisServer::start(&[]);
    let log = log_of(&redis, "hangups");
    fill(&log, "busy", ENTRIES, BYTES);
    // Bounds large enough that only the hang-ups can stop these replays early.
    let server = instance(&redis, "hangups", |config| {
        config.max_replay_bytes = 1 << 30;
        config.replay_memory_bytes = 1 << 31;
    });
    let (calls, sent) = (redis.xrevrange_calls(), redis.bytes_sent());
    let foreign = EventId { ms: 1, seq: 0 };
    let sockets: Vec<TcpStream> = (0..CLIENTS)
        .map(|_| ask_to_resume(&server, "quiet", foreign))
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    drop(sockets);
    wait_for_no_subscribers(&server);
    let pages = redis.xrevrange_calls() - calls;
    let bytes = redis.bytes_sent() - sent;
    let whole_log = (ENTRIES * BYTES) as u64;
    eprintln!(
        "{CLIENTS} clients that hung up after 50 ms: {pages} pages read, {bytes} bytes sent by Redis (the log: {whole_log})"
    );
    assert!(pages <= 3 * CLIENTS, "{pages} pages read");
    // A page is at most 500 entries (the count bound) of about BYTES each.
    let page_bytes = (500 * (BYTES + 100)) as u64;
    assert!(
        bytes <= 3 * CLIENTS * page_bytes,
        "{bytes} bytes sent by Redis"
    );
}

// Issue 23, item 4: the log is one stream for all topics, so a replay reads other
// topics' entries too, and --max-replay counted only entries: one reconnect to a quiet
// topic made Redis send 49.4 MB of another topic's 3,000 entries of 16 KiB.
#[test]
fn one_reconnect_over_large_entries_of_another_topic_reads_a_few_mib_and_is_told_missed() {
    const ENTRIES: usize = 3000;
    const BYTES: usize = 16 * 1024;
    let redis = RedisServer::start(&[]);
    let log = log_of(&redis, "large");
    let quiet = fill(&log, "zzz", 1, 10);
    let others = fill(&log, "other", ENTRIES, BYTES);
    // The defaults: --max-replay-bytes is 4 MiB.
    let server = instance(&redis, "large", |_| {});
    let sent = redis.bytes_sent();
    let mut reader = StreamReader::open(
        &server,
        "/subscribe?topic=zzz",
        &format!("Last-Event-ID: {}\r\n", quiet[0]),
    );
    let events = reader.events(1);
    let bytes = redis.bytes_sent() - sent;
    eprintln!("one reconnect over {ENTRIES} entries of {BYTES} bytes: Redis sent {bytes} bytes");
    assert!(bytes <= 16_000_000, "Redis sent {bytes} bytes");
    // The client is told it missed what was not read: through an entry of the log
    // (the newest left out), after the id it had.
    assert_eq!(events[0].event_type, "missed", "{events:?}");
    let prefix = format!("{{\"after\":\"{}\",\"through\":\"", quiet[0]);
    let through = events[0]
        .data
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix("\"}"))
        .unwrap_or_else(|| panic!("{}", events[0].data));
    let through = EventId::parse(through).unwrap();
    assert!(others.contains(&through), "{through}");
    assert!(
        through < others[ENTRIES - 4],
        "the newest entries were read"
    );
    // Nothing else came: the quiet topic's one message is older than what was read.
    reader.socket.set_nonblocking(true).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    reader.read_available(64 * 1024);
    assert_eq!(reader.parsed().events.len(), 1);
}

// Issue 23: only the server says `missed` (pubsub/missed.rs), but an entry written
// into the log by another program could carry that type and reach pages.
#[test]
fn a_log_entry_of_type_missed_is_not_sent() {
    let redis = RedisServer::start(&[]);
    let server = instance(&redis, "forged", |_| {});
    let log = log_of(&redis, "forged");
    let topics = vec![check_topic_name("t").unwrap()];
    let mut reader = StreamReader::open(&server, "/subscribe?topic=t", "");
    log.append(&topics, Some("missed"), "{\"after\":null,\"through\":null}")
        .unwrap();
    let real = log.append(&topics, Some("news"), "real").unwrap();
    let events = reader.events(1);
    assert_eq!(events[0].event_type, "news", "{events:?}");
    assert_eq!(events[0].last_event_id, real.to_string());
    // A client resuming from the start gets only the real one too.
    let mut resumed = StreamReader::open(
        &server,
        "/subscribe?topic=t",
        &format!("Last-Event-ID: {}\r\n", EventId::ZERO),
    );
    let events = resumed.events(1);
    assert_eq!(events[0].event_type, "news", "{events:?}");
}
