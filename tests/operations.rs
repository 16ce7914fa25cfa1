//! What an operator relies on: `/metrics` in the Prometheus text format (checked by a
//! parser written here from the format's rules, and by `promtool`), counters that move
//! by exactly what the test did, `/healthz` and `/readyz`, and a shutdown that sends
//! every stream a last `retry:` spread over `--drain-spread-s`.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use support::{StreamReader, TestServer, fast_config, read_response, read_to_close, read_until};

/// The families the issue names, which dashboards rely on.
const REQUIRED_FAMILIES: &[(&str, &str)] = &[
    ("sse_streams_open", "gauge"),
    ("sse_streams_total", "counter"),
    ("sse_streams_refused_total", "counter"),
    ("sse_streams_ended_total", "counter"),
    ("sse_events_sent_total", "counter"),
    ("sse_messages_published_total", "counter"),
    ("sse_publishes_rejected_total", "counter"),
    ("sse_subscribers", "gauge"),
    ("sse_topics", "gauge"),
    ("sse_history_messages", "gauge"),
    ("sse_history_bytes", "gauge"),
    ("sse_threads", "gauge"),
    ("process_cpu_seconds_total", "counter"),
    ("process_resident_memory_bytes", "gauge"),
    ("process_open_fds", "gauge"),
    ("process_max_fds", "gauge"),
    ("process_start_time_seconds", "gauge"),
];

/// One scrape, parsed: the type of each family, and each sample by its name with
/// labels (`sse_streams_total{stream="clock"}`).
struct Scrape {
    types: BTreeMap<String, String>,
    samples: BTreeMap<String, f64>,
}

impl Scrape {
    fn value(&self, series: &str) -> f64 {
        *self
            .samples
            .get(series)
            .unwrap_or_else(|| panic!("no sample {series}"))
    }
}

/// Parses text format 0.0.4 strictly, as far as this server uses it: `# HELP name
/// text`, then `# TYPE name counter|gauge`, then that family's samples, `name` or
/// `name{label="value",...}`, a space, and a number. Panics on anything else.
fn parse_exposition(text: &str) -> Scrape {
    assert!(text.ends_with('\n'), "the last line ends with a line feed");
    let mut types = BTreeMap::new();
    let mut samples = BTreeMap::new();
    let mut helped = BTreeSet::new();
    let mut family: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP name text");
            assert!(
                !help.is_empty() && helped.insert(name.to_string()),
                "{line}"
            );
            family = Some(name.to_string());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert_eq!(Some(name), family.as_deref(), "TYPE right after its HELP");
            assert!(["counter", "gauge"].contains(&kind), "{line}");
            assert!(types.insert(name.to_string(), kind.to_string()).is_none());
        } else {
            let (series, value) = line.rsplit_once(' ').expect("a sample: series value");
            let name = series.split('{').next().unwrap();
            assert!(valid_metric_name(name), "{line}");
            assert_eq!(Some(name), family.as_deref(), "a sample outside its family");
            assert!(types.contains_key(name), "a sample before its TYPE");
            if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
                let labels = labels
                    .strip_prefix('{')
                    .and_then(|l| l.strip_suffix('}'))
                    .expect("labels in braces");
                for pair in labels.split(',') {
                    let (label, quoted) = pair.split_once('=').expect("label=\"value\"");
                    assert!(valid_metric_name(label) && !label.contains(':'), "{line}");
                    let value = quoted.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
                    assert!(value.is_some_and(|v| !v.contains(['"', '\\', '\n'])));
                }
            }
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
            assert!(value.is_finite() && value >= 0.0, "{line}");
            assert!(
                samples.insert(series.to_string(), value).is_none(),
                "{line}"
            );
        }
    }
    Scrape { types, samples }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, the Prometheus data model's metric names.
fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_' || first == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn metrics_text(server: &TestServer) -> String {
    let response =
        server.exchange("GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    response.body_text()
}

fn scrape(server: &TestServer) -> Scrape {
    parse_exposition(&metrics_text(server))
}

#[test]
fn metrics_parse_and_name_every_family_the_dashboards_use() {
    let server = TestServer::start(fast_config());
    let scrape = scrape(&server);
    for (name, kind) in REQUIRED_FAMILIES {
        assert_eq!(
            scrape.types.get(*name).map(String::as_str),
            Some(*kind),
            "{name}"
        );
    }
    assert!(scrape.value("sse_threads") >= 3.0);
    assert!(scrape.value("process_open_fds") >= 3.0);
    assert!(
        !scrape.types.contains_key("sse_redis_up"),
        "only with --redis"
    );
}

#[test]
fn promtool_finds_nothing_to_complain_about() {
    // Debian's `prometheus` package; `make test` installs it.
    let server = TestServer::start(fast_config());
    server.publish(None, "one message, so that every family has a sample");
    let text = metrics_text(&server);
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus; tests/install-system-packages.sh)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = promtool.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && said.trim().is_empty(),
        "{said}\n{text}"
    );
}

#[test]
fn counters_move_by_exactly_what_clients_did() {
    let config = sse_server::Config {
        count: 2,
        ..fast_config()
    };
    let server = TestServer::start(config);
    let before = scrape(&server);

    for n in 0..3 {
        assert_eq!(server.publish(None, &format!("m{n}")).status, 202);
    }
    let too_large = format!(
        "POST /publish HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        sse_server::config::DEFAULT_MAX_MESSAGE_BYTES + 1
    );
    assert_eq!(server.exchange(&too_large).status, 413);
    let no_length = "POST /publish HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
    assert_eq!(server.exchange(no_length).status, 411);
    assert_eq!(server.exchange(no_length).status, 411);

    // A counter stream of two events and its close event: three events, finished.
    let mut counter = StreamReader::open(&server, "/", "");
    counter.read_until(|reader| reader.finished);
    // A subscription opened after the publishes (so nothing to replay), then left.
    let subscription = StreamReader::open(&server, "/subscribe", "");
    let gone = sse_server::stats::Ending::ClientLeft.label();
    let ended = |scrape: &Scrape, why: &str| {
        scrape.value(&format!("sse_streams_ended_total{{reason=\"{why}\"}}"))
    };
    drop(subscription);
    let deadline = Instant::now() + Duration::from_secs(5);
    let after = loop {
        let now = scrape(&server);
        if ended(&now, gone) > ended(&before, gone) || Instant::now() > deadline {
            break now;
        }
        thread::sleep(Duration::from_millis(20));
    };

    let moved = |series: &str| after.value(series) - before.value(series);
    assert_eq!(moved("sse_messages_published_total"), 3.0);
    assert_eq!(
        after.value("sse_publishes_rejected_total{status=\"413\"}"),
        1.0
    );
    assert_eq!(
        after.value("sse_publishes_rejected_total{status=\"411\"}"),
        2.0
    );
    assert_eq!(moved("sse_streams_total{stream=\"counter\"}"), 1.0);
    assert_eq!(moved("sse_streams_total{stream=\"subscribe\"}"), 1.0);
    assert_eq!(moved("sse_streams_total{stream=\"clock\"}"), 0.0);
    assert_eq!(moved("sse_streams_ended_total{reason=\"finished\"}"), 1.0);
    assert_eq!(
        moved("sse_streams_ended_total{reason=\"client_left\"}"),
        1.0
    );
    assert_eq!(moved("sse_streams_ended_total{reason=\"shutdown\"}"), 0.0);
    assert_eq!(moved("sse_events_sent_total"), 3.0);
    assert_eq!(after.value("sse_streams_open{stream=\"subscribe\"}"), 0.0);
    assert_eq!(after.value("sse_history_messages"), 3.0);
    assert_eq!(after.value("sse_topics"), 1.0);
}

#[test]
fn a_stream_open_now_is_a_gauge_and_no_label_names_a_topic_or_client() {
    let server = TestServer::start(fast_config());
    let _secret_topic = StreamReader::open(&server, "/subscribe?topic=private/alice", "");
    let _clock = StreamReader::open(&server, "/events", "");
    let text = metrics_text(&server);
    let scrape = parse_exposition(&text);
    assert_eq!(scrape.value("sse_streams_open{stream=\"subscribe\"}"), 1.0);
    assert_eq!(scrape.value("sse_streams_open{stream=\"clock\"}"), 1.0);
    assert_eq!(scrape.value("sse_subscribers"), 1.0);
    assert!(
        !text.contains("alice") && !text.contains("127.0.0.1"),
        "{text}"
    );
}

#[test]
fn healthz_and_readyz_answer_and_readyz_says_why_not() {
    let server = TestServer::start(fast_config());
    let get = |path: &str| {
        server.exchange(&format!(
            "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
        ))
    };
    let health = get("/healthz");
    assert_eq!((health.status, health.body_text().as_str()), (200, "ok\n"));
    let ready = get("/readyz");
    assert_eq!((ready.status, ready.body_text().as_str()), (200, "ready\n"));

    // At the stream cap: not ready, while /healthz, /metrics and /readyz itself are still
    // served (short requests have a budget of their own).
    let capped = TestServer::start(sse_server::Config {
        max_clients: 2,
        admission_wait: Duration::ZERO,
        ..fast_config()
    });
    let _streams = [
        StreamReader::open(&capped, "/events", ""),
        StreamReader::open(&capped, "/subscribe", ""),
    ];
    let full = capped.exchange("GET /readyz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    assert_eq!(full.status, 503);
    assert_eq!(
        full.body_text(),
        "full: 2 streams open, the cap is 2 (--max-clients)\n"
    );
    let refused = capped.exchange(
        "GET /events HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(refused.status, 200, "the kind refusal");
    assert!(refused.body_text().starts_with("retry: "));
    let scrape = scrape(&capped);
    assert_eq!(
        scrape.value("sse_streams_refused_total{reason=\"full\"}"),
        1.0
    );
    assert_eq!(scrape.value("sse_streams_open{stream=\"clock\"}"), 1.0);

    // With --redis and no Redis: still ready (every instance shares the one Redis, so
    // all would turn unready at once, see health.rs), and /healthz's body says so.
    let unreachable = sse_server::Config {
        redis: Some(sse_server::redis::url::RedisUrl::parse("redis://127.0.0.1:1").unwrap()),
        ..fast_config()
    };
    let alone = TestServer::start(unreachable);
    let response =
        alone.exchange("GET /readyz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    assert_eq!(response.status, 200);
    let health = alone.exchange("GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    assert_eq!(health.status, 200);
    let body = health.body_text();
    assert!(
        body.starts_with("ok\nredis: unreachable") && body.lines().count() == 2,
        "{body}"
    );
    let scrape = parse_exposition(&{
        let r = alone.exchange("GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        r.body_text()
    });
    assert_eq!(scrape.value("sse_redis_up"), 0.0);
    assert_eq!(scrape.types["sse_redis_lag_seconds"], "gauge");
}

/// The `retry:` values of a stream's body, in order.
fn retries(body: &str) -> Vec<u64> {
    body.lines()
        .filter_map(|line| line.strip_prefix("retry: "))
        .map(|ms| ms.trim().parse().unwrap())
        .collect()
}

#[test]
fn shutdown_sends_every_stream_a_last_retry_spread_over_the_drain_window() {
    let config = sse_server::Config {
        interval: Duration::from_secs(60),
        retry: Duration::from_millis(1000),
        drain_spread: Duration::from_secs(10),
        ..fast_config()
    };
    let server = TestServer::start(config);
    let mut streams: Vec<_> = (0..60)
        .map(|n| server.get(["/events", "/subscribe", "/"][n % 3], ""))
        .collect();
    for socket in &mut streams {
        read_until(socket, "retry: 1000");
    }
    // A connection that is open, but has not asked for anything yet: it will ask for a
    // stream, and the readiness, while the server drains.
    let late = server.connect();
    let prober = server.connect();
    thread::sleep(Duration::from_millis(50));

    let stopping = Instant::now();
    let summary = server.stop();
    assert_eq!(summary.streams_still_open, 0);
    assert!(
        stopping.elapsed() < Duration::from_millis(900),
        "{:?}",
        stopping.elapsed()
    );

    let mut last_retries = Vec::new();
    for socket in &mut streams {
        let rest = read_to_close(socket);
        assert!(rest.ends_with("0\r\n\r\n"), "no last chunk: {rest:?}");
        let last = *retries(&rest).last().expect("a last retry");
        assert!((1000..=11_000).contains(&last), "{last}");
        last_retries.push(last);
    }
    let distinct: BTreeSet<_> = last_retries.iter().map(|ms| ms / 1000).collect();
    assert!(distinct.len() >= 6, "spread over seconds: {last_retries:?}");

    // A stream asked for while draining gets a 200 that only says when to come back.
    let mut late = late;
    late.write_all(b"GET /events HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    let answer = read_to_close(&mut late);
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    let said = retries(&answer);
    assert!(
        said.len() == 2 && (1000..=11_000).contains(&said[1]),
        "{answer}"
    );
    assert!(answer.ends_with("0\r\n\r\n"), "{answer}");

    let mut prober = prober;
    prober
        .write_all(b"GET /readyz HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    let readiness = read_response(&mut prober);
    assert_eq!(readiness.status, 503);
    assert!(readiness.body_text().starts_with("draining"));
}

#[test]
fn a_cap_above_the_os_limits_starts_and_warns_once_naming_the_limit() {
    use std::io::{BufRead, BufReader};
    let mut server = Command::new(env!("CARGO_BIN_EXE_sse-server"))
        .args([
            "--port",
            "0",
            "--max-clients",
            "100000000",
            "--drain-window-s",
            "0",
        ])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = Vec::new();
    for line in BufReader::new(server.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        let started = line.contains("Server running at");
        log.push(line);
        if started {
            break;
        }
    }
    let _ = Command::new("kill")
        .args(["-INT", &server.id().to_string()])
        .status();
    assert!(server.wait().unwrap().success());
    let warnings: Vec<_> = log.iter().filter(|line| line.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{log:#?}");
    assert!(
        warnings[0].contains("--max-clients 100000000 is above what")
            && warnings[0].contains("Raise it: "),
        "{}",
        warnings[0]
    );
}
