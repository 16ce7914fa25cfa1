//! What the hub keeps for replay: the updates publishers sent, and apart from them its
//! own subscription events, each in a bounded ring, oldest out first.
//!
//! Two rings, because the hub's own events come in waves: a thousand clients that
//! reconnect at once are two thousand events (each left, each came back). In one ring
//! they would push out every update the same clients are about to ask for with their
//! `Last-Event-ID`, and each would be told `earliest`, its updates lost. Apart, a wave
//! of presence costs presence history only.
//!
//! ```text
//! updates     [seq 4: urn:a] [seq 7: urn:b] [seq 9: urn:c]     at most `history`, `history_bytes`
//! hub events  [seq 5] [seq 6] [seq 8]                           the same bounds, separately
//! ids         urn:a -> 4, urn:b -> 7, ...                       the earliest held with each id
//! ```
//!
//! A replay reads both after a seq, merged back into the one order of the hub.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use crate::mercure::matcher::Matcher;
use crate::mercure::token::Access;
use crate::mercure::update::{EARLIEST, Update};

/// Updates kept, and bytes they may hold, per ring.
#[derive(Debug, Clone, Copy)]
pub struct HistoryLimits {
    pub updates: usize,
    pub bytes: usize,
}

/// The two rings and the ids they hold.
#[derive(Default)]
pub struct History {
    published: Ring,
    hub_events: Ring,
    /// The earliest held update with each id (spec: a reused id resolves to the
    /// earliest); every id held is here.
    seq_of_id: HashMap<String, u64>,
    /// The ids of the updates most recently let go, as many as a ring holds: a
    /// publisher may not take one of them either (see [`History::is_taken`]).
    retired: VecDeque<String>,
    retired_set: HashSet<String>,
}

/// Held updates, oldest first, and the bytes they hold (the sum of their encodings).
#[derive(Default)]
struct Ring {
    held: VecDeque<Arc<Update>>,
    bytes: usize,
}

impl History {
    /// Keeps `update` (its seq larger than any held), letting the oldest of its ring
    /// go past `limits`.
    pub fn hold(&mut self, update: &Arc<Update>, limits: HistoryLimits) {
        self.seq_of_id
            .entry(update.id.clone())
            .or_insert(update.seq);
        let ring = if update.hub_event {
            &mut self.hub_events
        } else {
            &mut self.published
        };
        ring.held.push_back(Arc::clone(update));
        ring.bytes += update.encoded.len();
        let mut evicted = Vec::new();
        while ring.held.len() > limits.updates.max(1)
            || (ring.bytes > limits.bytes && ring.held.len() > 1)
        {
            let Some(oldest) = ring.held.pop_front() else {
                break;
            };
            ring.bytes -= oldest.encoded.len();
            evicted.push(oldest);
        }
        for oldest in evicted {
            self.forget_id(&oldest);
            self.retire(&oldest.id, limits.updates.max(1));
        }
    }

    /// Whether `id` is held, or was let go recently. A publisher that supplies such an
    /// id gets a generated one instead (the spec lets a hub ignore a supplied id): a
    /// `Last-Event-ID` resolves to the earliest update held with its id, so a reused id
    /// would move another client's place in the history (an attacker's update with a
    /// public update's id, held after the original is gone, would make everyone who
    /// resumes from the original skip what came between, untold). Remembering the
    /// retired ids too closes that window for as many updates as a ring holds.
    pub fn is_taken(&self, id: &str) -> bool {
        self.seq_of_id.contains_key(id) || self.retired_set.contains(id)
    }

    /// Remembers `id` as let go, forgetting the oldest past `capacity`.
    fn retire(&mut self, id: &str, capacity: usize) {
        if self.retired_set.insert(id.to_string()) {
            self.retired.push_back(id.to_string());
        }
        while self.retired.len() > capacity {
            if let Some(old) = self.retired.pop_front() {
                self.retired_set.remove(&old);
            }
        }
    }

    /// The seq of the earliest held update with `id`.
    pub fn seq_of(&self, id: &str) -> Option<u64> {
        self.seq_of_id.get(id).copied()
    }

    /// What a joining subscriber gets, and the `Mercure-Last-Event-ID` to answer with
    /// (spec, "Reconciliation"): the id it asked after when we hold it, `earliest` when
    /// we send from the start (it asked for that, or for an id we no longer hold, or we
    /// hold nothing). Only the updates one of `matchers` selects and `access` may read.
    pub fn replay(
        &self,
        matchers: &[Matcher],
        access: Option<&Access>,
        asked: Option<&str>,
    ) -> (Vec<Arc<Update>>, Option<String>) {
        let Some(asked) = asked else {
            return (Vec::new(), None);
        };
        let after_seq = (asked != EARLIEST).then(|| self.seq_of(asked)).flatten();
        let resumed_after = match after_seq {
            Some(_) => asked.to_string(),
            None => EARLIEST.to_string(),
        };
        let updates = self
            .after(after_seq)
            .into_iter()
            .filter(|update| {
                update
                    .topics
                    .iter()
                    .any(|topic| matchers.iter().any(|matcher| matcher.matches(topic)))
            })
            .filter(|update| update.may_be_read_by(access))
            .collect();
        (updates, Some(resumed_after))
    }

    /// Every held update after `after` (all, for `None`), in the hub's order.
    pub fn after(&self, after: Option<u64>) -> Vec<Arc<Update>> {
        let newer = |ring: &Ring| -> Vec<Arc<Update>> {
            let start = after.map_or(0, |after| {
                ring.held.partition_point(|update| update.seq <= after)
            });
            ring.held.range(start..).cloned().collect()
        };
        let mut merged = newer(&self.published);
        merged.extend(newer(&self.hub_events));
        merged.sort_unstable_by_key(|update| update.seq);
        merged
    }

    /// After `oldest` is gone: if it was the earliest with its id, the next held with
    /// that id (if any) takes its place.
    fn forget_id(&mut self, oldest: &Update) {
        if self.seq_of_id.get(&oldest.id) != Some(&oldest.seq) {
            return;
        }
        self.seq_of_id.remove(&oldest.id);
        let later = self
            .published
            .held
            .iter()
            .chain(&self.hub_events.held)
            .filter(|held| held.id == oldest.id)
            .map(|held| held.seq)
            .min();
        if let Some(later) = later {
            self.seq_of_id.insert(oldest.id.clone(), later);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mercure::update::PublishForm;

    fn update(seq: u64, id: &str, hub_event: bool) -> Arc<Update> {
        let form = PublishForm {
            topics: vec!["t".into()],
            data: "x".into(),
            private: false,
            id: None,
            event_type: None,
            retry: None,
        };
        let mut update = Update::new(&form, id.to_string());
        update.seq = seq;
        update.hub_event = hub_event;
        Arc::new(update)
    }

    const LIMITS: HistoryLimits = HistoryLimits {
        updates: 2,
        bytes: 1 << 20,
    };

    /// The second attacker's review: an update with a public update's id, held after the
    /// original is gone, made a client resuming from the original skip what came
    /// between. Held and recently let go, an id is taken; so a publisher cannot reuse
    /// it, and a resume from it finds nothing and answers `earliest`.
    #[test]
    fn held_and_lately_retired_ids_are_taken() {
        let mut history = History::default();
        history.hold(&update(1, "public-1", false), LIMITS);
        assert!(history.is_taken("public-1"));
        history.hold(&update(2, "b", false), LIMITS);
        history.hold(&update(3, "c", false), LIMITS);
        // Let go, and still taken while as many updates as a ring holds come after it.
        assert_eq!(history.seq_of("public-1"), None);
        assert!(history.is_taken("public-1"));
        let (_, resumed) = history.replay(&[], None, Some("public-1"));
        assert_eq!(resumed.as_deref(), Some(EARLIEST));
        history.hold(&update(4, "d", false), LIMITS);
        assert!(history.is_taken("public-1"), "one of the last two let go");
        history.hold(&update(5, "e", false), LIMITS);
        assert!(
            !history.is_taken("public-1"),
            "forgotten past a ring's size"
        );
        assert!(!history.is_taken("never-held"));
    }

    #[test]
    fn a_wave_of_hub_events_leaves_the_published_updates_alone() {
        let mut history = History::default();
        history.hold(&update(1, "a", false), LIMITS);
        history.hold(&update(2, "b", false), LIMITS);
        for seq in 3..100 {
            history.hold(&update(seq, &format!("event {seq}"), true), LIMITS);
        }
        assert_eq!(history.seq_of("a"), Some(1));
        assert_eq!(history.seq_of("event 3"), None, "out of its ring");
        let seqs: Vec<u64> = history
            .after(Some(1))
            .iter()
            .map(|update| update.seq)
            .collect();
        assert_eq!(seqs, [2, 98, 99], "both rings, in the hub's order");
    }

    #[test]
    fn an_id_held_twice_resolves_to_the_earliest_still_held() {
        let mut history = History::default();
        history.hold(&update(1, "x", false), LIMITS);
        history.hold(&update(2, "x", false), LIMITS);
        assert_eq!(history.seq_of("x"), Some(1));
        history.hold(&update(3, "y", false), LIMITS);
        assert_eq!(history.seq_of("x"), Some(2));
        history.hold(&update(4, "z", false), LIMITS);
        assert_eq!(history.seq_of("x"), None);
        let seqs: Vec<u64> = history
            .after(None)
            .iter()
            .map(|update| update.seq)
            .collect();
        assert_eq!(seqs, [3, 4]);
    }
}
