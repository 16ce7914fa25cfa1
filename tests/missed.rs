//! The `missed` event over HTTP, with the memory history (no Redis; the log's side is
//! in tests/redis_replay.rs): told at the start of a stream that resumes from too far
//! back or from an id this server cannot place, told mid-stream to a reader the
//! history overtook, never told when nothing was missed, and --max-replay's bound.

mod support;

use std::io::Read;
use std::time::Duration;

use sse_server::Config;
use support::event_stream::ParsedEvent;
use support::{StreamReader, TestServer, fast_config};

fn server(history: usize) -> TestServer {
    TestServer::start(Config {
        history,
        ..fast_config()
    })
}

/// Publishes `count` messages `m1`, `m2`... (ids 1, 2... on a fresh server).
fn publish_numbered(server: &TestServer, count: usize) {
    for n in 1..=count {
        assert_eq!(server.publish(None, &format!("m{n}")).status, 202);
    }
}

fn resume(server: &TestServer, last_event_id: &str) -> StreamReader {
    let header = format!("Last-Event-ID: {last_event_id}\r\n");
    StreamReader::open(server, "/subscribe", &header)
}

/// `(type, data, lastEventId)` of each event, as a browser would see them.
fn seen(events: &[ParsedEvent]) -> Vec<(String, String, String)> {
    events
        .iter()
        .map(|event| {
            (
                event.event_type.clone(),
                event.data.clone(),
                event.last_event_id.clone(),
            )
        })
        .collect()
}

fn message(n: u64) -> (String, String, String) {
    ("message".into(), format!("m{n}"), n.to_string())
}

fn missed(after: &str, through: &str) -> (String, String, String) {
    // No `id:` field: lastEventId is still what the parser had before (nothing yet).
    let data = format!("{{\"after\":{after},\"through\":{through}}}");
    ("missed".into(), data, String::new())
}

/// Reads for `wait` and says whether anything but heartbeats arrived.
fn nothing_more(reader: &mut StreamReader, wait: Duration) -> bool {
    let before = reader.parsed().events.len();
    reader.socket.set_read_timeout(Some(wait)).unwrap();
    let mut buffer = [0u8; 4096];
    match reader.socket.read(&mut buffer) {
        Ok(0) | Err(_) => true,
        Ok(_) => reader.parsed().events.len() == before,
    }
}

#[test]
fn a_resume_older_than_the_history_is_told_first_then_gets_what_is_held() {
    // The case: --history 3, ten publishes, a reconnect with the id of 2.
    let server = server(3);
    publish_numbered(&server, 10);
    let mut reader = resume(&server, "2");
    let events = reader.events(4);
    assert_eq!(
        seen(&events),
        [
            missed("\"2\"", "\"7\""),
            message(8),
            message(9),
            message(10)
        ]
    );
    // The `missed` event is the first thing after `retry:`, and has no id line.
    let body = String::from_utf8_lossy(&reader.body).to_string();
    let after_retry = body.split_once("\n\n").unwrap().1;
    assert!(
        after_retry.starts_with("event: missed\ndata: {\"after\":\"2\",\"through\":\"7\"}\n\n"),
        "{body:?}"
    );
}

#[test]
fn nothing_missed_nothing_said_even_at_the_newest_dropped_id() {
    let server = server(3);
    publish_numbered(&server, 10);
    // 7 is the newest message the history dropped: a client that has it missed nothing.
    let mut at_edge = resume(&server, "7");
    assert_eq!(
        seen(&at_edge.events(3)),
        [message(8), message(9), message(10)]
    );
    assert!(nothing_more(&mut at_edge, Duration::from_millis(200)));
    let mut up_to_date = resume(&server, "10");
    let mut fresh = StreamReader::open(&server, "/subscribe", "");
    assert!(
        support::wait_for(Duration::from_secs(5), || server.stat("subscribers") == 3).is_some()
    );
    publish_numbered(&server, 1);
    // The server counts on: the new message is 11, named m1 by the helper.
    let eleven = ("message".into(), "m1".into(), "11".into());
    assert_eq!(seen(&up_to_date.events(1)), seen(&fresh.events(1)));
    assert_eq!(seen(&fresh.events(1)), [eleven]);
}

#[test]
fn an_id_this_server_cannot_place_is_told_with_an_unknown_bound() {
    let server = server(3);
    publish_numbered(&server, 5);
    // From an earlier run of the server (counting restarted), and not an id at all.
    for (sent, after) in [("99", "\"99\""), ("a\"b", "\"a\\\"b\"")] {
        let mut reader = resume(&server, sent);
        assert_eq!(
            seen(&reader.events(4)),
            [missed(after, "null"), message(3), message(4), message(5)]
        );
    }
}

#[test]
fn a_reader_the_history_overtook_is_told_mid_stream_before_what_it_still_gets() {
    // Large messages and a client that stops reading: the server's write blocks on
    // full socket buffers while publishes go on, and --history 3 drops what it had not
    // sent yet.
    let server = server(3);
    let mut reader = StreamReader::open(&server, "/subscribe", "");
    assert!(
        support::wait_for(Duration::from_secs(5), || server.stat("subscribers") == 1).is_some()
    );
    let body = "x".repeat(60_000);
    const COUNT: u64 = 300;
    for _ in 0..COUNT {
        assert_eq!(server.publish(None, &body).status, 202);
    }
    // Only the body's end is searched: parsing megabytes after every read is slow.
    let last = format!("id: {COUNT}\n");
    reader.read_until(|reader| {
        let tail = &reader.body[reader.body.len().saturating_sub(70_000)..];
        tail.windows(last.len())
            .any(|window| window == last.as_bytes())
    });
    let events = reader.parsed().events;
    let notices: Vec<&ParsedEvent> = events.iter().filter(|e| e.event_type == "missed").collect();
    assert!(
        !notices.is_empty(),
        "18 MB cannot all wait in socket buffers"
    );
    // Every `missed` names the last id the page had and the newest it will not get;
    // the next message is the one right after that.
    let mut last_id = 0u64;
    for pair in events.windows(2) {
        let (event, next) = (&pair[0], &pair[1]);
        if event.event_type == "missed" {
            let expected_after = match last_id {
                0 => "null".to_string(),
                id => format!("\"{id}\""),
            };
            let through: u64 = next.last_event_id.parse::<u64>().unwrap() - 1;
            assert_eq!(
                event.data,
                format!("{{\"after\":{expected_after},\"through\":\"{through}\"}}")
            );
        } else {
            last_id = event.last_event_id.parse().unwrap();
            if next.event_type != "missed" {
                assert_eq!(next.last_event_id, (last_id + 1).to_string());
            }
        }
    }
}

#[test]
fn one_reconnect_replays_at_most_max_replay_messages_the_newest() {
    let server = TestServer::start(Config {
        history: 100,
        max_replay: 4,
        ..fast_config()
    });
    publish_numbered(&server, 10);
    let mut reader = resume(&server, "1");
    assert_eq!(
        seen(&reader.events(5)),
        [
            missed("\"1\"", "\"6\""),
            message(7),
            message(8),
            message(9),
            message(10)
        ]
    );
    // Within the bound, all of it and no notice.
    let mut near = resume(&server, "6");
    assert_eq!(seen(&near.events(4))[0], message(7));
}
