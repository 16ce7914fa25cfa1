//! A parsed request: what the head said, and the questions handlers ask of it
//! (a header, a query parameter, whether the connection may stay open).
//!
//! ```text
//! GET /subscribe?topic=news HTTP/1.1\r\n      request line: method, target, version
//! Host: localhost:5000\r\n                    header lines
//! Last-Event-ID: 41\r\n
//! \r\n                                        the empty line that ends the head
//! ```
//!
//! How the bytes become a [`Request`] is in `head.rs`; how they are read off the
//! socket within limits is in `connection.rs`.

use crate::http::error::HttpError;
use crate::http::version::Version;

/// The query parameter a token may come in (`auth/gate.rs` looks for it), and so the
/// one whose value a log line never shows.
pub const TOKEN_PARAMETER: &str = "token";
/// Query parameters whose values a log line never shows: ours, and RFC 6750 section
/// 2.3's `access_token`, which the Mercure hub refuses (`mercure/access.rs`) but which a
/// client may send all the same.
pub const SECRET_PARAMETERS: &[&str] = &[TOKEN_PARAMETER, "access_token"];

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method, case-sensitive as RFC 9110 section 9.1 says (`get` is not `GET`).
    pub method: String,
    /// The path, without the query; `*` for `OPTIONS *`.
    pub path: String,
    /// What followed `?` in the target, still percent-encoded.
    pub query: Option<String>,
    pub version: Version,
    /// Header lines in arrival order, names as sent (compare them case-insensitively).
    pub headers: Vec<(String, String)>,
    /// The body length the client announced; `None` means no body.
    pub content_length: Option<u64>,
}

impl Request {
    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The value of the cookie `name` from the `Cookie` header (RFC 6265 section 4.2.1:
    /// `name=value` pairs separated by `; `; a value may be wrapped in quotes).
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.header("cookie")?
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(cookie, _)| *cookie == name)
            .map(|(_, value)| {
                value
                    .strip_prefix('"')
                    .and_then(|value| value.strip_suffix('"'))
                    .unwrap_or(value)
            })
    }

    /// Whether the client is willing to send another request on this connection
    /// (RFC 9112 section 9.3): HTTP/1.1 unless it said `Connection: close`. We do not
    /// offer HTTP/1.0 keep-alive, an old extension.
    pub fn wants_keep_alive(&self) -> bool {
        self.version == Version::Http11
            && !self
                .header("connection")
                .is_some_and(|value| has_token(value, "close"))
    }

    /// The target for a log line: the path and query, with the value of any parameter
    /// of [`SECRET_PARAMETERS`] replaced, so that a credential sent in the URL never
    /// reaches a log.
    ///
    /// A key is read exactly as [`Request::query_params`] reads it, percent-decoded:
    /// `%74oken=` is a token to the lookup, so it is one here too. A key that does not
    /// decode could be anything, so its value is hidden as well.
    pub fn redacted_target(&self) -> String {
        let Some(query) = &self.query else {
            return self.path.clone();
        };
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _))
                    if percent_decode(key)
                        .map_or(true, |key| SECRET_PARAMETERS.contains(&key.as_str())) =>
                {
                    format!("{key}=REDACTED")
                }
                _ => pair.to_string(),
            })
            .collect();
        format!("{}?{}", self.path, pairs.join("&"))
    }

    /// The percent-decoded value of the first query parameter called `name`.
    pub fn query_param(&self, name: &str) -> Result<Option<String>, HttpError> {
        Ok(self.query_params(name)?.into_iter().next())
    }

    /// The percent-decoded values of every query parameter called `name`, in order
    /// (`?topic=a&topic=b` gives `["a", "b"]`).
    pub fn query_params(&self, name: &str) -> Result<Vec<String>, HttpError> {
        let mut values = Vec::new();
        let Some(query) = &self.query else {
            return Ok(values);
        };
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if percent_decode(key)? == name {
                values.push(percent_decode(value)?);
            }
        }
        Ok(values)
    }
}

/// Whether a comma-separated header value lists `token` (case-insensitive).
fn has_token(value: &str, token: &str) -> bool {
    value
        .split(',')
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

/// Decodes `%XX` escapes and `+` (a space, in HTML form encoding) into UTF-8 text.
fn percent_decode(text: &str) -> Result<String, HttpError> {
    let bad = || HttpError::BadRequest("invalid percent-encoding in query".into());
    let mut bytes = Vec::with_capacity(text.len());
    let mut input = text.bytes();
    while let Some(byte) = input.next() {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let high = input
                    .next()
                    .and_then(|digit| (digit as char).to_digit(16))
                    .ok_or_else(bad)?;
                let low = input
                    .next()
                    .and_then(|digit| (digit as char).to_digit(16))
                    .ok_or_else(bad)?;
                bytes.push((high * 16 + low) as u8);
            }
            _ => bytes.push(byte),
        }
    }
    String::from_utf8(bytes).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use crate::http::head::parse_head;

    fn parse(head: &str) -> super::Request {
        parse_head(head.as_bytes()).unwrap()
    }

    #[test]
    fn query_parameters_are_percent_decoded() {
        let request =
            parse("POST /publish?x=1&event=chat%20room+2&e=%C3%A9 HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(
            request.query_param("event").unwrap().as_deref(),
            Some("chat room 2")
        );
        assert_eq!(request.query_param("e").unwrap().as_deref(), Some("é"));
        assert_eq!(request.query_param("missing").unwrap(), None);
        let topics =
            parse_head(b"GET /s?topic=a&x=1&topic=b%2Fc HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!(topics.query_params("topic").unwrap(), ["a", "b/c"]);
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let request = parse(
            "GET / HTTP/1.1\r\nHost: x\r\nCookie: theme=dark; sse_token=abc.def.ghi; q=\"quoted\"\r\n\r\n",
        );
        assert_eq!(request.cookie("sse_token"), Some("abc.def.ghi"));
        assert_eq!(request.cookie("q"), Some("quoted"));
        assert_eq!(request.cookie("token"), None);
        assert_eq!(
            parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n").cookie("sse_token"),
            None
        );
    }

    #[test]
    fn a_token_in_the_query_never_reaches_the_log_target() {
        let request = parse_head(
            b"GET /subscribe?topic=a&token=eyJ.secret.sig&x HTTP/1.1\r\nHost: a\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            request.redacted_target(),
            "/subscribe?topic=a&token=REDACTED&x"
        );
        // Every spelling the lookup accepts is redacted: the key is percent-decoded
        // first, as `query_param` does.
        for key in ["%74oken", "%74%6F%6B%65%6E", "t%6fken", "toke%6E"] {
            let request = parse(&format!(
                "GET /subscribe?topic=a&{key}=eyJ.secret.sig HTTP/1.1\r\nHost: a\r\n\r\n"
            ));
            assert_eq!(
                request.query_param("token").unwrap().as_deref(),
                Some("eyJ.secret.sig")
            );
            assert_eq!(
                request.redacted_target(),
                format!("/subscribe?topic=a&{key}=REDACTED")
            );
        }
        // A key that does not decode might have been anything.
        let unreadable = parse("GET /s?%zz=eyJ.secret.sig&topic=a HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(unreadable.redacted_target(), "/s?%zz=REDACTED&topic=a");
        let mercure = parse(
            "GET /.well-known/mercure?match=a&%61ccess_token=eyJ.s.s HTTP/1.1\r\nHost: a\r\n\r\n",
        );
        assert_eq!(
            mercure.redacted_target(),
            "/.well-known/mercure?match=a&%61ccess_token=REDACTED"
        );
        let broken = parse("POST /publish?event=%zz HTTP/1.1\r\nHost: a\r\n\r\n");
        assert!(broken.query_param("event").is_err());
    }
}
