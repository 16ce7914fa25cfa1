//! A real `redis-server` for one test: on a free loopback port, in a folder of its own,
//! stopped (and the folder removed) when dropped. Debian's `redis-server` package is
//! installed by `tests/install-system-packages.sh`, which `make test` runs.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::wait_for;

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
