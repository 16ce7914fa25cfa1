//! Clients that vanish without a word: a real packet filter (nftables) drops every
//! packet to and from some clients' ports on loopback, as the network drops a phone
//! that lost its signal. No FIN, no reset: only `--vanish-timeout-s` (`src/vanish.rs`)
//! can free them.
//!
//! Three vanished clients per test: an idle subscriber (it gets only heartbeats), a
//! subscriber whose topic is published to all along (messages in flight), and a clock
//! stream. With the timeout on, `/stats` must show all three freed within heartbeat +
//! timeout + a margin; with it off, all three must still be open after that long, which
//! proves that the timeout, and nothing else, frees them.
//!
//! The filter needs root and `nft` (Debian's nftables, which `make test` installs). A
//! machine without them fails these tests, loudly; `SSE_SKIP_NFT_TESTS=1` skips them.

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use support::{TestServer, fast_config, read_response, read_until};

const HEARTBEAT: Duration = Duration::from_secs(1);
const VANISH_TIMEOUT: Duration = Duration::from_secs(3);
/// Heartbeat + timeout is the bound; the rest is margin for a loaded machine (the
/// kernel's last retransmission timer, the watch waking the thread, the `/stats` poll).
const FREED_WITHIN: Duration = Duration::from_secs(15);

/// An nftables table of this test's own that drops every packet to or from `ports` on
/// loopback. Dropping it deletes the table, also when the test fails.
struct Blackhole {
    table: String,
}

impl Blackhole {
    fn drop_ports(label: &str, ports: &[u16]) -> Blackhole {
        let table = format!("sse_test_{}_{label}", std::process::id());
        let ports = ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        // Dropped on the way in, after the sender's stack has sent them: to the sender
        // they are lost on the network, and it retransmits as it would over the air.
        // Declaring the table empty first makes the delete valid even if a previous
        // run left one of the same name; the whole script is one transaction.
        let script = format!(
            "table inet {table} {{}}\n\
             delete table inet {table}\n\
             table inet {table} {{\n\
               chain input {{\n\
                 type filter hook input priority -150; policy accept;\n\
                 iifname \"lo\" tcp dport {{ {ports} }} drop\n\
                 iifname \"lo\" tcp sport {{ {ports} }} drop\n\
               }}\n\
             }}\n"
        );
        if let Err(error) = nft_script(&script) {
            panic!(
                "cannot install the packet filter this test needs ({error}). It needs root \
                 and nft (tests/install-system-packages.sh nft); SSE_SKIP_NFT_TESTS=1 skips it"
            );
        }
        Blackhole { table }
    }
}

impl Drop for Blackhole {
    fn drop(&mut self) {
        if let Err(error) = nft_script(&format!("delete table inet {}\n", self.table)) {
            eprintln!("could not delete nftables table {}: {error}", self.table);
        }
    }
}

/// Runs an nft script (`nft -f -`), or says why it failed.
fn nft_script(script: &str) -> Result<(), String> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot run nft: {error}"))?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(script.as_bytes())
        .map_err(|error| format!("cannot write to nft: {error}"))?;
    let output = child
        .wait_with_output()
        .map_err(|error| error.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "nft failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(())
}

fn skipped() -> bool {
    let skip = std::env::var_os("SSE_SKIP_NFT_TESTS").is_some_and(|value| value == "1");
    if skip {
        eprintln!("SSE_SKIP_NFT_TESTS=1: the vanished-client tests are skipped");
    }
    skip
}

fn server(vanish_timeout: Option<Duration>) -> TestServer {
    TestServer::start(sse_server::Config {
        // The clock's own pace, so that in the test with the timeout off its unacknowledged
        // events never fill the send buffer (a full buffer would trip the write timeout).
        interval: Duration::from_secs(1),
        heartbeat_interval: HEARTBEAT,
        write_timeout: Duration::from_secs(10),
        vanish_timeout,
        ..fast_config()
    })
}

/// Opens a stream and waits for its head.
fn open(server: &TestServer, path: &str) -> TcpStream {
    let mut socket = server.get(path, "");
    read_until(&mut socket, "retry:");
    socket
}

/// Publishes to `topic` every 200 ms until `stop`, and at most for a minute.
fn keep_publishing(server: &TestServer, topic: &str, stop: &AtomicBool) {
    let started = Instant::now();
    let mut number = 0;
    while !stop.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(60) {
        number += 1;
        let body = format!("message {number}");
        let mut socket = server.send(&format!(
            "POST /publish?topic={topic} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        ));
        assert_eq!(read_response(&mut socket).status, 202);
        thread::sleep(Duration::from_millis(200));
    }
}

/// Three clients vanish; returns how long until `/stats` counted no stream open, or
/// how many were still open after `FREED_WITHIN`.
fn vanish_three_clients(server: &TestServer, label: &str) -> Result<Duration, u64> {
    let idle = open(server, &format!("/subscribe?topic=quiet-{label}"));
    let busy = open(server, &format!("/subscribe?topic=busy-{label}"));
    let clock = open(server, "/events");
    assert_eq!(server.stat("streams_open"), 3);
    let ports = [&idle, &busy, &clock].map(|socket| socket.local_addr().unwrap().port());

    // Taken before the filter goes in: whatever the filter eats was sent after this
    // moment, so no stream may be freed sooner than the timeout after it.
    let vanished_at = Instant::now();
    let _blackhole = Blackhole::drop_ports(label, &ports);
    let stop = AtomicBool::new(false);
    // The clients' sockets stay open all along: they vanished, they did not close.
    let freed = thread::scope(|scope| {
        scope.spawn(|| keep_publishing(server, &format!("busy-{label}"), &stop));
        let freed = loop {
            let open = server.stat("streams_open");
            if open == 0 {
                break Ok(vanished_at.elapsed());
            }
            if vanished_at.elapsed() >= FREED_WITHIN {
                break Err(open);
            }
            thread::sleep(Duration::from_millis(100));
        };
        stop.store(true, Ordering::Relaxed);
        freed
    });
    drop((idle, busy, clock));
    freed
}

#[test]
fn vanished_clients_are_freed_idle_busy_and_clock_alike() {
    if skipped() {
        return;
    }
    let server = server(Some(VANISH_TIMEOUT));
    let freed = vanish_three_clients(&server, "on").unwrap_or_else(|open| {
        panic!("{open} of 3 vanished streams still open after {FREED_WITHIN:?}")
    });
    eprintln!(
        "3 vanished clients freed {:.1} s after their packets were dropped \
         (heartbeat {HEARTBEAT:?} + vanish timeout {VANISH_TIMEOUT:?})",
        freed.as_secs_f64()
    );
    assert!(
        freed >= VANISH_TIMEOUT,
        "freed before the timeout: {freed:?}"
    );
    assert_eq!(server.stat("subscribers"), 0);
    // Counted as what they were, not as clients that said goodbye.
    let metrics =
        server.exchange("GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    assert!(
        metrics
            .body_text()
            .contains("sse_streams_ended_total{reason=\"vanished\"} 3\n"),
        "{}",
        metrics.body_text()
    );
}

#[test]
fn without_the_timeout_vanished_clients_are_still_held() {
    if skipped() {
        return;
    }
    let server = server(None);
    let freed = vanish_three_clients(&server, "off");
    assert_eq!(
        freed,
        Err(3),
        "freed with the timeout off: what else freed them?"
    );
}
