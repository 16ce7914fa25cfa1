//! Authorization end to end: tokens from each place a client can put them, every
//! refusal by its exact status, streams that end with their token, credentialed CORS.

mod support;

use std::time::Duration;

use sse_server::Config;
use sse_server::auth::gate::unix_now;
use sse_server::auth::jwt;
use sse_server::auth::patterns::Pattern;
use sse_server::config::Secret;
use support::{StreamReader, TestServer, fast_config};

const SECRET: &str = "integration-secret-integration-secret";

fn auth_config() -> Config {
    Config {
        auth_secret: Some(Secret::new(SECRET)),
        public_topics: vec![Pattern::parse("lobby").unwrap()],
        allowed_origins: vec!["https://app.test".into()],
        ..fast_config()
    }
}

/// A token for `sub` expiring `ttl` seconds from now (negative: in the past).
fn token(sub: &str, subscribe: &str, publish: &str, ttl: i64) -> String {
    let claims = format!(
        r#"{{"sub":"{sub}","exp":{},"subscribe":[{subscribe}],"publish":[{publish}]}}"#,
        unix_now() + ttl
    );
    jwt::sign(&claims, SECRET.as_bytes())
}

fn alice() -> String {
    token(
        "alice",
        r#""users/{sub}/*","news""#,
        r#""users/*","news""#,
        60,
    )
}

fn get(server: &TestServer, target: &str, headers: &str) -> support::HttpResponse {
    server.exchange(&format!(
        "GET {target} HTTP/1.1\r\nHost: test\r\n{headers}Connection: close\r\n\r\n"
    ))
}

fn publish(server: &TestServer, topic: &str, headers: &str, body: &str) -> support::HttpResponse {
    server.exchange(&format!(
        "POST /publish?topic={topic} HTTP/1.1\r\nHost: test\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ))
}

fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}\r\n")
}

#[test]
fn every_refusal_has_its_exact_status_and_challenge() {
    let server = TestServer::start(auth_config());
    let inbox = "/subscribe?topic=users/alice/inbox";

    let anonymous = get(&server, inbox, "");
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));

    let expired = token("alice", r#""*""#, "", -60);
    let other_key = jwt::sign(
        &format!(r#"{{"exp":{},"subscribe":["*"]}}"#, unix_now() + 60),
        b"some-other-secret-some-other-secret!",
    );
    let none_alg = format!(
        "eyJhbGciOiJub25lIn0.{}.",
        sse_server::auth::base64url::encode(br#"{"exp":9999999999,"subscribe":["*"]}"#)
    );
    for bad in [
        expired.as_str(),
        other_key.as_str(),
        none_alg.as_str(),
        "x.y.z",
        "junk",
    ] {
        let refused = get(&server, inbox, &bearer(bad));
        assert_eq!(refused.status, 401, "{}", refused.body_text());
        assert_eq!(
            refused.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\"")
        );
    }

    let forbidden = get(
        &server,
        "/subscribe?topic=users/bob/inbox",
        &bearer(&alice()),
    );
    assert_eq!(forbidden.status, 403);
    assert!(
        forbidden.body_text().contains("\"users/bob/inbox\""),
        "{}",
        forbidden.body_text()
    );

    assert_eq!(publish(&server, "news", "", "x").status, 401);
    assert_eq!(
        publish(&server, "lobby", "", "x").status,
        401,
        "publishing always needs a token"
    );
    assert_eq!(publish(&server, "chat", &bearer(&alice()), "x").status, 403);
    assert_eq!(publish(&server, "news", &bearer(&expired), "x").status, 401);
    assert_eq!(publish(&server, "news", &bearer(&alice()), "x").status, 202);

    // The counter, the clock and the stats stay public.
    assert_eq!(get(&server, "/stats", "").status, 200);
    let mut clock = server.get("/events", "");
    assert!(support::read_until(&mut clock, "\r\n\r\n").starts_with("HTTP/1.1 200"));
}

#[test]
fn a_token_works_from_the_header_the_cookie_and_the_query() {
    let server = TestServer::start(auth_config());
    let alice = alice();
    let mut by_header = StreamReader::open(
        &server,
        "/subscribe?topic=users/alice/inbox",
        &bearer(&alice),
    );
    let mut by_cookie = StreamReader::open(
        &server,
        "/subscribe?topic=users/alice/inbox",
        &format!("Cookie: theme=dark; sse_token={alice}\r\n"),
    );
    let mut by_query = StreamReader::open(
        &server,
        &format!("/subscribe?topic=users/alice/inbox&token={alice}"),
        "",
    );
    let mut public = StreamReader::open(&server, "/subscribe?topic=lobby", "");
    assert!(
        support::wait_for(Duration::from_secs(5), || server.stat("subscribers") == 4).is_some()
    );
    let publisher = token("app", "", r#""*""#, 60);
    assert_eq!(
        publish(
            &server,
            "users/alice/inbox",
            &bearer(&publisher),
            "for alice"
        )
        .status,
        202
    );
    assert_eq!(
        publish(&server, "lobby", &bearer(&publisher), "for everyone").status,
        202
    );
    for reader in [&mut by_header, &mut by_cookie, &mut by_query] {
        assert_eq!(reader.events(1)[0].data, "for alice");
    }
    assert_eq!(public.events(1)[0].data, "for everyone");
}

#[test]
fn a_stream_ends_when_its_token_expires_and_the_stale_token_is_then_refused() {
    let server = TestServer::start(auth_config());
    // Expired 4 s ago: still inside the 5 s leeway, so the stream opens and must end
    // about a second later.
    let short = token("alice", r#""news""#, "", -(jwt::LEEWAY_SECS - 1));
    let mut stream = StreamReader::open(&server, "/subscribe?topic=news", &bearer(&short));
    stream.read_until(|reader| reader.finished);
    assert!(stream.body.starts_with(b"retry:"));
    std::thread::sleep(Duration::from_millis(1100));
    let again = get(&server, "/subscribe?topic=news", &bearer(&short));
    assert_eq!(again.status, 401);
}

#[test]
fn listed_origins_may_read_with_credentials() {
    let server = TestServer::start(auth_config());
    let cookie = format!("Cookie: sse_token={}\r\n", alice());
    let mut socket = server.get(
        "/subscribe?topic=news",
        &format!("Origin: https://app.test\r\n{cookie}"),
    );
    let head = support::read_until(&mut socket, "\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.contains("Access-Control-Allow-Origin: https://app.test\r\n"),
        "{head}"
    );
    assert!(
        head.contains("Access-Control-Allow-Credentials: true\r\n"),
        "{head}"
    );
    assert!(head.contains("Vary: Origin\r\n"), "{head}");

    let preflight = server.exchange(
        "OPTIONS /subscribe HTTP/1.1\r\nHost: test\r\nOrigin: https://app.test\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://app.test")
    );
    assert_eq!(
        preflight.header("access-control-allow-credentials"),
        Some("true")
    );
    let refused = get(
        &server,
        "/subscribe?topic=news",
        "Origin: https://evil.test\r\n",
    );
    assert_eq!(refused.status, 401);
    assert_eq!(refused.header("access-control-allow-origin"), Some("*"));
    assert_eq!(refused.header("access-control-allow-credentials"), None);
}
