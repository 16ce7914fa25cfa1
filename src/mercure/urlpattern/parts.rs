//! A component's pattern string as a list of parts (URL Pattern Standard, "Parsing
//! pattern strings"): `/books/:id?` is the fixed text `/books`, then a segment wildcard
//! named `id` with the prefix `/` and the modifier `?`. The syntax is path-to-regexp's:
//!
//! ```text
//! :name       a group up to the next delimiter (`/` in the pathname, `.` in the hostname)
//! *           a group matching anything, named 0, 1, …
//! (regexp)    a group with its own regular expression (refused here, see below)
//! {text}      a group of fixed text and at most one of the above, to attach a modifier
//! ? * +       after a group: optional, zero or more, one or more
//! \x          the character x, whatever it means otherwise
//! ```
//!
//! Fixed text is canonicalized as the component's own URL text would be (the encoding
//! callback): `/ä` becomes `/%C3%A4`, so a pattern and a URL are compared in one form.
//!
//! A `(regexp)` group is accepted only where it means what `:name` or `*` mean
//! (`([^\/]+?)` in the pathname, `(.*)` anywhere); any other is reported in
//! [`ParsedPattern::regexp`] for the caller to refuse, because running arbitrary regular
//! expressions in linear time would take a regexp engine this std-only crate does not
//! have (Mercure allows refusing them). It is reported rather than returned as an error
//! at once so that a pattern malformed further on is called malformed, as a browser
//! would call it.

use crate::mercure::urlpattern::error::PatternError;
use crate::mercure::urlpattern::tokenizer::{Policy, Token, TokenKind, tokenize};

/// What a part matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartKind {
    /// Its `value`, exactly.
    FixedText,
    /// One or more code points other than the component's delimiter (`:name`).
    SegmentWildcard,
    /// Any code points, none included (`*`).
    FullWildcard,
}

/// The modifier after a part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Modifier {
    None,
    /// `?`
    Optional,
    /// `*`
    ZeroOrMore,
    /// `+`
    OneOrMore,
}

/// One part: fixed text, or a group with an optional fixed prefix and suffix that are
/// repeated and made optional along with it (`{/:id}*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub kind: PartKind,
    /// The canonical text of a `FixedText` part; empty for a group.
    pub value: String,
    pub modifier: Modifier,
    /// The group's name (`id`, or `0` for the first unnamed group); empty for text.
    pub name: String,
    pub prefix: String,
    pub suffix: String,
}

/// How one component's pattern is read: its delimiter (what `:name` stops at) and its
/// automatic prefix (the `/` before `:id` that `?` makes optional too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    pub delimiter: Option<char>,
    pub prefix: Option<char>,
}

/// The standard's "default options" (no delimiter), "hostname options" (`.`) and
/// "pathname options" (`/`, with `/` as the automatic prefix).
pub const DEFAULT_OPTIONS: Options = Options {
    delimiter: None,
    prefix: None,
};
pub const HOSTNAME_OPTIONS: Options = Options {
    delimiter: Some('.'),
    prefix: None,
};
pub const PATHNAME_OPTIONS: Options = Options {
    delimiter: Some('/'),
    prefix: Some('/'),
};

/// A component's parts, and the first regexp group other than the two wildcards, which
/// is left out of `parts` (so `parts` can always be compiled).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedPattern {
    pub parts: Vec<Part>,
    pub regexp: Option<String>,
}

/// Validates and canonicalizes one piece of fixed text.
pub type EncodingCallback = fn(&str) -> Result<String, PatternError>;

/// The regexp text that means "a segment wildcard" in a component with these options:
/// `[^\/]+?` in the pathname, `[^\.]+?` in the hostname, `[^]+?` elsewhere.
fn segment_wildcard_regexp(options: Options) -> String {
    let delimiter = options
        .delimiter
        .map(escape_regexp_char)
        .unwrap_or_default();
    format!("[^{delimiter}]+?")
}

/// The standard's "escape a regexp string" for one character.
fn escape_regexp_char(c: char) -> String {
    if ".+*?^${}()[]|/\\".contains(c) {
        format!("\\{c}")
    } else {
        c.to_string()
    }
}

/// The parser's state ("pattern parser").
struct Parser {
    tokens: Vec<Token>,
    index: usize,
    encode: EncodingCallback,
    segment_wildcard: String,
    parts: Vec<Part>,
    pending_fixed_value: String,
    next_numeric_name: usize,
    /// Every group name so far, the refused regexp groups' included.
    names: Vec<String>,
    regexp: Option<String>,
}

/// "parse a pattern string": the parts of one component's pattern.
pub fn parse_pattern(
    input: &str,
    options: Options,
    encode: EncodingCallback,
) -> Result<ParsedPattern, PatternError> {
    let mut parser = Parser {
        tokens: tokenize(input, Policy::Strict)?,
        index: 0,
        encode,
        segment_wildcard: segment_wildcard_regexp(options),
        parts: Vec::new(),
        pending_fixed_value: String::new(),
        next_numeric_name: 0,
        names: Vec::new(),
        regexp: None,
    };
    while parser.index < parser.tokens.len() {
        // `/:name(regexp)?` with any of its pieces missing.
        let char_token = parser.try_consume(TokenKind::Char);
        let name_token = parser.try_consume(TokenKind::Name);
        let group_token = parser.try_consume_regexp_or_wildcard(name_token.is_some());
        if name_token.is_some() || group_token.is_some() {
            let mut prefix = char_token.map(|t| t.value).unwrap_or_default();
            // Only the component's own prefix character (`/` in the pathname) goes with
            // the group; any other is plain text before it.
            if !prefix.is_empty() && prefix.chars().next() != options.prefix {
                parser.pending_fixed_value.push_str(&prefix);
                prefix.clear();
            }
            parser.add_pending_fixed_value()?;
            let modifier = parser.try_consume_modifier();
            parser.add_part(&prefix, name_token, group_token, "", modifier)?;
            continue;
        }
        let fixed = char_token.or_else(|| parser.try_consume(TokenKind::EscapedChar));
        if let Some(fixed) = fixed {
            parser.pending_fixed_value.push_str(&fixed.value);
            continue;
        }
        // `{prefix:name(regexp)suffix}modifier`, the braces required.
        if parser.try_consume(TokenKind::Open).is_some() {
            let prefix = parser.consume_text();
            let name_token = parser.try_consume(TokenKind::Name);
            let group_token = parser.try_consume_regexp_or_wildcard(name_token.is_some());
            let suffix = parser.consume_text();
            parser.consume_required(TokenKind::Close)?;
            let modifier = parser.try_consume_modifier();
            parser.add_part(&prefix, name_token, group_token, &suffix, modifier)?;
            continue;
        }
        parser.add_pending_fixed_value()?;
        parser.consume_required(TokenKind::End)?;
    }
    Ok(ParsedPattern {
        parts: parser.parts,
        regexp: parser.regexp,
    })
}

impl Parser {
    fn try_consume(&mut self, kind: TokenKind) -> Option<Token> {
        let token = self
            .tokens
            .get(self.index)
            .filter(|t| t.kind == kind)?
            .clone();
        self.index += 1;
        Some(token)
    }

    fn consume_required(&mut self, kind: TokenKind) -> Result<Token, PatternError> {
        self.try_consume(kind).ok_or_else(|| {
            let at = self.tokens.get(self.index).map(|t| t.index).unwrap_or(0);
            PatternError::new(format!("unexpected character at position {at}"))
        })
    }

    fn try_consume_modifier(&mut self) -> Option<Token> {
        self.try_consume(TokenKind::OtherModifier)
            .or_else(|| self.try_consume(TokenKind::Asterisk))
    }

    /// A `(regexp)`, or, when no name came before it, a `*`: after `:name`, a `*` is
    /// the name's modifier instead.
    fn try_consume_regexp_or_wildcard(&mut self, after_name: bool) -> Option<Token> {
        let token = self.try_consume(TokenKind::Regexp);
        if token.is_none() && !after_name {
            return self.try_consume(TokenKind::Asterisk);
        }
        token
    }

    /// Plain and escaped characters, as one string.
    fn consume_text(&mut self) -> String {
        let mut text = String::new();
        while let Some(token) = self
            .try_consume(TokenKind::Char)
            .or_else(|| self.try_consume(TokenKind::EscapedChar))
        {
            text.push_str(&token.value);
        }
        text
    }

    /// Text collected so far becomes one fixed-text part.
    fn add_pending_fixed_value(&mut self) -> Result<(), PatternError> {
        if self.pending_fixed_value.is_empty() {
            return Ok(());
        }
        let value = (self.encode)(&std::mem::take(&mut self.pending_fixed_value))?;
        self.parts.push(fixed_part(value, Modifier::None));
        Ok(())
    }

    /// The standard's "add a part".
    fn add_part(
        &mut self,
        prefix: &str,
        name_token: Option<Token>,
        group_token: Option<Token>,
        suffix: &str,
        modifier_token: Option<Token>,
    ) -> Result<(), PatternError> {
        let modifier = match modifier_token.as_ref().map(|t| t.value.as_str()) {
            Some("?") => Modifier::Optional,
            Some("*") => Modifier::ZeroOrMore,
            Some("+") => Modifier::OneOrMore,
            _ => Modifier::None,
        };
        if name_token.is_none() && group_token.is_none() {
            if modifier == Modifier::None {
                // `{text}`: just text, joined with what comes before and after.
                self.pending_fixed_value.push_str(prefix);
                return Ok(());
            }
            // `{text}?`: text with a modifier is a part of its own.
            self.add_pending_fixed_value()?;
            if !prefix.is_empty() {
                let value = (self.encode)(prefix)?;
                self.parts.push(fixed_part(value, modifier));
            }
            return Ok(());
        }
        self.add_pending_fixed_value()?;
        let regexp = match &group_token {
            None => self.segment_wildcard.clone(),
            Some(token) if token.kind == TokenKind::Asterisk => FULL_WILDCARD.to_string(),
            Some(token) => token.value.clone(),
        };
        // A regexp is compared as text with the two wildcards, so `(.*)` *is* `*`.
        let kind = if regexp == self.segment_wildcard {
            Some(PartKind::SegmentWildcard)
        } else if regexp == FULL_WILDCARD {
            Some(PartKind::FullWildcard)
        } else {
            None
        };
        let name = match (&name_token, &group_token) {
            (Some(name), _) => name.value.clone(),
            _ => {
                self.next_numeric_name += 1;
                (self.next_numeric_name - 1).to_string()
            }
        };
        if self.names.contains(&name) {
            return Err(PatternError::new(format!("duplicate group name `{name}`")));
        }
        self.names.push(name.clone());
        let (prefix, suffix) = ((self.encode)(prefix)?, (self.encode)(suffix)?);
        let Some(kind) = kind else {
            self.regexp.get_or_insert(regexp);
            return Ok(());
        };
        let part = Part {
            kind,
            value: String::new(),
            modifier,
            name,
            prefix,
            suffix,
        };
        self.parts.push(part);
        Ok(())
    }
}

/// The standard's "full wildcard regexp value".
const FULL_WILDCARD: &str = ".*";

fn fixed_part(value: String, modifier: Modifier) -> Part {
    Part {
        kind: PartKind::FixedText,
        value,
        modifier,
        name: String::new(),
        prefix: String::new(),
        suffix: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep(text: &str) -> Result<String, PatternError> {
        Ok(text.to_string())
    }

    fn describe(pattern: &str, options: Options) -> Result<Vec<String>, PatternError> {
        let parsed = parse_pattern(pattern, options, keep)?;
        if let Some(regexp) = parsed.regexp {
            return Err(PatternError::new(format!("regexp ({regexp})")));
        }
        Ok(parsed
            .parts
            .iter()
            .map(|p| match p.kind {
                PartKind::FixedText => format!("text {:?} {:?}", p.value, p.modifier),
                kind => format!(
                    "{kind:?} {} [{}|{}] {:?}",
                    p.name, p.prefix, p.suffix, p.modifier
                ),
            })
            .collect())
    }

    #[test]
    fn the_slash_before_a_pathname_group_is_its_prefix() {
        let parts = describe("/books/:id?", PATHNAME_OPTIONS).unwrap();
        assert_eq!(
            parts,
            ["text \"/books\" None", "SegmentWildcard id [/|] Optional"]
        );
        let parts = describe("/books/:id?", DEFAULT_OPTIONS).unwrap();
        assert_eq!(
            parts,
            ["text \"/books/\" None", "SegmentWildcard id [|] Optional"]
        );
    }

    #[test]
    fn braces_group_text_and_unnamed_groups_are_numbered() {
        // `(.*)*`: the `*` after a group is its modifier.
        let parts = describe("{a:x-b}*(.*)*{c}{d}?", PATHNAME_OPTIONS).unwrap();
        assert_eq!(
            parts,
            [
                "SegmentWildcard x [a|-b] ZeroOrMore",
                "FullWildcard 0 [|] ZeroOrMore",
                "text \"c\" None",
                "text \"d\" Optional",
            ]
        );
    }

    #[test]
    fn wildcard_regexps_are_accepted_and_others_refused() {
        let parts = describe("/([^\\/]+?)", PATHNAME_OPTIONS).unwrap();
        assert_eq!(parts, ["SegmentWildcard 0 [/|] None"]);
        let refused = describe("/:id(\\d+)", PATHNAME_OPTIONS).unwrap_err();
        assert!(refused.reason().contains("regexp (\\d+)"), "{refused}");
    }

    #[test]
    fn malformed_patterns_are_errors() {
        for bad in ["{", "{a", "a}", ":id:id", "{:a{b}}", "{(.*)}}"] {
            assert!(describe(bad, PATHNAME_OPTIONS).is_err(), "{bad}");
        }
    }
}
