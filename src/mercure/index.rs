//! Which subscribers an update is for, found without looking at the others.
//!
//! ```text
//! exact      "https://example.com/a" -> {3, 17}     one lookup per topic of the update
//! everything                            {5}         `*`: every update
//! patterns   by fixed hostname:
//!              Some("example.com") -> "https://example.com/books/:id" -> compiled once, {8, 9, 12, ...}
//!              None (a wildcard host) -> "https://*.example.com/*" -> ..., {4}
//! ```
//!
//! A publish costs one hash lookup per topic, one parse of each topic as a URL, and one
//! evaluation per distinct pattern *whose hostname can be the topic's* (stopping at the
//! first topic that matches): a thousand subscribers to the same pattern cost what one
//! does, and a pattern on `localhost` is never evaluated for a topic on `example.com`.
//! An evaluation costs at most the pattern's states (`matcher.rs` caps them) times the
//! topic's length, and is abandoned (not a match) past a fixed number of steps. Joining and leaving cost one set insert or removal per matcher. The
//! sets hold slab keys (`hub.rs`); a subscriber with two matchers that select the same
//! update is in two sets, and the hub queues the update once.
//!
//! The distinct patterns are what an update's cost grows with, and anyone may
//! subscribe, so they are bounded ([`PatternLimits`], spec "Resource Limits"): in all,
//! and per [`Owner`], a client address or a token subject. An owner's share counts the
//! distinct patterns it follows; a pattern many owners follow counts once for each,
//! and once in the total.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use crate::mercure::matcher::{Matcher, parse_topic};
use crate::mercure::url::Url;

/// Who holds a share of the hub's distinct URL patterns.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Owner {
    /// The client's address, as admission saw it.
    Address(IpAddr),
    /// A token's `sub` (never logged).
    Subject(String),
}

/// How many distinct URL patterns the hub holds, in all and per owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatternLimits {
    pub total: usize,
    pub per_address: usize,
    pub per_subject: usize,
}

/// Why a subscription's patterns were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternRefusal {
    /// The hub holds [`PatternLimits::total`] distinct patterns: 503.
    HubFull { limit: usize },
    /// This client address or subject holds its share: 429 (spec, "Subscription").
    ShareFull { by_subject: bool, limit: usize },
}

/// Subscribers by matcher.
#[derive(Default)]
pub struct Index {
    exact: HashMap<String, HashSet<usize>>,
    everything: HashSet<usize>,
    /// Distinct patterns by their fixed hostname (`None`: a hostname with a wildcard),
    /// then by their text.
    patterns: HashMap<Option<String>, HashMap<String, PatternGroup>>,
    /// Distinct patterns held, in all: the sum of the inner maps' lengths.
    pattern_count: usize,
    /// Distinct patterns per owner: `shares[o]` is the number of groups whose
    /// `owners` hold `o`, and an owner with none is absent.
    shares: HashMap<Owner, usize>,
    /// URL pattern evaluations made by [`Index::select`], in all; it only grows.
    pub pattern_evaluations: u64,
    /// Evaluations [`Index::select`] abandoned past their step budget (counted as not
    /// matching; `matcher.rs`); it only grows.
    pub evaluations_abandoned: u64,
    /// Topics [`Index::select`] parsed as URLs, in all: one per topic of an update
    /// that has patterns to try, however many patterns there are; it only grows.
    pub topic_parses: u64,
}

/// One distinct pattern, compiled once, and who follows it.
struct PatternGroup {
    matcher: Matcher,
    subscribers: HashSet<usize>,
    /// How many of `subscribers` each owner accounts for (no zero counts).
    owners: HashMap<Owner, usize>,
}

impl Index {
    /// Whether a subscriber owned by `owners` may add `matchers`' patterns: the
    /// distinct ones the hub, or an owner, does not hold yet must fit in `limits`.
    pub fn admits(
        &self,
        matchers: &[Matcher],
        owners: &[Owner],
        limits: PatternLimits,
    ) -> Result<(), PatternRefusal> {
        let mut asked: Vec<(Option<String>, &str)> = matchers
            .iter()
            .filter_map(|m| m.pattern().map(|p| (p.fixed_hostname(), m.text.as_str())))
            .collect();
        asked.sort_unstable();
        asked.dedup();
        let group = |(host, text): &(Option<String>, &str)| {
            self.patterns.get(host).and_then(|groups| groups.get(*text))
        };
        let new_here = asked.iter().filter(|key| group(key).is_none()).count();
        if self.pattern_count + new_here > limits.total {
            return Err(PatternRefusal::HubFull {
                limit: limits.total,
            });
        }
        for owner in owners {
            let (limit, by_subject) = match owner {
                Owner::Address(_) => (limits.per_address, false),
                Owner::Subject(_) => (limits.per_subject, true),
            };
            let new_for_owner = asked
                .iter()
                .filter(|key| group(key).is_none_or(|g| !g.owners.contains_key(owner)))
                .count();
            let held = self.shares.get(owner).copied().unwrap_or(0);
            if held + new_for_owner > limit {
                return Err(PatternRefusal::ShareFull { by_subject, limit });
            }
        }
        Ok(())
    }

    /// Lists subscriber `key`, owned by `owners`, under each of its `matchers` (call
    /// [`Index::admits`] first: this adds whatever it is given).
    pub fn add(&mut self, key: usize, matchers: &[Matcher], owners: &[Owner]) {
        for matcher in matchers {
            if matcher.is_wildcard() {
                self.everything.insert(key);
            } else if let Some(pattern) = matcher.pattern() {
                let groups = self.patterns.entry(pattern.fixed_hostname()).or_default();
                let group = groups.entry(matcher.text.clone()).or_insert_with(|| {
                    self.pattern_count += 1;
                    PatternGroup {
                        matcher: matcher.clone(),
                        subscribers: HashSet::new(),
                        owners: HashMap::new(),
                    }
                });
                // Twice the same pattern in one request counts once.
                if !group.subscribers.insert(key) {
                    continue;
                }
                for owner in owners {
                    let count = group.owners.entry(owner.clone()).or_insert(0);
                    if *count == 0 {
                        *self.shares.entry(owner.clone()).or_insert(0) += 1;
                    }
                    *count += 1;
                }
            } else {
                self.exact
                    .entry(matcher.text.clone())
                    .or_default()
                    .insert(key);
            }
        }
    }

    /// Takes subscriber `key` out from under its `matchers`; a topic or pattern no one
    /// follows any more is forgotten, and so is an owner's share of it.
    pub fn remove(&mut self, key: usize, matchers: &[Matcher], owners: &[Owner]) {
        for matcher in matchers {
            if matcher.is_wildcard() {
                self.everything.remove(&key);
            } else if let Some(pattern) = matcher.pattern() {
                let host = pattern.fixed_hostname();
                let Some(groups) = self.patterns.get_mut(&host) else {
                    continue;
                };
                let Some(group) = groups.get_mut(&matcher.text) else {
                    continue;
                };
                if !group.subscribers.remove(&key) {
                    continue;
                }
                for owner in owners {
                    let Some(count) = group.owners.get_mut(owner) else {
                        continue;
                    };
                    *count -= 1;
                    if *count == 0 {
                        group.owners.remove(owner);
                        release_share(&mut self.shares, owner);
                    }
                }
                if group.subscribers.is_empty() {
                    groups.remove(&matcher.text);
                    self.pattern_count -= 1;
                    if groups.is_empty() {
                        self.patterns.remove(&host);
                    }
                }
            } else if let Some(keys) = self.exact.get_mut(&matcher.text) {
                keys.remove(&key);
                if keys.is_empty() {
                    self.exact.remove(&matcher.text);
                }
            }
        }
    }

    /// Distinct URL patterns held now.
    pub fn pattern_count(&self) -> usize {
        self.pattern_count
    }

    /// The distinct patterns `owner` follows now.
    pub fn share_of(&self, owner: &Owner) -> usize {
        self.shares.get(owner).copied().unwrap_or(0)
    }

    /// The subscribers one of whose matchers selects one of `topics`, relative topics
    /// resolved against `hub_base` (a subscriber may be named more than once).
    pub fn select(&mut self, topics: &[String], hub_base: &Url) -> Vec<usize> {
        let mut selected: Vec<usize> = self.everything.iter().copied().collect();
        for topic in topics {
            if let Some(keys) = self.exact.get(topic) {
                selected.extend(keys.iter().copied());
            }
        }
        if self.patterns.is_empty() {
            return selected;
        }
        let mut matched: HashSet<&str> = HashSet::new();
        let (mut evaluations, mut abandoned) = (0, 0);
        for topic in topics {
            // Once per topic, not once per pattern.
            self.topic_parses += 1;
            let Some(url) = parse_topic(topic, hub_base) else {
                continue;
            };
            let same_host = self.patterns.get(&Some(url.hostname().to_string()));
            let any_host = self.patterns.get(&None);
            for (text, group) in same_host.into_iter().chain(any_host).flatten() {
                if matched.contains(text.as_str()) {
                    continue;
                }
                evaluations += 1;
                match group
                    .matcher
                    .pattern()
                    .and_then(|p| p.matches_components(&url))
                {
                    Some(true) => {
                        matched.insert(text);
                        selected.extend(group.subscribers.iter().copied());
                    }
                    Some(false) => {}
                    None => abandoned += 1,
                }
            }
        }
        self.pattern_evaluations += evaluations;
        self.evaluations_abandoned += abandoned;
        selected
    }
}

/// One fewer distinct pattern for `owner`; an owner with none left is forgotten.
fn release_share(shares: &mut HashMap<Owner, usize>, owner: &Owner) {
    if let Some(held) = shares.get_mut(owner) {
        *held -= 1;
        if *held == 0 {
            shares.remove(owner);
        }
    }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
