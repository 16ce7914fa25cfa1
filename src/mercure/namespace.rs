//! The hub's own URL, and the part of every URL space it keeps for itself.
//!
//! The path under the hub's URL (`/.well-known/mercure/...` by default) belongs to
//! the hub: its subscription events live there (spec, Publication, `topic`; Security
//! Considerations, "Reserved Hub Namespace"). A publisher may not name a topic there,
//! or it could forge those events. The test is on the *path the topic resolves to*,
//! not on its text, so none of these slip through:
//!
//! ```text
//! https://hub.example.com/.well-known/mercure/subscriptions/x    absolute, any host
//! /.well-known/%6Dercure/x                                       %6D is `m`
//! /.well-known/mercure/../mercure/x                              dot segments
//! mercure/x                                                      relative to the hub URL
//! ```
//!
//! The topic is resolved by the WHATWG URL parser (`url/`, the one URL patterns use),
//! then its path has percent-encoded unreserved characters decoded (RFC 3986 section
//! 6.2.2.2) and dot segments removed (5.2.4) once more, as the spec asks, since a
//! decoded `%2E` can make a new one.

use crate::mercure::url::Url;

/// The hub's URL, from its resource identifier (`--mercure-resource`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubUrl {
    /// The whole URL, as configured.
    pub url: String,
    /// The same, parsed: the base relative topics and patterns resolve against.
    pub base: Url,
    /// Its path, without a trailing `/`: `/.well-known/mercure`.
    pub path: String,
}

impl HubUrl {
    /// Reads an absolute `http` or `https` URL with a path.
    pub fn parse(url: &str) -> Result<HubUrl, String> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or("the hub URL must start with https:// or http://")?;
        let path_start = rest.find('/').ok_or("the hub URL needs a path")?;
        if rest.contains(['?', '#']) {
            return Err("the hub URL may have no query and no fragment".into());
        }
        let path = rest[path_start..].trim_end_matches('/').to_string();
        if path.is_empty() {
            return Err("the hub URL needs a path, such as /.well-known/mercure".into());
        }
        let base = Url::parse(url, None).ok_or("the hub URL is not a valid URL")?;
        Ok(HubUrl {
            url: url.to_string(),
            base,
            path,
        })
    }

    /// Whether `topic`, resolved against this URL, is in the hub's reserved namespace:
    /// its path is the hub's path, or starts with it and a `/`. A topic the URL parser
    /// refuses names no path, so it is not (spec, "Publication").
    pub fn is_reserved(&self, topic: &str) -> bool {
        let Some(url) = Url::parse(topic, Some(&self.base)) else {
            return false;
        };
        let path = remove_dot_segments(&decode_unreserved(&url.pathname()));
        path == self.path
            || path
                .strip_prefix(&self.path)
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

/// `%XX` that names an unreserved character becomes that character (RFC 3986 section
/// 6.2.2.2); every other escape stays as it is.
fn decode_unreserved(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut index = 0;
    while index < bytes.len() {
        let decoded = (bytes[index] == b'%')
            .then(|| path.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .filter(|byte| byte.is_ascii_alphanumeric() || b"-._~".contains(byte));
        match decoded {
            Some(byte) => {
                out.push(byte as char);
                index += 3;
            }
            None => {
                let character = path[index..].chars().next().unwrap_or_default();
                out.push(character);
                index += character.len_utf8();
            }
        }
    }
    out
}

/// RFC 3986 section 5.2.4, on whole segments: `.` goes, `..` takes the previous
/// segment with it.
fn remove_dot_segments(path: &str) -> String {
    let mut output: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    for (index, segment) in segments.iter().enumerate() {
        let last = index + 1 == segments.len();
        match *segment {
            "." | ".." => {
                if *segment == ".." && output.len() > 1 {
                    output.pop();
                }
                // A trailing `.` or `..` leaves the path ending in `/`.
                if last {
                    output.push("");
                }
            }
            segment => output.push(segment),
        }
    }
    output.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> HubUrl {
        HubUrl::parse("https://localhost/.well-known/mercure").unwrap()
    }

    #[test]
    fn the_hub_path_and_everything_under_it_is_reserved_however_written() {
        let hub = hub();
        for reserved in [
            "/.well-known/mercure",
            "/.well-known/mercure/subscriptions/exact/a/b",
            "https://hub.example.com/.well-known/mercure/subscriptions/x",
            "http://other/.well-known/mercure",
            "/.well-known/%6Dercure/x",
            "/.well-known/%6dercure/x",
            "/.well-known/mercure/../mercure/x",
            "/a/./../.well-known/mercure",
            "mercure/x",
            "mercure",
            "//evil.example/.well-known/mercure/x",
            "https:\\\\h\\.well-known\\mercure\\x",
            "foo://h/.well-known/mercure/x",
            "urn:/.well-known/mercure",
        ] {
            assert!(hub.is_reserved(reserved), "{reserved}");
        }
        for open in [
            "https://example.com/books/1",
            "/.well-known/mercure-other",
            "/.well-known/mercurex/y",
            "books/1",
            "urn:uuid:1234",
            "/.well-known/%2Fmercure",
            "news",
            "a b",
        ] {
            assert!(!hub.is_reserved(open), "{open}");
        }
    }

    #[test]
    fn a_hub_url_needs_a_scheme_and_a_path() {
        assert_eq!(hub().path, "/.well-known/mercure");
        assert!(HubUrl::parse("localhost/.well-known/mercure").is_err());
        assert!(HubUrl::parse("https://localhost").is_err());
        assert!(HubUrl::parse("https://localhost/").is_err());
        assert_eq!(
            HubUrl::parse("https://h/hub/").unwrap().path,
            "/hub",
            "a trailing slash is not part of the namespace"
        );
    }
}
