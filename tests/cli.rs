//! The real binary: flags, start-up errors, the start-up log line and Ctrl-C.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_sse-server");

fn run(args: &[&str]) -> std::process::Output {
    Command::new(BINARY)
        .args(args)
        .env_remove("PORT")
        .output()
        .expect("run sse-server")
}

/// Starts the server on a free port and returns it with the address it logged.
fn start(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(BINARY)
        .args(["--port", "0"])
        .args(args)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sse-server");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let address = line
        .split("Server running at http://")
        .nth(1)
        .unwrap_or_else(|| panic!("first log line should announce the address: {line:?}"))
        .trim()
        .trim_end_matches('/')
        .to_string();
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    (child, address)
}

fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_with_limit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("server did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn help_lists_every_flag_with_its_default() {
    let output = run(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    let flags = sse_server::flags::all().map(|flag| flag.name);
    for flag in flags.chain(["--help", "--version"]) {
        assert!(help.contains(flag), "--help does not mention {flag}");
    }
    assert!(help.contains("[default: 127.0.0.1]"), "{help}");
}

#[test]
fn version_prints_the_crate_version() {
    let output = run(&["--version"]);
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!("sse-server {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_bad_flag_is_named_on_one_line_and_exits_2() {
    for args in [&["--frobnicate"][..], &["--port", "http"], &["--count"]] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(args[0]), "{stderr}");
    }
}

#[test]
fn a_port_in_use_is_one_clear_line_and_a_failure_exit() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = run(&["--port", &port]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("cannot listen on 127.0.0.1:") && stderr.contains("in use"),
        "{stderr}"
    );
}

#[test]
fn port_zero_logs_the_real_port_and_ctrl_c_exits_cleanly() {
    // No drain window: this test is about the end itself (tests/startup.rs has the window).
    let (mut child, address) = start(&["--interval-ms", "60000", "--drain-window-s", "0"]);
    assert!(!address.ends_with(":0"), "{address}");
    let mut stream = TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .write_all(b"GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");

    let interrupted_at = Instant::now();
    interrupt(&child);
    let status = wait_with_limit(&mut child, Duration::from_secs(5));
    assert!(status.success(), "{status:?}");
    assert!(
        interrupted_at.elapsed() < Duration::from_secs(1),
        "exit took {:?}",
        interrupted_at.elapsed()
    );
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    assert!(
        rest.ends_with(b"0\r\n\r\n"),
        "{:?}",
        String::from_utf8_lossy(&rest)
    );
}

/// A page of the documentation, read whole.
fn doc(path: &str) -> String {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|error| panic!("read {full}: {error}"))
}

#[test]
fn the_flags_page_lists_every_flag_of_the_flag_tables_and_the_readme_states_the_rule() {
    let flags = doc("docs/flags.md");
    for flag in sse_server::flags::all() {
        let row = format!("| `{} {}`", flag.name, flag.value);
        assert!(
            flags.contains(&row),
            "docs/flags.md has no row starting {row:?}"
        );
    }
    for switch in sse_server::switches::SWITCHES {
        let row = format!("| `{}`", switch.name);
        assert!(
            flags.contains(&row),
            "docs/flags.md has no row starting {row:?}"
        );
    }
    // The one rule, stated once on the front page, with the example the help gives.
    assert!(
        doc("README.md").contains("SSE_ALLOWED_HOST"),
        "README does not state the variable rule"
    );
}

#[test]
fn the_readme_lists_every_route_of_the_route_table() {
    let readme = doc("README.md");
    for route in sse_server::routes::ROUTES {
        for method in route.methods.iter().filter(|method| **method != "HEAD") {
            let row = format!("| `{method} {}", route.path);
            assert!(readme.contains(&row), "README has no row starting {row:?}");
        }
    }
}

/// Every relative link of the README and of `docs/` leads to a file that exists: a
/// page that moved, or a file renamed, breaks this rather than a reader's click.
#[test]
fn the_documentation_links_lead_somewhere() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).expect("read docs/") {
        pages.push(entry.expect("read docs/").path());
    }
    for page in pages {
        let text = std::fs::read_to_string(&page).unwrap();
        for target in text
            .split("](")
            .skip(1)
            .filter_map(|rest| rest.split(')').next())
        {
            let path = target.split('#').next().unwrap_or_default();
            if path.is_empty() || path.contains("://") || path.contains(' ') {
                continue;
            }
            let file = page.parent().unwrap().join(path);
            assert!(
                file.exists(),
                "{}: the link {target} leads nowhere",
                page.display()
            );
        }
    }
}

const SECRET: &str = "cli-test-secret-cli-test-secret-cli";

/// `sse-server token ...` with the secret in the environment.
fn mint(args: &[&str]) -> String {
    let output = Command::new(BINARY)
        .arg("token")
        .args(args)
        .env("SSE_AUTH_SECRET", SECRET)
        .output()
        .expect("run sse-server token");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

fn exchange(address: &str, request: &str) -> String {
    let mut socket = TcpStream::connect(address).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    socket.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let mut buffer = [0u8; 4096];
    // Enough for a status line and headers; streams are closed by dropping the socket.
    while !answer.contains("\r\n\r\n") {
        match socket.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.push_str(&String::from_utf8_lossy(&buffer[..n])),
        }
    }
    answer
}

#[test]
fn the_token_command_mints_what_the_server_accepts_and_no_token_reaches_the_log() {
    let good = mint(&[
        "--sub",
        "alice",
        "--subscribe",
        "users/{sub}/*",
        "--publish",
        "users/*",
        "--ttl",
        "1h",
    ]);
    let expired_claims = format!(r#"{{"exp":{},"subscribe":["*"]}}"#, 1_000_000_000);
    let expired = sse_server::auth::jwt::sign(&expired_claims, SECRET.as_bytes());
    assert_eq!(good.split('.').count(), 3, "{good}");

    let mut server = KillOnDrop(
        Command::new(BINARY)
            .args([
                "--port",
                "0",
                "--auth-secret",
                SECRET,
                "--drain-window-s",
                "0",
            ])
            .env("RUST_LOG", "debug")
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sse-server"),
    );
    let mut stderr = BufReader::new(server.0.stderr.take().unwrap());
    let mut address = None;
    let mut line = String::new();
    while address.is_none() && stderr.read_line(&mut line).unwrap() > 0 {
        address = line
            .split("Server running at http://")
            .nth(1)
            .map(|rest| rest.trim().trim_end_matches('/').to_string());
        line.clear();
    }
    let address = address.expect("the address line");
    let log = std::thread::spawn(move || {
        let mut rest = String::new();
        stderr.read_to_string(&mut rest).unwrap();
        rest
    });
    let inbox = "/subscribe?topic=users/alice/inbox";
    let get = |target: &str, headers: &str| {
        exchange(
            &address,
            &format!("GET {target} HTTP/1.1\r\nHost: t\r\n{headers}Connection: close\r\n\r\n"),
        )
    };
    // Accepted, from each place a token can be.
    assert!(get(inbox, &format!("Authorization: Bearer {good}\r\n")).starts_with("HTTP/1.1 200"));
    assert!(get(inbox, &format!("Cookie: sse_token={good}\r\n")).starts_with("HTTP/1.1 200"));
    assert!(get(&format!("{inbox}&token={good}"), "").starts_with("HTTP/1.1 200"));
    let body = "hi";
    let published = exchange(
        &address,
        &format!(
            "POST /publish?topic=users/bob HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {good}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{body}"
        ),
    );
    assert!(published.starts_with("HTTP/1.1 202"), "{published}");
    // Refused, four ways: each must be one warn line without the token.
    assert!(
        get(inbox, &format!("Authorization: Bearer {expired}\r\n")).starts_with("HTTP/1.1 401")
    );
    assert!(get(inbox, &format!("Cookie: sse_token={expired}x\r\n")).starts_with("HTTP/1.1 401"));
    assert!(get(&format!("{inbox}&token={expired}"), "").starts_with("HTTP/1.1 401"));
    assert!(
        get(
            "/subscribe?topic=users/bob/inbox",
            &format!("Authorization: Bearer {good}\r\n")
        )
        .starts_with("HTTP/1.1 403")
    );

    interrupt(&server.0);
    assert!(wait_with_limit(&mut server.0, Duration::from_secs(5)).success());
    let log = log.join().unwrap();
    for secret in [SECRET, good.as_str(), expired.as_str()] {
        for part in secret.split('.') {
            assert!(
                !log.contains(part),
                "the log contains a secret part {part:?}:\n{log}"
            );
        }
    }
    let warnings = log.lines().filter(|line| line.contains(" WARN ")).count();
    assert_eq!(warnings, 4, "one warning per refusal:\n{log}");
    assert!(log.contains("token=REDACTED"), "{log}");
}

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
