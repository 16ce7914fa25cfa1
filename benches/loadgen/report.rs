//! `BENCHMARKS.md`: every figure as the median of its runs with the spread (min–max),
//! for sse-server and for the async reference, and the ratio of the two.
//!
//! Ratios come from pairs: run k of sse-server is divided by run k of the reference,
//! which ran right after it on the same machine. Machines here are noisy; a ratio of
//! neighbours is far steadier than either figure alone.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::scenarios::{FANOUT, TOPICS};
use crate::{Figure, Kind, RunResult};

/// What bounds each figure, and how to read them. Written by hand from profiles; see
/// the README's "Performance" section for the design behind them.
const NOTES: &str = include_str!("notes.md");

pub fn write_markdown(
    path: &Path,
    results: &[RunResult],
    hops: &[Vec<Figure>],
    floors: &[f64],
    clients: &[usize],
    runs: usize,
    elapsed: Duration,
) {
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks\n");
    let _ = writeln!(
        out,
        "Written by `make bench` on {}, {} cores, {}; {runs} runs of each server at each N, \
         interleaved, in {:.0} s. Each run is a fresh server process with default flags, pinned \
         to core 0; the load generator runs on core 1.\n",
        chrono_free_date(),
        machine_cores(),
        kernel(),
        elapsed.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "Cells are median [min–max] over the runs. The ratio is sse-server ÷ reference, per \
         pair of neighbouring runs, median [min–max]; **bold** marks where sse-server is \
         ahead.\n"
    );
    for &n in clients {
        let _ = writeln!(out, "## N = {n}\n");
        let _ = writeln!(
            out,
            "| scenario | figure | sse-server | async reference | ratio |\n|---|---|---|---|---|"
        );
        let ours: Vec<&RunResult> = results
            .iter()
            .filter(|r| r.clients == n && r.kind == Kind::SseServer)
            .collect();
        let theirs: Vec<&RunResult> = results
            .iter()
            .filter(|r| r.clients == n && r.kind == Kind::Reference)
            .collect();
        let Some(first) = ours.first() else { continue };
        for template in &first.figures {
            let values = |set: &[&RunResult]| -> Vec<f64> {
                set.iter()
                    .filter_map(|run| value_of(&run.figures, template.scenario, template.name))
                    .collect()
            };
            let (a, b) = (values(&ours), values(&theirs));
            let ratios: Vec<f64> = a
                .iter()
                .zip(&b)
                .filter(|(_, theirs)| **theirs != 0.0)
                .map(|(ours, theirs)| ours / theirs)
                .collect();
            let ratio = if ratios.is_empty() {
                "–".to_string()
            } else {
                let median = summary(&ratios, 2);
                let ahead = if template.higher_is_better {
                    median_of(&ratios) > 1.0
                } else {
                    median_of(&ratios) < 1.0
                };
                if ahead {
                    format!("**{median}×**")
                } else {
                    format!("{median}×")
                }
            };
            let unit = unit_suffix(template.unit);
            let _ = writeln!(
                out,
                "| {} | {}{unit} | {} | {} | {ratio} |",
                template.scenario,
                template.name,
                summary(&a, digits(template.unit)),
                summary(&b, digits(template.unit)),
            );
        }
        out.push('\n');
    }
    if let Some(&largest) = clients.iter().max() {
        write_floor(&mut out, results, floors, largest);
    }
    write_hops(&mut out, hops);
    out.push_str(NOTES);
    fs::write(path, out).expect("write BENCHMARKS.md");
}

/// The least a thread per client can spend: one hop (`hop_floor.rs`) more than the
/// reference, per fan-out delivery and per topic publish, run by run.
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
    let (delivery_ours, delivery_theirs) = (delivery(Kind::SseServer), delivery(Kind::Reference));
    let (publish_ours, publish_theirs) = (publish(Kind::SseServer), publish(Kind::Reference));
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
         what the async reference spends on the same work (its `write`s, and a task poll). \
         The hop is measured on core 0 among {n} threads that do nothing else \
         (`benches/loadgen/hop_floor.rs`), once per run; each floor adds it to the \
         reference's figure of the same run.\n"
    );
    let rows = [
        ("one hop among N sleeping threads (µs)", summary(floors, 2)),
        (
            "fan-out: reference CPU per delivery (µs)",
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
            "topics: reference CPU per publish (µs)",
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

/// The Redis hop: sse-server only (the reference has no shared log), so no ratio.
fn write_hops(out: &mut String, hops: &[Vec<Figure>]) {
    let Some(first) = hops.first() else { return };
    let _ = writeln!(
        out,
        "## The Redis hop (`--redis`), sse-server only\n\n\
         Redis and the instances share core 0. {} runs; median [min–max].\n\n\
         | scenario | figure | value |\n|---|---|---|",
        hops.len()
    );
    for template in first {
        let values: Vec<f64> = hops
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

fn digits(unit: &str) -> usize {
    match unit {
        "" | "/s" => 0,
        _ => 1,
    }
}

fn median_of(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// `median [min–max]`, or `–` for no values.
fn summary(values: &[f64], digits: usize) -> String {
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
