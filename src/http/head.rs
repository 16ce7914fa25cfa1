//! Turning the bytes of a request head into a [`Request`]: the request line, header
//! lines, then an empty line, each ending in CRLF (RFC 9112 section 2.1).
//!
//! Two limits protect the server while a head arrives: at most `max_head_bytes` bytes
//! and `max_header_lines` lines (431 beyond). The [`HeadScanner`] enforces them byte
//! by byte as the head arrives, so an endless head is refused without being stored.
//!
//! Deliberately left out: obsolete line folding (400) and lone LF line ends (400),
//! which are refused rather than guessed at: a server and a proxy that split lines
//! differently are how request smuggling starts.

use crate::config::Config;
use crate::http::error::HttpError;
use crate::http::request::{Request, Version};

/// Finds the end of a head in bytes that arrive piece by piece, enforcing the limits
/// on the way. It remembers how far it has looked, so a head trickled in one byte at
/// a time is scanned once, not once per byte.
/// (Public so the fuzz target in `fuzz/` can drive it exactly as `Connection` does.)
#[derive(Default)]
pub struct HeadScanner {
    scanned: usize,
    lines: usize,
}

impl HeadScanner {
    /// Returns the head's length (through the empty line) once it is all in `received`.
    /// `received` must only grow between calls.
    pub fn scan(&mut self, received: &[u8], config: &Config) -> Result<Option<usize>, HttpError> {
        while self.scanned < received.len() {
            // Every byte is judged in arrival order, and nothing past the limit is
            // looked at, so the answer never depends on how the bytes were split into
            // reads. (The fuzzer found a case where it did: a lone LF beyond the
            // limit gave 400 when read at once, 431 when read in pieces.)
            if self.scanned >= config.max_head_bytes {
                return Err(HttpError::HeaderFieldsTooLarge(format!(
                    "request head over {} bytes",
                    config.max_head_bytes
                )));
            }
            let index = self.scanned;
            self.scanned += 1;
            match received[index] {
                b'\0' => return Err(HttpError::BadRequest("NUL byte in request head".into())),
                b'\n' if index == 0 || received[index - 1] != b'\r' => {
                    return Err(HttpError::BadRequest("line ends in LF without CR".into()));
                }
                b'\n' if received[..=index].ends_with(b"\r\n\r\n") => return Ok(Some(index + 1)),
                b'\n' => {
                    self.lines += 1;
                    // The request line plus `max_header_lines` header lines.
                    if self.lines > config.max_header_lines + 1 {
                        return Err(HttpError::HeaderFieldsTooLarge(format!(
                            "more than {} header lines",
                            config.max_header_lines
                        )));
                    }
                }
                _ => {}
            }
        }
        Ok(None)
    }
}

/// Parses a complete head (including its final empty line).
pub fn parse_head(head: &[u8]) -> Result<Request, HttpError> {
    let mut head = head.strip_suffix(b"\r\n\r\n").unwrap_or(head);
    // RFC 9112 section 2.2: ignore empty lines before the request line (some clients
    // send an extra CRLF after a body).
    while let Some(rest) = head.strip_prefix(b"\r\n") {
        head = rest;
    }
    let mut lines = head
        .split(|&byte| byte == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    let request_line = lines.next().unwrap_or_default();
    let (method, path, query, version) = parse_request_line(request_line)?;

    let mut headers = Vec::new();
    for line in lines {
        headers.push(parse_header_line(line)?);
    }
    let mut request = Request {
        method,
        path,
        query,
        version,
        headers,
        content_length: None,
    };
    check_framing_headers(&mut request)?;
    Ok(request)
}

/// `METHOD SP request-target SP HTTP-version` (RFC 9112 section 3), single spaces.
fn parse_request_line(line: &[u8]) -> Result<(String, String, Option<String>, Version), HttpError> {
    let bad = |why: &str| HttpError::BadRequest(why.to_string());
    let line = std::str::from_utf8(line).map_err(|_| bad("request line is not ASCII"))?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("request line is not METHOD TARGET VERSION"));
    };
    if !is_token(method) {
        return Err(bad("invalid method"));
    }
    let version = parse_version(version)?;
    let (path, query) = parse_target(method, target)?;
    Ok((method.to_string(), path, query, version))
}

/// `HTTP/1.0` or `HTTP/1.1`; a later 1.x is answered as 1.1 (RFC 9110 section 2.5).
fn parse_version(version: &str) -> Result<Version, HttpError> {
    let digits = version.strip_prefix("HTTP/").map(str::as_bytes);
    match digits {
        Some([b'1', b'.', b'0']) => Ok(Version::Http10),
        Some([b'1', b'.', minor]) if minor.is_ascii_digit() => Ok(Version::Http11),
        Some([major, b'.', minor]) if major.is_ascii_digit() && minor.is_ascii_digit() => {
            Err(HttpError::VersionNotSupported)
        }
        Some([major]) if major.is_ascii_digit() => Err(HttpError::VersionNotSupported),
        _ => Err(HttpError::BadRequest(format!(
            "invalid HTTP version {version:?}"
        ))),
    }
}

/// Splits the request target into path and query (RFC 9112 section 3.2). Accepts
/// origin form (`/path?q`), absolute form (`http://host/path`, which proxies send and
/// servers must accept) and asterisk form (`*`, only for `OPTIONS`).
fn parse_target(method: &str, target: &str) -> Result<(String, Option<String>), HttpError> {
    let bad = |why: &str| HttpError::BadRequest(why.to_string());
    if target.is_empty() || !target.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(bad("request target has spaces or control characters"));
    }
    if target.contains('#') {
        return Err(bad("request target contains a fragment"));
    }
    if target == "*" {
        return match method {
            "OPTIONS" => Ok(("*".to_string(), None)),
            _ => Err(bad("* is only a target for OPTIONS")),
        };
    }
    let origin_form = if target.starts_with('/') {
        target
    } else {
        let lowercase = target.to_ascii_lowercase();
        let Some(after_scheme) = ["http://", "https://"].iter().find_map(|scheme| {
            lowercase
                .starts_with(scheme)
                .then(|| &target[scheme.len()..])
        }) else {
            return Err(bad("request target is not a path"));
        };
        // Skip the authority (host and port); what follows is the path, "/" if none.
        match after_scheme.find(['/', '?']) {
            Some(start) if after_scheme[start..].starts_with('/') => &after_scheme[start..],
            _ => "/",
        }
    };
    Ok(match origin_form.split_once('?') {
        Some((path, query)) => (path.to_string(), Some(query.to_string())),
        None => (origin_form.to_string(), None),
    })
}

/// `name: value` (RFC 9112 section 5). No space before the colon (a server MUST
/// reject that), and no obsolete line folding.
fn parse_header_line(line: &[u8]) -> Result<(String, String), HttpError> {
    let bad = |why: &str| HttpError::BadRequest(why.to_string());
    if line.starts_with(b" ") || line.starts_with(b"\t") {
        return Err(bad("obsolete line folding in header"));
    }
    let colon = line
        .iter()
        .position(|&byte| byte == b':')
        .ok_or_else(|| bad("header line without a colon"))?;
    let name = std::str::from_utf8(&line[..colon]).map_err(|_| bad("invalid header name"))?;
    if !is_token(name) {
        return Err(bad("invalid header name"));
    }
    let value = line[colon + 1..].trim_ascii();
    // Field values may hold visible characters, spaces, tabs and obs-text (bytes >= 0x80),
    // never other control characters (RFC 9110 section 5.5).
    if value
        .iter()
        .any(|&byte| byte.is_ascii_control() && byte != b'\t')
    {
        return Err(bad("control character in header value"));
    }
    Ok((
        name.to_string(),
        String::from_utf8_lossy(value).into_owned(),
    ))
}

/// The headers that decide where a message ends must be unambiguous, or a proxy in
/// front of us might see a different request than we do (RFC 9112 section 6.3).
fn check_framing_headers(request: &mut Request) -> Result<(), HttpError> {
    let bad = |why: &str| HttpError::BadRequest(why.to_string());
    if request.version == Version::Http11 {
        let hosts = request
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("host"))
            .count();
        // RFC 9112 section 3.2: exactly one Host header in an HTTP/1.1 request.
        if hosts != 1 {
            return Err(bad("HTTP/1.1 needs exactly one Host header"));
        }
    }
    let mut content_length = None;
    for (_, value) in request
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("content-length"))
    {
        // A list of identical values ("5, 5") is allowed; anything else is not.
        for item in value.split(',').map(str::trim) {
            if item.is_empty() || !item.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(bad("invalid Content-Length"));
            }
            let length: u64 = item.parse().map_err(|_| bad("invalid Content-Length"))?;
            if content_length.is_some_and(|seen| seen != length) {
                return Err(bad("conflicting Content-Length headers"));
            }
            content_length = Some(length);
        }
    }
    if request.header("transfer-encoding").is_some() {
        if content_length.is_some() {
            return Err(bad("both Transfer-Encoding and Content-Length"));
        }
        return Err(HttpError::NotImplemented(
            "Transfer-Encoding in requests is not supported".into(),
        ));
    }
    request.content_length = content_length;
    Ok(())
}

/// Letters, digits and ``!#$%&'*+-.^_`|~`` (RFC 9110 section 5.6.2).
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::Version;

    fn parse(head: &str) -> Result<Request, HttpError> {
        parse_head(head.as_bytes())
    }

    fn rejected(head: &str) -> u16 {
        match parse(head) {
            Ok(request) => panic!("accepted {head:?} as {request:?}"),
            Err(error) => error.status().code(),
        }
    }

    /// Feeds `head` to a scanner in fragments of `size` bytes, as a socket might.
    fn scan_in_fragments(
        head: &[u8],
        size: usize,
        config: &Config,
    ) -> Result<Option<usize>, HttpError> {
        let mut scanner = HeadScanner::default();
        let mut received = Vec::new();
        for fragment in head.chunks(size) {
            received.extend_from_slice(fragment);
            if let Some(length) = scanner.scan(&received, config)? {
                return Ok(Some(length));
            }
        }
        Ok(None)
    }

    #[test]
    fn parses_a_curl_request() {
        let request = parse("GET /events?x=1 HTTP/1.1\r\nHost: localhost:5000\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n").unwrap();
        assert_eq!(request.method, "GET");
        assert_eq!(request.path, "/events");
        assert_eq!(request.query.as_deref(), Some("x=1"));
        assert_eq!(request.version, Version::Http11);
        assert_eq!(request.header("user-agent"), Some("curl/8"));
        assert_eq!(request.content_length, None);
        assert!(request.wants_keep_alive());
    }

    #[test]
    fn head_split_into_any_fragments_is_found_at_its_end() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nrest-of-body";
        for size in 1..head.len() {
            let found = scan_in_fragments(head, size, &Config::default()).unwrap();
            assert_eq!(
                found,
                Some(head.len() - "rest-of-body".len()),
                "fragment size {size}"
            );
        }
    }

    #[test]
    fn scanner_enforces_size_and_line_limits() {
        let config = Config {
            max_head_bytes: 64,
            max_header_lines: 3,
            ..Config::default()
        };
        let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(100));
        assert!(matches!(
            scan_in_fragments(long.as_bytes(), 7, &config),
            Err(HttpError::HeaderFieldsTooLarge(_))
        ));
        let many = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
        assert!(matches!(
            scan_in_fragments(many.as_bytes(), 5, &config),
            Err(HttpError::HeaderFieldsTooLarge(_))
        ));
        let fine = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        assert!(
            scan_in_fragments(fine.as_bytes(), 5, &config)
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn scanner_refuses_bare_lf_and_nul() {
        let config = Config::default();
        assert!(matches!(
            scan_in_fragments(b"GET / HTTP/1.1\nHost: a\n\n", 4, &config),
            Err(HttpError::BadRequest(_))
        ));
        assert!(matches!(
            scan_in_fragments(b"GET /\0 HTTP/1.1\r\n", 4, &config),
            Err(HttpError::BadRequest(_))
        ));
    }

    #[test]
    fn http_1_0_needs_no_host_and_does_not_keep_alive() {
        let request = parse("GET / HTTP/1.0\r\n\r\n").unwrap();
        assert_eq!(request.version, Version::Http10);
        assert!(!request.wants_keep_alive());
        let close = parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n").unwrap();
        assert!(!close.wants_keep_alive());
    }

    #[test]
    fn absolute_and_asterisk_targets() {
        let absolute =
            parse("GET http://localhost:5000/stats?a HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(
            (absolute.path.as_str(), absolute.query.as_deref()),
            ("/stats", Some("a"))
        );
        let bare = parse("GET HTTP://example.test HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(bare.path, "/");
        assert_eq!(
            parse("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n").unwrap().path,
            "*"
        );
        assert_eq!(rejected("GET * HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
        assert_eq!(rejected("GET stats HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
    }

    #[test]
    fn malformed_request_lines_are_400_and_other_versions_505() {
        assert_eq!(rejected("GET /\r\n\r\n"), 400);
        assert_eq!(rejected("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
        assert_eq!(rejected("G(T / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
        assert_eq!(rejected("GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n"), 400);
        assert_eq!(rejected("GET / FTP/1.1\r\nHost: a\r\n\r\n"), 400);
        assert_eq!(rejected("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
        assert_eq!(rejected("GET / HTTP/3\r\nHost: a\r\n\r\n"), 505);
        assert_eq!(
            parse("GET / HTTP/1.9\r\nHost: a\r\n\r\n").unwrap().version,
            Version::Http11
        );
    }

    #[test]
    fn malformed_headers_are_400() {
        assert_eq!(
            rejected("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n"),
            400
        );
        assert_eq!(
            rejected("GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n"),
            400
        );
        assert_eq!(rejected("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400);
        assert_eq!(
            rejected("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n"),
            400
        );
        assert_eq!(
            rejected("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n"),
            400
        );
        assert_eq!(rejected("GET / HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(
            rejected("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
            400
        );
    }

    #[test]
    fn smuggling_shapes_are_refused() {
        let cl = |values: &str| format!("POST /publish HTTP/1.1\r\nHost: a\r\n{values}\r\n\r\n");
        assert_eq!(rejected(&cl("Content-Length: 5\r\nContent-Length: 6")), 400);
        assert_eq!(rejected(&cl("Content-Length: 5, 6")), 400);
        assert_eq!(rejected(&cl("Content-Length: -1")), 400);
        assert_eq!(rejected(&cl("Content-Length: +5")), 400);
        assert_eq!(
            rejected(&cl("Content-Length: 99999999999999999999999")),
            400
        );
        assert_eq!(
            rejected(&cl("Transfer-Encoding: chunked\r\nContent-Length: 5")),
            400
        );
        assert_eq!(rejected(&cl("Transfer-Encoding: chunked")), 501);
        assert_eq!(
            parse(&cl("Content-Length: 5\r\nContent-Length: 5"))
                .unwrap()
                .content_length,
            Some(5)
        );
    }
}
