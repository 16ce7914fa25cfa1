//! What the server says about itself when it starts: a short block of `info` lines
//! under "Server running at", stating the effective mode and limits, so that an
//! operator reading the log (or `journalctl`) knows who may publish, where messages
//! live, and which limit sets the stream cap, without reading the command line back.
//!
//! ```text
//! Server running at http://127.0.0.1:5000/
//!   publishing: open: anyone may publish (no --token, no --auth-secret)
//!   messages: in memory: 1000 per topic, 67108864 bytes in all (--history, --history-bytes)
//!   streams: at most 10994, from vm.max_map_count (65530); other requests: 1024 at once (--max-requests)
//!   open files: raised from 1024 to 20000 (the hard limit)
//!   routes: demo on; /metrics, /stats, /healthz, /readyz on this port
//! ```

use crate::config::Config;
use crate::limits::{self, Budget};
use crate::open_files::Raise;

/// The start-up block, one fact a line (without the "Server running at" line).
pub fn summary(config: &Config, budgets: &[Budget], raise: &Raise) -> Vec<String> {
    vec![
        format!("publishing: {}", publishing(config)),
        format!("messages: {}", messages(config)),
        format!(
            "streams: at most {}, {}; other requests: {} at once (--max-requests)",
            config.max_clients,
            stream_cap_source(config, budgets),
            config.max_requests
        ),
        format!("open files: {}", open_files(raise)),
        format!("routes: {}", routes(config)),
    ]
}

/// Who may publish and who may follow what.
fn publishing(config: &Config) -> String {
    if config.auth_secret.is_some() {
        let public = if config.public_topics.is_empty() {
            "none (--public)".to_string()
        } else {
            let patterns: Vec<String> =
                config.public_topics.iter().map(|p| p.to_string()).collect();
            patterns.join(", ")
        };
        return format!(
            "token-checked: signed tokens (--auth-secret) say who may follow and publish \
             which topics; anyone may follow: {public}"
        );
    }
    if config.token.is_some() {
        return "token-checked: publishing needs the --token; anyone may follow any topic".into();
    }
    let on_purpose = if config.open { " (--open)" } else { "" };
    format!("open{on_purpose}: anyone may publish (no --token, no --auth-secret)")
}

/// Where messages live, and how much of them is kept.
fn messages(config: &Config) -> String {
    let history = format!(
        "{} per topic, {} bytes in all (--history, --history-bytes)",
        config.history, config.history_bytes
    );
    match &config.redis {
        // The URL's Display leaves the password out (see `redis/url.rs`).
        Some(url) => format!(
            "shared log in Redis {url}, key {} (about {} kept); in memory: {history}",
            config.redis_key, config.redis_max_len
        ),
        None => format!("in memory: {history}"),
    }
}

/// What set the stream cap: the flag, or the OS limit that binds first.
fn stream_cap_source(config: &Config, budgets: &[Budget]) -> String {
    if config.max_clients_from_flag {
        return "set by --max-clients".into();
    }
    match limits::binding(budgets) {
        Some(budget) => format!("from {} ({})", budget.limit.name(), budget.value),
        None => "a fallback: the OS limits could not be read".into(),
    }
}

fn open_files(raise: &Raise) -> String {
    match raise {
        Raise::Raised { from, to } => format!("raised from {from} to {to} (the hard limit)"),
        Raise::AlreadyAtHard(limit) => format!("{limit} (the hard limit)"),
        Raise::NotRaised(why) => format!("left as it was ({why})"),
    }
}

/// Which optional routes are served where.
fn routes(config: &Config) -> String {
    let demo = if config.demo {
        "demo on"
    } else {
        "demo off (--no-demo)"
    };
    let admin = match config.admin_bind {
        Some(address) => format!("only on --admin-bind {address}"),
        None => "on this port".into(),
    };
    format!("{demo}; /metrics, /stats, /healthz, /readyz {admin}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::patterns::Pattern;
    use crate::config::Secret;
    use crate::limits::Limit;

    fn budgets() -> Vec<Budget> {
        vec![Budget {
            limit: Limit::OpenFiles,
            value: 1024,
            clients: 512,
        }]
    }

    #[test]
    fn an_open_server_says_so_and_names_the_limit_that_set_its_cap() {
        let config = Config {
            max_clients: 512,
            ..Config::default()
        };
        let lines = summary(&config, &budgets(), &Raise::AlreadyAtHard(1024));
        assert!(lines[0].contains("open: anyone may publish"), "{lines:?}");
        assert!(lines[1].starts_with("messages: in memory"), "{lines:?}");
        assert!(
            lines[2].starts_with("streams: at most 512, from open files (ulimit -n) (1024)"),
            "{lines:?}"
        );
        assert!(lines[3].contains("1024 (the hard limit)"), "{lines:?}");
        assert!(lines[4].contains("demo on"), "{lines:?}");
    }

    #[test]
    fn a_token_checked_server_names_its_public_topics_and_no_secret() {
        let config = Config {
            auth_secret: Some(Secret::new("0123456789abcdef0123456789abcdef")),
            public_topics: vec![Pattern::parse("news/*").unwrap()],
            max_clients: 9,
            max_clients_from_flag: true,
            demo: false,
            admin_bind: Some("127.0.0.1:9100".parse().unwrap()),
            ..Config::default()
        };
        let raise = Raise::Raised {
            from: 1024,
            to: 20000,
        };
        let text = summary(&config, &budgets(), &raise).join("\n");
        assert!(text.contains("token-checked"), "{text}");
        assert!(text.contains("anyone may follow: news/*"), "{text}");
        assert!(text.contains("set by --max-clients"), "{text}");
        assert!(text.contains("raised from 1024 to 20000"), "{text}");
        assert!(text.contains("demo off"), "{text}");
        assert!(
            text.contains("only on --admin-bind 127.0.0.1:9100"),
            "{text}"
        );
        assert!(!text.contains("0123456789abcdef"), "{text}");
    }
}
