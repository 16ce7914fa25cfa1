//! The scenarios of one run (see `main.rs` for what each measures and why).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::fleet::{Fleet, Observed};
use crate::process::{ServerProcess, own_cpu_seconds};
use crate::publisher::Publisher;
use crate::{Figure, Kind, RunResult, WINDOW};

/// The scenarios' names (the report looks their figures up by them).
pub const HOLD: &str = "hold";
pub const FANOUT: &str = "fan-out, 1 message/s";
pub const ORDINARY: &str = "throughput, ordinary publisher";

/// The heartbeat every server sends by default (sse-server's `--heartbeat-s`, the
/// references' `HEARTBEAT_SECS`): each idle stream wakes once per this.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// The idle window ends this long after the last stream's heartbeat was due.
const IDLE_MARGIN: Duration = Duration::from_secs(1);
/// Fan-out: this many messages, one per second.
const FANOUT_MESSAGES: u64 = 6;
/// Each throughput scenario publishes for this long.
const THROUGHPUT_TIME: Duration = Duration::from_secs(3);
/// After it, the messages still in flight have this long to arrive before they count
/// as lost: a server that writes each message to each subscriber in turn (node:http)
/// may hold [`WINDOW`] publishes of a quarter of a second each at the largest N.
const DRAIN_LIMIT: Duration = Duration::from_secs(20);
/// SIGINT to exit: a server still running after this is killed (and counted unclean).
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(5);
/// Settled: the server uses less than this share of a core while nothing happens.
const SETTLED_CPU: f64 = 0.05;
/// The longest wait for a server to settle.
const SETTLE_LIMIT: Duration = Duration::from_secs(15);

pub fn figure(
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

/// Scenarios 1 to 6 against one fresh server; with `idle`, the hold scenario also
/// counts memory maps and measures the idle CPU (over a heartbeat, so it is done at
/// one N only).
pub fn run_once(server: ServerProcess, kind: Kind, clients: usize, idle: bool) -> RunResult {
    let address: SocketAddr = ([127, 0, 0, 1], server.port).into();
    let epoch = Instant::now();
    let mut figures = Vec::new();

    // 1. Hold.
    let baseline = server.sample();
    let mut fleet = Fleet::new(epoch);
    let connecting = Instant::now();
    let (mut latencies, failures) =
        fleet.connect(address, "/subscribe", clients, Duration::from_secs(60));
    let connected = Instant::now();
    let held = server.sample();
    latencies.sort();
    figures.push(figure(
        HOLD,
        "connect p99",
        "ms",
        false,
        ms(percentile(&latencies, 0.99)),
    ));
    figures.push(figure(HOLD, "failed connects", "", false, failures as f64));
    let rss_per_stream = held.rss_kib.saturating_sub(baseline.rss_kib) as f64 / clients as f64;
    figures.push(figure(HOLD, "RSS per stream", "KiB", false, rss_per_stream));
    figures.push(figure(HOLD, "threads", "", false, held.threads as f64));
    figures.push(figure(
        HOLD,
        "descriptors",
        "",
        false,
        held.descriptors as f64,
    ));
    if idle {
        figures.push(figure(HOLD, "memory maps", "", false, server.maps() as f64));
        let (per_heartbeat, share) = idle_cost(&server, &mut fleet, connecting, connected);
        figures.push(figure(
            HOLD,
            "idle: CPU per heartbeat",
            "µs",
            false,
            per_heartbeat / clients as f64,
        ));
        figures.push(figure(
            HOLD,
            "idle CPU, 15 s heartbeats",
            "% of a core",
            false,
            share,
        ));
    }

    // 2. Fan-out from an ordinary publisher, one message a second.
    eprintln!("bench:   fan-out starts");
    let before = server.cpu_seconds_exact();
    let (mut observed, publisher) = fan_out(&mut fleet, address, FANOUT_MESSAGES, 10);
    let after = server.cpu_seconds_exact();
    observed.latencies_us.sort_unstable();
    let p99_ms = percentile(&observed.latencies_us, 0.99) as f64 / 1e3;
    figures.push(figure(FANOUT, "delivery p99", "ms", false, p99_ms));
    let lost = fleet.lost_and_duplicated(1, FANOUT_MESSAGES).0;
    figures.push(figure(FANOUT, "lost", "", false, lost as f64));
    let per_delivery = per_delivery_us(after - before, observed.deliveries);
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
            ORDINARY
        };
        let measured = throughput(
            &[&server],
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

    // 5. Churn: everyone leaves and comes straight back. sse-server also says, in
    // /stats, how long its hub's lock was held while they left (a leave costs O(1)).
    eprintln!("bench:   churn starts");
    let leaves_before = (kind == Kind::SseServer).then(|| hub_leaves(address));
    fleet.drop_all();
    let started = Instant::now();
    let (_, refused) = fleet.connect(address, "/subscribe", clients, Duration::from_secs(60));
    let back_after = started.elapsed();
    if let Some(Some((left_before, lock_before))) = leaves_before {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut now = hub_leaves(address);
        while now.is_some_and(|(left, _)| left < left_before + clients as u64)
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(50));
            now = hub_leaves(address);
        }
        if let Some((_, lock_ns)) = now {
            let held = lock_ns.saturating_sub(lock_before) as f64 / 1e6;
            figures.push(figure(
                "churn",
                "hub lock held while all left",
                "ms",
                false,
                held,
            ));
        }
    }
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
    let (took, clean) = server.interrupt_and_wait(SHUTDOWN_LIMIT);
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

/// Publishes `messages` to `target`, one a second, from an ordinary publisher (one
/// `POST` in flight), and records every delivery until all arrived or `slack_s` seconds
/// after the last; returns what the fleet observed and the publisher, for what follows.
pub fn fan_out(
    fleet: &mut Fleet,
    target: SocketAddr,
    messages: u64,
    slack_s: u64,
) -> (Observed, Publisher) {
    let epoch = fleet.epoch;
    let publisher = std::thread::spawn(move || {
        let mut publisher = Publisher::connect(target, epoch);
        let start = Instant::now();
        for seq in 1..=messages {
            let due = start + Duration::from_secs(seq - 1);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            publisher.publish(seq);
        }
        publisher
    });
    let mut observed = Observed::default();
    fleet.run_until(
        Duration::from_secs(messages + slack_s),
        &mut observed,
        true,
        |fleet| fleet.all_delivered(messages),
    );
    (observed, publisher.join().expect("fan-out publisher"))
}

/// What a throughput scenario measured.
pub struct Throughput {
    pub deliveries_per_s: f64,
    pub lost: u64,
    /// Percent of a core, over the scenario: the servers' CPU summed.
    pub server_cpu: f64,
    pub generator_cpu: f64,
    /// The publisher, and the last sequence number it used.
    pub publisher: (Publisher, u64),
}

/// Publishes for [`THROUGHPUT_TIME`], at most [`WINDOW`] messages ahead of the slowest
/// subscriber. Returns deliveries per second, messages lost, and the publisher with the
/// last sequence number it used. `servers` are the processes whose CPU it counts (one
/// server, or the instances of a cluster and their Redis).
pub fn throughput(
    servers: &[&ServerProcess],
    fleet: &mut Fleet,
    mut publisher: Publisher,
    first_seq: u64,
    pipelining: bool,
) -> Throughput {
    let watermark = fleet.watermark.clone();
    let cpu = || {
        servers
            .iter()
            .map(|server| server.sample().cpu_seconds)
            .sum::<f64>()
    };
    let before = (Instant::now(), cpu(), own_cpu_seconds());
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
    fleet.run_until(
        THROUGHPUT_TIME + DRAIN_LIMIT,
        &mut observed,
        false,
        |fleet| {
            if thread.as_ref().is_some_and(|thread| thread.is_finished()) {
                finished = Some(thread.take().unwrap().join().expect("publisher"));
            }
            finished
                .as_ref()
                .is_some_and(|(_, last)| fleet.all_delivered(*last))
        },
    );
    let after = (Instant::now(), cpu(), own_cpu_seconds());
    let finished = finished.unwrap_or_else(|| thread.take().unwrap().join().expect("publisher"));
    let elapsed = (after.0 - before.0).as_secs_f64();
    let lost = fleet.lost_and_duplicated(first_seq, finished.1).0;
    let generator_cpu = 100.0 * (after.2 - before.2) / elapsed;
    let server_cpu = 100.0 * (after.1 - before.1) / elapsed;
    Throughput {
        deliveries_per_s: observed.deliveries as f64 / elapsed,
        lost,
        server_cpu,
        generator_cpu,
        publisher: finished,
    }
}

/// What idle streams cost: every stream's heartbeat is due [`HEARTBEAT`] after its
/// `retry:` (its last write), so a window from the end of the start-up work (see
/// [`settle`]) until just after the last stream's heartbeat holds exactly one heartbeat
/// of every stream. Returns the server's CPU over it in µs, and that CPU as a share of
/// a core over one heartbeat interval (the idle CPU in steady state).
fn idle_cost(
    server: &ServerProcess,
    fleet: &mut Fleet,
    connecting: Instant,
    connected: Instant,
) -> (f64, f64) {
    settle(server, fleet);
    let (start, cpu_start) = (Instant::now(), server.cpu_seconds_exact());
    if start > connecting + HEARTBEAT {
        eprintln!("bench:   idle: the first heartbeats came before the window opened");
    }
    let end_at = connected + HEARTBEAT + IDLE_MARGIN;
    fleet.run_until(
        end_at.saturating_duration_since(Instant::now()),
        &mut Observed::default(),
        false,
        |_| false,
    );
    let cpu = server.cpu_seconds_exact() - cpu_start;
    (cpu * 1e6, cpu_percent(cpu, HEARTBEAT))
}

/// Waits until the server is quiet: after the last stream's head has arrived, its
/// thread (or task) still finishes starting, and with ten thousand of them queued on
/// one core that takes up to a second or two. A measurement of CPU per publish must
/// not include it.
pub fn settle(server: &ServerProcess, fleet: &mut Fleet) {
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

/// sse-server's `/stats`: subscribers that have left since it started, and the
/// nanoseconds its hub's lock was held for those leaves.
fn hub_leaves(address: SocketAddr) -> Option<(u64, u64)> {
    use std::io::{Read, Write};
    let mut socket = std::net::TcpStream::connect(address).ok()?;
    socket.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    socket
        .write_all(b"GET /stats HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut answer = String::new();
    socket.read_to_string(&mut answer).ok()?;
    let number = |name: &str| -> Option<u64> {
        let rest = answer.split(&format!("\"{name}\": ")).nth(1)?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    Some((number("subscribers_left")?, number("leave_lock_ns")?))
}
