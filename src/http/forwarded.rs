//! Behind a reverse proxy: who the client really is, and whether it used HTTPS.
//!
//! Behind nginx every connection comes from nginx's address, and over plain HTTP. The
//! proxy says what it saw in two headers (`deploy/nginx.conf` sets them):
//!
//! ```text
//! X-Forwarded-For: 203.0.113.7            the client's address (a list, if several
//!                                          proxies were passed: each appends one)
//! X-Forwarded-Proto: https                 the scheme the client used
//! ```
//!
//! Anyone can send those headers, so they are believed only from the peers named with
//! `--trusted-proxy`. From anyone else they are ignored: a client cannot hide its
//! address in the logs, nor pass the publish form's same-origin check with a forged
//! scheme. In a list, the client is the rightmost address: the one the trusted proxy
//! appended itself. Entries to its left came with the request and may be forged (like
//! nginx's `real_ip_recursive off`).

use std::net::{IpAddr, SocketAddr};

use crate::http::request::Request;

/// What the server believes about the client behind a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientView {
    /// For log lines: the peer, or `client via proxy` when a trusted proxy forwarded.
    pub label: String,
    /// `https` when a trusted proxy says the client used TLS, else `http`.
    pub scheme: &'static str,
    /// The TCP peer's address: what a client's share is counted by (`shares.rs`).
    pub peer: IpAddr,
}

impl ClientView {
    /// The view of a connection before any request is read: just the peer.
    pub fn direct(peer: SocketAddr) -> ClientView {
        ClientView {
            label: peer.to_string(),
            scheme: "http",
            peer: peer.ip(),
        }
    }

    /// The view for `request`, arriving from `peer`.
    pub fn of(request: &Request, peer: SocketAddr, trusted: &[IpAddr]) -> ClientView {
        if !trusted.contains(&peer.ip()) {
            return ClientView::direct(peer);
        }
        let client: Option<IpAddr> = request
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("x-forwarded-for"))
            .flat_map(|(_, value)| value.split(','))
            .last()
            .and_then(|entry| entry.trim().parse().ok());
        let label = match client {
            Some(client) => format!("{client} via {peer}"),
            None => peer.to_string(),
        };
        let https = request
            .header("x-forwarded-proto")
            .and_then(|value| value.split(',').next())
            .is_some_and(|scheme| scheme.trim().eq_ignore_ascii_case("https"));
        ClientView {
            label,
            scheme: if https { "https" } else { "http" },
            peer: peer.ip(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::head::parse_head;

    const PROXY: &str = "127.0.0.1:40000";

    fn view(from: &str, headers: &str, trusted: &[&str]) -> ClientView {
        let request =
            parse_head(format!("GET / HTTP/1.1\r\nHost: example.com\r\n{headers}\r\n").as_bytes())
                .unwrap();
        let trusted: Vec<IpAddr> = trusted.iter().map(|ip| ip.parse().unwrap()).collect();
        ClientView::of(&request, from.parse().unwrap(), &trusted)
    }

    #[test]
    fn a_trusted_proxy_is_believed() {
        let seen = view(
            PROXY,
            "X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n",
            &["127.0.0.1"],
        );
        assert_eq!(seen.label, "203.0.113.7 via 127.0.0.1:40000");
        assert_eq!(seen.scheme, "https");
    }

    #[test]
    fn anyone_else_is_not() {
        let seen = view(
            "198.51.100.2:5000",
            "X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n",
            &["127.0.0.1"],
        );
        assert_eq!(
            seen,
            ClientView::direct("198.51.100.2:5000".parse().unwrap())
        );
        // Without --trusted-proxy, nobody is.
        assert_eq!(
            view(PROXY, "X-Forwarded-Proto: https\r\n", &[]).scheme,
            "http"
        );
    }

    #[test]
    fn the_client_is_the_address_the_proxy_appended() {
        // The client wrote the first entry itself; nginx appended the real address.
        let seen = view(
            PROXY,
            "X-Forwarded-For: 10.9.9.9, 203.0.113.7\r\n",
            &["127.0.0.1"],
        );
        assert_eq!(seen.label, "203.0.113.7 via 127.0.0.1:40000");
        assert_eq!(seen.scheme, "http");
        let garbage = view(
            PROXY,
            "X-Forwarded-For: 203.0.113.7, not-an-address\r\n",
            &["127.0.0.1"],
        );
        assert_eq!(garbage.label, PROXY);
    }
}
