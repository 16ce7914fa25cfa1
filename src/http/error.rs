//! Every reason this server refuses a request.
//!
//! Each [`HttpError`] variant maps to exactly one status, and knows the headers that
//! status requires (`Allow` for 405, `WWW-Authenticate` for 401, `Retry-After` for
//! 503), so no handler can forget them.
//!
//! The client reads [`HttpError::detail`]; our log line reads the `Display` form, which
//! may say more: why Redis failed (`Connection refused (os error 111)`) describes our
//! network, is nothing a client can act on, and stays in our log.

use std::fmt;

use crate::http::response::{Response, Status};
use crate::jitter;

/// The range a 503's `Retry-After` is drawn from, in seconds.
pub const RETRY_AFTER_SECS: (u64, u64) = (1, 5);

/// A request we refuse, and why. Each variant maps to exactly one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// 400: the request breaks the syntax, or a value makes no sense.
    BadRequest(String),
    /// 401: no credentials, or credentials that are not valid (`token_sent` says
    /// which: RFC 6750 section 3.1 then adds `error="invalid_token"`).
    Unauthorized { reason: String, token_sent: bool },
    /// 403: valid credentials that do not allow this, or a page on another origin
    /// that tried to publish.
    Forbidden(String),
    /// 403 with `WWW-Authenticate: Bearer error="insufficient_scope"` (RFC 6750
    /// section 3.1): a valid token that does not grant this (Mercure's answer).
    InsufficientScope(String),
    /// 400 with `WWW-Authenticate: Bearer error="invalid_request"` (RFC 6750 section
    /// 3.1): the token was presented wrongly (in the URL, or not as `Bearer`).
    InvalidTokenRequest(String),
    /// 404: no route for this path.
    NotFound,
    /// 405: the path exists but not with this method; `allow` lists the methods it has.
    MethodNotAllowed { allow: String },
    /// 408: the head (or body) did not arrive before its deadline.
    RequestTimeout,
    /// 411: a body without `Content-Length`.
    LengthRequired,
    /// 413: the body is larger than the limit.
    PayloadTooLarge { limit: usize },
    /// 413: a part of the body is over its own limit (too many topics, a field too
    /// long); the text says which.
    PartTooLarge(String),
    /// 421: the `Host` names a host this server does not answer for (`host.rs`).
    MisdirectedRequest(String),
    /// 431: the head is too long or has too many lines.
    HeaderFieldsTooLarge(String),
    /// 501: a method or transfer coding we do not implement.
    NotImplemented(String),
    /// 503: the server is full (of clients, or of topics); the text says which.
    ServiceUnavailable(String),
    /// 503: a service we depend on (Redis) failed. `reason` is a plain sentence for the
    /// client; `cause`, the OS or Redis error, goes into our log line only.
    BackendFailed { reason: String, cause: String },
    /// 505: not HTTP/1.x.
    VersionNotSupported,
    /// Another refusal whose `WWW-Authenticate: Bearer` challenge also says where the
    /// resource's metadata is (RFC 9728 section 5.1, `resource_metadata`).
    WithResourceMetadata {
        error: Box<HttpError>,
        metadata_url: String,
    },
}

impl HttpError {
    /// The status this error is answered with.
    pub fn status(&self) -> Status {
        match self {
            HttpError::BadRequest(_) => Status::BadRequest,
            HttpError::Unauthorized { .. } => Status::Unauthorized,
            HttpError::Forbidden(_) | HttpError::InsufficientScope(_) => Status::Forbidden,
            HttpError::InvalidTokenRequest(_) => Status::BadRequest,
            HttpError::NotFound => Status::NotFound,
            HttpError::MethodNotAllowed { .. } => Status::MethodNotAllowed,
            HttpError::RequestTimeout => Status::RequestTimeout,
            HttpError::LengthRequired => Status::LengthRequired,
            HttpError::PayloadTooLarge { .. } | HttpError::PartTooLarge(_) => {
                Status::PayloadTooLarge
            }
            HttpError::MisdirectedRequest(_) => Status::MisdirectedRequest,
            HttpError::HeaderFieldsTooLarge(_) => Status::HeaderFieldsTooLarge,
            HttpError::NotImplemented(_) => Status::NotImplemented,
            HttpError::ServiceUnavailable(_) | HttpError::BackendFailed { .. } => {
                Status::ServiceUnavailable
            }
            HttpError::VersionNotSupported => Status::VersionNotSupported,
            HttpError::WithResourceMetadata { error, .. } => error.status(),
        }
    }

    /// The human-readable reason, for the log line and the response body.
    pub fn detail(&self) -> String {
        match self {
            HttpError::BadRequest(why)
            | HttpError::Forbidden(why)
            | HttpError::InsufficientScope(why)
            | HttpError::InvalidTokenRequest(why)
            | HttpError::PartTooLarge(why)
            | HttpError::HeaderFieldsTooLarge(why)
            | HttpError::MisdirectedRequest(why)
            | HttpError::NotImplemented(why)
            | HttpError::ServiceUnavailable(why)
            | HttpError::BackendFailed { reason: why, .. }
            | HttpError::Unauthorized { reason: why, .. } => why.clone(),
            HttpError::NotFound => "no such route".into(),
            HttpError::MethodNotAllowed { allow } => format!("this route allows {allow}"),
            HttpError::RequestTimeout => "the request did not arrive in time".into(),
            HttpError::LengthRequired => "a body needs a Content-Length header".into(),
            HttpError::PayloadTooLarge { limit } => format!("the body exceeds {limit} bytes"),
            HttpError::VersionNotSupported => "only HTTP/1.0 and HTTP/1.1 are served".into(),
            HttpError::WithResourceMetadata { error, .. } => error.detail(),
        }
    }

    /// The plain-text response for this error, with the headers its status requires.
    pub fn to_response(&self) -> Response {
        if let HttpError::WithResourceMetadata {
            error,
            metadata_url,
        } = self
        {
            let mut response = error.to_response();
            for (name, value) in &mut response.headers {
                if *name == "WWW-Authenticate" {
                    let parameter = format!("resource_metadata=\"{metadata_url}\"");
                    *value = match value.as_str() {
                        "Bearer" => format!("Bearer {parameter}"),
                        _ => format!("{value}, {parameter}"),
                    };
                }
            }
            return response;
        }
        let status = self.status();
        let response = Response::text(status, format!("{status}: {}\n", self.detail()));
        match self {
            // RFC 9110 section 15.5.6: a 405 MUST list the allowed methods.
            HttpError::MethodNotAllowed { allow } => response.with_header("Allow", allow.as_str()),
            // RFC 9110 section 11.6.1: a 401 MUST say which authentication scheme to
            // use; RFC 6750 section 3 adds why a token that was sent is not good.
            HttpError::Unauthorized { token_sent, .. } => {
                let challenge = if *token_sent {
                    "Bearer error=\"invalid_token\""
                } else {
                    "Bearer"
                };
                response.with_header("WWW-Authenticate", challenge)
            }
            HttpError::InsufficientScope(_) => {
                response.with_header("WWW-Authenticate", "Bearer error=\"insufficient_scope\"")
            }
            HttpError::InvalidTokenRequest(_) => {
                response.with_header("WWW-Authenticate", "Bearer error=\"invalid_request\"")
            }
            // When to come back, spread so that clients refused together do not
            // return together (jitter.rs).
            HttpError::ServiceUnavailable(_) | HttpError::BackendFailed { .. } => {
                let seconds = jitter::spread(RETRY_AFTER_SECS.0, RETRY_AFTER_SECS.1);
                response.with_header("Retry-After", seconds.to_string())
            }
            _ => response,
        }
    }
}

/// The log line's form: the status, the detail, and any cause kept from the client.
impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status(), self.detail())?;
        if let HttpError::BackendFailed { cause, .. } = self {
            write!(f, " ({cause})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_the_headers_their_status_requires() {
        let allow = HttpError::MethodNotAllowed {
            allow: "GET, HEAD, OPTIONS".into(),
        }
        .to_response();
        assert!(
            allow
                .headers
                .contains(&("Allow", "GET, HEAD, OPTIONS".to_string()))
        );
        let busy = HttpError::ServiceUnavailable("full".into()).to_response();
        let retry_after = busy
            .headers
            .iter()
            .find(|(name, _)| *name == "Retry-After")
            .map(|(_, value)| value.parse::<u64>().unwrap());
        assert!(retry_after.is_some_and(|secs| (1..=5).contains(&secs)));
        let no_token = HttpError::Unauthorized {
            reason: "a token is needed".into(),
            token_sent: false,
        };
        assert!(
            no_token
                .to_response()
                .headers
                .contains(&("WWW-Authenticate", "Bearer".to_string()))
        );
        let bad_token = HttpError::Unauthorized {
            reason: "the token has expired".into(),
            token_sent: true,
        };
        assert!(bad_token.to_response().headers.contains(&(
            "WWW-Authenticate",
            "Bearer error=\"invalid_token\"".to_string()
        )));
    }

    #[test]
    fn why_redis_failed_goes_to_the_log_and_not_to_the_client() {
        let failed = HttpError::BackendFailed {
            reason: "the message was not published".into(),
            cause: "Connection refused (os error 111)".into(),
        };
        let response = failed.to_response();
        assert_eq!(response.status, Status::ServiceUnavailable);
        assert!(
            response
                .headers
                .iter()
                .any(|(name, _)| *name == "Retry-After")
        );
        let body = &response.body;
        assert!(
            body.contains("not published") && !body.contains("os error"),
            "{body}"
        );
        assert!(
            failed
                .to_string()
                .contains("Connection refused (os error 111)")
        );
    }
}
