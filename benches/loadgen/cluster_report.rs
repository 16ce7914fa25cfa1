//! BENCHMARKS.md's section for `make bench-cluster` (`cluster.rs`): the figures of
//! three instances over one Redis beside one instance, and a capacity table computed
//! from them. The section sits between two markers, so that `make bench-cluster`
//! replaces it in place and `make bench` (which rewrites the rest) keeps it.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::Figure;
use crate::cluster::{ALONE, CLUSTER, FANOUT_CPU, INSTANCES};
use crate::report::{digits, median_of, summary};

const BEGIN: &str = "<!-- cluster: written by make bench-cluster -->";
const END: &str = "<!-- /cluster -->";

/// Centrifugo's published test ("Million connections with Centrifugo", 2020): one
/// million WebSocket connections on 20 pods and 5 Redis shards, each connection in a
/// personal channel and a group channel of 10, about 500,000 deliveries a second at a
/// p99 of 200 ms, and 200,000 reconnects a minute.
const FIELD_STREAMS: f64 = 1_000_000.0;
const FIELD_DELIVERIES: f64 = 500_000.0;
const FIELD_GROUP: f64 = 10.0;

/// How the cluster's runs were set up.
pub struct Setup {
    pub per_instance: usize,
    /// The limit that set `per_instance` (or the scenario's own size).
    pub set_by: String,
    /// The most streams one process holds here, and the limit that sets it.
    pub one_process: usize,
    pub one_process_limit: String,
    pub elapsed: Duration,
}

/// The section for `runs` (each run's figures, cluster and lone instance).
pub fn section(runs: &[Vec<Figure>], setup: &Setup) -> String {
    let value = |scenario: &str, name: &str| -> Vec<f64> {
        runs.iter()
            .flat_map(|run| run.iter())
            .filter(|f| f.scenario == scenario && f.name == name)
            .map(|f| f.value)
            .collect()
    };
    let median = |scenario: &str, name: &str| median_of(&value(scenario, name));
    let total = setup.per_instance * INSTANCES;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{BEGIN}\n## Past one process: {INSTANCES} instances over one Redis\n"
    );
    let _ = writeln!(
        out,
        "Written by `make bench-cluster` in {:.0} s, {} run{}: {INSTANCES} instances of the \
         release server sharing one log in one `redis-server`, all on core 0, holding \
         {total} streams between them ({} each; set by {}), against one instance over the \
         same Redis holding {}. One process here holds at most {} streams ({}), so the \
         cluster holds {:.1}× what one process can. Messages are published to the first \
         instance; every stream receives every message. Cells are median [min–max].\n",
        setup.elapsed.as_secs_f64(),
        runs.len(),
        if runs.len() == 1 { "" } else { "s" },
        setup.per_instance,
        setup.set_by,
        setup.per_instance,
        setup.one_process,
        setup.one_process_limit,
        total as f64 / setup.one_process.max(1) as f64,
    );
    let _ = writeln!(
        out,
        "| figure | {INSTANCES} instances, {total} streams | 1 instance, {} streams |",
        setup.per_instance
    );
    let _ = writeln!(out, "|---|---|---|");
    let names: Vec<(&'static str, &'static str)> = runs
        .first()
        .map(|run| {
            run.iter()
                .filter(|f| f.scenario == CLUSTER)
                .map(|f| (f.name, f.unit))
                .collect()
        })
        .unwrap_or_default();
    for (name, unit) in names {
        let cell = |scenario| summary(&value(scenario, name), digits(unit));
        let unit = if unit.is_empty() {
            String::new()
        } else {
            format!(" ({unit})")
        };
        let _ = writeln!(
            out,
            "| {name}{unit} | {} | {} |",
            cell(CLUSTER),
            cell(ALONE)
        );
    }

    // The capacity table: each line computed from the medians above. Redis's work per
    // message is a fixed part (the publish) and a part per instance (each tail reads
    // the entry): the two setups give both.
    let rss_kib = median(CLUSTER, "RSS per stream");
    let empty_mib = median(CLUSTER, "empty instance RSS");
    let cpu_us = median(CLUSTER, FANOUT_CPU);
    let per_read = |name: &str| {
        let (three, one) = (median(CLUSTER, name), median(ALONE, name));
        let each = ((three - one) / (INSTANCES - 1) as f64).max(0.0);
        (one - each, each)
    };
    let (redis_fixed_us, redis_read_us) = per_read("Redis CPU per message");
    let (bytes_fixed, bytes_read) = per_read("Redis bytes sent per message");
    let per_box = setup.one_process as f64;
    let ram_per_100k = rss_kib * 100_000.0 / 1024.0 + empty_mib * (100_000.0 / per_box).ceil();
    let instances_for_field = (FIELD_STREAMS / per_box).ceil();
    let publishes = FIELD_DELIVERIES / FIELD_GROUP;
    let reads = publishes * instances_for_field;
    let redis_cores = (publishes * redis_fixed_us + reads * redis_read_us) / 1e6;
    let redis_mb_s = (publishes * bytes_fixed + reads * bytes_read) / 1e6;
    let _ = writeln!(
        out,
        "\n### Capacity, from these figures\n\n\
         | what | figure | how it follows |\n|---|---|---|\n\
         | streams per instance | {per_box:.0} | one process's limit here: {} |\n\
         | RAM per 100,000 streams | {ram_per_100k:.0} MiB | {rss_kib:.1} KiB per stream, plus \
         {empty_mib:.1} MiB per instance |\n\
         | instances for 1,000,000 streams | {instances_for_field:.0} | 1,000,000 ÷ streams per \
         instance (several per machine: the map limit is per process) |\n\
         | cores for {FIELD_DELIVERIES:.0} deliveries/s | {:.1} | × {cpu_us:.1} µs per delivery \
         in the fan-out (instances and Redis, measured above) |\n\
         | publishes/s behind them | {publishes:.0} | Centrifugo's load: each message to a group \
         of {FIELD_GROUP:.0} |\n\
         | Redis: entries read per second | {reads:.0} | every instance's tail reads every \
         entry: publishes × instances |\n\
         | Redis CPU | {redis_cores:.1} cores | {redis_fixed_us:.1} µs per publish + \
         {redis_read_us:.1} µs per entry read (from the two setups) |\n\
         | Redis egress | {redis_mb_s:.0} MB/s | {bytes_fixed:.0} B per publish + {bytes_read:.0} B \
         per entry read |\n",
        setup.one_process_limit,
        FIELD_DELIVERIES * cpu_us / 1e6,
    );
    let _ = writeln!(
        out,
        "**Where the first limit is.** Every instance reads the whole log, so Redis's work \
         grows with publishes × instances, and one Redis is one core: at Centrifugo's load \
         it would need the {redis_cores:.1} cores above, where Centrifugo used 5 Redis \
         shards of one core each. So the first limit is Redis (its CPU, then its egress), \
         before the instances' CPU; a deployment of that size needs the log sharded by \
         topic (not built: one log keeps every instance's ids in one order) or fewer, \
         larger instances (raise `vm.max_map_count`: the map limit, not memory, caps an \
         instance here). Signs it is near: `sse_redis_lag_seconds` rising on every \
         instance at once, and Redis's own `INFO` CPU near one core; an instance's own \
         limit shows as `sse_streams_refused_total` and `sse_threads` near its cap.\n"
    );
    let _ = writeln!(out, "{END}");
    out
}

/// Writes `section` into the report: in place of the previous one, or at the end.
pub fn write_into(report: &Path, section: &str) {
    let old = fs::read_to_string(report).unwrap_or_default();
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(begin), Some(end)) if end > begin => {
            format!(
                "{}{section}{}",
                &old[..begin],
                &old[end + END.len()..].trim_start_matches('\n')
            )
        }
        _ => format!("{}\n{section}", old.trim_end()),
    };
    fs::write(report, new).expect("write the cluster section");
}

/// The section the report holds now, if any, for `make bench` to keep.
pub fn kept(report: &Path) -> Option<String> {
    let old = fs::read_to_string(report).ok()?;
    let begin = old.find(BEGIN)?;
    let end = old.find(END)?;
    (end > begin).then(|| format!("{}\n", &old[begin..end + END.len()]))
}
