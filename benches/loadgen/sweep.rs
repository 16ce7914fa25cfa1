//! The sweep's part of `BENCHMARKS.md`: each charted figure against N as an SVG chart
//! (`chart.rs`) and a table with sse-server's ratio to each reference, and the limits
//! that set the largest N.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use crate::chart::{self, Scale, Series};
use crate::chart_ratio::{self, Bar};
use crate::limits::Budget;
use crate::report::{digits, median_of, ratio_cell, summary, values};
use crate::scenarios::{FANOUT, HOLD, ORDINARY};
use crate::topics::TOPICS;
use crate::{Kind, RunResult};

/// A figure drawn against N: its scenario and name, the chart's file, title, axis.
struct Charted {
    scenario: &'static str,
    name: &'static str,
    file: &'static str,
    title: &'static str,
    axis: &'static str,
    scale: Scale,
}

const CHARTED: [Charted; 5] = [
    Charted {
        scenario: FANOUT,
        name: "delivery p99",
        file: "fanout-p99.svg",
        title: "Fan-out: p99 from publish to delivery",
        axis: "ms",
        scale: Scale::Log,
    },
    Charted {
        scenario: FANOUT,
        name: "CPU per delivery",
        file: "fanout-cpu-per-delivery.svg",
        title: "Fan-out: server CPU per delivery",
        axis: "µs",
        scale: Scale::Linear,
    },
    Charted {
        scenario: HOLD,
        name: "RSS per stream",
        file: "rss-per-stream.svg",
        title: "Memory: resident set per open stream",
        axis: "KiB",
        scale: Scale::Linear,
    },
    Charted {
        scenario: ORDINARY,
        name: "deliveries",
        file: "throughput.svg",
        title: "Throughput, one publish in flight",
        axis: "deliveries per second",
        scale: Scale::Log,
    },
    Charted {
        scenario: HOLD,
        name: "connect p99",
        file: "connect-p99.svg",
        title: "Connect: p99 to the first byte of a stream",
        axis: "ms",
        scale: Scale::Log,
    },
];

/// The charts, and each charted figure as a table of N against the servers.
/// The figures of the one-picture summary: label, scenario, name, whether more is
/// better.
const SUMMARY: [(&str, &str, &str, bool); 9] = [
    ("memory per stream", HOLD, "RSS per stream", false),
    (
        "throughput, one publish in flight",
        ORDINARY,
        "deliveries",
        true,
    ),
    (
        "shutdown: exit after SIGINT",
        "shutdown",
        "exit after SIGINT",
        false,
    ),
    ("topics: CPU per publish", TOPICS, "CPU per publish", false),
    (
        "fan-out: CPU per delivery",
        FANOUT,
        "CPU per delivery",
        false,
    ),
    ("fan-out: delivery p99", FANOUT, "delivery p99", false),
    (
        "idle: CPU per heartbeat",
        HOLD,
        "idle: CPU per heartbeat",
        false,
    ),
    ("connect p99", HOLD, "connect p99", false),
    ("reconnect wave: all back", "churn", "all back after", false),
];

/// Where a thread per client wins and where it pays, at `n`, in one chart: for each
/// figure, how many times better sse-server did than each reference, pair by pair.
pub fn write_summary(
    out: &mut String,
    report: &Path,
    charts: &Path,
    results: &[RunResult],
    n: usize,
) {
    let rows: Vec<(String, Vec<Bar>)> = SUMMARY
        .iter()
        .map(|&(label, scenario, name, higher_is_better)| {
            let ours = values(results, Kind::SseServer, n, scenario, name);
            let bars = [Kind::Tokio, Kind::Node]
                .iter()
                .filter_map(|&kind| {
                    let theirs = values(results, kind, n, scenario, name);
                    let better: Vec<f64> = ours
                        .iter()
                        .zip(&theirs)
                        .filter(|(ours, theirs)| **ours > 0.0 && **theirs > 0.0)
                        .map(|(ours, theirs)| {
                            if higher_is_better {
                                ours / theirs
                            } else {
                                theirs / ours
                            }
                        })
                        .collect();
                    let (low, high) = min_max(&better)?;
                    Some(Bar {
                        label: kind.label(),
                        color: color(kind),
                        ratio: (median_of(&better), low, high),
                    })
                })
                .collect();
            (label.to_string(), bars)
        })
        .filter(|(_, bars): &(String, Vec<Bar>)| !bars.is_empty())
        .collect();
    if rows.is_empty() {
        return;
    }
    fs::create_dir_all(charts).expect("create the charts' folder");
    let title = format!("sse-server against each reference, N = {n}");
    fs::write(charts.join("summary.svg"), chart_ratio::draw(&title, &rows))
        .expect("write the summary chart");
    let _ = writeln!(
        out,
        "## In one picture, N = {n}\n\n\
         How many times better (right of 1×) or worse (left) sse-server did than each \
         reference, median of the pairs of runs, the line the spread. The shutdown bar \
         counts time only: sse-server ends every stream cleanly, axum + tokio is killed \
         after waiting, node:http exits with its clients' connections reset.\n\n\
         ![{title}]({}/summary.svg)\n",
        linked(report, charts).display()
    );
}

/// The charts' folder as the report links it, relative to the report's own.
fn linked<'a>(report: &Path, charts: &'a Path) -> &'a Path {
    let folder = report.parent().unwrap_or(Path::new(""));
    charts.strip_prefix(folder).unwrap_or(charts)
}

pub fn write_sweep(
    out: &mut String,
    report: &Path,
    charts: &Path,
    results: &[RunResult],
    clients: &[usize],
) {
    let _ = writeln!(
        out,
        "## How cost grows with N\n\n\
         Each point is the median of the runs at that N, its bar the spread (min–max). \
         N and, where a figure grows with N, the figure are on log scales.\n"
    );
    fs::create_dir_all(charts).expect("create the charts' folder");
    let linked = linked(report, charts);
    let main = [Kind::SseServer, Kind::Tokio, Kind::Node];
    for charted in &CHARTED {
        let series: Vec<Series> = main
            .iter()
            .map(|&kind| Series {
                label: kind.label(),
                color: color(kind),
                points: clients
                    .iter()
                    .filter_map(|&n| {
                        let found = values(results, kind, n, charted.scenario, charted.name);
                        let (low, high) = min_max(&found)?;
                        Some((n as f64, median_of(&found), low, high))
                    })
                    .collect(),
            })
            .filter(|series| !series.points.is_empty())
            .collect();
        let svg = chart::draw(charted.title, charted.axis, charted.scale, &series);
        fs::write(charts.join(charted.file), svg).expect("write a chart");
        let _ = writeln!(
            out,
            "![{}]({}/{})\n",
            charted.title,
            linked.display(),
            charted.file
        );
        let _ = writeln!(
            out,
            "| N | sse-server | axum + tokio | node:http | ÷ tokio | ÷ node |\n\
             |---|---|---|---|---|---|"
        );
        let higher = charted.scenario == ORDINARY;
        for &n in clients {
            let column = |kind| values(results, kind, n, charted.scenario, charted.name);
            let (ours, tokio, node) = (
                column(Kind::SseServer),
                column(Kind::Tokio),
                column(Kind::Node),
            );
            let places = digits(if higher { "/s" } else { "ms" });
            let _ = writeln!(
                out,
                "| {n} | {} | {} | {} | {} | {} |",
                summary(&ours, places),
                summary(&tokio, places),
                summary(&node, places),
                ratio_cell(&ours, &tokio, higher),
                ratio_cell(&ours, &node, higher),
            );
        }
        out.push('\n');
    }
}

/// The limits that could stop the sweep, and the one that does.
pub fn write_limits(out: &mut String, budgets: &[Budget], largest: usize, results: &[RunResult]) {
    let _ = writeln!(
        out,
        "## The largest N: {largest}\n\n\
         Each limit below leaves room for so many streams in one run (after a reserve for \
         the rest of the machine); the sweep's largest N is the smallest of them, rounded \
         down (`benches/loadgen/limits.rs`).\n\n\
         | limit | value | streams it leaves room for |\n|---|---|---|"
    );
    for (index, budget) in budgets.iter().enumerate() {
        let streams = if index == 0 {
            format!("**{} (sets the largest N)**", budget.streams)
        } else {
            budget.streams.to_string()
        };
        let _ = writeln!(out, "| {} | {} | {streams} |", budget.limit, budget.value);
    }
    let maps: Vec<String> = [Kind::SseServer, Kind::Tokio, Kind::Node]
        .iter()
        .filter_map(|&kind| {
            let found = values(results, kind, largest, HOLD, "memory maps");
            (!found.is_empty()).then(|| format!("{} {}", kind.label(), summary(&found, 0)))
        })
        .collect();
    if !maps.is_empty() {
        let _ = writeln!(
            out,
            "\nMemory maps held at N = {largest}: {}.",
            maps.join(", ")
        );
    }
    out.push('\n');
}

fn color(kind: Kind) -> &'static str {
    match kind {
        Kind::SseServer => "#c0392b",
        Kind::Tokio => "#2471a3",
        Kind::Node => "#229954",
        Kind::TokioCurrentThread => "#7f8c8d",
    }
}

fn min_max(values: &[f64]) -> Option<(f64, f64)> {
    let low = values.iter().copied().reduce(f64::min)?;
    let high = values.iter().copied().reduce(f64::max)?;
    Some((low, high))
}
