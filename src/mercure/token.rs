//! Mercure access tokens: a JWT access token (RFC 9068) whose
//! `authorization_details` (RFC 9396) say what its bearer may publish and read
//! (spec, "Authorization", "Token Validation", "Authorization Details").
//!
//! ```text
//! header  {"alg":"HS256","typ":"at+jwt"}
//! claims  {"iss":"https://localhost","aud":"https://localhost/.well-known/mercure",
//!          "exp":1767225600, "sub":"...", "authorization_details":[
//!            {"type":"https://mercure.rocks/authorization-detail",
//!             "actions":["subscribe"],
//!             "topics":[{"match":"https://example.com/books/:id","match_type":"urlpattern"}],
//!             "payload":{"name":"Alice"}}]}
//! ```
//!
//! The checks, in the order that matters (the same reasoning as `auth/jwt.rs`, which
//! checks the project's own tokens; the pieces below it, HMAC and the JSON reader,
//! are shared):
//!
//! 1. `alg` is on our allowlist, which is `HS256` alone: the key is a shared secret
//!    (`--mercure-key`), and the algorithm is never taken from the token. `typ` is
//!    `at+jwt` (or `application/at+jwt`), so an ID token signed with the same key is
//!    not taken for an access token. `crit` is refused: we implement no extension.
//! 2. The signature, in constant time. Key material in the token (`jwk`, `jku`, `x5u`)
//!    is never looked at.
//! 3. Only then the claims: `iss` equals the configured issuer, `aud` (a string or an
//!    array) holds the configured resource identifier, `exp` is there and not past,
//!    `nbf` (if there) has come.
//! 4. Every Mercure authorization detail parses, or the whole token is refused: a
//!    partly read grant would silently be a different grant. Details of other types
//!    belong to other APIs and are skipped; actions we do not know grant nothing.
//!
//! Every failure is one `invalid_token` to the client (the spec's advice: do not say
//! which check failed); the reason goes to our log line only, never the token.

use crate::auth::base64url;
use crate::auth::hmac::{constant_time_eq, hmac_sha256};
use crate::auth::json::{self, Value};
use crate::auth::jwt::LEEWAY_SECS;
use crate::mercure::matcher::{Matcher, MatcherType};
use crate::mercure::namespace::HubUrl;

/// The `type` of a Mercure authorization detail, compared byte by byte.
pub const DETAIL_TYPE: &str = "https://mercure.rocks/authorization-detail";
/// The most Mercure authorization details one token may carry.
pub const MAX_DETAILS: usize = 64;
/// The most topic matchers one detail may carry.
pub const MAX_TOPICS_PER_DETAIL: usize = 256;

/// What the hub checks a token against.
pub struct TokenRules<'a> {
    /// The HS256 key (`--mercure-key`).
    pub key: &'a [u8],
    /// The only issuer whose tokens we take (`--mercure-issuer`).
    pub issuer: &'a str,
    /// Our resource identifier (`--mercure-resource`), which `aud` must hold.
    pub resource: &'a str,
    /// The hub URL relative URL patterns are resolved against.
    pub hub: &'a HubUrl,
}

/// What a valid token allows.
#[derive(Debug, Clone)]
pub struct Access {
    /// `exp`, seconds since the Unix epoch: a stream opened with this token ends then.
    pub expires_at: i64,
    /// `sub`, when the token has one: whose share of the hub's URL patterns a
    /// subscription under it counts against (`index.rs`). One issuer is accepted, so
    /// `sub` alone names one subject. Never logged.
    pub subject: Option<String>,
    details: Vec<Detail>,
}

/// One Mercure authorization detail.
#[derive(Debug, Clone)]
struct Detail {
    publish: bool,
    subscribe: bool,
    topics: Vec<Matcher>,
    /// The `payload` object, as JSON text.
    payload: Option<String>,
}

impl Access {
    /// Whether the token grants `publish` on `topic` (spec, "Publishers").
    pub fn may_publish(&self, topic: &str) -> bool {
        self.details
            .iter()
            .any(|detail| detail.publish && detail.covers(topic))
    }

    /// Whether the token grants `subscribe` on at least one of `topics`: what a private
    /// update needs (spec, "Subscribers").
    pub fn may_read_any(&self, topics: &[String]) -> bool {
        self.details
            .iter()
            .any(|detail| detail.subscribe && topics.iter().any(|topic| detail.covers(topic)))
    }

    /// The `payload` of the first `subscribe` detail that covers the subscription's own
    /// matcher text taken as a topic (spec, "Payloads").
    pub fn payload_for(&self, matcher: &str) -> Option<&str> {
        self.details
            .iter()
            .find(|detail| detail.subscribe && detail.covers(matcher))
            .and_then(|detail| detail.payload.as_deref())
    }
}

impl Detail {
    fn covers(&self, topic: &str) -> bool {
        self.topics.iter().any(|matcher| matcher.matches(topic))
    }
}

/// Checks `token` at `now` (seconds since the Unix epoch); the reason for a refusal is
/// for our log.
pub fn verify(token: &str, rules: &TokenRules, now: i64) -> Result<Access, String> {
    let mut parts = token.split('.');
    let (Some(header_text), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a JWS in compact form".into());
    };

    // 1. The header.
    let header = decode_object(header_text, "header")?;
    match header.get("alg") {
        Some(Value::String(alg)) if alg == "HS256" => {}
        Some(Value::String(alg)) => return Err(format!("alg {alg:?} is not allowed (HS256 is)")),
        _ => return Err("the header has no alg".into()),
    }
    let typ = match header.get("typ") {
        Some(Value::String(typ)) => typ.to_ascii_lowercase(),
        _ => return Err("typ is not at+jwt (RFC 9068 section 4)".into()),
    };
    if typ.strip_prefix("application/").unwrap_or(&typ) != "at+jwt" {
        return Err("typ is not at+jwt (RFC 9068 section 4)".into());
    }
    if header.get("crit").is_some() {
        return Err("crit names extensions this hub does not implement".into());
    }

    // 2. The signature, over the first two parts exactly as sent.
    let signature = base64url::decode(signature).map_err(|_| "the signature is not base64url")?;
    let signed = &token[..header_text.len() + 1 + payload.len()];
    if !constant_time_eq(&signature, &hmac_sha256(rules.key, signed.as_bytes())) {
        return Err("the signature does not match".into());
    }

    // 3. The registered claims.
    let claims = decode_object(payload, "claims")?;
    match claims.get("iss") {
        Some(Value::String(iss)) if iss == rules.issuer => {}
        Some(Value::String(_)) => return Err("iss is not this hub's issuer".into()),
        _ => return Err("iss is missing".into()),
    }
    let audience_holds_us = match claims.get("aud") {
        Some(Value::String(aud)) => aud == rules.resource,
        Some(Value::Array(auds)) => auds
            .iter()
            .any(|aud| matches!(aud, Value::String(aud) if aud == rules.resource)),
        _ => false,
    };
    if !audience_holds_us {
        return Err("aud does not name this hub's resource identifier".into());
    }
    let expires_at = match claims.get("exp") {
        Some(Value::Number(exp)) => exp.floor() as i64,
        _ => return Err("exp is missing (RFC 9068 requires it)".into()),
    };
    if now > expires_at.saturating_add(LEEWAY_SECS) {
        return Err("the token has expired".into());
    }
    match claims.get("nbf") {
        None => {}
        Some(Value::Number(nbf)) if now >= (nbf.floor() as i64).saturating_sub(LEEWAY_SECS) => {}
        Some(Value::Number(_)) => return Err("the token is not valid yet (nbf)".into()),
        Some(_) => return Err("nbf is not a number".into()),
    }

    // 4. What it grants.
    let details = match claims.get("authorization_details") {
        None => Vec::new(),
        Some(Value::Array(entries)) => read_details(entries, rules.hub)?,
        Some(_) => return Err("authorization_details is not an array".into()),
    };
    let subject = match claims.get("sub") {
        Some(Value::String(sub)) => Some(sub.clone()),
        _ => None,
    };
    Ok(Access {
        expires_at,
        subject,
        details,
    })
}

/// The Mercure details among `entries`, every one valid, or why not.
fn read_details(entries: &[Value], hub: &HubUrl) -> Result<Vec<Detail>, String> {
    let mut details = Vec::new();
    for entry in entries {
        let Value::Object(_) = entry else {
            return Err("an authorization detail is not an object".into());
        };
        match entry.get("type") {
            Some(Value::String(kind)) if kind == DETAIL_TYPE => {}
            // RFC 9396 section 2: the `type` says whose detail it is; another API's
            // are not ours to read or to refuse.
            Some(Value::String(_)) => continue,
            _ => return Err("an authorization detail has no type".into()),
        }
        if details.len() == MAX_DETAILS {
            return Err(format!(
                "more than {MAX_DETAILS} Mercure authorization details"
            ));
        }
        details.push(read_detail(entry, hub)?);
    }
    Ok(details)
}

fn read_detail(entry: &Value, hub: &HubUrl) -> Result<Detail, String> {
    let Some(Value::Array(actions)) = entry.get("actions") else {
        return Err("a detail's actions is not an array".into());
    };
    if actions.is_empty() {
        return Err("a detail's actions is empty".into());
    }
    let (mut publish, mut subscribe) = (false, false);
    for action in actions {
        match action {
            Value::String(action) if action == "publish" => publish = true,
            Value::String(action) if action == "subscribe" => subscribe = true,
            // An action a later spec defines grants nothing here (spec, "Authorization
            // Details").
            Value::String(_) => {}
            _ => return Err("an action is not a string".into()),
        }
    }
    let Some(Value::Array(topics)) = entry.get("topics") else {
        return Err("a detail's topics is not an array".into());
    };
    if topics.is_empty() || topics.len() > MAX_TOPICS_PER_DETAIL {
        return Err(format!(
            "a detail needs 1 to {MAX_TOPICS_PER_DETAIL} topics"
        ));
    }
    let topics = topics
        .iter()
        .map(|topic| read_topic_matcher(topic, hub))
        .collect::<Result<Vec<Matcher>, String>>()?;
    let payload = match entry.get("payload") {
        None => None,
        Some(payload @ Value::Object(_)) => Some(to_json(payload)),
        Some(_) => return Err("a detail's payload is not an object".into()),
    };
    Ok(Detail {
        publish,
        subscribe,
        topics,
        payload,
    })
}

/// `{"match": "...", "match_type": "..."}` (spec, "Topic Matcher List").
fn read_topic_matcher(topic: &Value, hub: &HubUrl) -> Result<Matcher, String> {
    let Value::Object(_) = topic else {
        return Err("a topic matcher is not an object".into());
    };
    let Some(Value::String(text)) = topic.get("match") else {
        return Err("a topic matcher has no match string".into());
    };
    let match_type = match topic.get("match_type") {
        None => MatcherType::Exact,
        Some(Value::String(name)) => MatcherType::from_name(name)
            .ok_or_else(|| format!("match_type {name:?} is not supported"))?,
        Some(_) => return Err("match_type is not a string".into()),
    };
    Matcher::parse(match_type, text, hub)
}

/// One base64url part that must hold a JSON object.
fn decode_object(part: &str, what: &str) -> Result<Value, String> {
    let bytes = base64url::decode(part).map_err(|_| format!("the {what} is not base64url"))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("the {what} is not UTF-8"))?;
    match json::parse(&text) {
        Ok(object @ Value::Object(_)) => Ok(object),
        Ok(_) => Err(format!("the {what} is not a JSON object")),
        Err(error) => Err(format!("the {what}: {error}")),
    }
}

/// `value` written back as JSON text (for a payload, which we pass on untouched in
/// meaning). Whole numbers are written without a fraction.
pub fn to_json(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) if number.fract() == 0.0 && number.abs() < 1e15 => {
            format!("{}", *number as i64)
        }
        Value::Number(number) => number.to_string(),
        Value::String(text) => json::quote(text),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(to_json).collect();
            format!("[{}]", items.join(","))
        }
        Value::Object(members) => {
            let members: Vec<String> = members
                .iter()
                .map(|(name, value)| format!("{}:{}", json::quote(name), to_json(value)))
                .collect();
            format!("{{{}}}", members.join(","))
        }
    }
}

#[cfg(test)]
#[path = "token_tests.rs"]
mod tests;
