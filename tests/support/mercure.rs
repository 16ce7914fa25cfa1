//! Mercure access tokens for the integration tests, signed with the project's HMAC
//! (the e2e tests mint theirs with the npm `jsonwebtoken` package instead).

use sse_server::auth::base64url;
use sse_server::auth::gate::unix_now;
use sse_server::auth::hmac::hmac_sha256;

pub const KEY: &str = "mercure-key-mercure-key-mercure-key!";

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
