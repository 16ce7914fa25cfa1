//! Which handler answers which request.
//!
//! Every route is one row of [`ROUTES`]: its path, its methods, and a line saying what
//! it serves. The router, the `Allow` header of a 405, the CORS preflight answer and
//! `--help` are all built from that table (and a test checks the README lists the same
//! routes), so adding a route is adding a row and a handler.
//!
//! Each route belongs to a [`Group`]: the demo routes can be turned off
//! (`--no-demo`), and the admin routes moved to a listener of their own
//! (`--admin-bind`); where a route is not served it is a 404, like an unknown path.
//!
//! Anything else: 404 for an unknown path, 405 with `Allow` for a known path with the
//! wrong method, 501 for a method HTTP does not define. `OPTIONS` on any route (or
//! `OPTIONS *`) gets the preflight answer.

use crate::admission;
use crate::auth::gate;
use crate::config::Config;
use crate::health;
use crate::http::connection::Connection;
use crate::http::error::HttpError;
use crate::http::forwarded::ClientView;
use crate::http::host;
use crate::http::request::Request;
use crate::http::response::{Response, Status};
use crate::mercure;
use crate::mercure::access::with_resource_metadata;
use crate::mercure::subscribe::Subscribed;
use crate::metrics;
use crate::pubsub::missed::Resume;
use crate::pubsub::publish;
use crate::shared::{Listener, Shared, StreamSlot};
use crate::sse::feeds::Feed;

/// The demo page, compiled into the binary so the server needs no files at run time.
const DEMO_PAGE: &str = include_str!("../static/index.html");
/// Methods defined by RFC 9110; others get 501 rather than 405.
const STANDARD_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// One route.
pub struct Route {
    pub path: &'static str,
    /// The methods it answers, besides `OPTIONS` (which every route answers).
    pub methods: &'static [&'static str],
    /// What it serves, for `--help` and the README.
    pub summary: &'static str,
    /// Which listener serves it, and whether `--no-demo` turns it off.
    pub group: Group,
    handler: Handler,
}

/// The kinds of route, each served where [`is_served`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// The demo streams and page: on the public listener, unless `--no-demo`.
    Demo,
    /// Topics (and the Mercure hub): always on the public listener.
    Topics,
    /// Counters and probes: on the public listener, or with `--admin-bind` on the
    /// admin listener only (so that a proxy passing every path cannot expose them).
    Admin,
}

#[derive(Clone, Copy)]
enum Handler {
    Counter,
    Clock,
    Subscribe,
    Publish,
    Stats,
    Metrics,
    Healthz,
    Readyz,
    Mercure,
    MercureSubscriptions,
    MercureMetadata,
}

const READ: &[&str] = &["GET", "HEAD"];

/// Every route this server has.
pub const ROUTES: &[Route] = &[
    Route {
        path: "/",
        methods: READ,
        summary: "demo stream: a counter (a browser gets the demo page)",
        group: Group::Demo,
        handler: Handler::Counter,
    },
    Route {
        path: "/events",
        methods: READ,
        summary: "demo stream: the clock, never ends",
        group: Group::Demo,
        handler: Handler::Clock,
    },
    Route {
        path: "/subscribe",
        methods: READ,
        summary: "messages of ?topic=NAME (repeatable); Last-Event-ID replays",
        group: Group::Topics,
        handler: Handler::Subscribe,
    },
    Route {
        path: "/publish",
        methods: &["POST"],
        summary: "publish the body to ?topic=NAME (repeatable), ?event=TYPE",
        group: Group::Topics,
        handler: Handler::Publish,
    },
    Route {
        path: "/stats",
        methods: READ,
        summary: "counters as JSON",
        group: Group::Admin,
        handler: Handler::Stats,
    },
    Route {
        path: "/metrics",
        methods: READ,
        summary: "counters in the Prometheus text format",
        group: Group::Admin,
        handler: Handler::Metrics,
    },
    Route {
        path: "/healthz",
        methods: READ,
        summary: "200 ok while the process serves",
        group: Group::Admin,
        handler: Handler::Healthz,
    },
    Route {
        path: "/readyz",
        methods: READ,
        summary: "200 when a new stream would be admitted, else 503 and why",
        group: Group::Admin,
        handler: Handler::Readyz,
    },
    Route {
        path: MERCURE_PATH,
        methods: &["GET", "HEAD", "POST"],
        summary: "the Mercure hub: subscribe with ?match=TOPIC, publish a form",
        group: Group::Topics,
        handler: Handler::Mercure,
    },
    Route {
        path: MERCURE_SUBSCRIPTIONS_PATH,
        methods: READ,
        summary: "Mercure's active subscriptions (and /{match_type}/{match}[/{subscriber}]), with --mercure-subscriptions",
        group: Group::Topics,
        handler: Handler::MercureSubscriptions,
    },
    Route {
        path: "/.well-known/oauth-protected-resource/.well-known/mercure",
        methods: READ,
        summary: "the Mercure hub's protected resource metadata (RFC 9728)",
        group: Group::Topics,
        handler: Handler::MercureMetadata,
    },
];

/// The Mercure hub's path (`mercure/`), and the subscriptions API's, which also
/// answers every path below it.
pub const MERCURE_PATH: &str = "/.well-known/mercure";
const MERCURE_SUBSCRIPTIONS_PATH: &str = "/.well-known/mercure/subscriptions";

/// Paths asked for again and again by machines (probes, scrapers): their connections
/// are logged at `debug`, not `info`, so they do not drown the log.
pub const QUIET_PATHS: &[&str] = &["/metrics", "/healthz", "/readyz"];

/// What a route decided.
pub enum Reply<'hub> {
    /// An ordinary response with a length; the connection may carry another request.
    Response(Response),
    /// An event stream, and the stream slot it holds until it ends; the connection
    /// closes when it ends.
    Stream(Feed<'hub>, StreamSlot<'hub>),
}

/// Answers `request`: with a response, or with the stream to run.
pub fn route<'s>(
    request: &Request,
    client: &ClientView,
    listener: Listener,
    connection: &mut Connection,
    shared: &'s Shared,
) -> Result<Reply<'s>, HttpError> {
    // Before anything is answered: a DNS-rebinding page names its own host.
    host::check_host(request, &shared.config)?;
    let method = request.method.as_str();
    if !STANDARD_METHODS.contains(&method) {
        return Err(HttpError::NotImplemented(format!(
            "method {method} is not supported"
        )));
    }
    if request.path == "*" && method == "OPTIONS" {
        // `OPTIONS *` asks about the server as a whole (RFC 9110 section 9.3.7).
        return Ok(Reply::Response(preflight(&allow_header(&[
            "GET", "HEAD", "POST",
        ]))));
    }
    // Everything below the subscriptions API's path is its (one row for the tree).
    let below_subscriptions = request
        .path
        .strip_prefix(MERCURE_SUBSCRIPTIONS_PATH)
        .is_some_and(|rest| rest.starts_with('/'));
    let path = if below_subscriptions {
        MERCURE_SUBSCRIPTIONS_PATH
    } else {
        request.path.as_str()
    };
    // A route not served on this listener is as unknown as one that does not exist.
    let route = ROUTES
        .iter()
        .find(|route| route.path == path)
        .filter(|route| is_served(route.group, listener, &shared.config))
        .ok_or(HttpError::NotFound)?;
    let allow = allow_header(route.methods);
    if method == "OPTIONS" {
        return Ok(Reply::Response(preflight(&allow)));
    }
    if !route.methods.contains(&method) {
        return Err(HttpError::MethodNotAllowed { allow });
    }
    match route.handler {
        // A subscriber's thread keeps the pages its deepest moment touched (the hub's
        // insert, under this call) for as long as it streams: the other routes' locals
        // are in `answer`'s frame, not under it (tests/stack_budget.rs).
        Handler::Subscribe => subscribe(request, client, shared),
        handler => answer(handler, request, client, connection, shared),
    }
}

/// Answers a request for a route other than `GET /subscribe`.
#[inline(never)]
fn answer<'s>(
    handler: Handler,
    request: &Request,
    client: &ClientView,
    connection: &mut Connection,
    shared: &'s Shared,
) -> Result<Reply<'s>, HttpError> {
    let method = request.method.as_str();
    match handler {
        Handler::Counter if accepts_html(request) => Ok(Reply::Response(
            // The same URL answers differently by Accept, so caches must key on it.
            Response::html(DEMO_PAGE).with_header("Vary", "Accept"),
        )),
        Handler::Counter => counter(request, client, shared),
        Handler::Clock => Ok(Reply::Stream(
            Feed::Clock,
            admission::admit_stream(shared, client.peer)?,
        )),
        Handler::Subscribe => subscribe(request, client, shared),
        Handler::Publish => {
            let answer = publish::handle(request, client, connection, shared);
            let status = match &answer {
                Ok(response) => response.status,
                Err(error) => error.status(),
            };
            shared.stats.count_publish(status.code());
            answer.map(Reply::Response)
        }
        Handler::Stats => {
            let redis = shared.log.as_ref().map(|log| log.status.to_json());
            let json = shared.stats.to_json(shared.hub.snapshot(), redis);
            Ok(Reply::Response(
                Response::json(Status::Ok, json).with_header("Cache-Control", "no-store"),
            ))
        }
        Handler::Metrics => Ok(Reply::Response(
            Response::new(Status::Ok, metrics::CONTENT_TYPE, metrics::render(shared))
                .with_header("Cache-Control", "no-store"),
        )),
        Handler::Healthz => Ok(Reply::Response(health::liveness(shared))),
        Handler::Readyz => Ok(Reply::Response(health::readiness_response(shared))),
        Handler::Mercure if method == "POST" => {
            mercure::publish::handle(request, client, connection, shared)
                .map(Reply::Response)
                .map_err(|error| with_resource_metadata(error, &shared.config))
        }
        Handler::Mercure => match mercure::subscribe::handle(request, client.peer, shared)
            .map_err(|error| with_resource_metadata(error, &shared.config))?
        {
            Subscribed::Stream(feed, slot) => Ok(Reply::Stream(feed, slot)),
            Subscribed::Head(response) => Ok(Reply::Response(response)),
        },
        Handler::MercureMetadata => Ok(Reply::Response(
            Response::json(
                Status::Ok,
                mercure::metadata::document(&shared.config.mercure),
            )
            .with_header("Cache-Control", "max-age=3600"),
        )),
        Handler::MercureSubscriptions => Ok(Reply::Response(
            mercure::subscriptions_api::handle(request, &shared.mercure, &shared.config)
                .map_err(|error| with_resource_metadata(error, &shared.config))?,
        )),
    }
}

/// `GET /subscribe`: checks the topics and the token, takes a stream slot, and
/// registers the subscription in the hub.
#[inline(never)]
fn subscribe<'s>(
    request: &Request,
    client: &ClientView,
    shared: &'s Shared,
) -> Result<Reply<'s>, HttpError> {
    let topics = publish::requested_topics(request)?;
    let (valid_until, subject) = gate::check_subscribe_as(request, &topics, &shared.config)?;
    // A place first: a subscriber that waits for one must not be in the hub yet.
    let slot = admission::admit_stream(shared, client.peer)?;
    // Registered now, before the stream's head is written (see sse/feeds.rs).
    let last_event_id = last_event_id(request).filter(|id| !id.is_empty());
    let resume = Resume::from_header(last_event_id.as_deref());
    // Without a token (only `--public` topics), a client may create topics in
    // half of `--max-topics` only: the rest is kept for token holders. (A topic
    // cap refused is a 503, which an EventSource gets as a reconnect hint.)
    let anonymous = shared.config.auth_secret.is_some() && valid_until.is_none();
    // A token holder owns the topics it creates, within its share (`owners.rs`).
    let subscription = if anonymous {
        shared.hub.subscribe_anonymously(topics, resume)?
    } else {
        shared
            .hub
            .subscribe_as(&subject, topics, resume)
            .inspect_err(|error| publish::count_share_refusal(error, shared))?
    };
    Ok(Reply::Stream(
        Feed::Subscription {
            subscription,
            valid_until,
            last_event_id,
        },
        slot,
    ))
}

/// Whether routes of `group` are served on `listener`.
pub fn is_served(group: Group, listener: Listener, config: &Config) -> bool {
    let admin_apart = config.admin_bind.is_some();
    match (group, listener) {
        (Group::Demo, Listener::Public) => config.demo,
        (Group::Topics, Listener::Public) => true,
        (Group::Admin, Listener::Public) => !admin_apart,
        (Group::Admin, Listener::Admin) => true,
        (Group::Demo | Group::Topics, Listener::Admin) => false,
    }
}

/// `Allow` for a route: its methods, and `OPTIONS`.
fn allow_header(methods: &[&str]) -> String {
    let mut allow = methods.join(", ");
    allow.push_str(", OPTIONS");
    allow
}

/// The counter stream, resumed after `Last-Event-ID`. When nothing is left to send we
/// answer 204: the spec says a browser then stops reconnecting for good (WHATWG HTML
/// 9.2.3, "fail the connection" on any status other than 200).
fn counter<'s>(
    request: &Request,
    client: &ClientView,
    shared: &'s Shared,
) -> Result<Reply<'s>, HttpError> {
    let resume_after = last_event_id(request)
        .and_then(|id| id.parse().ok())
        .unwrap_or(0);
    if resume_after >= shared.config.count {
        return Ok(Reply::Response(Response::empty(Status::NoContent)));
    }
    let slot = admission::admit_stream(shared, client.peer)?;
    Ok(Reply::Stream(Feed::Counter { resume_after }, slot))
}

/// The `Last-Event-ID` a reconnecting browser sends back. A page opening a *new*
/// EventSource cannot set that header, so `?last_event_id=K` is accepted too (the
/// header wins). A value that is not one of our ids is ignored by the counter, and
/// told `missed` by a subscription (see `pubsub/missed.rs`).
fn last_event_id(request: &Request) -> Option<String> {
    let from_query = || request.query_param("last_event_id").ok().flatten();
    match request.header("last-event-id") {
        Some(header) => Some(header.trim().to_string()),
        None => Some(from_query()?.trim().to_string()),
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
fn preflight(allow: &str) -> Response {
    Response::empty(Status::NoContent)
        .with_header("Allow", allow)
        .with_header("Access-Control-Allow-Methods", allow)
        .with_header(
            "Access-Control-Allow-Headers",
            "Authorization, Content-Type, Last-Event-ID",
        )
        .with_header("Access-Control-Max-Age", "86400")
}
