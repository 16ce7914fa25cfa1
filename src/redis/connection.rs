//! One connection to Redis: connect, log in, send a command, read its reply.
//!
//! Like the HTTP side, it is plain blocking I/O on a `TcpStream`, with a timeout on
//! every step so that a Redis that stops answering costs a bounded wait, never a stuck
//! thread. A connection on which anything failed is dropped, not reused: after a
//! timeout, the reply we gave up on could still arrive and be taken for the next one.

use std::io::{self, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::redis::resp::{self, Value};
use crate::redis::url::RedisUrl;

/// An open, logged-in connection.
pub struct RedisConnection {
    reader: BufReader<TcpStream>,
    /// The largest bulk string a reply may hold.
    max_bulk_bytes: usize,
}

impl RedisConnection {
    /// Connects to `url` within `timeout`, sends `AUTH` when the URL has a password and
    /// `SELECT` when it names a database other than 0. Every later read and write waits
    /// at most `timeout` too (see [`RedisConnection::set_reply_timeout`]).
    pub fn open(
        url: &RedisUrl,
        timeout: Duration,
        max_bulk_bytes: usize,
    ) -> io::Result<RedisConnection> {
        let mut last_error = io::Error::new(io::ErrorKind::NotFound, "no address");
        for address in url.address().to_socket_addrs()? {
            match TcpStream::connect_timeout(&address, timeout) {
                Ok(socket) => {
                    socket.set_nodelay(true)?;
                    socket.set_read_timeout(Some(timeout))?;
                    socket.set_write_timeout(Some(timeout))?;
                    let mut connection = RedisConnection {
                        reader: BufReader::new(socket),
                        max_bulk_bytes,
                    };
                    connection.log_in(url)?;
                    return Ok(connection);
                }
                Err(error) => last_error = error,
            }
        }
        Err(last_error)
    }

    fn log_in(&mut self, url: &RedisUrl) -> io::Result<()> {
        if let Some(password) = &url.password {
            let password = password.expose().as_bytes();
            match &url.username {
                Some(user) => self.command(&[b"AUTH", user.as_bytes(), password])?,
                None => self.command(&[b"AUTH", password])?,
            };
        }
        if url.db != 0 {
            self.command(&[b"SELECT", url.db.to_string().as_bytes()])?;
        }
        Ok(())
    }

    /// How long a reply may take from now on (a blocking `XREAD` needs longer than its
    /// `BLOCK` time).
    pub fn set_reply_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        self.reader.get_ref().set_read_timeout(Some(timeout))
    }

    /// Sends one command and reads its reply. An error reply (`-ERR ...`) becomes an
    /// `io::Error` of kind `Other` carrying Redis's message.
    pub fn command(&mut self, args: &[&[u8]]) -> io::Result<Value> {
        self.reader
            .get_mut()
            .write_all(&resp::encode_command(args))?;
        match resp::read_value(&mut self.reader, self.max_bulk_bytes)? {
            Value::Error(message) => Err(io::Error::other(format!("Redis said: {message}"))),
            value => Ok(value),
        }
    }
}
