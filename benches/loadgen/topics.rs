//! Topics, once per run at the largest N: N subscribers each on a topic of its own,
//! publishes to random topics at a fixed rate (one in flight); publish-to-delivery
//! latency and server CPU per publish. One publish wakes one subscriber, which is where
//! a thread per client should cost least.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::Figure;
use crate::fleet::{Fleet, Observed};
use crate::process::ServerProcess;
use crate::publisher::Publisher;
use crate::scenarios::{figure, percentile, settle};

/// The scenario's name (the report looks its figures up by it).
pub const TOPICS: &str = "topics, 2,000 publishes/s";
/// Publishes per second, and for how long.
const TOPIC_RATE: u64 = 2_000;
const TOPIC_TIME: Duration = Duration::from_secs(4);

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
    let held = server.sample();
    let rss_per_stream = held.rss_kib.saturating_sub(baseline.rss_kib) as f64 / clients as f64;
    let before = server.cpu_seconds_exact();
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
        // The publisher goes back with its count: were it dropped here, the server's
        // thread for its connection would end before the CPU is read, and take its
        // share of the work out of the sum (`cpu_seconds_exact` counts live threads).
        (seq, publisher)
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
    let (published, publisher) =
        published.unwrap_or_else(|| thread.take().unwrap().join().expect("publisher"));
    // Let the last deliveries arrive.
    fleet.run_until(Duration::from_millis(200), &mut observed, true, |_| false);
    let after = server.cpu_seconds_exact();
    observed.latencies_us.sort_unstable();
    drop(publisher);
    let cpu_per_publish = (after - before) * 1e6 / published.max(1) as f64;
    let lost = published.saturating_sub(observed.deliveries);
    // Shutdown was measured in `run_once`; this server is simply killed.
    drop(server);
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
