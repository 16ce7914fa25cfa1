//! Hang-ups: the kernel tells one thread which of many idle sockets their clients
//! closed, with Linux's `epoll`.
//!
//! # Why
//!
//! An idle subscriber's thread sleeps, and its client sends nothing after its request,
//! so nothing on the stream's side notices when the client goes (see `stream.rs`).
//! Reading every idle socket once a second would notice, at a price: about a
//! microsecond per socket on this project's machines, most of it the cache misses of
//! touching ten thousand cold sockets, so about 1.4 % of a core at 10,000 streams,
//! and up to a second before a departed client's slot is free.
//!
//! `epoll` turns this around. The kernel keeps the list of watched sockets and, when
//! a client's FIN or reset arrives, puts that socket on a ready list; the one thread
//! that watches sleeps in `epoll_wait` until the list is not empty. Nothing is spent
//! while nobody leaves, and a departure is seen within microseconds.
//!
//! # How
//!
//! Each watched socket is registered with:
//!
//! - `EPOLLRDHUP`: "stream socket peer closed connection, or shut down writing half of
//!   connection" (epoll_ctl(2)), that is, a FIN;
//! - `EPOLLHUP` and `EPOLLERR`, which epoll always reports: a reset;
//! - not `EPOLLIN`: bytes a client sends are not news, and a socket with unread bytes
//!   would be reported again and again;
//! - `EPOLLONESHOT`: once reported, the socket is disabled until [`HangupPoller::rearm`],
//!   so a hang-up whose thread has not yet ended is not reported in a loop.
//!
//! Each registration carries a 64-bit tag chosen by the caller; `epoll_wait` hands the
//! tags of the sockets that hung up back.
//!
//! std has no wrapper for epoll, so this file declares the three C library functions
//! itself (std links the C library already). Their `unsafe` stays in this file: each
//! call gets a descriptor that is open for the whole call, and pointers to memory the
//! call may write.

use std::io;
use std::net::TcpStream;
use std::time::Duration;

/// A set of sockets watched for hang-ups.
pub struct HangupPoller {
    #[cfg(target_os = "linux")]
    epoll: std::os::fd::OwnedFd,
}

/// The most hang-ups one [`HangupPoller::wait`] returns; more wait for the next call.
pub const MAX_PER_WAIT: usize = 256;

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod ffi {
    /// From `include/uapi/linux/eventpoll.h`.
    pub const EPOLL_CLOEXEC: i32 = 0o2_000_000;
    pub const EPOLL_CTL_ADD: i32 = 1;
    pub const EPOLL_CTL_DEL: i32 = 2;
    pub const EPOLL_CTL_MOD: i32 = 3;
    pub const EPOLLERR: u32 = 0x008;
    pub const EPOLLHUP: u32 = 0x010;
    pub const EPOLLRDHUP: u32 = 0x2000;
    pub const EPOLLONESHOT: u32 = 1 << 30;

    /// `struct epoll_event`. The kernel declares it packed on x86-64 (12 bytes), and
    /// naturally aligned elsewhere (16 bytes).
    #[repr(C)]
    #[cfg_attr(target_arch = "x86_64", repr(packed))]
    #[derive(Clone, Copy)]
    pub struct EpollEvent {
        pub events: u32,
        pub data: u64,
    }

    unsafe extern "C" {
        pub fn epoll_create1(flags: i32) -> i32;
        pub fn epoll_ctl(epfd: i32, op: i32, fd: i32, event: *mut EpollEvent) -> i32;
        pub fn epoll_wait(epfd: i32, events: *mut EpollEvent, max: i32, timeout_ms: i32) -> i32;
    }
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
impl HangupPoller {
    /// An empty set.
    pub fn new() -> io::Result<HangupPoller> {
        use std::os::fd::{FromRawFd, OwnedFd};
        // SAFETY: takes an integer, touches none of our memory.
        let fd = unsafe { ffi::epoll_create1(ffi::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned to us, open, and nothing else owns it.
        let epoll = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(HangupPoller { epoll })
    }

    /// Starts watching `socket`; its hang-up will be reported as `tag`.
    pub fn watch(&self, socket: &TcpStream, tag: u64) -> io::Result<()> {
        self.control(ffi::EPOLL_CTL_ADD, socket, tag)
    }

    /// Watches `socket` again after it was reported (one report per arming).
    pub fn rearm(&self, socket: &TcpStream, tag: u64) -> io::Result<()> {
        self.control(ffi::EPOLL_CTL_MOD, socket, tag)
    }

    /// Stops watching `socket`. (Closing it would too, but only once every copy of its
    /// descriptor is closed.)
    pub fn unwatch(&self, socket: &TcpStream) -> io::Result<()> {
        self.control(ffi::EPOLL_CTL_DEL, socket, 0)
    }

    /// Waits up to `timeout` for hang-ups, and puts the tags of those reported (at most
    /// [`MAX_PER_WAIT`]) in `tags`, after clearing it.
    pub fn wait(&self, tags: &mut Vec<u64>, timeout: Duration) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        tags.clear();
        let mut events = [ffi::EpollEvent { events: 0, data: 0 }; MAX_PER_WAIT];
        let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: the kernel writes at most MAX_PER_WAIT events into `events`, which
        // has room for exactly that many; the epoll descriptor is ours and open.
        let count = unsafe {
            ffi::epoll_wait(
                self.epoll.as_raw_fd(),
                events.as_mut_ptr(),
                MAX_PER_WAIT as i32,
                timeout_ms,
            )
        };
        if count < 0 {
            let error = io::Error::last_os_error();
            // A signal (Ctrl-C) interrupted the wait: nothing was reported.
            return match error.kind() {
                io::ErrorKind::Interrupted => Ok(()),
                _ => Err(error),
            };
        }
        // Copy out of the packed struct by value: a reference to a packed field is
        // not allowed.
        tags.extend(events[..count as usize].iter().map(|event| event.data));
        Ok(())
    }

    fn control(&self, op: i32, socket: &TcpStream, tag: u64) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let mut event = ffi::EpollEvent {
            events: ffi::EPOLLRDHUP | ffi::EPOLLHUP | ffi::EPOLLERR | ffi::EPOLLONESHOT,
            data: tag,
        };
        // SAFETY: both descriptors are open for the whole call (we borrow `socket`);
        // the kernel only reads `event` (kernels before 2.6.9 wanted one even for DEL).
        let result =
            unsafe { ffi::epoll_ctl(self.epoll.as_raw_fd(), op, socket.as_raw_fd(), &mut event) };
        if result < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// Elsewhere the watch is not available; streams check their clients themselves.
#[cfg(not(target_os = "linux"))]
impl HangupPoller {
    pub fn new() -> io::Result<HangupPoller> {
        Err(io::ErrorKind::Unsupported.into())
    }
    pub fn watch(&self, _: &TcpStream, _: u64) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
    pub fn rearm(&self, _: &TcpStream, _: u64) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
    pub fn unwatch(&self, _: &TcpStream) -> io::Result<()> {
        Ok(())
    }
    pub fn wait(&self, tags: &mut Vec<u64>, timeout: Duration) -> io::Result<()> {
        tags.clear();
        std::thread::sleep(timeout);
        Ok(())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{Shutdown, TcpListener};

    fn pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server_side, _) = listener.accept().unwrap();
        (client, server_side)
    }

    #[test]
    fn a_close_and_a_reset_are_reported_bytes_and_silence_are_not() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let poller = HangupPoller::new().unwrap();
        let (mut chatty, chatty_server) = pair(&listener);
        let (closing, closing_server) = pair(&listener);
        let (_quiet, quiet_server) = pair(&listener);
        let (resetting, resetting_server) = pair(&listener);
        poller.watch(&chatty_server, 1).unwrap();
        poller.watch(&closing_server, 2).unwrap();
        poller.watch(&quiet_server, 3).unwrap();
        poller.watch(&resetting_server, 4).unwrap();

        chatty.write_all(b"stray bytes").unwrap();
        closing.shutdown(Shutdown::Write).unwrap();
        // A reset: data the peer never read is still queued when it closes.
        resetting_server
            .try_clone()
            .unwrap()
            .write_all(b"x")
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        drop(resetting);

        let mut tags = Vec::new();
        let mut seen: Vec<u64> = Vec::new();
        for _ in 0..10 {
            poller.wait(&mut tags, Duration::from_millis(50)).unwrap();
            seen.extend(&tags);
        }
        seen.sort();
        assert_eq!(seen, [2, 4], "each hang-up once, and only those");

        // Re-armed, a socket whose client is still gone is reported again.
        poller.rearm(&closing_server, 2).unwrap();
        poller.wait(&mut tags, Duration::from_millis(500)).unwrap();
        assert_eq!(tags, [2]);
        poller.unwatch(&closing_server).unwrap();
        poller.wait(&mut tags, Duration::from_millis(20)).unwrap();
        assert!(tags.is_empty());
        drop(closing);
    }
}
