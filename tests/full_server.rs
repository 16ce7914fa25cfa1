//! A full server: streams at their cap still leave room for publishes and `/stats`; a
//! connection that waited for a request slot loses no byte; a refusal carries the
//! CORS headers its stream would have had.

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use sse_server::Config;
use support::{StreamReader, TestServer, fast_config, read_response, read_to_close, read_until};

/// `POST /publish?topic=T` with `body`, as raw bytes (kept open: `Connection` not set).
fn publish_request(body: &[u8], close: bool) -> Vec<u8> {
    let connection = if close { "Connection: close\r\n" } else { "" };
    let mut request = format!(
        "POST /publish?topic=t HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n{connection}\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

/// A body of `length` bytes that says which one it is at every position.
fn numbered_body(tag: char, length: usize) -> Vec<u8> {
    (0..length)
        .map(|n| {
            if n % 100 == 0 {
                tag as u8
            } else {
                b'a' + (n % 26) as u8
            }
        })
        .collect()
}

#[test]
fn at_the_stream_cap_publishes_and_stats_are_served_and_a_fifth_stream_is_refused_kindly() {
    let server = TestServer::start(Config {
        max_clients: 4,
        admission_wait: Duration::from_millis(200),
        ..fast_config()
    });
    let mut streams: Vec<StreamReader> = (0..4)
        .map(|_| StreamReader::open(&server, "/subscribe?topic=t", ""))
        .collect();
    assert!(
        support::wait_for(Duration::from_secs(5), || server.stat("subscribers") == 4).is_some()
    );
    for n in 1..=20 {
        let body = format!("message {n}");
        let response =
            server.exchange(&String::from_utf8(publish_request(body.as_bytes(), true)).unwrap());
        assert_eq!(response.status, 202, "publish {n} at the cap: {response:?}");
    }
    for stream in &mut streams {
        let received: Vec<String> = stream.events(20).into_iter().map(|e| e.data).collect();
        let expected: Vec<String> = (1..=20).map(|n| format!("message {n}")).collect();
        assert_eq!(received, expected);
    }
    let stats = server.exchange("GET /stats HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    assert_eq!(stats.status, 200, "{stats:?}");
    // A fifth stream from an EventSource: 200 with a spread retry, then the end.
    let mut fifth = server.get("/subscribe?topic=t", "Accept: text/event-stream\r\n");
    let answer = read_to_close(&mut fifth);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("\r\n\r\nretry: "), "{answer}");
    assert!(!answer.contains("data:"), "{answer}");
    // The four streams are still served.
    let response = server.exchange(&String::from_utf8(publish_request(b"after", true)).unwrap());
    assert_eq!(response.status, 202);
    for stream in &mut streams {
        assert_eq!(stream.events(21)[20].data, "after");
    }
}

/// Takes the only request slot with a head that never finishes; returns its socket.
fn occupy_the_request_slot(server: &TestServer) -> TcpStream {
    let socket = server.send("GET / HTTP/1.1\r\nHost: test\r\nX-Slow: a");
    // The accept loop hands it a slot at once; give its thread a moment to start.
    std::thread::sleep(Duration::from_millis(100));
    socket
}

#[test]
fn a_publish_that_waited_for_a_slot_is_read_whole() {
    let server = TestServer::start(Config {
        max_requests: 1,
        admission_wait: Duration::from_secs(4),
        max_message_bytes: 64 * 1024,
        ..fast_config()
    });
    let mut subscriber = StreamReader::open(&server, "/subscribe?topic=t", "");
    assert!(
        support::wait_for(Duration::from_secs(5), || server.stat("subscribers") == 1).is_some()
    );
    // A 20,000-byte publish, then two pipelined 9,000-byte ones, all sent while the
    // only request slot is taken: they wait in the waiting room.
    let slow = occupy_the_request_slot(&server);
    let big = numbered_body('A', 20_000);
    let mut waiting_big = server.connect();
    waiting_big.write_all(&publish_request(&big, true)).unwrap();
    let first = numbered_body('B', 9_000);
    let second = numbered_body('C', 9_000);
    let mut pipelined = publish_request(&first, false);
    pipelined.extend_from_slice(&publish_request(&second, true));
    let mut waiting_pair = server.connect();
    waiting_pair.write_all(&pipelined).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // The slot frees: the waiting connections are served, one after the other.
    let freed_at = Instant::now();
    drop(slow);
    assert_eq!(read_response(&mut waiting_big).status, 202);
    let answers = read_to_close(&mut waiting_pair);
    assert_eq!(
        answers.matches("HTTP/1.1 202 Accepted\r\n").count(),
        2,
        "{answers}"
    );
    assert!(freed_at.elapsed() < Duration::from_secs(3));
    let delivered: Vec<Vec<u8>> = subscriber
        .events(3)
        .into_iter()
        .map(|event| event.data.into_bytes())
        .collect();
    assert_eq!(
        delivered,
        vec![big, first, second],
        "byte-identical, in order"
    );
}

#[test]
fn a_refusal_carries_the_cors_headers_the_stream_would_have() {
    let origin = "http://app.example";
    let server = TestServer::start(Config {
        max_clients: 1,
        max_requests: 2,
        admission_wait: Duration::from_millis(200),
        allowed_origins: vec![origin.to_string()],
        ..fast_config()
    });
    let event_source = format!("Accept: text/event-stream\r\nOrigin: {origin}\r\n");
    let mut admitted = server.get("/subscribe?topic=t", &event_source);
    let head = read_until(&mut admitted, "retry: ");
    assert!(head.contains(&format!("\r\nAccess-Control-Allow-Origin: {origin}\r\n")));
    assert!(head.contains("\r\nAccess-Control-Allow-Credentials: true\r\n"));
    // At the stream cap: refused on its own thread.
    let mut refused = server.get("/subscribe?topic=t", &event_source);
    assert_kind_refusal_for(origin, &read_to_close(&mut refused));
    // Past the request budget too: refused by the waiting room.
    let _slow: Vec<TcpStream> = (0..2).map(|_| occupy_the_request_slot(&server)).collect();
    let mut waited = server.get("/subscribe?topic=t", &event_source);
    assert_kind_refusal_for(origin, &read_to_close(&mut waited));
}

/// A `200` that only says `retry:`, readable by a credentialed EventSource on `origin`.
fn assert_kind_refusal_for(origin: &str, answer: &str) {
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("\r\n\r\nretry: "), "{answer}");
    assert!(!answer.contains("data:"), "{answer}");
    let allowed = format!("\r\nAccess-Control-Allow-Origin: {origin}\r\n");
    assert!(answer.contains(&allowed), "{answer}");
    assert!(
        answer.contains("\r\nAccess-Control-Allow-Credentials: true\r\n"),
        "{answer}"
    );
    assert!(!answer.contains("Allow-Origin: *"), "{answer}");
}

#[test]
fn a_flood_of_slow_requests_takes_only_the_request_budget() {
    let server = TestServer::start(Config {
        max_requests: 4,
        admission_wait: Duration::from_millis(200),
        ..fast_config()
    });
    let mut stream = StreamReader::open(&server, "/subscribe?topic=t", "");
    assert!(
        support::wait_for(Duration::from_secs(5), || server.stat("subscribers") == 1).is_some()
    );
    let slow: Vec<TcpStream> = (0..4).map(|_| occupy_the_request_slot(&server)).collect();
    // A fifth short request waits, then is told to come back later.
    let started = Instant::now();
    let mut refused = server.send("GET /stats HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    let answer = read_to_close(&mut refused);
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    assert!(answer.contains("\r\nRetry-After: "), "{answer}");
    assert!(started.elapsed() >= Duration::from_millis(200));
    // The stream already open is untouched: the flood took no stream slot.
    drop(slow);
    let response =
        server.exchange(&String::from_utf8(publish_request(b"still here", true)).unwrap());
    assert_eq!(response.status, 202);
    assert_eq!(stream.events(1)[0].data, "still here");
}

#[test]
fn past_the_waiting_rooms_own_limit_connections_are_turned_away_at_once() {
    // The waiting connections wait far longer than the test runs, however slowly a busy
    // machine lets 2,100 connections in: none leaves the room before the last is sent.
    let server = TestServer::start(Config {
        max_requests: 1,
        admission_wait: Duration::from_secs(120),
        ..fast_config()
    });
    let _slow = occupy_the_request_slot(&server);
    // The waiting room holds 1,024, and as many more on their way in; these 2,100 fill
    // it, and the last few are turned away already.
    let waiting: Vec<TcpStream> = (0..2100)
        .map(|_| server.send("GET /stats HTTP/1.1\r\nHost: test\r\n\r\n"))
        .collect();
    // Turned away at once: an answer within the read timeout (5 s) is not one that
    // waited for --admission-wait-ms (120 s).
    let mut turned_away = server.send("GET /stats HTTP/1.1\r\nHost: test\r\n\r\n");
    let answer = read_to_close(&mut turned_away);
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    assert!(answer.contains("\r\nRetry-After: "), "{answer}");
    drop(waiting);
}
