//! Unit tests of the command line.

use std::time::Duration;

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
            "--client-check-ms=250",
            "--history-bytes=4096",
            "--max-topics=7",
            "--max-head-bytes=2048",
            "--max-header-lines=20",
            "--admission-wait-ms=0",
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
    assert_eq!(config.token, Some(Secret::new("secret")));
    assert_eq!(config.allowed_origins, ["http://a.test", "http://b.test"]);
    assert_eq!(config.client_check, Duration::from_millis(250));
    assert_eq!(config.history_bytes, 4096);
    assert_eq!(config.max_topics, 7);
    assert_eq!(config.max_head_bytes, 2048);
    assert_eq!(config.max_header_lines, 20);
    assert_eq!(config.admission_wait, Duration::ZERO);
}

#[test]
fn token_comes_from_the_environment_when_no_flag_is_given() {
    assert_eq!(
        config(&[], &[("SSE_TOKEN", "t")]).token,
        Some(Secret::new("t"))
    );
}

const SECRET: &str = "0123456789abcdef0123456789abcdef";

#[test]
fn auth_secret_and_public_patterns() {
    let config = config(
        &[
            "--auth-secret",
            SECRET,
            "--public",
            "lobby,news/*",
            "--public=x",
        ],
        &[],
    );
    assert_eq!(config.auth_secret, Some(Secret::new(SECRET)));
    let public: Vec<String> = config
        .public_topics
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(public, ["lobby", "news/*", "x"]);
    let from_env = self::config(&[], &[("SSE_AUTH_SECRET", SECRET)]);
    assert_eq!(from_env.auth_secret, Some(Secret::new(SECRET)));
}

#[test]
fn weak_or_conflicting_secrets_are_refused_without_echoing_them() {
    let error = |args: &[&str], env: &[(&str, &str)]| parse(args, env).expect_err("refused").0;
    let short = error(&["--auth-secret", "tooshort"], &[]);
    assert!(
        short.contains("at least 32 bytes") && !short.contains("tooshort"),
        "{short}"
    );
    assert!(error(&[], &[("SSE_AUTH_SECRET", "tooshort")]).contains("SSE_AUTH_SECRET"));
    let both = error(&["--auth-secret", SECRET, "--token", "t"], &[]);
    assert!(both.contains("--token and --auth-secret"), "{both}");
    assert!(error(&["--auth-secret", SECRET], &[("SSE_TOKEN", "t")]).contains("--token"));
    assert!(error(&["--public", "a*b"], &[]).contains("--public"));
    assert!(error(&["--public", "users/{sub}"], &[]).contains("{sub}"));
}

#[test]
fn a_shared_log_in_redis() {
    let config = config(
        &[
            "--redis",
            "redis://:pw@10.0.0.5:6380/2",
            "--redis-key",
            "app:events",
            "--redis-max-len=5000",
        ],
        &[],
    );
    let url = config.redis.expect("--redis is set");
    assert_eq!(url.to_string(), "redis://10.0.0.5:6380/2");
    assert_eq!(url.password, Some(Secret::new("pw")));
    assert_eq!(
        (config.redis_key.as_str(), config.redis_max_len),
        ("app:events", 5000)
    );
    let defaults = self::config(&[], &[("SSE_REDIS_URL", "redis://localhost")]);
    assert_eq!(defaults.redis.unwrap().port, 6379);
    assert_eq!(
        (defaults.redis_key.as_str(), defaults.redis_max_len),
        ("sse:log", 100_000)
    );
    assert!(self::config(&[], &[]).redis.is_none());
    // A bad URL is named by its flag, and its password is not echoed.
    let error = parse(&["--redis", "redis://:hunter2@host:x"], &[])
        .expect_err("refused")
        .0;
    assert!(
        error.starts_with("--redis") && error.contains("port") && !error.contains("hunter2"),
        "{error}"
    );
    let error = parse(&[], &[("SSE_REDIS_URL", "http://x")])
        .expect_err("refused")
        .0;
    assert!(error.starts_with("SSE_REDIS_URL"), "{error}");
    assert!(parse(&["--redis-key", ""], &[]).is_err());
    assert!(parse(&["--redis-max-len", "0"], &[]).is_err());
}

#[test]
fn the_redis_log_and_its_replays_are_bounded_in_bytes() {
    let defaults = config(&[], &[]);
    assert_eq!(defaults.redis_max_bytes(), 4 * defaults.history_bytes);
    assert_eq!(
        (defaults.max_replay_bytes, defaults.replay_memory_bytes),
        (4 << 20, defaults.history_bytes)
    );
    // The log's default follows --history-bytes; the flag overrides it.
    let follows = config(&["--history-bytes", "1000"], &[]);
    assert_eq!(follows.redis_max_bytes(), 4000);
    let set = config(
        &[
            "--history-bytes=1000",
            "--redis-max-bytes=123456",
            "--max-replay-bytes=2048",
            "--replay-memory-bytes=8192",
        ],
        &[],
    );
    assert_eq!(
        (
            set.redis_max_bytes(),
            set.max_replay_bytes,
            set.replay_memory_bytes
        ),
        (123_456, 2048, 8192)
    );
    for flag in [
        "--redis-max-bytes",
        "--max-replay-bytes",
        "--replay-memory-bytes",
    ] {
        assert!(parse(&[flag, "0"], &[]).is_err(), "{flag} 0");
    }
}

#[test]
fn the_token_subcommand() {
    match parse(
        &["token", "--sub", "a", "--subscribe", "x"],
        &[("SSE_AUTH_SECRET", SECRET)],
    ) {
        Ok(Command::Token(TokenCommand::Mint(request))) => {
            assert_eq!(request.subject.as_deref(), Some("a"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse(&["token", "--help"], &[]),
        Ok(Command::Token(TokenCommand::Help))
    ));
    assert!(parse(&["token"], &[]).unwrap_err().0.contains("secret"));
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
    assert!(usage().contains("--heartbeat-s N"));
    assert!(usage().contains("/subscribe"));
}

#[test]
fn every_flag_has_a_help_line_and_a_distinct_name() {
    let help = usage();
    for (index, flag) in FLAGS.iter().enumerate() {
        assert!(
            help.contains(flag.name),
            "{} missing from --help",
            flag.name
        );
        assert!(
            FLAGS[..index].iter().all(|other| other.name != flag.name),
            "{} twice",
            flag.name
        );
    }
}

#[test]
fn the_vanish_timeout_is_seconds_and_zero_turns_it_off() {
    let default = config(&[], &[]).vanish_timeout;
    assert_eq!(default, Some(Duration::from_secs(20)));
    let set = config(&["--vanish-timeout-s", "5"], &[]).vanish_timeout;
    assert_eq!(set, Some(Duration::from_secs(5)));
    assert_eq!(
        config(&["--vanish-timeout-s", "0"], &[]).vanish_timeout,
        None
    );
    assert!(parse(&["--vanish-timeout-s", "-1"], &[]).is_err());
}

#[test]
fn the_drain_spread_is_seconds_and_may_be_zero() {
    assert_eq!(config(&[], &[]).drain_spread, Duration::from_secs(10));
    let spread = config(&["--drain-spread-s", "30"], &[]).drain_spread;
    assert_eq!(spread, Duration::from_secs(30));
    let none = config(&["--drain-spread-s=0"], &[]).drain_spread;
    assert_eq!(none, Duration::ZERO);
    assert!(parse(&["--drain-spread-s", "soon"], &[]).is_err());
}
