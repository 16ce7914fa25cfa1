//! Room for topics (issue 20, item 3): clients without a token, following `--public`
//! topics, may create topics in half of `--max-topics` only, so that idle anonymous
//! connections cannot lock a token holder out of his own inbox; and an EventSource is
//! never answered `503` for want of topics (it would give up for good), but told to
//! come back later.

mod support;

use sse_server::Config;
use sse_server::auth::gate::unix_now;
use sse_server::auth::jwt;
use sse_server::auth::patterns::Pattern;
use sse_server::config::Secret;
use support::{HttpResponse, StreamReader, TestServer, fast_config};

const SECRET: &str = "topic-room-secret-topic-room-secret!";
const EVENT_SOURCE: &str = "Accept: text/event-stream\r\n";

/// The issue's server: `--public 'public/*' --max-topics 64`.
fn config() -> Config {
    Config {
        auth_secret: Some(Secret::new(SECRET)),
        public_topics: vec![Pattern::parse("public/*").unwrap()],
        max_topics: 64,
        // These tests are about the whole table and the anonymous half; a subject's
        // own share is tested in tests/subjects.rs.
        max_topics_per_subject: Some(64),
        ..fast_config()
    }
}

/// A token that lets its holder follow `users/{sub}/*`.
fn token(sub: &str) -> String {
    let claims = format!(
        r#"{{"sub":"{sub}","exp":{},"subscribe":["users/{{sub}}/*"]}}"#,
        unix_now() + 60
    );
    jwt::sign(&claims, SECRET.as_bytes())
}

/// `/subscribe` with `count` topics named `{prefix}/0`, `{prefix}/1`...
fn path_of(prefix: &str, count: usize) -> String {
    let topics: Vec<String> = (0..count).map(|n| format!("topic={prefix}/{n}")).collect();
    format!("/subscribe?{}", topics.join("&"))
}

fn get(server: &TestServer, path: &str, headers: &str) -> HttpResponse {
    server.exchange(&format!(
        "GET {path} HTTP/1.1\r\nHost: test\r\n{headers}Connection: close\r\n\r\n"
    ))
}

/// The kind refusal: `200 text/event-stream`, a `retry:` spread between `--retry-ms`
/// and three times it, and no event.
fn assert_told_to_come_back_later(response: &HttpResponse, retry_ms: u64) {
    assert_eq!(response.status, 200, "{}", response.head);
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    let body = response.body_text();
    let retry: u64 = body
        .strip_prefix("retry: ")
        .and_then(|rest| rest.lines().next())
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no retry: in {body:?}"));
    assert!((retry_ms..=3 * retry_ms).contains(&retry), "retry: {retry}");
    assert!(!body.contains("data:"), "{body:?}");
}

#[test]
fn anonymous_clients_cannot_use_up_the_topics_token_holders_need() {
    let server = TestServer::start(config());
    let retry_ms = config().retry.as_millis() as u64;
    // Two idle anonymous connections following 32 new topics each: the first fills
    // the anonymous half, the second is told to come back later.
    let _first = StreamReader::open(&server, &path_of("public/a", 32), EVENT_SOURCE);
    assert_eq!(server.stat("topics"), 32);
    let second = get(&server, &path_of("public/b", 32), EVENT_SOURCE);
    assert_told_to_come_back_later(&second, retry_ms);
    // A client that is not an EventSource gets the plain 503 that says why.
    let plain = get(&server, &path_of("public/b", 1), "");
    assert_eq!(plain.status, 503);
    assert!(plain.body_text().contains("half of --max-topics"));
    // Existing public topics stay open to anyone.
    let _again = StreamReader::open(&server, &path_of("public/a", 3), EVENT_SOURCE);
    // Bob, with his token, gets his own inbox.
    let bob = format!("Authorization: Bearer {}\r\n{EVENT_SOURCE}", token("bob"));
    let _bob = StreamReader::open(&server, "/subscribe?topic=users/bob/inbox", &bob);
    assert_eq!(server.stat("topics"), 33);
}

#[test]
fn an_event_source_is_never_answered_503_for_topic_capacity() {
    let server = TestServer::start(Config {
        max_topics: 2,
        ..config()
    });
    let retry_ms = config().retry.as_millis() as u64;
    let alice = format!("Authorization: Bearer {}\r\n", token("alice"));
    let _both = StreamReader::open(
        &server,
        &path_of("users/alice", 2),
        &format!("{alice}{EVENT_SOURCE}"),
    );
    // The server is full, for token holders too.
    let third = get(
        &server,
        "/subscribe?topic=users/alice/more",
        &format!("{alice}{EVENT_SOURCE}"),
    );
    assert_told_to_come_back_later(&third, retry_ms);
    let plain = get(&server, "/subscribe?topic=users/alice/more", &alice);
    assert_eq!(plain.status, 503);
}
