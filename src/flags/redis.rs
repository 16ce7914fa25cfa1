//! The shared log in Redis, the hosts the server answers, and how far a reconnect replays.

use super::*;

pub const FLAGS: &[Flag] = &[
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
];
