//! `make bench`: a load generator for sse-server, measured side by side with an async
//! reference server (axum + tokio `broadcast`, `benches/reference`), and the report.
//!
//! Each run starts a fresh server process pinned to core 0 (this process runs on core
//! 1), with default flags, and measures against it, in this order:
//!
//! 1. **hold**: open N `/subscribe` streams; connect latency, RSS per stream, and the
//!    server's CPU while the streams sit idle (sse-server checks each client once a
//!    second; that is the cost of noticing departed clients).
//! 2. **fan-out**: one message a second, ten times, from an ordinary publisher (one
//!    `POST` in flight); latency of every delivery, server CPU per delivery.
//! 3. **throughput, ordinary publisher**: one `POST` in flight at a time, never more
//!    than [`WINDOW`] messages ahead of the slowest subscriber; deliveries per second.
//! 4. **throughput, pipelining publisher**: requests sent without waiting for answers
//!    (few real publishers do this; kept to show the ceiling), same window.
//! 5. **churn**: all N clients drop their streams and reconnect at once; refused
//!    reconnects and the time until every client is back.
//! 6. **shutdown**: SIGINT with N streams open; time until the process exits.
//!
//! and, once per run at the largest N, **topics**: N subscribers each on a topic of its
//! own, publishes to random topics at a fixed rate (one in flight); publish-to-delivery
//! latency and server CPU per publish.
//!
//! and, once per run at the largest N, **the hop floor** (`hop_floor.rs`): what waking one
//! of N sleeping threads costs on the server's core, the least a thread per client
//! adds to every delivery;
//!
//! and, once per run, sse-server alone, **the Redis hop** (`redis_hop.rs`): one publish
//! at a time to the smallest N with `--redis` against without, and the largest N spread
//! over two instances sharing one Redis.
//!
//! Runs alternate between the two servers (sse-server, reference, sse-server, ...) so
//! that both see the same machine conditions; every figure is reported with its
//! median, its spread, and the median ratio of the pairs.

mod fleet;
mod hop_floor;
mod process;
mod publisher;
mod redis_hop;
mod report;
mod scenarios;

use std::path::PathBuf;
use std::time::Instant;

use process::ServerProcess;

/// The server runs on this core, the load generator on the other.
pub const SERVER_CORE: usize = 0;
/// Throughput: at most this many messages published but not yet at every client.
pub const WINDOW: u64 = 32;

/// Which server a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SseServer,
    Reference,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::SseServer => "sse-server",
            Kind::Reference => "async reference",
        }
    }
}

/// One figure of one run.
#[derive(Debug, Clone)]
pub struct Figure {
    pub scenario: &'static str,
    pub name: &'static str,
    pub unit: &'static str,
    /// Whether more is better (throughput) or less (latency, CPU).
    pub higher_is_better: bool,
    pub value: f64,
}

/// Every figure of one run of one server at one N.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub kind: Kind,
    pub clients: usize,
    pub figures: Vec<Figure>,
}

struct Options {
    server: PathBuf,
    reference: PathBuf,
    clients: Vec<usize>,
    runs: usize,
    /// Which servers to measure (both, unless `--only` names one, for profiling).
    kinds: Vec<Kind>,
    report: PathBuf,
    /// Whether to measure the Redis hop (`--no-redis` skips it).
    redis: bool,
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs bench targets
    // without it. A ten-minute load test has no place in a test run.
    if !std::env::args().any(|arg| arg == "--bench") {
        eprintln!("loadgen: not run outside `cargo bench` (use `make bench`)");
        return;
    }
    // The hop floor's child process (see hop_floor.rs).
    if let Some(threads) = hop_floor_threads() {
        println!("{:.3}", hop_floor::measure(threads));
        return;
    }
    let options = parse_options();
    let started = Instant::now();
    let mut results = Vec::new();
    let mut hops = Vec::new();
    let mut floors = Vec::new();
    let largest = options.clients.iter().copied().max().unwrap_or(0);
    for run in 1..=options.runs {
        for &clients in &options.clients {
            for &kind in &options.kinds {
                eprintln!(
                    "bench: run {run} of {}, N = {clients}, {} ({:.0} s so far)",
                    options.runs,
                    kind.label(),
                    started.elapsed().as_secs_f64()
                );
                let mut result = scenarios::run_once(start(&options, kind), kind, clients);
                if clients == largest {
                    let topics = scenarios::run_topics(start(&options, kind), clients);
                    result.figures.extend(topics);
                }
                for figure in &result.figures {
                    eprintln!(
                        "bench:   {} / {}: {:.2} {}",
                        figure.scenario, figure.name, figure.value, figure.unit
                    );
                }
                results.push(result);
            }
        }
        eprintln!("bench: run {run}, the hop floor at N = {largest}");
        floors.push(hop_floor::run(largest));
        eprintln!("bench:   one hop: {:.2} µs", floors[floors.len() - 1]);
        if options.redis && options.kinds.contains(&Kind::SseServer) {
            let smallest = options.clients.iter().copied().min().unwrap_or(0);
            eprintln!("bench: run {run}, the Redis hop");
            let figures = redis_hop::run(&options.server, smallest, largest);
            for figure in &figures {
                eprintln!(
                    "bench:   {} / {}: {:.2} {}",
                    figure.scenario, figure.name, figure.value, figure.unit
                );
            }
            hops.push(figures);
        }
    }
    report::write_markdown(
        &options.report,
        &results,
        &hops,
        &floors,
        &options.clients,
        options.runs,
        started.elapsed(),
    );
    eprintln!(
        "bench: wrote {} in {:.0} s",
        options.report.display(),
        started.elapsed().as_secs_f64()
    );
}

/// `--hop-floor N`: this process is the hop floor's child.
fn hop_floor_threads() -> Option<usize> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|arg| arg == "--hop-floor")?;
    Some(args.get(at + 1)?.parse().expect("--hop-floor: a number"))
}

/// A fresh server process of `kind`, with default flags.
fn start(options: &Options, kind: Kind) -> ServerProcess {
    match kind {
        Kind::SseServer => ServerProcess::start(&options.server, SERVER_CORE, &[]),
        Kind::Reference => ServerProcess::start_reference(&options.reference, SERVER_CORE),
    }
}

fn parse_options() -> Options {
    let mut options = Options {
        server: PathBuf::from("target/release/sse-server"),
        reference: PathBuf::from("benches/reference/target/release/sse-reference"),
        clients: vec![100, 10_000],
        runs: 3,
        kinds: vec![Kind::SseServer, Kind::Reference],
        report: PathBuf::from("BENCHMARKS.md"),
        redis: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| panic!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--server" => options.server = value().into(),
            "--reference" => options.reference = value().into(),
            "--clients" => {
                options.clients = value()
                    .split(',')
                    .map(|n| n.parse().expect("--clients: numbers"))
                    .collect()
            }
            "--runs" => options.runs = value().parse().expect("--runs: a number"),
            "--report" => options.report = value().into(),
            "--no-redis" => options.redis = false,
            "--only" => {
                options.kinds = match value().as_str() {
                    "sse-server" => vec![Kind::SseServer],
                    "reference" => vec![Kind::Reference],
                    other => panic!("--only: sse-server or reference, not {other}"),
                }
            }
            // `cargo bench` passes --bench to every bench target.
            "--bench" => {}
            other => panic!("unknown flag {other}"),
        }
    }
    options
}
