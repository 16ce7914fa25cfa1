//! Why a URL Pattern was refused: one sentence, for the body of a `400 Bad Request`.

use std::fmt;

/// A pattern the hub will not compile: malformed per the URL Pattern Standard (where a
/// browser's `new URLPattern()` throws a `TypeError`), or a regexp group this
/// implementation refuses (see `urlpattern`'s module header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    reason: String,
    /// True for a well-formed pattern refused for its regexp group, false for a
    /// malformed one.
    unsupported: bool,
}

impl PatternError {
    /// A malformed pattern.
    pub fn new(reason: impl Into<String>) -> PatternError {
        PatternError {
            reason: printable(&reason.into()),
            unsupported: false,
        }
    }

    /// A pattern with the regexp group `regexp` (without its parentheses), refused.
    pub fn regexp_group(regexp: &str) -> PatternError {
        PatternError {
            reason: printable(&format!("regexp groups are not supported: ({regexp})")),
            unsupported: true,
        }
    }

    /// Whether the pattern is well-formed and refused only for a regexp group.
    pub fn is_unsupported(&self) -> bool {
        self.unsupported
    }

    /// The reason alone, e.g. `regexp groups are not supported: ([0-9]+)`.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid URL pattern: {}", self.reason)
    }
}

impl std::error::Error for PatternError {}

/// `text` with control characters written as escapes (`\n`): a reason quotes the
/// subscriber's pattern, and is logged and sent back in a body, where a raw line break
/// could forge a log line.
fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_never_holds_a_line_break() {
        let error = PatternError::new("invalid hostname `a\nb\r`");
        assert_eq!(error.reason(), "invalid hostname `a\\nb\\r`");
    }
}
