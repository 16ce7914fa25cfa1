//! Held messages that have outlived `--history-ttl-s`.
//!
//! A history exists so that a client that lost its connection can catch up when it
//! comes back, which it does within seconds or minutes. A message held for days
//! serves no one, and a topic kept alive only by such messages holds a place in
//! `--max-topics` for nothing: one token holder who published to a hundred thousand
//! made-up topics once would hold them forever. So every held message is dropped once
//! it is older than the time-to-live (as Centrifugo's `history_ttl` does), and a topic
//! left with no message and no follower is removed with it.
//!
//! Finding what is too old costs no walk over the topics: messages are held in id
//! order, which is the order the hub took them in, so the oldest message of all is the
//! oldest of the topic that ranks first by its oldest id (`budget.rs` keeps that
//! ranking), and expiring is popping that topic's oldest message until the first one
//! left is young enough. The hub expires before every publish and every batch from
//! the shared log, and the server's expiry thread calls [`Hub::expire`] every second
//! or so, so that a server nobody publishes to lets its old topics go too.

use std::time::{Duration, Instant};

use crate::pubsub::budget::Histories;
use crate::pubsub::hub::{Hub, HubState};
use crate::sync::lock;

impl Hub {
    /// Drops every held message older than `--history-ttl-s` (none without one), and
    /// the topics that then hold nothing and have no follower. Returns how many
    /// messages were dropped from a history.
    pub fn expire(&self) -> usize {
        let mut state = lock(&self.state);
        state.expire_held(self.subjects.history_ttl, Instant::now())
    }
}

impl HubState {
    /// Drops the held messages that were taken in more than `ttl` before `now`.
    pub(super) fn expire_held(&mut self, ttl: Option<Duration>, now: Instant) -> usize {
        let Some(ttl) = ttl else {
            return 0;
        };
        let mut histories = Histories {
            topics: &mut self.topics,
            budget: &mut self.budget,
            forgotten: &mut self.forgotten,
            owners: &mut self.owners,
        };
        let mut dropped = 0;
        while let Some((_, name)) = histories.budget.oldest_held().cloned() {
            let expired = histories
                .topics
                .get(&name)
                .and_then(|topic| topic.history.front())
                .is_some_and(|oldest| now.saturating_duration_since(oldest.held_since) > ttl);
            if !expired {
                break;
            }
            histories.drop_oldest_of(&name);
            dropped += 1;
        }
        dropped
    }
}
