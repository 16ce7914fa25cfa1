//! `POST /publish`: the body becomes a message for every subscriber of the named
//! topics (`default` when none is named).
//!
//! ```text
//! POST /publish?topic=rooms/lobby&event=chat HTTP/1.1
//! Host: localhost:5000
//! Content-Length: 11
//!
//! hello world
//! ```
//!
//! is answered `202 Accepted` with `{"id": "7", "subscribers": 3}`: the id is a
//! string because clients must treat it as opaque (it is what comes back in
//! `Last-Event-ID`, nothing to do arithmetic on; with `--redis` it is the log entry's
//! id, `1732368000000-0`, and `subscribers` counts this instance's). The checks run
//! cheapest and most fundamental first, and the body is read only once everything
//! else is known to be fine, so a refused upload costs us nothing but its head:
//!
//! | check | status |
//! |---|---|
//! | a `?topic=` that is not a valid name, or more than 32 of them | 400 |
//! | with `--auth-secret`: no valid token (`auth/gate.rs`) | 401 with `WWW-Authenticate` |
//! | with `--auth-secret`: a token whose `publish` misses a named topic | 403 |
//! | with `--auth-secret`: the token is in the cookie, and the page is on another origin that `--allow-origin` does not name (`*` names none), or the request has no `Origin` and no `Referer` from our own or a named origin | 403 |
//! | with `--token`: no matching `Authorization: Bearer` | 401 with `WWW-Authenticate` |
//! | an `Origin` that is neither ours nor allowed by `--allow-origin` | 403 |
//! | `?event=` empty, with a line break, over 64 bytes, or `missed` (the server's own) | 400 |
//! | no `Content-Length` | 411 |
//! | `Content-Length` over `--max-message-bytes` | 413, body not read |
//! | body not valid UTF-8 (event streams are UTF-8 text) | 400 |
//! | a new topic beyond `--max-topics` (alone; with `--redis` the log takes it, and this instance keeps no history of it) | 503 |
//! | with `--auth-secret`: a new topic beyond the token subject's share, `--max-topics-per-subject` (`owners.rs`) | 503 |
//! | with `--redis`: Redis did not take the message | 503 with `Retry-After` |
//!
//! The origin check stops cross-site request forgery: any web page can make a
//! visitor's browser send a `POST` here (a plain form needs no preflight), but the
//! browser always says which page sent it in `Origin`. `--allow-origin '*'` lets any
//! page publish, but only with a token the page sends itself: the visitor's cookie,
//! which the browser attaches to such a post unasked, counts only from our own origin
//! or one listed by name (`auth/gate.rs`), in `Origin` or, without one, in `Referer`;
//! a request that names no page at all may publish with a token it sends itself
//! (curl's `Authorization: Bearer`), never with the cookie.

use std::time::Instant;

use log::debug;

use crate::auth::gate::{self, CookieUse};
use crate::http::connection::Connection;
use crate::http::error::HttpError;
use crate::http::forwarded::ClientView;
use crate::http::log_text::log_safe;
use crate::http::request::Request;
use crate::http::response::{Response, Status};
use crate::pubsub::hub::{HubError, Published};
use crate::pubsub::missed::MISSED_EVENT;
use crate::pubsub::topic::{TopicName, topic_list};
use crate::shared::Shared;
use crate::sse::event::{self, Event};
use crate::stats::Share;

/// The longest `?event=` type we accept, in bytes.
pub const MAX_EVENT_TYPE_BYTES: usize = 64;

/// Checks, reads and publishes one message.
pub fn handle(
    request: &Request,
    client: &ClientView,
    connection: &mut Connection,
    shared: &Shared,
) -> Result<Response, HttpError> {
    let config = &shared.config;
    let topics = requested_topics(request)?;
    let page = page_origin(request, client.scheme, &config.allowed_origins);
    let cookie = match page {
        PageOrigin::Trusted => CookieUse::Honoured,
        PageOrigin::Unknown | PageOrigin::AnyoneAllowed | PageOrigin::Refused(_) => {
            CookieUse::Refused
        }
    };
    let publisher = gate::check_publish_as(request, &topics, config, cookie)?;
    if let PageOrigin::Refused(origin) = page {
        return Err(HttpError::Forbidden(format!(
            "origin {} may not publish (see --allow-origin)",
            log_safe(&origin)
        )));
    }
    let event_type = request.query_param("event")?;
    if let Some(event_type) = &event_type {
        check_event_type(event_type)?;
    }
    let length = request.content_length.ok_or(HttpError::LengthRequired)?;
    if length > config.max_message_bytes as u64 {
        return Err(HttpError::PayloadTooLarge {
            limit: config.max_message_bytes,
        });
    }
    let body = connection.read_body(Instant::now() + config.head_timeout)?;
    let text = String::from_utf8(body)
        .map_err(|_| HttpError::BadRequest("the message is not valid UTF-8".into()))?;

    let text_bytes = text.len();
    let published = match &shared.log {
        // With --redis, the message is published once Redis holds it; this instance's
        // subscribers get it from the log like everyone else's (redis/tail.rs).
        Some(log) => {
            // The subject's share is checked here, where the publish is answered; the
            // topics are created, for the subject the entry names, when the tail
            // brings the message back.
            shared
                .hub
                .check_subject_room(&publisher, &topics)
                .inspect_err(|error| count_share_refusal(error, shared))?;
            let id = log
                .append_as(&publisher, &topics, event_type.as_deref(), &text)
                .map_err(|error| HttpError::BackendFailed {
                    reason: "the message was not published: the shared log is not \
                             available; try again shortly"
                        .into(),
                    cause: format!("Redis did not take it: {error}"),
                })?;
            Published {
                id,
                subscribers: shared.hub.count_followers(&topics),
            }
        }
        None => {
            let mut message = Event::new(text);
            if let Some(event_type) = event_type {
                message = message
                    .with_type(event_type)
                    .map_err(|error| HttpError::BadRequest(format!("event type {error}")))?;
            }
            shared
                .hub
                .publish_as(&publisher, &topics, message)
                .inspect_err(|error| count_share_refusal(error, shared))?
        }
    };
    debug!(
        "published message {} ({text_bytes} bytes) to {topics:?}, {} subscribers",
        published.id, published.subscribers
    );
    let json = format!(
        "{{\"id\": \"{}\", \"subscribers\": {}}}\n",
        published.id, published.subscribers
    );
    Ok(Response::json(Status::Accepted, json))
}

/// Where a publish comes from, as far as cross-site forgery is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PageOrigin {
    /// Our own origin (the demo page), or an origin `--allow-origin` names: in
    /// `Origin`, or, without one, in a `Referer`.
    Trusted,
    /// No `Origin`, and no `Referer` from a trusted page: curl and scripts, which
    /// send their token themselves, or a page whose browser said nothing. It may
    /// publish with a token it sends, never with the cookie (RFC 6265bis section
    /// 8.8.1 and the Mercure spec ask a server to check where a cookie-authorized
    /// request comes from; a request that says nothing cannot be checked).
    Unknown,
    /// Another origin, let in by `--allow-origin '*'` alone.
    AnyoneAllowed,
    /// Another origin, not allowed: 403.
    Refused(String),
}

/// How the request's `Origin` stands. Our own origin is `scheme` (`https` when a
/// trusted proxy says so, see `http/forwarded.rs`) and the `Host`.
fn page_origin(request: &Request, scheme: &str, allowed_origins: &[String]) -> PageOrigin {
    let own_origin = request
        .header("host")
        .map(|host| format!("{scheme}://{host}"));
    // Listed by name: `*` is no name, even for a client that sends `Origin: *`.
    let trusted = |origin: &str| {
        own_origin.as_deref() == Some(origin)
            || allowed_origins
                .iter()
                .any(|allowed| allowed != "*" && allowed == origin)
    };
    let Some(origin) = request.header("origin") else {
        // A browser that sends no `Origin` still says which page sent the request in
        // `Referer` (unless a referrer policy hides it): its origin is the URL up to
        // the path (RFC 6454 section 4).
        let referer = request.header("referer").and_then(origin_of_url);
        return match referer {
            Some(page) if trusted(page) => PageOrigin::Trusted,
            _ => PageOrigin::Unknown,
        };
    };
    if trusted(origin) {
        PageOrigin::Trusted
    } else if allowed_origins.iter().any(|allowed| allowed == "*") {
        PageOrigin::AnyoneAllowed
    } else {
        PageOrigin::Refused(origin.to_string())
    }
}

/// `scheme://host[:port]` of an absolute URL, `None` if `url` is none.
fn origin_of_url(url: &str) -> Option<&str> {
    let after_scheme = url.find("://")? + 3;
    let end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |end| after_scheme + end);
    (end > after_scheme).then(|| &url[..end])
}

/// The topics named by `?topic=` (checked, each once), or `default`.
pub fn requested_topics(request: &Request) -> Result<Vec<TopicName>, HttpError> {
    topic_list(&request.query_params("topic")?).map_err(HttpError::BadRequest)
}

impl From<HubError> for HttpError {
    fn from(error: HubError) -> HttpError {
        match error {
            HubError::TooManyTopics { limit } => HttpError::ServiceUnavailable(format!(
                "the server holds its maximum of {limit} topics (--max-topics)"
            )),
            HubError::TooManyAnonymousTopics { limit } => HttpError::ServiceUnavailable(format!(
                "without a token, new topics are created only up to {limit} in all \
                 (half of --max-topics)"
            )),
            HubError::TooManySubjectTopics { limit } => HttpError::ServiceUnavailable(format!(
                "the token's subject owns its share of {limit} topics \
                 (--max-topics-per-subject); topics it no longer uses go after \
                 --history-ttl-s"
            )),
        }
    }
}

/// Counts a refusal for a subject's share in `/metrics` (`per_subject`).
pub fn count_share_refusal(error: &HubError, shared: &Shared) {
    if let HubError::TooManySubjectTopics { .. } = error {
        shared.stats.count_share_refusal(Share::PerSubject);
    }
}

fn check_event_type(event_type: &str) -> Result<(), HttpError> {
    event::check_event_type(event_type)
        .map_err(|error| HttpError::BadRequest(format!("event type {error}")))?;
    if event_type.len() > MAX_EVENT_TYPE_BYTES {
        return Err(HttpError::BadRequest(format!(
            "event type longer than {MAX_EVENT_TYPE_BYTES} bytes"
        )));
    }
    // Only the server says what a client missed (see missed.rs).
    if event_type == MISSED_EVENT {
        return Err(HttpError::BadRequest(format!(
            "the event type {MISSED_EVENT:?} is the server's own"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::head::parse_head;

    fn request(headers: &str) -> Request {
        parse_head(
            format!("POST /publish HTTP/1.1\r\nHost: localhost:5000\r\n{headers}\r\n").as_bytes(),
        )
        .unwrap()
    }

    fn origin(headers: &str, scheme: &str, allowed: &[&str]) -> PageOrigin {
        let allowed: Vec<String> = allowed.iter().map(|origin| origin.to_string()).collect();
        page_origin(&request(headers), scheme, &allowed)
    }

    #[test]
    fn without_an_origin_only_a_referer_from_a_trusted_page_is_trusted() {
        use PageOrigin::{Trusted, Unknown};
        assert_eq!(origin("", "http", &[]), Unknown);
        let own = "Referer: http://localhost:5000/page?x=1\r\n";
        assert_eq!(origin(own, "http", &[]), Trusted);
        assert_eq!(origin(own, "https", &[]), Unknown, "another scheme");
        let listed = "Referer: https://app.test/\r\n";
        assert_eq!(origin(listed, "http", &["https://app.test"]), Trusted);
        assert_eq!(origin(listed, "http", &["*"]), Unknown);
        for other in [
            "Referer: http://localhost:5000.evil.test/\r\n",
            "Referer: http://evil.test/http://localhost:5000/\r\n",
            "Referer: /relative\r\n",
            "Referer: http:///\r\n",
        ] {
            assert_eq!(origin(other, "http", &[]), Unknown, "{other:?}");
        }
        // An Origin, when there is one, is what counts.
        let both = "Origin: http://evil.test\r\nReferer: http://localhost:5000/\r\n";
        assert!(matches!(origin(both, "http", &[]), PageOrigin::Refused(_)));
    }

    #[test]
    fn only_our_own_or_allowed_origins_may_publish() {
        use PageOrigin::{AnyoneAllowed, Refused, Trusted};
        assert_eq!(
            origin("Origin: http://localhost:5000\r\n", "http", &[]),
            Trusted
        );
        let evil = "Origin: http://evil.test\r\n";
        assert_eq!(
            origin(evil, "http", &[]),
            Refused("http://evil.test".into())
        );
        assert_eq!(
            origin("Origin: null\r\n", "http", &[]),
            Refused("null".into())
        );
        let app = "Origin: http://app.test\r\n";
        assert_eq!(origin(app, "http", &["http://app.test"]), Trusted);
        // `*` lets any page in, but not as one we trust with the visitor's cookie.
        assert_eq!(origin(evil, "http", &["*"]), AnyoneAllowed);
        assert_eq!(origin(app, "http", &["*", "http://app.test"]), Trusted);
        assert_eq!(origin("Origin: *\r\n", "http", &["*"]), AnyoneAllowed);
    }

    #[test]
    fn behind_https_our_own_origin_is_https() {
        let page = "Origin: https://localhost:5000\r\n";
        assert_eq!(origin(page, "https", &[]), PageOrigin::Trusted);
        assert!(matches!(origin(page, "http", &[]), PageOrigin::Refused(_)));
    }

    #[test]
    fn event_types_are_limited() {
        assert!(check_event_type("chat").is_ok());
        assert!(check_event_type("").is_err());
        assert!(check_event_type("a\rb").is_err());
        assert!(check_event_type(&"x".repeat(MAX_EVENT_TYPE_BYTES + 1)).is_err());
        assert!(
            check_event_type("missed").is_err(),
            "reserved for the server"
        );
    }
}
