//! Healthy subscribers beside clients that stopped reading (issue 23, item 6),
//! sse-server only: [`STALLED`] subscribers that never read a byte, each with a 4 KiB
//! receive buffer, and [`HEALTHY`] that read everything, while an ordinary publisher
//! sends a message of [`MESSAGE_BYTES`] every [`INTERVAL`]. The figure is the healthy
//! subscribers' lag, publish to delivery: what the stalled ones cost everyone else.
//!
//! The stalled clients fill their buffers within the first messages (on loopback the
//! kernel lets each socket's send buffer grow to about 700 KB first); from then on each
//! of their threads sits in a write that cannot finish, until `--write-timeout-s`
//! drops it, halfway through the run. So the run covers both the stall and the wave
//! of a thousand streams ending at once.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::process::ServerProcess;
use crate::publisher::Publisher;
use crate::scenarios::percentile;
use crate::small_buffer::connect_with_receive_buffer;
use crate::{Figure, SERVER_CORE};

pub const SCENARIO: &str = "healthy beside 1,000 stalled readers";
const STALLED: usize = 1000;
const HEALTHY: usize = 3;
const MESSAGE_BYTES: usize = 32 * 1024;
/// About 30 messages a second.
const INTERVAL: Duration = Duration::from_millis(33);
/// Long enough for the stalled streams to be dropped (`--write-timeout-s`, 10 s by
/// default) and for the healthy ones to go on after that.
const MESSAGES: u64 = 600;

/// The scenario against a fresh server started with `flags`: p99 and worst lag of the
/// healthy subscribers, in ms.
pub fn run(binary: &Path, flags: &[String]) -> Vec<Figure> {
    let server = ServerProcess::start(binary, SERVER_CORE, flags);
    let address: SocketAddr = ([127, 0, 0, 1], server.port).into();
    let epoch = Instant::now();
    let stalled: Vec<TcpStream> = (0..STALLED)
        .map(|_| {
            let mut socket = connect_with_receive_buffer(address, 4096);
            socket.write_all(request().as_bytes()).expect("subscribe");
            socket
        })
        .collect();
    let lags_us = Arc::new(Mutex::new(Vec::new()));
    let healthy: Vec<_> = (0..HEALTHY)
        .map(|_| {
            let lags_us = Arc::clone(&lags_us);
            let mut socket = TcpStream::connect(address).expect("connect");
            socket.write_all(request().as_bytes()).expect("subscribe");
            std::thread::spawn(move || read_all(socket, epoch, &lags_us))
        })
        .collect();
    // Every stream is open (the head of each healthy one has come) before the first
    // publish: give the server a moment to register the stalled ones too.
    std::thread::sleep(Duration::from_millis(500));
    let mut publisher = Publisher::connect(address, epoch);
    let before = server.sample();
    let start = Instant::now();
    for seq in 1..=MESSAGES {
        std::thread::sleep(
            (start + INTERVAL * seq as u32).saturating_duration_since(Instant::now()),
        );
        publisher.publish_padded(seq, MESSAGE_BYTES);
    }
    let in_order: Vec<bool> = healthy
        .into_iter()
        .map(|reader| reader.join().unwrap())
        .collect();
    let cpu_seconds = server.sample().cpu_seconds - before.cpu_seconds;
    drop(stalled);
    let mut lags_us = lags_us.lock().unwrap().clone();
    lags_us.sort_unstable();
    let expected = MESSAGES as usize * HEALTHY;
    let lost = expected.saturating_sub(lags_us.len()) as f64;
    let out_of_order = in_order.iter().filter(|ok| !**ok).count() as f64;
    vec![
        figure("lag p99", "ms", percentile(&lags_us, 0.99) as f64 / 1e3),
        figure(
            "worst lag",
            "ms",
            lags_us.last().copied().unwrap_or(0) as f64 / 1e3,
        ),
        figure("lost or out of order", "", lost + out_of_order),
        // The work the stalled ones cause: what the server spent over the run.
        figure("server CPU", "s", cpu_seconds),
    ]
}

fn figure(name: &'static str, unit: &'static str, value: f64) -> Figure {
    Figure {
        scenario: SCENARIO,
        name,
        unit,
        higher_is_better: false,
        value,
    }
}

fn request() -> String {
    "GET /subscribe HTTP/1.1\r\nHost: bench\r\n\r\n".into()
}

/// Reads one healthy stream until the last message, recording each message's lag
/// (its body is `seq sent_ns padding`, `publisher.rs`). Returns whether every message
/// came once, in order.
fn read_all(mut socket: TcpStream, epoch: Instant, lags_us: &Mutex<Vec<u64>>) -> bool {
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut pending = Vec::new();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut next_seq = 1;
    let mut in_order = true;
    while next_seq <= MESSAGES {
        let count = match socket.read(&mut buffer) {
            Ok(0) | Err(_) => return false,
            Ok(count) => count,
        };
        let now_ns = epoch.elapsed().as_nanos() as u64;
        pending.extend_from_slice(&buffer[..count]);
        // Each message's data line starts `data: SEQ SENT_NS `; the chunk framing
        // around it does not matter here.
        while let Some(start) = find(&pending, b"data: ") {
            let line = &pending[start + 6..];
            let Some(end) = find(line, b"\n") else {
                break;
            };
            let mut fields = std::str::from_utf8(&line[..end.min(64)])
                .unwrap_or("")
                .split(' ');
            let seq: u64 = fields.next().and_then(|s| s.parse().ok()).unwrap_or(0);
            let sent_ns: u64 = fields.next().and_then(|s| s.parse().ok()).unwrap_or(now_ns);
            if seq != next_seq {
                in_order = false;
            }
            next_seq = seq + 1;
            lags_us
                .lock()
                .unwrap()
                .push(now_ns.saturating_sub(sent_ns) / 1000);
            pending.drain(..start + 6 + end + 1);
        }
    }
    in_order
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
