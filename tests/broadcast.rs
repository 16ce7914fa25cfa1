//! Publish and subscribe: fan-out, ids, replay after Last-Event-ID, history overflow,
//! hostile message bodies, every publish error, and slow subscribers.

mod support;

use std::io::Write;
use std::time::Duration;

use sse_server::Config;
use support::{StreamReader, TestServer, fast_config, read_response};

fn ids(events: &[support::event_stream::ParsedEvent]) -> Vec<u64> {
    events
        .iter()
        .map(|event| event.last_event_id.parse().unwrap())
        .collect()
}

fn publish_ok(server: &TestServer, event_type: Option<&str>, body: &str) -> u64 {
    let response = server.publish(event_type, body);
    assert_eq!(response.status, 202, "{response:?}");
    support::json_number(&response.body_text(), "id")
}

/// Waits until the hub counts `count` subscribers, so a publish cannot race ahead of
/// a subscription.
fn wait_for_subscribers(server: &TestServer, count: u64) {
    assert!(
        support::wait_for(Duration::from_secs(5), || server.stat("subscribers")
            == count)
        .is_some(),
        "{}",
        server.stats()
    );
}

#[test]
fn every_subscriber_gets_every_message_in_order() {
    let server = TestServer::start(fast_config());
    let mut subscribers: Vec<StreamReader> = (0..3)
        .map(|_| StreamReader::open(&server, "/subscribe", ""))
        .collect();
    wait_for_subscribers(&server, 3);
    let response = server.publish(None, "one");
    assert_eq!(response.status, 202);
    assert_eq!(
        response.body_text(),
        "{\"id\": \"1\", \"subscribers\": 3}\n"
    );
    publish_ok(&server, Some("chat"), "two");
    publish_ok(&server, None, "three");
    for subscriber in &mut subscribers {
        let body = String::from_utf8(subscriber.body.clone()).unwrap();
        assert!(body.starts_with("retry: 3000\n\n"), "{body}");
        let events = subscriber.events(3);
        assert_eq!(ids(&events), [1, 2, 3]);
        let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(types, ["message", "chat", "message"]);
        assert_eq!(events[1].data, "two");
    }
    assert!(String::from_utf8_lossy(&subscribers[0].body).ends_with("id: 3\ndata: three\n\n"));
}

#[test]
fn a_subscriber_without_last_event_id_gets_only_new_messages() {
    let server = TestServer::start(fast_config());
    publish_ok(&server, None, "before");
    let mut subscriber = StreamReader::open(&server, "/subscribe", "");
    wait_for_subscribers(&server, 1);
    publish_ok(&server, None, "after");
    let events = subscriber.events(1);
    assert_eq!((ids(&events), events[0].data.as_str()), (vec![2], "after"));
}

#[test]
fn resumes_after_last_event_id_with_no_gap_and_no_duplicate_while_publishing_continues() {
    let server = TestServer::start(Config {
        history: 10_000,
        ..fast_config()
    });
    for n in 1..=50 {
        publish_ok(&server, None, &format!("message {n}"));
    }
    let addr = server.addr;
    let publisher = std::thread::spawn(move || {
        for n in 51..=300 {
            let mut socket = std::net::TcpStream::connect(addr).unwrap();
            socket
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let body = format!("message {n}");
            let request = format!(
                "POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(request.as_bytes()).unwrap();
            assert_eq!(read_response(&mut socket).status, 202);
        }
    });
    // Connect while the publisher is busy: replay and live delivery overlap.
    let mut subscriber = StreamReader::open(&server, "/subscribe", "Last-Event-ID: 20\r\n");
    publisher.join().unwrap();
    let events = subscriber.events(280);
    assert_eq!(ids(&events), (21..=300).collect::<Vec<u64>>());
    assert!(
        events
            .iter()
            .all(|e| e.data == format!("message {}", e.last_event_id))
    );
}

#[test]
fn history_overflow_replays_what_is_held() {
    let server = TestServer::start(Config {
        history: 5,
        ..fast_config()
    });
    for n in 1..=10 {
        publish_ok(&server, None, &n.to_string());
    }
    assert_eq!(server.stat("history_held"), 5);
    let mut subscriber = StreamReader::open(&server, "/subscribe", "Last-Event-ID: 2\r\n");
    // First the notice of what is gone (tests/missed.rs has the rest of its contract).
    let events = subscriber.events(6);
    assert_eq!(events[0].event_type, "missed");
    assert_eq!(events[0].data, r#"{"after":"2","through":"5"}"#);
    assert_eq!(ids(&events[1..]), [6, 7, 8, 9, 10]);
    publish_ok(&server, None, "live");
    assert_eq!(ids(&subscriber.events(7)[1..])[5], 11);
}

#[test]
fn hostile_bodies_arrive_exactly_as_sent_and_forge_nothing() {
    let server = TestServer::start(fast_config());
    let mut subscriber = StreamReader::open(&server, "/subscribe", "");
    wait_for_subscribers(&server, 1);
    let hostile = [
        "line one\r\nline two\rline three\nline four",
        "\n\nid: 999\nevent: forged\nretry: 1\n\ndata: injected\n",
        "  leading spaces\n\ttab\n: not a comment\n",
        "",
        "\r\n",
        "unicode: héllo wörld ✓ 🎉 \u{2028} \u{FEFF}bom",
        "data:no-space\nid:\0nul",
    ];
    for body in hostile {
        publish_ok(&server, Some("chat"), body);
    }
    let events = subscriber.events(hostile.len());
    assert_eq!(events.len(), hostile.len(), "{events:?}");
    for (n, (event, sent)) in events.iter().zip(hostile).enumerate() {
        let expected = sent.replace("\r\n", "\n").replace('\r', "\n");
        assert_eq!(event.data, expected, "message {n}");
        assert_eq!(event.event_type, "chat", "message {n}");
        assert_eq!(event.last_event_id, (n + 1).to_string(), "message {n}");
    }
    assert_eq!(
        subscriber.parsed().retry_ms,
        Some(3000),
        "a body changed the retry delay"
    );
}

#[test]
fn publish_errors_get_their_status() {
    let server = TestServer::start(Config {
        max_message_bytes: 100,
        ..fast_config()
    });
    let post = |query: &str, headers: &str, body: &[u8]| {
        let mut socket = server.connect();
        let head = format!("POST /publish{query} HTTP/1.1\r\nHost: t\r\n{headers}\r\n");
        socket.write_all(head.as_bytes()).unwrap();
        let _ = socket.write_all(body);
        read_response(&mut socket)
    };
    assert_eq!(post("", "", b"").status, 411);
    assert_eq!(
        post("", "Content-Length: 101\r\n", &[b'a'; 101]).status,
        413
    );
    assert_eq!(post("", "Content-Length: 2\r\n", b"\xff\xfe").status, 400);
    assert_eq!(post("?event=", "Content-Length: 1\r\n", b"a").status, 400);
    assert_eq!(
        post("?event=a%0Ab", "Content-Length: 1\r\n", b"a").status,
        400
    );
    assert_eq!(
        post("?event=a%0Db", "Content-Length: 1\r\n", b"a").status,
        400
    );
    let long_type = format!("?event={}", "x".repeat(65));
    assert_eq!(post(&long_type, "Content-Length: 1\r\n", b"a").status, 400);
    assert_eq!(
        post("", "Transfer-Encoding: chunked\r\n", b"1\r\na\r\n0\r\n\r\n").status,
        501
    );
    assert_eq!(
        post(
            "",
            "Content-Length: 1\r\nOrigin: http://evil.test\r\n",
            b"a"
        )
        .status,
        403
    );
    assert_eq!(
        post("", "Content-Length: 1\r\nOrigin: http://t\r\n", b"a").status,
        202
    );
    // None of the refused requests published anything.
    assert_eq!(server.stat("messages_published"), 1);
}

#[test]
fn an_oversized_body_is_refused_without_reading_it() {
    let server = TestServer::start(fast_config());
    let mut socket = server.connect();
    // Announce 100 MiB but send only the head: the answer must come anyway.
    socket
        .write_all(b"POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: 104857600\r\n\r\n")
        .unwrap();
    let response = read_response(&mut socket);
    assert_eq!(response.status, 413);
    assert_eq!(response.header("connection"), Some("close"));
}

#[test]
fn the_token_is_required_when_set() {
    let server = TestServer::start(Config {
        token: Some(sse_server::config::Secret::new("s3cret")),
        ..fast_config()
    });
    let with = |auth: &str| {
        server.exchange(&format!(
            "POST /publish HTTP/1.1\r\nHost: t\r\n{auth}Content-Length: 2\r\nConnection: close\r\n\r\nhi"
        ))
    };
    let missing = with("");
    assert_eq!(missing.status, 401);
    assert_eq!(missing.header("www-authenticate"), Some("Bearer"));
    assert_eq!(with("Authorization: Bearer wrong\r\n").status, 401);
    assert_eq!(with("Authorization: Bearer s3cret\r\n").status, 202);
}

#[test]
fn an_allowed_origin_may_publish() {
    let server = TestServer::start(Config {
        allowed_origins: vec!["http://app.test".into()],
        ..fast_config()
    });
    let from = |origin: &str| {
        server.exchange(&format!(
            "POST /publish HTTP/1.1\r\nHost: t\r\nOrigin: {origin}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
        ))
    };
    assert_eq!(from("http://app.test").status, 202);
    assert_eq!(from("http://other.test").status, 403);
}

#[test]
fn a_subscriber_that_stops_reading_delays_no_one() {
    // A write timeout far longer than the test: if a publish (or the healthy reader)
    // waited on the stalled subscriber, nothing would move until the socket reads below
    // time out and fail the test. Nothing is timed: the proof is that everything
    // arrives while the stalled subscriber is still there. (It used to compare each
    // publish with 500 ms of wall-clock time, which a busy machine failed; issue 25.)
    let server = TestServer::start(Config {
        write_timeout: Duration::from_secs(600),
        ..fast_config()
    });
    // This subscriber reads the head and then nothing: its socket buffers fill up
    // (loopback buffers hold a few MiB, so 250 x 60 kB is well past them).
    let stalled = StreamReader::open(&server, "/subscribe", "");
    let mut healthy = StreamReader::open(&server, "/subscribe", "");
    wait_for_subscribers(&server, 2);
    // The healthy subscriber reads all the time, on its own thread, as a real client does.
    // It hands itself back when done: it stays connected while the stalled one goes.
    let healthy = std::thread::spawn(move || (healthy.events(250), healthy));
    let big = "x".repeat(60_000);
    for _ in 0..250 {
        publish_ok(&server, None, &big);
    }
    let (events, _healthy) = healthy.join().expect("the healthy subscriber's reader");
    assert_eq!(events.len(), 250);
    // All of it happened while the stalled subscriber was still subscribed, its
    // thread stuck in a write.
    assert_eq!(server.stat("subscribers"), 2, "{}", server.stats());
    // Once it goes, its place is given back.
    drop(stalled);
    assert!(
        support::wait_for(Duration::from_secs(5), || server.stat("subscribers") == 1).is_some(),
        "{}",
        server.stats()
    );
}

#[test]
fn stats_count_subscribers_and_messages() {
    let server = TestServer::start(fast_config());
    let _subscriber = StreamReader::open(&server, "/subscribe", "");
    wait_for_subscribers(&server, 1);
    publish_ok(&server, None, "a");
    let stats = server.stats();
    assert_eq!(
        support::json_number(&stats, "messages_published"),
        1,
        "{stats}"
    );
    assert_eq!(support::json_number(&stats, "history_held"), 1, "{stats}");
}

#[test]
fn a_new_event_source_can_resume_with_a_query_parameter() {
    let server = TestServer::start(fast_config());
    for n in 1..=4 {
        publish_ok(&server, None, &n.to_string());
    }
    let mut subscriber = StreamReader::open(&server, "/subscribe?last_event_id=2", "");
    assert_eq!(ids(&subscriber.events(2)), [3, 4]);
}

#[test]
fn a_browser_gets_the_demo_page_and_everyone_else_the_counter() {
    let server = TestServer::start(fast_config());
    let page = server.exchange(
        "GET / HTTP/1.1\r\nHost: t\r\nAccept: text/html,application/xhtml+xml,*/*;q=0.8\r\n\r\n",
    );
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("vary"), Some("Accept"));
    let html = page.body_text();
    assert!(
        html.contains("new EventSource(") && html.contains("/subscribe"),
        "not the demo page"
    );
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "the page must be self-contained"
    );
    for accept in ["*/*", "text/event-stream"] {
        let mut stream = server.get("/", &format!("Accept: {accept}\r\n"));
        let received = support::read_until(&mut stream, "This is event number 1");
        assert!(
            received.contains("Content-Type: text/event-stream"),
            "{received}"
        );
    }
}

#[test]
fn a_burst_of_pipelined_publishes_reaches_subscribers_while_the_publisher_stays_connected() {
    // Regression guard for the deferred wake-up (hub.rs, "Waking subscribers"): the
    // publishing connection stays open and idle after its burst, and subscribers must
    // still be woken.
    let server = TestServer::start(fast_config());
    let mut subscriber = StreamReader::open(&server, "/subscribe", "");
    wait_for_subscribers(&server, 1);
    let burst: String = (1..=50)
        .map(|n| {
            let body = format!("burst {n}");
            format!(
                "POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
        })
        .collect();
    let mut publisher = server.send(&burst);
    let events = subscriber.events(50);
    assert_eq!(ids(&events), (1..=50).collect::<Vec<u64>>());
    assert_eq!(events[49].data, "burst 50");
    let answers = support::read_until(&mut publisher, "{\"id\": \"50\",");
    assert_eq!(answers.matches("HTTP/1.1 202 Accepted").count(), 50);
}
