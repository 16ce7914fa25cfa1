//! Unit tests of the command line.

use std::time::Duration;

use super::*;
use crate::config::Secret;

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
    assert!(error(&["--auth-secret", SECRET, "--public", "a*b"], &[]).contains("--public"));
    let sub = error(&["--auth-secret", SECRET, "--public", "users/{sub}"], &[]);
    assert!(sub.contains("{sub}"), "{sub}");
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
    // Redis's own settings mean nothing without Redis: said, not ignored.
    let alone = parse(&["--redis-key", "k"], &[]).expect_err("refused").0;
    assert!(alone.contains("only with --redis"), "{alone}");
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
            "--redis=redis://127.0.0.1:6379",
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
        let redis = "--redis=redis://127.0.0.1:6379";
        assert!(parse(&[redis, flag, "0"], &[]).is_err(), "{flag} 0");
    }
    // The log's own bound means nothing without a log: refused, as --redis-key is.
    assert!(parse(&["--redis-max-bytes=123456"], &[]).is_err());
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
    let every: Vec<_> = flags::all().collect();
    for (index, flag) in every.iter().enumerate() {
        assert!(
            help.contains(flag.name),
            "{} missing from --help",
            flag.name
        );
        assert!(
            every[..index].iter().all(|other| other.name != flag.name),
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

#[test]
fn every_flag_comes_from_the_environment_by_one_rule() {
    assert_eq!(env_name("--allowed-host"), "SSE_ALLOWED_HOST");
    assert_eq!(env_name("--no-demo"), "SSE_NO_DEMO");
    let config = config(
        &[],
        &[
            ("SSE_ALLOWED_HOST", "events.example,other.example"),
            ("SSE_HEARTBEAT_S", "7"),
            ("SSE_NO_DEMO", "1"),
            ("SSE_ADMIN_BIND", "127.0.0.1:9100"),
            ("SSE_TOKEN", ""),
        ],
    );
    assert_eq!(config.allowed_hosts, ["events.example", "other.example"]);
    assert_eq!(config.heartbeat_interval, Duration::from_secs(7));
    assert!(!config.demo);
    assert_eq!(config.admin_bind, Some("127.0.0.1:9100".parse().unwrap()));
    assert!(config.token.is_none(), "an empty variable is unset");
    // The rule reaches every row of both tables, new ones included.
    for flag in flags::all() {
        assert!(usage().contains(&format!("[env: {}]", env_name(flag.name))));
    }
    for switch in SWITCHES {
        assert!(usage().contains(&format!("[env: {}=1]", env_name(switch.name))));
    }
}

#[test]
fn a_flag_wins_over_its_variable_even_for_a_repeatable_one() {
    let config = config(
        &["--allowed-host", "flag.example", "--heartbeat-s=3"],
        &[
            ("SSE_ALLOWED_HOST", "env.example"),
            ("SSE_HEARTBEAT_S", "7"),
        ],
    );
    assert_eq!(config.allowed_hosts, ["flag.example"]);
    assert_eq!(config.heartbeat_interval, Duration::from_secs(3));
    // The rule's name wins over an older one.
    assert_eq!(config_port(&[("SSE_PORT", "1"), ("PORT", "2")]), 1);
    let error = parse(&[], &[("SSE_HEARTBEAT_S", "soon")]).unwrap_err().0;
    assert!(error.starts_with("SSE_HEARTBEAT_S"), "{error}");
    let error = parse(&[], &[("SSE_TOKEN", "x"), ("SSE_OPEN", "maybe")])
        .unwrap_err()
        .0;
    assert!(error.starts_with("SSE_OPEN"), "{error}");
    assert!(
        parse(&["--open=1"], &[]).is_err(),
        "a switch takes no value"
    );
}

fn config_port(env: &[(&str, &str)]) -> u16 {
    config(&[], env).port
}

#[test]
fn bad_values_say_what_is_wrong() {
    let error = |args: &[&str]| parse(args, &[]).expect_err("should be rejected").0;
    let port = error(&["--port", "99999"]);
    assert!(
        port.contains("out of range") && port.contains("65535"),
        "{port}"
    );
    let localhost = error(&["--bind", "localhost"]);
    assert!(localhost.contains("127.0.0.1"), "{localhost}");
    let origin = error(&["--allow-origin", "example.com"]);
    assert!(origin.contains("https://example.com"), "{origin}");
    assert!(error(&["--admin-bind", "9100"]).contains("127.0.0.1:9100"));
}

#[test]
fn flags_that_cannot_work_together_are_refused_with_the_fix() {
    let error = |args: &[&str]| parse(args, &[]).expect_err("should be rejected").0;
    let public = error(&["--public", "news"]);
    assert!(public.contains("--public needs --auth-secret"), "{public}");
    let open = error(&["--open", "--token", "t"]);
    assert!(open.contains("drop one"), "{open}");
    let admin = error(&["--port", "5000", "--admin-bind", "127.0.0.1:5000"]);
    assert!(admin.contains("another port"), "{admin}");
}

#[test]
fn a_reachable_server_does_not_start_open_unless_told() {
    let error = |args: &[&str]| parse(args, &[]).expect_err("should be rejected").0;
    for args in [
        &["--bind", "0.0.0.0"][..],
        &["--bind", "::"],
        &["--trusted-proxy", "127.0.0.1"],
    ] {
        let refused = error(args);
        assert!(
            refused.starts_with("refusing to start open")
                && refused.contains("--auth-secret")
                && refused.contains("--open"),
            "{args:?}: {refused}"
        );
    }
    // Either way out works.
    assert!(config(&["--bind", "0.0.0.0", "--open"], &[]).open);
    let checked = config(&["--trusted-proxy", "127.0.0.1"], &[("SSE_TOKEN", "t")]);
    assert!(checked.token.is_some());
    let env_open = config(&["--bind", "0.0.0.0"], &[("SSE_OPEN", "yes")]);
    assert!(env_open.open);
    // Loopback alone stays as easy as ever.
    assert!(!config(&["--bind", "::1"], &[]).open);
}

#[test]
fn secrets_come_from_files_and_help_prefers_them_to_flags() {
    // Issue 24: a secret given as a flag is visible to every local user in `ps`.
    let folder = std::env::temp_dir().join(format!("sse-cli-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let secret_file = folder.join("auth-secret");
    let token_file = folder.join("token");
    // As `echo` or an editor writes them, with a line end.
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    std::fs::write(&token_file, "t0ken\r\n").unwrap();
    let path = |file: &std::path::Path| file.to_str().unwrap().to_string();
    let from_file = config(&["--auth-secret-file", &path(&secret_file)], &[]);
    assert_eq!(from_file.auth_secret, Some(Secret::new(SECRET)));
    let token = config(&["--token-file", &path(&token_file)], &[]);
    assert_eq!(token.token, Some(Secret::new("t0ken")));
    // A short secret is refused, and the error names the flag, never the text.
    std::fs::write(&secret_file, "tooshort").unwrap();
    let short = parse(&["--auth-secret-file", &path(&secret_file)], &[])
        .expect_err("too short")
        .0;
    assert!(
        short.contains("--auth-secret-file") && !short.contains("tooshort"),
        "{short}"
    );
    let missing = path(&folder.join("missing"));
    let error = parse(&["--token-file", &missing], &[])
        .expect_err("no file")
        .0;
    assert!(
        error.contains("cannot read") && error.contains("missing"),
        "{error}"
    );
    std::fs::remove_dir_all(&folder).unwrap();
    let help = usage();
    assert!(
        help.contains("prefer $SSE_AUTH_SECRET or --auth-secret-file"),
        "{help}"
    );
    assert!(help.contains("prefer $SSE_TOKEN or --token-file"), "{help}");
}

#[test]
fn the_shares_default_to_parts_of_their_caps() {
    let defaults = config(
        &[
            "--max-requests",
            "100",
            "--max-clients",
            "40",
            "--max-topics",
            "500",
        ],
        &[],
    );
    assert_eq!(defaults.requests_per_client(), 25);
    assert_eq!(defaults.streams_per_client(), 10);
    assert_eq!(defaults.topics_per_subject(), 5);
    assert_eq!(defaults.history_ttl, Duration::from_secs(3600));
    let given = config(
        &[
            "--max-requests-per-client",
            "7",
            "--max-streams-per-client",
            "3",
            "--max-topics-per-subject",
            "9",
            "--history-ttl-s",
            "60",
        ],
        &[],
    );
    assert_eq!(given.requests_per_client(), 7);
    assert_eq!(given.streams_per_client(), 3);
    assert_eq!(given.topics_per_subject(), 9);
    assert_eq!(given.history_ttl, Duration::from_secs(60));
    assert!(parse(&["--max-streams-per-client", "0"], &[]).is_err());
}
