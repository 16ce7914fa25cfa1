//! The broadcast hub: publishers add messages, subscribers read what they have not
//! seen yet, and a bounded history lets a reconnecting client catch up.
//!
//! # Why this shape
//!
//! The hub never writes to a socket and never waits for a subscriber. It is one list
//! of recent messages behind a mutex, plus one condition variable:
//!
//! ```text
//! publish ──► lock, append message N (drop the oldest if full), unlock; then notify_all
//!                                   │
//!         ┌─────────────────────────┴───────────────────────────┐
//!   subscriber A (its own thread)                  subscriber B (its own thread)
//!   lock, copy messages after A's last id, unlock  ...same, at its own pace
//!   write them to A's socket in one write          write to B's socket
//! ```
//!
//! Each subscriber only remembers the id of the last message it sent. Whatever has a
//! larger id is pending for it. So a publish costs the same with one subscriber or ten
//! thousand (append and notify), a slow subscriber delays nobody but itself, and live
//! delivery and replay after a reconnect are the same operation: "send me everything
//! after id K", where K is the `Last-Event-ID` the browser sent back.
//!
//! A subscriber that falls so far behind that the messages after its id have already
//! been dropped from the history gets what is still held, and is told how many it
//! missed. The memory a lagging subscriber can pin is therefore bounded by the
//! history, however far it lags: nothing is queued per subscriber.
//!
//! # Waking subscribers
//!
//! Waking every waiting thread through one shared `Condvar` (`notify_all`) is much
//! cheaper than a channel per subscriber: the kernel wakes them in one pass, and each
//! woken thread takes the lock only long enough to clone a few `Arc`s.
//!
//! Publishing and waking are two steps, [`Hub::publish`] and [`Hub::wake_subscribers`].
//! The woken threads have slept, so the scheduler runs them before the thread that
//! woke them: a publisher that woke everyone after each message would be set aside
//! until all subscribers had sent that one message, and ten thousand subscribers would
//! each pay a wake-up and a `write` per message. Instead the connection that publishes
//! wakes subscribers once it has no further request waiting (see `server.rs`), so a
//! burst of pipelined publishes costs one wake-up, and each subscriber sends the whole
//! burst in one write.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::sse::{Event, FieldError};
use crate::sync::{lock, wait_timeout};

/// The most bytes of messages one delivery hands to a subscriber (unless a single
/// message is larger). It bounds the memory a lagging subscriber can hold at once.
pub const MAX_BATCH_BYTES: usize = 64 * 1024;

/// One published message, encoded once, shared by every subscriber that sends it.
#[derive(Debug)]
pub struct Message {
    /// Assigned by the hub: 1, 2, 3... in publish order, over the process lifetime.
    pub id: u64,
    /// The complete event (`id:`, `event:`, `data:` lines and the blank line).
    pub encoded: Box<[u8]>,
}

/// What a publish returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub id: u64,
    /// Subscribers connected at the moment of publishing.
    pub subscribers: usize,
}

/// Counters for `/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubSnapshot {
    pub subscribers: usize,
    pub messages_published: u64,
    pub history_held: usize,
}

/// The shared list of recent messages.
pub struct Hub {
    state: Mutex<HubState>,
    /// Notified by [`Hub::wake_subscribers`] and on close.
    changed: Condvar,
    /// Set by a publish, cleared by the wake-up that follows it.
    wake_pending: AtomicBool,
}

struct HubState {
    /// The newest `capacity` messages, oldest first, with consecutive ids.
    history: VecDeque<Arc<Message>>,
    capacity: usize,
    /// The id of the newest message ever published (0 before the first).
    last_id: u64,
    subscribers: usize,
    /// Set at shutdown: every waiting subscriber returns.
    closed: bool,
}

impl HubState {
    /// The id of the oldest message still held.
    fn oldest_held_id(&self) -> u64 {
        self.last_id + 1 - self.history.len() as u64
    }
}

impl Hub {
    /// A hub that keeps the last `capacity` messages for replay.
    pub fn new(capacity: usize) -> Hub {
        Hub {
            state: Mutex::new(HubState {
                history: VecDeque::with_capacity(capacity.min(1024)),
                capacity: capacity.max(1),
                last_id: 0,
                subscribers: 0,
                closed: false,
            }),
            changed: Condvar::new(),
            wake_pending: AtomicBool::new(false),
        }
    }

    /// Publishes `data` under `event_type` (or the default `message` type). Subscribers
    /// see it the next time they look; call [`wake_subscribers`](Self::wake_subscribers)
    /// after the last message of a burst to wake those that are waiting. Never blocks
    /// on a subscriber.
    pub fn publish(&self, event_type: Option<&str>, data: &str) -> Result<Published, FieldError> {
        let mut event = Event::new(data);
        if let Some(event_type) = event_type {
            event = event.with_type(event_type)?;
        }
        let published = {
            let mut state = lock(&self.state);
            // The id is assigned under the lock, so ids follow publish order and the
            // history stays sorted with no gaps.
            let id = state.last_id + 1;
            let encoded = event
                .with_id(id.to_string())
                .expect("decimal digits contain no CR, LF or NUL")
                .encode()
                .into_boxed_slice();
            if state.history.len() == state.capacity {
                state.history.pop_front();
            }
            state.history.push_back(Arc::new(Message { id, encoded }));
            state.last_id = id;
            Published {
                id,
                subscribers: state.subscribers,
            }
        };
        self.wake_pending.store(true, Ordering::Release);
        Ok(published)
    }

    /// Wakes every waiting subscriber if anything was published since the last wake-up.
    ///
    /// No wake-up can be lost: a subscriber checks for new messages and starts waiting
    /// while holding the lock, and a publish appends under the same lock before it sets
    /// `wake_pending`, so every waiter that missed the message is notified here.
    pub fn wake_subscribers(&self) {
        if self.wake_pending.swap(false, Ordering::AcqRel) {
            self.changed.notify_all();
        }
    }

    /// Registers a subscriber that resumes after `last_event_id` (the browser's
    /// `Last-Event-ID`), or, without one, starts with the next message published.
    pub fn subscribe(&self, last_event_id: Option<u64>) -> Subscription<'_> {
        let mut state = lock(&self.state);
        state.subscribers += 1;
        let (last_sent_id, missed) = match last_event_id {
            None => (state.last_id, 0),
            // An id from the future was issued by an earlier run of the server (ids
            // restart at 1): everything we hold is new to this client.
            Some(id) if id > state.last_id => (0, 0),
            Some(id) => {
                let oldest = state.oldest_held_id();
                (id, oldest.saturating_sub(id + 1))
            }
        };
        Subscription {
            hub: self,
            last_sent_id,
            missed,
        }
    }

    /// Wakes every subscriber and makes it return [`Delivery::Closed`].
    pub fn close(&self) {
        lock(&self.state).closed = true;
        self.changed.notify_all();
    }

    /// Counters for `/stats`.
    pub fn snapshot(&self) -> HubSnapshot {
        let state = lock(&self.state);
        HubSnapshot {
            subscribers: state.subscribers,
            messages_published: state.last_id,
            history_held: state.history.len(),
        }
    }
}

/// What a subscriber gets from one [`Subscription::next_delivery`].
#[derive(Debug)]
pub enum Delivery {
    /// Messages after the last one sent, oldest first: all of them, or as many as fit
    /// in [`MAX_BATCH_BYTES`] (never empty).
    Messages(Vec<Arc<Message>>),
    /// Nothing was published before the timeout.
    Idle,
    /// The server is shutting down.
    Closed,
}

/// One subscriber's place in the hub. Dropping it unregisters the subscriber.
pub struct Subscription<'hub> {
    hub: &'hub Hub,
    /// Everything with a larger id is still to be sent.
    last_sent_id: u64,
    /// Messages this subscriber asked for that had already left the history.
    missed: u64,
}

impl Subscription<'_> {
    /// How many requested messages were too old to replay.
    pub fn missed(&self) -> u64 {
        self.missed
    }

    /// Waits up to `timeout` for messages after the last one returned, and returns
    /// all of them at once: a subscriber that wakes late sends its backlog in one write.
    pub fn next_delivery(&mut self, timeout: Duration) -> Delivery {
        let deadline = Instant::now() + timeout;
        let mut state = lock(&self.hub.state);
        loop {
            if state.closed {
                return Delivery::Closed;
            }
            if state.last_id > self.last_sent_id {
                // History ids are consecutive, so the first pending message is found by
                // arithmetic. If it was dropped, start at the oldest one held.
                let first_wanted = self.last_sent_id + 1;
                let oldest = state.oldest_held_id();
                self.missed += oldest.saturating_sub(first_wanted);
                let skip = first_wanted.saturating_sub(oldest) as usize;
                let pending = take_batch(state.history.iter().skip(skip));
                self.last_sent_id = pending
                    .last()
                    .map_or(self.last_sent_id, |message| message.id);
                return Delivery::Messages(pending);
            }
            let now = Instant::now();
            if now >= deadline {
                return Delivery::Idle;
            }
            (state, _) = wait_timeout(&self.hub.changed, state, deadline - now);
        }
    }
}

/// Clones pending messages up to [`MAX_BATCH_BYTES`] (always at least one). The
/// subscriber copies a batch into one write buffer, so without this bound a client
/// that fell behind by the whole history would copy all of it at once.
fn take_batch<'a>(pending: impl Iterator<Item = &'a Arc<Message>>) -> Vec<Arc<Message>> {
    let mut batch = Vec::new();
    let mut bytes = 0;
    for message in pending {
        if !batch.is_empty() && bytes + message.encoded.len() > MAX_BATCH_BYTES {
            break;
        }
        bytes += message.encoded.len();
        batch.push(Arc::clone(message));
    }
    batch
}

impl Drop for Subscription<'_> {
    fn drop(&mut self) {
        lock(&self.hub.state).subscribers -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(delivery: Delivery) -> Vec<u64> {
        match delivery {
            Delivery::Messages(messages) => messages.iter().map(|message| message.id).collect(),
            other => panic!("expected messages, got {other:?}"),
        }
    }

    const NOW: Duration = Duration::ZERO;

    #[test]
    fn ids_increase_from_one_and_messages_are_encoded_once() {
        let hub = Hub::new(10);
        assert_eq!(
            hub.publish(None, "a").unwrap(),
            Published {
                id: 1,
                subscribers: 0
            }
        );
        let mut subscription = hub.subscribe(Some(0));
        assert_eq!(
            hub.publish(Some("chat"), "b\nc").unwrap(),
            Published {
                id: 2,
                subscribers: 1
            }
        );
        match subscription.next_delivery(NOW) {
            Delivery::Messages(messages) => {
                assert_eq!(&*messages[0].encoded, b"id: 1\ndata: a\n\n");
                assert_eq!(
                    &*messages[1].encoded,
                    b"id: 2\nevent: chat\ndata: b\ndata: c\n\n"
                );
            }
            other => panic!("expected messages, got {other:?}"),
        }
    }

    #[test]
    fn a_new_subscriber_gets_only_what_comes_after_it() {
        let hub = Hub::new(10);
        hub.publish(None, "old").unwrap();
        let mut subscription = hub.subscribe(None);
        assert!(matches!(subscription.next_delivery(NOW), Delivery::Idle));
        hub.publish(None, "new").unwrap();
        assert_eq!(ids(subscription.next_delivery(NOW)), [2]);
    }

    #[test]
    fn resuming_replays_after_the_last_event_id_without_duplicates() {
        let hub = Hub::new(10);
        for n in 0..5 {
            hub.publish(None, &n.to_string()).unwrap();
        }
        let mut subscription = hub.subscribe(Some(3));
        assert_eq!(subscription.missed(), 0);
        assert_eq!(ids(subscription.next_delivery(NOW)), [4, 5]);
        hub.publish(None, "live").unwrap();
        assert_eq!(ids(subscription.next_delivery(NOW)), [6]);
    }

    #[test]
    fn history_overflow_replays_what_is_held_and_counts_the_rest() {
        let hub = Hub::new(3);
        for n in 0..10 {
            hub.publish(None, &n.to_string()).unwrap();
        }
        let mut subscription = hub.subscribe(Some(2));
        assert_eq!(subscription.missed(), 5, "ids 3..=7 are gone");
        assert_eq!(ids(subscription.next_delivery(NOW)), [8, 9, 10]);
        assert_eq!(hub.snapshot().history_held, 3);
    }

    #[test]
    fn a_lagging_subscriber_skips_to_the_oldest_held_message() {
        let hub = Hub::new(2);
        let mut subscription = hub.subscribe(None);
        for n in 0..5 {
            hub.publish(None, &n.to_string()).unwrap();
        }
        assert_eq!(ids(subscription.next_delivery(NOW)), [4, 5]);
        assert_eq!(subscription.missed(), 3);
    }

    #[test]
    fn an_id_from_a_previous_run_replays_everything_held() {
        let hub = Hub::new(10);
        hub.publish(None, "a").unwrap();
        let mut subscription = hub.subscribe(Some(500));
        assert_eq!(ids(subscription.next_delivery(NOW)), [1]);
    }

    #[test]
    fn subscribers_are_counted_until_dropped_and_close_wakes_them() {
        let hub = Hub::new(10);
        let mut subscription = hub.subscribe(None);
        assert_eq!(hub.snapshot().subscribers, 1);
        hub.close();
        assert!(matches!(
            subscription.next_delivery(Duration::from_secs(30)),
            Delivery::Closed
        ));
        drop(subscription);
        assert_eq!(hub.snapshot().subscribers, 0);
    }

    #[test]
    fn a_publish_wakes_a_waiting_subscriber() {
        let hub = Arc::new(Hub::new(10));
        let waiter = {
            let hub = Arc::clone(&hub);
            std::thread::spawn(move || {
                let mut subscription = hub.subscribe(None);
                ids(subscription.next_delivery(Duration::from_secs(30)))
            })
        };
        while hub.snapshot().subscribers == 0 {
            std::thread::yield_now();
        }
        hub.publish(None, "wake").unwrap();
        hub.wake_subscribers();
        assert_eq!(waiter.join().unwrap(), [1]);
    }

    #[test]
    fn a_large_backlog_is_delivered_in_bounded_batches() {
        let hub = Hub::new(100);
        let mut subscription = hub.subscribe(Some(0));
        let text = "x".repeat(10_000);
        for _ in 0..20 {
            hub.publish(None, &text).unwrap();
        }
        let mut delivered = Vec::new();
        while let Delivery::Messages(batch) = subscription.next_delivery(NOW) {
            let bytes: usize = batch.iter().map(|message| message.encoded.len()).sum();
            assert!(bytes <= MAX_BATCH_BYTES, "a batch of {bytes} bytes");
            delivered.extend(batch.iter().map(|message| message.id));
        }
        assert_eq!(delivered, (1..=20).collect::<Vec<u64>>());
    }

    #[test]
    fn a_message_larger_than_a_batch_is_still_delivered() {
        let hub = Hub::new(10);
        let mut subscription = hub.subscribe(None);
        hub.publish(None, &"y".repeat(MAX_BATCH_BYTES * 2)).unwrap();
        assert_eq!(ids(subscription.next_delivery(NOW)), [1]);
    }

    #[test]
    fn a_panic_while_holding_the_lock_does_not_break_the_hub() {
        // The poison policy of sync.rs: a thread that panics inside the critical
        // section poisons the mutex; every later user must carry on regardless.
        let hub = Arc::new(Hub::new(10));
        let poisoner = {
            let hub = Arc::clone(&hub);
            std::thread::spawn(move || {
                let _guard = hub.state.lock().unwrap();
                panic!("a client thread panics while holding the hub lock");
            })
        };
        assert!(poisoner.join().is_err());
        assert!(hub.state.is_poisoned());
        let mut subscription = hub.subscribe(Some(0));
        hub.publish(None, "still works").unwrap();
        assert_eq!(ids(subscription.next_delivery(NOW)), [1]);
        assert_eq!(hub.snapshot().subscribers, 1);
    }

    #[test]
    fn bad_event_types_are_refused_and_take_no_id() {
        let hub = Hub::new(10);
        assert_eq!(hub.publish(Some("a\nb"), "x"), Err(FieldError::LineBreak));
        assert_eq!(hub.publish(None, "x").unwrap().id, 1);
    }
}
