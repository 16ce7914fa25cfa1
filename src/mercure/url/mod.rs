//! URLs as the WHATWG URL Standard parses them ("basic URL parser", section 4.4), so a
//! topic is compared the way a browser would see it: `HTTPS://Example.com:443/a/./b`
//! and `https://example.com/a/b` are one URL. A URL Pattern (see `urlpattern`) matches
//! the components this parser produces, one by one.
//!
//! The parser follows the standard's state machine in straight-line form: scheme, then
//! either an authority (`//user:pass@host:port`) and a path of segments, or an opaque
//! path (`urn:uuid:…`), then the query after `?` and the fragment after `#`. A relative
//! reference (`/books/1`, `?page=2`, `../x`) is resolved against a base URL.
//!
//! Left out, on purpose: `file:` URLs (their own dozen states, and no Mercure topic is a
//! file) and international domain names (see [`host`]); both parse to `None`, which the
//! Mercure spec treats as "matches no URL pattern". Validation errors that do not make
//! parsing fail are not reported: a hub has no one to report them to.

pub mod host;
pub mod path;
pub mod percent;

use std::fmt;

use crate::mercure::url::host::{Host, parse_host};
use crate::mercure::url::path::path_segments;
use crate::mercure::url::percent::{EncodeSet, encode};

/// The special schemes and their default ports (URL Standard, "special scheme").
/// `file` is special too, but this parser refuses it (see the module header).
const SPECIAL_SCHEMES: [(&str, Option<u16>); 6] = [
    ("ftp", Some(21)),
    ("file", None),
    ("http", Some(80)),
    ("https", Some(443)),
    ("ws", Some(80)),
    ("wss", Some(443)),
];

/// Whether `scheme` (lower-case) is one of the special schemes.
pub fn is_special_scheme(scheme: &str) -> bool {
    SPECIAL_SCHEMES.iter().any(|(name, _)| *name == scheme)
}

/// The default port of a special scheme (`https` → 443), None for any other.
pub fn default_port(scheme: &str) -> Option<u16> {
    SPECIAL_SCHEMES
        .iter()
        .find(|(name, _)| *name == scheme)
        .and_then(|(_, port)| *port)
}

/// A parsed URL: its components, each already canonical.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// Lower-case, without the `:`.
    scheme: String,
    /// Percent-encoded with the userinfo set; empty when absent.
    username: String,
    password: String,
    /// None for a URL without an authority (`urn:x`, `foo:/x`).
    host: Option<Host>,
    /// None when absent or equal to the scheme's default port.
    port: Option<u16>,
    path: Path,
    query: Option<String>,
    fragment: Option<String>,
}

/// A URL's path: segments (`/a/b` is `["a", "b"]`), or one opaque string (`urn:x` has
/// the opaque path `x`).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Path {
    Segments(Vec<String>),
    Opaque(String),
}

impl Url {
    /// Parses `input` per the WHATWG URL Standard, relative to `base` when it is relative.
    /// None when it cannot be parsed (the spec: such a topic never matches a pattern).
    pub fn parse(input: &str, base: Option<&Url>) -> Option<Url> {
        // Leading and trailing C0 controls and spaces go, and tabs and newlines anywhere:
        // a URL copied out of a text file still parses.
        let trimmed = input.trim_matches(|c: char| c <= ' ');
        let text: Vec<char> = trimmed
            .chars()
            .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
            .collect();
        match scheme_of(&text) {
            Some((scheme, rest)) => Url::parse_with_scheme(scheme, &text[rest..], base),
            None => Url::parse_relative(&text, base?),
        }
    }

    /// The scheme, as URL Pattern's `protocol` component sees it (`https`).
    pub fn protocol(&self) -> &str {
        &self.scheme
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// The host, serialized (`example.com`, `[::1]`), or empty when there is none.
    pub fn hostname(&self) -> String {
        self.host.as_ref().map(Host::serialize).unwrap_or_default()
    }

    /// The port in decimal, or empty when absent or the scheme's default.
    pub fn port(&self) -> String {
        self.port.map(|port| port.to_string()).unwrap_or_default()
    }

    /// The path as the standard serializes it ("URL path serializer").
    pub fn pathname(&self) -> String {
        match &self.path {
            Path::Opaque(path) => path.clone(),
            Path::Segments(segments) => segments.iter().map(|s| format!("/{s}")).collect(),
        }
    }

    /// The query without its `?`, or empty.
    pub fn search(&self) -> &str {
        self.query.as_deref().unwrap_or("")
    }

    /// The fragment without its `#`, or empty.
    pub fn hash(&self) -> &str {
        self.fragment.as_deref().unwrap_or("")
    }

    /// Whether the path is opaque (`urn:uuid:…`, `mailto:x`): such a URL has no segments
    /// for a relative reference to replace.
    pub fn has_opaque_path(&self) -> bool {
        matches!(self.path, Path::Opaque(_))
    }

    fn is_special(&self) -> bool {
        is_special_scheme(&self.scheme)
    }

    /// A URL with a scheme: an authority (`//`), an absolute path, or an opaque path;
    /// or, for `https:foo` against an `https:` base, a relative reference after all.
    fn parse_with_scheme(scheme: String, rest: &[char], base: Option<&Url>) -> Option<Url> {
        if scheme == "file" {
            return None;
        }
        let mut url = Url {
            scheme,
            username: String::new(),
            password: String::new(),
            host: None,
            port: None,
            path: Path::Segments(Vec::new()),
            query: None,
            fragment: None,
        };
        if url.is_special() {
            // "special relative or authority state": the same scheme as the base and no
            // `//` makes it relative (`https:books/1` against `https://h/a/`).
            if let Some(base) = base.filter(|base| base.scheme == url.scheme)
                && !rest.starts_with(&['/', '/'])
            {
                return Url::parse_relative(rest, base);
            }
            // Any number of slashes, either way round, before the authority.
            let start = rest.iter().take_while(|c| matches!(c, '/' | '\\')).count();
            url.parse_authority_onwards(&rest[start..])?;
            return Some(url);
        }
        match rest {
            ['/', '/', after @ ..] => url.parse_authority_onwards(after)?,
            ['/', after @ ..] => {
                let stop = url.parse_path(after, Vec::new(), true);
                url.parse_query_and_fragment(&after[stop..]);
            }
            _ => url.parse_opaque_path(rest),
        }
        Some(url)
    }

    /// A reference without a scheme, resolved against `base` (URL Standard "relative
    /// state" and "relative slash state").
    fn parse_relative(rest: &[char], base: &Url) -> Option<Url> {
        if base.has_opaque_path() {
            // Only a fragment can be added to `urn:x`; anything else has nothing to
            // resolve against.
            let fragment = rest.strip_prefix(&['#'])?;
            let mut url = base.clone();
            url.fragment = Some(encode(&collect(fragment), EncodeSet::Fragment));
            return Some(url);
        }
        let mut url = Url {
            fragment: None,
            ..base.clone()
        };
        let special = url.is_special();
        let is_slash = |c: Option<&char>| c == Some(&'/') || (special && c == Some(&'\\'));
        if is_slash(rest.first()) {
            if is_slash(rest.get(1)) && (special || rest.get(1) == Some(&'/')) {
                // `//host/path`: a new authority, the base's scheme.
                url.username.clear();
                url.password.clear();
                url.port = None;
                url.query = None;
                let start = if special {
                    rest.iter().take_while(|c| matches!(c, '/' | '\\')).count()
                } else {
                    2
                };
                url.parse_authority_onwards(&rest[start..])?;
                return Some(url);
            }
            // `/path`: the base's authority, a new absolute path.
            url.query = None;
            let stop = url.parse_path(&rest[1..], Vec::new(), true);
            url.parse_query_and_fragment(&rest[1 + stop..]);
            return Some(url);
        }
        match rest.first() {
            None => {}
            Some('?') | Some('#') => url.parse_query_and_fragment(rest),
            Some(_) => {
                // `a/b` replaces the base's last segment.
                url.query = None;
                let mut segments = match &base.path {
                    Path::Segments(segments) => segments.clone(),
                    Path::Opaque(_) => Vec::new(),
                };
                segments.pop();
                let stop = url.parse_path(rest, segments, true);
                url.parse_query_and_fragment(&rest[stop..]);
            }
        }
        Some(url)
    }

    /// From the authority to the end: `user:pass@host:port/path?query#fragment`.
    fn parse_authority_onwards(&mut self, text: &[char]) -> Option<()> {
        let special = self.is_special();
        let end = text
            .iter()
            .position(|&c| matches!(c, '/' | '?' | '#') || (special && c == '\\'))
            .unwrap_or(text.len());
        let authority = &text[..end];
        // Userinfo ends at the *last* `@`: an earlier one is part of it (encoded).
        let host_start = match authority.iter().rposition(|&c| c == '@') {
            Some(at) => {
                let userinfo = &authority[..at];
                let colon = userinfo.iter().position(|&c| c == ':');
                let (user, pass) = match colon {
                    Some(colon) => (&userinfo[..colon], &userinfo[colon + 1..]),
                    None => (userinfo, &[][..]),
                };
                self.username = encode(&collect(user), EncodeSet::Userinfo);
                self.password = encode(&collect(pass), EncodeSet::Userinfo);
                if at + 1 == authority.len() {
                    return None;
                }
                at + 1
            }
            None => 0,
        };
        self.parse_host_and_port(&authority[host_start..])?;
        // "path start state": a special URL always has a path, `/` at least.
        let rest = &text[end..];
        let after_slash = match rest.first() {
            Some('/') => &rest[1..],
            Some('\\') if special => &rest[1..],
            _ if special => rest,
            _ => {
                self.path = Path::Segments(Vec::new());
                self.parse_query_and_fragment(rest);
                return Some(());
            }
        };
        let stop = self.parse_path(after_slash, Vec::new(), true);
        self.parse_query_and_fragment(&after_slash[stop..]);
        Some(())
    }

    /// `host` or `host:port`; a `:` inside `[…]` belongs to an IPv6 address.
    fn parse_host_and_port(&mut self, text: &[char]) -> Option<()> {
        let mut inside_brackets = false;
        let mut colon = None;
        for (index, &c) in text.iter().enumerate() {
            match c {
                '[' => inside_brackets = true,
                ']' => inside_brackets = false,
                ':' if !inside_brackets => {
                    colon = Some(index);
                    break;
                }
                _ => {}
            }
        }
        let (host, port) = match colon {
            Some(0) => return None,
            Some(colon) => (&text[..colon], Some(&text[colon + 1..])),
            None => (text, None),
        };
        if host.is_empty() && self.is_special() {
            return None;
        }
        self.host = Some(parse_host(&collect(host), self.is_special())?);
        if let Some(port) = port.filter(|port| !port.is_empty()) {
            if !port.iter().all(char::is_ascii_digit) {
                return None;
            }
            // Leading zeros are fine (`:0080`); more than 65535 is not a port.
            let value = port.iter().try_fold(0u32, |value, c| {
                let value = value * 10 + c.to_digit(10)?;
                (value <= u16::MAX as u32).then_some(value)
            })? as u16;
            self.port = (default_port(&self.scheme) != Some(value)).then_some(value);
        }
        Some(())
    }

    /// "path state", from just after a `/`: segments until `?`, `#` or the end (or, with
    /// `stop_at_query` false, the end only). Returns where it stopped.
    fn parse_path(&mut self, text: &[char], segments: Vec<String>, stop_at_query: bool) -> usize {
        let (segments, stop) = path_segments(text, segments, self.is_special(), stop_at_query);
        self.path = Path::Segments(segments);
        stop
    }

    /// "opaque path state": everything up to `?` or `#`, only controls and non-ASCII
    /// encoded.
    fn parse_opaque_path(&mut self, text: &[char]) {
        let end = text
            .iter()
            .position(|&c| c == '?' || c == '#')
            .unwrap_or(text.len());
        self.path = Path::Opaque(encode(&collect(&text[..end]), EncodeSet::C0Control));
        self.parse_query_and_fragment(&text[end..]);
    }

    /// `text` starts with `?`, `#` or nothing: the query up to `#`, then the fragment.
    fn parse_query_and_fragment(&mut self, text: &[char]) {
        let mut rest = text;
        if let Some(after) = rest.strip_prefix(&['?']) {
            let end = after.iter().position(|&c| c == '#').unwrap_or(after.len());
            let set = if self.is_special() {
                EncodeSet::SpecialQuery
            } else {
                EncodeSet::Query
            };
            self.query = Some(encode(&collect(&after[..end]), set));
            rest = &after[end..];
        }
        if let Some(after) = rest.strip_prefix(&['#']) {
            self.fragment = Some(encode(&collect(after), EncodeSet::Fragment));
        }
    }
}

/// The URL written back in full ("URL serializer"): what a topic becomes once parsed.
impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme)?;
        if let Some(host) = &self.host {
            write!(f, "//")?;
            if !self.username.is_empty() || !self.password.is_empty() {
                write!(f, "{}", self.username)?;
                if !self.password.is_empty() {
                    write!(f, ":{}", self.password)?;
                }
                write!(f, "@")?;
            }
            write!(f, "{}", host.serialize())?;
            if let Some(port) = self.port {
                write!(f, ":{port}")?;
            }
        }
        let pathname = self.pathname();
        // `foo:/.//x`: without the `/.`, a path starting `//` would read as an authority.
        if self.host.is_none() && pathname.starts_with("//") {
            write!(f, "/.")?;
        }
        write!(f, "{pathname}")?;
        if let Some(query) = &self.query {
            write!(f, "?{query}")?;
        }
        if let Some(fragment) = &self.fragment {
            write!(f, "#{fragment}")?;
        }
        Ok(())
    }
}

/// The scheme at the start of `text` and the index just past its `:`, if there is one:
/// an ASCII letter, then letters, digits, `+`, `-` or `.`.
fn scheme_of(text: &[char]) -> Option<(String, usize)> {
    if !text.first()?.is_ascii_alphabetic() {
        return None;
    }
    let length = text
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        .count();
    (text.get(length) == Some(&':'))
        .then(|| (collect(&text[..length]).to_ascii_lowercase(), length + 1))
}

fn collect(chars: &[char]) -> String {
    chars.iter().collect()
}

#[cfg(test)]
#[path = "url_tests.rs"]
mod tests;
