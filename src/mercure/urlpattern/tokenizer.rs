//! The URL Pattern tokenizer (URL Pattern Standard, "Tokenizing"): a pattern string cut
//! into `{`, `}`, `:name`, `(regexp)`, `*`, `?`/`+`, `\x`, and plain characters.
//!
//! It runs in two policies. *Strict*, for one component's pattern, refuses anything
//! malformed (`:` without a name, an unclosed `(`). *Lenient*, for the whole constructor
//! string (`https://example.com/:id`), turns each such spot into an `InvalidChar` token
//! instead, because there a `:` is as likely a URL's own `https:` as a group.

use crate::mercure::urlpattern::error::PatternError;

/// What a token is; see the standard's list of token types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Open,
    Close,
    Regexp,
    Name,
    Char,
    EscapedChar,
    /// `?` or `+`.
    OtherModifier,
    Asterisk,
    End,
    InvalidChar,
}

/// One token: its kind, where it starts in the pattern (in code points), and its text
/// (the name without `:`, the regexp without parentheses, the escaped character alone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub index: usize,
    pub value: String,
}

/// Strict for a component's pattern, lenient for a constructor string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    Strict,
    Lenient,
}

/// The tokens of `input`, ending with one `End` token.
pub fn tokenize(input: &str, policy: Policy) -> Result<Vec<Token>, PatternError> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    // Adds a token covering `chars[start..next]` with value `chars[value]`.
    let push = |tokens: &mut Vec<Token>, kind, start: usize, value: &[char]| {
        tokens.push(Token {
            kind,
            index: start,
            value: value.iter().collect(),
        });
    };
    // A malformed spot: an error when strict, an `InvalidChar` token when lenient.
    let invalid = |tokens: &mut Vec<Token>, start: usize, value: &[char], why: &str| {
        if policy == Policy::Strict {
            return Err(PatternError::new(format!("{why} at position {start}")));
        }
        tokens.push(Token {
            kind: TokenKind::InvalidChar,
            index: start,
            value: value.iter().collect(),
        });
        Ok(())
    };
    while index < chars.len() {
        let c = chars[index];
        let single = match c {
            '*' => Some(TokenKind::Asterisk),
            '+' | '?' => Some(TokenKind::OtherModifier),
            '{' => Some(TokenKind::Open),
            '}' => Some(TokenKind::Close),
            _ => None,
        };
        if let Some(kind) = single {
            push(&mut tokens, kind, index, &chars[index..index + 1]);
            index += 1;
            continue;
        }
        match c {
            '\\' => {
                if index + 1 == chars.len() {
                    invalid(&mut tokens, index, &chars[index..], "a trailing backslash")?;
                    index += 1;
                } else {
                    push(
                        &mut tokens,
                        TokenKind::EscapedChar,
                        index,
                        &chars[index + 1..index + 2],
                    );
                    index += 2;
                }
            }
            ':' => {
                let start = index + 1;
                let mut end = start;
                while end < chars.len() && is_name_code_point(chars[end], end == start) {
                    end += 1;
                }
                if end == start {
                    invalid(
                        &mut tokens,
                        index,
                        &chars[index..index + 1],
                        "`:` without a name",
                    )?;
                    index += 1;
                } else {
                    push(&mut tokens, TokenKind::Name, index, &chars[start..end]);
                    index = end;
                }
            }
            '(' => match regexp_end(&chars, index + 1) {
                Ok(end) => {
                    push(
                        &mut tokens,
                        TokenKind::Regexp,
                        index,
                        &chars[index + 1..end - 1],
                    );
                    index = end;
                }
                Err(why) => {
                    // Lenient: the `(` alone is the invalid token; what follows is read
                    // again as ordinary tokens.
                    invalid(&mut tokens, index, &chars[index..index + 1], why)?;
                    index += 1;
                }
            },
            _ => {
                push(
                    &mut tokens,
                    TokenKind::Char,
                    index,
                    &chars[index..index + 1],
                );
                index += 1;
            }
        }
    }
    tokens.push(Token {
        kind: TokenKind::End,
        index: chars.len(),
        value: String::new(),
    });
    Ok(tokens)
}

/// Where the regexp group opened just before `start` ends (just past its `)`), or why
/// it is malformed: non-ASCII, empty, unbalanced, starting with `?`, or holding
/// a nested group that is not `(?…)`.
fn regexp_end(chars: &[char], start: usize) -> Result<usize, &'static str> {
    let mut depth = 1;
    let mut position = start;
    while position < chars.len() {
        let c = chars[position];
        if !c.is_ascii() {
            return Err("a non-ASCII regexp");
        }
        if position == start && c == '?' {
            return Err("a regexp starting with `?`");
        }
        if c == '\\' {
            match chars.get(position + 1) {
                Some(next) if next.is_ascii() => position += 2,
                _ => return Err("a bad escape in a regexp"),
            }
            continue;
        }
        if c == ')' {
            depth -= 1;
            if depth == 0 {
                if position == start {
                    return Err("an empty regexp");
                }
                return Ok(position + 1);
            }
        } else if c == '(' {
            depth += 1;
            if chars.get(position + 1) != Some(&'?') {
                return Err("a capturing group inside a regexp");
            }
        }
        position += 1;
    }
    Err("an unclosed regexp")
}

/// A code point a group name may hold: JavaScript's IdentifierStart for the first,
/// IdentifierPart after. Past ASCII, Unicode's alphabetic and alphanumeric properties
/// stand in for ID_Start and ID_Continue (close, not identical).
fn is_name_code_point(c: char, first: bool) -> bool {
    if c == '$' || c == '_' || c.is_alphabetic() {
        return true;
    }
    !first && (c.is_alphanumeric() || c == '\u{200C}' || c == '\u{200D}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str, policy: Policy) -> Vec<(TokenKind, String)> {
        let tokens = tokenize(input, policy).expect("tokenizes");
        tokens.into_iter().map(|t| (t.kind, t.value)).collect()
    }

    #[test]
    fn names_groups_and_modifiers_become_tokens() {
        use TokenKind::*;
        let tokens = kinds("/:id(\\d+)?{a}*\\:", Policy::Strict);
        let expected = [
            (Char, "/"),
            (Name, "id"),
            (Regexp, "\\d+"),
            (OtherModifier, "?"),
            (Open, "{"),
            (Char, "a"),
            (Close, "}"),
            (Asterisk, "*"),
            (EscapedChar, ":"),
            (End, ""),
        ];
        let expected: Vec<_> = expected.iter().map(|(k, v)| (*k, v.to_string())).collect();
        assert_eq!(tokens, expected);
    }

    #[test]
    fn malformed_spots_are_errors_when_strict_and_tokens_when_lenient() {
        for bad in ["a:", "(", "()", "(?x)", "((a))", "\\", "(é)"] {
            assert!(tokenize(bad, Policy::Strict).is_err(), "{bad}");
            assert!(tokenize(bad, Policy::Lenient).is_ok(), "{bad}");
        }
        let lenient = kinds("https://x", Policy::Lenient);
        assert_eq!(lenient[5], (TokenKind::InvalidChar, ":".to_string()));
    }
}
