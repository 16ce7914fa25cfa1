//! N subscribers on one thread, driven by `mio` (epoll): the load generator must
//! not need a thread per client, or it would cost as much as the server it measures.
//!
//! Each message the publisher sends carries its sequence number and the time it was
//! sent, `data: <seq> <nanoseconds since the bench started>`, so a subscriber that
//! receives it knows the delivery latency without any shared clock but this process's.

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

/// Connections started but not yet answered. The server's listen backlog is 128;
/// staying well under it keeps the measurement about the server, not SYN retries.
const CONNECT_WINDOW: usize = 64;

/// One subscriber.
struct Subscriber {
    socket: TcpStream,
    connect_started: Instant,
    first_byte: Option<Duration>,
    /// Bytes of a line that has not ended yet.
    partial_line: Vec<u8>,
    failed: bool,
    /// The highest sequence number received, to spot duplicates and reordering.
    last_seq: u64,
    received: u64,
    duplicates: u64,
}

/// What the subscribers observed while a scenario ran.
#[derive(Default)]
pub struct Observed {
    /// Delivery latencies in microseconds, when recording.
    pub latencies_us: Vec<u32>,
    pub deliveries: u64,
}

/// All subscribers and the poller that drives them.
pub struct Fleet {
    poll: Poll,
    events: Events,
    subscribers: Vec<Subscriber>,
    /// The bench's time origin, shared with the publisher.
    pub epoch: Instant,
    /// Deliveries per sequence number, to find the fully delivered watermark.
    delivered_per_seq: Vec<u32>,
    /// Every message up to this sequence number has reached every live subscriber.
    pub watermark: Arc<AtomicU64>,
    read_buffer: Vec<u8>,
    /// `live()` as of the start of the current scenario: counting it on every read
    /// would cost O(N) per read.
    live_at_start: u32,
    /// The request each stream sends, by index.
    requests: Vec<Vec<u8>>,
}

impl Fleet {
    pub fn new(epoch: Instant) -> Fleet {
        Fleet {
            poll: Poll::new().expect("create epoll"),
            events: Events::with_capacity(4096),
            subscribers: Vec::new(),
            epoch,
            delivered_per_seq: vec![0],
            watermark: Arc::new(AtomicU64::new(0)),
            read_buffer: vec![0; 256 * 1024],
            live_at_start: 0,
            requests: Vec::new(),
        }
    }

    /// Opens `count` streams to `path`, at most [`CONNECT_WINDOW`] pending at a time.
    /// Returns the connect-to-first-byte latencies and the number of failures.
    pub fn connect(
        &mut self,
        address: SocketAddr,
        path: &str,
        count: usize,
        limit: Duration,
    ) -> (Vec<Duration>, usize) {
        self.connect_each(address, |_| path.to_string(), count, limit)
    }

    /// Drops every stream at once (the clients leave), keeping nothing of them.
    pub fn drop_all(&mut self) {
        for mut subscriber in self.subscribers.drain(..) {
            let _ = self.poll.registry().deregister(&mut subscriber.socket);
        }
        self.delivered_per_seq = vec![0];
        self.watermark.store(0, Ordering::Release);
    }

    /// Like [`connect`](Self::connect), with `path(i)` for the i-th stream.
    pub fn connect_each(
        &mut self,
        address: SocketAddr,
        path: impl Fn(usize) -> String,
        count: usize,
        limit: Duration,
    ) -> (Vec<Duration>, usize) {
        self.connect_spread(&[address], path, count, limit)
    }

    /// Like [`connect`](Self::connect), the i-th stream to `addresses[i % len]`: one
    /// fleet over several instances.
    pub fn connect_each_of(
        &mut self,
        addresses: &[SocketAddr],
        path: &str,
        count: usize,
        limit: Duration,
    ) -> (Vec<Duration>, usize) {
        self.connect_spread(addresses, |_| path.to_string(), count, limit)
    }

    fn connect_spread(
        &mut self,
        addresses: &[SocketAddr],
        path: impl Fn(usize) -> String,
        count: usize,
        limit: Duration,
    ) -> (Vec<Duration>, usize) {
        let requests: Vec<Vec<u8>> = (0..count)
            .map(|index| {
                format!(
                    "GET {} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n",
                    path(index)
                )
                .into_bytes()
            })
            .collect();
        self.requests = requests;
        let deadline = Instant::now() + limit;
        let mut started = 0;
        while Instant::now() < deadline {
            let pending = self
                .subscribers
                .iter()
                .filter(|s| s.first_byte.is_none() && !s.failed)
                .count();
            if started == count && pending == 0 {
                break;
            }
            for _ in pending..CONNECT_WINDOW {
                if started == count {
                    break;
                }
                self.start_connection(addresses[started % addresses.len()]);
                started += 1;
            }
            self.poll_once(Duration::from_millis(5), true, None);
        }
        let latencies = self
            .subscribers
            .iter()
            .filter_map(|s| s.first_byte)
            .collect();
        let failures = self
            .subscribers
            .iter()
            .filter(|s| s.failed || s.first_byte.is_none())
            .count();
        (latencies, failures)
    }

    /// Reads from every subscriber until `done` says stop or `limit` passes.
    pub fn run_until(
        &mut self,
        limit: Duration,
        observed: &mut Observed,
        record_latency: bool,
        mut done: impl FnMut(&Fleet) -> bool,
    ) {
        let deadline = Instant::now() + limit;
        self.live_at_start = self.live() as u32;
        while Instant::now() < deadline && !done(self) {
            self.poll_once(
                Duration::from_millis(5),
                false,
                Some((observed, record_latency)),
            );
        }
    }

    /// Live subscribers (connected, answered, not failed).
    pub fn live(&self) -> usize {
        self.subscribers
            .iter()
            .filter(|s| s.first_byte.is_some() && !s.failed)
            .count()
    }

    /// Messages with sequence numbers in `range` that did not reach a live subscriber,
    /// and duplicates seen.
    pub fn lost_and_duplicated(&self, first_seq: u64, last_seq: u64) -> (u64, u64) {
        let expected_each = last_seq + 1 - first_seq;
        let live = self.live() as u64;
        let delivered: u64 = (first_seq..=last_seq)
            .map(|seq| {
                self.delivered_per_seq
                    .get(seq as usize)
                    .copied()
                    .unwrap_or(0) as u64
            })
            .sum();
        let duplicates: u64 = self.subscribers.iter().map(|s| s.duplicates).sum();
        (
            (expected_each * live).saturating_sub(delivered - duplicates.min(delivered)),
            duplicates,
        )
    }

    /// Whether every live subscriber has every message up to `seq`.
    pub fn all_delivered(&self, seq: u64) -> bool {
        self.watermark.load(Ordering::Acquire) >= seq
    }

    fn start_connection(&mut self, address: SocketAddr) {
        let token = Token(self.subscribers.len());
        let mut subscriber = Subscriber {
            socket: TcpStream::connect(address).expect("start a connection"),
            connect_started: Instant::now(),
            first_byte: None,
            partial_line: Vec::new(),
            failed: false,
            last_seq: 0,
            received: 0,
            duplicates: 0,
        };
        self.poll
            .registry()
            .register(
                &mut subscriber.socket,
                token,
                Interest::READABLE | Interest::WRITABLE,
            )
            .expect("register a socket");
        self.subscribers.push(subscriber);
    }

    fn poll_once(
        &mut self,
        timeout: Duration,
        send_requests: bool,
        mut observed: Option<(&mut Observed, bool)>,
    ) {
        if let Err(error) = self.poll.poll(&mut self.events, Some(timeout)) {
            assert_eq!(error.kind(), ErrorKind::Interrupted, "poll failed: {error}");
            return;
        }
        let ready: Vec<(usize, bool, bool)> = self
            .events
            .iter()
            .map(|event| {
                (
                    event.token().0,
                    event.is_writable(),
                    event.is_readable() || event.is_read_closed(),
                )
            })
            .collect();
        for (index, writable, readable) in ready {
            let waiting_to_send =
                self.subscribers[index].first_byte.is_none() && !self.subscribers[index].failed;
            if writable && waiting_to_send && send_requests {
                self.send_request(index);
            }
            if readable {
                self.read(
                    index,
                    observed
                        .as_mut()
                        .map(|(observed, record)| (&mut **observed, *record)),
                );
            }
        }
    }

    fn send_request(&mut self, index: usize) {
        let request = &self.requests[index % self.requests.len()];
        let subscriber = &mut self.subscribers[index];
        // A mio socket is writable once connected; the request fits in one write.
        match subscriber.socket.peer_addr() {
            Ok(_) => {
                if subscriber.socket.write_all(request).is_err() {
                    subscriber.failed = true;
                }
                let _ = self.poll.registry().reregister(
                    &mut subscriber.socket,
                    Token(index),
                    Interest::READABLE,
                );
            }
            Err(error) if error.kind() == ErrorKind::NotConnected => {}
            Err(_) => subscriber.failed = true,
        }
    }

    fn read(&mut self, index: usize, mut observed: Option<(&mut Observed, bool)>) {
        loop {
            let subscriber = &mut self.subscribers[index];
            let n = match subscriber.socket.read(&mut self.read_buffer) {
                Ok(0) => {
                    subscriber.failed = true;
                    break;
                }
                Ok(n) => n,
                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    subscriber.failed = true;
                    break;
                }
            };
            let now = Instant::now();
            if subscriber.first_byte.is_none() {
                subscriber.first_byte = Some(now - subscriber.connect_started);
                if !self.read_buffer.starts_with(b"HTTP/1.1 200") {
                    subscriber.failed = true;
                    break;
                }
            }
            let now_ns = (now - self.epoch).as_nanos() as u64;
            // Lines end in LF; `data: <seq> <sent_ns>` lines are the only ones we need
            // (chunk-size lines and the blank lines around events are skipped).
            let mut start = 0;
            let bytes = &self.read_buffer[..n];
            while let Some(offset) = bytes[start..].iter().position(|&b| b == b'\n') {
                let end = start + offset;
                let line: &[u8] = if subscriber.partial_line.is_empty() {
                    &bytes[start..end]
                } else {
                    subscriber
                        .partial_line
                        .extend_from_slice(&bytes[start..end]);
                    &subscriber.partial_line
                };
                if let Some((seq, sent_ns)) = parse_data_line(line) {
                    if seq <= subscriber.last_seq {
                        subscriber.duplicates += 1;
                    }
                    subscriber.last_seq = subscriber.last_seq.max(seq);
                    subscriber.received += 1;
                    let seq = seq as usize;
                    if self.delivered_per_seq.len() <= seq {
                        self.delivered_per_seq.resize(seq + 1, 0);
                    }
                    self.delivered_per_seq[seq] += 1;
                    if let Some((observed, record)) = observed.as_mut() {
                        observed.deliveries += 1;
                        if *record {
                            observed
                                .latencies_us
                                .push((now_ns.saturating_sub(sent_ns) / 1000) as u32);
                        }
                    }
                }
                subscriber.partial_line.clear();
                start = end + 1;
            }
            subscriber.partial_line.extend_from_slice(&bytes[start..]);
        }
        self.advance_watermark();
    }

    fn advance_watermark(&mut self) {
        let live = self.live_at_start;
        let mut watermark = self.watermark.load(Ordering::Relaxed) as usize;
        while watermark + 1 < self.delivered_per_seq.len()
            && self.delivered_per_seq[watermark + 1] >= live
        {
            watermark += 1;
        }
        self.watermark.store(watermark as u64, Ordering::Release);
    }
}

fn parse_data_line(line: &[u8]) -> Option<(u64, u64)> {
    let text = std::str::from_utf8(line.strip_prefix(b"data: ")?).ok()?;
    let (seq, sent) = text.split_once(' ')?;
    Some((seq.parse().ok()?, sent.parse().ok()?))
}
