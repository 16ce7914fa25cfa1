//! The client watch: one thread that notices when the clients of idle streams leave.
//!
//! A subscriber's thread sleeps until there is something to send, and a stream's
//! client sends nothing after its request. So a client that closes its connection is
//! noticed only when the server next writes to it (and after a normal close, only at
//! the *second* write: see `stream.rs`). With 15 s heartbeats that holds a departed
//! client's slot for up to 30 s.
//!
//! Waking every stream's thread once a second to look costs a context switch per
//! stream per second: about 15 % of a core for 10,000 idle streams on this machine.
//! Instead, one thread looks at every watched socket every `--client-check-ms`, with
//! one non-blocking `read` each, and wakes only the threads whose clients have gone:
//!
//! ```text
//! watch thread, every second:   for each watched socket: read (non-blocking)
//!                                 WouldBlock -> still there, next
//!                                 Ok(0)      -> closed: raise its alarm, unpark its thread
//!                                 error      -> reset:  raise its alarm, unpark its thread
//! ```
//!
//! The watch only *reads*: each socket's writer is still its own thread. The list lock
//! is held only to copy the list, never during a `read`. A thread woken by its alarm
//! does the read itself, sees the end of its connection, and ends (`stream.rs`).

use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, Thread};
use std::time::Duration;

use crate::slab::Slab;
use crate::sse::stream::client_has_left;
use crate::sync::{lock, wait_timeout};

/// Sockets being watched, and how to reach their threads.
pub struct ClientWatch {
    watched: Mutex<Slab<Entry>>,
    /// Set by [`ClientWatch::look_now`] and at shutdown, to cut a pause short.
    hurry: Mutex<bool>,
    hurried: Condvar,
}

#[derive(Clone)]
struct Entry {
    socket: Arc<TcpStream>,
    thread: Thread,
    alarm: Arc<AtomicBool>,
}

/// One watched stream; dropping it stops the watch.
pub struct Watching<'a> {
    watch: &'a ClientWatch,
    index: usize,
    alarm: Arc<AtomicBool>,
}

impl Watching<'_> {
    /// Raised when the client has left; the stream's thread should check and end.
    pub fn alarm(&self) -> &AtomicBool {
        &self.alarm
    }
}

impl Drop for Watching<'_> {
    fn drop(&mut self) {
        lock(&self.watch.watched).remove(self.index);
    }
}

impl Default for ClientWatch {
    fn default() -> ClientWatch {
        ClientWatch {
            watched: Mutex::new(Slab::default()),
            hurry: Mutex::new(false),
            hurried: Condvar::new(),
        }
    }
}

impl ClientWatch {
    /// Watches `socket` (which must be in non-blocking mode) for the calling thread.
    pub fn watch(&self, socket: Arc<TcpStream>) -> Watching<'_> {
        let alarm = Arc::new(AtomicBool::new(false));
        let index = lock(&self.watched).insert(Entry {
            socket,
            thread: thread::current(),
            alarm: Arc::clone(&alarm),
        });
        Watching {
            watch: self,
            index,
            alarm,
        }
    }

    /// Streams watched now.
    pub fn len(&self) -> usize {
        lock(&self.watched).len()
    }

    /// Whether no stream is watched.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Asks for a look at every client now rather than at the next interval: the
    /// server is full and departed clients should give their places back, or it is
    /// shutting down and the watch thread should see `stop`.
    pub fn look_now(&self) {
        *lock(&self.hurry) = true;
        self.hurried.notify_all();
    }

    /// One look at every watched socket. Returns how many clients had left.
    pub fn look(&self) -> usize {
        // Copy the list, so that no lock is held during the reads.
        let entries: Vec<Entry> = lock(&self.watched).values().cloned().collect();
        let mut departed = 0;
        for entry in entries {
            if client_has_left(&entry.socket) {
                departed += 1;
                entry.alarm.store(true, Ordering::Release);
                entry.thread.unpark();
            }
        }
        departed
    }

    /// The watch thread's loop: a look every `interval` (or sooner when hurried),
    /// until `stop` says so.
    pub fn run(&self, interval: Duration, stop: impl Fn() -> bool) {
        while !stop() {
            {
                let mut hurry = lock(&self.hurry);
                if !*hurry {
                    (hurry, _) = wait_timeout(&self.hurried, hurry, interval);
                }
                *hurry = false;
            }
            self.look();
        }
    }
}

#[cfg(test)]
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
        for socket in [&server_side_a, &server_side_b] {
            socket.set_nonblocking(true).unwrap();
        }
        let watch = ClientWatch::default();
        let a = watch.watch(Arc::new(server_side_a));
        let b = watch.watch(Arc::new(server_side_b));
        assert_eq!(watch.look(), 0);
        drop(leaving);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(watch.look(), 1);
        assert!(a.alarm().load(Ordering::Acquire));
        assert!(!b.alarm().load(Ordering::Acquire));
        drop(a);
        assert_eq!(watch.len(), 1);
    }
}
