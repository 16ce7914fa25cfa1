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
//! | with `--token`: no matching `Authorization: Bearer` | 401 with `WWW-Authenticate` |
//! | an `Origin` that is neither ours nor allowed by `--allow-origin` | 403 |
//! | `?event=` empty, with a line break, or over 64 bytes | 400 |
//! | no `Content-Length` | 411 |
//! | `Content-Length` over `--max-message-bytes` | 413, body not read |
//! | body not valid UTF-8 (event streams are UTF-8 text) | 400 |
//! | a new topic beyond `--max-topics` (alone; with `--redis` the log takes it, and this instance keeps no history of it) | 503 |
//! | with `--redis`: Redis did not take the message | 503 with `Retry-After` |
//!
//! The origin check stops cross-site request forgery: any web page can make a
//! visitor's browser send a `POST` here (a plain form needs no preflight), but the
//! browser always says which page sent it in `Origin`.

use std::time::Instant;

use log::debug;

use crate::auth::gate;
use crate::http::connection::Connection;
use crate::http::error::HttpError;
use crate::http::forwarded::ClientView;
use crate::http::request::Request;
use crate::http::response::{Response, Status};
use crate::pubsub::hub::{HubError, Published};
use crate::pubsub::missed::MISSED_EVENT;
use crate::pubsub::topic::{TopicName, topic_list};
use crate::routes::Reply;
use crate::shared::Shared;
use crate::sse::event::{self, Event};

/// The longest `?event=` type we accept, in bytes.
pub const MAX_EVENT_TYPE_BYTES: usize = 64;

/// Checks, reads and publishes one message.
pub fn handle<'s>(
    request: &Request,
    client: &ClientView,
    connection: &mut Connection,
    shared: &'s Shared,
) -> Result<Reply<'s>, HttpError> {
    let config = &shared.config;
    let topics = requested_topics(request)?;
    gate::check_publish(request, &topics, config)?;
    check_origin(request, client.scheme, &config.allowed_origins)?;
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
            let id = log
                .append(&topics, event_type.as_deref(), &text)
                .map_err(|error| {
                    HttpError::ServiceUnavailable(format!(
                        "the message was not published: Redis did not take it ({error})"
                    ))
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
            shared.hub.publish(&topics, message)?
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
    Ok(Reply::Response(Response::json(Status::Accepted, json)))
}

/// Allows requests without `Origin` (curl, scripts), from our own origin (the demo
/// page), and from origins listed with `--allow-origin`. Our own origin is `scheme`
/// (`https` when a trusted proxy says so, see `http/forwarded.rs`) and the `Host`.
fn check_origin(
    request: &Request,
    scheme: &str,
    allowed_origins: &[String],
) -> Result<(), HttpError> {
    let Some(origin) = request.header("origin") else {
        return Ok(());
    };
    let own_origin = request
        .header("host")
        .map(|host| format!("{scheme}://{host}"));
    let allowed = own_origin.as_deref() == Some(origin)
        || allowed_origins
            .iter()
            .any(|allowed| allowed == "*" || allowed == origin);
    if allowed {
        Ok(())
    } else {
        Err(HttpError::Forbidden(format!(
            "origin {origin} may not publish (see --allow-origin)"
        )))
    }
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
        }
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

    #[test]
    fn only_our_own_or_allowed_origins_may_publish() {
        let none: &[String] = &[];
        assert!(check_origin(&request(""), "http", none).is_ok());
        assert!(check_origin(&request("Origin: http://localhost:5000\r\n"), "http", none).is_ok());
        assert!(check_origin(&request("Origin: http://evil.test\r\n"), "http", none).is_err());
        assert!(check_origin(&request("Origin: null\r\n"), "http", none).is_err());
        let allowed = ["http://app.test".to_string()];
        assert!(check_origin(&request("Origin: http://app.test\r\n"), "http", &allowed).is_ok());
        assert!(
            check_origin(
                &request("Origin: http://evil.test\r\n"),
                "http",
                &["*".to_string()]
            )
            .is_ok()
        );
    }

    #[test]
    fn behind_https_our_own_origin_is_https() {
        let page = request("Origin: https://localhost:5000\r\n");
        assert!(check_origin(&page, "https", &[]).is_ok());
        assert!(check_origin(&page, "http", &[]).is_err());
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
