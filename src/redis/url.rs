//! Where Redis is: `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`, the form every Redis
//! client takes (IANA's provisional `redis` URI scheme).
//!
//! ```text
//! redis://127.0.0.1:6379          no password, database 0
//! redis://:s3cret@redis:6379/2    AUTH s3cret, then SELECT 2
//! redis://app:s3cret@[::1]        AUTH app s3cret (a Redis 6 ACL user)
//! ```
//!
//! A password with `@`, `:` or `/` in it is written percent-encoded (`%40`). The
//! password is a [`Secret`]; the URL's `Display` leaves it out, so the URL can be
//! logged.
//!
//! An error never quotes the URL, not even the part it is about: in a mistyped URL we
//! cannot tell the password from the rest (`redis://app:pa/ss@host` puts `pa` where a
//! port would be and `ss@host` where the database would be), so an error names the
//! part that is wrong, and start-up errors go to logs and terminals.

use std::fmt;

use crate::secret::Secret;

/// The port Redis listens on unless told otherwise.
pub const DEFAULT_REDIS_PORT: u16 = 6379;

/// A parsed `redis://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisUrl {
    /// A host name, an IPv4 address, or an IPv6 address without its brackets.
    pub host: String,
    pub port: u16,
    /// The ACL user, when the URL names one.
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// The database `SELECT`ed after connecting.
    pub db: u32,
}

impl RedisUrl {
    /// Parses a URL; the error names the part that is wrong, and quotes none of it.
    pub fn parse(url: &str) -> Result<RedisUrl, String> {
        let rest = url
            .strip_prefix("redis://")
            .ok_or("must start with redis:// (TLS to Redis is not supported)")?;
        // The authority ends at the first `/` (RFC 3986 section 3.2), so a `/` in a
        // password ends it early and leaves the `@` in the path, the usual mistake.
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if path.contains('@') {
            return Err(
                "there is an @ after the first /: write a / in the user name or \
                        password as %2F"
                    .into(),
            );
        }
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(userinfo), host_port),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(userinfo) => {
                let (user, password) = userinfo.split_once(':').unwrap_or(("", userinfo));
                let user = decode(user).ok_or("bad percent-encoding in the user name")?;
                let password = decode(password).ok_or("bad percent-encoding in the password")?;
                (
                    (!user.is_empty()).then_some(user),
                    (!password.is_empty()).then(|| Secret::new(password)),
                )
            }
        };
        let (host, port) = split_host_port(host_port)?;
        let db = match path {
            "" => 0,
            db => db
                .parse()
                .map_err(|_| "the database (after the /) is not a number".to_string())?,
        };
        Ok(RedisUrl {
            host,
            port,
            username,
            password,
            db,
        })
    }

    /// `host:port` as `TcpStream::connect` takes it (`[::1]:6379` for IPv6).
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The URL without its password: safe for a log line.
impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis://{}/{}", self.address(), self.db)
    }
}

fn split_host_port(host_port: &str) -> Result<(String, u16), String> {
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or("an IPv6 address needs its closing ]")?;
        let port = match after {
            "" => None,
            after => Some(
                after
                    .strip_prefix(':')
                    .ok_or("junk after the IPv6 address")?,
            ),
        };
        (host, port)
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Err("the URL names no host".into());
    }
    let port = match port {
        None => DEFAULT_REDIS_PORT,
        Some(port) => port
            .parse()
            .map_err(|_| "the port (after the host's :) is not a number from 0 to 65535")?,
    };
    Ok((host.to_string(), port))
}

/// `%XX` escapes to bytes (no `+`-for-space here: that is HTML forms, not URLs).
fn decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut input = text.bytes();
    while let Some(byte) = input.next() {
        if byte == b'%' {
            let mut digit = || (input.next()? as char).to_digit(16);
            let high = digit()?;
            let low = digit()?;
            bytes.push((high * 16 + low) as u8);
        } else {
            bytes.push(byte);
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_forms_parse() {
        let url = RedisUrl::parse("redis://127.0.0.1:6380").unwrap();
        assert_eq!(
            (url.host.as_str(), url.port, url.db),
            ("127.0.0.1", 6380, 0)
        );
        assert_eq!((url.username, url.password), (None, None));

        let url = RedisUrl::parse("redis://:p%40ss@redis/2").unwrap();
        assert_eq!((url.host.as_str(), url.port, url.db), ("redis", 6379, 2));
        assert_eq!(url.password, Some(Secret::new("p@ss")));
        assert_eq!(url.username, None);

        let url = RedisUrl::parse("redis://app:pw@[::1]:7000/").unwrap();
        assert_eq!(url.address(), "[::1]:7000");
        assert_eq!(url.username.as_deref(), Some("app"));
        assert_eq!(url.password, Some(Secret::new("pw")));
    }

    #[test]
    fn the_password_never_shows() {
        let url = RedisUrl::parse("redis://:hunter2@localhost:6379/1").unwrap();
        assert_eq!(url.to_string(), "redis://localhost:6379/1");
        assert!(!format!("{url:?}").contains("hunter2"));
    }

    #[test]
    fn mistakes_are_named() {
        for (bad, why) in [
            ("http://localhost", "redis://"),
            ("rediss://localhost", "redis://"),
            ("redis://", "no host"),
            ("redis://:pw@", "no host"),
            ("redis://host:port", "port"),
            ("redis://host:70000", "port"),
            ("redis://host/db", "database"),
            ("redis://[::1", "closing ]"),
            ("redis://:%zz@host", "percent-encoding"),
        ] {
            let error = RedisUrl::parse(bad).unwrap_err();
            assert!(error.contains(why), "{bad}: {error}");
        }
        assert!(
            !RedisUrl::parse("redis://:secret@host:x")
                .unwrap_err()
                .contains("secret")
        );
    }

    #[test]
    fn no_error_quotes_any_part_of_the_url() {
        // Each of these is a password with a `/` that was not written %2F, or some
        // other mistake; the error must name the part, and repeat none of the text.
        for (bad, names) in [
            (
                "redis://app:Sup3rS3cret/Part2@h:6379",
                "@ after the first /",
            ),
            (
                "redis://app:12345/Tail0fPassw0rd@h:6379",
                "@ after the first /",
            ),
            (
                "redis://Sup3rS3cret:Part2@h:6379/Tail0fPassw0rd",
                "database",
            ),
            ("redis://app:Sup3rS3cret", "port"),
            ("redis://Sup3rS3cret:Tail0fPassw0rd", "port"),
            ("redis://[::1]Sup3rS3cret", "IPv6"),
        ] {
            let error = RedisUrl::parse(bad).unwrap_err();
            assert!(error.contains(names), "{bad}: {error}");
            for part in [
                "Sup3rS3cret",
                "Part2",
                "Tail0fPassw0rd",
                "12345",
                "app",
                "6379",
            ] {
                assert!(!error.contains(part), "{bad}: {error} quotes {part}");
            }
        }
    }
}
