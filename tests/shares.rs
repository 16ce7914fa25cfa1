//! Per-client shares (`src/shares.rs`): one client address with many keep-alive
//! connections cannot take the request budget or the stream cap from another
//! (issue 24, item 1). The second client connects from `127.0.0.2`, another
//! loopback address, so the server sees two TCP peers.

mod support;

use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use sse_server::Config;
use support::{TestServer, fast_config, read_response};

const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));
const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
/// The body `/healthz` answers with (`src/health.rs`).
const HEALTHY: &[u8] = b"ok\n";

/// Sends `HEALTHZ` on `socket` and reads the answer; `false` once the connection is
/// closed or refused (the attacker then opens another).
fn ask_health(socket: &mut TcpStream) -> bool {
    if socket.write_all(HEALTHZ).is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let mut chunk = [0u8; 512];
    // The whole answer is short; it ends with the body `/healthz` always sends.
    while !answer.ends_with(HEALTHY) && answer.len() < 4096 {
        match socket.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
        }
    }
    let text = String::from_utf8_lossy(&answer);
    text.starts_with("HTTP/1.1 200") && !text.to_ascii_lowercase().contains("connection: close")
}

/// Whether a demo clock stream opened on `socket` delivers an event (a refusal sends
/// only `retry:` and ends).
fn stream_delivers(socket: &mut TcpStream) -> bool {
    let mut received = Vec::new();
    let mut chunk = [0u8; 1024];
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match socket.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
        }
        if String::from_utf8_lossy(&received).contains("\ndata: ") {
            return true;
        }
    }
    false
}

#[test]
fn one_address_with_many_keep_alive_connections_leaves_room_for_another() {
    let server = Arc::new(TestServer::start(Config {
        max_requests: 32,
        max_requests_per_client: Some(8),
        max_clients: 40,
        max_streams_per_client: Some(16),
        admission_wait: Duration::from_millis(200),
        ..fast_config()
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    // The attack: 4 threads × 25 keep-alive connections from one address, each asking
    // `/healthz` again and again (a closed one is opened again), for at most 20 s or
    // 5,000 requests a thread.
    let attackers: Vec<_> = (0..4)
        .map(|_| {
            let (server, stop, answered) = (server.clone(), stop.clone(), answered.clone());
            thread::spawn(move || {
                let mut sockets: Vec<TcpStream> = (0..25).map(|_| server.connect()).collect();
                let deadline = Instant::now() + Duration::from_secs(20);
                let mut sent = 0;
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline && sent < 5000 {
                    for socket in &mut sockets {
                        sent += 1;
                        if ask_health(socket) {
                            answered.fetch_add(1, Ordering::Relaxed);
                        } else {
                            *socket = server.connect();
                        }
                    }
                }
            })
        })
        .collect();
    // And streams from the same address, more than its share.
    let attacker_streams: Vec<TcpStream> = (0..24).map(|_| server.get("/events", "")).collect();
    // The attack is under way once a few hundred of its requests were answered.
    let started = Instant::now();
    while answered.load(Ordering::Relaxed) < 300 && started.elapsed() < Duration::from_secs(10) {
        thread::sleep(Duration::from_millis(10));
    }

    // Meanwhile the other address publishes and opens streams.
    let mut published = 0;
    for n in 0..10 {
        let mut socket = server.connect_from(OTHER);
        let body = format!("message {n}");
        let request = format!(
            "POST /publish?topic=news HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(request.as_bytes()).unwrap();
        if read_response(&mut socket).status == 202 {
            published += 1;
        }
    }
    // Kept open: each stream counts against the cap while the next one starts.
    let mut other_streams = Vec::new();
    let mut streamed = 0;
    for _ in 0..10 {
        let mut socket = server.connect_from(OTHER);
        socket
            .write_all(b"GET /events HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n")
            .unwrap();
        if stream_delivers(&mut socket) {
            streamed += 1;
        }
        other_streams.push(socket);
    }
    let attack_answered = answered.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    for attacker in attackers {
        attacker.join().unwrap();
    }
    let mut attacker_delivering = 0;
    for mut socket in attacker_streams {
        if stream_delivers(&mut socket) {
            attacker_delivering += 1;
        }
    }
    let metrics = server
        .exchange("GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .body_text();
    let per_client = metrics
        .lines()
        .find_map(|line| line.strip_prefix("sse_share_refusals_total{reason=\"per_client\"} "))
        .and_then(|count| count.trim().parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no per_client refusals in\n{metrics}"));
    eprintln!(
        "shares: the attack had {attack_answered} requests answered and {attacker_delivering} \
         of 24 streams; the other address published {published}/10 and streamed {streamed}/10; \
         {per_client} refusals per_client"
    );
    assert!(
        published >= 9,
        "publishes from the other address: {published}/10"
    );
    assert!(
        streamed >= 9,
        "streams from the other address: {streamed}/10"
    );
    assert!(
        attacker_delivering <= 16,
        "the attacker's streams: {attacker_delivering}"
    );
    assert!(per_client > 0);
}

#[test]
fn an_idle_keep_alive_connection_holds_no_request_slot() {
    // Regression (issue 24): four idle keep-alive connections held all four request
    // slots, and everyone else waited, then got 503.
    let server = TestServer::start(Config {
        max_requests: 4,
        admission_wait: Duration::from_millis(100),
        ..fast_config()
    });
    let mut idle: Vec<TcpStream> = (0..4).map(|_| server.connect()).collect();
    for socket in &mut idle {
        socket.write_all(HEALTHZ).unwrap();
        let answer = read_response(socket);
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("connection"), None, "{answer:?}");
    }
    // All four wait for their next request, holding no slot: a fifth client is served.
    let mut fifth = server.connect();
    fifth.write_all(HEALTHZ).unwrap();
    let answer = read_response(&mut fifth);
    assert_eq!(answer.status, 200, "{answer:?}");
    // The idle places (as many as request slots) are all taken, so the fifth is not
    // kept alive: it is told so, and closed.
    assert_eq!(answer.header("connection"), Some("close"), "{answer:?}");
    // The idle four claim a slot again when their next request arrives.
    for socket in &mut idle {
        socket.write_all(HEALTHZ).unwrap();
        assert_eq!(read_response(socket).status, 200);
    }
}

#[test]
fn a_client_at_its_share_of_streams_is_refused_kindly_and_another_is_not() {
    let server = TestServer::start(Config {
        max_streams_per_client: Some(2),
        ..fast_config()
    });
    let event_source = "GET /events HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n";
    let mut first = server.send(event_source);
    let mut second = server.send(event_source);
    assert!(stream_delivers(&mut first) && stream_delivers(&mut second));
    let mut third = server.send(event_source);
    let refused = support::read_to_close(&mut third);
    assert!(refused.starts_with("HTTP/1.1 200"), "{refused}");
    assert!(
        refused.contains("retry:") && !refused.contains("data:"),
        "{refused}"
    );
    let mut other = server.connect_from(OTHER);
    other.write_all(event_source.as_bytes()).unwrap();
    assert!(stream_delivers(&mut other));
}
