//! Topic patterns: which topics a token, or `--public`, opens.
//!
//! A pattern is a topic name (`news`), or a prefix ending in `*` (`orders/*` matches
//! `orders/42` and `orders/42/items`, but not `orders` itself; `*` alone matches every
//! topic). `{sub}` in a pattern stands for the token's subject, so one pattern can give
//! every user their own space: `users/{sub}/*`.
//!
//! A `*` anywhere but at the end is refused. `{sub}` is filled by one path segment
//! only: a subject that is not a valid topic name, or that holds a `/`, fills nothing,
//! and the pattern then matches no topic. Otherwise a token for the subject `x*` would
//! turn `users/{sub}` into the prefix pattern `users/x*`, and one for `bob/private`
//! would open `users/bob/private/feed` inside Bob's `users/bob/*`. Matching never
//! interprets anything the subject brings in.

use std::fmt;

use crate::pubsub::topic::check_topic_name;

/// The placeholder for the token's `sub` claim.
pub const SUBJECT: &str = "{sub}";

/// A checked pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// Without its trailing `*`.
    text: String,
    is_prefix: bool,
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.text, if self.is_prefix { "*" } else { "" })
    }
}

impl Pattern {
    /// Checks `pattern`: topic-name characters, `{sub}`, and at most a final `*`.
    pub fn parse(pattern: &str) -> Result<Pattern, String> {
        let (text, is_prefix) = match pattern.strip_suffix('*') {
            Some(prefix) => (prefix, true),
            None => (pattern, false),
        };
        let without_subject = text.replace(SUBJECT, "s");
        // `*` alone (an empty prefix) matches everything; otherwise what is left must
        // read as a topic name.
        if !(is_prefix && text.is_empty()) {
            check_topic_name(&without_subject)
                .map_err(|why| format!("pattern {pattern:?}: {why}"))?;
        }
        Ok(Pattern {
            text: text.to_string(),
            is_prefix,
        })
    }

    /// Whether `topic` matches, with `{sub}` standing for `subject`. A pattern that
    /// names `{sub}` matches nothing when there is no subject, or when the subject
    /// is not one path segment of a topic name (module docs).
    pub fn matches(&self, topic: &str, subject: Option<&str>) -> bool {
        let expanded;
        let text = if self.text.contains(SUBJECT) {
            match subject {
                Some(subject) if is_one_segment(subject) => {
                    expanded = self.text.replace(SUBJECT, subject);
                    expanded.as_str()
                }
                _ => return false,
            }
        } else {
            self.text.as_str()
        };
        if self.is_prefix {
            topic.starts_with(text)
        } else {
            topic == text
        }
    }
}

/// Whether `subject` can stand for `{sub}`: a valid topic name (so no `*`, space or
/// brace) without a `/`, so that it names one segment of the path and no more.
fn is_one_segment(subject: &str) -> bool {
    !subject.contains('/') && check_topic_name(subject).is_ok()
}

/// Whether any of `patterns` matches `topic`.
pub fn any_matches(patterns: &[Pattern], topic: &str, subject: Option<&str>) -> bool {
    patterns
        .iter()
        .any(|pattern| pattern.matches(topic, subject))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, topic: &str, subject: Option<&str>) -> bool {
        Pattern::parse(pattern).unwrap().matches(topic, subject)
    }

    #[test]
    fn names_prefixes_and_everything() {
        assert!(matches("news", "news", None));
        assert!(!matches("news", "news/today", None));
        assert!(matches("orders/*", "orders/42", None));
        assert!(matches("orders/*", "orders/42/items", None));
        assert!(!matches("orders/*", "orders", None));
        assert!(!matches("orders/*", "ordersX", None));
        assert!(matches("*", "anything/at:all", None));
    }

    #[test]
    fn the_subject_fills_in_sub_and_cannot_widen_it() {
        assert!(matches("users/{sub}/*", "users/alice/inbox", Some("alice")));
        assert!(!matches("users/{sub}/*", "users/bob/inbox", Some("alice")));
        assert!(!matches("users/{sub}/*", "users/alice/inbox", None));
        assert!(matches("users/{sub}", "users/alice", Some("alice")));
        // A subject with a '*' (or anything else not allowed in a name) opens nothing.
        assert!(!matches("users/{sub}", "users/x", Some("*")));
        assert!(!matches("users/{sub}", "users/alice", Some("al*")));
        assert!(!matches("users/{sub}/*", "users/a b/x", Some("a b")));
    }

    #[test]
    fn the_subject_fills_one_path_segment_only() {
        // `bob/private` would otherwise open a space inside Bob's `users/bob/*`.
        for (topic, subject) in [
            ("users/bob/private/feed", "bob/private"),
            ("users/bob/feed", "bob/"),
            ("users/bob/x", "/bob"),
            ("users/bob", "bob/*"),
        ] {
            assert!(!matches("users/{sub}/*", topic, Some(subject)), "{subject}");
            assert!(!matches("users/{sub}", topic, Some(subject)), "{subject}");
        }
        assert!(matches(
            "users/{sub}/*",
            "users/bob.smith@example.org/feed",
            Some("bob.smith@example.org")
        ));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for pattern in ["", "a*b", "**", "a b", "caf\u{e9}", "x/*/y"] {
            assert!(Pattern::parse(pattern).is_err(), "{pattern:?}");
        }
        assert_eq!(Pattern::parse("rooms/*").unwrap().to_string(), "rooms/*");
    }
}
