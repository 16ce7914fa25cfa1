//! `POST /.well-known/mercure`: a publisher's update (spec, "Publication",
//! "Publishers").
//!
//! The checks, cheapest first; the body is read only once the token is known good:
//!
//! | check | status |
//! |---|---|
//! | no token / a bad one / a token in the URL (`access.rs`) | 401 / 401 `invalid_token` / 400 `invalid_request` |
//! | a token from the cookie, and no `Origin` or `Referer` of ours or of an `--allow-origin` page | 403 |
//! | no `Content-Length` / over `--max-message-bytes` | 411 / 413 |
//! | not `application/x-www-form-urlencoded`, or not UTF-8 | 400 |
//! | the form's own rules (`update.rs`) | 400, 413 |
//! | a topic the token does not grant `publish` on | 403 `insufficient_scope`, nothing dispatched |
//! | with `--redis`: Redis did not take the update | 503 with `Retry-After` |
//!
//! and the answer is `200 text/plain; charset=utf-8` whose body is the update's id.
//!
//! The cookie check is the spec's defence against cross-site request forgery (Security
//! Considerations): any page can make a visitor's browser post a form here, and the
//! browser attaches the visitor's cookie. The browser also says which page sent it.

use std::time::Instant;

use log::debug;

use crate::http::connection::Connection;
use crate::http::error::HttpError;
use crate::http::forwarded::ClientView;
use crate::http::request::Request;
use crate::http::response::{Response, Status};
use crate::mercure::access::{self, Carrier};
use crate::mercure::ids::random_urn;
use crate::mercure::log as mercure_log;
use crate::mercure::update::{self, FormError, Update};
use crate::shared::Shared;

/// The media type of a publish body.
const FORM: &str = "application/x-www-form-urlencoded";

/// Checks, reads and dispatches one update; answers with its id.
pub fn handle(
    request: &Request,
    client: &ClientView,
    connection: &mut Connection,
    shared: &Shared,
) -> Result<Response, HttpError> {
    let config = &shared.config;
    let hub = &shared.mercure;
    let Some((access, carrier)) = access::access_of(request, config, &hub.hub_url)? else {
        return Err(access::token_needed("publishing"));
    };
    if carrier == Carrier::Cookie {
        check_page(request, client.scheme, &config.allowed_origins)?;
    }
    let length = request.content_length.ok_or(HttpError::LengthRequired)?;
    if length > config.max_message_bytes as u64 {
        return Err(HttpError::PayloadTooLarge {
            limit: config.max_message_bytes,
        });
    }
    let media_type = request
        .header("content-type")
        .and_then(|value| value.split(';').next())
        .map(str::trim);
    if !media_type.is_some_and(|media_type| media_type.eq_ignore_ascii_case(FORM)) {
        return Err(HttpError::BadRequest(format!(
            "a publish body must be {FORM}"
        )));
    }
    let body = connection.read_body(Instant::now() + config.head_timeout)?;
    let body = String::from_utf8(body)
        .map_err(|_| HttpError::BadRequest("the body is not valid UTF-8".into()))?;
    let form = update::read_form(&body, &hub.hub_url).map_err(|error| match error {
        FormError::Invalid(why) => HttpError::BadRequest(why),
        FormError::TooLarge(why) => HttpError::PartTooLarge(why),
    })?;
    if let Some(topic) = form.topics.iter().find(|topic| !access.may_publish(topic)) {
        return Err(HttpError::InsufficientScope(format!(
            "the token does not grant publish on topic {topic:?}"
        )));
    }
    // A supplied id that is held, or was lately, is replaced (`History::is_taken`); the
    // answer's body tells the publisher which id its update got.
    let id = match form.id.clone() {
        Some(id) if !hub.id_is_taken(&id) => id,
        Some(taken) => {
            debug!("Mercure update: the supplied id {taken:?} is taken; a new one is generated");
            random_urn()
        }
        None => random_urn(),
    };
    match &shared.log {
        // With --redis, the update is published once Redis holds it; every instance's
        // tail, this one's included, dispatches it (`log.rs`).
        Some(log) => mercure_log::append(log, &form, &id).map_err(|error| HttpError::BackendFailed {
            reason: "the update was not published: the shared log is not available; try again shortly"
                .into(),
            cause: format!("Redis did not take it: {error}"),
        })?,
        None => {
            hub.publish(Update::new(&form, id.clone()));
        }
    }
    debug!("Mercure update {id} published to {:?}", form.topics);
    Ok(Response::text(Status::Ok, id).with_header("Cache-Control", "no-store"))
}

/// A cookie-carried publish must come from a page we trust: our own origin, or one
/// `--allow-origin` names. Without `Origin` and `Referer` we cannot tell, so no.
fn check_page(
    request: &Request,
    scheme: &str,
    allowed_origins: &[String],
) -> Result<(), HttpError> {
    let page = request
        .header("origin")
        .map(str::to_string)
        .or_else(|| request.header("referer").and_then(origin_of));
    let own = request
        .header("host")
        .map(|host| format!("{scheme}://{host}"));
    let trusted = page.as_ref().is_some_and(|page| {
        own.as_ref() == Some(page)
            || allowed_origins
                .iter()
                .any(|allowed| allowed != "*" && allowed == page)
    });
    if trusted {
        return Ok(());
    }
    Err(HttpError::Forbidden(format!(
        "a publish authorized by the cookie must come from this site's own pages (page: {})",
        page.as_deref().unwrap_or("unknown")
    )))
}

/// `https://host:port` of a `Referer` URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    Some(format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::head::parse_head;

    fn request(headers: &str) -> Request {
        parse_head(
            format!("POST /.well-known/mercure HTTP/1.1\r\nHost: localhost:5000\r\n{headers}\r\n")
                .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn a_cookie_publish_needs_a_page_we_trust() {
        let allowed = vec!["https://app.test".to_string(), "*".to_string()];
        let ok = |headers: &str| check_page(&request(headers), "http", &allowed).is_ok();
        assert!(ok("Origin: http://localhost:5000\r\n"));
        assert!(ok("Origin: https://app.test\r\n"));
        assert!(ok("Referer: http://localhost:5000/page?x\r\n"));
        assert!(!ok(""), "no Origin, no Referer");
        assert!(!ok("Origin: https://evil.test\r\n"), "* names no page");
        assert!(!ok("Referer: https://evil.test/x\r\n"));
    }
}
