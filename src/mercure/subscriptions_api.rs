//! `GET /.well-known/mercure/subscriptions[/{match_type}/{match}[/{subscriber}]]`:
//! who follows what, now (spec, "Subscription API").
//!
//! A page gets presence from it: read the collection once, then follow the
//! subscription events (`match_urlpattern=/.well-known/mercure/subscriptions/{*}`
//! and so on) from the cursor this answer gives, so that nothing falls between:
//!
//! ```text
//! HTTP/1.1 200 OK
//! Content-Type: application/json
//! Link: <https://localhost/.well-known/mercure>; rel="mercure"; last-event-id="urn:uuid:..."; type="mercure"; content-type="application/json"
//!
//! {"id":"/.well-known/mercure/subscriptions","type":"subscriptions","subscriptions":[...]}
//! ```
//!
//! Access needs a token granting `subscribe` on the requested path itself, in the
//! canonical form subscription events use (401 without a token, 403 without the
//! grant). A single subscription that does not exist (or has ended) is a 404. The
//! whole API is a 404 unless the hub was started with `--mercure-subscriptions`.

use crate::config::Config;
use crate::http::error::HttpError;
use crate::http::request::Request;
use crate::http::response::{Response, Status};
use crate::mercure::access;
use crate::mercure::form::encode_component;
use crate::mercure::hub::MercureHub;
use crate::mercure::matcher::MatcherType;
use crate::mercure::subscriptions::{self, SUBSCRIPTIONS, SubscriptionDoc};
use crate::mercure::update::EARLIEST;

/// Which documents a path asks for.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    All,
    OfMatcher {
        match_type: MatcherType,
        matcher: String,
    },
    One {
        match_type: MatcherType,
        matcher: String,
        subscriber: String,
    },
}

/// Answers a GET or HEAD under the subscriptions path.
pub fn handle(request: &Request, hub: &MercureHub, config: &Config) -> Result<Response, HttpError> {
    // An optional feature (spec, "Active Subscriptions"), off unless asked for: without
    // it, no subscription is listed anywhere, so there is no API to answer from.
    if !config.mercure.subscriptions {
        return Err(HttpError::NotFound);
    }
    let prefix = format!("{}/{SUBSCRIPTIONS}", hub.hub_url.path);
    let wanted = read_path(&request.path, &prefix).ok_or(HttpError::NotFound)?;
    let topic = match &wanted {
        Wanted::All => prefix.clone(),
        Wanted::OfMatcher {
            match_type,
            matcher,
        } => subscriptions::collection_topic(&hub.hub_url, Some((match_type.name(), matcher))),
        Wanted::One {
            match_type,
            matcher,
            subscriber,
        } => format!(
            "{}/{}",
            subscriptions::collection_topic(&hub.hub_url, Some((match_type.name(), matcher))),
            encode_component(subscriber)
        ),
    };
    let Some((access, _)) = access::access_of(request, config, &hub.hub_url)? else {
        return Err(access::token_needed("the subscriptions API"));
    };
    if !access.may_read_any(std::slice::from_ref(&topic)) {
        return Err(HttpError::InsufficientScope(format!(
            "the token does not grant subscribe on {topic}"
        )));
    }
    let (all, last_id) = hub.subscriptions();
    let selected: Vec<SubscriptionDoc> = all
        .into_iter()
        .filter(|doc| match &wanted {
            Wanted::All => true,
            Wanted::OfMatcher {
                match_type,
                matcher,
            } => doc.match_type == match_type.name() && &doc.matcher == matcher,
            Wanted::One {
                match_type,
                matcher,
                subscriber,
            } => {
                doc.match_type == match_type.name()
                    && &doc.matcher == matcher
                    && &doc.subscriber == subscriber
            }
        })
        .collect();
    let body = match wanted {
        Wanted::One { .. } => selected
            .first()
            .ok_or(HttpError::NotFound)?
            .to_json(&hub.hub_url),
        _ => subscriptions::collection_json(&topic, &selected, &hub.hub_url),
    };
    let cursor = last_id.unwrap_or_else(|| EARLIEST.to_string());
    let link = format!(
        "<{}>; rel=\"mercure\"; last-event-id={}; type=\"mercure\"; content-type=\"application/json\"",
        hub.hub_url.url,
        quoted_string(&cursor)
    );
    Ok(Response::json(Status::Ok, body)
        .with_header("Link", link)
        .with_header("Cache-Control", "must-revalidate")
        // A page on another origin reads the cursor from `Link` (spec: MUST expose it).
        .with_header("Access-Control-Expose-Headers", "Link"))
}

/// The documents a path names, or `None` for a path that names none.
fn read_path(path: &str, prefix: &str) -> Option<Wanted> {
    let rest = path.strip_prefix(prefix)?;
    if rest.is_empty() {
        return Some(Wanted::All);
    }
    let segments: Vec<String> = rest
        .strip_prefix('/')?
        .split('/')
        .map(decode_segment)
        .collect::<Option<Vec<String>>>()?;
    let match_type = MatcherType::from_name(segments.first()?)?;
    match &segments[1..] {
        [matcher] => Some(Wanted::OfMatcher {
            match_type,
            matcher: matcher.clone(),
        }),
        [matcher, subscriber] => Some(Wanted::One {
            match_type,
            matcher: matcher.clone(),
            subscriber: subscriber.clone(),
        }),
        _ => None,
    }
}

/// A path segment's `%XX` decoded (a `+` stays a `+` in a path).
fn decode_segment(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = segment.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// An RFC 9110 quoted-string (section 5.6.4): `"` and `\` escaped.
fn quoted_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "/.well-known/mercure/subscriptions";

    #[test]
    fn paths_name_the_documents() {
        assert_eq!(read_path(PREFIX, PREFIX), Some(Wanted::All));
        assert_eq!(
            read_path(&format!("{PREFIX}/exact/https%3A%2F%2Fa%2Fb+c"), PREFIX),
            Some(Wanted::OfMatcher {
                match_type: MatcherType::Exact,
                matcher: "https://a/b+c".into()
            })
        );
        assert_eq!(
            read_path(&format!("{PREFIX}/urlpattern/%3Aid/urn%3Auuid%3A1"), PREFIX),
            Some(Wanted::One {
                match_type: MatcherType::UrlPattern,
                matcher: ":id".into(),
                subscriber: "urn:uuid:1".into()
            })
        );
        for bad in ["/regexp/a", "/exact", "/exact/a/b/c", "/exact/%zz", "x"] {
            assert_eq!(read_path(&format!("{PREFIX}{bad}"), PREFIX), None, "{bad}");
        }
    }
}
