//! What security reviews reproduced (issues 20 and 24), each as the request an
//! attacker sent: a cross-site form post carrying a visitor's cookie (with an `Origin`
//! and without one), a DNS-rebound `Host` (plain, after an IPv6 literal, and in an
//! absolute-form target), a form feed before a `Content-Length`, and a publish while
//! Redis is away.

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
    // The cookie still works from our own page and from a page listed by name, in
    // `Origin` or, without one, in `Referer`.
    for origin in [
        "Origin: http://test\r\n",
        "Origin: https://app.test\r\n",
        "Referer: http://test/demo\r\n",
        "Referer: https://app.test/page?x=1\r\n",
    ] {
        let answer = publish(&server, "test", &format!("{origin}{cookie}"));
        assert_eq!(answer.status, 202, "{origin:?}: {}", answer.body_text());
    }
}

#[test]
fn a_cookie_publish_that_names_no_page_is_403_and_a_bearer_without_origin_works() {
    // Issue 24: a cookie-authorized publish with no Origin was trusted. A browser that
    // leaves `Origin` out still names the page in `Referer`; one that names neither
    // cannot be checked, so its cookie is not spent (RFC 6265bis section 8.8.1).
    let server = TestServer::start(Config {
        auth_secret: Some(Secret::new(SECRET)),
        ..fast_config()
    });
    let token = alice();
    let cookie = format!("Cookie: sse_token={token}\r\n");
    for page in ["", "Referer: https://evil.example/\r\n"] {
        let refused = publish(&server, "test", &format!("{page}{cookie}"));
        assert_eq!(refused.status, 403, "{page:?}: {}", refused.body_text());
        assert!(
            refused.body_text().contains("Referer"),
            "{}",
            refused.body_text()
        );
    }
    let same_site = publish(
        &server,
        "test",
        &format!("Referer: http://test/\r\n{cookie}"),
    );
    assert_eq!(same_site.status, 202, "{}", same_site.body_text());
    // curl with a Bearer header and no Origin, as ever.
    let curl = publish(
        &server,
        "test",
        &format!("Authorization: Bearer {token}\r\n"),
    );
    assert_eq!(curl.status, 202, "{}", curl.body_text());
    assert_eq!(server.stat("messages_published"), 2);
}

#[test]
fn text_after_an_ipv6_literal_in_host_is_421() {
    let server = TestServer::start(Config {
        allowed_hosts: Vec::new(),
        ..fast_config()
    });
    for host in ["[::1]evil.example", "[::1]evil.example:80", "[::1]:80evil"] {
        let answer = publish(&server, host, "");
        assert_eq!(answer.status, 421, "{host}: {}", answer.body_text());
    }
    assert_eq!(publish(&server, "[::1]:80", "").status, 202);
}

#[test]
fn an_absolute_form_target_is_answered_for_its_own_authority() {
    // RFC 9112 section 3.2.2: the target's authority wins over `Host`, and is checked
    // like one. Regression (issue 24): `GET http://evil.example/stats` was answered
    // for the `Host` it came with.
    let server = TestServer::start(Config {
        allowed_hosts: Vec::new(),
        ..fast_config()
    });
    let get = |target: &str, host: &str| {
        server
            .exchange(&format!(
                "GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
            ))
            .status
    };
    assert_eq!(get("http://evil.example/stats", "localhost"), 421);
    assert_eq!(get("http://[::1]evil.example/stats", "localhost"), 421);
    assert_eq!(get("http://localhost/stats", "evil.example"), 200);
    assert_eq!(get("http://127.0.0.1:1/stats?x", "evil.example"), 200);
    for bad in ["http:///stats", "http://user@localhost/stats"] {
        assert_eq!(get(bad, "localhost"), 400, "{bad}");
    }
    // The publish form's same-origin check compares with the target's authority too.
    let port = server.addr.port();
    let answer = server.exchange(&format!(
        "POST http://localhost:{port}/publish HTTP/1.1\r\nHost: evil.example\r\n\
         Origin: http://localhost:{port}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
    ));
    assert_eq!(answer.status, 202, "{}", answer.body_text());
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
