//! Log lines a client cannot forge (issue 24, item 4): request text that reaches the
//! log, in `Origin`, the path, `Host`, `User-Agent`, a topic and the version, goes
//! through one escaping helper (`src/http/log_text.rs`), so the characters that log
//! readers and terminals take for line ends or escape sequences never reach the log.

mod support;

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_sse-server");
/// NEL, LINE SEPARATOR, and the one-character CSI that starts a terminal escape.
const FORGERS: [char; 3] = ['\u{85}', '\u{2028}', '\u{9b}'];

/// A server process that a failing assertion cannot leave running.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Sends `request` and returns the status line.
fn status_of(address: &str, request: &[u8]) -> String {
    let mut socket = TcpStream::connect(address).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    socket.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    answer.lines().next().unwrap_or_default().to_string()
}

#[test]
fn request_text_reaches_the_log_escaped_so_no_line_can_be_forged() {
    let mut server = KillOnDrop(
        Command::new(BINARY)
            .args(["--port", "0", "--allowed-host", "t"])
            // No drain window: the test reads the log to its end after Ctrl-C.
            .args(["--drain-window-s", "0"])
            .env("RUST_LOG", "debug")
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sse-server"),
    );
    let mut stderr = BufReader::new(server.0.stderr.take().unwrap());
    let address = support::binary::announced_address(&mut stderr);
    let log = std::thread::spawn(move || {
        let mut rest = String::new();
        stderr.read_to_string(&mut rest).unwrap();
        rest
    });
    // The forged line, split into three by a log reader.
    let forged = "\u{85}127.0.0.1 POST /publish 202 Accepted\u{2028}\u{9b}31m";
    let requests: [(String, &str); 6] = [
        (
            format!(
                "POST /publish HTTP/1.1\r\nHost: t\r\nOrigin: http://evil.test{forged}\r\n\
                 Content-Length: 2\r\nConnection: close\r\n\r\nhi"
            ),
            "403",
        ),
        (
            format!("GET /healthz HTTP/1.1\r\nHost: evil{forged}\r\nConnection: close\r\n\r\n"),
            "421",
        ),
        (
            format!(
                "GET /healthz HTTP/1.1\r\nHost: t\r\nUser-Agent: curl{forged}\r\n\
                 Connection: close\r\n\r\n"
            ),
            "200",
        ),
        (
            "GET /subscribe?topic=news%C2%85%E2%80%A8%C2%9Bforged HTTP/1.1\r\nHost: t\r\n\
             Connection: close\r\n\r\n"
                .to_string(),
            "400",
        ),
        (
            format!("GET /{forged} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
            "400",
        ),
        (
            format!("GET / HTTP/1.1{forged}\r\nHost: t\r\nConnection: close\r\n\r\n"),
            "400",
        ),
    ];
    for (request, status) in &requests {
        let answered = status_of(&address, request.as_bytes());
        assert!(
            answered.starts_with(&format!("HTTP/1.1 {status}")),
            "{request:?} answered {answered:?}"
        );
    }
    let started = Instant::now();
    Command::new("kill")
        .args(["-INT", &server.0.id().to_string()])
        .status()
        .unwrap();
    while server.0.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no exit after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let log = log.join().unwrap();
    for forger in FORGERS {
        assert!(
            !log.contains(forger),
            "U+{:04X} reached the log:\n{}",
            u32::from(forger),
            log.escape_debug()
        );
    }
    // What was refused is still told, escaped: the Origin, the Host, the topic.
    for escaped in [
        "http://evil.test\\u{85}127.0.0.1 POST /publish 202 Accepted\\u{2028}\\u{9b}31m",
        "evil\\u{85}127.0.0.1",
        "news\\u{85}\\u{2028}\\u{9b}forged",
    ] {
        assert!(log.contains(escaped), "no {escaped} in:\n{log}");
    }
    // One warning per refusal, and every line is a line the server began.
    let warnings = log.lines().filter(|line| line.contains(" WARN ")).count();
    assert_eq!(warnings, 5, "one warning per refusal:\n{log}");
    assert!(
        log.lines().all(|line| line.starts_with('[')),
        "a line the server did not begin:\n{log}"
    );
}
