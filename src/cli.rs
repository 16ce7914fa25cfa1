//! The command line: flags, environment variables, and `--help`.
//!
//! Flags are parsed by hand (the project uses no CLI crate): `--name value` or
//! `--name=value`. Every flag is one row of [`FLAGS`] (`flags.rs`), and both the
//! parser and `--help` are built from that table, so a flag cannot exist without its
//! help line. The `PORT`, `SSE_TOKEN`, `SSE_AUTH_SECRET`, `SSE_MERCURE_KEY` and
//! `SSE_REDIS_URL` environment variables are read too; a flag always wins over the environment. `sse-server token ...` mints a token
//! instead of serving (`mint.rs`).

use std::fmt;

use crate::auth::jwt::check_secret;
use crate::config::{Config, Secret};
use crate::flags::{FLAGS, set_number};
use crate::mint::{self, TokenCommand};
use crate::redis::url::RedisUrl;
use crate::routes::ROUTES;

/// The width of `--help`'s path column.
const ROUTE_PATH_WIDTH: usize = 11;

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Serve with this configuration.
    Run(Box<Config>),
    /// Print [`usage`] and exit.
    Help,
    /// Print the version and exit.
    Version,
    /// `sse-server token ...`: print a signed token.
    Token(TokenCommand),
}

/// A command line we cannot act on, with the flag it is about.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Reads the command line (without the program name) and the environment lookup
/// `env` (a function so tests need not touch the real environment).
pub fn parse_command_line(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Command, ConfigError> {
    let mut config = Config::default();
    if let Some(port) = env("PORT") {
        set_number(&mut config.port, &port).map_err(|why| ConfigError(format!("PORT: {why}")))?;
    }
    config.token = env("SSE_TOKEN")
        .filter(|token| !token.is_empty())
        .map(Secret::new);
    if let Some(secret) = env("SSE_AUTH_SECRET").filter(|secret| !secret.is_empty()) {
        config.auth_secret = Some(
            check_secret(&secret).map_err(|why| ConfigError(format!("SSE_AUTH_SECRET: {why}")))?,
        );
    }
    if let Some(key) = env("SSE_MERCURE_KEY").filter(|key| !key.is_empty()) {
        config.mercure.key =
            Some(check_secret(&key).map_err(|why| ConfigError(format!("SSE_MERCURE_KEY: {why}")))?);
    }

    if let Some(url) = env("SSE_REDIS_URL").filter(|url| !url.is_empty()) {
        config.redis = Some(
            RedisUrl::parse(&url).map_err(|why| ConfigError(format!("SSE_REDIS_URL: {why}")))?,
        );
    }

    let mut args = args.into_iter().peekable();
    if args.peek().is_some_and(|first| first == "token") {
        args.next();
        return mint::parse_token_command(args, config.auth_secret.take())
            .map(Command::Token)
            .map_err(ConfigError);
    }

    while let Some(arg) = args.next() {
        // Accept both `--port 8080` and `--port=8080`.
        let (name, inline_value) = match arg.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (arg.clone(), None),
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            _ => {}
        }
        let Some(flag) = FLAGS.iter().find(|flag| flag.name == name) else {
            return Err(ConfigError(format!(
                "unknown argument {name:?} (see --help)"
            )));
        };
        let Some(value) = inline_value.or_else(|| args.next()) else {
            return Err(ConfigError(format!("{name} needs a value (see --help)")));
        };
        (flag.set)(&mut config, &value)
            .map_err(|why| ConfigError(format!("{name}: {}: {why}", shown_value(&name, &value))))?;
    }
    if config.token.is_some() && config.auth_secret.is_some() {
        return Err(ConfigError(
            "--token and --auth-secret cannot be used together: with --auth-secret, \
             publishing needs a signed token whose publish claim names the topic"
                .into(),
        ));
    }
    Ok(Command::Run(Box::new(config)))
}

/// The text `--help` prints: the routes, then every flag with its default.
pub fn usage() -> String {
    let mut text = format!(
        "sse-server {}: a Server-Sent Events server, one thread per client.\n\n\
         USAGE:\n    sse-server [FLAGS]\n    sse-server token [--sub S] [--subscribe P] [--publish P] [--ttl 1h]\n\nROUTES:\n",
        env!("CARGO_PKG_VERSION")
    );
    let methods_width = ROUTES
        .iter()
        .map(|route| route.methods.join(", ").len())
        .max()
        .unwrap_or(0);
    for route in ROUTES {
        let methods = route.methods.join(", ");
        // A path too long for its column (Mercure's) puts its line of help below it.
        if route.path.len() > ROUTE_PATH_WIDTH {
            let indent = " ".repeat(4 + methods_width + 1 + 2);
            text += &format!(
                "    {methods:<methods_width$} {}\n{indent}{}\n",
                route.path, route.summary
            );
        } else {
            text += &format!(
                "    {methods:<methods_width$} {:<ROUTE_PATH_WIDTH$} {}\n",
                route.path, route.summary
            );
        }
    }
    text += "\nFLAGS:\n";
    for flag in FLAGS {
        let name = format!("{} {}", flag.name, flag.value);
        let default = (flag.default)();
        let default = if default.is_empty() {
            String::new()
        } else {
            format!(" [default: {default}]")
        };
        text += &format!("    {name:<24}{}{default}\n", flag.help);
    }
    text += "    -h, --help              print this help\n";
    text += "    -V, --version           print the version\n\n";
    text += "Logging goes to stderr; set RUST_LOG=debug for per-request detail.\n";
    text
}

/// A flag's value as an error message may show it: never a secret.
fn shown_value(name: &str, value: &str) -> String {
    if matches!(name, "--token" | "--auth-secret" | "--redis") {
        "(value hidden)".into()
    } else {
        format!("{value:?}")
    }
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
