//! Which handler answers which request.
//!
//! | method            | path         | answer                                         |
//! |-------------------|--------------|------------------------------------------------|
//! | GET, HEAD         | `/`          | counter stream; the demo page if `Accept` asks for HTML |
//! | GET, HEAD         | `/events`    | clock stream                                   |
//! | GET, HEAD         | `/subscribe` | hub stream, replaying after `Last-Event-ID`    |
//! | POST              | `/publish`   | publish the body (see `publish.rs`)            |
//! | GET, HEAD         | `/stats`     | counters as JSON                               |
//! | OPTIONS           | any route, `*` | CORS preflight answer                        |
//!
//! Anything else: 404 for an unknown path, 405 with `Allow` for a known path with the
//! wrong method, 501 for a method HTTP does not define.

use crate::feeds::Feed;
use crate::publish;
use crate::request::{Connection, Request};
use crate::response::{HttpError, Response, Status};
use crate::server::Shared;

/// The demo page, compiled into the binary so the server needs no files at run time.
const DEMO_PAGE: &str = include_str!("../static/index.html");

/// Methods the stream and stats routes allow.
const READ_METHODS: &str = "GET, HEAD, OPTIONS";
/// Methods `/publish` allows.
const PUBLISH_METHODS: &str = "POST, OPTIONS";

/// Methods defined by RFC 9110; others get 501 rather than 405.
const STANDARD_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// What a route decided.
#[derive(Debug)]
pub enum Reply {
    /// An ordinary response with a length; the connection may carry another request.
    Response(Response),
    /// An event stream; the connection closes when it ends.
    Stream(Feed),
}

/// Answers `request`: with a response, or with the stream to run.
pub fn route(
    request: &Request,
    connection: &mut Connection,
    shared: &Shared,
) -> Result<Reply, HttpError> {
    let method = request.method.as_str();
    if !STANDARD_METHODS.contains(&method) {
        return Err(HttpError::NotImplemented(format!(
            "method {method} is not supported"
        )));
    }
    if request.path == "*" {
        // `OPTIONS *` asks about the server as a whole (RFC 9110 section 9.3.7).
        return Ok(Reply::Response(preflight("GET, HEAD, POST, OPTIONS")));
    }
    let allow = allowed_methods(&request.path).ok_or(HttpError::NotFound)?;
    let is_read = method == "GET" || method == "HEAD";
    match (method, request.path.as_str()) {
        ("OPTIONS", _) => Ok(Reply::Response(preflight(allow))),
        (_, "/") if is_read && accepts_html(request) => Ok(Reply::Response(
            // The same URL answers differently by Accept, so caches must key on it.
            Response::html(DEMO_PAGE).with_header("Vary", "Accept"),
        )),
        (_, "/") if is_read => counter(request, shared),
        (_, "/events") if is_read => Ok(Reply::Stream(Feed::Clock)),
        (_, "/subscribe") if is_read => Ok(Reply::Stream(Feed::Subscription {
            last_event_id: last_event_id(request),
        })),
        (_, "/stats") if is_read => {
            let json = shared.stats.to_json(shared.hub.snapshot());
            Ok(Reply::Response(
                Response::json(Status::Ok, json).with_header("Cache-Control", "no-store"),
            ))
        }
        ("POST", "/publish") => publish::handle(request, connection, shared),
        _ => Err(HttpError::MethodNotAllowed { allow }),
    }
}

/// The methods a known path allows, or `None` for an unknown path.
fn allowed_methods(path: &str) -> Option<&'static str> {
    match path {
        "/" | "/events" | "/subscribe" | "/stats" => Some(READ_METHODS),
        "/publish" => Some(PUBLISH_METHODS),
        _ => None,
    }
}

/// The counter stream, resumed after `Last-Event-ID`. When nothing is left to send we
/// answer 204: the spec says a browser then stops reconnecting for good (WHATWG HTML
/// 9.2.3, "fail the connection" on any status other than 200).
fn counter(request: &Request, shared: &Shared) -> Result<Reply, HttpError> {
    let resume_after = last_event_id(request).unwrap_or(0);
    if resume_after >= shared.config.count {
        return Ok(Reply::Response(Response::empty(Status::NoContent)));
    }
    Ok(Reply::Stream(Feed::Counter { resume_after }))
}

/// The `Last-Event-ID` a reconnecting browser sends back. A page opening a *new*
/// EventSource cannot set that header, so `?last_event_id=K` is accepted too (the
/// header wins). Our ids are numbers; any other value cannot be one of ours and is
/// ignored.
fn last_event_id(request: &Request) -> Option<u64> {
    let from_query = || request.query_param("last_event_id").ok().flatten();
    match request.header("last-event-id") {
        Some(header) => header.trim().parse().ok(),
        None => from_query()?.trim().parse().ok(),
    }
}

/// Whether the client prefers a page: browsers navigating to `/` send
/// `Accept: text/html,...`; `curl` sends `*/*` and `EventSource` `text/event-stream`.
fn accepts_html(request: &Request) -> bool {
    request
        .header("accept")
        .is_some_and(|accept| accept.contains("text/html"))
}

/// The answer to a CORS preflight: which methods and request headers a page on
/// another origin may use. (Publishing from another origin is still refused by
/// `publish.rs` unless `--allow-origin` names it.)
fn preflight(allow: &'static str) -> Response {
    Response::empty(Status::NoContent)
        .with_header("Allow", allow)
        .with_header("Access-Control-Allow-Methods", allow)
        .with_header(
            "Access-Control-Allow-Headers",
            "Authorization, Content-Type, Last-Event-ID",
        )
        .with_header("Access-Control-Max-Age", "86400")
}
