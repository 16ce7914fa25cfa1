//! `make bench`: a load generator for sse-server, measured side by side with two
//! references doing the same job, and the report:
//!
//! - **axum + tokio** (`benches/reference`): idiomatic async Rust, one `broadcast`
//!   channel per topic, on `#[tokio::main]` as axum's users start it;
//! - **node:http** (`benches/node/server.mjs`): the platform of the tutorials this
//!   project grew from, node's built-in `http` and one `res.write` per event;
//! - and, as a labelled extra at one N, axum + tokio on tokio's single-threaded
//!   runtime, which this bench used as its only reference until it was asked how axum's
//!   users run it.
//!
//! The sweep measures each server at N = 100, 1,000, 5,000, 10,000 and the largest N
//! this machine allows (`limits.rs` finds it and names the limit that sets it). Each
//! run starts a fresh server process pinned to core 0 (this process runs on core 1),
//! with default flags, and measures against it, in this order:
//!
//! 1. **hold**: open N `/subscribe` streams; connect latency, RSS per stream, threads,
//!    descriptors; at the largest N also memory maps, and the server's CPU while the
//!    streams sit idle over a window that holds one heartbeat of every stream.
//! 2. **fan-out**: one message a second from an ordinary publisher (one `POST` in
//!    flight); latency of every delivery, server CPU per delivery.
//! 3. **throughput, ordinary publisher**: one `POST` in flight at a time, never more
//!    than [`WINDOW`] messages ahead of the slowest subscriber; deliveries per second.
//! 4. **throughput, pipelining publisher**: requests sent without waiting for answers
//!    (few real publishers do this; kept to show the ceiling), same window.
//! 5. **churn**: all N clients drop their streams and reconnect at once; refused
//!    reconnects, the time until every client is back, and (sse-server) how long the
//!    hub's lock was held while they left.
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
//! over two instances sharing one Redis;
//!
//! and, once per run, sse-server alone, **beside the stalled** (`stalled.rs`): the lag
//! of healthy subscribers beside 1,000 that stopped reading (`--stalled-only` runs just
//! this, once, and prints its figures).
//!
//! `make bench-cluster` (`--cluster`) runs only `cluster.rs`: three instances over one
//! Redis holding more streams than one process can, and the capacity table.
//!
//! and, once per run, sse-server alone, **Mercure** (`mercure.rs`): publishes a second
//! and delivery p99 with 10,000 exact and 1,000 URL-pattern subscribers (`--only-mercure`
//! runs this one scenario and prints its figures, writing no report).
//!
//! Runs alternate between the servers (sse-server, tokio, node, sse-server, ...) so
//! that all see the same machine conditions; every figure is reported with its
//! median, its spread, and the median ratio of the pairs. `chart.rs` draws the sweep.

mod chart;
mod chart_ratio;
mod cluster;
mod cluster_report;
mod fleet;
mod hop_floor;
mod limits;
mod mercure;
mod process;
mod publisher;
mod redis_hop;
mod report;
mod scenarios;
#[path = "../../tests/support/small_buffer.rs"]
mod small_buffer;
mod stalled;
mod sweep;
mod topics;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use process::ServerProcess;

/// The server runs on this core, the load generator on the other.
pub const SERVER_CORE: usize = 0;
/// Throughput: at most this many messages published but not yet at every client.
pub const WINDOW: u64 = 32;

/// The N of the sweep below the largest one the machine allows.
const SWEEP: [usize; 4] = [100, 1_000, 5_000, 10_000];
/// The labelled extra (tokio's single-threaded runtime) runs at this N only.
pub const EXTRA_AT: usize = 10_000;

/// Which server a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SseServer,
    /// axum on `#[tokio::main]`.
    Tokio,
    /// node:http in the tutorials' style.
    Node,
    /// axum on `#[tokio::main(flavor = "current_thread")]`, the labelled extra.
    TokioCurrentThread,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::SseServer => "sse-server",
            Kind::Tokio => "axum + tokio",
            Kind::Node => "node:http",
            Kind::TokioCurrentThread => "tokio current_thread (extra)",
        }
    }

    /// The name `--only` takes.
    fn key(self) -> &'static str {
        match self {
            Kind::SseServer => "sse-server",
            Kind::Tokio => "tokio",
            Kind::Node => "node",
            Kind::TokioCurrentThread => "tokio-current-thread",
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
    reference_current_thread: PathBuf,
    node: PathBuf,
    node_script: PathBuf,
    clients: Vec<usize>,
    runs: usize,
    /// Runs at the largest N (each takes longest there); the rest get [`Self::runs`].
    runs_at_largest: usize,
    /// Which servers to measure (all three and the extra, unless `--only` names some).
    kinds: Vec<Kind>,
    report: PathBuf,
    /// Where the charts go; the report links them relative to its own folder.
    charts: PathBuf,
    /// Whether to measure the Redis hop (`--no-redis` skips it).
    redis: bool,
    /// `--cluster`: only the cluster (`cluster.rs`), this many runs.
    cluster_runs: Option<usize>,
    /// Run only the stalled-readers scenario, once, and print its figures.
    stalled_only: bool,
    /// `--only-mercure`: the Mercure scenario alone, figures printed, no report.
    only_mercure: bool,
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
    let budgets = limits::budgets();
    let options = parse_options(limits::largest_n(&budgets));
    if let Some(runs) = options.cluster_runs {
        run_cluster(&options, &budgets, runs);
        return;
    }
    if options.stalled_only {
        for figure in stalled::run(&options.server, &sse_server_args(&options.server, 1_100)) {
            eprintln!(
                "bench:   {} / {}: {:.2} {}",
                figure.scenario, figure.name, figure.value, figure.unit
            );
        }
        return;
    }
    if options.only_mercure {
        let flags_for = |n| sse_server_args(&options.server, n);
        for figure in mercure::run(&options.server, flags_for) {
            println!(
                "{} / {}: {:.2} {}",
                figure.scenario, figure.name, figure.value, figure.unit
            );
        }
        return;
    }
    let started = Instant::now();
    let mut results = Vec::new();
    let mut hops = Vec::new();
    let mut mercures = Vec::new();
    let mut floors = Vec::new();
    let mut beside_stalled = Vec::new();
    let largest = options.clients.iter().copied().max().unwrap_or(0);
    let runs = options.runs.max(options.runs_at_largest);
    for run in 1..=runs {
        for &clients in &options.clients {
            let runs_here = if clients == largest {
                options.runs_at_largest
            } else {
                options.runs
            };
            if run > runs_here {
                continue;
            }
            for &kind in &options.kinds {
                if kind == Kind::TokioCurrentThread && clients != EXTRA_AT {
                    continue;
                }
                eprintln!(
                    "bench: run {run} of {runs_here}, N = {clients}, {} ({:.0} s so far)",
                    kind.label(),
                    started.elapsed().as_secs_f64()
                );
                let server = start(&options, kind, clients);
                let mut result = scenarios::run_once(server, kind, clients, clients == largest);
                if clients == largest {
                    let topics = topics::run_topics(start(&options, kind, clients), clients);
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
        if run > options.runs_at_largest {
            continue;
        }
        eprintln!("bench: run {run}, the hop floor at N = {largest}");
        floors.push(hop_floor::run(largest));
        eprintln!("bench:   one hop: {:.2} µs", floors[floors.len() - 1]);
        if options.redis && options.kinds.contains(&Kind::SseServer) {
            let smallest = options.clients.iter().copied().min().unwrap_or(0);
            eprintln!("bench: run {run}, the Redis hop");
            let flags_for = |n| sse_server_args(&options.server, n);
            let figures = redis_hop::run(&options.server, flags_for, smallest, largest);
            for figure in &figures {
                eprintln!(
                    "bench:   {} / {}: {:.2} {}",
                    figure.scenario, figure.name, figure.value, figure.unit
                );
            }
            hops.push(figures);
        }
        if options.kinds.contains(&Kind::SseServer) {
            eprintln!("bench: run {run}, healthy subscribers beside stalled ones");
            let figures = stalled::run(&options.server, &sse_server_args(&options.server, 1_100));
            for figure in &figures {
                eprintln!(
                    "bench:   {} / {}: {:.2} {}",
                    figure.scenario, figure.name, figure.value, figure.unit
                );
            }
            beside_stalled.push(figures);
            eprintln!("bench: run {run}, Mercure");
            let flags_for = |n| sse_server_args(&options.server, n);
            let figures = mercure::run(&options.server, flags_for);
            for figure in &figures {
                eprintln!(
                    "bench:   {} / {}: {:.2} {}",
                    figure.scenario, figure.name, figure.value, figure.unit
                );
            }
            mercures.push(figures);
        }
    }
    let sweep = report::Sweep {
        results: &results,
        clients: &options.clients,
        runs: options.runs,
        runs_at_largest: options.runs_at_largest,
        budgets: &budgets,
        floors: &floors,
        hops: &hops,
        beside_stalled: &beside_stalled,
        mercures: &mercures,
    };
    report::write_markdown(&options.report, &options.charts, &sweep, started.elapsed());
    eprintln!(
        "bench: wrote {} in {:.0} s",
        options.report.display(),
        started.elapsed().as_secs_f64()
    );
}

/// `make bench-cluster`: `runs` runs of `cluster.rs`, written into the report's cluster
/// section.
fn run_cluster(options: &Options, budgets: &[limits::Budget], runs: usize) {
    let started = Instant::now();
    let (per_instance, set_by) =
        limits::per_instance(budgets, cluster::INSTANCES, cluster::WANTED_PER_INSTANCE);
    let one_process = budgets
        .iter()
        .filter(|budget| !budget.shared)
        .min_by_key(|budget| budget.streams)
        .map(|budget| (budget.streams, budget.limit.clone()))
        .unwrap_or((per_instance, "unknown".into()));
    let mut results = Vec::new();
    for run in 1..=runs {
        eprintln!(
            "bench: cluster run {run} of {runs}, {} × {per_instance} streams ({:.0} s so far)",
            cluster::INSTANCES,
            started.elapsed().as_secs_f64()
        );
        let flags_for = |n| sse_server_args(&options.server, n);
        let figures = cluster::run(&options.server, flags_for, per_instance);
        for figure in &figures {
            eprintln!(
                "bench:   {} / {}: {:.2} {}",
                figure.scenario, figure.name, figure.value, figure.unit
            );
        }
        results.push(figures);
    }
    let setup = cluster_report::Setup {
        per_instance,
        set_by,
        one_process: one_process.0,
        one_process_limit: one_process.1,
        elapsed: started.elapsed(),
    };
    cluster_report::write_into(&options.report, &cluster_report::section(&results, &setup));
    eprintln!(
        "bench: wrote the cluster section of {}",
        options.report.display()
    );
}

/// `--hop-floor N`: this process is the hop floor's child.
fn hop_floor_threads() -> Option<usize> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|arg| arg == "--hop-floor")?;
    Some(args.get(at + 1)?.parse().expect("--hop-floor: a number"))
}

/// A fresh server process of `kind`, with default flags (but see [`sse_server_args`]).
fn start(options: &Options, kind: Kind, clients: usize) -> ServerProcess {
    match kind {
        Kind::SseServer => {
            let args = sse_server_args(&options.server, clients);
            ServerProcess::start(&options.server, SERVER_CORE, &args)
        }
        Kind::Tokio => ServerProcess::start_reference(&options.reference, &[], SERVER_CORE),
        Kind::TokioCurrentThread => {
            ServerProcess::start_reference(&options.reference_current_thread, &[], SERVER_CORE)
        }
        Kind::Node => {
            ServerProcess::start_reference(&options.node, &[&options.node_script], SERVER_CORE)
        }
    }
}

/// sse-server's flags for `clients` streams: none, unless they exceed its default
/// client cap. That cap (`src/limits.rs`) budgets five memory maps a thread, which
/// stops it well short of the largest N here; `limits.rs` measures what a thread
/// really takes, so above the default cap the bench names the cap it needs.
fn sse_server_args(server: &Path, clients: usize) -> Vec<String> {
    /// The publisher's connection, and room for a reconnect wave's stragglers.
    const SPARE: usize = 64;
    let help = Command::new(server).arg("--help").output();
    let default_cap = help.ok().and_then(|out| {
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let line = text.lines().find(|line| line.contains("--max-clients"))?;
        let after = line.split("default: ").nth(1)?;
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<usize>().ok()
    });
    match default_cap {
        Some(cap) if cap >= clients + SPARE => Vec::new(),
        _ => vec!["--max-clients".into(), (clients + SPARE).to_string()],
    }
}

fn parse_options(largest: usize) -> Options {
    let mut clients: Vec<usize> = SWEEP.iter().copied().filter(|&n| n < largest).collect();
    clients.push(largest);
    let mut options = Options {
        server: PathBuf::from("target/release/sse-server"),
        reference: PathBuf::from("benches/reference/target/release/sse-reference"),
        reference_current_thread: PathBuf::from(
            "benches/reference/target/release/sse-reference-current-thread",
        ),
        node: PathBuf::from("node"),
        node_script: PathBuf::from("benches/node/server.mjs"),
        clients,
        runs: 3,
        runs_at_largest: 3,
        kinds: vec![
            Kind::SseServer,
            Kind::Tokio,
            Kind::Node,
            Kind::TokioCurrentThread,
        ],
        report: PathBuf::from("BENCHMARKS.md"),
        charts: PathBuf::from("benches/charts"),
        redis: true,
        cluster_runs: None,
        stalled_only: false,
        only_mercure: false,
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
            "--node" => options.node = value().into(),
            "--clients" => {
                options.clients = value()
                    .split(',')
                    .map(|n| n.parse().expect("--clients: numbers"))
                    .collect()
            }
            "--runs" => options.runs = value().parse().expect("--runs: a number"),
            "--runs-at-largest" => {
                options.runs_at_largest = value().parse().expect("--runs-at-largest: a number")
            }
            "--report" => options.report = value().into(),
            "--charts" => options.charts = value().into(),
            "--no-redis" => options.redis = false,
            "--cluster" => {
                options.cluster_runs = Some(value().parse().expect("--cluster: a number of runs"))
            }
            "--stalled-only" => options.stalled_only = true,
            "--only-mercure" => options.only_mercure = true,
            "--only" => {
                let all = [
                    Kind::SseServer,
                    Kind::Tokio,
                    Kind::Node,
                    Kind::TokioCurrentThread,
                ];
                options.kinds = value()
                    .split(',')
                    .map(|key| {
                        *all.iter()
                            .find(|kind| kind.key() == key)
                            .unwrap_or_else(|| {
                                panic!(
                                    "--only: sse-server, tokio, node or tokio-current-thread, \
                                 not {key}"
                                )
                            })
                    })
                    .collect()
            }
            // `cargo bench` passes --bench to every bench target.
            "--bench" => {}
            other => panic!("unknown flag {other}"),
        }
    }
    options
}
