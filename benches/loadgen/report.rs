//! Writing the results: the tables of `BENCHMARKS.md` (between two marker comments,
//! so the hand-written analysis around them survives a re-run) and an SVG chart.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::RunResult;

const START_MARKER: &str =
    "<!-- results:start (written by `make bench`; edits inside are overwritten) -->";
const END_MARKER: &str = "<!-- results:end -->";

/// Median, minimum and maximum of one figure over the runs at one N.
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

fn spread(results: &[RunResult], clients: usize, figure: impl Fn(&RunResult) -> f64) -> Spread {
    let mut values: Vec<f64> = results
        .iter()
        .filter(|r| r.clients == clients)
        .map(figure)
        .collect();
    values.sort_by(f64::total_cmp);
    let median = if values.is_empty() {
        0.0
    } else if values.len() % 2 == 1 {
        values[values.len() / 2]
    } else {
        (values[values.len() / 2 - 1] + values[values.len() / 2]) / 2.0
    };
    Spread {
        median,
        min: values.first().copied().unwrap_or(0.0),
        max: values.last().copied().unwrap_or(0.0),
    }
}

fn show(spread: &Spread, decimals: usize) -> String {
    format!(
        "{:.*} ({:.*}–{:.*})",
        decimals, spread.median, decimals, spread.min, decimals, spread.max
    )
}

fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value);
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

pub fn write_markdown(
    path: &Path,
    results: &[RunResult],
    counts: &[usize],
    runs: usize,
    took: Duration,
) {
    let mut md = String::new();
    let machine = describe_machine();
    let _ = writeln!(md, "{START_MARKER}\n");
    let _ = writeln!(md, "**Machine:** {machine}  ");
    let _ = writeln!(
        md,
        "**Date:** {} UTC  ",
        chrono::Utc::now().format("%Y-%m-%d %H:%M")
    );
    let _ = writeln!(
        md,
        "**Command:** `make bench` (server `taskset -c 0`, load generator `taskset -c 1`), {runs} runs per N, {:.0} s in all  ",
        took.as_secs_f64()
    );
    let _ = writeln!(
        md,
        "**Figures:** median of the runs, with the spread (min–max) in parentheses.\n"
    );

    if let Some(&largest) = counts.iter().max() {
        let at = |figure: fn(&RunResult) -> f64| spread(results, largest, figure);
        let failures = at(|r| r.failures as f64);
        let rss = at(|r| r.rss_per_stream_kib);
        let connect = at(|r| r.connect_p99_ms);
        let fanout = at(|r| r.fanout_p99_ms);
        let throughput = at(|r| r.throughput_per_s);
        let cpu = at(|r| r.fanout_cpu_us_per_delivery);
        let lost = at(|r| (r.fanout_lost + r.throughput_lost) as f64);
        let verdict = |must: bool, goal: bool| {
            if goal {
                "goal met"
            } else if must {
                "must met"
            } else {
                "**missed**"
            }
        };
        let _ = writeln!(
            md,
            "### Against the targets, N = {}\n",
            thousands(largest as f64)
        );
        let _ = writeln!(
            md,
            "| figure | async Rust reference | must | goal | measured | verdict |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|");
        let _ = writeln!(
            md,
            "| streams held | 10,000, 0 failures | 10,000, 0 failures | same | {}, {} failures (max {}) | {} |",
            thousands(largest as f64),
            failures.median,
            failures.max,
            verdict(failures.max == 0.0, failures.max == 0.0)
        );
        let _ = writeln!(
            md,
            "| RSS per stream | 19.9 KiB | ≤ 24 KiB | ≤ 16 KiB | {} KiB | {} |",
            show(&rss, 1),
            verdict(rss.median <= 24.0, rss.median <= 16.0)
        );
        let _ = writeln!(
            md,
            "| connect p99 | 24 ms | ≤ 50 ms | ≤ 25 ms | {} ms | {} |",
            show(&connect, 1),
            verdict(connect.median <= 50.0, connect.median <= 25.0)
        );
        let _ = writeln!(
            md,
            "| fan-out p99, 1 msg/s | 225 ms | ≤ 340 ms | ≤ 200 ms | {} ms | {} |",
            show(&fanout, 0),
            verdict(fanout.median <= 340.0, fanout.median <= 200.0)
        );
        let _ = writeln!(
            md,
            "| throughput | 490,000 deliveries/s | ≥ 245,000/s | ≥ 490,000/s | {} /s ({}–{}) | {} |",
            thousands(throughput.median),
            thousands(throughput.min),
            thousands(throughput.max),
            verdict(
                throughput.median >= 245_000.0,
                throughput.median >= 490_000.0
            )
        );
        let _ = writeln!(
            md,
            "| CPU per delivery (fan-out) | 18 µs | ≤ 27 µs | ≤ 15 µs | {} µs | {} |",
            show(&cpu, 1),
            verdict(cpu.median <= 27.0, cpu.median <= 15.0)
        );
        let _ = writeln!(
            md,
            "| lost messages | 0 | 0 | 0 | {} (max {}) | {} |\n",
            lost.median,
            lost.max,
            verdict(lost.max == 0.0, lost.max == 0.0)
        );
    }

    let rows = |md: &mut String, header: &str, cells: &dyn Fn(usize) -> String| {
        let _ = writeln!(md, "{header}");
        let columns = header.matches('|').count() - 1;
        let _ = writeln!(md, "|{}", "---|".repeat(columns));
        for &n in counts {
            let _ = writeln!(md, "| {} | {} |", thousands(n as f64), cells(n));
        }
        md.push('\n');
    };
    let s = |n: usize, figure: fn(&RunResult) -> f64, decimals: usize| {
        show(&spread(results, n, figure), decimals)
    };

    let _ = writeln!(md, "### Hold: N open streams\n");
    rows(
        &mut md,
        "| N | connect p50 (ms) | connect p99 (ms) | failures | RSS per stream (KiB) | threads | descriptors | idle CPU (% of a core) |",
        &|n| {
            format!(
                "{} | {} | {} | {} | {} | {} | {}",
                s(n, |r| r.connect_p50_ms, 2),
                s(n, |r| r.connect_p99_ms, 2),
                s(n, |r| r.failures as f64, 0),
                s(n, |r| r.rss_per_stream_kib, 1),
                s(n, |r| r.threads as f64, 0),
                s(n, |r| r.descriptors as f64, 0),
                s(n, |r| r.idle_cpu_percent, 2)
            )
        },
    );
    let _ = writeln!(md, "### Fan-out: one message per second, ten times\n");
    rows(
        &mut md,
        "| N | latency p50 (ms) | p99 (ms) | max (ms) | lost | server CPU per delivery (µs) | load generator CPU (% of a core) |",
        &|n| {
            format!(
                "{} | {} | {} | {} | {} | {}",
                s(n, |r| r.fanout_p50_ms, 1),
                s(n, |r| r.fanout_p99_ms, 1),
                s(n, |r| r.fanout_max_ms, 1),
                s(n, |r| r.fanout_lost as f64, 0),
                s(n, |r| r.fanout_cpu_us_per_delivery, 1),
                s(n, |r| r.fanout_generator_cpu_percent, 1)
            )
        },
    );
    let _ = writeln!(
        md,
        "### Throughput: publish as fast as accepted (at most {} undelivered)\n",
        crate::WINDOW
    );
    rows(
        &mut md,
        "| N | deliveries/s | server CPU per delivery (µs) | lost | load generator CPU (% of a core) |",
        &|n| {
            let t = spread(results, n, |r| r.throughput_per_s);
            format!(
                "{} ({}–{}) | {} | {} | {}",
                thousands(t.median),
                thousands(t.min),
                thousands(t.max),
                s(n, |r| r.throughput_cpu_us_per_delivery, 2),
                s(n, |r| r.throughput_lost as f64, 0),
                s(n, |r| r.throughput_generator_cpu_percent, 1)
            )
        },
    );
    let _ = writeln!(md, "### Shutdown: SIGINT with N streams open\n");
    rows(
        &mut md,
        "| N | time to exit (ms) | exited 0 in every run |",
        &|n| {
            let clean = results
                .iter()
                .filter(|r| r.clients == n)
                .all(|r| r.shutdown_clean);
            format!(
                "{} | {}",
                s(n, |r| r.shutdown_ms, 0),
                if clean { "yes" } else { "**no**" }
            )
        },
    );
    let _ = writeln!(
        md,
        "![latency and memory against clients](benches/results.svg)\n\n{END_MARKER}"
    );

    let existing = fs::read_to_string(path).unwrap_or_default();
    let document = match (existing.find(START_MARKER), existing.find(END_MARKER)) {
        (Some(start), Some(end)) if start < end => {
            format!(
                "{}{}{}",
                &existing[..start],
                md.trim_end(),
                &existing[end + END_MARKER.len()..]
            )
        }
        _ => format!("# Benchmarks\n\n{md}"),
    };
    fs::write(path, document).expect("write the report");
}

fn describe_machine() -> String {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    // Counted from /proc/cpuinfo: this process is pinned to one core, so
    // `available_parallelism` would say 1.
    let cores = cpuinfo
        .lines()
        .filter(|line| line.starts_with("processor"))
        .count();
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map(|kib| kib / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{model}, {cores} cores, {memory_gib:.0} GiB, Linux {}",
        kernel.trim()
    )
}

/// Two plots side by side, x = clients on a log scale: latency (connect p99 and
/// fan-out p99) on the left, server RSS per stream on the right. Points are medians;
/// the vertical bars show each figure's spread over the runs.
/// A plotted figure: its label, its colour, and how to read it from a run.
type Figure = (&'static str, &'static str, fn(&RunResult) -> f64);

pub fn write_svg(path: &Path, results: &[RunResult], counts: &[usize]) {
    let latency: [Figure; 3] = [
        ("connect p99", "#2456c7", |r| r.connect_p99_ms),
        ("fan-out p50", "#1f7a3d", |r| r.fanout_p50_ms),
        ("fan-out p99", "#a12a2a", |r| r.fanout_p99_ms),
    ];
    let memory: [Figure; 1] = [("RSS per stream", "#7a3db8", |r| r.rss_per_stream_kib)];
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="960" height="380" viewBox="0 0 960 380" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="960" height="380" fill="white"/>"#);
    plot(&mut svg, 60.0, "latency (ms)", &latency, results, counts);
    plot(
        &mut svg,
        540.0,
        "server RSS per stream (KiB)",
        &memory,
        results,
        counts,
    );
    svg.push_str("</svg>\n");
    fs::write(path, svg).expect("write the chart");
}

fn plot(
    svg: &mut String,
    left: f64,
    title: &str,
    figures: &[Figure],
    results: &[RunResult],
    counts: &[usize],
) {
    let (top, width, height) = (40.0, 380.0, 270.0);
    let max_value = figures
        .iter()
        .flat_map(|(_, _, f)| counts.iter().map(move |&n| spread(results, n, f).max))
        .fold(1e-9, f64::max)
        * 1.1;
    let (min_n, max_n) = (
        *counts.iter().min().unwrap_or(&1) as f64,
        *counts.iter().max().unwrap_or(&10) as f64,
    );
    let x = |n: f64| {
        left + if max_n > min_n {
            (n.log10() - min_n.log10()) / (max_n.log10() - min_n.log10()) * width
        } else {
            width / 2.0
        }
    };
    let y = |v: f64| top + height - v / max_value * height;
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="22" font-size="14" font-weight="bold">{title}</text>"#,
        left
    );
    let _ = writeln!(
        svg,
        r##"<path d="M{left} {top} V{} H{}" fill="none" stroke="#444"/>"##,
        top + height,
        left + width
    );
    for step in 0..=4 {
        let value = max_value * step as f64 / 4.0;
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{value:.1}</text>"##,
            left + width,
            left - 6.0,
            y(value) + 4.0,
            y = y(value)
        );
    }
    for &n in counts {
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{n}</text>"#,
            x(n as f64),
            top + height + 18.0
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">clients (log scale)</text>"#,
        left + width / 2.0,
        top + height + 36.0
    );
    for (index, (label, color, figure)) in figures.iter().enumerate() {
        let points: Vec<(f64, Spread)> = counts
            .iter()
            .map(|&n| (x(n as f64), spread(results, n, figure)))
            .collect();
        let path: Vec<String> = points
            .iter()
            .map(|(px, s)| format!("{px:.1},{:.1}", y(s.median)))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
            path.join(" ")
        );
        for (px, s) in &points {
            let _ = writeln!(
                svg,
                r#"<line x1="{px:.1}" x2="{px:.1}" y1="{:.1}" y2="{:.1}" stroke="{color}"/><circle cx="{px:.1}" cy="{:.1}" r="3.5" fill="{color}"/>"#,
                y(s.min),
                y(s.max),
                y(s.median)
            );
        }
        let legend_y = top + 14.0 + index as f64 * 16.0;
        let _ = writeln!(
            svg,
            r#"<rect x="{}" y="{}" width="10" height="10" fill="{color}"/><text x="{}" y="{}">{label}</text>"#,
            left + 12.0,
            legend_y - 9.0,
            left + 28.0,
            legend_y
        );
    }
}
