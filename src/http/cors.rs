//! Which web pages on other origins may read our answers: the CORS headers (WHATWG
//! Fetch, "CORS protocol").
//!
//! A browser lets a page read a response from another origin only if the response
//! says so. Two cases:
//!
//! - **Anyone, without credentials**: `Access-Control-Allow-Origin: *`. The demo
//!   streams, public topics and `/stats` are for everyone, and the browser sends no
//!   cookies with such requests.
//! - **Listed origins, with credentials**: a page on an origin named by
//!   `--allow-origin` may follow private topics with its user's `sse_token` cookie
//!   (`new EventSource(url, { withCredentials: true })`). The browser requires the
//!   exact origin echoed back, `Access-Control-Allow-Credentials: true`, and since the
//!   answer now depends on `Origin`, caches are told so with `Vary: Origin`.
//!
//! A request that carries a cookie from a page on an origin not listed gets no
//! `Access-Control-Allow-Origin` at all: never `*` (a browser would refuse to read it
//! anyway, and the Mercure spec's "Subscription" section forbids sending `*` or an
//! unlisted origin to a credentialed request).
//!
//! `--allow-origin '*'` lets any page *publish* (see `pubsub/publish.rs`), with a token
//! the page sends itself, never with the visitor's `sse_token` cookie (`auth/gate.rs`);
//! and it never lets a page read with credentials: echoing every origin with
//! credentials would let any site read a visitor's private streams.

use crate::http::request::Request;

/// Headers to add to a response.
pub type Headers = Vec<(&'static str, String)>;

/// The CORS headers the answer to `request` needs beyond the default
/// `Access-Control-Allow-Origin: *` (which `response.rs` adds to every answer that has
/// no other): none at all unless `--allow-origin` lists an origin.
pub fn headers_for(request: &Request, allowed_origins: &[String]) -> Headers {
    let mut listed_origins = allowed_origins.iter().filter(|allowed| *allowed != "*");
    let origin = request.header("origin");
    let listed = origin.filter(|origin| listed_origins.clone().any(|allowed| allowed == origin));
    let mut headers = Headers::new();
    if let Some(origin) = listed {
        headers.push(("Access-Control-Allow-Origin", origin.to_string()));
        headers.push(("Access-Control-Allow-Credentials", "true".to_string()));
    } else if origin.is_some() && request.header("cookie").is_some() {
        headers.push(("Access-Control-Allow-Origin", NO_ORIGIN.to_string()));
    }
    if listed_origins.next().is_some() || !headers.is_empty() {
        headers.push(("Vary", "Origin".to_string()));
    }
    headers
}

/// An `Access-Control-Allow-Origin` with no value: `response.rs` writes none at all
/// (not even its default `*`).
pub const NO_ORIGIN: &str = "";

/// Checks one `--allow-origin` value: `*`, or an origin as a browser sends it in
/// `Origin`, `scheme://host[:port]` with no path (RFC 6454 section 6.2). The header is
/// compared as a string, so `example.com` (no scheme) or `https://example.com/` (a
/// path) would match no browser's `Origin` and silently allow nothing.
pub fn parse_allowed_origin(origin: &str) -> Result<String, String> {
    if origin == "*" {
        return Ok(origin.into());
    }
    let Some((scheme, authority)) = origin.split_once("://") else {
        return Err(format!(
            "an origin needs its scheme, as a browser sends it: https://{origin}"
        ));
    };
    if !matches!(scheme, "http" | "https") {
        return Err("an origin's scheme is http or https".into());
    }
    if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
        let host = authority.split(['/', '?', '#']).next().unwrap_or_default();
        return Err(format!(
            "an origin is scheme://host[:port] with no path: {scheme}://{host}"
        ));
    }
    Ok(origin.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::head::parse_head;

    fn headers(origin: Option<&str>, allowed: &[&str]) -> Headers {
        let origin = origin.map_or(String::new(), |origin| format!("Origin: {origin}\r\n"));
        let request =
            parse_head(format!("GET /subscribe HTTP/1.1\r\nHost: x\r\n{origin}\r\n").as_bytes())
                .unwrap();
        let allowed: Vec<String> = allowed.iter().map(|origin| origin.to_string()).collect();
        headers_for(&request, &allowed)
    }

    #[test]
    fn a_cookie_from_an_unlisted_origin_gets_no_origin_at_all() {
        let request = parse_head(
            b"GET /.well-known/mercure HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n\
              Cookie: mercureAuthorization=t\r\n\r\n",
        )
        .unwrap();
        for allowed in [&[][..], &["https://app.example".to_string()][..]] {
            let headers = headers_for(&request, allowed);
            assert!(headers.contains(&("Access-Control-Allow-Origin", NO_ORIGIN.to_string())));
            let response = crate::http::response::Response::new(
                crate::http::response::Status::Ok,
                "text/plain",
                "",
            )
            .with_headers(headers);
            let mut written = Vec::new();
            crate::http::response::write_response(
                &mut written,
                &response,
                crate::http::response::Persistence::Close,
                false,
            )
            .unwrap();
            let text = String::from_utf8(written).unwrap();
            assert!(!text.contains("Access-Control-Allow-Origin"), "{text}");
        }
    }

    #[test]
    fn listed_origins_get_credentials_and_everyone_else_the_default() {
        assert_eq!(headers(None, &[]), Headers::new());
        assert_eq!(headers(Some("https://app.test"), &[]), Headers::new());
        assert_eq!(headers(Some("https://app.test"), &["*"]), Headers::new());
        assert_eq!(
            headers(Some("https://app.test"), &["https://app.test"]),
            vec![
                (
                    "Access-Control-Allow-Origin",
                    "https://app.test".to_string()
                ),
                ("Access-Control-Allow-Credentials", "true".to_string()),
                ("Vary", "Origin".to_string()),
            ]
        );
        let vary = vec![("Vary", "Origin".to_string())];
        assert_eq!(
            headers(Some("https://evil.test"), &["https://app.test"]),
            vary
        );
        assert_eq!(headers(Some("*"), &["*", "https://app.test"]), vary);
    }

    #[test]
    fn an_origin_needs_its_scheme_and_no_path() {
        assert_eq!(parse_allowed_origin("*"), Ok("*".into()));
        assert_eq!(
            parse_allowed_origin("https://App.example:8443"),
            Ok("https://app.example:8443".into())
        );
        let no_scheme = parse_allowed_origin("example.com").unwrap_err();
        assert!(no_scheme.contains("https://example.com"), "{no_scheme}");
        let path = parse_allowed_origin("https://example.com/").unwrap_err();
        assert!(path.contains("no path: https://example.com"), "{path}");
        assert!(parse_allowed_origin("ftp://example.com").is_err());
        assert!(parse_allowed_origin("https://").is_err());
    }
}
