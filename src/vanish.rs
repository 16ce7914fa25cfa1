//! Clients that vanish: a bound on how long the kernel waits for a silent peer.
//!
//! # Why
//!
//! A phone that loses signal, a laptop that sleeps, a NAT box that forgets the flow:
//! the client is gone, but it sent no FIN and no reset, so nothing tells the server.
//! Its stream goes on writing heartbeats and messages, and every write *succeeds*: the
//! bytes land in the socket's send buffer, and the kernel retransmits them, waiting for
//! an acknowledgement that never comes. Linux gives up after `tcp_retries2` (15)
//! retransmissions, about 15 minutes; until then the client holds a thread and a slot
//! (`--max-clients`), and a server with many mobile clients accumulates them. The
//! client watch (`sse/watch.rs`) cannot help: the kernel has nothing to report yet.
//!
//! # How
//!
//! RFC 5482 (the TCP User Timeout Option) describes the per-connection "user timeout"
//! of RFC 793: how long transmitted data may stay unacknowledged before the connection
//! is aborted. Linux exposes it as the socket option `TCP_USER_TIMEOUT` (tcp(7)), in
//! milliseconds. Once the kernel gives up, it marks the socket with `ETIMEDOUT`: the
//! stream's next write (or read) fails with it, and epoll reports the socket as
//! `EPOLLERR | EPOLLHUP`, so the client watch wakes an idle subscriber at once.
//!
//! The option bounds only data *in flight*. An idle connection has none, which is why
//! it is usually paired with TCP keepalive probes. This server needs no keepalive: its
//! heartbeat (`--heartbeat-s`, 15 s by default) is a probe of its own, sent on every
//! silent stream. So a vanished client is freed at most `--heartbeat-s` (the wait for
//! something to send) plus `--vanish-timeout-s` (the wait for its acknowledgement)
//! after it vanished: about 15 + 20 = 35 s with the defaults, well inside a minute.
//!
//! # What it costs
//!
//! Nothing while clients answer: the option only changes when the retransmission timer
//! the kernel runs anyway gives up (since Linux 4.19 the timer's last wait is also
//! cut short so that it ends on time). The price is paid by a live client whose network goes
//! completely silent for longer than the timeout, a train in a tunnel: its connection
//! is cut, and its `EventSource` reconnects by itself when the network returns, with
//! `Last-Event-ID`, so it misses nothing the topic's history still holds. A shorter
//! timeout frees vanished clients sooner and cuts more of those; 20 s tolerates the
//! outages a connection usually survives (a Wi-Fi handover, a cell change).
//!
//! A client that is there but stops reading is another matter: it acknowledges
//! everything, with a zero window, so this timeout leaves it alone and the write
//! timeout (`--write-timeout-s`, `sse/stream.rs`) drops it.
//!
//! std has no `setsockopt`, so this file declares the C library's own (std links the C
//! library already); its one `unsafe` call stays here.

use std::io;
use std::net::TcpStream;
use std::time::Duration;

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod ffi {
    /// From `include/uapi/linux/in.h` and `include/uapi/linux/tcp.h`.
    pub const IPPROTO_TCP: i32 = 6;
    pub const TCP_USER_TIMEOUT: i32 = 18;

    unsafe extern "C" {
        /// `int setsockopt(int fd, int level, int name, const void *value,
        /// socklen_t length)`.
        pub fn setsockopt(fd: i32, level: i32, name: i32, value: *const i32, length: u32) -> i32;
    }
}

/// Aborts `socket`'s connection when data it sent stays unacknowledged for `timeout`
/// (`TCP_USER_TIMEOUT`). `None` leaves the kernel's default (about 15 minutes).
/// A timeout longer than the option can hold (an `int` of milliseconds, about 24 days)
/// is held at its maximum.
#[cfg(target_os = "linux")]
pub fn limit_unacknowledged(socket: &TcpStream, timeout: Option<Duration>) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let Some(timeout) = timeout else {
        return Ok(());
    };
    // 0 would mean "the kernel's default": a requested timeout never rounds down to it.
    let millis = i32::try_from(timeout.as_millis())
        .unwrap_or(i32::MAX)
        .max(1);
    // SAFETY: the descriptor is open for the whole call (we borrow `socket`), and the
    // kernel reads exactly `size_of::<i32>()` bytes from `&millis`, which lives
    // until the call returns.
    #[allow(unsafe_code)]
    let result = unsafe {
        ffi::setsockopt(
            socket.as_raw_fd(),
            ffi::IPPROTO_TCP,
            ffi::TCP_USER_TIMEOUT,
            &millis,
            size_of::<i32>() as u32,
        )
    };
    if result < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Elsewhere the option is not available, and a vanished client is noticed only when
/// the kernel's own retransmissions give up.
#[cfg(not(target_os = "linux"))]
pub fn limit_unacknowledged(_socket: &TcpStream, _timeout: Option<Duration>) -> io::Result<()> {
    Ok(())
}

/// Names the error of a read or write on a connection the kernel gave up on
/// (`ETIMEDOUT`): the client vanished, and it was not the server's own write timeout
/// (whose kind, `TimedOut`, the kernel's error would otherwise share in the log and
/// in `/metrics`). The named error's kind is `HostUnreachable`, which
/// `sse::ending::of_error` counts as `vanished`. Other errors pass unchanged.
pub fn name_vanished(error: io::Error) -> io::Error {
    /// From `include/uapi/asm-generic/errno.h`.
    const ETIMEDOUT: i32 = 110;
    if cfg!(target_os = "linux") && error.raw_os_error() == Some(ETIMEDOUT) {
        return io::Error::new(
            io::ErrorKind::HostUnreachable,
            "the client vanished: nothing it was sent was acknowledged",
        );
    }
    error
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn the_kernel_accepts_the_option_for_any_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (socket, _) = listener.accept().unwrap();
        limit_unacknowledged(&socket, Some(Duration::from_secs(20))).unwrap();
        limit_unacknowledged(&socket, Some(Duration::from_secs(u64::MAX))).unwrap();
        limit_unacknowledged(&socket, Some(Duration::ZERO)).unwrap();
        limit_unacknowledged(&socket, None).unwrap();
    }

    #[test]
    fn only_the_kernels_timeout_is_named_a_vanished_client() {
        let kernels = name_vanished(io::Error::from_raw_os_error(110));
        assert_eq!(kernels.kind(), io::ErrorKind::HostUnreachable);
        assert!(kernels.to_string().contains("vanished"));
        let ours = name_vanished(io::Error::new(io::ErrorKind::TimedOut, "stopped reading"));
        assert_eq!(ours.kind(), io::ErrorKind::TimedOut);
    }
}
