//! `GET /.well-known/mercure?match=...`: a subscriber's request (spec,
//! "Subscription", "Reconciliation").
//!
//! ```text
//! GET /.well-known/mercure?match=https%3A%2F%2Fexample.com%2Fbooks%2F1
//!     &match_urlpattern=https%3A%2F%2Fexample.com%2Fusers%2F%3Aid&last_event_id=urn%3Auuid%3A...
//! ```
//!
//! The query is read as `URLSearchParams` reads it (`form.rs`). Every parameter whose
//! name starts with `match`, in any case, is a matcher: `match` and `match_exact` are
//! exact, `match_urlpattern` a URL pattern; any other (`match_regexp`, `Match`,
//! `matches`) is a 400, so that a misspelled type fails loudly instead of subscribing
//! to nothing. At most [`MAX_MATCHERS`] of them.
//!
//! Where to resume: the `Last-Event-ID` header (a reconnecting `EventSource` sends
//! it), else the `last_event_id` parameter (a page opening a new one cannot set the
//! header). Issue 27 names `lastEventID` beside it; the spec (section
//! "Reconciliation") names only `last_event_id`, and the spec wins: `lastEventID`, the
//! name of earlier drafts that clients in the field still send, is read only when
//! `last_event_id` is absent.
//!
//! A subscriber needs no token: without one, it gets public updates only. A token
//! that is sent must be good (401 otherwise), and decides which private updates reach
//! it (`hub.rs`).

use std::net::IpAddr;

use crate::admission;
use crate::http::error::HttpError;
use crate::http::request::Request;
use crate::http::response::{Response, Status};
use crate::mercure::access;
use crate::mercure::form;
use crate::mercure::hub::Joining;
use crate::mercure::ids::random_urn;
use crate::mercure::index::{Owner, PatternLimits, PatternRefusal};
use crate::mercure::log as mercure_log;
use crate::mercure::matcher::{Matcher, MatcherType};
use crate::mercure::namespace::HubUrl;
use crate::mercure::stream::{LAST_EVENT_ID_HEADER, MercureStream};
use crate::shared::{Shared, StreamSlot};
use crate::sse::event::EVENT_STREAM;
use crate::sse::feeds::Feed;

/// The most matchers one subscribe may carry (spec: an implementation-defined limit).
pub const MAX_MATCHERS: usize = 64;
/// The reserved prefix of matcher parameter names.
const MATCH: &str = "match";

/// What a subscribe request asks for.
#[derive(Debug)]
pub struct Asked {
    pub matchers: Vec<Matcher>,
    pub last_event_id: Option<String>,
}

/// Reads the request: matchers and cursor (400 for anything the spec refuses).
pub fn read_request(request: &Request, hub: &HubUrl) -> Result<Asked, HttpError> {
    let pairs =
        form::parse(request.query.as_deref().unwrap_or_default()).map_err(HttpError::BadRequest)?;
    let mut matchers = Vec::new();
    let mut from_query = None;
    let mut old_name = None;
    for (name, value) in &pairs {
        if name == "last_event_id" && from_query.is_none() {
            from_query = Some(value.clone());
        }
        if name == "lastEventID" && old_name.is_none() {
            old_name = Some(value.clone());
        }
        if !name.to_ascii_lowercase().starts_with(MATCH) {
            continue;
        }
        let match_type = match name.strip_prefix(MATCH) {
            Some("") => Some(MatcherType::Exact),
            Some(suffix) => suffix.strip_prefix('_').and_then(MatcherType::from_name),
            None => None,
        }
        .ok_or_else(|| {
            HttpError::BadRequest(format!("{name:?} is not a matcher type this hub supports"))
        })?;
        if matchers.len() == MAX_MATCHERS {
            return Err(HttpError::BadRequest(format!(
                "more than {MAX_MATCHERS} matchers"
            )));
        }
        matchers.push(Matcher::parse(match_type, value, hub).map_err(HttpError::BadRequest)?);
    }
    if matchers.is_empty() {
        return Err(HttpError::BadRequest(
            "a subscription needs at least one match, match_exact or match_urlpattern".into(),
        ));
    }
    let header = request
        .header("last-event-id")
        .map(|id| id.trim().to_string());
    let last_event_id = header
        .or(from_query)
        .or(old_name)
        .filter(|id| !id.is_empty());
    Ok(Asked {
        matchers,
        last_event_id,
    })
}

/// What a subscribe is answered with: the stream, or for `HEAD`, its head alone
/// (without joining the hub: a `HEAD` is no subscriber, and announces none).
pub enum Subscribed<'s> {
    Stream(Feed<'s>, StreamSlot<'s>),
    Head(Response),
}

/// Checks the request and the token, takes a stream slot, and joins the hub.
pub fn handle<'s>(
    request: &Request,
    peer: IpAddr,
    shared: &'s Shared,
) -> Result<Subscribed<'s>, HttpError> {
    let hub = &shared.mercure;
    let asked = read_request(request, &hub.hub_url)?;
    let access =
        access::access_of(request, &shared.config, &hub.hub_url)?.map(|(access, _)| access);
    if request.method == "HEAD" {
        let mut head =
            Response::new(Status::Ok, EVENT_STREAM, "").with_header("Cache-Control", "no-store");
        if let Some(asked) = &asked.last_event_id {
            head = head.with_header(LAST_EVENT_ID_HEADER, hub.resume_point(asked));
        }
        return Ok(Subscribed::Head(head));
    }
    let slot = admission::admit_stream(shared, peer)?;
    let expires_at = access.as_ref().map(|access| access.expires_at);
    let settings = &shared.config.mercure;
    // Whose share of the distinct patterns this counts against: the token's subject
    // when there is one (an address may be a whole office behind one NAT), else the
    // client's address.
    let owner = match access.as_ref().and_then(|access| access.subject.clone()) {
        Some(subject) => Owner::Subject(subject),
        None => Owner::Address(peer),
    };
    let membership = hub
        .join(
            Joining {
                matchers: asked.matchers,
                owners: vec![owner],
                pattern_limits: PatternLimits {
                    total: settings.max_patterns,
                    per_address: settings.patterns_per_client,
                    per_subject: settings.patterns_per_subject,
                },
                announced: settings.subscriptions,
                access,
                last_event_id: asked.last_event_id,
            },
            random_urn(),
        )
        .map_err(refusal_error)?;
    let log = shared.log.as_ref();
    if let Some(log) = log
        && !membership.joined.is_empty()
    {
        mercure_log::announce(log, &membership.joined);
    }
    let stream = MercureStream {
        hub,
        membership,
        expires_at,
        log,
    };
    Ok(Subscribed::Stream(Feed::Chapter(Box::new(stream)), slot))
}

/// The 503 a join past the pattern caps gets (spec, "Resource Limits"), with the
/// `Retry-After` every 503 here carries: patterns are freed as subscribers leave.
fn refusal_error(refusal: PatternRefusal) -> HttpError {
    HttpError::ServiceUnavailable(match refusal {
        PatternRefusal::HubFull { limit } => {
            format!("the hub holds {limit} distinct URL patterns (--mercure-max-patterns)")
        }
        PatternRefusal::ShareFull {
            by_subject: false,
            limit,
        } => format!(
            "this client address follows {limit} distinct URL patterns (--mercure-patterns-per-client)"
        ),
        PatternRefusal::ShareFull {
            by_subject: true,
            limit,
        } => format!(
            "this token's subject follows {limit} distinct URL patterns (--mercure-patterns-per-subject)"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::head::parse_head;

    fn read(target: &str, headers: &str) -> Result<Asked, HttpError> {
        let request = parse_head(
            format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n{headers}\r\n").as_bytes(),
        )
        .unwrap();
        read_request(
            &request,
            &HubUrl::parse("https://localhost/.well-known/mercure").unwrap(),
        )
    }

    #[test]
    fn matchers_come_from_the_reserved_names_only() {
        let asked = read(
            "/.well-known/mercure?match=a&match_exact=b%20c&other=1&match=*",
            "",
        )
        .unwrap();
        let texts: Vec<&str> = asked
            .matchers
            .iter()
            .map(|matcher| matcher.text.as_str())
            .collect();
        assert_eq!(texts, ["a", "b c", "*"]);
        for bad in [
            "match_regexp=a",
            "Match=a",
            "match_Exact=a",
            "matches=a",
            "MATCH_EXACT=a",
            "match_=a",
            "match=a%0Ab",
            "match=%E2%80%AE",
            "match=%FF",
            "other=1",
            "",
        ] {
            assert!(
                read(&format!("/.well-known/mercure?{bad}"), "").is_err(),
                "{bad}"
            );
        }
        let too_many: Vec<String> = (0..=MAX_MATCHERS).map(|n| format!("match=t{n}")).collect();
        assert!(read(&format!("/?{}", too_many.join("&")), "").is_err());
    }

    #[test]
    fn the_header_wins_over_the_query_and_the_draft_name_over_the_old_one() {
        let both = read(
            "/?match=a&last_event_id=q&lastEventID=old",
            "Last-Event-ID: h\r\n",
        )
        .unwrap();
        assert_eq!(both.last_event_id.as_deref(), Some("h"));
        let query = read("/?match=a&lastEventID=old&last_event_id=q", "").unwrap();
        assert_eq!(query.last_event_id.as_deref(), Some("q"));
        let old = read("/?match=a&lastEventID=old", "").unwrap();
        assert_eq!(old.last_event_id.as_deref(), Some("old"));
        assert_eq!(read("/?match=a", "").unwrap().last_event_id, None);
    }
}
