//! Every setting the server has, its default, and the command line that changes it.
//!
//! Flags are parsed by hand (the project uses no CLI crate): `--name value` or
//! `--name=value`. The `PORT` and `SSE_TOKEN` environment variables are read too, and a
//! flag always wins over the environment. Every limit and interval lives here so that
//! tests can shrink them to milliseconds.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// The address we listen on unless told otherwise: loopback, so a first `make run`
/// is not reachable from the network.
pub const DEFAULT_BIND: &str = "127.0.0.1";
/// The port from the seed tutorial.
pub const DEFAULT_PORT: u16 = 5000;
/// Time between two events of the counter and clock streams.
pub const DEFAULT_INTERVAL_MS: u64 = 1000;
/// How many events the counter stream sends before `event: close`.
pub const DEFAULT_COUNT: u64 = 5;
/// Proxies commonly cut connections that are silent for 30-60 s; 15 s stays under that.
pub const DEFAULT_HEARTBEAT_S: u64 = 15;
/// The reconnection delay we ask browsers to use (the `retry:` field).
pub const DEFAULT_RETRY_MS: u64 = 3000;
/// The whole request head must arrive within this time.
pub const DEFAULT_HEAD_TIMEOUT_S: u64 = 10;
/// A single write that cannot finish in this time means the client stopped reading.
pub const DEFAULT_WRITE_TIMEOUT_S: u64 = 10;
/// How many published messages the hub keeps for replay.
pub const DEFAULT_HISTORY: usize = 1000;
/// The largest body `POST /publish` accepts.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// The largest request head (request line plus headers) we read.
pub const DEFAULT_MAX_HEAD_BYTES: usize = 8 * 1024;
/// The most header lines a request head may carry.
pub const DEFAULT_MAX_HEADER_LINES: usize = 100;
/// How long Ctrl-C waits for open streams to finish before the process exits anyway.
pub const DEFAULT_SHUTDOWN_GRACE_MS: u64 = 1000;
/// Stack reserved for each client thread. Only the pages a thread touches become
/// resident; a small reservation keeps the address space of 10,000 threads modest.
pub const DEFAULT_THREAD_STACK_BYTES: usize = 128 * 1024;

/// The settings of one server.
#[derive(Clone, Debug)]
pub struct Config {
    /// The IP address to listen on.
    pub bind: IpAddr,
    /// The TCP port; 0 asks the OS for a free one.
    pub port: u16,
    /// Time between events of the counter and clock streams.
    pub interval: Duration,
    /// Events in the counter stream before it closes.
    pub count: u64,
    /// Longest silence on a stream before a `: keep-alive` comment is sent.
    pub heartbeat_interval: Duration,
    /// The `retry:` value sent at the start of every stream.
    pub retry: Duration,
    /// Deadline for a whole request head (and for a request body).
    pub head_timeout: Duration,
    /// Deadline for one write to a client.
    pub write_timeout: Duration,
    /// Messages kept for replay after a reconnect.
    pub history: usize,
    /// Largest accepted `POST /publish` body, in bytes.
    pub max_message_bytes: usize,
    /// Largest accepted request head, in bytes (431 beyond).
    pub max_head_bytes: usize,
    /// Most header lines in a request head (431 beyond).
    pub max_header_lines: usize,
    /// Most connections served at once; the next one gets 503.
    pub max_clients: usize,
    /// When set, publishing needs `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Origins, besides the server's own, whose pages may publish (`*` for any).
    pub allowed_origins: Vec<String>,
    /// How long shutdown waits for open streams to end.
    pub shutdown_grace: Duration,
    /// Stack size of each client thread.
    pub thread_stack_bytes: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            bind: DEFAULT_BIND
                .parse()
                .expect("DEFAULT_BIND is a valid IP address"),
            port: DEFAULT_PORT,
            interval: Duration::from_millis(DEFAULT_INTERVAL_MS),
            count: DEFAULT_COUNT,
            heartbeat_interval: Duration::from_secs(DEFAULT_HEARTBEAT_S),
            retry: Duration::from_millis(DEFAULT_RETRY_MS),
            head_timeout: Duration::from_secs(DEFAULT_HEAD_TIMEOUT_S),
            write_timeout: Duration::from_secs(DEFAULT_WRITE_TIMEOUT_S),
            history: DEFAULT_HISTORY,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_head_bytes: DEFAULT_MAX_HEAD_BYTES,
            max_header_lines: DEFAULT_MAX_HEADER_LINES,
            max_clients: crate::limits::default_max_clients(),
            token: None,
            allowed_origins: Vec::new(),
            shutdown_grace: Duration::from_millis(DEFAULT_SHUTDOWN_GRACE_MS),
            thread_stack_bytes: DEFAULT_THREAD_STACK_BYTES,
        }
    }
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Serve with this configuration.
    Run(Box<Config>),
    /// Print [`usage`] and exit.
    Help,
    /// Print the version and exit.
    Version,
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
        config.port = parse_number("PORT", &port)?;
    }
    config.token = env("SSE_TOKEN").filter(|token| !token.is_empty());

    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // Accept both `--port 8080` and `--port=8080`.
        let (flag, inline_value) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_string(), Some(value.to_string())),
            None => (arg.clone(), None),
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            _ => {}
        }
        let value = match inline_value.or_else(|| args.next()) {
            Some(value) => value,
            None if flag.starts_with('-') && is_known_flag(&flag) => {
                return Err(ConfigError(format!("{flag} needs a value (see --help)")));
            }
            None => return Err(unknown_argument(&flag)),
        };
        match flag.as_str() {
            "--bind" => {
                config.bind = value
                    .parse()
                    .map_err(|_| ConfigError(format!("--bind: {value:?} is not an IP address")))?;
            }
            "--port" => config.port = parse_number(&flag, &value)?,
            "--interval-ms" => {
                config.interval = Duration::from_millis(parse_number(&flag, &value)?)
            }
            "--count" => config.count = parse_number(&flag, &value)?,
            "--heartbeat-s" => {
                config.heartbeat_interval = Duration::from_secs(parse_positive(&flag, &value)?)
            }
            "--retry-ms" => config.retry = Duration::from_millis(parse_number(&flag, &value)?),
            "--head-timeout-s" => {
                config.head_timeout = Duration::from_secs(parse_positive(&flag, &value)?)
            }
            "--write-timeout-s" => {
                config.write_timeout = Duration::from_secs(parse_positive(&flag, &value)?)
            }
            "--history" => config.history = parse_positive(&flag, &value)?,
            "--max-message-bytes" => config.max_message_bytes = parse_positive(&flag, &value)?,
            "--max-clients" => config.max_clients = parse_positive(&flag, &value)?,
            "--token" => {
                if value.is_empty() {
                    return Err(ConfigError("--token: the token must not be empty".into()));
                }
                config.token = Some(value);
            }
            "--allow-origin" => config
                .allowed_origins
                .extend(value.split(',').map(|origin| origin.trim().to_string())),
            _ => return Err(unknown_argument(&flag)),
        }
    }
    Ok(Command::Run(Box::new(config)))
}

/// The text `--help` prints: every flag with its default.
pub fn usage() -> String {
    format!(
        "\
sse-server {version}: a Server-Sent Events server, one thread per client.

USAGE:
    sse-server [FLAGS]

ROUTES:
    GET  /            counter stream (a browser gets the demo page)
    GET  /events      clock stream, never ends
    GET  /subscribe   broadcast stream; Last-Event-ID replays what was missed
    POST /publish     publish the body to every subscriber (?event=TYPE)
    GET  /stats       counters as JSON

FLAGS:
    --bind ADDR             IP address to listen on          [default: {bind}]
    --port N                TCP port, 0 for any free one      [default: {port}, or $PORT]
    --interval-ms N         time between counter/clock events [default: {interval}]
    --count N               events in the counter stream      [default: {count}]
    --heartbeat-s N         silence before a keep-alive line  [default: {heartbeat}]
    --retry-ms N            reconnect delay sent as retry:    [default: {retry}]
    --head-timeout-s N      deadline for a request head (408) [default: {head_timeout}]
    --write-timeout-s N     drop a client that stops reading  [default: {write_timeout}]
    --history N             messages kept for replay          [default: {history}]
    --max-message-bytes N   largest publish body (413)        [default: {max_message}]
    --max-clients N         connections at once (503 beyond)  [default: {max_clients}, from OS limits]
    --token T               require Authorization: Bearer T to publish [or $SSE_TOKEN]
    --allow-origin O        let pages from origin O publish (repeat, or *)
    -h, --help              print this help
    -V, --version           print the version

Logging goes to stderr; set RUST_LOG=debug for per-request detail.
",
        version = env!("CARGO_PKG_VERSION"),
        bind = DEFAULT_BIND,
        port = DEFAULT_PORT,
        interval = DEFAULT_INTERVAL_MS,
        count = DEFAULT_COUNT,
        heartbeat = DEFAULT_HEARTBEAT_S,
        retry = DEFAULT_RETRY_MS,
        head_timeout = DEFAULT_HEAD_TIMEOUT_S,
        write_timeout = DEFAULT_WRITE_TIMEOUT_S,
        history = DEFAULT_HISTORY,
        max_message = DEFAULT_MAX_MESSAGE_BYTES,
        max_clients = crate::limits::default_max_clients(),
    )
}

/// Every flag that takes a value, as `--help` lists them.
pub const VALUE_FLAGS: &[&str] = &[
    "--bind",
    "--port",
    "--interval-ms",
    "--count",
    "--heartbeat-s",
    "--retry-ms",
    "--head-timeout-s",
    "--write-timeout-s",
    "--history",
    "--max-message-bytes",
    "--max-clients",
    "--token",
    "--allow-origin",
];

fn is_known_flag(flag: &str) -> bool {
    VALUE_FLAGS.contains(&flag)
}

fn unknown_argument(arg: &str) -> ConfigError {
    ConfigError(format!("unknown argument {arg:?} (see --help)"))
}

fn parse_number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ConfigError> {
    value
        .parse()
        .map_err(|_| ConfigError(format!("{name}: {value:?} is not a valid number")))
}

fn parse_positive<T: std::str::FromStr + Default + PartialEq>(
    name: &str,
    value: &str,
) -> Result<T, ConfigError> {
    let number: T = parse_number(name, value)?;
    if number == T::default() {
        return Err(ConfigError(format!("{name}: must be greater than 0")));
    }
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<Command, ConfigError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse_command_line(args.iter().map(|s| s.to_string()), move |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn config(args: &[&str], env: &[(&str, &str)]) -> Config {
        match parse(args, env) {
            Ok(Command::Run(config)) => *config,
            other => panic!("expected a config, got {other:?}"),
        }
    }

    #[test]
    fn defaults_match_the_seed_tutorial() {
        let config = config(&[], &[]);
        assert_eq!(config.bind.to_string(), "127.0.0.1");
        assert_eq!(config.port, 5000);
        assert_eq!(config.count, 5);
        assert_eq!(config.interval, Duration::from_secs(1));
        assert_eq!(config.retry, Duration::from_millis(3000));
        assert!(config.token.is_none());
    }

    #[test]
    fn port_flag_wins_over_port_environment_variable() {
        assert_eq!(config(&[], &[("PORT", "8080")]).port, 8080);
        assert_eq!(config(&["--port", "9090"], &[("PORT", "8080")]).port, 9090);
        assert_eq!(config(&["--port=7070"], &[]).port, 7070);
    }

    #[test]
    fn every_value_flag_is_read() {
        let config = config(
            &[
                "--bind",
                "0.0.0.0",
                "--interval-ms",
                "250",
                "--count",
                "9",
                "--heartbeat-s",
                "2",
                "--retry-ms",
                "500",
                "--head-timeout-s",
                "3",
                "--write-timeout-s",
                "4",
                "--history",
                "10",
                "--max-message-bytes",
                "100",
                "--max-clients",
                "50",
                "--token",
                "secret",
                "--allow-origin",
                "http://a.test,http://b.test",
            ],
            &[],
        );
        assert_eq!(config.bind.to_string(), "0.0.0.0");
        assert_eq!(config.interval, Duration::from_millis(250));
        assert_eq!(config.count, 9);
        assert_eq!(config.heartbeat_interval, Duration::from_secs(2));
        assert_eq!(config.retry, Duration::from_millis(500));
        assert_eq!(config.head_timeout, Duration::from_secs(3));
        assert_eq!(config.write_timeout, Duration::from_secs(4));
        assert_eq!(config.history, 10);
        assert_eq!(config.max_message_bytes, 100);
        assert_eq!(config.max_clients, 50);
        assert_eq!(config.token.as_deref(), Some("secret"));
        assert_eq!(config.allowed_origins, ["http://a.test", "http://b.test"]);
    }

    #[test]
    fn token_comes_from_the_environment_when_no_flag_is_given() {
        assert_eq!(
            config(&[], &[("SSE_TOKEN", "t")]).token.as_deref(),
            Some("t")
        );
    }

    #[test]
    fn bad_flags_are_named_in_the_error() {
        let error = |args: &[&str]| parse(args, &[]).expect_err("should be rejected").0;
        assert!(error(&["--port", "http"]).contains("--port"));
        assert!(error(&["--port", "70000"]).contains("--port"));
        assert!(error(&["--bind", "localhost:1"]).contains("--bind"));
        assert!(error(&["--colour"]).contains("--colour"));
        assert!(error(&["--count"]).contains("needs a value"));
        assert!(error(&["--history", "0"]).contains("greater than 0"));
        assert!(
            parse(&[], &[("PORT", "x")])
                .expect_err("bad PORT")
                .0
                .contains("PORT")
        );
    }

    #[test]
    fn help_and_version_are_commands() {
        assert!(matches!(parse(&["--help"], &[]), Ok(Command::Help)));
        assert!(matches!(parse(&["-V"], &[]), Ok(Command::Version)));
        assert!(usage().contains("--heartbeat-s"));
    }
}
