//! Helpers shared by the integration tests: a server per test on a free loopback
//! port, a raw socket client with timeouts, and a spec-faithful event-stream parser.
//!
//! Each test file uses a different subset of these helpers.
#![allow(dead_code)]

pub mod auth_check;
pub mod binary;
pub mod event_stream;
pub mod head_check;
pub mod mercure;
pub mod redis;
pub mod resp_check;
pub mod small_buffer;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sse_server::server::ShutdownSummary;
use sse_server::{Config, Server, ServerHandle};

/// No test waits longer than this for bytes that should arrive: a bug fails the test
/// instead of hanging it.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A configuration with millisecond intervals, so tests run fast.
pub fn fast_config() -> Config {
    Config {
        bind: "127.0.0.1".parse().unwrap(),
        port: 0,
        interval: Duration::from_millis(10),
        heartbeat_interval: Duration::from_secs(30),
        head_timeout: Duration::from_secs(5),
        write_timeout: Duration::from_secs(5),
        max_clients: 500,
        // The tests' requests say `Host: t` or `Host: test`, names a deployment would
        // give with --allowed-host (an open server answers no other, http/host.rs).
        allowed_hosts: vec!["t".into(), "test".into()],
        // Every test client connects from 127.0.0.1, so most tests are one client
        // address: its shares are tested by tests/shares.rs, and off elsewhere.
        max_requests_per_client: Some(1_000_000),
        max_streams_per_client: Some(1_000_000),
        ..Config::default()
    }
}

/// A server running in this process on its own port; dropping it shuts it down.
pub struct TestServer {
    pub addr: SocketAddr,
    handle: ServerHandle,
    thread: Option<JoinHandle<ShutdownSummary>>,
}

impl TestServer {
    pub fn start(config: Config) -> TestServer {
        let server = Server::bind(config).expect("bind a test server on 127.0.0.1:0");
        let addr = server.local_addr();
        let handle = server.handle();
        let thread = Some(std::thread::spawn(move || server.run()));
        TestServer {
            addr,
            handle,
            thread,
        }
    }

    /// A new connection with read and write timeouts.
    pub fn connect(&self) -> TcpStream {
        let socket = TcpStream::connect(self.addr).expect("connect to the test server");
        socket.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        socket.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
        socket
    }

    /// A new connection from `source`, another loopback address (`127.0.0.2`): to the
    /// server, another client (std cannot choose the source address, socket2 can).
    pub fn connect_from(&self, source: std::net::IpAddr) -> TcpStream {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::for_address(self.addr), Type::STREAM, None).unwrap();
        socket
            .bind(&SocketAddr::new(source, 0).into())
            .expect("bind a second loopback address");
        socket
            .connect_timeout(&self.addr.into(), READ_TIMEOUT)
            .expect("connect to the test server");
        let socket: TcpStream = socket.into();
        socket.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        socket.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
        socket
    }

    /// Sends `raw` on a new connection and returns the socket.
    pub fn send(&self, raw: &str) -> TcpStream {
        let mut socket = self.connect();
        socket.write_all(raw.as_bytes()).expect("send request");
        socket
    }

    /// `GET path` on a new HTTP/1.1 connection with extra header lines.
    pub fn get(&self, path: &str, headers: &str) -> TcpStream {
        self.send(&format!(
            "GET {path} HTTP/1.1\r\nHost: test\r\n{headers}\r\n"
        ))
    }

    /// One complete ordinary request and its response.
    pub fn exchange(&self, raw: &str) -> HttpResponse {
        read_response(&mut self.send(raw))
    }

    /// The `/stats` JSON, read through HTTP like any client.
    pub fn stats(&self) -> String {
        let response =
            self.exchange("GET /stats HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        String::from_utf8(response.body).unwrap()
    }

    /// One number from `/stats`.
    pub fn stat(&self, name: &str) -> u64 {
        json_number(&self.stats(), name)
    }

    /// Publishes `body` (with `?event=` when given) and returns the response.
    pub fn publish(&self, event_type: Option<&str>, body: &str) -> HttpResponse {
        let query = event_type
            .map(|t| format!("?event={t}"))
            .unwrap_or_default();
        self.exchange(&format!(
            "POST /publish{query} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ))
    }

    /// Shuts down and returns the server's summary.
    pub fn stop(mut self) -> ShutdownSummary {
        self.handle.shutdown();
        self.thread
            .take()
            .unwrap()
            .join()
            .expect("server thread panicked")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.handle.shutdown();
            let _ = thread.join();
        }
    }
}

/// A response as read off the socket.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// The whole head, status line included, for header assertions.
    pub head: String,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads one response with a `Content-Length` (or none, for 204) from `socket`.
pub fn read_response(socket: &mut TcpStream) -> HttpResponse {
    let head = read_until(socket, "\r\n\r\n");
    let (head, rest) = head.split_once("\r\n\r\n").unwrap();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let mut response = HttpResponse {
        status,
        head: head.to_string(),
        body: rest.as_bytes().to_vec(),
    };
    let length: usize = response
        .header("content-length")
        .map(|n| n.parse().unwrap())
        .unwrap_or(0);
    while response.body.len() < length {
        let mut chunk = [0u8; 4096];
        let n = socket.read(&mut chunk).expect("read body");
        assert!(n > 0, "connection closed inside the body of {response:?}");
        response.body.extend_from_slice(&chunk[..n]);
    }
    response
}

/// Reads until what arrived contains `needle`; panics with what did arrive otherwise.
/// Returns everything read (which may go past the needle).
pub fn read_until(socket: &mut TcpStream, needle: &str) -> String {
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = Instant::now() + READ_TIMEOUT;
    while !String::from_utf8_lossy(&received).contains(needle) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {needle:?}; got {:?}",
            String::from_utf8_lossy(&received)
        );
        match socket.read(&mut chunk) {
            Ok(0) => panic!(
                "closed before {needle:?}; got {:?}",
                String::from_utf8_lossy(&received)
            ),
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(error) => panic!(
                "read failed ({error}) before {needle:?}; got {:?}",
                String::from_utf8_lossy(&received)
            ),
        }
    }
    String::from_utf8_lossy(&received).into_owned()
}

/// Reads until the server closes the connection.
pub fn read_to_close(socket: &mut TcpStream) -> String {
    let mut received = Vec::new();
    socket.read_to_end(&mut received).unwrap_or_else(|error| {
        panic!(
            "read failed ({error}); got {:?}",
            String::from_utf8_lossy(&received)
        )
    });
    String::from_utf8_lossy(&received).into_owned()
}

/// Removes chunked framing (`size\r\nbytes\r\n ... 0\r\n\r\n`), checking it is exact.
/// Returns the body and whether the final zero-size chunk was present.
pub fn dechunk(mut body: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    while !body.is_empty() {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line ends in CRLF");
        let size = usize::from_str_radix(std::str::from_utf8(&body[..line_end]).unwrap(), 16)
            .expect("hex chunk size");
        body = &body[line_end + 2..];
        if size == 0 {
            assert_eq!(body, b"\r\n", "last chunk must be 0\\r\\n\\r\\n");
            return (out, true);
        }
        assert!(body.len() >= size + 2, "truncated chunk");
        out.extend_from_slice(&body[..size]);
        assert_eq!(&body[size..size + 2], b"\r\n", "chunk data ends in CRLF");
        body = &body[size + 2..];
    }
    (out, false)
}

/// Splits a whole response into head and body at the first empty line.
pub fn split_head(response: &str) -> (&str, &str) {
    response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of head in {response:?}"))
}

/// A number from a flat JSON object, e.g. `"streams_open": 3`, or a number in a
/// string, e.g. `"id": "42"`.
pub fn json_number(json: &str, name: &str) -> u64 {
    let key = format!("\"{name}\": ");
    let start = json
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {json}"))
        + key.len();
    json[start..]
        .trim_start_matches('"')
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .unwrap()
}

/// Polls `condition` every few milliseconds until it holds, for at most `limit`.
/// Returns how long that took, or `None` if it never held.
pub fn wait_for(limit: Duration, mut condition: impl FnMut() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if condition() {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    condition().then(|| started.elapsed())
}

/// Reads an event stream (head, then chunked body) incrementally and parses events.
pub struct StreamReader {
    pub socket: TcpStream,
    raw: Vec<u8>,
    head_done: bool,
    /// The body so far, chunk framing removed.
    pub body: Vec<u8>,
    pub finished: bool,
    /// Blank lines seen in event chunks: an upper bound on the events dispatched, cheap
    /// to keep, so waiting for N events does not re-parse a large body after every read.
    blank_lines: usize,
}

impl StreamReader {
    pub fn new(socket: TcpStream) -> StreamReader {
        StreamReader {
            socket,
            raw: Vec::new(),
            head_done: false,
            body: Vec::new(),
            finished: false,
            blank_lines: 0,
        }
    }

    /// Opens `GET path` with extra headers and waits for the stream's head.
    pub fn open(server: &TestServer, path: &str, headers: &str) -> StreamReader {
        let mut reader = StreamReader::new(server.get(path, headers));
        reader.read_until(|reader| reader.head_done && !reader.body.is_empty());
        reader
    }

    /// Everything parsed so far.
    pub fn parsed(&self) -> event_stream::ParsedStream {
        event_stream::parse(&String::from_utf8_lossy(&self.body))
    }

    /// Every event's id (`lastEventId`) and data, reading until at least `count` are here.
    pub fn ids_and_data(&mut self, count: usize) -> Vec<(String, String)> {
        self.events(count)
            .into_iter()
            .map(|event| (event.last_event_id, event.data))
            .collect()
    }

    /// Reads until at least `count` events have been dispatched, and returns them all.
    pub fn events(&mut self, count: usize) -> Vec<event_stream::ParsedEvent> {
        self.read_until(|reader| {
            reader.blank_lines >= count && reader.parsed().events.len() >= count
        });
        self.parsed().events
    }

    /// One read of at most `max_bytes`, without waiting: what a slow client takes
    /// now and then. Returns the bytes read (0 if none were there, or the stream had
    /// ended); the socket must be non-blocking.
    pub fn read_available(&mut self, max_bytes: usize) -> usize {
        let mut chunk = vec![0u8; max_bytes];
        match self.socket.read(&mut chunk) {
            Ok(n) => {
                self.raw.extend_from_slice(&chunk[..n]);
                self.take_complete_chunks();
                n
            }
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => 0,
            Err(error) => panic!(
                "read failed: {error}; body so far: {}",
                abbreviate(&self.body)
            ),
        }
    }

    /// Reads until `done` holds; panics with what arrived on timeout or close.
    pub fn read_until(&mut self, mut done: impl FnMut(&StreamReader) -> bool) {
        let deadline = Instant::now() + READ_TIMEOUT;
        let mut chunk = [0u8; 16 * 1024];
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "timed out; body so far: {}",
                abbreviate(&self.body)
            );
            match self.socket.read(&mut chunk) {
                Ok(0) => panic!("stream closed; body so far: {}", abbreviate(&self.body)),
                Ok(n) => {
                    self.raw.extend_from_slice(&chunk[..n]);
                    self.take_complete_chunks();
                }
                Err(error) => panic!(
                    "read failed: {error}; body so far: {}",
                    abbreviate(&self.body)
                ),
            }
        }
    }

    fn take_complete_chunks(&mut self) {
        if !self.head_done {
            let Some(end) = self.raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                return;
            };
            self.raw.drain(..end + 4);
            self.head_done = true;
        }
        loop {
            let Some(line_end) = self.raw.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let size_text = std::str::from_utf8(&self.raw[..line_end]).expect("ASCII chunk size");
            let size = usize::from_str_radix(size_text, 16).expect("hex chunk size");
            if self.raw.len() < line_end + 2 + size + 2 {
                return;
            }
            let data_start = line_end + 2;
            let data = &self.raw[data_start..data_start + size];
            // Our server sends whole events per chunk, so no blank line spans two chunks,
            // and the retry line and heartbeats come in chunks of their own.
            if !data.starts_with(b":") && !data.starts_with(b"retry:") {
                self.blank_lines += data.windows(2).filter(|w| w == b"\n\n").count();
            }
            self.body.extend_from_slice(data);
            assert_eq!(&self.raw[data_start + size..data_start + size + 2], b"\r\n");
            self.raw.drain(..data_start + size + 2);
            if size == 0 {
                self.finished = true;
                return;
            }
        }
    }
}

/// A failing assertion's view of a large body: its size and its last few hundred bytes.
pub fn abbreviate(bytes: &[u8]) -> String {
    let tail_start = bytes.len().saturating_sub(300);
    format!(
        "{} bytes, ending {:?}",
        bytes.len(),
        String::from_utf8_lossy(&bytes[tail_start..])
    )
}
