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
pub const FLAGS: &[Flag] = &[
    Flag {
        name: "--bind",
        value: "ADDR",
        help: "IP address to listen on",
        default: || config::DEFAULT_BIND.into(),
        set: |config, value| {
            config.bind = parse_ip(value)?;
            Ok(())
        },
    },
    Flag {
        name: "--port",
        value: "N",
        help: "TCP port, 0 for any free one (or $PORT)",
        default: || config::DEFAULT_PORT.to_string(),
        set: |config, value| {
            config.port = parse_port(value)?;
            Ok(())
        },
    },
    Flag {
        name: "--interval-ms",
        value: "N",
        help: "time between events of a demo stream",
        default: || config::DEFAULT_INTERVAL_MS.to_string(),
        set: |config, value| set_millis(&mut config.interval, value),
    },
    Flag {
        name: "--count",
        value: "N",
        help: "events in the counter stream",
        default: || config::DEFAULT_COUNT.to_string(),
        set: |config, value| set_number(&mut config.count, value),
    },
    Flag {
        name: "--heartbeat-s",
        value: "N",
        help: "silence before a keep-alive comment",
        default: || config::DEFAULT_HEARTBEAT_S.to_string(),
        set: |config, value| set_secs(&mut config.heartbeat_interval, value),
    },
    Flag {
        name: "--client-check-ms",
        value: "N",
        help: "how often a demo stream checks its client is there",
        default: || config::DEFAULT_CLIENT_CHECK_MS.to_string(),
        set: |config, value| set_positive_millis(&mut config.client_check, value),
    },
    Flag {
        name: "--retry-ms",
        value: "N",
        help: "reconnect delay sent as retry:",
        default: || config::DEFAULT_RETRY_MS.to_string(),
        set: |config, value| set_millis(&mut config.retry, value),
    },
    Flag {
        name: "--head-timeout-s",
        value: "N",
        help: "deadline for a request head (408)",
        default: || config::DEFAULT_HEAD_TIMEOUT_S.to_string(),
        set: |config, value| set_secs(&mut config.head_timeout, value),
    },
    Flag {
        name: "--max-head-bytes",
        value: "N",
        help: "largest request head (431)",
        default: || config::DEFAULT_MAX_HEAD_BYTES.to_string(),
        set: |config, value| set_positive(&mut config.max_head_bytes, value),
    },
    Flag {
        name: "--max-header-lines",
        value: "N",
        help: "most header lines in a head (431)",
        default: || config::DEFAULT_MAX_HEADER_LINES.to_string(),
        set: |config, value| set_positive(&mut config.max_header_lines, value),
    },
    Flag {
        name: "--write-timeout-s",
        value: "N",
        help: "drop a client that stops reading",
        default: || config::DEFAULT_WRITE_TIMEOUT_S.to_string(),
        set: |config, value| set_secs(&mut config.write_timeout, value),
    },
    Flag {
        name: "--vanish-timeout-s",
        value: "N",
        help: "drop a client that vanished: nothing acknowledged for N s (0: off)",
        default: || config::DEFAULT_VANISH_TIMEOUT_S.to_string(),
        set: |config, value| {
            let mut secs = 0u64;
            set_number(&mut secs, value)?;
            config.vanish_timeout = (secs > 0).then(|| Duration::from_secs(secs));
            Ok(())
        },
    },
    Flag {
        name: "--history",
        value: "N",
        help: "messages each topic keeps for replay",
        default: || config::DEFAULT_HISTORY.to_string(),
        set: |config, value| set_positive(&mut config.history, value),
    },
    Flag {
        name: "--history-bytes",
        value: "N",
        help: "bytes all histories may hold together",
        default: || config::DEFAULT_HISTORY_BYTES.to_string(),
        set: |config, value| set_positive(&mut config.history_bytes, value),
    },
    Flag {
        name: "--max-topics",
        value: "N",
        help: "topics at once; with --auth-secret, half of them for clients without a token (then refused, or a token holder takes an unfollowed topic of the subject owning the most; with --redis a publish still goes to the log)",
        default: || config::DEFAULT_MAX_TOPICS.to_string(),
        set: |config, value| set_positive(&mut config.max_topics, value),
    },
    Flag {
        name: "--max-topics-per-subject",
        value: "N",
        help: "topics one token subject may own (then refused)",
        default: || "a hundredth of --max-topics".into(),
        set: |config, value| set_positive_option(&mut config.max_topics_per_subject, value),
    },
    Flag {
        name: "--history-ttl-s",
        value: "N",
        help: "held messages older than N s are dropped, and topics left empty with them",
        default: || config::DEFAULT_HISTORY_TTL_S.to_string(),
        set: |config, value| set_secs(&mut config.history_ttl, value),
    },
    Flag {
        name: "--max-message-bytes",
        value: "N",
        help: "largest publish body (413)",
        default: || config::DEFAULT_MAX_MESSAGE_BYTES.to_string(),
        set: |config, value| set_positive(&mut config.max_message_bytes, value),
    },
    Flag {
        name: "--max-clients",
        value: "N",
        help: "streams at once (then refused kindly)",
        default: || format!("{}, from OS limits", crate::limits::default_max_clients()),
        set: |config, value| {
            config.max_clients_from_flag = true;
            set_positive(&mut config.max_clients, value)
        },
    },
    Flag {
        name: "--max-requests",
        value: "N",
        help: "other requests at once, served even when streams are at the cap",
        default: || config::DEFAULT_MAX_REQUESTS.to_string(),
        set: |config, value| set_positive(&mut config.max_requests, value),
    },
    Flag {
        name: "--max-requests-per-client",
        value: "N",
        help: "requests (and idle keep-alive connections) one client address may hold; a --trusted-proxy has no limit",
        default: || "a quarter of --max-requests".into(),
        set: |config, value| set_positive_option(&mut config.max_requests_per_client, value),
    },
    Flag {
        name: "--max-streams-per-client",
        value: "N",
        help: "streams one client address may hold (then refused kindly)",
        default: || "a quarter of --max-clients".into(),
        set: |config, value| set_positive_option(&mut config.max_streams_per_client, value),
    },
    Flag {
        name: "--admission-wait-ms",
        value: "N",
        help: "when full, how long a new stream (or a connection in the waiting room) waits for a slot",
        default: || config::DEFAULT_ADMISSION_WAIT_MS.to_string(),
        set: |config, value| set_millis(&mut config.admission_wait, value),
    },
    Flag {
        name: "--token",
        value: "T",
        help: "require Authorization: Bearer T to publish; prefer $SSE_TOKEN or --token-file (ps shows flags to every user)",
        default: String::new,
        set: set_token,
    },
    Flag {
        name: "--token-file",
        value: "PATH",
        help: "--token, read from a file (systemd's LoadCredential= makes one)",
        default: String::new,
        set: |config, path| set_token(config, &read_secret_file(path)?),
    },
    Flag {
        name: "--auth-secret",
        value: "S",
        help: "check HS256 tokens signed with S; prefer $SSE_AUTH_SECRET or --auth-secret-file (ps shows flags to every user)",
        default: String::new,
        set: |config, value| {
            config.auth_secret = Some(check_secret(value)?);
            Ok(())
        },
    },
    Flag {
        name: "--auth-secret-file",
        value: "PATH",
        help: "--auth-secret, read from a file (systemd's LoadCredential= makes one)",
        default: String::new,
        set: |config, path| {
            config.auth_secret = Some(check_secret(&read_secret_file(path)?)?);
            Ok(())
        },
    },
    Flag {
        name: "--public",
        value: "PATTERN",
        help: "topics anyone may follow without a token (repeat)",
        default: String::new,
        set: |config, value| {
            for pattern in value.split(',').map(str::trim) {
                config.public_topics.push(check_public_pattern(pattern)?);
            }
            Ok(())
        },
    },
    Flag {
        name: "--allow-origin",
        value: "O",
        help: "let pages from origin O publish (repeat, or *)",
        default: String::new,
        set: |config, value| {
            for origin in value.split(',').map(str::trim) {
                config.allowed_origins.push(parse_allowed_origin(origin)?);
            }
            Ok(())
        },
    },
    Flag {
        name: "--trusted-proxy",
        value: "ADDR",
        help: "believe X-Forwarded-For/-Proto from this IP (repeat)",
        default: String::new,
        set: |config, value| {
            for address in value.split(',').map(str::trim) {
                config.trusted_proxies.push(parse_ip(address)?);
            }
            Ok(())
        },
    },
    Flag {
        name: "--redis",
        value: "URL",
        help: "share one log with other instances (or $SSE_REDIS_URL)",
        default: String::new,
        set: |config, value| {
            config.redis = Some(RedisUrl::parse(value)?);
            Ok(())
        },
    },
    Flag {
        name: "--redis-key",
        value: "KEY",
        help: "the Redis Stream that holds the log",
        default: || config::DEFAULT_REDIS_KEY.into(),
        set: |config, value| {
            if value.is_empty() {
                return Err("the key must not be empty".into());
            }
            config.redis_key = value.into();
            Ok(())
        },
    },
    Flag {
        name: "--redis-max-len",
        value: "N",
        help: "about how many messages the Redis log keeps",
        default: || config::DEFAULT_REDIS_MAX_LEN.to_string(),
        set: |config, value| set_positive(&mut config.redis_max_len, value),
    },
    Flag {
        name: "--redis-max-bytes",
        value: "N",
        help: "about how many bytes the Redis log keeps",
        default: || {
            format!(
                "{} x --history-bytes",
                config::DEFAULT_REDIS_MAX_BYTES_PER_HISTORY_BYTE
            )
        },
        set: |config, value| {
            let mut bytes = 0usize;
            set_positive(&mut bytes, value)?;
            config.redis_max_bytes = Some(bytes);
            Ok(())
        },
    },
    Flag {
        name: "--allowed-host",
        value: "NAME",
        help: "also answer requests whose Host names NAME (repeat)",
        default: String::new,
        set: |config, value| {
            for name in value.split(',').map(str::trim) {
                config.allowed_hosts.push(parse_allowed_host(name)?);
            }
            Ok(())
        },
    },
    Flag {
        name: "--max-replay",
        value: "N",
        help: "most messages one reconnect replays (the newest; older: event missed)",
        default: || config::DEFAULT_MAX_REPLAY.to_string(),
        set: |config, value| set_positive(&mut config.max_replay, value),
    },
    Flag {
        name: "--max-log-replays",
        value: "N",
        help: "replays from the Redis log running at once",
        default: || config::DEFAULT_MAX_LOG_REPLAYS.to_string(),
        set: |config, value| set_positive(&mut config.max_log_replays, value),
    },
    Flag {
        name: "--max-replay-bytes",
        value: "N",
        help: "about the most bytes one replay reads from the Redis log (older: event missed)",
        default: || config::DEFAULT_MAX_REPLAY_BYTES.to_string(),
        set: |config, value| set_positive(&mut config.max_replay_bytes, value),
    },
    Flag {
        name: "--replay-memory-bytes",
        value: "N",
        help: "bytes all replays from the Redis log may hold in memory together",
        default: || config::DEFAULT_REPLAY_MEMORY_BYTES.to_string(),
        set: |config, value| set_positive(&mut config.replay_memory_bytes, value),
    },
    Flag {
        name: "--drain-spread-s",
        value: "N",
        help: "at shutdown, spread reconnects over retry-ms + up to N s",
        default: || config::DEFAULT_DRAIN_SPREAD_S.to_string(),
        set: |config, value| {
            let mut secs = 0u64;
            set_number(&mut secs, value)?;
            config.drain_spread = Duration::from_secs(secs);
            Ok(())
        },
    },
    Flag {
        name: "--drain-window-s",
        value: "N",
        help: "at shutdown, accept N s more with /readyz 503 and new streams refused, then end the streams",
        default: || config::DEFAULT_DRAIN_WINDOW_S.to_string(),
        set: |config, value| {
            let mut secs = 0u64;
            set_number(&mut secs, value)?;
            config.drain_window = Duration::from_secs(secs);
            Ok(())
        },
    },
    Flag {
        name: "--admin-bind",
        value: "ADDR:PORT",
        help: "serve /metrics, /stats, /healthz, /readyz here only, not on --bind",
        default: String::new,
        set: |config, value| {
            let address: SocketAddr = value
                .parse()
                .map_err(|_| "not an IP address and port, such as 127.0.0.1:9100".to_string())?;
            config.admin_bind = Some(address);
            Ok(())
        },
    },
    Flag {
        name: "--mercure-key",
        value: "S",
        help: "Mercure tokens are HS256 with S (or $SSE_MERCURE_KEY; else --auth-secret)",
        default: String::new,
        set: |config, value| {
            config.mercure.key = Some(check_secret(value)?);
            Ok(())
        },
    },
    Flag {
        name: "--mercure-issuer",
        value: "ISS",
        help: "the iss a Mercure token must carry",
        default: || config::DEFAULT_MERCURE_ISSUER.into(),
        set: |config, value| {
            if value.is_empty() {
                return Err("must not be empty".into());
            }
            config.mercure.issuer = value.to_string();
            Ok(())
        },
    },
    Flag {
        name: "--mercure-resource",
        value: "URL",
        help: "the hub's URL: a Mercure token's aud must hold it",
        default: || config::DEFAULT_MERCURE_RESOURCE.into(),
        set: |config, value| {
            let hub = HubUrl::parse(value)?;
            // The routes serve the hub at one path (routes.rs); a resource naming
            // another would put the reserved namespace where the hub is not.
            if hub.path != crate::routes::MERCURE_PATH {
                return Err(format!("its path must be {}", crate::routes::MERCURE_PATH));
            }
            config.mercure.resource = value.to_string();
            Ok(())
        },
    },
    Flag {
        name: "--mercure-cookie",
        value: "NAME",
        help: "the cookie a browser sends its Mercure token in",
        default: || config::DEFAULT_MERCURE_COOKIE.into(),
        set: |config, value| {
            let token_char = |c: char| c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?={}".contains(c);
            if value.is_empty() || !value.chars().all(token_char) {
                return Err("is not a cookie name (RFC 6265 section 4.1.1)".into());
            }
            config.mercure.cookie = value.to_string();
            Ok(())
        },
    },
];

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
