//! The encoding callbacks (URL Pattern Standard, "Canonicalization"): each piece of
//! fixed text in a pattern is put in the form the URL parser gives that component, so
//! that `HTTPS://Example.COM/ä` as a pattern matches the URL `https://example.com/%C3%A4`.
//! The standard defines each by running the URL parser on a dummy URL from the
//! component's state; here each calls the piece of [`crate::mercure::url`] that state
//! runs.

use crate::mercure::url::host::parse_host;
use crate::mercure::url::path::path_segments;
use crate::mercure::url::percent::{self, EncodeSet};
use crate::mercure::urlpattern::error::PatternError;

/// A scheme: ASCII letter, then letters, digits, `+`, `-`, `.`; lower-cased.
pub fn protocol(value: &str) -> Result<String, PatternError> {
    let mut chars = value.chars();
    let valid = chars.next().is_none_or(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid {
        return Err(PatternError::new(format!("invalid protocol `{value}`")));
    }
    Ok(value.to_ascii_lowercase())
}

/// Username and password: the userinfo percent-encode set.
pub fn userinfo(value: &str) -> Result<String, PatternError> {
    Ok(percent::encode(value, EncodeSet::Userinfo))
}

/// A hostname piece, as the host parser of an `https:` URL would give it (lower-cased,
/// percent-decoded, an IPv4 address in dotted form). The hostname state stops at `/`,
/// `?`, `#` and `\`, and what follows is dropped; a `:` would start a port, and is
/// refused.
///
/// A piece that *starts* with one of those (`{/users}?` right after a hostname, which
/// the constructor string leaves in the hostname) is empty here, as Chromium makes it;
/// the standard's parser would fail on the empty host.
pub fn hostname(value: &str) -> Result<String, PatternError> {
    let end = value.find(['/', '?', '#', '\\']).unwrap_or(value.len());
    let host = &value[..end];
    if host.is_empty() {
        return Ok(String::new());
    }
    let refused = || PatternError::new(format!("invalid hostname `{value}`"));
    if host.contains(':') {
        return Err(refused());
    }
    parse_host(host, true)
        .map(|host| host.serialize())
        .ok_or_else(refused)
}

/// An IPv6 hostname (`[…]`): hex digits, `[`, `]` and `:` only, lower-cased.
pub fn ipv6_hostname(value: &str) -> Result<String, PatternError> {
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_hexdigit() || matches!(c, '[' | ']' | ':')))
    {
        return Err(PatternError::new(format!("`{bad}` in an IPv6 hostname")));
    }
    Ok(value.to_ascii_lowercase())
}

/// A port: digits, up to 65535, leading zeros dropped. The port state stops at the
/// first non-digit.
///
/// The standard runs the port state on a dummy `https:` URL, which read literally would
/// also turn `443` into the empty string for every scheme, so that `http://h:443/*`
/// would mean port 80. Chromium keeps the number, and so does this function: a default
/// port is dropped only where the protocol is known (see `UrlPattern::parse`).
pub fn port(value: &str) -> Result<String, PatternError> {
    let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return if value.is_empty() {
            Ok(String::new())
        } else {
            Err(PatternError::new(format!("invalid port `{value}`")))
        };
    }
    let significant = digits.trim_start_matches('0');
    let number = if significant.is_empty() {
        Some(0)
    } else {
        significant.parse::<u32>().ok()
    };
    match number.filter(|&n| n <= u16::MAX as u32) {
        Some(number) => Ok(number.to_string()),
        None => Err(PatternError::new(format!("port `{value}` out of range"))),
    }
}

/// A piece of a hierarchical path: the path state of an `https:` URL, `.` and `..`
/// resolved and the path set encoded, but without the leading `/` the parser would add
/// (the standard does this by parsing `/-` + piece and cutting the two back off).
pub fn pathname(value: &str) -> Result<String, PatternError> {
    if value.is_empty() {
        return Ok(String::new());
    }
    let leading_slash = value.starts_with('/');
    let input: Vec<char> = if leading_slash {
        value.chars().collect()
    } else {
        "/-".chars().chain(value.chars()).collect()
    };
    // "path start state" of a special URL: one leading `/` or `\` is consumed.
    let after = match input.first() {
        Some('/' | '\\') => &input[1..],
        _ => &input[..],
    };
    let (segments, _) = path_segments(after, Vec::new(), true, false);
    let serialized: String = segments.iter().map(|s| format!("/{s}")).collect();
    if leading_slash {
        return Ok(serialized);
    }
    // A `..` that climbs above the `/-` (`a/..`) leaves nothing to cut: the standard's
    // substring is undefined there, and Chromium refuses the pattern; so does this.
    match serialized.strip_prefix("/-") {
        Some(rest) => Ok(rest.to_string()),
        None => Err(PatternError::new(format!("invalid pathname `{value}`"))),
    }
}

/// A piece of an opaque path (`urn:…`): only controls and non-ASCII encoded; the opaque
/// path state ends at `?` or `#`.
pub fn opaque_pathname(value: &str) -> Result<String, PatternError> {
    let end = value.find(['?', '#']).unwrap_or(value.len());
    Ok(percent::encode(&value[..end], EncodeSet::C0Control))
}

/// A query piece: the special-query set (the dummy URL is `https:`).
pub fn search(value: &str) -> Result<String, PatternError> {
    Ok(percent::encode(value, EncodeSet::SpecialQuery))
}

/// A fragment piece: the fragment set.
pub fn hash(value: &str) -> Result<String, PatternError> {
    Ok(percent::encode(value, EncodeSet::Fragment))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_take_the_form_the_url_parser_gives() {
        assert_eq!(protocol("HTTPS").unwrap(), "https");
        assert!(protocol("1http").is_err());
        assert_eq!(hostname("ExAmple.COM").unwrap(), "example.com");
        assert!(hostname("exa mple").is_err());
        assert_eq!(hostname("example.com/foo").unwrap(), "example.com");
        assert_eq!(hostname("/users").unwrap(), "");
        assert_eq!(ipv6_hostname("[::AB]").unwrap(), "[::ab]");
        assert_eq!(port("0080").unwrap(), "80");
        assert_eq!(port("443").unwrap(), "443");
        assert!(port("99999").is_err());
        assert_eq!(pathname("/a/./b/../ä").unwrap(), "/a/%C3%A4");
        assert_eq!(pathname("a b").unwrap(), "a%20b");
        assert_eq!(pathname(".").unwrap(), ".");
        assert_eq!(pathname("/.").unwrap(), "/");
        assert!(pathname(".json/..").is_err());
        assert_eq!(opaque_pathname("x y?z").unwrap(), "x y");
        assert_eq!(search("a b'#").unwrap(), "a%20b%27%23");
        assert_eq!(hash("a b`#").unwrap(), "a%20b%60#");
    }
}
