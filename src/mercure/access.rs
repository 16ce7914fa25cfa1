//! Where a Mercure request's token is, and what a missing or bad one is answered
//! (spec, "Presenting the Access Token", "Error Responses"; RFC 6750).
//!
//! | the request carries | we use |
//! |---|---|
//! | `Authorization: Bearer <token>` (scheme in any case) | that token; any cookie is ignored |
//! | no `Authorization`, the cookie (`--mercure-cookie`) | the cookie |
//! | `Authorization` with another scheme, or `?access_token=` | 400, `error="invalid_request"` |
//! | nothing | no token |
//!
//! A token in the URL is refused outright, not ignored: URLs end up in logs and
//! histories (RFC 9700), and a client that sends one should learn it does not work.
//!
//! | the token | answer |
//! |---|---|
//! | needed and absent | 401, `WWW-Authenticate: Bearer` (no error code) |
//! | fails any check of `token.rs` | 401, `error="invalid_token"`; the reason goes to the debug log only |
//! | valid, does not grant the operation | 403, `error="insufficient_scope"` (in `publish.rs`, `subscriptions_api.rs`) |

use std::sync::Arc;

use log::debug;

use crate::auth::gate::unix_now;
use crate::config::Config;
use crate::http::error::HttpError;
use crate::http::request::Request;
use crate::mercure::form;
use crate::mercure::metadata::metadata_url;
use crate::mercure::namespace::HubUrl;
use crate::mercure::token::{self, Access, TokenRules};

/// The RFC 6750 query parameter this hub does not accept.
const ACCESS_TOKEN_PARAMETER: &str = "access_token";

/// Where the token came from: a cookie is sent by the browser unasked, so a publish
/// carried by one needs its page checked (`publish.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    Header,
    Cookie,
}

/// The request's verified token and where it was, or `None` when it carries none.
pub fn access_of(
    request: &Request,
    config: &Config,
    hub: &HubUrl,
) -> Result<Option<(Arc<Access>, Carrier)>, HttpError> {
    let Some((token, carrier)) = presented_token(request, &config.mercure.cookie)? else {
        return Ok(None);
    };
    let invalid = |why: String| {
        debug!("Mercure token refused: {why}");
        HttpError::Unauthorized {
            reason: "the access token is not valid for this hub".into(),
            token_sent: true,
        }
    };
    let key = config
        .mercure
        .key
        .as_ref()
        .or(config.auth_secret.as_ref())
        .ok_or_else(|| invalid("no --mercure-key is configured".into()))?;
    let rules = TokenRules {
        key: key.expose().as_bytes(),
        issuer: &config.mercure.issuer,
        resource: &config.mercure.resource,
        hub,
    };
    let access = token::verify(&token, &rules, unix_now()).map_err(invalid)?;
    Ok(Some((Arc::new(access), carrier)))
}

/// The 401 for an operation that needs a token and got none.
pub fn token_needed(what: &str) -> HttpError {
    HttpError::Unauthorized {
        reason: format!("{what} needs an access token"),
        token_sent: false,
    }
}

/// `error` with `resource_metadata` in its `WWW-Authenticate: Bearer` challenge, when it
/// has one (spec, "Error Responses": every 401 and 403, so a client can discover what
/// token to get). Other refusals pass unchanged.
pub fn with_resource_metadata(error: HttpError, config: &Config) -> HttpError {
    match error {
        HttpError::Unauthorized { .. }
        | HttpError::InsufficientScope(_)
        | HttpError::InvalidTokenRequest(_) => HttpError::WithResourceMetadata {
            error: Box::new(error),
            metadata_url: metadata_url(&config.mercure.resource),
        },
        other => other,
    }
}

/// The token as presented (table above).
fn presented_token(
    request: &Request,
    cookie: &str,
) -> Result<Option<(String, Carrier)>, HttpError> {
    // Read as the subscribe parameters are (`%61ccess_token` is `access_token`).
    let in_url = form::parse(request.query.as_deref().unwrap_or_default())
        .is_ok_and(|pairs| pairs.iter().any(|(name, _)| name == ACCESS_TOKEN_PARAMETER));
    if in_url {
        return Err(HttpError::InvalidTokenRequest(
            "this hub takes no token in the URL; send Authorization: Bearer, or the cookie".into(),
        ));
    }
    if let Some(authorization) = request.header("authorization") {
        return match authorization.trim().split_once(' ') {
            Some((scheme, token))
                if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
            {
                Ok(Some((token.trim().to_string(), Carrier::Header)))
            }
            _ => Err(HttpError::InvalidTokenRequest(
                "Authorization must be Bearer followed by the token".into(),
            )),
        };
    }
    Ok(request
        .cookie(cookie)
        .filter(|token| !token.is_empty())
        .map(|token| (token.to_string(), Carrier::Cookie)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::head::parse_head;

    fn request(target: &str, headers: &str) -> Request {
        parse_head(format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n{headers}\r\n").as_bytes())
            .unwrap()
    }

    #[test]
    fn the_header_wins_over_the_cookie_and_the_url_is_refused() {
        let both = request("/", "Authorization: bearer abc\r\nCookie: c=def\r\n");
        assert_eq!(
            presented_token(&both, "c").unwrap(),
            Some(("abc".into(), Carrier::Header))
        );
        let cookie = request("/", "Cookie: x=1; c=def\r\n");
        assert_eq!(
            presented_token(&cookie, "c").unwrap(),
            Some(("def".into(), Carrier::Cookie))
        );
        assert_eq!(presented_token(&request("/", ""), "c").unwrap(), None);
        for query in ["match=a&access_token=abc", "%61ccess_token=abc"] {
            let in_url = request(&format!("/?{query}"), "");
            assert!(matches!(
                presented_token(&in_url, "c"),
                Err(HttpError::InvalidTokenRequest(_))
            ));
        }
        let basic = request("/", "Authorization: Basic YTpi\r\n");
        assert!(matches!(
            presented_token(&basic, "c"),
            Err(HttpError::InvalidTokenRequest(_))
        ));
    }
}
