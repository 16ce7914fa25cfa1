//! What a security review reproduced (issue 20), each as the request an attacker sent:
//! a cross-site form post carrying a visitor's cookie, a DNS-rebound `Host`, a form
//! feed before a `Content-Length`, and a publish while Redis is away.

mod support;

use std::net::TcpListener;

use sse_server::Config;
use sse_server::auth::gate::unix_now;
use sse_server::auth::jwt;
use sse_server::config::Secret;
use sse_server::redis::url::RedisUrl;
use support::{HttpResponse, TestServer, fast_config};

const SECRET: &str = "security-review-secret-security-review";

/// A token that lets Alice publish to her own inbox.
fn alice() -> String {
    let claims = format!(
        r#"{{"sub":"alice","exp":{},"publish":["users/{{sub}}/*"]}}"#,
        unix_now() + 60
    );
    jwt::sign(&claims, SECRET.as_bytes())
}

/// `POST /publish` to Alice's inbox with `Host: host` and extra header lines (open
/// servers publish it like any topic).
fn publish(server: &TestServer, host: &str, headers: &str) -> HttpResponse {
    server.exchange(&format!(
        "POST /publish?topic=users/alice/inbox HTTP/1.1\r\nHost: {host}\r\n{headers}\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 2\r\n\
         Connection: close\r\n\r\nhi"
    ))
}

#[test]
fn under_allow_origin_star_a_cross_site_post_with_the_cookie_is_403_and_a_bearer_works() {
    let server = TestServer::start(Config {
        auth_secret: Some(Secret::new(SECRET)),
        allowed_origins: vec!["*".into(), "https://app.test".into()],
        ..fast_config()
    });
    let token = alice();
    let cookie = format!("Cookie: sse_token={token}\r\n");
    // The review's request: a plain form on another site, the visitor's cookie attached.
    let forged = publish(
        &server,
        "test",
        &format!("Origin: https://evil.example\r\n{cookie}"),
    );
    assert_eq!(forged.status, 403, "{}", forged.body_text());
    assert!(
        forged.body_text().contains("cookie"),
        "{}",
        forged.body_text()
    );
    assert!(!forged.body_text().contains(&token));
    // The same page with a token of its own is let in by `*`.
    let bearer = format!("Authorization: Bearer {token}\r\n");
    let own_token = publish(
        &server,
        "test",
        &format!("Origin: https://evil.example\r\n{bearer}"),
    );
    assert_eq!(own_token.status, 202, "{}", own_token.body_text());
    // The cookie still works from our own page, from a page listed by name, and from
    // curl (no Origin at all).
    for origin in [
        "Origin: http://test\r\n",
        "Origin: https://app.test\r\n",
        "",
    ] {
        let answer = publish(&server, "test", &format!("{origin}{cookie}"));
        assert_eq!(answer.status, 202, "{origin:?}: {}", answer.body_text());
    }
}

#[test]
fn an_open_server_refuses_a_rebound_host_with_421() {
    let server = TestServer::start(Config {
        allowed_hosts: Vec::new(),
        ..fast_config()
    });
    let port = server.addr.port();
    // The review's request: a rebinding page's Host, with its own origin.
    let rebound = format!("rebind.attacker.example:{port}");
    let forged = publish(&server, &rebound, &format!("Origin: http://{rebound}\r\n"));
    assert_eq!(forged.status, 421, "{}", forged.body_text());
    let read = server.exchange(&format!(
        "GET /stats HTTP/1.1\r\nHost: {rebound}\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(read.status, 421);
    // The names the server is reached by, on any port; the first message they publish
    // is the first one at all.
    let first = publish(&server, "localhost", "");
    assert!(
        first.body_text().contains(r#""id": "1""#),
        "{}",
        first.body_text()
    );
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        "[::1]:80".to_string(),
    ] {
        let answer = publish(&server, &host, &format!("Origin: http://{host}\r\n"));
        assert_eq!(answer.status, 202, "{host}: {}", answer.body_text());
    }
    // --allowed-host adds a public name.
    let named = TestServer::start(Config {
        allowed_hosts: vec!["events.example.com".into()],
        ..fast_config()
    });
    assert_eq!(publish(&named, "events.example.com", "").status, 202);
    assert_eq!(publish(&named, &rebound, "").status, 421);
}

#[test]
fn a_form_feed_before_a_content_length_is_400() {
    let server = TestServer::start(fast_config());
    let answer = server.exchange(
        "POST /publish HTTP/1.1\r\nHost: test\r\nContent-Length:\x0c5\r\nConnection: close\r\n\r\nhello",
    );
    assert_eq!(answer.status, 400, "{}", answer.body_text());
    assert_eq!(server.stat("messages_published"), 0);
}

#[test]
fn a_publish_refused_while_redis_is_away_says_503_and_no_os_error() {
    // A port nobody listens on: every connection to "Redis" is refused.
    let closed_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = TestServer::start(Config {
        redis: Some(RedisUrl::parse(&format!("redis://127.0.0.1:{closed_port}")).unwrap()),
        ..fast_config()
    });
    let answer = server.publish(None, "hello");
    assert_eq!(answer.status, 503, "{}", answer.body_text());
    assert!(answer.header("retry-after").is_some());
    let body = answer.body_text();
    assert!(body.contains("not published"), "{body}");
    for leak in [
        "os error",
        "refused",
        "Redis did not take it",
        &closed_port.to_string(),
    ] {
        assert!(!body.contains(leak), "the answer tells {leak:?}: {body}");
    }
}
