//! The door: who may follow and publish which topics, decided for one request.
//!
//! Without `--auth-secret`, every topic is open (and `--token`, if set, guards
//! publishing). With it:
//!
//! | request | needs |
//! |---|---|
//! | `GET /subscribe` to topics that all match `--public` | nothing |
//! | `GET /subscribe` to any other topic | a token whose `subscribe` matches it |
//! | `POST /publish` | a token whose `publish` matches every named topic |
//! | the demo streams, `/stats`, `/metrics`, `/healthz`, `/readyz`, the demo page | nothing |
//!
//! The token is looked for where each kind of client can put it: the
//! `Authorization: Bearer` header (apps, curl), then a cookie named `sse_token` (a page:
//! `EventSource` cannot send headers, but the browser sends the app's cookie), then
//! the query parameter `token` (a page on another site, the npm `eventsource` client).
//!
//! The cookie is the one place a browser fills in by itself: it goes with every request
//! to our site, whichever page sends it, and a plain form post from any site needs no
//! preflight. So for a publish the cookie counts only when the page is our own or one
//! `--allow-origin` names ([`CookieUse`], decided in `pubsub/publish.rs`); from any
//! other page, even under `--allow-origin '*'`, it is refused with `403`, while a token
//! the page itself sends (the header, the query) still works: a page that holds a
//! token is its own credential, a cookie is the visitor's.
//!
//! No token, or one that fails any check of `jwt.rs`: `401` with `WWW-Authenticate`. A
//! good token that does not cover a topic: `403`, naming the topic. The reasons go
//! into the response and one log line; the token itself goes into neither.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::auth::jwt::{self, Claims, LEEWAY_SECS};
use crate::auth::patterns::{self, Pattern};
use crate::config::{Config, Secret};
use crate::http::error::HttpError;
use crate::http::log_text::log_safe;
use crate::http::request::Request;
use crate::pubsub::subject::{self, Subject};
use crate::pubsub::topic::TopicName;

/// The cookie a page's app sets for the server to find.
pub const TOKEN_COOKIE: &str = "sse_token";
/// The query parameter a token may come in (named in `http/request.rs`, whose log
/// redaction hides it).
pub use crate::http::request::TOKEN_PARAMETER;

/// When an admitted subscription must end: at its token's expiry, or never.
pub type ValidUntil = Option<SystemTime>;

/// Whether the `sse_token` cookie may authorize a publish (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieUse {
    /// The page is our own, or listed by name, or there is no page (no `Origin`).
    Honoured,
    /// A page on another origin, let in only by `--allow-origin '*'`.
    Refused,
}

/// Whether `request` may follow `topics`; if so, until when.
pub fn check_subscribe(
    request: &Request,
    topics: &[TopicName],
    config: &Config,
) -> Result<ValidUntil, HttpError> {
    check_subscribe_as(request, topics, config).map(|(valid_until, _)| valid_until)
}

/// [`check_subscribe`], and who the subscription counts as (`pubsub/owners.rs`): the
/// token's subject, or anonymous when no token was needed.
pub fn check_subscribe_as(
    request: &Request,
    topics: &[TopicName],
    config: &Config,
) -> Result<(ValidUntil, Subject), HttpError> {
    let anonymous = || subject::subject_of(None);
    let Some(secret) = &config.auth_secret else {
        return Ok((None, anonymous()));
    };
    let private: Vec<&TopicName> = topics
        .iter()
        .filter(|topic| !patterns::any_matches(&config.public_topics, topic, None))
        .collect();
    let Some(first_private) = private.first() else {
        return Ok((None, anonymous()));
    };
    // Reading needs no cookie rule: another site's page cannot read the answer unless
    // CORS lets it, and `http/cors.rs` lets it only for origins listed by name.
    let claims = bearer_claims(request, secret, CookieUse::Honoured, || {
        format!("following topic {first_private:?} needs a token")
    })?;
    for topic in private {
        check_grant(&claims.subscribe, topic, &claims, "follow")?;
    }
    let valid_until = claims.expires_at.saturating_add(LEEWAY_SECS);
    let valid_until = UNIX_EPOCH + std::time::Duration::from_secs(valid_until.max(0) as u64);
    Ok((
        Some(valid_until),
        subject::subject_of(claims.subject.as_deref()),
    ))
}

/// Whether `request` may publish to `topics`. With `--auth-secret`, a token must cover
/// every one of them (from the cookie only if `cookie` is honoured); with `--token`,
/// the bearer must be that token.
pub fn check_publish(
    request: &Request,
    topics: &[TopicName],
    config: &Config,
    cookie: CookieUse,
) -> Result<(), HttpError> {
    check_publish_as(request, topics, config, cookie).map(|_| ())
}

/// [`check_publish`], and who the publish counts as (`pubsub/owners.rs`): the token's
/// subject with `--auth-secret`, else anonymous (one subject for everyone).
pub fn check_publish_as(
    request: &Request,
    topics: &[TopicName],
    config: &Config,
    cookie: CookieUse,
) -> Result<Subject, HttpError> {
    if let Some(secret) = &config.auth_secret {
        let claims = bearer_claims(request, secret, cookie, || {
            "publishing needs a token".into()
        })?;
        for topic in topics {
            check_grant(&claims.publish, topic, &claims, "publish to")?;
        }
        return Ok(subject::subject_of(claims.subject.as_deref()));
    } else if let Some(token) = &config.token {
        check_shared_token(request, token)?;
    }
    Ok(subject::subject_of(None))
}

/// The token a request carries, from the first place that has one (module docs),
/// skipping the cookie when it is refused.
pub fn find_token(request: &Request, cookie: CookieUse) -> Option<String> {
    if let Some(token) = bearer_header(request) {
        return Some(token.to_string());
    }
    if cookie == CookieUse::Honoured
        && let Some(token) = request.cookie(TOKEN_COOKIE)
    {
        return Some(token.to_string());
    }
    request.query_param(TOKEN_PARAMETER).ok().flatten()
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

/// The verified claims of the request's token, or the `401` (`403` for a refused
/// cookie) to answer.
fn bearer_claims(
    request: &Request,
    secret: &Secret,
    cookie: CookieUse,
    why_needed: impl FnOnce() -> String,
) -> Result<Claims, HttpError> {
    let Some(token) = find_token(request, cookie) else {
        if request.cookie(TOKEN_COOKIE).is_some() {
            // Not 401: the visitor may well hold a good token. This page may not
            // spend it.
            return Err(HttpError::Forbidden(match request.header("origin") {
                Some(origin) => format!(
                    "the {TOKEN_COOKIE} cookie does not authorize a publish from origin {}; \
                     a page on another origin sends its token in Authorization: Bearer",
                    log_safe(origin)
                ),
                None => format!(
                    "the {TOKEN_COOKIE} cookie authorizes a publish only with an Origin or \
                     a Referer from this site; curl sends Authorization: Bearer"
                ),
            }));
        }
        return Err(HttpError::Unauthorized {
            reason: why_needed(),
            token_sent: false,
        });
    };
    jwt::verify(&token, secret.expose().as_bytes(), unix_now()).map_err(|error| {
        HttpError::Unauthorized {
            reason: error.to_string(),
            token_sent: true,
        }
    })
}

/// `403` unless one of `grants` matches `topic`.
fn check_grant(
    grants: &[Pattern],
    topic: &str,
    claims: &Claims,
    verb: &str,
) -> Result<(), HttpError> {
    if patterns::any_matches(grants, topic, claims.subject.as_deref()) {
        return Ok(());
    }
    Err(HttpError::Forbidden(format!(
        "the token does not allow you to {verb} topic \"{}\"",
        log_safe(topic)
    )))
}

/// `Authorization: Bearer <token>` (RFC 6750 section 2.1; the scheme name is
/// case-insensitive, RFC 9110 section 11.1).
fn bearer_header(request: &Request) -> Option<&str> {
    request
        .header("authorization")?
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}

/// `--token`: the bearer must be exactly that shared token, compared in constant time.
fn check_shared_token(request: &Request, token: &Secret) -> Result<(), HttpError> {
    let presented = bearer_header(request);
    let matches = presented.is_some_and(|presented| {
        crate::auth::hmac::constant_time_eq(presented.as_bytes(), token.expose().as_bytes())
    });
    if matches {
        return Ok(());
    }
    Err(HttpError::Unauthorized {
        reason: "publishing needs Authorization: Bearer <token>".into(),
        token_sent: presented.is_some(),
    })
}

#[cfg(test)]
#[path = "gate_tests.rs"]
mod tests;
