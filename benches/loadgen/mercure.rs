//! Mercure, sse-server only (issue 27): what a publish costs when subscribers find
//! their updates by matching, not by topic name.
//!
//! 10,000 subscribers each follow one exact topic (`match=t{i}`) and 1,000 follow URL
//! patterns, 100 each of ten distinct ones (`match_urlpattern=https://example.com/p{k}/:id`).
//! One ordinary publisher (one `POST /.well-known/mercure` in flight, with a token)
//! publishes as fast as it is answered for [`MERCURE_TIME`], twice: each update to a
//! random pattern's topic and a random exact topic (101 subscribers get it), then each
//! to a topic no pattern matches and an exact one (1 subscriber). Figures: publishes a
//! second, publish-to-delivery p99, server CPU per publish, lost deliveries. The hub
//! finds the exact subscribers with one lookup per topic and evaluates each distinct
//! pattern on the topic's host once per topic (`src/mercure/index.rs`); so the second phase shows what
//! matching costs with 11,000 subscribers present, and the first what 101 deliveries
//! add (each a thread woken and a write, as on `/subscribe`).

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use sse_server::auth::base64url;
use sse_server::auth::hmac::hmac_sha256;

use crate::fleet::{Fleet, Observed};
use crate::process::ServerProcess;
use crate::publisher::Publisher;
use crate::scenarios::{figure, percentile, settle};
use crate::{Figure, SERVER_CORE};

/// The scenario's name in the report.
pub const MERCURE: &str = "Mercure, 10,000 exact + 1,000 pattern subscribers";
const EXACT: usize = 10_000;
const PATTERN_GROUPS: usize = 10;
const PER_PATTERN: usize = 100;
const MERCURE_TIME: Duration = Duration::from_secs(4);
const KEY: &str = "bench-mercure-key-bench-mercure-key!";

/// The scenario's figures of one run. `flags_for(n)` are the server's flags for `n`
/// streams (see `main.rs`).
pub fn run(server: &Path, flags_for: impl Fn(usize) -> Vec<String>) -> Vec<Figure> {
    let clients = EXACT + PATTERN_GROUPS * PER_PATTERN;
    let args = [
        vec!["--mercure-key".to_string(), KEY.to_string()],
        flags_for(clients),
    ]
    .concat();
    let server = ServerProcess::start(server, SERVER_CORE, &args);
    let address: SocketAddr = ([127, 0, 0, 1], server.port).into();
    let mut fleet = Fleet::new(Instant::now());
    let (_, failures) = fleet.connect_each(
        address,
        |index| match index.checked_sub(EXACT) {
            None => format!("/.well-known/mercure?match=t{index}"),
            Some(pattern) => format!(
                "/.well-known/mercure?match_urlpattern=https%3A%2F%2Fexample.com%2Fp{}%2F%3Aid",
                pattern % PATTERN_GROUPS
            ),
        },
        clients,
        Duration::from_secs(60),
    );
    settle(&server, &mut fleet);
    let token = publisher_token();
    eprintln!("bench:   Mercure: publishing to 101 subscribers each");
    // Each update: a random pattern's topic and a random exact topic.
    let wide = publish_for(
        &server,
        &mut fleet,
        address,
        &token,
        0,
        |group, exact, seq| {
            [
                format!("https%3A%2F%2Fexample.com%2Fp{group}%2F{seq}"),
                format!("t{exact}"),
            ]
        },
    );
    eprintln!("bench:   Mercure: publishing to 1 subscriber each");
    // Each update: a topic no pattern matches (all ten are tried) and one exact topic.
    // Its seqs follow the first phase's, so the fleet counts each delivery once.
    let narrow = publish_for(
        &server,
        &mut fleet,
        address,
        &token,
        wide.published,
        |_, exact, seq| {
            [
                format!("https%3A%2F%2Fexample.com%2Fnone%2F{seq}"),
                format!("t{exact}"),
            ]
        },
    );
    drop(server);
    let lost = wide.lost(PER_PATTERN as u64 + 1) + narrow.lost(1);
    vec![
        figure(
            MERCURE,
            "publishes/s, 101 subscribers each",
            "",
            true,
            wide.rate(),
        ),
        figure(
            MERCURE,
            "delivery p99, 101 subscribers each",
            "ms",
            false,
            wide.p99_ms(),
        ),
        figure(
            MERCURE,
            "CPU per publish, 101 subscribers each",
            "µs",
            false,
            wide.cpu_per_publish_us(),
        ),
        figure(
            MERCURE,
            "publishes/s, 1 subscriber each",
            "",
            true,
            narrow.rate(),
        ),
        figure(
            MERCURE,
            "delivery p99, 1 subscriber each",
            "ms",
            false,
            narrow.p99_ms(),
        ),
        figure(
            MERCURE,
            "CPU per publish, 1 subscriber each",
            "µs",
            false,
            narrow.cpu_per_publish_us(),
        ),
        figure(MERCURE, "lost deliveries", "", false, lost as f64),
        figure(MERCURE, "failed connects", "", false, failures as f64),
    ]
}

/// What one publishing phase measured.
struct Phase {
    published: u64,
    took: Duration,
    observed: Observed,
    cpu_seconds: f64,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.published as f64 / self.took.as_secs_f64()
    }
    fn p99_ms(&self) -> f64 {
        percentile(&self.observed.latencies_us, 0.99) as f64 / 1e3
    }
    fn cpu_per_publish_us(&self) -> f64 {
        self.cpu_seconds * 1e6 / self.published.max(1) as f64
    }
    /// Deliveries missing, when each update was for `per_update` subscribers.
    fn lost(&self, per_update: u64) -> u64 {
        (self.published * per_update).saturating_sub(self.observed.deliveries)
    }
}

/// Publishes for [`MERCURE_TIME`], one update in flight, seqs after `first_seq`, to the
/// topics `topics(group, exact, seq)` gives for a pseudo-random pattern group and exact
/// topic.
fn publish_for(
    server: &ServerProcess,
    fleet: &mut Fleet,
    address: SocketAddr,
    token: &str,
    first_seq: u64,
    topics: fn(u64, u64, u64) -> [String; 2],
) -> Phase {
    let before = server.cpu_seconds_exact();
    let epoch = fleet.epoch;
    let token = token.to_string();
    let publisher = std::thread::spawn(move || {
        let mut publisher = Publisher::connect(address, epoch);
        let start = Instant::now();
        let mut seq = first_seq;
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        while start.elapsed() < MERCURE_TIME {
            seq += 1;
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let group = state % PATTERN_GROUPS as u64;
            let exact = (state >> 8) % EXACT as u64;
            publisher.publish_mercure(seq, &topics(group, exact, seq), &token);
        }
        (seq - first_seq, start.elapsed(), publisher)
    });
    let mut observed = Observed::default();
    let mut finished = None;
    let mut thread = Some(publisher);
    fleet.run_until(MERCURE_TIME * 3, &mut observed, true, |_| {
        if thread.as_ref().is_some_and(|thread| thread.is_finished()) {
            finished = Some(thread.take().unwrap().join().expect("Mercure publisher"));
        }
        finished.is_some()
    });
    let (published, took, publisher) =
        finished.unwrap_or_else(|| thread.take().unwrap().join().expect("publisher"));
    fleet.run_until(Duration::from_millis(500), &mut observed, true, |_| false);
    // Read before the publisher's connection closes: its thread's work is in the sum.
    let cpu_seconds = server.cpu_seconds_exact() - before;
    drop(publisher);
    observed.latencies_us.sort_unstable();
    Phase {
        published,
        took,
        observed,
        cpu_seconds,
    }
}

/// A Mercure access token granting `publish` on every topic, for an hour.
fn publisher_token() -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        + 3600;
    let claims = format!(
        r#"{{"iss":"https://localhost","aud":"https://localhost/.well-known/mercure","sub":"bench","exp":{exp},"authorization_details":[{{"type":"https://mercure.rocks/authorization-detail","actions":["publish"],"topics":[{{"match":"*"}}]}}]}}"#
    );
    let mut token = base64url::encode(br#"{"alg":"HS256","typ":"at+jwt"}"#);
    token.push('.');
    token.push_str(&base64url::encode(claims.as_bytes()));
    let signature = hmac_sha256(KEY.as_bytes(), token.as_bytes());
    token.push('.');
    token.push_str(&base64url::encode(&signature));
    token
}
