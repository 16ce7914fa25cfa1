//! Which host names this server answers for: the defence against DNS rebinding.
//!
//! A page on `http://rebind.attacker.example:5000` can point its own name at
//! `127.0.0.1` once the browser has loaded it. From then on its requests reach a
//! server on the developer's loopback, and to the browser they are same-origin: the
//! page may read every answer, and its `Origin` matches the `Host` it sends
//! (`rebind.attacker.example:5000`), so the publish form's same-origin check passes.
//! What gives the attack away is that `Host`: a name this server was never told it
//! serves. So a request is answered only if its `Host` names
//!
//! - `localhost`, or a name under `.localhost` (RFC 6761 section 6.3: such names are
//!   loopback, and browsers resolve them so without asking DNS, so no attacker can
//!   point them anywhere);
//! - an IP address (`127.0.0.1`, `[::1]`, the address we are bound to, any other):
//!   rebinding needs a name the attacker's DNS answers for; with an address in the URL
//!   the page's origin *is* that address;
//! - a name given with `--allowed-host` (the public name behind a proxy, say).
//!
//! The port is not compared: it is the attacker's name, not the port, that rebinds.
//! A request without `Host` (HTTP/1.0), or with an empty one, names no host and is let
//! through: a browser always sends the name it loaded the page from.
//!
//! Anything else is answered `421 Misdirected Request`: "a target URI that does not
//! match an origin for which the server has been configured" (RFC 9110 section
//! 15.5.20), which is exactly this case, and unlike `403` it does not suggest that a
//! credential would help.
//!
//! The check is on for an open server (no `--token`, no `--auth-secret`) and for any
//! server given `--allowed-host`. A server that checks tokens gains nothing from it by
//! default: every publish and every private topic needs a token, and a rebinding page
//! holds none (the visitor's `sse_token` cookie belongs to the real host name, never
//! to the attacker's), while what it can read without one, any page may read anyway
//! (`Access-Control-Allow-Origin: *`). Turning it on there would only make every
//! deployment list its names before its first request is answered.

use std::net::{IpAddr, Ipv6Addr};

use crate::config::Config;
use crate::http::error::HttpError;
use crate::http::log_text::log_safe;
use crate::http::request::Request;

/// `421` unless `request` names a host this server answers for (module docs).
pub fn check_host(request: &Request, config: &Config) -> Result<(), HttpError> {
    if !applies(config) {
        return Ok(());
    }
    let Some(authority) = request.header("host").filter(|host| !host.is_empty()) else {
        return Ok(());
    };
    let name = host_name(authority);
    if is_answered(name, &config.allowed_hosts) {
        return Ok(());
    }
    Err(HttpError::MisdirectedRequest(format!(
        "this server does not answer for host \"{}\" (see --allowed-host)",
        log_safe(name)
    )))
}

/// Whether the check is on for `config`: an open server, or a list of names given.
pub fn applies(config: &Config) -> bool {
    let open = config.token.is_none() && config.auth_secret.is_none();
    open || !config.allowed_hosts.is_empty()
}

/// Checks a name for `--allowed-host`: a host name alone, lower-cased (host names are
/// case-insensitive, RFC 9110 section 4.2.3).
pub fn parse_allowed_host(name: &str) -> Result<String, String> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.');
    if !valid {
        return Err("a host name (letters, digits, - and .), without a port".into());
    }
    Ok(name.trim_end_matches('.').to_ascii_lowercase())
}

/// The host part of a `Host` value: `host`, `host:port`, `[v6]` or `[v6]:port`
/// (RFC 9110 section 7.2; `uri-host [ ":" port ]`, RFC 3986 section 3.2.2). IPv6
/// addresses keep their brackets. Anything else after a `]` than `:` and digits
/// (`[::1]evil.example`) is no authority at all: the whole value is returned, and
/// answered for by no name.
fn host_name(authority: &str) -> &str {
    if authority.starts_with('[') {
        return match authority.find(']') {
            Some(end) if is_port_suffix(&authority[end + 1..]) => &authority[..=end],
            _ => authority,
        };
    }
    match authority.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|byte| byte.is_ascii_digit()) => name,
        _ => authority,
    }
}

/// Whether `rest` is nothing, or `:` and a port's digits (which may be none, RFC 3986
/// section 3.2.3).
fn is_port_suffix(rest: &str) -> bool {
    rest.is_empty()
        || rest
            .strip_prefix(':')
            .is_some_and(|port| port.bytes().all(|byte| byte.is_ascii_digit()))
}

/// Whether `name` (from a `Host`, without its port) is one we answer for.
fn is_answered(name: &str, allowed_hosts: &[String]) -> bool {
    if let Some(bracketed) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        return bracketed.parse::<Ipv6Addr>().is_ok();
    }
    if name.parse::<IpAddr>().is_ok() {
        return true;
    }
    // `localhost.` is the same name as `localhost` (a fully qualified one).
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost") || allowed_hosts.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use crate::http::head::parse_head;

    fn status(host: &str, config: &Config) -> u16 {
        let head = format!("GET /subscribe HTTP/1.1\r\nHost: {host}\r\n\r\n");
        let request = parse_head(head.as_bytes()).unwrap();
        match check_host(&request, config) {
            Ok(()) => 200,
            Err(error) => error.status().code(),
        }
    }

    #[test]
    fn an_open_server_answers_loopback_names_and_addresses_only() {
        let open = Config::default();
        for host in [
            "localhost",
            "localhost:5000",
            "LocalHost:5000",
            "localhost.:80",
            "app.localhost:5173",
            "127.0.0.1",
            "127.0.0.1:5000",
            "[::1]",
            "[::1]:5000",
            "192.168.1.20:5000",
            "",
        ] {
            assert_eq!(status(host, &open), 200, "{host:?}");
        }
        for host in [
            "rebind.attacker.example:5000",
            "rebind.attacker.example",
            "localhost.attacker.example",
            "attackerlocalhost",
            "127.0.0.1.attacker.example",
            "[::1",
            "[not-an-address]:5000",
            // Regression (issue 24): the text after `]` was ignored.
            "[::1]evil.example",
            "[::1]evil.example:5000",
            "[::1]:5000evil",
            "[::1]:5000:1",
            "localhost:5000:1",
        ] {
            assert_eq!(status(host, &open), 421, "{host:?}");
        }
    }

    #[test]
    fn allowed_hosts_add_names_and_turn_the_check_on_everywhere() {
        let named = Config {
            allowed_hosts: vec![parse_allowed_host("Events.Example.COM").unwrap()],
            ..Config::default()
        };
        assert_eq!(status("events.example.com", &named), 200);
        assert_eq!(status("EVENTS.example.com:443", &named), 200);
        assert_eq!(status("other.example.com", &named), 421);
        // With tokens the check is off, unless names were given.
        let tokens = Config {
            auth_secret: Some(Secret::new("x".repeat(32))),
            ..Config::default()
        };
        assert_eq!(status("other.example.com", &tokens), 200);
        let tokens_and_names = Config {
            allowed_hosts: named.allowed_hosts.clone(),
            ..tokens
        };
        assert_eq!(status("other.example.com", &tokens_and_names), 421);
        assert_eq!(status("events.example.com", &tokens_and_names), 200);
    }

    #[test]
    fn allowed_host_names_are_checked() {
        assert_eq!(parse_allowed_host("example.com.").unwrap(), "example.com");
        for bad in ["", "example.com:443", "https://example.com", "a b", "*"] {
            assert!(parse_allowed_host(bad).is_err(), "{bad:?}");
        }
    }
}
