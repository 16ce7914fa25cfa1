//! The counter, clock and stats routes, the HTTP framing of streams, and shutdown,
//! against a server running in this process.

mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use support::{
    TestServer, dechunk, event_stream, fast_config, read_response, read_to_close, read_until,
    split_head, wait_for,
};

const COUNTER_BODY: &str = "retry: 3000\n\n\
    id: 1\ndata: This is event number 1\n\n\
    id: 2\ndata: This is event number 2\n\n\
    id: 3\ndata: This is event number 3\n\n\
    id: 4\ndata: This is event number 4\n\n\
    id: 5\ndata: This is event number 5\n\n\
    event: close\ndata: \n\n";

#[test]
fn counter_stream_sends_five_numbered_events_then_close() {
    let server = TestServer::start(fast_config());
    let response = read_to_close(&mut server.get("/", "Accept: */*\r\n"));
    let (head, body) = split_head(&response);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    for header in [
        "Content-Type: text/event-stream",
        "Cache-Control: no-cache",
        "Access-Control-Allow-Origin: *",
        "X-Accel-Buffering: no",
        "Transfer-Encoding: chunked",
        "Connection: close",
    ] {
        assert!(
            format!("{head}\r\n").contains(&format!("{header}\r\n")),
            "missing {header} in {head}"
        );
    }
    let (events, finished) = dechunk(body.as_bytes());
    assert!(
        finished,
        "the stream must end with the last chunk: {body:?}"
    );
    assert_eq!(String::from_utf8(events).unwrap(), COUNTER_BODY);
}

#[test]
fn each_event_is_its_own_chunk() {
    let server = TestServer::start(fast_config());
    let response = read_to_close(&mut server.get("/", ""));
    let (_, body) = split_head(&response);
    assert!(
        body.starts_with(
            "D\r\nretry: 3000\n\n\r\n24\r\nid: 1\ndata: This is event number 1\n\n\r\n"
        ),
        "{body:?}"
    );
    assert!(
        body.ends_with("15\r\nevent: close\ndata: \n\n\r\n0\r\n\r\n"),
        "{body:?}"
    );
}

#[test]
fn a_browser_parser_sees_five_messages_and_a_close_event() {
    let server = TestServer::start(fast_config());
    let response = read_to_close(&mut server.get("/", "Accept: text/event-stream\r\n"));
    let (events, _) = dechunk(split_head(&response).1.as_bytes());
    let parsed = event_stream::parse(&String::from_utf8(events).unwrap());
    assert_eq!(parsed.retry_ms, Some(3000));
    let summary: Vec<(String, String, String)> = parsed
        .events
        .into_iter()
        .map(|e| (e.event_type, e.data, e.last_event_id))
        .collect();
    assert_eq!(summary.len(), 6, "{summary:?}");
    assert_eq!(
        summary[0],
        (
            "message".into(),
            "This is event number 1".into(),
            "1".into()
        )
    );
    assert_eq!(summary[5], ("close".into(), "".into(), "5".into()));
}

#[test]
fn counter_resumes_after_last_event_id() {
    let server = TestServer::start(fast_config());
    let response = read_to_close(&mut server.get("/", "Last-Event-ID: 3\r\n"));
    let (events, _) = dechunk(split_head(&response).1.as_bytes());
    let text = String::from_utf8(events).unwrap();
    assert!(
        text.starts_with("retry: 3000\n\nid: 4\ndata: This is event number 4\n\n"),
        "{text}"
    );
    assert!(!text.contains("number 3"), "{text}");
}

#[test]
fn counter_answers_204_when_nothing_is_left_so_browsers_stop_reconnecting() {
    let server = TestServer::start(fast_config());
    for last in ["5", "99"] {
        let response = read_response(&mut server.get("/", &format!("Last-Event-ID: {last}\r\n")));
        assert_eq!(response.status, 204, "{response:?}");
        assert_eq!(response.header("content-length"), None);
    }
}

#[test]
fn a_last_event_id_that_is_not_a_number_is_ignored() {
    let server = TestServer::start(fast_config());
    let response = read_to_close(&mut server.get("/", "Last-Event-ID: abc\r\n"));
    assert!(response.contains("This is event number 1"), "{response}");
}

#[test]
fn http_1_0_streams_are_not_chunked_and_end_at_close() {
    let server = TestServer::start(fast_config());
    let response = read_to_close(&mut server.send("GET / HTTP/1.0\r\n\r\n"));
    let (head, body) = split_head(&response);
    assert!(!head.contains("Transfer-Encoding"), "{head}");
    assert!(head.ends_with("Connection: close"), "{head}");
    assert_eq!(body, COUNTER_BODY);
}

#[test]
fn the_head_arrives_before_the_first_event() {
    let config = support::fast_config();
    let server = TestServer::start(sse_server::Config {
        interval: Duration::from_secs(60),
        ..config
    });
    let mut socket = server.get("/events", "");
    let started = Instant::now();
    let received = read_until(&mut socket, "retry: 3000\n\n");
    assert!(received.starts_with("HTTP/1.1 200 OK"), "{received}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn clock_stream_sends_utc_times_with_milliseconds() {
    let server = TestServer::start(fast_config());
    let mut socket = server.get("/events", "");
    let received = read_until(&mut socket, "Z\n\n\r\n");
    let data_line = received
        .lines()
        .find(|line| line.starts_with("data: "))
        .expect("a data line");
    let time = data_line.trim_start_matches("data: ");
    let parsed =
        chrono::DateTime::parse_from_rfc3339(time).unwrap_or_else(|e| panic!("{time:?}: {e}"));
    assert_eq!(time.len(), "2026-11-21T12:00:00.000Z".len(), "{time}");
    let skew = (chrono::Utc::now() - parsed.to_utc()).num_seconds().abs();
    assert!(skew < 5, "clock off by {skew}s");
}

#[test]
fn idle_streams_get_heartbeat_comments() {
    let config = sse_server::Config {
        interval: Duration::from_secs(60),
        heartbeat_interval: Duration::from_millis(30),
        ..fast_config()
    };
    let server = TestServer::start(config);
    let mut socket = server.get("/", "");
    let received = read_until(&mut socket, ": keep-alive\n\n\r\n");
    assert!(
        received.contains("\r\nE\r\n: keep-alive\n\n\r\n"),
        "{received:?}"
    );
}

#[test]
fn head_request_on_a_stream_route_gets_the_head_only() {
    let server = TestServer::start(fast_config());
    let response = read_to_close(&mut server.send("HEAD /events HTTP/1.1\r\nHost: t\r\n\r\n"));
    let (head, body) = split_head(&response);
    assert!(head.contains("Content-Type: text/event-stream"), "{head}");
    assert_eq!(body, "");
}

#[test]
fn stats_count_streams_and_events() {
    let server = TestServer::start(fast_config());
    read_to_close(&mut server.get("/", ""));
    let stats = server.stats();
    assert_eq!(support::json_number(&stats, "streams_open"), 0, "{stats}");
    assert_eq!(support::json_number(&stats, "streams_served"), 1, "{stats}");
    assert_eq!(support::json_number(&stats, "events_sent"), 6, "{stats}");
    assert!(stats.contains("\"uptime_secs\": "), "{stats}");
}

#[test]
fn a_client_that_leaves_is_noticed_at_the_next_write() {
    let config = sse_server::Config {
        heartbeat_interval: Duration::from_millis(20),
        ..fast_config()
    };
    let server = TestServer::start(sse_server::Config {
        interval: Duration::from_secs(60),
        ..config
    });
    let mut socket = server.get("/events", "");
    read_until(&mut socket, "retry");
    assert_eq!(server.stat("streams_open"), 1);
    drop(socket);
    assert!(
        wait_for(Duration::from_secs(3), || server.stat("streams_open") == 0).is_some(),
        "stream still open"
    );
}

#[test]
fn ordinary_responses_keep_the_connection_open() {
    let server = TestServer::start(fast_config());
    let mut socket = server.connect();
    socket
        .write_all(b"GET /stats HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let first = read_response(&mut socket);
    assert_eq!(first.status, 200);
    assert_eq!(first.header("connection"), None);
    assert!(first.body_text().contains("streams_open"));
    socket
        .write_all(b"GET /missing HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut socket).status, 404);
    socket
        .write_all(b"GET /stats HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let last = read_response(&mut socket);
    assert_eq!(last.header("connection"), Some("close"));
    assert_eq!(read_to_close(&mut socket), "");
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = TestServer::start(fast_config());
    let mut socket = server.send(
        "GET /nope HTTP/1.1\r\nHost: t\r\n\r\nOPTIONS /stats HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let both = read_to_close(&mut socket);
    let statuses: Vec<&str> = both
        .match_indices("HTTP/1.1 ")
        .map(|(at, _)| &both[at + 9..at + 12])
        .collect();
    assert_eq!(statuses, ["404", "204"], "{both}");
}

#[test]
fn unknown_paths_wrong_methods_and_unknown_methods() {
    let server = TestServer::start(fast_config());
    let not_found = server.exchange("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(not_found.status, 404);
    assert!(not_found.body_text().starts_with("404 Not Found"));
    let wrong = server.exchange("DELETE /events HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.header("allow"), Some("GET, HEAD, OPTIONS"));
    let get_publish = server.exchange("GET /publish HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(get_publish.header("allow"), Some("POST, OPTIONS"));
    assert_eq!(
        server
            .exchange("BREW /events HTTP/1.1\r\nHost: t\r\n\r\n")
            .status,
        501
    );
}

#[test]
fn options_is_a_cors_preflight_answer() {
    let server = TestServer::start(fast_config());
    for target in ["/subscribe", "*"] {
        let response = server.exchange(&format!(
            "OPTIONS {target} HTTP/1.1\r\nHost: t\r\nOrigin: http://a.test\r\n\r\n"
        ));
        assert_eq!(response.status, 204, "{response:?}");
        assert!(response.header("allow").is_some(), "{response:?}");
        assert_eq!(response.header("access-control-allow-origin"), Some("*"));
        assert!(
            response
                .header("access-control-allow-headers")
                .unwrap()
                .contains("Last-Event-ID")
        );
    }
}

#[test]
fn bad_requests_get_their_status() {
    let config = sse_server::Config {
        head_timeout: Duration::from_millis(200),
        ..fast_config()
    };
    let server = TestServer::start(config);
    let cases = [
        ("GARBAGE\r\n\r\n".to_string(), 400),
        ("GET / HTTP/1.1\r\n\r\n".to_string(), 400),
        ("GET / HTTP/2.0\r\nHost: t\r\n\r\n".to_string(), 505),
        (
            format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(9000)),
            431,
        ),
        (
            format!(
                "GET / HTTP/1.1\r\nHost: t\r\n{}\r\n",
                "X-A: b\r\n".repeat(101)
            ),
            431,
        ),
        ("GET / HTTP/1.1\r\nHost: t\r\n".to_string(), 408),
    ];
    for (request, status) in cases {
        let mut socket = server.send(&request);
        let response = read_response(&mut socket);
        assert_eq!(
            response.status,
            status,
            "for {:?}",
            &request[..request.len().min(40)]
        );
        assert_eq!(response.header("connection"), Some("close"));
    }
    // And the server still serves everyone else.
    assert_eq!(
        server
            .exchange("GET /stats HTTP/1.1\r\nHost: t\r\n\r\n")
            .status,
        200
    );
}

#[test]
fn shutdown_ends_open_streams_cleanly_and_at_once() {
    let config = sse_server::Config {
        interval: Duration::from_secs(60),
        ..fast_config()
    };
    let server = TestServer::start(config);
    let mut sockets: Vec<_> = (0..20)
        .map(|n| server.get(if n % 2 == 0 { "/events" } else { "/subscribe" }, ""))
        .collect();
    for socket in &mut sockets {
        read_until(socket, "retry");
    }
    let started = Instant::now();
    let summary = server.stop();
    assert_eq!(summary.streams_still_open, 0);
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "took {:?}",
        started.elapsed()
    );
    for socket in &mut sockets {
        let rest = read_to_close(socket);
        assert!(
            rest.ends_with("0\r\n\r\n"),
            "stream did not end with the last chunk: {rest:?}"
        );
    }
}
