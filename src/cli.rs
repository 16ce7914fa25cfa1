//! The command line: flags, environment variables, and `--help`.
//!
//! Flags are parsed by hand (the project uses no CLI crate): `--name value` or
//! `--name=value`, and switches (`--open`) alone. Every flag is one row of [`flags::all`]
//! (`flags/`) or [`SWITCHES`] (`switches.rs`), and the parser, `--help` and the
//! environment are all built from those tables, so a flag cannot exist without its
//! help line or its variable.
//!
//! **One rule for the environment:** every flag can also come from a variable named
//! `SSE_` and the flag's name in capitals, `-` as `_` ([`env_name`]): `--allowed-host`
//! is `SSE_ALLOWED_HOST`, `--no-demo` is `SSE_NO_DEMO=1`. A flag on the command line
//! wins over its variable; an empty variable counts as unset. Two older names are
//! still read when the rule's is unset: `PORT` (what platforms such as Heroku set)
//! and `SSE_REDIS_URL`. Flags that cannot take effect together are refused here, with
//! the fix in the message (`check_combination`). `sse-server token ...` mints a token
//! instead of serving (`mint.rs`).

use std::fmt;

use crate::auth::jwt::check_secret;
use crate::config::Config;
use crate::flags;
use crate::mint::{self, TokenCommand};
use crate::routes::ROUTES;
use crate::switches::{SWITCHES, parse_switch_value};

/// Older variable names, read for a flag when its `SSE_` variable is unset.
const OLDER_NAMES: &[(&str, &str)] = &[("--port", "PORT"), ("--redis", "SSE_REDIS_URL")];
/// Flags whose values are secrets: an error names them but never shows the value.
const SECRET_FLAGS: &[&str] = &["--token", "--auth-secret", "--redis"];
/// Flags that take effect only with `--redis`.
const REDIS_ONLY: &[&str] = &[
    "--redis-key",
    "--redis-max-len",
    "--redis-max-bytes",
    "--max-log-replays",
];

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
    // An empty variable counts as unset (an `EnvironmentFile=` line `SSE_TOKEN=`).
    let env = |name: &str| env(name).filter(|value| !value.is_empty());
    let mut args = args.into_iter().peekable();
    if args.peek().is_some_and(|first| first == "token") {
        args.next();
        let secret = match env("SSE_AUTH_SECRET") {
            Some(secret) => Some(
                check_secret(&secret)
                    .map_err(|why| ConfigError(format!("SSE_AUTH_SECRET: {why}")))?,
            ),
            None => None,
        };
        return mint::parse_token_command(args, secret)
            .map(Command::Token)
            .map_err(ConfigError);
    }

    // The command line first, only read: it decides which variables are looked at.
    let mut given: Vec<(&'static str, Option<String>)> = Vec::new();
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
        if let Some(switch) = SWITCHES.iter().find(|switch| switch.name == name) {
            if inline_value.is_some() {
                return Err(ConfigError(format!("{name} takes no value (see --help)")));
            }
            given.push((switch.name, None));
            continue;
        }
        let Some(flag) = flags::all().find(|flag| flag.name == name) else {
            return Err(ConfigError(format!(
                "unknown argument {name:?} (see --help)"
            )));
        };
        let Some(value) = inline_value.or_else(|| args.next()) else {
            return Err(ConfigError(format!("{name} needs a value (see --help)")));
        };
        given.push((flag.name, Some(value)));
    }

    let mut config = Config::default();
    let mut set_names: Vec<&'static str> = Vec::new();
    let on_command_line = |name: &str| given.iter().any(|(given, _)| *given == name);
    // Then the environment, for every flag the command line left out.
    for flag in flags::all().filter(|flag| !on_command_line(flag.name)) {
        let rule = env_name(flag.name);
        let older = OLDER_NAMES.iter().find(|(name, _)| *name == flag.name);
        let found = match env(&rule) {
            Some(value) => Some((rule, value)),
            None => older.and_then(|(_, old)| Some((old.to_string(), env(old)?))),
        };
        if let Some((variable, value)) = found {
            (flag.set)(&mut config, &value).map_err(|why| {
                let shown = shown_value(flag.name, &value);
                ConfigError(format!("{variable}: {shown}: {why}"))
            })?;
            set_names.push(flag.name);
        }
    }
    for switch in SWITCHES
        .iter()
        .filter(|switch| !on_command_line(switch.name))
    {
        let variable = env_name(switch.name);
        if let Some(value) = env(&variable) {
            let on = parse_switch_value(&value)
                .map_err(|why| ConfigError(format!("{variable}: {value:?} {why}")))?;
            if on {
                (switch.set)(&mut config);
                set_names.push(switch.name);
            }
        }
    }
    // Then the command line, which wins.
    for (name, value) in &given {
        set_names.push(name);
        match value {
            None => {
                let switch = SWITCHES.iter().find(|switch| switch.name == *name);
                (switch.expect("found above").set)(&mut config);
            }
            Some(value) => {
                let flag = flags::all().find(|flag| flag.name == *name);
                (flag.expect("found above").set)(&mut config, value).map_err(|why| {
                    ConfigError(format!("{name}: {}: {why}", shown_value(name, value)))
                })?;
            }
        }
    }
    check_combination(&config, &set_names)?;
    Ok(Command::Run(Box::new(config)))
}

/// The environment variable of a flag: `--allowed-host` is `SSE_ALLOWED_HOST`.
pub fn env_name(flag: &str) -> String {
    let name = flag.trim_start_matches('-').to_ascii_uppercase();
    format!("SSE_{}", name.replace('-', "_"))
}

/// Refuses settings that cannot take effect together, or that would leave a server
/// reachable from the network open to anyone's publishes without being asked to;
/// each message says how to fix it. `set` names the flags given (either way).
fn check_combination(config: &Config, set: &[&str]) -> Result<(), ConfigError> {
    let refuse = |message: String| Err(ConfigError(message));
    let checked = config.token.is_some() || config.auth_secret.is_some();
    if config.token.is_some() && config.auth_secret.is_some() {
        return refuse(
            "--token and --auth-secret cannot be used together: with --auth-secret, \
             publishing needs a signed token whose publish claim names the topic; drop one"
                .into(),
        );
    }
    if !config.public_topics.is_empty() && config.auth_secret.is_none() {
        return refuse(
            "--public needs --auth-secret: without it every topic is public already (and \
             anyone may publish); add --auth-secret S (or SSE_AUTH_SECRET), or drop --public"
                .into(),
        );
    }
    if config.open && checked {
        return refuse(
            "--open lets anyone publish, but --token or --auth-secret says who may: drop one"
                .into(),
        );
    }
    let behind_proxy = !config.trusted_proxies.is_empty();
    if !checked && !config.open && (!config.bind.is_loopback() || behind_proxy) {
        let reachable = if behind_proxy {
            "behind --trusted-proxy".to_string()
        } else {
            format!("on {}", config.bind)
        };
        return refuse(format!(
            "refusing to start open {reachable}: anyone who reaches it could publish. \
             Check publishers with --auth-secret S or --token T (or SSE_AUTH_SECRET, \
             SSE_TOKEN), or pass --open to run it open on purpose"
        ));
    }
    if config.redis.is_none()
        && let Some(flag) = REDIS_ONLY.iter().find(|flag| set.contains(flag))
    {
        return refuse(format!(
            "{flag} takes effect only with --redis URL (or SSE_REDIS_URL): add it, or drop {flag}"
        ));
    }
    if let Some(admin) = config.admin_bind
        && admin.ip() == config.bind
        && admin.port() == config.port
        && admin.port() != 0
    {
        return refuse(format!(
            "--admin-bind {admin} is the public address too: give it another port"
        ));
    }
    Ok(())
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
    for flag in flags::all() {
        let name = format!("{} {}", flag.name, flag.value);
        let default = (flag.default)();
        let default = if default.is_empty() {
            String::new()
        } else {
            format!(" [default: {default}]")
        };
        let env = env_name(flag.name);
        text += &format!("    {name:<23} {}{default} [env: {env}]\n", flag.help);
    }
    for switch in SWITCHES {
        let env = env_name(switch.name);
        text += &format!("    {:<23} {} [env: {env}=1]\n", switch.name, switch.help);
    }
    text += "    -h, --help              print this help\n";
    text += "    -V, --version           print the version\n\n";
    text += "ENVIRONMENT:\n    \
             Every flag can come from the variable in its [env: ...]: SSE_ and the flag's\n    \
             name in capitals, - as _. The command line wins; an empty variable is unset.\n    \
             PORT and SSE_REDIS_URL are read too, when SSE_PORT and SSE_REDIS are unset.\n\n";
    text += "Logging goes to stderr; set RUST_LOG=debug for per-request detail.\n";
    text
}

/// A flag's value as an error message may show it: never a secret.
fn shown_value(name: &str, value: &str) -> String {
    if SECRET_FLAGS.contains(&name) {
        "(value hidden)".into()
    } else {
        format!("{value:?}")
    }
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
