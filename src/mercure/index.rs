//! Which subscribers an update is for, found without looking at the others.
//!
//! ```text
//! exact      "https://example.com/a" -> {3, 17}     one lookup per topic of the update
//! everything                            {5}         `*`: every update
//! patterns   "https://example.com/books/:id" -> compiled once, {8, 9, 12, ...}
//! ```
//!
//! A publish costs one hash lookup per topic, plus one evaluation per distinct pattern
//! and topic (stopping at the first topic that matches): a thousand subscribers to the
//! same pattern cost what one does. Joining and leaving cost one set insert or removal
//! per matcher. The sets hold slab keys (`hub.rs`); a subscriber with two matchers that
//! select the same update is in two sets, and the hub queues the update once.

use std::collections::{HashMap, HashSet};

use crate::mercure::matcher::Matcher;

/// Subscribers by matcher.
#[derive(Default)]
pub struct Index {
    exact: HashMap<String, HashSet<usize>>,
    everything: HashSet<usize>,
    patterns: HashMap<String, PatternGroup>,
    /// URL pattern evaluations made by [`Index::select`], in all; it only grows.
    pub pattern_evaluations: u64,
}

/// One distinct pattern, compiled once, and who follows it.
struct PatternGroup {
    matcher: Matcher,
    subscribers: HashSet<usize>,
}

impl Index {
    /// Lists subscriber `key` under each of its `matchers`.
    pub fn add(&mut self, key: usize, matchers: &[Matcher]) {
        for matcher in matchers {
            if matcher.is_wildcard() {
                self.everything.insert(key);
            } else if matcher.is_exact() {
                self.exact
                    .entry(matcher.text.clone())
                    .or_default()
                    .insert(key);
            } else {
                self.patterns
                    .entry(matcher.text.clone())
                    .or_insert_with(|| PatternGroup {
                        matcher: matcher.clone(),
                        subscribers: HashSet::new(),
                    })
                    .subscribers
                    .insert(key);
            }
        }
    }

    /// Takes subscriber `key` out from under its `matchers`; a topic or pattern no one
    /// follows any more is forgotten.
    pub fn remove(&mut self, key: usize, matchers: &[Matcher]) {
        for matcher in matchers {
            if matcher.is_wildcard() {
                self.everything.remove(&key);
            } else if matcher.is_exact() {
                if let Some(keys) = self.exact.get_mut(&matcher.text) {
                    keys.remove(&key);
                    if keys.is_empty() {
                        self.exact.remove(&matcher.text);
                    }
                }
            } else if let Some(group) = self.patterns.get_mut(&matcher.text) {
                group.subscribers.remove(&key);
                if group.subscribers.is_empty() {
                    self.patterns.remove(&matcher.text);
                }
            }
        }
    }

    /// The subscribers one of whose matchers selects one of `topics` (a subscriber may
    /// be named more than once).
    pub fn select(&mut self, topics: &[String]) -> Vec<usize> {
        let mut selected: Vec<usize> = self.everything.iter().copied().collect();
        for topic in topics {
            if let Some(keys) = self.exact.get(topic) {
                selected.extend(keys.iter().copied());
            }
        }
        let mut evaluations = 0;
        for group in self.patterns.values() {
            let matched = topics.iter().any(|topic| {
                evaluations += 1;
                group.matcher.matches(topic)
            });
            if matched {
                selected.extend(group.subscribers.iter().copied());
            }
        }
        self.pattern_evaluations += evaluations;
        selected
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mercure::matcher::MatcherType;
    use crate::mercure::namespace::HubUrl;

    fn matcher(match_type: MatcherType, text: &str) -> Matcher {
        let hub = HubUrl::parse("https://localhost/.well-known/mercure").unwrap();
        Matcher::parse(match_type, text, &hub).unwrap()
    }

    #[test]
    fn a_leave_forgets_what_no_one_follows() {
        let mut index = Index::default();
        let first = [
            matcher(MatcherType::Exact, "a"),
            matcher(MatcherType::UrlPattern, "/b/:id"),
        ];
        let second = [
            matcher(MatcherType::Exact, "a"),
            matcher(MatcherType::Exact, "*"),
        ];
        index.add(1, &first);
        index.add(2, &second);
        let mut selected = index.select(&["a".into()]);
        selected.sort_unstable();
        assert_eq!(selected, [1, 2, 2], "2 by its topic and by `*`");
        assert_eq!(index.select(&["/b/7".into()]), [2, 1]);
        index.remove(1, &first);
        assert!(index.patterns.is_empty());
        assert_eq!(index.exact.len(), 1);
        index.remove(2, &second);
        assert!(index.exact.is_empty() && index.everything.is_empty());
    }
}
