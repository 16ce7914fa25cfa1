//! Topic matchers: which topics a subscription selects, and which a grant covers
//! (spec, "Matcher Types").
//!
//! | matcher type | subscribe parameter | `match_type` in a token | compares |
//! |---|---|---|---|
//! | `exact` | `match`, `match_exact` | absent, or `exact` | byte for byte |
//! | `urlpattern` | `match_urlpattern` | `urlpattern` | WHATWG URL Pattern, relative to the hub URL |
//!
//! and `*`, whatever the type, matches every topic. An exact matcher is compared with
//! no normalization at all: `https://example.com/a` and `https://EXAMPLE.com/a` are two
//! topics (spec, "Exact Matching").
//!
//! The URL Pattern engine is its own pair of modules (`url/`, `urlpattern/`); this
//! file reaches it through [`CompiledPattern`] only. A pattern it refuses (malformed,
//! or with a regexp group) is a 400 on a subscribe and `invalid_token` in a grant.
//!
//! The engine runs in linear time (spec, "URL-Pattern Denial of Service"), but linear
//! in *states × code points*: `/*{a}*{a}*…` with 500 groups is 2 KB of text and a
//! thousand states, each followed over every character of every topic. So a pattern
//! compiled to more than [`MAX_PATTERN_STATES`] states is refused like a malformed one
//! (an implementation-defined limit, spec "Resource Limits"): what one pattern costs
//! per character of a topic is bounded before anyone subscribes with it.

use crate::mercure::namespace::HubUrl;
use crate::mercure::text;
use crate::mercure::url::Url;
use crate::mercure::urlpattern::{UrlComponents, UrlPattern};

/// The reserved wildcard (spec, "Matcher Types").
pub const WILDCARD: &str = "*";
/// The longest matcher we evaluate, in bytes (spec: an implementation-defined limit).
pub const MAX_MATCHER_BYTES: usize = 2048;
/// The most automaton states a URL pattern may compile to, over its eight components.
/// `https://example.com/books/:id` compiles to 41, the subscription events' pattern
/// `/.well-known/mercure/subscriptions/:type/:match/:subscriber` to 73; a `{a}*` group
/// adds three, a literal character one.
pub const MAX_PATTERN_STATES: usize = 256;
/// The most steps (automaton states entered) one evaluation of a pattern against one
/// topic may take; past it the pattern does not match that topic and the evaluation is
/// abandoned (spec, "URL Pattern": an implementation-defined evaluation cost limit).
/// An ordinary pattern enters a few states per character, so this is a topic of
/// thousands of characters; a 256-state pattern whose states all stay live over a long
/// topic reaches it after a few hundred.
pub const MAX_EVALUATION_STEPS: usize = 65_536;

/// A matcher type this hub supports, by its canonical name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatcherType {
    Exact,
    UrlPattern,
}

impl MatcherType {
    /// The type a `match_type` value (or a `match_<type>` suffix) names; `None` for a
    /// type this hub does not support. Case-sensitive, as the spec says.
    pub fn from_name(name: &str) -> Option<MatcherType> {
        match name {
            "exact" => Some(MatcherType::Exact),
            "urlpattern" => Some(MatcherType::UrlPattern),
            _ => None,
        }
    }

    /// The canonical name: `exact`, `urlpattern`.
    pub fn name(self) -> &'static str {
        match self {
            MatcherType::Exact => "exact",
            MatcherType::UrlPattern => "urlpattern",
        }
    }
}

/// One topic matcher, checked and ready to evaluate.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub match_type: MatcherType,
    /// The matcher as given: the topic, the pattern, or `*`.
    pub text: String,
    how: How,
}

#[derive(Debug, Clone)]
enum How {
    Everything,
    Exact,
    /// Boxed: a compiled pattern is a few hundred bytes, an exact matcher none.
    Pattern(Box<CompiledPattern>),
}

impl Matcher {
    /// Checks `text` as a matcher of `match_type` (characters, length, and for a URL
    /// pattern, its syntax resolved against `hub`).
    pub fn parse(match_type: MatcherType, text: &str, hub: &HubUrl) -> Result<Matcher, String> {
        text::check("a matcher", text)?;
        if text.len() > MAX_MATCHER_BYTES {
            return Err(format!(
                "a matcher is longer than {MAX_MATCHER_BYTES} bytes"
            ));
        }
        let how = if text == WILDCARD {
            // Recognized before the type is (spec, "Matcher Types").
            How::Everything
        } else {
            match match_type {
                MatcherType::Exact => How::Exact,
                MatcherType::UrlPattern => How::Pattern(Box::new(compile_url_pattern(text, hub)?)),
            }
        };
        Ok(Matcher {
            match_type,
            text: text.to_string(),
            how,
        })
    }

    /// Whether this matcher selects `topic`.
    pub fn matches(&self, topic: &str) -> bool {
        match &self.how {
            How::Everything => true,
            How::Exact => self.text == topic,
            How::Pattern(pattern) => pattern.matches(topic),
        }
    }

    /// Whether this is `*`.
    pub fn is_wildcard(&self) -> bool {
        matches!(self.how, How::Everything)
    }

    /// Whether this is an exact matcher (not `*`): one that can be found by its topic.
    pub fn is_exact(&self) -> bool {
        matches!(self.how, How::Exact)
    }

    /// The compiled pattern of a URL pattern matcher (not `*`).
    pub fn pattern(&self) -> Option<&CompiledPattern> {
        match &self.how {
            How::Pattern(pattern) => Some(pattern),
            _ => None,
        }
    }
}

/// A URL pattern, compiled once, evaluated against many topics.
#[derive(Debug, Clone)]
pub struct CompiledPattern {
    pattern: UrlPattern,
    /// The hub's URL, that relative topics resolve against.
    base: Url,
}

impl CompiledPattern {
    /// Whether the pattern matches `topic` resolved against the hub URL (a topic that
    /// is no URL matches no pattern, spec "URL Pattern"). Linear in the topic's length:
    /// the automaton does not backtrack (`urlpattern/matcher.rs`); and at most
    /// [`MAX_EVALUATION_STEPS`], past which it does not match.
    pub fn matches(&self, topic: &str) -> bool {
        parse_topic(topic, &self.base)
            .is_some_and(|url| self.matches_components(&url) == Some(true))
    }

    /// Whether the pattern matches a topic [`parse_topic`] parsed already (a hub that
    /// evaluates many patterns against one topic parses it once): `None` when the
    /// evaluation passed [`MAX_EVALUATION_STEPS`] and was abandoned, which counts as
    /// not matching.
    pub fn matches_components(&self, url: &UrlComponents) -> Option<bool> {
        self.pattern.matches_within(url, MAX_EVALUATION_STEPS)
    }

    /// The hostname every URL this pattern matches has, when it is fixed text.
    pub fn fixed_hostname(&self) -> Option<String> {
        self.pattern.fixed_hostname()
    }
}

/// `topic` resolved against the hub's URL and cut into components, or `None` when it
/// is no URL (then no pattern matches it, spec "URL Pattern").
pub fn parse_topic(topic: &str, hub_base: &Url) -> Option<UrlComponents> {
    Url::parse(topic, Some(hub_base)).map(|url| UrlComponents::of(&url))
}

/// Compiles `pattern`, relative ones against the hub URL.
fn compile_url_pattern(pattern: &str, hub: &HubUrl) -> Result<CompiledPattern, String> {
    let compiled = UrlPattern::parse(pattern, &hub.base).map_err(|error| error.to_string())?;
    if compiled.state_count() > MAX_PATTERN_STATES {
        return Err(format!(
            "a URL pattern compiles to {} states, more than {MAX_PATTERN_STATES}",
            compiled.state_count()
        ));
    }
    Ok(CompiledPattern {
        pattern: compiled,
        base: hub.base.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> HubUrl {
        HubUrl::parse("https://localhost/.well-known/mercure").unwrap()
    }

    #[test]
    fn exact_is_byte_for_byte() {
        let matcher = Matcher::parse(MatcherType::Exact, "https://example.com/a", &hub()).unwrap();
        assert!(matcher.matches("https://example.com/a"));
        assert!(!matcher.matches("https://EXAMPLE.com/a"));
        assert!(!matcher.matches("https://example.com/a/"));
        assert!(!matcher.matches("/a"), "no resolution against the hub URL");
        let composed = Matcher::parse(MatcherType::Exact, "caf\u{e9}", &hub()).unwrap();
        assert!(!composed.matches("cafe\u{301}"), "no Unicode normalization");
    }

    #[test]
    fn the_wildcard_matches_everything_whatever_its_type() {
        for match_type in [MatcherType::Exact, MatcherType::UrlPattern] {
            let all = Matcher::parse(match_type, "*", &hub()).unwrap();
            assert!(all.is_wildcard() && all.matches("anything at all") && all.matches("*"));
        }
    }

    #[test]
    fn url_patterns_match_resolved_topics() {
        let books = Matcher::parse(
            MatcherType::UrlPattern,
            "https://example.com/books/:id",
            &hub(),
        )
        .unwrap();
        assert!(books.matches("https://example.com/books/1"));
        assert!(
            books.matches("https://EXAMPLE.com/books/1"),
            "hosts are case-insensitive"
        );
        assert!(
            !books.matches("https://example.com/Books/1"),
            "paths are not"
        );
        assert!(!books.matches("https://example.com/books/1/2"));
        assert!(!books.matches("not a url at all"));
        // Relative patterns and topics both resolve against the hub URL.
        let events = Matcher::parse(
            MatcherType::UrlPattern,
            "/.well-known/mercure/subscriptions/:type/:match/:subscriber",
            &hub(),
        )
        .unwrap();
        assert!(events.matches("/.well-known/mercure/subscriptions/exact/a/urn%3Auuid%3A1"));
        assert!(events.matches("https://localhost/.well-known/mercure/subscriptions/exact/a/b"));
        assert!(!events.matches("https://other/.well-known/mercure/subscriptions/exact/a/b"));
        assert!(
            Matcher::parse(
                MatcherType::UrlPattern,
                "https://example.com/(\\d+)",
                &hub()
            )
            .is_err()
        );
        assert!(Matcher::parse(MatcherType::UrlPattern, "https://example.com/{", &hub()).is_err());
    }

    #[test]
    fn a_pattern_costs_a_bounded_number_of_states() {
        let ordinary = ["https://example.com/books/:id", "/books/{:id}?*", "*://*/*"];
        for text in ordinary {
            let matcher = Matcher::parse(MatcherType::UrlPattern, text, &hub()).unwrap();
            let states = matcher.pattern().unwrap().pattern.state_count();
            assert!(states <= MAX_PATTERN_STATES / 4, "{text}: {states}");
        }
        // The attacker's pattern (issue 27): 2 KB, under the length limit, but a
        // thousand states to follow over every character of every topic.
        let groups = format!("/*{}*1*", "{a}*".repeat(500));
        assert!(groups.len() <= MAX_MATCHER_BYTES);
        let refused = Matcher::parse(MatcherType::UrlPattern, &groups, &hub()).unwrap_err();
        assert!(refused.contains("states"), "{refused}");
    }

    #[test]
    fn a_fixed_hostname_is_known_and_a_wildcard_one_is_not() {
        let fixed = |text: &str| {
            Matcher::parse(MatcherType::UrlPattern, text, &hub())
                .unwrap()
                .pattern()
                .unwrap()
                .fixed_hostname()
        };
        assert_eq!(
            fixed("https://EXAMPLE.com/:id").as_deref(),
            Some("example.com")
        );
        assert_eq!(fixed("/relative/*").as_deref(), Some("localhost"));
        assert_eq!(fixed("https://*.example.com/*"), None);
        assert_eq!(fixed("https://{www.}?example.com/*"), None);
    }

    #[test]
    fn bad_matchers_are_refused() {
        assert!(Matcher::parse(MatcherType::Exact, "a\nb", &hub()).is_err());
        assert!(Matcher::parse(MatcherType::Exact, "\u{200B}", &hub()).is_err());
        let long = "a".repeat(MAX_MATCHER_BYTES + 1);
        assert!(Matcher::parse(MatcherType::Exact, &long, &hub()).is_err());
        assert_eq!(MatcherType::from_name("Exact"), None, "case-sensitive");
        assert_eq!(MatcherType::from_name("regexp"), None);
    }
}
