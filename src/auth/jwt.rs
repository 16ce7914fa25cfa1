//! JSON Web Tokens signed with HS256: reading and checking one, and minting one.
//!
//! A token in compact form (RFC 7515 section 7.1) is three base64url parts joined by
//! dots:
//!
//! ```text
//! eyJhbGciOiJIUzI1NiJ9 . eyJzdWIiOiJhbGljZSIsImV4cCI6MTc5...} . 3q2-7w...
//!   header (JSON)          claims (JSON)                       signature
//! ```
//!
//! The signature is HMAC-SHA256 (RFC 7518 section 3.2) of the first two parts exactly
//! as sent, `header.claims`, under the secret the server shares with the app's backend.
//! The order of the checks is the point of this file:
//!
//! 1. The header must say `"alg": "HS256"`. A token picks its own algorithm, and a
//!    server that follows it can be told `"none"` (no signature at all) or a public-key
//!    algorithm it would check with the wrong key. We accept one algorithm, ours.
//! 2. The signature is compared in constant time (`hmac::constant_time_eq`).
//! 3. Only then is the payload read: until the signature matched, it is just text
//!    anyone could have written.
//! 4. `exp` (required) and `nbf` (if present) are checked, with [`LEEWAY_SECS`] of
//!    slack for clocks that disagree a little (RFC 7519 sections 4.1.4 and 4.1.5).

use std::fmt;

use crate::auth::base64url;
use crate::auth::hmac::{constant_time_eq, hmac_sha256};
use crate::auth::json::{self, Value};
use crate::auth::patterns::Pattern;
use crate::config::Secret;

/// The shortest secret we sign with: RFC 7518 section 3.2 asks for a key at least as
/// long as the hash output, 256 bits.
pub const MIN_SECRET_BYTES: usize = 32;
/// Checks a secret given on the command line: long enough to sign with.
pub fn check_secret(secret: &str) -> Result<Secret, String> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "must be at least {MIN_SECRET_BYTES} bytes (RFC 7518 section 3.2); \
             `openssl rand -hex 32` makes a good one"
        ));
    }
    Ok(Secret::new(secret))
}

/// Clock skew forgiven on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: i64 = 5;
/// The header of every token we mint.
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// `exp`: after this (seconds since the Unix epoch, plus the leeway) it is void.
    pub expires_at: i64,
    /// `sub`: who the bearer is; fills in `{sub}` in patterns.
    pub subject: Option<String>,
    /// `subscribe`: the topics the bearer may follow.
    pub subscribe: Vec<Pattern>,
    /// `publish`: the topics the bearer may publish to.
    pub publish: Vec<Pattern>,
}

/// Why a token was refused. The text never repeats the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// Not three base64url parts of JSON objects, or a claim of the wrong type.
    Malformed(String),
    /// The header names another algorithm (or `none`), or a `typ` other than JWT.
    AlgorithmRefused(String),
    /// The signature does not match: another secret, or an altered token.
    BadSignature,
    /// `exp` has passed.
    Expired,
    /// `nbf` has not come yet.
    NotYetValid,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::Malformed(why) => write!(f, "malformed token: {why}"),
            TokenError::AlgorithmRefused(why) => write!(f, "token refused: {why}"),
            TokenError::BadSignature => write!(f, "the token's signature does not match"),
            TokenError::Expired => write!(f, "the token has expired"),
            TokenError::NotYetValid => write!(f, "the token is not valid yet (nbf)"),
        }
    }
}

/// Checks `token` against `secret` at time `now` (seconds since the Unix epoch), in
/// the order the module docs give, and returns its claims.
pub fn verify(token: &str, secret: &[u8], now: i64) -> Result<Claims, TokenError> {
    let malformed = |why: &str| TokenError::Malformed(why.to_string());
    let mut parts = token.split('.');
    let (Some(header_text), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("not three dot-separated parts"));
    };

    // 1. The algorithm.
    let header = decode_object(header_text, "header")?;
    match header.get("alg") {
        Some(Value::String(alg)) if alg == "HS256" => {}
        Some(Value::String(alg)) => {
            return Err(TokenError::AlgorithmRefused(format!(
                "alg {alg:?} (only HS256 is accepted)"
            )));
        }
        _ => return Err(malformed("the header has no alg")),
    }
    match header.get("typ") {
        None => {}
        Some(Value::String(typ)) if typ.eq_ignore_ascii_case("JWT") => {}
        Some(_) => return Err(TokenError::AlgorithmRefused("typ is not JWT".into())),
    }
    // RFC 7515 section 4.1.11: extensions we do not understand must be refused.
    if header.get("crit").is_some() {
        return Err(TokenError::AlgorithmRefused(
            "crit names extensions this server does not implement".into(),
        ));
    }

    // 2. The signature, over the first two parts as sent.
    let signature =
        base64url::decode(signature).map_err(|_| malformed("the signature is not base64url"))?;
    let signed = &token[..header_text.len() + 1 + payload.len()];
    let expected = hmac_sha256(secret, signed.as_bytes());
    if !constant_time_eq(&signature, &expected) {
        return Err(TokenError::BadSignature);
    }

    // 3. Only now, the claims.
    let claims = decode_object(payload, "payload")?;
    let expires_at = match claims.get("exp") {
        Some(Value::Number(exp)) => exp.floor() as i64,
        Some(_) => return Err(malformed("exp is not a number")),
        None => return Err(malformed("exp is missing (every token must expire)")),
    };
    let not_before = match claims.get("nbf") {
        Some(Value::Number(nbf)) => Some(nbf.floor() as i64),
        Some(_) => return Err(malformed("nbf is not a number")),
        None => None,
    };
    let subject = match claims.get("sub") {
        Some(Value::String(sub)) => Some(sub.clone()),
        Some(_) => return Err(malformed("sub is not a string")),
        None => None,
    };
    let subscribe = patterns(&claims, "subscribe")?;
    let publish = patterns(&claims, "publish")?;

    // 4. Time.
    if now > expires_at.saturating_add(LEEWAY_SECS) {
        return Err(TokenError::Expired);
    }
    if not_before.is_some_and(|nbf| now < nbf.saturating_sub(LEEWAY_SECS)) {
        return Err(TokenError::NotYetValid);
    }
    Ok(Claims {
        expires_at,
        subject,
        subscribe,
        publish,
    })
}

/// A token with `claims` (a JSON object, as text) signed with `secret`.
pub fn sign(claims: &str, secret: &[u8]) -> String {
    let mut token = base64url::encode(HEADER.as_bytes());
    token.push('.');
    token.push_str(&base64url::encode(claims.as_bytes()));
    let signature = hmac_sha256(secret, token.as_bytes());
    token.push('.');
    token.push_str(&base64url::encode(&signature));
    token
}

/// One base64url part that must hold a JSON object.
fn decode_object(part: &str, what: &str) -> Result<Value, TokenError> {
    let bytes = base64url::decode(part)
        .map_err(|_| TokenError::Malformed(format!("the {what} is not base64url")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| TokenError::Malformed(format!("the {what} is not UTF-8")))?;
    match json::parse(&text) {
        Ok(object @ Value::Object(_)) => Ok(object),
        Ok(_) => Err(TokenError::Malformed(format!(
            "the {what} is not a JSON object"
        ))),
        Err(error) => Err(TokenError::Malformed(format!("the {what}: {error}"))),
    }
}

/// The claim `name`: an array of patterns, or nothing at all.
fn patterns(claims: &Value, name: &str) -> Result<Vec<Pattern>, TokenError> {
    let items = match claims.get(name) {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(TokenError::Malformed(format!(
                "{name} is not an array of topic patterns"
            )));
        }
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(pattern) => Pattern::parse(pattern)
                .map_err(|why| TokenError::Malformed(format!("{name}: {why}"))),
            _ => Err(TokenError::Malformed(format!(
                "{name} is not an array of topic patterns"
            ))),
        })
        .collect()
}

#[cfg(test)]
#[path = "jwt_tests.rs"]
mod tests;
