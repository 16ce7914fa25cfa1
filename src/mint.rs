//! `sse-server token`: mint a token with the server's secret, for trying things by hand.
//!
//! ```text
//! $ export SSE_AUTH_SECRET=$(openssl rand -hex 32)
//! $ sse-server token --sub alice --subscribe 'users/{sub}/*' --publish 'chat/*' --ttl 1h
//! eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIs...
//! ```
//!
//! In production the app's backend mints tokens with its own JWT library;
//! `docs/topics.md` shows the few lines it takes in Python and Node. This command builds the same
//! claims (`sub`, `subscribe`, `publish`, `iat`, `exp`) and signs them with `jwt.rs`.

use std::time::Duration;

use crate::auth::gate::unix_now;
use crate::auth::json::quote;
use crate::auth::jwt;
use crate::auth::jwt::check_secret;
use crate::auth::patterns::Pattern;
use crate::config::Secret;

/// The lifetime of a token when `--ttl` is not given.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);
/// The longest lifetime `--ttl` accepts: a token should expire within a human's memory.
pub const MAX_TTL: Duration = Duration::from_secs(366 * 86_400);

/// What `sse-server token ...` asks for.
#[derive(Debug)]
pub enum TokenCommand {
    /// Print [`HELP`].
    Help,
    /// Print a token.
    Mint(TokenRequest),
}

/// The token to mint.
#[derive(Debug)]
pub struct TokenRequest {
    pub secret: Secret,
    pub subject: Option<String>,
    pub subscribe: Vec<String>,
    pub publish: Vec<String>,
    pub ttl: Duration,
}

pub const HELP: &str = "sse-server token: print a token signed with the server's secret.

USAGE:
    sse-server token [--sub S] [--subscribe PATTERN]... [--publish PATTERN]... [--ttl T]

FLAGS:
    --sub S                 who the bearer is; fills in {sub} in patterns
    --subscribe PATTERN     topics the bearer may follow (repeat, or comma-separated)
    --publish PATTERN       topics the bearer may publish to (repeat, or comma-separated)
    --ttl T                 lifetime: 90s, 15m, 1h, 7d, or seconds [default: 1h]
    --auth-secret S         the secret (or $SSE_AUTH_SECRET)

A pattern is a topic name, or a prefix ending in '*': 'orders/*', 'users/{sub}/*', '*'.
";

impl TokenRequest {
    /// The claims as JSON, issued at `now` (seconds since the Unix epoch).
    pub fn claims(&self, now: i64) -> String {
        let list = |patterns: &[String]| {
            let quoted: Vec<String> = patterns.iter().map(|pattern| quote(pattern)).collect();
            format!("[{}]", quoted.join(","))
        };
        let mut claims = String::from("{");
        if let Some(subject) = &self.subject {
            claims += &format!("\"sub\":{},", quote(subject));
        }
        claims += &format!(
            "\"subscribe\":{},\"publish\":{},\"iat\":{now},\"exp\":{}}}",
            list(&self.subscribe),
            list(&self.publish),
            now + self.ttl.as_secs() as i64
        );
        claims
    }

    /// The signed token, issued now.
    pub fn mint(&self) -> String {
        jwt::sign(&self.claims(unix_now()), self.secret.expose().as_bytes())
    }
}

/// Reads the flags after `token`. `secret` is `$SSE_AUTH_SECRET`, if set.
pub fn parse_token_command(
    args: impl Iterator<Item = String>,
    mut secret: Option<Secret>,
) -> Result<TokenCommand, String> {
    let error = |text: String| format!("token: {text}");
    let mut request = TokenRequest {
        secret: Secret::new(""),
        subject: None,
        subscribe: Vec::new(),
        publish: Vec::new(),
        ttl: DEFAULT_TTL,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline_value) = match arg.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (arg.clone(), None),
        };
        if name == "-h" || name == "--help" {
            return Ok(TokenCommand::Help);
        }
        let Some(value) = inline_value.or_else(|| args.next()) else {
            return Err(error(format!(
                "{name} needs a value (see sse-server token --help)"
            )));
        };
        match name.as_str() {
            "--sub" => request.subject = Some(value),
            "--subscribe" | "--publish" => {
                for pattern in value.split(',').map(str::trim) {
                    Pattern::parse(pattern).map_err(|why| error(format!("{name}: {why}")))?;
                    let list = if name == "--subscribe" {
                        &mut request.subscribe
                    } else {
                        &mut request.publish
                    };
                    list.push(pattern.to_string());
                }
            }
            "--ttl" => {
                request.ttl = parse_ttl(&value).map_err(|why| error(format!("--ttl: {why}")))?;
            }
            "--auth-secret" => {
                secret = Some(
                    check_secret(&value).map_err(|why| error(format!("--auth-secret: {why}")))?,
                );
            }
            _ => {
                return Err(error(format!(
                    "unknown argument {name:?} (see sse-server token --help)"
                )));
            }
        }
    }
    request.secret = secret.ok_or_else(|| {
        error("needs the server's secret: --auth-secret S or $SSE_AUTH_SECRET".into())
    })?;
    Ok(TokenCommand::Mint(request))
}

/// `90s`, `15m`, `1h`, `7d`, or a number of seconds.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text, "s"),
    };
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: use a number with s, m, h or d")),
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: use a number with s, m, h or d"))?;
    match number.checked_mul(seconds_per_unit) {
        Some(0) => Err("must be greater than 0".into()),
        Some(seconds) if seconds <= MAX_TTL.as_secs() => Ok(Duration::from_secs(seconds)),
        _ => Err(format!("{text:?} is longer than a year")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::jwt::verify;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn args(list: &[&str]) -> impl Iterator<Item = String> {
        list.iter()
            .map(|arg| arg.to_string())
            .collect::<Vec<_>>()
            .into_iter()
    }

    fn mint_request(list: &[&str], secret: Option<Secret>) -> Result<TokenRequest, String> {
        match parse_token_command(args(list), secret)? {
            TokenCommand::Mint(request) => Ok(request),
            TokenCommand::Help => Err("help".into()),
        }
    }

    #[test]
    fn a_minted_token_verifies_with_its_claims() {
        let request = mint_request(
            &[
                "--sub",
                "al\"ice",
                "--subscribe",
                "users/{sub}/*,news",
                "--publish=chat/*",
                "--ttl",
                "15m",
            ],
            Some(Secret::new(SECRET)),
        )
        .unwrap();
        let claims = verify(&request.mint(), SECRET.as_bytes(), unix_now()).unwrap();
        assert_eq!(claims.subject.as_deref(), Some("al\"ice"));
        assert_eq!(claims.subscribe.len(), 2);
        assert!(claims.publish[0].matches("chat/room", None));
        let lifetime = claims.expires_at - unix_now();
        assert!((899..=900).contains(&lifetime), "{lifetime}");
    }

    #[test]
    fn it_needs_a_secret_and_good_flags() {
        assert!(mint_request(&[], None).is_err());
        let secret = || Some(Secret::new(SECRET));
        assert!(mint_request(&["--subscribe", "a*b"], secret()).is_err());
        assert!(mint_request(&["--ttl", "soon"], secret()).is_err());
        assert!(mint_request(&["--auth-secret", "short"], None).is_err());
        assert!(mint_request(&["--bogus", "1"], secret()).is_err());
        assert!(mint_request(&["--auth-secret", SECRET], None).is_ok());
        assert!(matches!(
            parse_token_command(args(&["--help"]), None),
            Ok(TokenCommand::Help)
        ));
    }

    #[test]
    fn lifetimes() {
        assert_eq!(parse_ttl("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_ttl("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_ttl("120"), Ok(Duration::from_secs(120)));
        assert!(parse_ttl("0").is_err());
        assert!(parse_ttl("1w").is_err());
        assert!(parse_ttl("h").is_err());
        assert!(parse_ttl("367d").is_err());
        assert!(parse_ttl("99999999999999999999d").is_err());
    }
}
