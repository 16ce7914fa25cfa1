//! A real `redis-server` for one test: on a free loopback port, in a folder of its own,
//! stopped (and the folder removed) when dropped. Debian's `redis-server` package is
//! installed by `tests/install-system-packages.sh`, which `make test` runs.

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sse_server::redis::resp::{Value, read_value};

use super::{TestServer, fast_config, wait_for};
use sse_server::Config;
use sse_server::redis::url::RedisUrl;

pub struct RedisServer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
    /// Extra arguments it was started with, to start it again the same way.
    args: Vec<String>,
}

impl RedisServer {
    /// Starts Redis with the append-only file on (so a restart keeps the log), plus
    /// `args` (for example `["--requirepass", "pw"]`).
    pub fn start(args: &[&str]) -> RedisServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir =
            std::env::temp_dir().join(format!("sse-test-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis = RedisServer {
            port,
            dir,
            child: None,
            args: args.iter().map(|arg| arg.to_string()).collect(),
        };
        redis.start_again();
        redis
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops Redis as an operator would (SIGTERM: it saves its append-only file).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // By the PID we started; SIGTERM, not `Child::kill`'s SIGKILL.
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, from the same folder (and so the same data).
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "Redis is already running");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "yes", "--dir"])
            .arg(&self.dir)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is missing: run tests/install-system-packages.sh");
        self.child = Some(child);
        let up = wait_for(Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", self.port)).is_ok()
        });
        assert!(up.is_some(), "redis-server did not start on {}", self.port);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl RedisServer {
    /// A number from Redis's `INFO`, e.g. `("commandstats", "cmdstat_xrevrange",
    /// "calls")` or `("stats", "total_net_output_bytes", "")`; 0 for a line that is not
    /// there (a command never called has none).
    pub fn info(&self, section: &str, name: &str, field: &str) -> u64 {
        let mut socket = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let command = format!("*2\r\n$4\r\nINFO\r\n${}\r\n{section}\r\n", section.len());
        socket.write_all(command.as_bytes()).unwrap();
        let mut reader = BufReader::new(socket);
        let Value::Bulk(Some(text)) = read_value(&mut reader, 1 << 24).unwrap() else {
            panic!("INFO answers a bulk string");
        };
        let text = String::from_utf8(text).unwrap();
        let Some(line) = text
            .lines()
            .find(|line| line.starts_with(&format!("{name}:")))
        else {
            return 0;
        };
        let value = line.split_once(':').unwrap().1;
        let value = match field {
            "" => value,
            _ => value
                .split(',')
                .find_map(|pair| pair.strip_prefix(&format!("{field}=")))
                .unwrap(),
        };
        value.parse().unwrap()
    }

    /// The length of the stream at `key` (`XLEN`).
    pub fn xlen(&self, key: &str) -> u64 {
        let mut socket = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let command = format!("*2\r\n$4\r\nXLEN\r\n${}\r\n{key}\r\n", key.len());
        socket.write_all(command.as_bytes()).unwrap();
        match read_value(&mut BufReader::new(socket), 1024).unwrap() {
            Value::Integer(length) => length as u64,
            other => panic!("XLEN answered {other:?}"),
        }
    }

    /// How many `XREVRANGE` commands Redis has answered.
    pub fn xrevrange_calls(&self) -> u64 {
        self.info("commandstats", "cmdstat_xrevrange", "calls")
    }

    /// The bytes Redis has sent to all its clients.
    pub fn bytes_sent(&self) -> u64 {
        self.info("stats", "total_net_output_bytes", "")
    }
}

/// An instance on `key` that holds only the 3 newest messages per topic in memory:
/// anything older is replayed from the log.
pub fn instance(redis: &RedisServer, key: &str, tune: impl FnOnce(&mut Config)) -> TestServer {
    let mut config = Config {
        redis: Some(RedisUrl::parse(&redis.url()).unwrap()),
        redis_key: key.into(),
        history: 3,
        ..fast_config()
    };
    tune(&mut config);
    let server = TestServer::start(config);
    let connected = wait_for(Duration::from_secs(10), || {
        server.stats().contains("\"connected\": true")
    });
    assert!(connected.is_some(), "{}", server.stats());
    server
}
