//! The Mercure hub: one sequence of updates, the subscribers, and who gets what.
//!
//! It has the shape of the project's own hub (`pubsub/hub.rs`: one lock, no I/O under
//! it, each subscriber writing on its own thread), with one difference that Mercure
//! forces: a subscriber is found by *matching*, and a private update goes only to the
//! subscribers whose token may read it. So a publish decides, under the lock, exactly
//! who gets the update, and puts it in their queues:
//!
//! ```text
//! publish ─► lock: give it the next seq, keep it in the history, find its subscribers:
//!              exact matchers   by topic, in a HashMap       (one lookup per topic)
//!              `*`              everyone in a list
//!              URL patterns     one evaluation per distinct pattern, then its group
//!            keep those allowed to read it (a private update: their token); queue it
//!            unlock; unpark their threads
//! subscriber thread: lock, take its queue, unlock, write it to its socket
//! ```
//!
//! So a publish costs one lookup per topic, one parse per topic, plus one evaluation
//! per *distinct* pattern on the topic's host (or on any host), whatever the number of
//! exact subscribers, and a thousand subscribers to the same pattern cost one
//! evaluation. What may join is bounded so that this stays small: a pattern's states
//! (`matcher.rs`), the distinct patterns in all and per client address and token
//! subject (`index.rs`); a join past them is refused before anything is added.
//! Subscription events (presence) are published only for a hub started with
//! `--mercure-subscriptions`, as the reference hub's `subscriptions` option does: each
//! is one more update dispatched under the lock, per matcher, on join and on leave.
//!
//! Replay is the same selection run over the history, at the moment a subscriber joins
//! and under the same lock: nothing published meanwhile can be lost or sent twice.
//!
//! Bounds: the history keeps at most [`HubLimits::history`] updates and
//! [`HubLimits::history_bytes`] bytes (oldest first out), and as many of the hub's own
//! subscription events apart (`history.rs`); a queue holds at most
//! [`MAX_QUEUED`] updates. A subscriber whose queue would overflow is not reading: it
//! is told so once ([`Next::FellBehind`]) and its stream ends; it comes back with its
//! `Last-Event-ID` and catches up from the history.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, Thread};
use std::time::Duration;

use crate::mercure::history::{History, HistoryLimits};
use crate::mercure::index::{Index, Owner, PatternLimits, PatternRefusal};
use crate::mercure::matcher::Matcher;
use crate::mercure::namespace::HubUrl;
use crate::mercure::subscriptions::{self, SubscriptionDoc};
use crate::mercure::token::Access;
use crate::mercure::update::{EARLIEST, Update};
use crate::slab::Slab;
use crate::sync::lock;

/// The most updates waiting in one subscriber's queue.
pub const MAX_QUEUED: usize = 4096;

/// How much history the hub keeps.
#[derive(Debug, Clone, Copy)]
pub struct HubLimits {
    pub history: usize,
    pub history_bytes: usize,
}

/// Who is subscribing: their matchers and what their token lets them read.
pub struct Joining {
    pub matchers: Vec<Matcher>,
    /// Whose shares of the distinct patterns this subscriber counts against: its
    /// client address, and its token's subject if it has one.
    pub owners: Vec<Owner>,
    /// The caps those shares and the total are checked against (`--mercure-*` flags).
    pub pattern_limits: PatternLimits,
    /// Whether to publish its subscription events (`--mercure-subscriptions`).
    pub announced: bool,
    /// `None` without a token: public updates only.
    pub access: Option<Arc<Access>>,
    /// Where to resume: a `Last-Event-ID`, `earliest`, or nothing (live only).
    pub last_event_id: Option<String>,
}

/// What a subscriber's thread gets when it asks for more.
pub enum Next {
    /// Updates to write, in order.
    Updates(Vec<Arc<Update>>),
    /// Nothing came before the timeout.
    Idle,
    /// The client watch says the client may have left: look.
    CheckClient,
    /// Its queue overflowed: the stream ends, and the client resumes from the history.
    FellBehind,
    /// The hub closed (shutdown).
    Closed,
}

/// The Mercure hub.
pub struct MercureHub {
    pub hub_url: HubUrl,
    limits: HubLimits,
    /// Whether this hub publishes its own subscription events. With a shared log, the
    /// subscriber's stream announces them through the log instead (`log.rs`), so that
    /// every instance's subscribers see them, in log order.
    announces_here: bool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// What is kept for replay (`history.rs`).
    history: History,
    /// The id of the last update dispatched, for the subscriptions API's cursor.
    last_id: Option<String>,
    next_seq: u64,
    subscribers: Slab<Subscriber>,
    /// The subscribers' keys by matcher (`index.rs`).
    index: Index,
    closed: bool,
}

struct Subscriber {
    thread: Thread,
    /// The hub-made `urn:uuid:` of this connection (spec: never from the client).
    id: String,
    matchers: Vec<Matcher>,
    owners: Vec<Owner>,
    announced: bool,
    access: Option<Arc<Access>>,
    queue: VecDeque<Arc<Update>>,
    fell_behind: bool,
    /// The seq last queued, so a subscriber selected by two matchers gets it once.
    last_queued: Option<u64>,
}

/// A subscriber's place in the hub; dropping it leaves (and says so, spec
/// "Subscription Events").
pub struct Membership<'hub> {
    hub: &'hub MercureHub,
    key: usize,
    /// The hub-made subscriber id.
    pub subscriber_id: String,
    /// Its subscriptions, as the documents that announced them.
    pub joined: Vec<SubscriptionDoc>,
    /// The `Mercure-Last-Event-ID` to answer with, when a cursor was sent.
    pub resumed_after: Option<String>,
}

impl MercureHub {
    pub fn new(hub_url: HubUrl, limits: HubLimits) -> MercureHub {
        MercureHub {
            hub_url,
            limits,
            announces_here: true,
            state: Mutex::new(State::default()),
        }
    }

    /// The same hub, leaving its subscription events to be announced through the shared
    /// log by the subscribers' streams.
    pub fn announcing_through_the_log(self) -> MercureHub {
        MercureHub {
            announces_here: false,
            ..self
        }
    }

    /// Dispatches `update` (its `seq` is set here); returns its id.
    pub fn publish(&self, update: Update) -> String {
        let id = update.id.clone();
        let mut to_wake = Vec::new();
        {
            let mut state = lock(&self.state);
            self.dispatch(&mut state, update, &mut to_wake);
        }
        to_wake.into_iter().for_each(|thread| thread.unpark());
        id
    }

    /// Adds the calling thread as a subscriber, queues what it asked to replay, and
    /// publishes its subscription events if asked to; refused, with nothing added, when
    /// its URL patterns do not fit the caps.
    pub fn join(
        &self,
        joining: Joining,
        subscriber_id: String,
    ) -> Result<Membership<'_>, PatternRefusal> {
        let mut to_wake = Vec::new();
        let mut state = lock(&self.state);
        state
            .index
            .admits(&joining.matchers, &joining.owners, joining.pattern_limits)?;
        let (replay, resumed_after) = state.history.replay(
            &joining.matchers,
            joining.access.as_deref(),
            joining.last_event_id.as_deref(),
        );
        let key = state.subscribers.insert(Subscriber {
            thread: thread::current(),
            id: subscriber_id.clone(),
            matchers: joining.matchers.clone(),
            owners: joining.owners.clone(),
            announced: joining.announced,
            access: joining.access.clone(),
            last_queued: replay.last().map(|update| update.seq),
            queue: replay.into(),
            fell_behind: false,
        });
        state.index.add(key, &joining.matchers, &joining.owners);
        let joined = if joining.announced {
            subscriptions::docs_of(
                &subscriber_id,
                &joining.matchers,
                joining.access.as_deref(),
                true,
            )
        } else {
            Vec::new()
        };
        if self.announces_here {
            for doc in &joined {
                let update = subscriptions::event_of(doc, &self.hub_url);
                self.dispatch(&mut state, update, &mut to_wake);
            }
        }
        drop(state);
        to_wake.into_iter().for_each(|thread| thread.unpark());
        Ok(Membership {
            hub: self,
            key,
            subscriber_id,
            joined,
            resumed_after,
        })
    }

    /// The next updates for `membership`, waiting up to `timeout` for some.
    pub fn next(&self, membership: &Membership, timeout: Duration, alarm: &AtomicBool) -> Next {
        for attempt in 0..2 {
            {
                let mut state = lock(&self.state);
                let closed = state.closed;
                let Some(subscriber) = state.subscribers.get_mut(membership.key) else {
                    return Next::Closed;
                };
                if subscriber.fell_behind {
                    return Next::FellBehind;
                }
                if !subscriber.queue.is_empty() {
                    return Next::Updates(subscriber.queue.drain(..).collect());
                }
                if closed {
                    return Next::Closed;
                }
            }
            if alarm.swap(false, Ordering::AcqRel) {
                return Next::CheckClient;
            }
            if attempt == 0 {
                // A publish that queued for us after we looked unparks us: the token
                // park keeps makes that wake-up count even if it came first.
                thread::park_timeout(timeout);
            }
        }
        Next::Idle
    }

    /// Whether a publisher may not use `id` (`History::is_taken`).
    pub fn id_is_taken(&self, id: &str) -> bool {
        lock(&self.state).history.is_taken(id)
    }

    /// The `Mercure-Last-Event-ID` a subscriber resuming after `asked` would get
    /// (for a `HEAD`, which does not join).
    pub fn resume_point(&self, asked: &str) -> String {
        let state = lock(&self.state);
        if asked != EARLIEST && state.history.seq_of(asked).is_some() {
            asked.to_string()
        } else {
            EARLIEST.to_string()
        }
    }

    /// Every active subscription, for the subscriptions API (those of subscribers
    /// whose events are published: the API and the events tell the same story).
    pub fn subscriptions(&self) -> (Vec<SubscriptionDoc>, Option<String>) {
        let state = lock(&self.state);
        let docs = state
            .subscribers
            .values()
            .filter(|subscriber| subscriber.announced)
            .flat_map(|subscriber| {
                subscriptions::docs_of(
                    &subscriber.id,
                    &subscriber.matchers,
                    subscriber.access.as_deref(),
                    true,
                )
            })
            .collect();
        (docs, state.last_id.clone())
    }

    /// URL pattern evaluations publishes have made so far: at most one per distinct
    /// pattern and topic of each update, however many subscribe with that pattern.
    pub fn pattern_evaluations(&self) -> u64 {
        lock(&self.state).index.pattern_evaluations
    }

    /// Topics publishes have parsed as URLs so far: one per topic of an update, however
    /// many patterns are tried on it.
    pub fn topic_parses(&self) -> u64 {
        lock(&self.state).index.topic_parses
    }

    /// Distinct URL patterns held now.
    pub fn pattern_count(&self) -> usize {
        lock(&self.state).index.pattern_count()
    }

    /// Subscribers connected now.
    pub fn subscriber_count(&self) -> usize {
        lock(&self.state).subscribers.len()
    }

    /// Ends every subscription (shutdown): each thread wakes and finds [`Next::Closed`].
    pub fn close(&self) {
        let threads: Vec<Thread> = {
            let mut state = lock(&self.state);
            state.closed = true;
            state
                .subscribers
                .values()
                .map(|subscriber| subscriber.thread.clone())
                .collect()
        };
        threads.into_iter().for_each(|thread| thread.unpark());
    }

    /// Gives `update` its seq, holds it, and queues it for everyone who should get it.
    fn dispatch(&self, state: &mut State, mut update: Update, to_wake: &mut Vec<Thread>) {
        update.seq = state.next_seq;
        state.next_seq += 1;
        let update = Arc::new(update);
        let limits = HistoryLimits {
            updates: self.limits.history,
            bytes: self.limits.history_bytes,
        };
        state.history.hold(&update, limits);
        state.last_id = Some(update.id.clone());
        let selected = state.index.select(&update.topics, &self.hub_url.base);
        for key in selected {
            let Some(subscriber) = state.subscribers.get_mut(key) else {
                continue;
            };
            if subscriber.last_queued == Some(update.seq)
                || !update.may_be_read_by(subscriber.access.as_deref())
            {
                continue;
            }
            subscriber.last_queued = Some(update.seq);
            if subscriber.queue.len() == MAX_QUEUED {
                subscriber.fell_behind = true;
                subscriber.queue.clear();
            } else if !subscriber.fell_behind {
                subscriber.queue.push_back(Arc::clone(&update));
            }
            to_wake.push(subscriber.thread.clone());
        }
    }

    fn leave(&self, key: usize) {
        let mut to_wake = Vec::new();
        let mut state = lock(&self.state);
        let Some(subscriber) = state.subscribers.remove(key) else {
            return;
        };
        state
            .index
            .remove(key, &subscriber.matchers, &subscriber.owners);
        if !state.closed && self.announces_here && subscriber.announced {
            let docs = subscriptions::docs_of(
                &subscriber.id,
                &subscriber.matchers,
                subscriber.access.as_deref(),
                false,
            );
            for doc in docs {
                let update = subscriptions::event_of(&doc, &self.hub_url);
                self.dispatch(&mut state, update, &mut to_wake);
            }
        }
        drop(state);
        to_wake.into_iter().for_each(|thread| thread.unpark());
    }
}

impl Drop for Membership<'_> {
    fn drop(&mut self) {
        self.hub.leave(self.key);
    }
}

#[cfg(test)]
#[path = "hub_tests.rs"]
mod tests;
