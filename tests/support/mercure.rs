//! Mercure access tokens for the integration tests, signed with the project's HMAC
//! (the e2e tests mint theirs with the npm `jsonwebtoken` package instead).

use sse_server::Config;
use sse_server::auth::base64url;
use sse_server::auth::gate::unix_now;
use sse_server::auth::hmac::hmac_sha256;
use sse_server::config::{MercureSettings, Secret};

use super::{HttpResponse, StreamReader, TestServer, fast_config};

pub const KEY: &str = "mercure-key-mercure-key-mercure-key!";
pub const HUB: &str = "/.well-known/mercure";
pub const COOKIE: &str = "mercureAuthorization";
/// Every Bearer challenge ends with where the hub's metadata is (RFC 9728 section 5.1).
const METADATA: &str = r#"resource_metadata="https://localhost/.well-known/oauth-protected-resource/.well-known/mercure""#;

/// A hub with [`KEY`] and the cookie [`COOKIE`].
pub fn config() -> Config {
    Config {
        mercure: MercureSettings {
            key: Some(Secret::new(KEY)),
            cookie: COOKIE.into(),
            ..MercureSettings::default()
        },
        ..fast_config()
    }
}

/// The challenge `Bearer` then `error` (if any), then the metadata's address.
pub fn challenge(error: Option<&str>) -> String {
    match error {
        None => format!("Bearer {METADATA}"),
        Some(error) => format!(r#"Bearer error="{error}", {METADATA}"#),
    }
}

/// A token that may publish anything.
pub fn publisher() -> String {
    token(r#""publish""#, &["*"], 60)
}

/// `POST /.well-known/mercure` with `form` and extra `headers`.
pub fn publish(server: &TestServer, headers: &str, form: &str) -> HttpResponse {
    server.exchange(&format!(
        "POST {HUB} HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-www-form-urlencoded\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{form}",
        form.len()
    ))
}

/// `GET target` with extra `headers`, on a connection of its own.
pub fn get(server: &TestServer, target: &str, headers: &str) -> HttpResponse {
    server.exchange(&format!(
        "GET {target} HTTP/1.1\r\nHost: test\r\n{headers}Connection: close\r\n\r\n"
    ))
}

/// A Mercure subscription, open: its head has arrived, so it is in the hub (it joins
/// before the head is written).
pub fn subscribed(server: &TestServer, query: &str, headers: &str) -> StreamReader {
    StreamReader::open(server, &format!("{HUB}?{query}"), headers)
}

/// `header.claims.signature`, HS256 with [`KEY`].
pub fn sign(header: &str, claims: &str) -> String {
    let mut token = base64url::encode(header.as_bytes());
    token.push('.');
    token.push_str(&base64url::encode(claims.as_bytes()));
    let signature = hmac_sha256(KEY.as_bytes(), token.as_bytes());
    token.push('.');
    token.push_str(&base64url::encode(&signature));
    token
}

/// A token granting `actions` (JSON strings, comma-separated) on exact `topics`,
/// expiring `ttl` seconds from now.
pub fn token(actions: &str, topics: &[&str], ttl: i64) -> String {
    let topics: Vec<String> = topics
        .iter()
        .map(|topic| format!(r#"{{"match":"{topic}"}}"#))
        .collect();
    sign(
        r#"{"alg":"HS256","typ":"at+jwt"}"#,
        &format!(
            r#"{{"iss":"https://localhost","aud":"https://localhost/.well-known/mercure","sub":"s","exp":{},"authorization_details":[{{"type":"https://mercure.rocks/authorization-detail","actions":[{actions}],"topics":[{}]}}]}}"#,
            unix_now() + ttl,
            topics.join(",")
        ),
    )
}

/// `Authorization: Bearer <token>` and its CRLF.
pub fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}\r\n")
}
