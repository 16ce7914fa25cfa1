//! `make bench`: a load generator for sse-server, and the report it writes.
//!
//! For each client count N (100, 1,000, 5,000, 10,000) and each of several runs, it
//! starts the release server pinned to core 0 (this process runs pinned to core 1)
//! and measures four scenarios against that one server:
//!
//! 1. **hold**: open N `/subscribe` streams; connect-to-first-byte latency, failures,
//!    server RSS per stream, threads, descriptors, and server CPU while idle.
//! 2. **fan-out**: publish one message per second, ten times; delivery latency over
//!    every (client, message) pair, from just before the publish to the client's read.
//! 3. **throughput**: publish as fast as the server accepts, never more than
//!    `WINDOW` messages ahead of the slowest client; deliveries per second.
//! 4. **shutdown**: SIGINT with N streams open; time until the process exits.
//!
//! Then it writes `BENCHMARKS.md` (medians and spreads) and `benches/results.svg`.

mod fleet;
mod process;
mod publisher;
mod report;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fleet::{Fleet, Observed};
use process::{ServerProcess, own_cpu_seconds};
use publisher::Publisher;

/// The server runs on this core, the load generator on the other.
const SERVER_CORE: usize = 0;
/// Heartbeat interval given to the server, so the idle window sees one round.
const HEARTBEAT_S: u64 = 5;
/// How long the idle CPU is measured: longer than one heartbeat interval.
const IDLE_WINDOW: Duration = Duration::from_secs(6);
/// Fan-out: this many messages, one per second.
const FANOUT_MESSAGES: u64 = 10;
/// Throughput: publish for this long.
const THROUGHPUT_TIME: Duration = Duration::from_secs(4);
/// Throughput: at most this many messages published but not yet at every client.
/// Well under the server's history (1,000), so a slow client never loses messages.
const WINDOW: u64 = 100;

/// Every figure of one run at one N.
#[derive(Debug, Clone, Default)]
pub struct RunResult {
    pub clients: usize,
    pub connect_p50_ms: f64,
    pub connect_p99_ms: f64,
    pub failures: usize,
    pub rss_per_stream_kib: f64,
    pub threads: u64,
    pub descriptors: u64,
    pub idle_cpu_percent: f64,
    pub fanout_p50_ms: f64,
    pub fanout_p99_ms: f64,
    pub fanout_max_ms: f64,
    pub fanout_lost: u64,
    pub fanout_cpu_us_per_delivery: f64,
    pub fanout_generator_cpu_percent: f64,
    pub throughput_per_s: f64,
    pub throughput_cpu_us_per_delivery: f64,
    pub throughput_lost: u64,
    pub throughput_generator_cpu_percent: f64,
    pub shutdown_ms: f64,
    pub shutdown_clean: bool,
}

struct Options {
    server: PathBuf,
    clients: Vec<usize>,
    runs: usize,
    report: PathBuf,
    chart: PathBuf,
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs bench targets
    // without it. A four-minute load test has no place in a test run.
    if !std::env::args().any(|arg| arg == "--bench") {
        eprintln!("loadgen: not run outside `cargo bench` (use `make bench`)");
        return;
    }
    let options = parse_options();
    let started = Instant::now();
    let mut results = Vec::new();
    for &clients in &options.clients {
        for run in 1..=options.runs {
            eprintln!(
                "bench: N = {clients}, run {run} of {} ({:.0} s so far)",
                options.runs,
                started.elapsed().as_secs_f64()
            );
            let result = run_once(&options, clients);
            eprintln!("bench:   {result:?}");
            results.push(result);
        }
    }
    report::write_markdown(
        &options.report,
        &results,
        &options.clients,
        options.runs,
        started.elapsed(),
    );
    report::write_svg(&options.chart, &results, &options.clients);
    eprintln!(
        "bench: wrote {} and {} in {:.0} s",
        options.report.display(),
        options.chart.display(),
        started.elapsed().as_secs_f64()
    );
}

fn parse_options() -> Options {
    let mut options = Options {
        server: PathBuf::from("target/release/sse-server"),
        clients: vec![100, 1_000, 5_000, 10_000],
        runs: 3,
        report: PathBuf::from("BENCHMARKS.md"),
        chart: PathBuf::from("benches/results.svg"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| panic!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--server" => options.server = value().into(),
            "--clients" => {
                options.clients = value()
                    .split(',')
                    .map(|n| n.parse().expect("--clients: numbers"))
                    .collect()
            }
            "--runs" => options.runs = value().parse().expect("--runs: a number"),
            "--report" => options.report = value().into(),
            "--chart" => options.chart = value().into(),
            // `cargo bench` passes --bench to every bench target.
            "--bench" => {}
            other => panic!("unknown flag {other}"),
        }
    }
    options
}

fn run_once(options: &Options, clients: usize) -> RunResult {
    let extra = [
        "--heartbeat-s",
        &HEARTBEAT_S.to_string(),
        "--max-clients",
        &(clients + 64).to_string(),
    ]
    .map(String::from);
    let server = ServerProcess::start(&options.server, SERVER_CORE, &extra);
    let address: SocketAddr = ([127, 0, 0, 1], server.port).into();
    let epoch = Instant::now();
    let mut result = RunResult {
        clients,
        ..RunResult::default()
    };

    // 1. Hold: open every stream, then idle through a heartbeat round.
    let baseline = server.sample();
    let mut fleet = Fleet::new(epoch);
    let (mut latencies, failures) =
        fleet.connect(address, "/subscribe", clients, Duration::from_secs(60));
    let held = server.sample();
    latencies.sort();
    result.connect_p50_ms = percentile(&latencies, 0.50).as_secs_f64() * 1e3;
    result.connect_p99_ms = percentile(&latencies, 0.99).as_secs_f64() * 1e3;
    result.failures = failures;
    result.rss_per_stream_kib =
        held.rss_kib.saturating_sub(baseline.rss_kib) as f64 / clients as f64;
    result.threads = held.threads;
    result.descriptors = held.descriptors;
    let idle_start = server.sample();
    fleet.run_until(IDLE_WINDOW, &mut Observed::default(), false, |_| false);
    let idle_end = server.sample();
    result.idle_cpu_percent = cpu_percent(
        idle_end.cpu_seconds - idle_start.cpu_seconds,
        idle_end.at - idle_start.at,
    );

    // 2. Fan-out: one message a second, latency of every delivery.
    let before = (server.sample(), own_cpu_seconds());
    let publisher = std::thread::spawn(move || {
        let mut publisher = Publisher::connect(address, epoch);
        let start = Instant::now();
        for seq in 1..=FANOUT_MESSAGES {
            let due = start + Duration::from_secs(seq - 1);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            publisher.publish(seq);
        }
        publisher
    });
    let mut observed = Observed::default();
    let fanout_limit = Duration::from_secs(FANOUT_MESSAGES + 10);
    fleet.run_until(fanout_limit, &mut observed, true, |fleet| {
        fleet.all_delivered(FANOUT_MESSAGES)
    });
    let mut publisher = publisher.join().expect("fan-out publisher");
    let after = (server.sample(), own_cpu_seconds());
    observed.latencies_us.sort_unstable();
    let as_ms = |us: u32| us as f64 / 1e3;
    result.fanout_p50_ms = as_ms(percentile(&observed.latencies_us, 0.50));
    result.fanout_p99_ms = as_ms(percentile(&observed.latencies_us, 0.99));
    result.fanout_max_ms = as_ms(observed.latencies_us.last().copied().unwrap_or(0));
    result.fanout_lost = fleet.lost_and_duplicated(1, FANOUT_MESSAGES).0;
    result.fanout_cpu_us_per_delivery = per_delivery_us(
        after.0.cpu_seconds - before.0.cpu_seconds,
        observed.deliveries,
    );
    result.fanout_generator_cpu_percent = cpu_percent(after.1 - before.1, after.0.at - before.0.at);

    // 3. Throughput: publish as fast as the window allows, for a fixed time.
    let before = (server.sample(), own_cpu_seconds());
    let watermark = fleet.watermark.clone();
    let first_seq = FANOUT_MESSAGES + 1;
    // Requests are pipelined: a second thread reads the 202s, so the server's
    // publishing thread finds many requests waiting each time it runs, and subscribers
    // find several messages pending each time they wake.
    let publisher = std::thread::spawn(move || {
        let mut answers = publisher.answers();
        // One token per request sent; the collector reads one answer per token.
        let (sent, to_collect) = std::sync::mpsc::channel::<()>();
        let collector =
            std::thread::spawn(move || to_collect.iter().for_each(|()| answers.receive()));
        let start = Instant::now();
        let mut seq = first_seq;
        while start.elapsed() < THROUGHPUT_TIME {
            if seq > watermark.load(Ordering::Acquire) + WINDOW {
                std::thread::sleep(Duration::from_micros(50));
                continue;
            }
            publisher.send(seq);
            sent.send(()).expect("the answer collector is running");
            seq += 1;
        }
        drop(sent);
        collector.join().expect("answer collector");
        seq - 1
    });
    let mut observed = Observed::default();
    let mut last_seq = None;
    let mut publisher = Some(publisher);
    fleet.run_until(THROUGHPUT_TIME * 4, &mut observed, false, |fleet| {
        if publisher
            .as_ref()
            .is_some_and(|thread| thread.is_finished())
        {
            last_seq = Some(
                publisher
                    .take()
                    .unwrap()
                    .join()
                    .expect("throughput publisher"),
            );
        }
        last_seq.is_some_and(|last| fleet.all_delivered(last))
    });
    let after = (server.sample(), own_cpu_seconds());
    let last_seq = last_seq.unwrap_or_else(|| {
        publisher
            .take()
            .unwrap()
            .join()
            .expect("throughput publisher")
    });
    let elapsed = after.0.at - before.0.at;
    result.throughput_per_s = observed.deliveries as f64 / elapsed.as_secs_f64();
    result.throughput_cpu_us_per_delivery = per_delivery_us(
        after.0.cpu_seconds - before.0.cpu_seconds,
        observed.deliveries,
    );
    result.throughput_lost = fleet.lost_and_duplicated(first_seq, last_seq).0;
    result.throughput_generator_cpu_percent = cpu_percent(after.1 - before.1, elapsed);

    // 4. Shutdown with every stream open.
    let (took, clean) = server.interrupt_and_wait(Duration::from_secs(10));
    result.shutdown_ms = took.as_secs_f64() * 1e3;
    result.shutdown_clean = clean;
    drop(fleet);
    result
}

fn percentile<T: Copy + Default>(sorted: &[T], fraction: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn cpu_percent(cpu_seconds: f64, wall: Duration) -> f64 {
    100.0 * cpu_seconds / wall.as_secs_f64()
}

fn per_delivery_us(cpu_seconds: f64, deliveries: u64) -> f64 {
    if deliveries == 0 {
        0.0
    } else {
        cpu_seconds * 1e6 / deliveries as f64
    }
}
