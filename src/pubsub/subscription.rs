//! A subscriber's side of the hub: one [`Subscription`] per stream, owned by the
//! stream's thread. It remembers the id of the last message it sent, takes everything
//! newer from the histories of its topics in one look under the hub's lock, and sleeps
//! until the relay (`relay.rs`) wakes it when there is more.

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crate::pubsub::event_id::EventId;
use crate::pubsub::hub::{Hub, HubError, IdSource};
use crate::pubsub::missed::{Missed, Resume};
use crate::pubsub::relay::SubscriberKey;
use crate::pubsub::subject::{ANONYMOUS, Subject};
use crate::pubsub::topic::{Message, TopicName};
use crate::sync::lock;

impl Hub {
    /// Registers the calling thread as a subscriber to `topics`, resuming after
    /// the browser's `Last-Event-ID` or, without one, starting with the next message
    /// published (see [`Resume`]). From this call on, nothing published to those
    /// topics can be missed: register before telling the client the stream is open.
    pub fn subscribe(
        &self,
        topics: Vec<TopicName>,
        resume: impl Into<Resume>,
    ) -> Result<Subscription<'_>, HubError> {
        let anyone = Subject::from(ANONYMOUS);
        self.subscribe_within(topics, resume.into(), self.limits.max_topics, &anyone)
    }

    /// [`Hub::subscribe`] for a token holder, `subject`, who owns the topics its
    /// subscription creates: refused if it would own more than its share of them
    /// (`owners.rs`).
    pub fn subscribe_as(
        &self,
        subject: &Subject,
        topics: Vec<TopicName>,
        resume: impl Into<Resume>,
    ) -> Result<Subscription<'_>, HubError> {
        self.subscribe_within(topics, resume.into(), self.limits.max_topics, subject)
    }

    /// [`Hub::subscribe`] for a client without a token (following `--public` topics):
    /// it may create topics only as long as no more than
    /// [`HubLimits::anonymous_topics`] then exist, so that the rest stays free for
    /// token holders.
    ///
    /// [`HubLimits::anonymous_topics`]: crate::pubsub::hub::HubLimits::anonymous_topics
    pub fn subscribe_anonymously(
        &self,
        topics: Vec<TopicName>,
        resume: impl Into<Resume>,
    ) -> Result<Subscription<'_>, HubError> {
        let limit = self.limits.anonymous_topics();
        let anyone = Subject::from(ANONYMOUS);
        self.subscribe_within(topics, resume.into(), limit, &anyone)
            .map_err(|_| HubError::TooManyAnonymousTopics { limit })
    }

    /// Subscribes if the topics it would create keep their number within `max_topics`
    /// (and says [`HubError::TooManyTopics`] with that limit if not), and `subject`
    /// within its share of them.
    fn subscribe_within(
        &self,
        topics: Vec<TopicName>,
        resume: Resume,
        max_topics: usize,
        subject: &Subject,
    ) -> Result<Subscription<'_>, HubError> {
        let mut state = lock(&self.state);
        state.make_room(&topics, subject, max_topics, self.subjects)?;
        let key = state.relay.register(thread::current());
        for name in &topics {
            let state = &mut *state;
            let topic =
                state
                    .owners
                    .topic_entry(&state.forgotten, &mut state.topics, name, subject);
            topic.followers.insert(key);
        }
        let (last_sent_id, missed_at_start) =
            state.start_after(&topics, resume, self.limits.max_replay);
        Ok(Subscription {
            hub: self,
            key,
            topics,
            last_sent_id,
            gap_reported_through: EventId::ZERO,
            missed_at_start,
            not_send: PhantomData,
        })
    }
}

/// What a subscriber gets from one [`Subscription::next_delivery`].
#[derive(Debug)]
pub enum Delivery {
    /// Messages after the last one sent, oldest first: all of them, or as many as fit
    /// in [`MAX_BATCH_BYTES`](crate::pubsub::hub::MAX_BATCH_BYTES). `missed` says
    /// that messages between the last one sent and these will never be sent (said
    /// once per gap, and then `messages` may be empty): on a reconnect with an old or
    /// foreign `Last-Event-ID`, one cut by `--max-replay`, or by a subscriber that
    /// read too slowly (see `missed.rs`).
    Messages {
        messages: Vec<Arc<Message>>,
        missed: Option<Missed>,
    },
    /// With a shared log (`--redis`): messages after `after`, up to and including
    /// `through`, may exist but are not held here. The caller reads them from the log,
    /// sends those of its topics, then calls [`Subscription::skip_to`]`(through)`.
    Gap { after: EventId, through: EventId },
    /// Nothing was published before the timeout.
    Idle,
    /// The alarm was raised: the client watch thinks the client has left.
    CheckClient,
    /// The server is shutting down.
    Closed,
}

/// One subscriber's place in the hub. It belongs to the thread that subscribed (that
/// thread is the one the relay wakes), so it cannot be sent to another thread.
/// Dropping it unregisters the subscriber.
pub struct Subscription<'hub> {
    hub: &'hub Hub,
    key: SubscriberKey,
    topics: Vec<TopicName>,
    /// Everything with a larger id, in the followed topics, is still to be sent.
    last_sent_id: EventId,
    /// The newest dropped id already reported as missed, so a gap is reported once.
    gap_reported_through: EventId,
    /// What the first delivery is to report (see [`Resume`]).
    missed_at_start: Option<Missed>,
    /// `PhantomData<*const ()>` is neither `Send` nor `Sync`.
    not_send: PhantomData<*const ()>,
}

impl Subscription<'_> {
    /// The topics this subscription follows.
    pub fn topics(&self) -> &[TopicName] {
        &self.topics
    }

    /// After the caller has sent what the log held up to `id` (see [`Delivery::Gap`]),
    /// the hub takes over from there.
    pub fn skip_to(&mut self, id: EventId) {
        self.last_sent_id = self.last_sent_id.max(id);
        self.gap_reported_through = self.gap_reported_through.max(id);
    }

    /// About how many held messages the hub will send after `id` (an upper bound):
    /// a replay from the log leaves room for them within `--max-replay`.
    pub fn held_after(&self, id: EventId) -> usize {
        lock(&self.hub.state).count_held_after(&self.topics, id)
    }

    /// Waits up to `timeout` for messages after the last one returned, and returns
    /// all of them at once (up to a batch): a subscriber that wakes late sends its
    /// backlog in one write. Returns early with [`Delivery::CheckClient`] when `alarm`
    /// is raised (and lowers it); whoever raises it must then unpark this thread.
    ///
    /// Whatever it returns (but `Closed`), the caller is about to write (messages, a
    /// replay, a heartbeat), so the relay counts this subscriber busy from then on: a
    /// publish meanwhile never hands it one of the relay's turns, which it could not
    /// use before its write ends (see relay.rs).
    pub fn next_delivery(&mut self, timeout: Duration, alarm: &AtomicBool) -> Delivery {
        let deadline = Instant::now() + timeout;
        loop {
            let time_is_up = Instant::now() >= deadline;
            let mut to_wake = Vec::new();
            let outcome = self.look(&mut to_wake, alarm, time_is_up);
            to_wake.iter().for_each(Thread::unpark);
            if let Some(delivery) = outcome {
                return delivery;
            }
            // Wakes early when the relay unparks us; a wake-up that came between the
            // unlock in `look` and this call is not lost (see relay.rs).
            thread::park_timeout(deadline.saturating_duration_since(Instant::now()));
        }
    }

    /// One look under the lock: messages to send, a reason to return, or `None` after
    /// telling the relay we are going to sleep. Every `Some` tells the relay first that
    /// this subscriber is busy, passing on its turn if it had one.
    // Not inlined into `next_delivery`: the batch's merge takes a large frame, which
    // must be gone while the stream sleeps in `park_timeout` (tests/stack_budget.rs).
    #[inline(never)]
    fn look(
        &mut self,
        to_wake: &mut Vec<Thread>,
        alarm: &AtomicBool,
        time_is_up: bool,
    ) -> Option<Delivery> {
        let mut state = lock(&self.hub.state);
        if state.closed {
            return Some(Delivery::Closed);
        }
        // The alarm and the end of the wait send the caller to its socket (a read, or
        // a heartbeat that may block for the write timeout on a client that stopped
        // reading): it must not be woken for a turn while it is there.
        if alarm.swap(false, Ordering::AcqRel) {
            state.relay.start_sending(self.key, to_wake);
            return Some(Delivery::CheckClient);
        }
        // A gap: the histories dropped messages newer than the last one sent.
        let dropped = state.dropped_through(&self.topics);
        if dropped > self.last_sent_id && state.ids == IdSource::Log {
            // The log still has them (or knows that it does not): ask it first. Reading
            // it takes round trips to Redis, so the relay's turn passes on now.
            state.relay.start_sending(self.key, to_wake);
            // What the start had to tell goes first, before anything the log sends.
            if let Some(missed) = self.missed_at_start.take() {
                return Some(Delivery::Messages {
                    messages: Vec::new(),
                    missed: Some(missed),
                });
            }
            return Some(Delivery::Gap {
                after: self.last_sent_id,
                through: dropped,
            });
        }
        let mut missed = self.missed_at_start.take();
        if dropped > self.last_sent_id && dropped > self.gap_reported_through {
            self.gap_reported_through = dropped;
            let since = state.missed_since(&self.topics, self.last_sent_id);
            missed = since.map(|since| since.and(missed)).or(missed);
        }
        let batch = state.pending(&self.topics, self.last_sent_id);
        if let Some(last) = batch.last() {
            self.last_sent_id = last.id;
        }
        if !batch.is_empty() || missed.is_some() {
            state.relay.start_sending(self.key, to_wake);
            return Some(Delivery::Messages {
                messages: batch,
                missed,
            });
        }
        if time_is_up {
            state.relay.start_sending(self.key, to_wake);
            return Some(Delivery::Idle);
        }
        state.relay.go_idle(self.key, to_wake);
        None
    }
}

impl Drop for Subscription<'_> {
    fn drop(&mut self) {
        let mut to_wake = Vec::new();
        {
            let mut state = lock(&self.hub.state);
            // Timed from the moment the lock is ours: `/stats` reports the total, what
            // leaving cost the publishes waiting for the lock.
            let locked_at = Instant::now();
            for name in &self.topics {
                if let Some(topic) = state.topics.get_mut(name) {
                    topic.followers.remove(self.key);
                    if topic.is_unused() {
                        let state = &mut *state;
                        let (forgotten, topics) = (&mut state.forgotten, &mut state.topics);
                        state.owners.remove_topic(forgotten, topics, name);
                    }
                }
            }
            state.relay.unregister(self.key, &mut to_wake);
            state.subscribers_left += 1;
            state.leave_lock_ns += locked_at.elapsed().as_nanos() as u64;
        }
        to_wake.iter().for_each(Thread::unpark);
    }
}
