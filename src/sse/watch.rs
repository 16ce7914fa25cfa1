//! The client watch: one thread that notices when the clients of idle streams leave.
//!
//! A subscriber's thread sleeps until there is something to send, and a stream's
//! client sends nothing after its request. So a client that closes its connection is
//! noticed only when the server next writes to it (and after a normal close, only at
//! the *second* write: see `stream.rs`). With 15 s heartbeats that holds a departed
//! client's slot for up to 30 s.
//!
//! Instead, every subscription's socket is handed to one thread for the stream's
//! whole life (the demo streams, which write every second or so, are not watched),
//! which sleeps until the kernel reports that some of them were closed or reset
//! (`hangups.rs`), and then wakes just those streams' threads:
//!
//! ```text
//! stream thread:  watch(socket) ──► entry in the table, socket registered with epoll
//! watch thread:   loop: epoll_wait ──► tags of the sockets whose clients hung up
//!                         for each: raise that stream's alarm, unpark its thread
//! stream thread:  woken, sees its alarm, reads its socket: end of file, so it ends
//! ```
//!
//! The watch only *listens*: each socket's reader and writer is still its own thread,
//! which confirms the departure with a read of its own before it ends. No lock is held
//! while waiting. Where epoll is not available, [`ClientWatch::watch`] returns `None`
//! and a stream reads its own socket every `--client-check-ms` instead.

use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, Thread};
use std::time::Duration;

use log::{debug, warn};

use crate::slab::Slab;
use crate::sse::hangups::HangupPoller;
use crate::sync::lock;

/// How often the watch thread looks up from `epoll_wait` to see whether the server is
/// shutting down.
const STOP_CHECK: Duration = Duration::from_millis(250);

/// Sockets being watched, and how to reach their threads.
pub struct ClientWatch {
    /// `None` where epoll is not available (or could not be had).
    hangups: Option<HangupPoller>,
    watched: Mutex<Slab<Entry>>,
    /// Tells apart two entries that had the same key one after the other, so that a
    /// hang-up reported for a stream that has just ended never alarms its successor.
    next_serial: AtomicU32,
}

struct Entry {
    thread: Thread,
    alarm: Arc<AtomicBool>,
    serial: u32,
}

/// One watched stream; dropping it stops the watch.
pub struct Watching<'a> {
    watch: &'a ClientWatch,
    hangups: &'a HangupPoller,
    socket: Arc<TcpStream>,
    key: usize,
    tag: u64,
    alarm: Arc<AtomicBool>,
}

impl Watching<'_> {
    /// Raised when the client has left; the stream's thread should check and end.
    pub fn alarm(&self) -> &AtomicBool {
        &self.alarm
    }

    /// After an alarm that turned out false (the client half-closed with bytes still
    /// unread, say), watch for the next hang-up.
    pub fn rearm(&self) {
        if let Err(error) = self.hangups.rearm(&self.socket, self.tag) {
            debug!("cannot watch a client again: {error}");
        }
    }
}

impl Drop for Watching<'_> {
    fn drop(&mut self) {
        lock(&self.watch.watched).remove(self.key);
        // The socket is still open (we hold it), so this cannot hit a reused descriptor.
        let _ = self.hangups.unwatch(&self.socket);
    }
}

impl Default for ClientWatch {
    fn default() -> ClientWatch {
        let hangups = HangupPoller::new()
            .inspect_err(|error| {
                warn!("no client watch ({error}): idle streams check their clients themselves")
            })
            .ok();
        ClientWatch {
            hangups,
            watched: Mutex::new(Slab::default()),
            next_serial: AtomicU32::new(0),
        }
    }
}

impl ClientWatch {
    /// Watches `socket` for the calling thread, or `None` if it cannot be watched (the
    /// caller then checks the client itself).
    pub fn watch(&self, socket: Arc<TcpStream>) -> Option<Watching<'_>> {
        let hangups = self.hangups.as_ref()?;
        let alarm = Arc::new(AtomicBool::new(false));
        let serial = self.next_serial.fetch_add(1, Ordering::Relaxed);
        let key = lock(&self.watched).insert(Entry {
            thread: thread::current(),
            alarm: Arc::clone(&alarm),
            serial,
        });
        let tag = (u64::from(serial) << 32) | key as u64;
        if let Err(error) = hangups.watch(&socket, tag) {
            debug!("cannot watch a client: {error}");
            lock(&self.watched).remove(key);
            return None;
        }
        Some(Watching {
            watch: self,
            hangups,
            socket,
            key,
            tag,
            alarm,
        })
    }

    /// Streams watched now.
    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.watched).len()
    }

    /// Waits up to `timeout` for hang-ups and alarms their streams. Returns how many
    /// were alarmed.
    pub fn look(&self, timeout: Duration, tags: &mut Vec<u64>) -> usize {
        let Some(hangups) = &self.hangups else {
            thread::sleep(timeout);
            return 0;
        };
        if let Err(error) = hangups.wait(tags, timeout) {
            warn!("client watch: {error}");
            thread::sleep(timeout);
            return 0;
        }
        self.alarm(tags)
    }

    /// Raises the alarms of the streams whose sockets reported `tags`, and wakes their
    /// threads. A tag whose stream has ended since is ignored.
    fn alarm(&self, tags: &[u64]) -> usize {
        let mut to_wake = Vec::with_capacity(tags.len());
        {
            let watched = lock(&self.watched);
            for &tag in tags.iter() {
                let (serial, key) = ((tag >> 32) as u32, tag as u32 as usize);
                if let Some(entry) = watched.get(key).filter(|entry| entry.serial == serial) {
                    entry.alarm.store(true, Ordering::Release);
                    to_wake.push(entry.thread.clone());
                }
            }
        }
        to_wake.iter().for_each(Thread::unpark);
        to_wake.len()
    }

    /// The watch thread's loop, until `stop` says so.
    pub fn run(&self, stop: impl Fn() -> bool) {
        let mut tags = Vec::new();
        while !stop() {
            self.look(STOP_CHECK, &mut tags);
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn a_closed_client_raises_the_alarm_and_a_listening_one_does_not() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let leaving = TcpStream::connect(address).unwrap();
        let (server_side_a, _) = listener.accept().unwrap();
        let _staying = TcpStream::connect(address).unwrap();
        let (server_side_b, _) = listener.accept().unwrap();
        let watch = ClientWatch::default();
        let mut tags = Vec::new();
        let a = watch.watch(Arc::new(server_side_a)).unwrap();
        let b = watch.watch(Arc::new(server_side_b)).unwrap();
        assert_eq!(watch.look(Duration::from_millis(20), &mut tags), 0);
        drop(leaving);
        assert_eq!(watch.look(Duration::from_secs(2), &mut tags), 1);
        assert!(a.alarm().load(Ordering::Acquire));
        assert!(!b.alarm().load(Ordering::Acquire));
        drop(a);
        assert_eq!(watch.len(), 1);
    }

    #[test]
    fn a_hang_up_reported_after_its_stream_ended_alarms_nobody() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let first_client = TcpStream::connect(address).unwrap();
        let (first, _) = listener.accept().unwrap();
        let _second_client = TcpStream::connect(address).unwrap();
        let (second, _) = listener.accept().unwrap();
        let watch = ClientWatch::default();
        let mut tags = Vec::new();
        // The first stream's client leaves and the watch thread takes the report from
        // epoll; before it acts, the stream ends and a new one gets the same key.
        let first_watching = watch.watch(Arc::new(first)).unwrap();
        drop(first_client);
        let hangups = watch.hangups.as_ref().unwrap();
        hangups.wait(&mut tags, Duration::from_secs(2)).unwrap();
        assert_eq!(tags, [first_watching.tag]);
        let stale_key = first_watching.key;
        drop(first_watching);
        let second_watching = watch.watch(Arc::new(second)).unwrap();
        assert_eq!(second_watching.key, stale_key);
        assert_eq!(watch.alarm(&tags), 0);
        assert!(!second_watching.alarm().load(Ordering::Acquire));
    }
}
