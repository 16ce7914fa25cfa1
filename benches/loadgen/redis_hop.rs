//! The cost of the Redis hop (`--redis`): a message published to an instance that
//! shares its log goes to Redis (`XADD`) and comes back through the instance's tail
//! (`XREAD`) before any subscriber sees it.
//!
//! - **hop**: N subscribers (the smallest N), one ordinary publisher sending one
//!   message every [`HOP_INTERVAL`]; p99 publish-to-delivery on a server alone and on
//!   one with `--redis`, measured one after the other in the same run.
//! - **two instances**: the largest N split over two instances sharing one Redis, one
//!   message a second published to the first; p99 publish-to-delivery, lost messages.
//!
//! Redis and the instances all run on the server's core, so the hop's whole cost is
//! inside the same one-core budget as the other scenarios.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::fleet::{Fleet, Observed};
use crate::process::{ServerProcess, free_port};
use crate::publisher::Publisher;
use crate::scenarios::percentile;
use crate::{Figure, SERVER_CORE};

/// Hop: this many messages, one every [`HOP_INTERVAL`].
const HOP_MESSAGES: u64 = 100;
const HOP_INTERVAL: Duration = Duration::from_millis(20);
/// Two instances: this many messages, one a second.
const SPREAD_MESSAGES: u64 = 10;

/// The hop's figures of one run: without Redis, with it, and two instances.
/// `flags_for(n)` are the server's flags for `n` streams (see `main.rs`).
pub fn run(
    server: &Path,
    flags_for: impl Fn(usize) -> Vec<String>,
    small: usize,
    large: usize,
) -> Vec<Figure> {
    let alone = ServerProcess::start(server, SERVER_CORE, &flags_for(small));
    let alone_p99 = hop(&alone, small);
    drop(alone);

    let redis = start_redis();
    let shared = [shared_log_args(&redis, "bench:hop"), flags_for(small)].concat();
    let with_redis = ServerProcess::start(server, SERVER_CORE, &shared);
    wait_until_following(with_redis.port);
    let redis_p99 = hop(&with_redis, small);
    drop(with_redis);

    let spread_args = [
        shared_log_args(&redis, "bench:spread"),
        flags_for(large / 2),
    ]
    .concat();
    let first = ServerProcess::start(server, SERVER_CORE, &spread_args);
    let second = ServerProcess::start(server, SERVER_CORE, &spread_args);
    wait_until_following(first.port);
    wait_until_following(second.port);
    let (spread_p99, lost) = spread(&first, &second, large);

    let scenario = "Redis hop";
    let spread_scenario = "two instances over Redis";
    vec![
        figure(scenario, "delivery p99 without Redis", alone_p99),
        figure(scenario, "delivery p99 with Redis", redis_p99),
        figure(scenario, "added by Redis (p99)", redis_p99 - alone_p99),
        figure(spread_scenario, "fan-out delivery p99", spread_p99),
        Figure {
            unit: "",
            ..figure(spread_scenario, "lost", lost as f64)
        },
    ]
}

fn figure(scenario: &'static str, name: &'static str, value: f64) -> Figure {
    Figure {
        scenario,
        name,
        unit: "ms",
        higher_is_better: false,
        value,
    }
}

/// `redis-server` on a free port, pinned to the server's core, keeping nothing on disk.
pub fn start_redis() -> ServerProcess {
    let port = free_port();
    let mut command = Command::new("taskset");
    command
        .args(["-c", &SERVER_CORE.to_string(), "redis-server"])
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    ServerProcess::spawn(command, port)
}

pub fn shared_log_args(redis: &ServerProcess, key: &str) -> Vec<String> {
    vec![
        "--redis".into(),
        format!("redis://127.0.0.1:{}", redis.port),
        "--redis-key".into(),
        key.into(),
    ]
}

/// Waits until the instance's tail follows the log (`/stats` says so).
pub fn wait_until_following(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(mut socket) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = socket
                .write_all(b"GET /stats HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n");
            let mut answer = String::new();
            let _ = socket.read_to_string(&mut answer);
            if answer.contains("\"connected\": true") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the instance on port {port} did not start following Redis");
}

/// p99 publish-to-delivery, in ms, of [`HOP_MESSAGES`] single publishes to `clients`.
fn hop(server: &ServerProcess, clients: usize) -> f64 {
    let address: SocketAddr = ([127, 0, 0, 1], server.port).into();
    let epoch = Instant::now();
    let mut fleet = Fleet::new(epoch);
    fleet.connect(address, "/subscribe", clients, Duration::from_secs(30));
    let publisher = std::thread::spawn(move || {
        let mut publisher = Publisher::connect(address, epoch);
        let start = Instant::now();
        for seq in 1..=HOP_MESSAGES {
            std::thread::sleep(
                (start + HOP_INTERVAL * seq as u32).saturating_duration_since(Instant::now()),
            );
            publisher.publish(seq);
        }
    });
    let mut observed = Observed::default();
    fleet.run_until(Duration::from_secs(30), &mut observed, true, |fleet| {
        fleet.all_delivered(HOP_MESSAGES)
    });
    publisher.join().expect("hop publisher");
    observed.latencies_us.sort_unstable();
    percentile(&observed.latencies_us, 0.99) as f64 / 1e3
}

/// Half of `clients` on each instance, one message a second published to the first:
/// p99 publish-to-delivery in ms, and messages that did not reach every subscriber.
fn spread(first: &ServerProcess, second: &ServerProcess, clients: usize) -> (f64, u64) {
    let epoch = Instant::now();
    let mut fleet = Fleet::new(epoch);
    let addresses: Vec<SocketAddr> = [first.port, second.port]
        .iter()
        .map(|&port| ([127, 0, 0, 1], port).into())
        .collect();
    fleet.connect_each_of(&addresses, "/subscribe", clients, Duration::from_secs(60));
    let target = addresses[0];
    let publisher = std::thread::spawn(move || {
        let mut publisher = Publisher::connect(target, epoch);
        let start = Instant::now();
        for seq in 1..=SPREAD_MESSAGES {
            std::thread::sleep(
                (start + Duration::from_secs(seq - 1)).saturating_duration_since(Instant::now()),
            );
            publisher.publish(seq);
        }
    });
    let mut observed = Observed::default();
    fleet.run_until(
        Duration::from_secs(SPREAD_MESSAGES + 10),
        &mut observed,
        true,
        |fleet| fleet.all_delivered(SPREAD_MESSAGES),
    );
    publisher.join().expect("spread publisher");
    observed.latencies_us.sort_unstable();
    let lost = fleet.lost_and_duplicated(1, SPREAD_MESSAGES).0;
    (percentile(&observed.latencies_us, 0.99) as f64 / 1e3, lost)
}
