//! The scenarios of one run (see `main.rs` for what each measures and why).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::fleet::{Fleet, Observed};
use crate::process::{ServerProcess, own_cpu_seconds};
use crate::publisher::Publisher;
use crate::{Figure, Kind, RunResult, WINDOW};

/// How long the idle CPU is measured.
/// The fan-out scenario's name (the report looks its figures up by it).
pub const FANOUT: &str = "fan-out, 1 message/s";
/// The topics scenario's name.
pub const TOPICS: &str = "topics, 2,000 publishes/s";

const IDLE_WINDOW: Duration = Duration::from_secs(5);
/// Fan-out: this many messages, one per second.
const FANOUT_MESSAGES: u64 = 10;
/// Each throughput scenario publishes for this long.
const THROUGHPUT_TIME: Duration = Duration::from_secs(4);
/// Topics: publishes per second, and for how long.
const TOPIC_RATE: u64 = 2_000;
const TOPIC_TIME: Duration = Duration::from_secs(4);
/// Settled: the server uses less than this share of a core while nothing happens.
const SETTLED_CPU: f64 = 0.05;
/// The longest wait for a server to settle.
const SETTLE_LIMIT: Duration = Duration::from_secs(15);

fn figure(
    scenario: &'static str,
    name: &'static str,
    unit: &'static str,
    higher_is_better: bool,
    value: f64,
) -> Figure {
    Figure {
        scenario,
        name,
        unit,
        higher_is_better,
        value,
    }
}

/// Scenarios 1 to 6 against one fresh server.
pub fn run_once(server: ServerProcess, kind: Kind, clients: usize) -> RunResult {
    let address: SocketAddr = ([127, 0, 0, 1], server.port).into();
    let epoch = Instant::now();
    let mut figures = Vec::new();

    // 1. Hold.
    let baseline = server.sample();
    let mut fleet = Fleet::new(epoch);
    let (mut latencies, failures) =
        fleet.connect(address, "/subscribe", clients, Duration::from_secs(60));
    let held = server.sample();
    latencies.sort();
    figures.push(figure(
        "hold",
        "connect p99",
        "ms",
        false,
        ms(percentile(&latencies, 0.99)),
    ));
    figures.push(figure(
        "hold",
        "failed connects",
        "",
        false,
        failures as f64,
    ));
    let rss_per_stream = held.rss_kib.saturating_sub(baseline.rss_kib) as f64 / clients as f64;
    figures.push(figure(
        "hold",
        "RSS per stream",
        "KiB",
        false,
        rss_per_stream,
    ));
    figures.push(figure("hold", "threads", "", false, held.threads as f64));
    figures.push(figure(
        "hold",
        "descriptors",
        "",
        false,
        held.descriptors as f64,
    ));
    let idle_start = server.sample();
    fleet.run_until(IDLE_WINDOW, &mut Observed::default(), false, |_| false);
    let idle_end = server.sample();
    let idle_cpu = cpu_percent(
        idle_end.cpu_seconds - idle_start.cpu_seconds,
        idle_end.at - idle_start.at,
    );
    figures.push(figure("hold", "idle CPU", "% of a core", false, idle_cpu));

    // 2. Fan-out from an ordinary publisher, one message a second.
    eprintln!("bench:   fan-out starts");
    let before = server.sample();
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
    fleet.run_until(
        Duration::from_secs(FANOUT_MESSAGES + 10),
        &mut observed,
        true,
        |fleet| fleet.all_delivered(FANOUT_MESSAGES),
    );
    let publisher = publisher.join().expect("fan-out publisher");
    let after = server.sample();
    observed.latencies_us.sort_unstable();
    let p99_ms = percentile(&observed.latencies_us, 0.99) as f64 / 1e3;
    figures.push(figure(FANOUT, "delivery p99", "ms", false, p99_ms));
    let lost = fleet.lost_and_duplicated(1, FANOUT_MESSAGES).0;
    figures.push(figure(FANOUT, "lost", "", false, lost as f64));
    let per_delivery = per_delivery_us(after.cpu_seconds - before.cpu_seconds, observed.deliveries);
    figures.push(figure(
        FANOUT,
        "CPU per delivery",
        "µs",
        false,
        per_delivery,
    ));

    // 3. and 4. Throughput, with an ordinary and with a pipelining publisher.
    let mut publisher = Some(publisher);
    let mut next_seq = FANOUT_MESSAGES + 1;
    for pipelining in [false, true] {
        let scenario = if pipelining {
            "throughput, pipelining publisher"
        } else {
            "throughput, ordinary publisher"
        };
        let measured = throughput(
            &server,
            &mut fleet,
            publisher.take().expect("the publisher is back"),
            next_seq,
            pipelining,
        );
        publisher = Some(measured.publisher.0);
        next_seq = measured.publisher.1 + 1;
        figures.push(figure(
            scenario,
            "deliveries",
            "/s",
            true,
            measured.deliveries_per_s,
        ));
        figures.push(figure(scenario, "lost", "", false, measured.lost as f64));
        figures.push(figure(
            scenario,
            "server CPU",
            "% of a core",
            false,
            measured.server_cpu,
        ));
        figures.push(figure(
            scenario,
            "load generator CPU",
            "% of a core",
            false,
            measured.generator_cpu,
        ));
    }

    // 5. Churn: everyone leaves and comes straight back.
    eprintln!("bench:   churn starts");
    fleet.drop_all();
    let started = Instant::now();
    let (_, refused) = fleet.connect(address, "/subscribe", clients, Duration::from_secs(60));
    let back_after = started.elapsed();
    figures.push(figure(
        "churn",
        "refused reconnects",
        "",
        false,
        refused as f64,
    ));
    figures.push(figure(
        "churn",
        "all back after",
        "ms",
        false,
        ms(back_after),
    ));

    // 6. Shutdown with every stream open.
    let (took, clean) = server.interrupt_and_wait(Duration::from_secs(10));
    figures.push(figure(
        "shutdown",
        "exit after SIGINT",
        "ms",
        false,
        ms(took),
    ));
    figures.push(figure(
        "shutdown",
        "unclean exits",
        "",
        false,
        f64::from(!clean),
    ));
    drop(fleet);
    RunResult {
        kind,
        clients,
        figures,
    }
}

/// What a throughput scenario measured.
struct Throughput {
    deliveries_per_s: f64,
    lost: u64,
    /// Percent of a core, over the scenario.
    server_cpu: f64,
    generator_cpu: f64,
    /// The publisher, and the last sequence number it used.
    publisher: (Publisher, u64),
}

/// Publishes for [`THROUGHPUT_TIME`], at most [`WINDOW`] messages ahead of the slowest
/// subscriber. Returns deliveries per second, messages lost, and the publisher with the
/// last sequence number it used.
fn throughput(
    server: &ServerProcess,
    fleet: &mut Fleet,
    mut publisher: Publisher,
    first_seq: u64,
    pipelining: bool,
) -> Throughput {
    let watermark = fleet.watermark.clone();
    let before = (server.sample(), own_cpu_seconds());
    let thread = std::thread::spawn(move || {
        let (sent, to_collect) = mpsc::channel::<()>();
        let collector = pipelining.then(|| {
            let mut answers = publisher.answers();
            std::thread::spawn(move || to_collect.iter().for_each(|()| answers.receive()))
        });
        let start = Instant::now();
        let mut seq = first_seq;
        while start.elapsed() < THROUGHPUT_TIME {
            if seq > watermark.load(Ordering::Acquire) + WINDOW {
                std::thread::sleep(Duration::from_micros(50));
                continue;
            }
            if pipelining {
                publisher.send(seq);
                sent.send(()).expect("the answer collector is running");
            } else {
                publisher.publish(seq);
            }
            seq += 1;
        }
        drop(sent);
        if let Some(collector) = collector {
            collector.join().expect("answer collector");
        }
        (publisher, seq - 1)
    });
    let mut observed = Observed::default();
    let mut thread = Some(thread);
    let mut finished = None;
    fleet.run_until(THROUGHPUT_TIME * 4, &mut observed, false, |fleet| {
        if thread.as_ref().is_some_and(|thread| thread.is_finished()) {
            finished = Some(thread.take().unwrap().join().expect("publisher"));
        }
        finished
            .as_ref()
            .is_some_and(|(_, last)| fleet.all_delivered(*last))
    });
    let after = (server.sample(), own_cpu_seconds());
    let finished = finished.unwrap_or_else(|| thread.take().unwrap().join().expect("publisher"));
    let elapsed = (after.0.at - before.0.at).as_secs_f64();
    let lost = fleet.lost_and_duplicated(first_seq, finished.1).0;
    let generator_cpu = 100.0 * (after.1 - before.1) / elapsed;
    let server_cpu = 100.0 * (after.0.cpu_seconds - before.0.cpu_seconds) / elapsed;
    Throughput {
        deliveries_per_s: observed.deliveries as f64 / elapsed,
        lost,
        server_cpu,
        generator_cpu,
        publisher: finished,
    }
}

/// N subscribers, each on its own topic; one publish at a time to a random topic at
/// [`TOPIC_RATE`] a second.
pub fn run_topics(server: ServerProcess, clients: usize) -> Vec<Figure> {
    let address: SocketAddr = ([127, 0, 0, 1], server.port).into();
    let epoch = Instant::now();
    let mut fleet = Fleet::new(epoch);
    let baseline = server.sample();
    let (_, failures) = fleet.connect_each(
        address,
        |index| format!("/subscribe?topic=t{index}"),
        clients,
        Duration::from_secs(60),
    );
    settle(&server, &mut fleet);
    eprintln!("bench:   topics: publishing starts");
    let before = server.sample();
    let rss_per_stream = before.rss_kib.saturating_sub(baseline.rss_kib) as f64 / clients as f64;
    let publisher = std::thread::spawn(move || {
        let mut publisher = Publisher::connect(address, epoch);
        let start = Instant::now();
        let mut seq = 0;
        // A fixed pseudo-random sequence of topics (xorshift), the same for both servers.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        while start.elapsed() < TOPIC_TIME {
            seq += 1;
            let due = start + Duration::from_micros(seq * 1_000_000 / TOPIC_RATE);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            publisher.publish_to(seq, &format!("t{}", state % clients as u64));
        }
        seq
    });
    let mut observed = Observed::default();
    let mut published = None;
    let mut thread = Some(publisher);
    fleet.run_until(TOPIC_TIME * 3, &mut observed, true, |_| {
        if thread.as_ref().is_some_and(|thread| thread.is_finished()) {
            published = Some(thread.take().unwrap().join().expect("topic publisher"));
        }
        published.is_some()
    });
    let published = published.unwrap_or_else(|| thread.take().unwrap().join().expect("publisher"));
    // Let the last deliveries arrive.
    fleet.run_until(Duration::from_millis(200), &mut observed, true, |_| false);
    let after = server.sample();
    observed.latencies_us.sort_unstable();
    let cpu_per_publish = (after.cpu_seconds - before.cpu_seconds) * 1e6 / published.max(1) as f64;
    let lost = published.saturating_sub(observed.deliveries);
    let _ = server.interrupt_and_wait(Duration::from_secs(10));
    let p99 = percentile(&observed.latencies_us, 0.99) as f64 / 1e3;
    vec![
        figure(TOPICS, "delivery p99", "ms", false, p99),
        figure(TOPICS, "CPU per publish", "µs", false, cpu_per_publish),
        figure(TOPICS, "lost", "", false, lost as f64),
        figure(
            TOPICS,
            "RSS per stream, its topic included",
            "KiB",
            false,
            rss_per_stream,
        ),
        figure(TOPICS, "failed connects", "", false, failures as f64),
    ]
}

/// Waits until the server is quiet: after the last stream's head has arrived, its
/// thread (or task) still finishes starting, and with ten thousand of them queued on
/// one core that takes up to a second or two. A measurement of CPU per publish must
/// not include it.
fn settle(server: &ServerProcess, fleet: &mut Fleet) {
    let started = Instant::now();
    while started.elapsed() < SETTLE_LIMIT {
        let before = server.sample();
        fleet.run_until(
            Duration::from_millis(200),
            &mut Observed::default(),
            false,
            |_| false,
        );
        let after = server.sample();
        let share = (after.cpu_seconds - before.cpu_seconds) / (after.at - before.at).as_secs_f64();
        if share < SETTLED_CPU {
            return;
        }
    }
}

pub fn percentile<T: Copy + Default>(sorted: &[T], fraction: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
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
