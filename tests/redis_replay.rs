//! Replay from the shared log with a real Redis (`redis/replay.rs`): a client is told
//! what the log no longer has, a replay reads at most --max-replay entries whatever
//! the topic, stops within a page of its client hanging up, holds at most
//! --max-log-replays connections, and a Redis outage never skips a message: the
//! stream ends and the client, resuming like an EventSource, gets everything once.
//! Redis's own counters (`INFO`) measure the work a replay made it do.

mod support;

use std::time::{Duration, Instant};

use support::event_stream::ParsedEvent;
use support::redis::{RedisServer, instance};
use support::{StreamReader, TestServer, json_number, wait_for};

use sse_server::pubsub::event_id::EventId;
use sse_server::pubsub::topic::{TopicName, check_topic_name};
use sse_server::redis::log::{LogSettings, RedisLog};
use sse_server::redis::replay::PAGE;
use sse_server::redis::url::RedisUrl;

/// A log client of the test's own, to fill the log and read Redis's counters.
fn log_of(redis: &RedisServer, key: &str, max_len: usize) -> RedisLog {
    RedisLog::new(LogSettings {
        url: RedisUrl::parse(&redis.url()).unwrap(),
        key: key.into(),
        max_len,
        max_log_replays: 1,
        replay_memory_bytes: 1 << 30,
        max_bytes: None,
    })
}

fn topic(name: &str) -> Vec<TopicName> {
    vec![check_topic_name(name).unwrap()]
}

/// Appends `count` messages of `bytes` bytes to `name`; returns their ids.
fn fill(log: &RedisLog, name: &str, count: usize, bytes: usize) -> Vec<EventId> {
    let data = "x".repeat(bytes);
    (0..count)
        .map(|_| log.append(&topic(name), None, &data).unwrap())
        .collect()
}

fn resume(server: &TestServer, topic: &str, last_event_id: EventId) -> StreamReader {
    let header = format!("Last-Event-ID: {last_event_id}\r\n");
    StreamReader::open(server, &format!("/subscribe?topic={topic}"), &header)
}

fn missed(after: EventId, through: Option<EventId>) -> String {
    let through = through.map_or("null".to_string(), |id| format!("\"{id}\""));
    format!("{{\"after\":\"{after}\",\"through\":{through}}}")
}

fn ids_of(events: &[ParsedEvent]) -> Vec<String> {
    events
        .iter()
        .map(|event| event.last_event_id.clone())
        .collect()
}

#[test]
fn entries_trimmed_from_the_log_are_told_and_an_id_still_in_it_is_not() {
    let redis = RedisServer::start(&[]);
    // MAXLEN ~ 10 trims whole nodes of about 100 entries: the oldest go.
    let log = log_of(&redis, "trimmed", 10);
    let ids = fill(&log, "t", 300, 10);
    let server = instance(&redis, "trimmed", |_| {});
    let first_kept = log
        .range_back(EventId::ZERO, (ids[299], true), 1000)
        .unwrap();
    let first_kept = first_kept.last_id.unwrap();
    let kept = ids.iter().filter(|&&id| id >= first_kept).count();
    assert!(kept < 300, "the log was trimmed");

    let mut reader = resume(&server, "t", ids[1]);
    let events = reader.events(1 + kept);
    assert_eq!(events[0].event_type, "missed");
    assert_eq!(events[0].data, missed(ids[1], None));
    assert_eq!(events[0].last_event_id, "", "the missed event has no id");
    let expected: Vec<String> = ids[300 - kept..].iter().map(EventId::to_string).collect();
    assert_eq!(ids_of(&events[1..]), expected);

    // A client whose id is still in the log missed nothing and is told nothing.
    let still_there = ids[300 - kept + 5];
    let mut near = resume(&server, "t", still_there);
    let events = near.events(kept - 6);
    assert_eq!(events[0].event_type, "message");
    assert_eq!(events[0].last_event_id, ids[300 - kept + 6].to_string());
}

#[test]
fn a_replay_reads_at_most_max_replay_entries_whatever_its_topic() {
    const ENTRIES: usize = 3000;
    const BYTES: usize = 2000;
    const MAX_REPLAY: usize = 1000;
    let redis = RedisServer::start(&[]);
    let log = log_of(&redis, "bounded", 100_000);
    let quiet = fill(&log, "quiet", 1, 10);
    let ids = fill(&log, "busy", ENTRIES, BYTES);
    let server = instance(&redis, "bounded", |config| config.max_replay = MAX_REPLAY);

    // A follower of the busy topic gets the newest MAX_REPLAY messages (997 from the
    // log, 3 from memory), after a `missed` naming the newest one left out.
    let (calls, bytes) = (
        redis.xrevrange_calls(),
        redis.info("stats", "total_net_output_bytes", ""),
    );
    let mut busy = resume(&server, "busy", ids[0]);
    let events = busy.events(1 + MAX_REPLAY);
    let cut = ENTRIES - MAX_REPLAY - 1;
    assert_eq!(events[0].data, missed(ids[0], Some(ids[cut])));
    let expected: Vec<String> = ids[cut + 1..].iter().map(EventId::to_string).collect();
    assert_eq!(ids_of(&events[1..]), expected);
    let read_bytes = redis.info("stats", "total_net_output_bytes", "") - bytes;
    let whole_log = (ENTRIES * BYTES) as u64;
    assert!(
        read_bytes < whole_log * 4 / 10,
        "{read_bytes} bytes read for one replay (the whole log: {whole_log})"
    );
    // 997 entries and one more: a first page sized for entries of --max-message-bytes
    // (64 of them, replay.rs), then pages sized by what was seen.
    assert_eq!(
        redis.xrevrange_calls() - calls,
        3,
        "997 entries and one more"
    );

    // The attack of issue 20: a topic with one old message, resumed from the start of
    // the log. Redis sends at most MAX_REPLAY + 1 entries, not the whole log.
    let bytes = redis.info("stats", "total_net_output_bytes", "");
    let mut reader = resume(&server, "quiet", quiet[0]);
    let events = reader.events(1);
    assert_eq!(
        events[0].data,
        missed(quiet[0], Some(ids[ENTRIES - 4 - MAX_REPLAY]))
    );
    let read_bytes = redis.info("stats", "total_net_output_bytes", "") - bytes;
    eprintln!("a quiet topic resumed from the log's start: {read_bytes} bytes from Redis");
    let bound = ((MAX_REPLAY + 1) * (BYTES + 100)) as u64;
    assert!(read_bytes < bound, "{read_bytes} bytes read, bound {bound}");
}

#[test]
fn replays_stop_within_a_page_of_their_clients_hanging_up_and_share_few_connections() {
    const ENTRIES: usize = 3000;
    const BYTES: usize = 8000;
    const CLIENTS: usize = 10;
    let redis = RedisServer::start(&[]);
    let log = log_of(&redis, "hangups", 100_000);
    let quiet = fill(&log, "quiet", 1, 10);
    fill(&log, "busy", ENTRIES, BYTES);
    let server = instance(&redis, "hangups", |config| config.max_log_replays = 2);
    let hang_up_at_once = || {
        let mut socket = server.get(
            "/subscribe?topic=quiet",
            &format!("Last-Event-ID: {}\r\n", quiet[0]),
        );
        let mut head = [0u8; 512];
        let _ = std::io::Read::read(&mut socket, &mut head);
    };
    let replays_ended = || {
        let ended = wait_for(Duration::from_secs(15), || {
            json_number(&server.stats(), "subscribers") == 0
        });
        assert!(ended.is_some(), "{}", server.stats());
    };
    // Seven pages to read (3001 entries); the client hangs up as its stream opens.
    let calls = redis.xrevrange_calls();
    hang_up_at_once();
    replays_ended();
    let pages = redis.xrevrange_calls() - calls;
    eprintln!(
        "one client that hung up: {pages} pages read of {}",
        ENTRIES / PAGE + 1
    );
    assert!(pages <= 2, "{pages} pages read after the client left");

    // Ten at once: at most two read the log at a time, each on one connection.
    let (calls, connections) = (
        redis.xrevrange_calls(),
        redis.info("stats", "total_connections_received", ""),
    );
    let started = Instant::now();
    (0..CLIENTS).for_each(|_| hang_up_at_once());
    assert!(started.elapsed() < Duration::from_secs(5));
    replays_ended();
    let pages = redis.xrevrange_calls() - calls;
    eprintln!("{CLIENTS} clients that hung up: {pages} pages read");
    assert!(pages <= 2 * CLIENTS as u64, "{pages} pages read");
    // Our own two INFO calls after the baseline open a connection each.
    let opened = redis.info("stats", "total_connections_received", "") - connections;
    assert!(opened <= 2 + 2, "{opened} connections opened");
}

#[test]
fn a_replay_that_cannot_read_the_log_skips_nothing_and_the_client_gets_all_once_redis_is_back() {
    let mut redis = RedisServer::start(&[]);
    let server = instance(&redis, "outage", |_| {});
    let log = log_of(&redis, "outage", 100_000);
    let ids = fill(&log, "t", 10, 10);
    let held = wait_for(Duration::from_secs(5), || {
        json_number(&server.stats(), "history_held") == 3
    });
    assert!(held.is_some());
    redis.stop();
    // An EventSource resuming after message 2, again and again while Redis is down:
    // each stream ends at once, with nothing sent, so its Last-Event-ID never moves.
    let mut last_id = ids[1];
    let mut received: Vec<ParsedEvent> = Vec::new();
    let mut attempts = 0;
    while received.len() < 8 {
        attempts += 1;
        assert!(attempts < 60, "got {:?}", ids_of(&received));
        if attempts == 3 {
            redis.start_again();
        }
        let mut reader = resume(&server, "t", last_id);
        reader.read_until(|reader| {
            reader.finished || reader.parsed().events.len() + received.len() >= 8
        });
        let events = reader.parsed().events;
        if attempts < 3 {
            assert!(
                reader.finished && events.is_empty(),
                "{:?}",
                ids_of(&events)
            );
        }
        if let Some(last) = events
            .iter()
            .rev()
            .find(|event| !event.last_event_id.is_empty())
        {
            last_id = EventId::parse(&last.last_event_id).unwrap();
        }
        received.extend(events);
        std::thread::sleep(Duration::from_millis(100));
    }
    let expected: Vec<String> = ids[2..].iter().map(EventId::to_string).collect();
    assert_eq!(
        ids_of(&received),
        expected,
        "each once, in order, no missed"
    );
}

#[test]
fn a_reader_overtaken_by_memory_and_the_log_is_told_mid_stream_and_never_silently() {
    let redis = RedisServer::start(&[]);
    // Each 60 KB entry is a node of its own, so `MAXLEN ~ 10` keeps about ten.
    let server = instance(&redis, "slow", |config| config.redis_max_len = 10);
    let mut reader = StreamReader::open(&server, "/subscribe?topic=t", "");
    let body = "x".repeat(60_000);
    // The reader reads nothing while 18 MB are published: the server's writes block.
    let published: Vec<String> = (0..300)
        .map(|_| {
            let response = server.exchange(&format!(
                "POST /publish?topic=t HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            ));
            assert_eq!(response.status, 202);
            let text = response.body_text();
            text.split("\"id\": \"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    let last = format!("id: {}\n", published.last().unwrap());
    reader.read_until(|reader| {
        let tail = &reader.body[reader.body.len().saturating_sub(70_000)..];
        tail.windows(last.len())
            .any(|window| window == last.as_bytes())
    });
    let events = reader.parsed().events;
    let notices = events.iter().filter(|e| e.event_type == "missed").count();
    assert!(notices > 0, "18 MB cannot all wait in socket buffers");
    // Walk the published ids: every one not received lies behind a `missed` event that
    // names the last id the page had.
    let mut next = 0;
    let mut told = false;
    let mut had: Option<&str> = None;
    for event in &events {
        if event.event_type == "missed" {
            let after = had.map_or("null".to_string(), |id| format!("\"{id}\""));
            assert!(
                event.data.starts_with(&format!("{{\"after\":{after},")),
                "{}",
                event.data
            );
            told = true;
            continue;
        }
        let at = published[next..]
            .iter()
            .position(|id| *id == event.last_event_id)
            .expect("received in order, each once");
        assert!(
            at == 0 || told,
            "a silent gap before {}",
            event.last_event_id
        );
        next += at + 1;
        told = false;
        had = Some(&event.last_event_id);
    }
    assert_eq!(next, published.len());
}

#[test]
fn replays_beyond_the_cap_wait_their_turn_and_get_everything() {
    let redis = RedisServer::start(&[]);
    let log = log_of(&redis, "turns", 100_000);
    let ids = fill(&log, "t", 2000, 1000);
    let server = instance(&redis, "turns", |config| config.max_log_replays = 1);
    let expected: Vec<String> = ids[1..].iter().map(EventId::to_string).collect();
    let connections = redis.info("stats", "total_connections_received", "");
    std::thread::scope(|scope| {
        let readers: Vec<_> = (0..3)
            .map(|_| {
                scope.spawn(|| {
                    let mut reader = resume(&server, "t", ids[0]);
                    ids_of(&reader.events(expected.len()))
                })
            })
            .collect();
        for reader in readers {
            assert_eq!(reader.join().unwrap(), expected);
        }
    });
    // One connection served the three replays in turn (and one is our INFO call).
    let opened = redis.info("stats", "total_connections_received", "") - connections;
    assert!(opened <= 2, "{opened} connections opened");
}

#[test]
fn an_id_older_than_a_log_that_never_lost_an_entry_is_not_ours_and_is_told() {
    let redis = RedisServer::start(&[]);
    let log = log_of(&redis, "foreign", 100_000);
    let ids = fill(&log, "t", 10, 10);
    let server = instance(&redis, "foreign", |_| {});
    // An id of another log, from before this one began.
    let foreign = EventId { ms: 1, seq: 0 };
    let mut reader = resume(&server, "t", foreign);
    let events = reader.events(11);
    assert_eq!(events[0].data, missed(foreign, None));
    let expected: Vec<String> = ids.iter().map(EventId::to_string).collect();
    assert_eq!(ids_of(&events[1..]), expected);
    // From the very start ("0-0") is placed: everything, and nothing to tell.
    let mut from_start = resume(&server, "t", EventId::ZERO);
    assert_eq!(ids_of(&from_start.events(10)), expected);
}

#[test]
fn a_client_whose_id_is_the_newest_entry_trimmed_missed_nothing_and_is_told_nothing() {
    let redis = RedisServer::start(&[]);
    let server = instance(&redis, "edge", |_| {});
    let log = log_of(&redis, "edge", 100_000);
    let ids = fill(&log, "t", 100, 10);
    // The instance's tail has read them all; then the log is trimmed to exactly 50.
    let caught_up = wait_for(Duration::from_secs(5), || {
        server
            .stats()
            .contains(&format!("\"last_id\": \"{}\"", ids[99]))
    });
    assert!(caught_up.is_some(), "{}", server.stats());
    let mut connection = log.connect().unwrap();
    connection
        .command(&[b"XTRIM", b"edge", b"MAXLEN", b"50"])
        .unwrap();
    let expected: Vec<String> = ids[50..].iter().map(EventId::to_string).collect();
    // ids[49] is the newest entry trimmed: nothing after it is gone.
    let mut at_edge = resume(&server, "t", ids[49]);
    assert_eq!(ids_of(&at_edge.events(50)), expected);
    // ids[48]: ids[49] is gone for good, and the client is told.
    let mut before = resume(&server, "t", ids[48]);
    let events = before.events(51);
    assert_eq!(events[0].data, missed(ids[48], None));
    assert_eq!(ids_of(&events[1..]), expected);
}
