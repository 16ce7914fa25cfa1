//! Every flag that takes a value: one row each, from which the parser and `--help`
//! are built (`cli.rs`). A row says the flag's name, what its value is, one line of
//! help, the default, and how the value is checked and stored in [`Config`].

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use crate::auth::jwt::check_secret;
use crate::auth::patterns::{Pattern, SUBJECT};
use crate::config::{self, Config, Secret};
use crate::http::cors::parse_allowed_origin;
use crate::http::host::parse_allowed_host;
use crate::mercure::namespace::HubUrl;
use crate::redis::url::RedisUrl;

/// One flag that takes a value.
pub struct Flag {
    /// `--name`.
    pub name: &'static str,
    /// What the value is, for `--help`: `N`, `ADDR`...
    pub value: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// The default as `--help` shows it; empty for none.
    pub default: fn() -> String,
    /// Stores the value in the configuration, or says what is wrong with it.
    pub set: fn(&mut Config, &str) -> Result<(), String>,
}

/// Every flag that takes a value, in `--help` order.
mod access;
mod budgets;
mod lifecycle;
mod mercure;
mod redis;
mod serving;

/// The flags that take a value, by group, one file each, in `--help` order.
const GROUPS: &[&[Flag]] = &[
    serving::FLAGS,
    budgets::FLAGS,
    access::FLAGS,
    redis::FLAGS,
    lifecycle::FLAGS,
    mercure::FLAGS,
];

/// Every flag that takes a value, in `--help` order.
pub fn all() -> impl Iterator<Item = &'static Flag> + Clone {
    GROUPS.iter().flat_map(|group| group.iter())
}

/// An IP address; a host name gets a hint, since the listener binds addresses only.
fn parse_ip(value: &str) -> Result<IpAddr, String> {
    value.parse().map_err(|_| match value {
        "localhost" => "not an IP address: for loopback use 127.0.0.1 (or ::1)".to_string(),
        _ => "not an IP address (such as 127.0.0.1, 0.0.0.0 or ::)".to_string(),
    })
}

/// A TCP port: 0 to 65535 (0 lets the OS pick one).
fn parse_port(value: &str) -> Result<u16, String> {
    let number: u64 = value
        .parse()
        .map_err(|_| "is not a port number (0 to 65535)".to_string())?;
    u16::try_from(number).map_err(|_| "is out of range: a port is 0 to 65535".to_string())
}

fn set_token(config: &mut Config, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("the token must not be empty".into());
    }
    config.token = Some(Secret::new(value));
    Ok(())
}

/// The secret in the file at `path`, without the line end an editor or `echo` leaves
/// after it. A command line is readable by every local user (`ps`, `/proc/PID/cmdline`),
/// a file only by whom its permissions say. The error names the file, never its text.
fn read_secret_file(path: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read the file {path:?}: {error}"))?;
    let secret = text.strip_suffix('\n').unwrap_or(&text);
    Ok(secret.strip_suffix('\r').unwrap_or(secret).to_string())
}

fn check_public_pattern(pattern: &str) -> Result<Pattern, String> {
    if pattern.contains(SUBJECT) {
        return Err(format!(
            "{SUBJECT} needs a token, and public topics have none"
        ));
    }
    Pattern::parse(pattern)
}

/// Stores a number, or says it is not one.
pub fn set_number<T: FromStr>(field: &mut T, value: &str) -> Result<(), String> {
    *field = value
        .parse()
        .map_err(|_| "is not a valid number".to_string())?;
    Ok(())
}

fn set_positive<T: FromStr + Default + PartialEq>(
    field: &mut T,
    value: &str,
) -> Result<(), String> {
    let mut number = T::default();
    set_number(&mut number, value)?;
    if number == T::default() {
        return Err("must be greater than 0".into());
    }
    *field = number;
    Ok(())
}

fn set_positive_option(field: &mut Option<usize>, value: &str) -> Result<(), String> {
    let mut number = 0;
    set_positive(&mut number, value)?;
    *field = Some(number);
    Ok(())
}

fn set_millis(field: &mut Duration, value: &str) -> Result<(), String> {
    let mut millis = 0;
    set_number(&mut millis, value)?;
    *field = Duration::from_millis(millis);
    Ok(())
}

fn set_positive_millis(field: &mut Duration, value: &str) -> Result<(), String> {
    let mut millis = 0u64;
    set_positive(&mut millis, value)?;
    *field = Duration::from_millis(millis);
    Ok(())
}

fn set_secs(field: &mut Duration, value: &str) -> Result<(), String> {
    let mut secs = 0u64;
    set_positive(&mut secs, value)?;
    *field = Duration::from_secs(secs);
    Ok(())
}
