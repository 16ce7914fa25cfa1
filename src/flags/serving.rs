//! The listener, the demo streams and a stream's timing: where the server listens and how it writes.

use super::*;

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
];
