//! Many tenants on one server (issue 24, items 2 and 3), end to end with real tokens:
//! one token holder cannot fill the topic table or flatten everyone's history.

mod support;

use std::io::Write;

use sse_server::Config;
use sse_server::auth::gate::unix_now;
use sse_server::auth::jwt;
use sse_server::auth::patterns::Pattern;
use sse_server::config::Secret;
use support::{StreamReader, TestServer, fast_config, read_response};

const SECRET: &str = "integration-secret-integration-secret";

/// A token for `sub` that may follow and publish `users/{sub}/*`.
fn token(sub: &str) -> String {
    let claims = format!(
        r#"{{"sub":"{sub}","exp":{},"subscribe":["users/{{sub}}/*"],"publish":["users/{{sub}}/*"]}}"#,
        unix_now() + 600
    );
    jwt::sign(&claims, SECRET.as_bytes())
}

fn tenants(config: Config) -> TestServer {
    TestServer::start(Config {
        auth_secret: Some(Secret::new(SECRET)),
        public_topics: vec![Pattern::parse("public/*").unwrap()],
        ..config
    })
}

/// Publishes `body` to every topic in `topics` with `token`, on one kept-alive
/// `socket`; returns the status.
fn publish(socket: &mut std::net::TcpStream, token: &str, topics: &[String], body: &str) -> u16 {
    let query: Vec<String> = topics
        .iter()
        .map(|topic| format!("topic={topic}"))
        .collect();
    let head = format!(
        "POST /publish?{} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: {}\r\n\r\n",
        query.join("&"),
        body.len()
    );
    // One write: a second small one would wait for the first's delayed ACK (Nagle).
    socket
        .write_all(format!("{head}{body}").as_bytes())
        .unwrap();
    read_response(socket).status
}

/// Mallory's 32 new topics for her publish number `n`.
fn spread(n: usize) -> Vec<String> {
    (0..32).map(|k| format!("users/mallory/{n}/{k}")).collect()
}

fn share_refusals(server: &TestServer, reason: &str) -> u64 {
    let metrics = server
        .exchange("GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .body_text();
    let sample = format!("sse_share_refusals_total{{reason=\"{reason}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(sample.as_str()))
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {sample} in\n{metrics}"))
}

#[test]
fn one_token_holder_cannot_fill_the_topic_table() {
    // The attack: publishes of one byte, each to 32 new topics, until refused. With a
    // table of 2,000 topics, a subject owns at most 100 of them.
    let server = tenants(Config {
        max_topics: 2000,
        max_topics_per_subject: Some(100),
        ..fast_config()
    });
    let mallory = token("mallory");
    let mut socket = server.connect();
    let mut statuses = Vec::new();
    for n in 0..100 {
        let status = publish(&mut socket, &mallory, &spread(n), "x");
        statuses.push(status);
        if status != 202 {
            socket = server.connect();
        }
    }
    assert_eq!(
        statuses.iter().filter(|&&s| s == 202).count(),
        3,
        "{statuses:?}"
    );
    assert!(
        statuses[3..].iter().all(|&status| status == 503),
        "{statuses:?}"
    );
    assert_eq!(share_refusals(&server, "per_subject"), 97);

    // Alice follows and publishes to her inbox: a real stream, the message delivered.
    let alice = token("alice");
    let mut inbox = StreamReader::open(
        &server,
        "/subscribe?topic=users/alice/inbox",
        &format!("Authorization: Bearer {alice}\r\nAccept: text/event-stream\r\n"),
    );
    let mut publisher = server.connect();
    let inbox_topic = ["users/alice/inbox".to_string()];
    assert_eq!(
        publish(&mut publisher, &alice, &inbox_topic, "hello Alice"),
        202
    );
    let events = inbox.events(1);
    assert_eq!(events[0].data, "hello Alice");
    // And a client without a token follows `public/news`.
    // (A refusal would be a 200 that only says `retry:` and ends; a follower is
    // counted by the hub before its stream's head is written.)
    let news = StreamReader::open(
        &server,
        "/subscribe?topic=public/news",
        "Accept: text/event-stream\r\n",
    );
    assert!(
        !String::from_utf8_lossy(&news.body).contains("retrying later"),
        "public/news was refused: {}",
        String::from_utf8_lossy(&news.body)
    );
    assert_eq!(
        server.stat("subscribers"),
        2,
        "Alice's inbox and public/news"
    );
}

#[test]
fn a_token_holder_spreading_over_many_topics_leaves_all_of_bobs_history() {
    // The attack, scaled to a 4 MB budget: Bob holds 500 × 1 KB in his inbox; Mallory
    // then publishes 100 × 64 KiB (6.4 MB), each to 32 new topics of her own.
    let server = tenants(Config {
        history_bytes: 4 * 1024 * 1024,
        max_topics: 10_000,
        max_topics_per_subject: Some(5_000),
        max_message_bytes: 64 * 1024,
        ..fast_config()
    });
    let bob = token("bob");
    let mut socket = server.connect();
    let kilobyte = "b".repeat(1024);
    let inbox = ["users/bob/inbox".to_string()];
    for _ in 0..500 {
        assert_eq!(publish(&mut socket, &bob, &inbox, &kilobyte), 202);
    }
    let mallory = token("mallory");
    let sixty_four_kib = "m".repeat(64 * 1024);
    let mut socket = server.connect();
    for n in 0..100 {
        assert_eq!(
            publish(&mut socket, &mallory, &spread(n), &sixty_four_kib),
            202
        );
    }
    assert!(server.stat("history_bytes") <= 4 * 1024 * 1024);
    // Bob reconnects from the start: every one of his 500 is replayed, none missed.
    let mut replay = StreamReader::open(
        &server,
        "/subscribe?topic=users/bob/inbox&last_event_id=0",
        &format!("Authorization: Bearer {bob}\r\nAccept: text/event-stream\r\n"),
    );
    let events = replay.events(500);
    assert!(
        events.iter().all(|event| event.event_type == "message"),
        "told it missed some: {:?}",
        events.iter().find(|event| event.event_type != "message")
    );
    assert_eq!(events.len(), 500);
    assert_eq!(events[0].last_event_id, "1");
    assert_eq!(events[499].last_event_id, "500");
}

#[test]
fn on_a_quiet_server_expired_messages_go_and_take_their_unfollowed_topics_with_them() {
    // Topics kept alive only by held messages used to stay forever. Nobody publishes
    // after these: the server's expiry thread must do it alone.
    let server = tenants(Config {
        history_ttl: std::time::Duration::from_secs(1),
        ..fast_config()
    });
    let mallory = token("mallory");
    let followed = StreamReader::open(
        &server,
        "/subscribe?topic=users/mallory/0/0",
        &format!("Authorization: Bearer {mallory}\r\nAccept: text/event-stream\r\n"),
    );
    let mut socket = server.connect();
    assert_eq!(publish(&mut socket, &mallory, &spread(0), "x"), 202);
    assert_eq!(server.stat("topics"), 32);
    let emptied = support::wait_for(std::time::Duration::from_secs(10), || {
        server.stat("history_held") == 0 && server.stat("topics") == 1
    });
    assert!(emptied.is_some(), "{}", server.stats());
    assert_eq!(server.stat("history_bytes"), 0);
    // The followed topic stays while someone follows it.
    drop(followed);
    assert!(
        support::wait_for(std::time::Duration::from_secs(5), || server.stat("topics")
            == 0)
        .is_some()
    );
}

#[test]
fn with_a_shared_log_every_instance_knows_whose_topics_they_are() {
    // Each log entry says who published it, so the instance that did not take the
    // publish counts its topics to the same subject, and holds it to the same share.
    let redis = support::redis::RedisServer::start(&[]);
    let shared_log = |redis: &support::redis::RedisServer| {
        tenants(Config {
            redis: Some(sse_server::redis::url::RedisUrl::parse(&redis.url()).unwrap()),
            redis_key: "subjects".into(),
            max_topics_per_subject: Some(64),
            ..fast_config()
        })
    };
    let (a, b) = (shared_log(&redis), shared_log(&redis));
    for server in [&a, &b] {
        let connected = support::wait_for(std::time::Duration::from_secs(10), || {
            server.stats().contains("\"connected\": true")
        });
        assert!(connected.is_some(), "{}", server.stats());
    }
    let mallory = token("mallory");
    let mut on_a = a.connect();
    assert_eq!(publish(&mut on_a, &mallory, &spread(0), "x"), 202);
    assert_eq!(publish(&mut on_a, &mallory, &spread(1), "x"), 202);
    assert_eq!(publish(&mut on_a, &mallory, &spread(2), "x"), 503);
    // B took both messages from the log, as Mallory's.
    let caught_up = support::wait_for(std::time::Duration::from_secs(10), || {
        b.stat("topics") == 64
    });
    assert!(caught_up.is_some(), "{}", b.stats());
    let mut on_b = b.connect();
    assert_eq!(publish(&mut on_b, &mallory, &spread(3), "x"), 503);
    assert_eq!(share_refusals(&b, "per_subject"), 1);
    // Her own topics still take messages, on either instance.
    assert_eq!(publish(&mut b.connect(), &mallory, &spread(0), "y"), 202);
}
