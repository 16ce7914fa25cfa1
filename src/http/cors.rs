//! Which web pages on other origins may read our answers: the CORS headers (WHATWG
//! Fetch, "CORS protocol").
//!
//! A browser lets a page read a response from another origin only if the response
//! says so. Two cases:
//!
//! - **Anyone, without credentials**: `Access-Control-Allow-Origin: *`. The counter,
//!   the clock, public topics and `/stats` are for everyone, and the browser sends no
//!   cookies with such requests.
//! - **Listed origins, with credentials**: a page on an origin named by
//!   `--allow-origin` may follow private topics with its user's `sse_token` cookie
//!   (`new EventSource(url, { withCredentials: true })`). The browser requires the
//!   exact origin echoed back, `Access-Control-Allow-Credentials: true`, and since the
//!   answer now depends on `Origin`, caches are told so with `Vary: Origin`.
//!
//! `--allow-origin '*'` lets any page *publish* (see `pubsub/publish.rs`), but never
//! read with credentials: echoing every origin with credentials would let any site
//! read a visitor's private streams.

use crate::http::request::Request;

/// Headers to add to a response.
pub type Headers = Vec<(&'static str, String)>;

/// The CORS headers for the answer to `request`.
pub fn headers_for(request: &Request, allowed_origins: &[String]) -> Headers {
    let listed = request
        .header("origin")
        .filter(|origin| allowed_origins.iter().any(|allowed| allowed == origin));
    let mut headers = match listed {
        Some(origin) => vec![
            ("Access-Control-Allow-Origin", origin.to_string()),
            ("Access-Control-Allow-Credentials", "true".to_string()),
        ],
        None => vec![("Access-Control-Allow-Origin", "*".to_string())],
    };
    if allowed_origins.iter().any(|allowed| allowed != "*") {
        headers.push(("Vary", "Origin".to_string()));
    }
    headers
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
    fn listed_origins_get_credentials_and_everyone_else_a_star() {
        let star = vec![("Access-Control-Allow-Origin", "*".to_string())];
        assert_eq!(headers(None, &[]), star);
        assert_eq!(headers(Some("https://app.test"), &[]), star);
        assert_eq!(headers(Some("https://app.test"), &["*"]), star);
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
        let mut other = star.clone();
        other.push(("Vary", "Origin".to_string()));
        assert_eq!(
            headers(Some("https://evil.test"), &["https://app.test"]),
            other
        );
    }
}
