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
use crate::http::log_text::log_safe;
use crate::http::request::Request;
use crate::http::version::Version;

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
    let (method, target, version) = parse_request_line(request_line)?;

    let mut headers = Vec::new();
    for line in lines {
        headers.push(parse_header_line(line)?);
    }
    if let Some(authority) = target.authority {
        // RFC 9112 section 3.2.2: a server that receives the absolute form "MUST
        // ignore the received Host header field (if any) and instead use the host
        // information of the request-target". So the target's authority becomes the
        // one `Host`, and every check of the host (`host.rs`, the publish form's
        // same-origin check) sees the name the request really addresses.
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case("host"));
        headers.push(("Host".to_string(), authority));
    }
    let (path, query) = (target.path, target.query);
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

/// A request target, split (RFC 9112 section 3.2).
struct Target {
    path: String,
    /// What followed `?`, still percent-encoded.
    query: Option<String>,
    /// `host[:port]`, for the absolute form only.
    authority: Option<String>,
}

/// `METHOD SP request-target SP HTTP-version` (RFC 9112 section 3), single spaces.
fn parse_request_line(line: &[u8]) -> Result<(String, Target, Version), HttpError> {
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
    let target = parse_target(method, target)?;
    Ok((method.to_string(), target, version))
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
            "invalid HTTP version \"{}\"",
            log_safe(version)
        ))),
    }
}

/// Splits the request target into path and query (RFC 9112 section 3.2). Accepts
/// origin form (`/path?q`), absolute form (`http://host/path`, which proxies send and
/// servers must accept; its authority is kept, see [`parse_head`]) and asterisk form
/// (`*`, only for `OPTIONS`).
fn parse_target(method: &str, target: &str) -> Result<Target, HttpError> {
    let bad = |why: &str| HttpError::BadRequest(why.to_string());
    if target.is_empty() || !target.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(bad("request target has spaces or control characters"));
    }
    if target.contains('#') {
        return Err(bad("request target contains a fragment"));
    }
    if target == "*" {
        return match method {
            "OPTIONS" => Ok(Target {
                path: "*".to_string(),
                query: None,
                authority: None,
            }),
            _ => Err(bad("* is only a target for OPTIONS")),
        };
    }
    let (origin_form, authority) = if target.starts_with('/') {
        (target.to_string(), None)
    } else {
        let lowercase = target.to_ascii_lowercase();
        let Some(after_scheme) = ["http://", "https://"].iter().find_map(|scheme| {
            lowercase
                .starts_with(scheme)
                .then(|| &target[scheme.len()..])
        }) else {
            return Err(bad("request target is not a path"));
        };
        // The authority (host and port) runs to the path; the path is "/" if none.
        let end = after_scheme.find(['/', '?']).unwrap_or(after_scheme.len());
        let authority = &after_scheme[..end];
        // An http URI with an empty host is invalid (RFC 9110 section 4.2.1), and
        // userinfo (`user@host`) is an error in one (section 4.2.4): a name before
        // an `@` is how a link pretends to go somewhere it does not.
        if authority.is_empty() || authority.contains('@') {
            return Err(bad("the target's authority is empty or has userinfo"));
        }
        // `http://host?q` has an empty path, which is `/` (RFC 9112 section 3.2.1).
        let rest = &after_scheme[end..];
        let origin_form = match rest.starts_with('/') {
            true => rest.to_string(),
            false => format!("/{rest}"),
        };
        (origin_form, Some(authority.to_string()))
    };
    let (path, query) = match origin_form.split_once('?') {
        Some((path, query)) => (path.to_string(), Some(query.to_string())),
        None => (origin_form.to_string(), None),
    };
    Ok(Target {
        path,
        query,
        authority,
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
    // Only spaces and tabs may surround a value (RFC 9110 section 5.5, `OWS`).
    // `trim_ascii` would also strip form feeds and vertical tabs, so that
    // `Content-Length:\x0c5` read as 5 here while a proxy might read it otherwise;
    // left in place, the control check below refuses them.
    let value = trim_whitespace(&line[colon + 1..]);
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
        for item in value.split(',').map(|item| item.trim_matches([' ', '\t'])) {
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

/// `bytes` without the spaces and tabs around it: the optional whitespace of RFC 9110
/// section 5.6.3, and nothing else.
fn trim_whitespace(bytes: &[u8]) -> &[u8] {
    let is_whitespace = |byte: &u8| *byte == b' ' || *byte == b'\t';
    let start = bytes.iter().position(|byte| !is_whitespace(byte));
    let end = bytes.iter().rposition(|byte| !is_whitespace(byte));
    match (start, end) {
        (Some(start), Some(end)) => &bytes[start..=end],
        _ => &[],
    }
}

/// Letters, digits and ``!#$%&'*+-.^_`|~`` (RFC 9110 section 5.6.2).
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte))
}

#[cfg(test)]
#[path = "head_tests.rs"]
mod tests;
