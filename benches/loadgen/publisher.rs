//! The publisher: one keep-alive connection doing `POST /publish`, on its own thread
//! so that a publish never waits for the subscriber loop (or the reverse).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

pub struct Publisher {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    epoch: Instant,
}

impl Publisher {
    pub fn connect(address: SocketAddr, epoch: Instant) -> Publisher {
        let socket = TcpStream::connect(address).expect("publisher connects");
        socket.set_nodelay(true).expect("nodelay");
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        Publisher {
            reader: BufReader::new(socket.try_clone().expect("clone socket")),
            writer: socket,
            epoch,
        }
    }

    /// Publishes message `seq` stamped with the current time, and waits for the 202.
    pub fn publish(&mut self, seq: u64) {
        self.send(seq);
        self.receive();
    }

    /// Publishes message `seq` padded with `x` to `bytes` bytes, and waits for the 202.
    pub fn publish_padded(&mut self, seq: u64, bytes: usize) {
        let sent_ns = self.epoch.elapsed().as_nanos() as u64;
        let mut body = format!("{seq} {sent_ns} ");
        let padding = bytes.saturating_sub(body.len());
        body.extend(std::iter::repeat_n('x', padding));
        let request = format!(
            "POST /publish HTTP/1.1\r\nHost: bench\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.writer
            .write_all(request.as_bytes())
            .expect("send publish");
        self.receive();
    }

    /// Publishes message `seq` to `topic` and waits for the 202.
    pub fn publish_to(&mut self, seq: u64, topic: &str) {
        self.send_to(seq, &format!("/publish?topic={topic}"));
        self.receive();
    }

    /// Publishes Mercure update `seq` (its data `<seq> <sent_ns>`) to `topics`, already
    /// form-encoded, with `token`, and waits for the `200`.
    pub fn publish_mercure(&mut self, seq: u64, topics: &[String], token: &str) {
        let sent_ns = self.epoch.elapsed().as_nanos() as u64;
        let mut body: String = topics
            .iter()
            .map(|topic| format!("topic={topic}&"))
            .collect();
        body.push_str(&format!("data={seq}+{sent_ns}"));
        let request = format!(
            "POST /.well-known/mercure HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.writer
            .write_all(request.as_bytes())
            .expect("send Mercure publish");
        read_answer(&mut self.reader, "HTTP/1.1 200");
    }

    /// Sends the publish request for `seq` without waiting for the answer (HTTP/1.1
    /// pipelining: the server answers requests on a connection in order).
    pub fn send(&mut self, seq: u64) {
        self.send_to(seq, "/publish");
    }

    fn send_to(&mut self, seq: u64, target: &str) {
        let sent_ns = self.epoch.elapsed().as_nanos() as u64;
        let body = format!("{seq} {sent_ns}");
        let request = format!(
            "POST {target} HTTP/1.1\r\nHost: bench\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.writer
            .write_all(request.as_bytes())
            .expect("send publish");
    }

    /// Splits off the reading half, for a thread that collects the answers.
    pub fn answers(&self) -> Answers {
        Answers {
            reader: BufReader::new(self.writer.try_clone().expect("clone socket")),
        }
    }

    /// Reads one answer and checks it is `202 Accepted`.
    pub fn receive(&mut self) {
        read_accepted(&mut self.reader);
    }
}

/// The reading half of a pipelining publisher.
pub struct Answers {
    reader: BufReader<TcpStream>,
}

impl Answers {
    pub fn receive(&mut self) {
        read_accepted(&mut self.reader);
    }
}

fn read_accepted(reader: &mut BufReader<TcpStream>) {
    read_answer(reader, "HTTP/1.1 202");
}

/// Reads one answer and checks its status line starts with `expected`.
fn read_answer(reader: &mut BufReader<TcpStream>, expected: &str) {
    {
        let mut status = String::new();
        reader.read_line(&mut status).expect("read publish status");
        assert!(status.starts_with(expected), "publish answered {status:?}");
        let mut content_length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("read publish header");
            if line == "\r\n" {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                content_length = value.trim().parse().expect("numeric Content-Length");
            }
        }
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body).expect("read publish body");
    }
}
