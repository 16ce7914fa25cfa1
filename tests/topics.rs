//! Topics end to end, registration before the head, and departed clients freed.

mod support;

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use sse_server::Config;
use support::{StreamReader, TestServer, fast_config, read_until};

fn publish_to(server: &TestServer, query: &str, body: &str) -> support::HttpResponse {
    server.exchange(&format!(
        "POST /publish?{query} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ))
}

fn data_of(reader: &mut StreamReader, count: usize) -> Vec<String> {
    reader
        .events(count)
        .into_iter()
        .map(|event| event.data)
        .collect()
}

#[test]
fn each_subscriber_gets_exactly_the_messages_of_its_topics_once() {
    let server = TestServer::start(fast_config());
    let mut news = StreamReader::open(&server, "/subscribe?topic=news", "");
    let mut both = StreamReader::open(&server, "/subscribe?topic=news&topic=orders%2F42", "");
    let mut plain = StreamReader::open(&server, "/subscribe", "");
    assert!(
        support::wait_for(Duration::from_secs(5), || server.stat("subscribers") == 3).is_some()
    );
    assert_eq!(server.stat("topics"), 3);
    let shared = publish_to(&server, "topic=news&topic=orders/42", "to both");
    assert_eq!(shared.status, 202);
    assert_eq!(support::json_number(&shared.body_text(), "subscribers"), 2);
    assert_eq!(publish_to(&server, "topic=orders/42", "order").status, 202);
    assert_eq!(publish_to(&server, "", "to default").status, 202);
    assert_eq!(publish_to(&server, "topic=news", "news").status, 202);
    assert_eq!(data_of(&mut news, 2), ["to both", "news"]);
    assert_eq!(data_of(&mut both, 3), ["to both", "order", "news"]);
    assert_eq!(data_of(&mut plain, 1), ["to default"]);
}

#[test]
fn bad_topics_are_refused_with_a_reason() {
    let server = TestServer::start(fast_config());
    let refused = |target: &str| {
        let response = server.exchange(&format!(
            "GET {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
        ));
        (response.status, response.body_text())
    };
    let (status, body) = refused("/subscribe?topic=a%20b");
    assert_eq!(status, 400);
    assert!(body.contains("topic \"a b\""), "{body}");
    let (status, body) = refused("/subscribe?topic=orders/*");
    assert_eq!(status, 400);
    assert!(body.contains("reserved"), "{body}");
    let many: String = (0..33).map(|n| format!("topic=t{n}&")).collect();
    let (status, body) = refused(&format!("/subscribe?{many}"));
    assert_eq!(status, 400);
    assert!(body.contains("at most 32"), "{body}");
    assert_eq!(publish_to(&server, "topic=", "x").status, 400);
}

#[test]
fn max_topics_is_a_clear_503() {
    let server = TestServer::start(Config {
        max_topics: 2,
        ..fast_config()
    });
    assert_eq!(publish_to(&server, "topic=a", "1").status, 202);
    assert_eq!(publish_to(&server, "topic=b", "2").status, 202);
    let refused = publish_to(&server, "topic=c", "3");
    assert_eq!(refused.status, 503, "{refused:?}");
    assert!(refused.body_text().contains("--max-topics"), "{refused:?}");
    assert!(refused.header("retry-after").is_some(), "{refused:?}");
}

/// The bug this pins: the stream head (on which a browser fires `open`) used to be
/// written before the subscription was registered, so a message published the instant
/// `open` fired could be lost.
#[test]
fn a_message_published_the_instant_the_head_arrives_is_never_lost() {
    const CLIENTS: usize = 16;
    const TRIES_EACH: usize = 64;
    let server = Arc::new(TestServer::start(fast_config()));
    let lost = Arc::new(AtomicU64::new(0));
    let start = Arc::new(Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (server, lost, start) =
                (Arc::clone(&server), Arc::clone(&lost), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                for attempt in 0..TRIES_EACH {
                    let topic = format!("race-{client}-{attempt}");
                    let mut stream = server.get(&format!("/subscribe?topic={topic}"), "");
                    // The instant the head arrives, as a page's `open` handler would.
                    read_until(&mut stream, "retry:");
                    assert_eq!(
                        publish_to(&server, &format!("topic={topic}"), "hello").status,
                        202
                    );
                    stream
                        .set_read_timeout(Some(Duration::from_secs(2)))
                        .unwrap();
                    let mut received = Vec::new();
                    let mut chunk = [0u8; 512];
                    let deadline = Instant::now() + Duration::from_secs(2);
                    while !String::from_utf8_lossy(&received).contains("data: hello")
                        && Instant::now() < deadline
                    {
                        match stream.read(&mut chunk) {
                            Ok(n) if n > 0 => received.extend_from_slice(&chunk[..n]),
                            _ => break,
                        }
                    }
                    if !String::from_utf8_lossy(&received).contains("data: hello") {
                        lost.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("client thread");
    }
    assert_eq!(
        lost.load(Ordering::Relaxed),
        0,
        "messages lost in {} tries",
        CLIENTS * TRIES_EACH
    );
}

#[test]
fn clients_that_close_or_reset_idle_streams_are_freed_at_once() {
    // Client checks and heartbeats an hour away: only the client watch can notice.
    let server = TestServer::start(Config {
        heartbeat_interval: Duration::from_secs(3600),
        client_check: Duration::from_secs(3600),
        ..fast_config()
    });
    let mut streams: Vec<_> = (0..50)
        .map(|_| {
            let mut stream = server.get("/subscribe", "");
            read_until(&mut stream, "retry:");
            stream
        })
        .collect();
    assert_eq!(server.stat("streams_open"), 50);
    let freed_within = |open_after: u64| {
        let started = Instant::now();
        support::wait_for(Duration::from_secs(5), || {
            server.stat("streams_open") == open_after && server.stat("subscribers") == open_after
        })
        .unwrap_or_else(|| panic!("not freed: {}", server.stats()));
        started.elapsed()
    };

    // Half close normally (a FIN).
    let resetting = streams.split_off(25);
    drop(streams);
    let after_close = freed_within(25);

    // The others reset: each has a message it never read, so closing sends an RST.
    assert_eq!(server.publish(None, "unread").status, 202);
    std::thread::sleep(Duration::from_millis(100));
    drop(resetting);
    let after_reset = freed_within(0);

    for (how, took) in [("closed", after_close), ("reset", after_reset)] {
        assert!(
            took < Duration::from_secs(2),
            "25 idle streams {how} by their clients freed only after {took:?}"
        );
    }
}

#[test]
fn a_clock_stream_notices_a_departed_client_between_its_events() {
    let server = TestServer::start(Config {
        interval: Duration::from_secs(60),
        heartbeat_interval: Duration::from_secs(60),
        client_check: Duration::from_millis(100),
        ..fast_config()
    });
    let mut stream = server.get("/events", "");
    read_until(&mut stream, "retry:");
    drop(stream);
    assert!(
        support::wait_for(Duration::from_secs(2), || server.stat("streams_open") == 0).is_some(),
        "{}",
        server.stats()
    );
}

/// Issue 23's reproduction, end to end: with `--history 100`, 1,200 publishes each to
/// the same 32 topics used to wrap `history_held` and `history_bytes` to near 2^64,
/// and from then on every publish emptied every history, so a live subscriber lost
/// most of a burst. Now the counters stay exact and nothing else is touched.
#[test]
fn publishing_to_thirty_two_topics_at_once_loses_nothing_elsewhere() {
    let server = TestServer::start(Config {
        history: 100,
        ..fast_config()
    });
    let all: Vec<String> = (0..32).map(|n| format!("topic=m/{n}")).collect();
    let all = all.join("&");
    for _ in 0..1200 {
        assert_eq!(publish_to(&server, &all, "x").status, 202);
    }
    assert_eq!(server.stat("history_held"), 100);
    let held_bytes = server.stat("history_bytes");
    assert!(held_bytes < 100 * 1024, "{held_bytes}");

    for n in 0..50 {
        assert_eq!(
            publish_to(&server, "topic=other", &format!("{n}")).status,
            202
        );
    }
    let mut replay =
        StreamReader::open(&server, "/subscribe?topic=other", "Last-Event-ID: 1200\r\n");
    let events = replay.events(50);
    assert!(events.iter().all(|event| event.event_type == "message"));
    let expected: Vec<String> = (0..50).map(|n| n.to_string()).collect();
    assert_eq!(
        events.iter().map(|e| e.data.clone()).collect::<Vec<_>>(),
        expected
    );

    let mut live = StreamReader::open(&server, "/subscribe?topic=live", "");
    assert!(
        support::wait_for(Duration::from_secs(5), || server.stat("subscribers") == 2).is_some()
    );
    for n in 0..200 {
        assert_eq!(
            publish_to(&server, "topic=live", &format!("{n}")).status,
            202
        );
    }
    let events = live.events(200);
    assert!(events.iter().all(|event| event.event_type == "message"));
    let expected: Vec<String> = (0..200).map(|n| n.to_string()).collect();
    assert_eq!(
        events.iter().map(|e| e.data.clone()).collect::<Vec<_>>(),
        expected
    );
    assert_eq!(server.stat("history_held"), 250);
}
