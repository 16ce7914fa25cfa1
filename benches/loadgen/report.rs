//! `BENCHMARKS.md`: every figure as the median of its runs with the spread (min–max),
//! for sse-server and each reference, and sse-server's ratio to each; the sweep over
//! N as charts (`chart.rs`) and tables; the limit that sets the largest N.
//!
//! Ratios come from pairs: run k of sse-server is divided by run k of a reference,
//! which ran seconds after it on the same machine. Machines here are noisy; a ratio of
//! neighbours is far steadier than either figure alone.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::limits::Budget;
use crate::scenarios::FANOUT;
use crate::sweep::{write_limits, write_summary, write_sweep};
use crate::topics::TOPICS;
use crate::{Figure, Kind, RunResult};

/// What bounds each figure, and how to read them. Written by hand from profiles; see
/// docs/performance.md for the design behind them.
const NOTES: &str = include_str!("notes.md");

/// The servers in the order of the report's columns, the extra last.
const KINDS: [Kind; 4] = [
    Kind::SseServer,
    Kind::Tokio,
    Kind::Node,
    Kind::TokioCurrentThread,
];

/// Everything the sweep measured, and how.
pub struct Sweep<'a> {
    pub results: &'a [RunResult],
    pub clients: &'a [usize],
    pub runs: usize,
    pub runs_at_largest: usize,
    pub budgets: &'a [Budget],
    /// What was measured once per run, sse-server alone: the hop floor, the Redis
    /// hop, healthy readers beside stalled ones, Mercure.
    pub floors: &'a [f64],
    pub hops: &'a [Vec<Figure>],
    pub beside_stalled: &'a [Vec<Figure>],
    pub mercures: &'a [Vec<Figure>],
}

pub fn write_markdown(path: &Path, charts: &Path, sweep: &Sweep, elapsed: Duration) {
    let (floors, hops) = (sweep.floors, sweep.hops);
    let (beside_stalled, mercures) = (sweep.beside_stalled, sweep.mercures);
    let results = sweep.results;
    let clients = sweep.clients;
    let largest = clients.iter().copied().max().unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks\n");
    let _ = writeln!(
        out,
        "Written by `make bench` on {}, {} cores, {}, in {:.0} s: {} of each server at \
         each N{}, interleaved. Each run is a fresh server process with \
         default flags (sse-server gets `--allowed-host bench` for the load generator's \
         `Host`, `--drain-window-s 0`, the per-client shares lifted (every load generator \
         connection comes from 127.0.0.1), and `--max-clients` where N is above its default cap), pinned to core 0; the load generator runs on core 1. The servers:\n\n\
         - **sse-server**, this project: a thread per client;\n\
         - **axum + tokio** (`benches/reference`): idiomatic async Rust, on `#[tokio::main]` \
         as axum's users start it (pinned to one core, tokio starts one worker);\n\
         - **node:http** (`benches/node/server.mjs`, Node {}): the tutorials this project grew \
         from, node's built-in `http`, one `res.write` per event;\n\
         - **tokio current_thread (extra)**, at N = {} only: the same axum server on tokio's \
         single-threaded runtime, this bench's only reference until it was asked how axum's \
         users run it.\n",
        chrono_free_date(),
        machine_cores(),
        kernel(),
        elapsed.as_secs_f64(),
        runs(sweep.runs),
        if sweep.runs_at_largest == sweep.runs {
            String::new()
        } else {
            format!(" ({} at N = {largest})", runs(sweep.runs_at_largest))
        },
        node_version(),
        crate::EXTRA_AT,
    );
    let _ = writeln!(
        out,
        "Cells are median [min–max] over the runs. A ratio is sse-server ÷ that server, per \
         pair of neighbouring runs, median [min–max]; **bold** marks where sse-server is \
         ahead.\n"
    );
    write_summary(&mut out, path, charts, results, largest);
    write_sweep(&mut out, path, charts, results, clients);
    write_limits(&mut out, sweep.budgets, largest, results);
    for &n in clients {
        write_table(&mut out, results, n);
    }
    if largest > 0 {
        write_floor(&mut out, results, floors, largest);
    }
    write_alone(
        &mut out,
        "The Redis hop (`--redis`), sse-server only",
        "Redis and the instances share core 0.",
        hops,
    );
    write_alone(
        &mut out,
        "Healthy subscribers beside 1,000 stalled readers, sse-server only",
        "1,000 subscribers never read (4 KiB receive buffers) until `--write-timeout-s` \
         drops them; 3 read everything; 32 KiB messages about 30 a second for 20 s \
         (`stalled.rs`). Lag is publish to delivery at the healthy ones.",
        beside_stalled,
    );
    write_alone(
        &mut out,
        "Mercure (`/.well-known/mercure`), sse-server only",
        "10,000 subscribers on exact topics and 1,000 on ten distinct URL patterns; one \
         publisher, one update in flight, each update to 101 of them.",
        mercures,
    );
    out.push_str(NOTES);
    // `make bench-cluster`'s section is its own: kept as it was.
    if let Some(cluster) = crate::cluster_report::kept(path) {
        out.push('\n');
        out.push_str(&cluster);
    }
    fs::write(path, out).expect("write BENCHMARKS.md");
}

/// The servers measured at `n`, in column order.
fn kinds_at(results: &[RunResult], n: usize) -> Vec<Kind> {
    KINDS
        .into_iter()
        .filter(|&kind| results.iter().any(|r| r.clients == n && r.kind == kind))
        .collect()
}

/// Every run's value of one figure, for one server at one N, in run order.
pub fn values(results: &[RunResult], kind: Kind, n: usize, scenario: &str, name: &str) -> Vec<f64> {
    results
        .iter()
        .filter(|r| r.clients == n && r.kind == kind)
        .filter_map(|run| value_of(&run.figures, scenario, name))
        .collect()
}

/// sse-server ÷ the other, pair by pair, as a cell; bold where sse-server is ahead.
pub fn ratio_cell(ours: &[f64], theirs: &[f64], higher_is_better: bool) -> String {
    let ratios: Vec<f64> = ours
        .iter()
        .zip(theirs)
        .filter(|(_, theirs)| **theirs != 0.0)
        .map(|(ours, theirs)| ours / theirs)
        .collect();
    if ratios.is_empty() {
        return "–".to_string();
    }
    let median = median_of(&ratios);
    let ahead = if higher_is_better {
        median > 1.0
    } else {
        median < 1.0
    };
    let text = summary(&ratios, 2);
    if ahead {
        format!("**{text}×**")
    } else {
        format!("{text}×")
    }
}

/// Every figure at one N, with a column per server and a ratio per reference.
fn write_table(out: &mut String, results: &[RunResult], n: usize) {
    let kinds = kinds_at(results, n);
    let Some(first) = results
        .iter()
        .find(|r| r.clients == n && r.kind == Kind::SseServer)
    else {
        return;
    };
    let others = &kinds[1..];
    let _ = writeln!(out, "## N = {n}\n");
    let mut head = String::from("| scenario | figure |");
    let mut rule = String::from("|---|---|");
    for kind in &kinds {
        let _ = write!(head, " {} |", kind.label());
        rule.push_str("---|");
    }
    for kind in others {
        let _ = write!(head, " ÷ {} |", short(*kind));
        rule.push_str("---|");
    }
    let _ = writeln!(out, "{head}\n{rule}");
    for template in &first.figures {
        let column = |kind| values(results, kind, n, template.scenario, template.name);
        let ours = column(Kind::SseServer);
        let mut row = format!(
            "| {} | {}{} |",
            template.scenario,
            template.name,
            unit_suffix(template.unit)
        );
        for &kind in &kinds {
            let _ = write!(row, " {} |", summary(&column(kind), digits(template.unit)));
        }
        for &kind in others {
            let _ = write!(
                row,
                " {} |",
                ratio_cell(&ours, &column(kind), template.higher_is_better)
            );
        }
        let _ = writeln!(out, "{row}");
    }
    out.push('\n');
}

fn short(kind: Kind) -> &'static str {
    match kind {
        Kind::SseServer => "sse-server",
        Kind::Tokio => "tokio",
        Kind::Node => "node",
        Kind::TokioCurrentThread => "current_thread",
    }
}

/// The least a thread per client can spend: one hop (`hop_floor.rs`) more than the
/// cheaper reference, per fan-out delivery and per topic publish, run by run.
fn write_floor(out: &mut String, results: &[RunResult], floors: &[f64], n: usize) {
    let runs_of = |kind: Kind, scenario: &str, name: &str| -> Vec<f64> {
        results
            .iter()
            .filter(|run| run.clients == n && run.kind == kind)
            .filter_map(|run| value_of(&run.figures, scenario, name))
            .collect()
    };
    let plus_hop = |theirs: &[f64]| -> Vec<f64> {
        floors
            .iter()
            .zip(theirs)
            .map(|(hop, cost)| hop + cost)
            .collect()
    };
    let delivery = |kind| runs_of(kind, FANOUT, "CPU per delivery");
    let publish = |kind| runs_of(kind, TOPICS, "CPU per publish");
    // Run by run, the cheaper of the two references (the extra is not one of them).
    let cheaper = |a: Vec<f64>, b: Vec<f64>| -> Vec<f64> {
        if b.is_empty() {
            return a;
        }
        a.iter().zip(&b).map(|(a, b)| a.min(*b)).collect()
    };
    let delivery_ours = delivery(Kind::SseServer);
    let delivery_theirs = cheaper(delivery(Kind::Tokio), delivery(Kind::Node));
    let publish_ours = publish(Kind::SseServer);
    let publish_theirs = cheaper(publish(Kind::Tokio), publish(Kind::Node));
    if floors.is_empty() || delivery_theirs.is_empty() {
        return;
    }
    let delivery_floor = plus_hop(&delivery_theirs);
    let publish_floor = plus_hop(&publish_theirs);
    let p99_at_floor: Vec<f64> = delivery_floor
        .iter()
        .map(|us| 0.99 * n as f64 * us / 1e3)
        .collect();
    let _ = writeln!(
        out,
        "## The floor of a thread per client, N = {n}\n\n\
         A fan-out delivery by a thread per client, or a publish to a topic whose one \
         subscriber sleeps, costs at least one wake-up of a sleeping thread (a *hop*) plus \
         what an event loop spends on the same work (its `write`s, and a task poll or a \
         callback). The hop is measured on core 0 among {n} threads that do nothing else \
         (`benches/loadgen/hop_floor.rs`), once per run; each floor adds it to the figure \
         of the cheaper reference (axum + tokio or node:http) in the same run.\n"
    );
    let rows = [
        ("one hop among N sleeping threads (µs)", summary(floors, 2)),
        (
            "fan-out: cheaper reference, CPU per delivery (µs)",
            summary(&delivery_theirs, 1),
        ),
        (
            "fan-out: floor, hop + reference (µs)",
            summary(&delivery_floor, 1),
        ),
        (
            "fan-out: sse-server CPU per delivery (µs)",
            summary(&delivery_ours, 1),
        ),
        (
            "fan-out: p99 at the floor, 0.99 × N × floor (ms)",
            summary(&p99_at_floor, 0),
        ),
        (
            "topics: cheaper reference, CPU per publish (µs)",
            summary(&publish_theirs, 1),
        ),
        (
            "topics: floor, hop + reference (µs)",
            summary(&publish_floor, 1),
        ),
        (
            "topics: sse-server CPU per publish (µs)",
            summary(&publish_ours, 1),
        ),
    ];
    let _ = writeln!(out, "| figure | value |\n|---|---|");
    for (figure, value) in rows {
        let _ = writeln!(out, "| {figure} | {value} |");
    }
    out.push('\n');
}

/// Figures of sse-server alone (the Redis hop: the references have no shared log), so
/// no ratio: one table under `title`, one row per figure of the first run.
fn write_alone(out: &mut String, title: &str, about: &str, runs: &[Vec<Figure>]) {
    let Some(first) = runs.first() else { return };
    let _ = writeln!(
        out,
        "## {title}\n\n{about} {} runs; median [min–max].\n\n\
         | scenario | figure | value |\n|---|---|---|",
        runs.len()
    );
    for template in first {
        let values: Vec<f64> = runs
            .iter()
            .filter_map(|run| value_of(run, template.scenario, template.name))
            .collect();
        let unit = unit_suffix(template.unit);
        let _ = writeln!(
            out,
            "| {} | {}{unit} | {} |",
            template.scenario,
            template.name,
            summary(&values, if template.unit.is_empty() { 0 } else { 2 })
        );
    }
    out.push('\n');
}

/// The value, in one run's `figures`, of the figure `name` in `scenario`.
fn value_of(figures: &[Figure], scenario: &str, name: &str) -> Option<f64> {
    figures
        .iter()
        .find(|f| f.scenario == scenario && f.name == name)
        .map(|f| f.value)
}

/// ` (ms)` after a figure's name, or nothing for a plain count.
fn unit_suffix(unit: &str) -> String {
    if unit.is_empty() {
        String::new()
    } else {
        format!(" ({unit})")
    }
}

pub fn digits(unit: &str) -> usize {
    match unit {
        "" | "/s" => 0,
        _ => 1,
    }
}

/// The middle value; for an even count, the mean of the two middle ones (the largest
/// N may have two runs).
pub fn median_of(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    }
}

/// `median [min–max]`, or `–` for no values.
pub fn summary(values: &[f64], digits: usize) -> String {
    if values.is_empty() {
        return "–".into();
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
    let median = median_of(values);
    if sorted.len() == 1 {
        return format!("{median:.digits$}");
    }
    format!("{median:.digits$} [{min:.digits$}–{max:.digits$}]")
}

/// `1 run`, `3 runs`.
fn runs(count: usize) -> String {
    format!("{count} run{}", if count == 1 { "" } else { "s" })
}

fn node_version() -> String {
    std::process::Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|version| version.trim().trim_start_matches('v').to_string())
        .unwrap_or_else(|| "of unknown version".into())
}

fn chrono_free_date() -> String {
    std::process::Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|date| date.trim().to_string())
        .unwrap_or_else(|| "an unknown date".into())
}

fn machine_cores() -> usize {
    fs::read_to_string("/proc/cpuinfo")
        .map(|info| info.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(0)
}

fn kernel() -> String {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_default();
    format!("{model}, Linux {}", release.trim())
}
