//! `make bench-cluster`: past one process. Three instances share one log in one real
//! `redis-server` and hold, between them, more streams than one process can (a
//! process stops near `vm.max_map_count` / maps per thread, `limits.rs`); beside them,
//! one instance over the same Redis holding a third of the streams, so that what the
//! cluster adds can be read off.
//!
//! Each setup is measured the same way: hold the streams (RSS per stream, each
//! instance's RSS), fan-out of one message a second published to the first instance
//! (p99 publish-to-delivery, lost messages, CPU of the instances and Redis per
//! delivery), then an ordinary publisher's throughput (one `POST` in flight:
//! deliveries per second, and Redis's own CPU and the bytes it sent per message:
//! every instance's tail reads every entry of the log).
//!
//! Everything runs on this machine: the instances and Redis share the server's core
//! (so the cluster's fan-out p99 is that of all its streams on one core), the load
//! generator runs on the other. `cluster_report.rs` turns the figures into
//! BENCHMARKS.md's capacity table.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::fleet::Fleet;
use crate::process::ServerProcess;
use crate::publisher::Publisher;
use crate::redis_hop::{shared_log_args, start_redis, wait_until_following};
use crate::scenarios::{self, figure, percentile, settle, throughput};
use crate::{Figure, SERVER_CORE};

pub const CLUSTER: &str = "cluster: three instances over one Redis";
pub const ALONE: &str = "cluster: one instance over Redis, a third of the streams";
/// Instances in the cluster.
pub const INSTANCES: usize = 3;
/// Streams per instance wanted (less if the machine's limits say so, `limits.rs`).
pub const WANTED_PER_INSTANCE: usize = 10_000;
/// The figure the capacity table's CPU comes from.
pub const FANOUT_CPU: &str = "fan-out CPU per delivery (instances + Redis)";
/// Fan-out: this many messages, one a second.
const FANOUT_MESSAGES: u64 = 8;

/// One run: the cluster's figures, then the lone instance's.
pub fn run(
    server: &Path,
    flags_for: impl Fn(usize) -> Vec<String>,
    per_instance: usize,
) -> Vec<Figure> {
    let redis = start_redis();
    let args = [
        shared_log_args(&redis, "bench:cluster"),
        flags_for(per_instance),
    ]
    .concat();
    let instances: Vec<ServerProcess> = (0..INSTANCES)
        .map(|_| ServerProcess::start(server, SERVER_CORE, &args))
        .collect();
    instances.iter().for_each(|i| wait_until_following(i.port));
    let mut figures = measure(CLUSTER, &instances, &redis, per_instance * INSTANCES);
    drop(instances);

    let args = [
        shared_log_args(&redis, "bench:alone"),
        flags_for(per_instance),
    ]
    .concat();
    let alone = ServerProcess::start(server, SERVER_CORE, &args);
    wait_until_following(alone.port);
    figures.extend(measure(ALONE, &[alone], &redis, per_instance));
    figures
}

/// Holds `streams` spread evenly over `instances`, then measures fan-out and
/// throughput through the first.
fn measure(
    scenario: &'static str,
    instances: &[ServerProcess],
    redis: &ServerProcess,
    streams: usize,
) -> Vec<Figure> {
    let addresses: Vec<SocketAddr> = instances
        .iter()
        .map(|i| ([127, 0, 0, 1], i.port).into())
        .collect();
    let rss = || {
        instances
            .iter()
            .map(|i| i.sample().rss_kib)
            .collect::<Vec<u64>>()
    };
    let empty = rss();
    let epoch = Instant::now();
    let mut fleet = Fleet::new(epoch);
    eprintln!("bench:   {scenario}: opening {streams} streams");
    let (_, failed) =
        fleet.connect_each_of(&addresses, "/subscribe", streams, Duration::from_secs(120));
    instances.iter().for_each(|i| settle(i, &mut fleet));
    let held = rss();
    let grown: u64 = held
        .iter()
        .zip(&empty)
        .map(|(h, e)| h.saturating_sub(*e))
        .sum();
    let largest = held.iter().copied().max().unwrap_or(0);
    let mut figures = vec![
        figure(scenario, "streams held", "", true, fleet.live() as f64),
        figure(scenario, "failed connects", "", false, failed as f64),
        figure(
            scenario,
            "RSS per stream",
            "KiB",
            false,
            grown as f64 / streams as f64,
        ),
        figure(
            scenario,
            "largest instance RSS",
            "MiB",
            false,
            largest as f64 / 1024.0,
        ),
        figure(
            scenario,
            "empty instance RSS",
            "MiB",
            false,
            empty[0] as f64 / 1024.0,
        ),
    ];

    let mut processes: Vec<&ServerProcess> = instances.iter().collect();
    processes.push(redis);
    // Exact CPU (each thread's schedstat), read outside the measured windows.
    let cpu = || processes.iter().map(|p| p.cpu_seconds_exact()).sum::<f64>();

    eprintln!("bench:   {scenario}: fan-out");
    let cpu_before = cpu();
    let (p99, lost, deliveries, publisher) = fan_out(&mut fleet, addresses[0]);
    let per_delivery_us = (cpu() - cpu_before) / deliveries.max(1) as f64 * 1e6;
    figures.extend([
        figure(scenario, "fan-out delivery p99", "ms", false, p99),
        figure(scenario, "fan-out lost", "", false, lost as f64),
        figure(scenario, FANOUT_CPU, "µs", false, per_delivery_us),
    ]);

    // Redis's cost per message is read over the throughput window: at one message a
    // second its idle work (timers, the tails' blocking reads timing out) would
    // outweigh the message's.
    eprintln!("bench:   {scenario}: throughput");
    let redis_before = redis_counters(redis.port);
    let next = FANOUT_MESSAGES + 1;
    let measured = throughput(&processes, &mut fleet, publisher, next, false);
    let redis_after = redis_counters(redis.port);
    let published = (measured.publisher.1 + 1 - next).max(1) as f64;
    let redis_cpu_us = (redis_after.0 - redis_before.0) / published * 1e6;
    let redis_sent = (redis_after.1 - redis_before.1) / published;
    let per_delivery_us = measured.server_cpu / 100.0 / measured.deliveries_per_s * 1e6;
    figures.extend([
        figure(
            scenario,
            "throughput: deliveries",
            "/s",
            true,
            measured.deliveries_per_s,
        ),
        figure(
            scenario,
            "throughput: lost",
            "",
            false,
            measured.lost as f64,
        ),
        figure(
            scenario,
            "throughput: CPU per delivery",
            "µs",
            false,
            per_delivery_us,
        ),
        figure(scenario, "Redis CPU per message", "µs", false, redis_cpu_us),
        figure(
            scenario,
            "Redis bytes sent per message",
            "B",
            false,
            redis_sent,
        ),
    ]);
    figures
}

/// [`FANOUT_MESSAGES`] messages, one a second, published to `target`: p99
/// publish-to-delivery over every stream in ms, messages that missed a stream,
/// deliveries, and the publisher (for the throughput that follows).
fn fan_out(fleet: &mut Fleet, target: SocketAddr) -> (f64, u64, u64, Publisher) {
    let (mut observed, publisher) = scenarios::fan_out(fleet, target, FANOUT_MESSAGES, 20);
    observed.latencies_us.sort_unstable();
    let lost = fleet.lost_and_duplicated(1, FANOUT_MESSAGES).0;
    let p99 = percentile(&observed.latencies_us, 0.99) as f64 / 1e3;
    (p99, lost, observed.deliveries, publisher)
}

/// What Redis says it has used (`INFO cpu`: user and system seconds, its own
/// `getrusage`) and sent (`INFO stats`: `total_net_output_bytes`).
fn redis_counters(port: u16) -> (f64, f64) {
    let Ok(mut socket) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0.0, 0.0);
    };
    let _ = socket.set_read_timeout(Some(Duration::from_secs(5)));
    // Inline commands, then QUIT so that the reply ends with the connection.
    let _ = socket.write_all(b"INFO cpu\r\nINFO stats\r\nQUIT\r\n");
    let mut reply = String::new();
    let _ = socket.read_to_string(&mut reply);
    let field = |name: &str| -> f64 {
        reply
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0.0)
    };
    (
        field("used_cpu_user") + field("used_cpu_sys"),
        field("total_net_output_bytes"),
    )
}
