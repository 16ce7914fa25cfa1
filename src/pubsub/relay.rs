//! The wake-up relay: how a publish reaches ten thousand sleeping threads without
//! waking them all at once.
//!
//! # The problem
//!
//! Every subscriber is a thread asleep until there is something to send. The obvious
//! way to wake them, one shared condition variable and `notify_all`, makes all ten
//! thousand runnable at the same instant. They then queue for the CPU and for the
//! hub's lock, and the publisher's own thread waits behind all of them before it can
//! read its next request. Each publish becomes a full round of ten thousand wake-ups
//! and ten thousand writes of one message each: about 40,000 deliveries a second.
//!
//! # The relay
//!
//! Instead, subscribers are woken a few at a time, like runners passing a baton:
//!
//! ```text
//! publish: mark followers of the topic "queued"   queue: [A B C D E F ...]
//!          wake the first WIDTH of them           awake: A B
//! A runs:  takes its messages, wakes the next     awake: B C      then A writes
//! B runs:  takes its messages, wakes the next     awake: C D      then B writes
//! ...                                             (never more than WIDTH awake)
//! ```
//!
//! At most `width` subscribers are woken and not yet running, so the publisher's
//! thread competes with a handful of threads instead of ten thousand and gets the CPU
//! back quickly. Messages published while the relay is under way are picked up by
//! every subscriber that runs later: the later in the queue, the more messages one
//! wake-up and one `write` carry. That batching is where the throughput comes from.
//!
//! A subscriber passes the baton *before* it writes, and is never handed one while it
//! writes: only a subscriber asleep in `next_delivery` (`subscription.rs`) is ever
//! queued or woken, and every way out of it (messages, a replay from the log, a
//! heartbeat, a look at the client) marks it busy first, under the lock. A publish that
//! comes while it writes leaves it alone: it finds the message when it next looks. So
//! a client that stops reading (its write of any kind may block for up to
//! `--write-timeout-s`) holds up nobody but itself.
//!
//! # States
//!
//! ```text
//!            publish to a followed topic          relay reaches it
//!   Idle ─────────────────────────────► Queued ──────────────────► Woken
//!    ▲ │                                  │                          │
//!    │ │ its wait ends (heartbeat         │ woke up by itself        │ takes its messages
//!    │ │ due, client to check)            ▼  (heartbeat, alarm)      ▼
//!    │ └─────────────────────────────► Busy ◄────────────────────────┘
//!    │ nothing left to send, and         │   writes: messages, replay, heartbeat;
//!    └──── its wait goes on ─────────────┘   never queued, never woken
//! ```
//!
//! All of this lives inside the hub's mutex: the relay is plain data, changed only by
//! whoever holds the lock. The actual wake-ups (`Thread::unpark`) happen after the lock
//! is released: the `to_wake` lists collect the threads to unpark.
//!
//! Why `park`/`unpark` and not a `Condvar` per subscriber: `unpark` before `park` is
//! not lost (the thread's token is set, and its next `park` returns at once), so a
//! subscriber can decide to sleep under the lock, release it, and then park, with no
//! window in which a wake-up could slip past it.

use std::collections::VecDeque;
use std::thread::Thread;

use crate::slab::Slab;

/// Identifies one subscriber inside the hub (an index into the relay's table).
pub type SubscriberKey = usize;

/// Where a subscriber is in the cycle drawn in the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitState {
    /// Running: sending, or about to look for messages.
    Busy,
    /// Asleep with nothing to send.
    Idle,
    /// Has news, waiting for its turn in the relay.
    Queued,
    /// Unparked by the relay, not yet running.
    Woken,
}

/// One subscriber's entry.
struct Sleeper {
    thread: Thread,
    state: WaitState,
}

/// The relay's state: who is asleep, who is queued, how many are awake.
pub struct Relay {
    /// Keyed by [`SubscriberKey`].
    sleepers: Slab<Sleeper>,
    /// Subscribers with news, in the order they got it. An entry whose subscriber has
    /// since woken by itself is stale and skipped when it comes up.
    queue: VecDeque<SubscriberKey>,
    /// Subscribers woken by the relay that have not yet taken their messages.
    woken: usize,
    /// The most subscribers that may be [`WaitState::Woken`] at once.
    width: usize,
}

impl Relay {
    /// A relay that keeps at most `width` (at least 1) subscribers woken at once.
    pub fn new(width: usize) -> Relay {
        Relay {
            sleepers: Slab::default(),
            queue: VecDeque::new(),
            woken: 0,
            width: width.max(1),
        }
    }

    /// Adds the subscriber running on `thread`. It starts [`WaitState::Busy`]: its
    /// first look for messages happens before it ever sleeps.
    pub fn register(&mut self, thread: Thread) -> SubscriberKey {
        self.sleepers.insert(Sleeper {
            thread,
            state: WaitState::Busy,
        })
    }

    /// Removes a subscriber. If the relay had woken it, its turn passes on.
    pub fn unregister(&mut self, key: SubscriberKey, to_wake: &mut Vec<Thread>) {
        let removed = self.sleepers.remove(key);
        if removed.is_some_and(|sleeper| sleeper.state == WaitState::Woken) {
            self.woken -= 1;
            self.wake_next(to_wake);
        }
    }

    /// Subscribers registered now.
    pub fn len(&self) -> usize {
        self.sleepers.len()
    }

    /// Whether no subscriber is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A message for `key` has arrived: an idle subscriber joins the queue. One that
    /// is queued, woken or busy will see the message anyway when it next looks.
    pub fn schedule(&mut self, key: SubscriberKey) {
        if let Some(sleeper) = self.sleepers.get_mut(key)
            && sleeper.state == WaitState::Idle
        {
            sleeper.state = WaitState::Queued;
            self.queue.push_back(key);
        }
    }

    /// Wakes queued subscribers until `width` are awake or the queue is empty.
    pub fn wake_next(&mut self, to_wake: &mut Vec<Thread>) {
        while self.woken < self.width {
            let Some(key) = self.queue.pop_front() else {
                return;
            };
            if let Some(sleeper) = self.sleepers.get_mut(key)
                && sleeper.state == WaitState::Queued
            {
                sleeper.state = WaitState::Woken;
                self.woken += 1;
                to_wake.push(sleeper.thread.clone());
            }
        }
    }

    /// `key` is about to write (messages, a replay, a heartbeat) or otherwise leave
    /// its sleep: if the relay woke it, it passes its turn to the next in the queue, and
    /// until it goes idle again no publish queues it.
    pub fn start_sending(&mut self, key: SubscriberKey, to_wake: &mut Vec<Thread>) {
        self.set_state(key, WaitState::Busy, to_wake);
    }

    /// `key` found nothing to send and is going to sleep.
    pub fn go_idle(&mut self, key: SubscriberKey, to_wake: &mut Vec<Thread>) {
        self.set_state(key, WaitState::Idle, to_wake);
    }

    /// Every registered subscriber's thread (to wake them all at shutdown).
    pub fn all_threads(&self) -> Vec<Thread> {
        self.sleepers
            .values()
            .map(|sleeper| sleeper.thread.clone())
            .collect()
    }

    fn set_state(&mut self, key: SubscriberKey, state: WaitState, to_wake: &mut Vec<Thread>) {
        let Some(sleeper) = self.sleepers.get_mut(key) else {
            return;
        };
        let was_woken = sleeper.state == WaitState::Woken;
        sleeper.state = state;
        if was_woken {
            self.woken -= 1;
            self.wake_next(to_wake);
        }
    }

    #[cfg(test)]
    fn state(&self, key: SubscriberKey) -> Option<WaitState> {
        self.sleepers.get(key).map(|sleeper| sleeper.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay_with(width: usize, count: usize) -> (Relay, Vec<SubscriberKey>) {
        let mut relay = Relay::new(width);
        let keys = (0..count)
            .map(|_| relay.register(std::thread::current()))
            .collect::<Vec<_>>();
        let mut to_wake = Vec::new();
        for &key in &keys {
            relay.go_idle(key, &mut to_wake);
        }
        assert!(to_wake.is_empty());
        (relay, keys)
    }

    #[test]
    fn a_publish_wakes_at_most_width_and_each_runner_passes_the_baton() {
        let (mut relay, keys) = relay_with(2, 5);
        let mut to_wake = Vec::new();
        keys.iter().for_each(|&key| relay.schedule(key));
        relay.wake_next(&mut to_wake);
        assert_eq!(to_wake.len(), 2);
        assert_eq!(relay.state(keys[0]), Some(WaitState::Woken));
        assert_eq!(relay.state(keys[2]), Some(WaitState::Queued));

        // The first runner takes its messages: the third subscriber is woken.
        to_wake.clear();
        relay.start_sending(keys[0], &mut to_wake);
        assert_eq!(to_wake.len(), 1);
        assert_eq!(relay.state(keys[2]), Some(WaitState::Woken));
        assert_eq!(relay.woken, 2);
    }

    #[test]
    fn a_queued_subscriber_that_wakes_by_itself_is_skipped_later() {
        let (mut relay, keys) = relay_with(1, 3);
        let mut to_wake = Vec::new();
        keys.iter().for_each(|&key| relay.schedule(key));
        relay.wake_next(&mut to_wake);
        // The last one wakes for a heartbeat, finds its message and sends it.
        relay.start_sending(keys[2], &mut to_wake);
        relay.go_idle(keys[2], &mut to_wake);
        to_wake.clear();
        relay.start_sending(keys[0], &mut to_wake);
        relay.start_sending(keys[1], &mut to_wake);
        // keys[1] was woken by keys[0]; the stale entry for keys[2] wakes nobody.
        assert_eq!(to_wake.len(), 1);
        assert_eq!(relay.woken, 0);
        assert_eq!(relay.state(keys[2]), Some(WaitState::Idle));
    }

    #[test]
    fn a_woken_subscriber_that_leaves_passes_its_turn_and_its_slot_is_reused() {
        let (mut relay, keys) = relay_with(1, 2);
        let mut to_wake = Vec::new();
        keys.iter().for_each(|&key| relay.schedule(key));
        relay.wake_next(&mut to_wake);
        to_wake.clear();
        relay.unregister(keys[0], &mut to_wake);
        assert_eq!(to_wake.len(), 1, "the second subscriber gets the turn");
        assert_eq!(relay.len(), 1);
        assert_eq!(relay.register(std::thread::current()), keys[0]);
    }
}
