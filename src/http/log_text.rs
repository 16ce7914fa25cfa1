//! Request text made safe for a log line: the one helper every log line uses for
//! what a client sent (a path, a `Host`, an `Origin`, a topic name...).
//!
//! A log is read one line at a time, and a client chooses the bytes of its headers:
//! a `403` warning that printed a refused `Origin` raw would let the client end that
//! line and write one of its own (`... 202 Accepted`). Line ends are not only CR and
//! LF: log viewers and terminals also break lines at NEL (U+0085) and at U+2028 and
//! U+2029, and U+009B (a one-character CSI) starts a terminal escape sequence. Rather
//! than list the dangerous characters, [`log_safe`] keeps only the harmless ones,
//! printable ASCII, and writes everything else as `\u{..}`, as Rust's `{:?}` does. A
//! backslash and a double quote are escaped too, so a value shown between quotes ends
//! where the server's quote does.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every character outside printable ASCII written as `\u{hex}`, and `\`
/// and `"` as `\\` and `\"`. Borrowed when there is nothing to escape (the usual case).
pub fn log_safe(text: &str) -> Cow<'_, str> {
    let harmless = |c: char| matches!(c, ' '..='~') && c != '\\' && c != '"';
    if text.chars().all(harmless) {
        return Cow::Borrowed(text);
    }
    let mut safe = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => safe.push_str("\\\\"),
            '"' => safe.push_str("\\\""),
            c if harmless(c) => safe.push(c),
            c => {
                let _ = write!(safe, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(safe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breakers_and_escape_starters_are_written_out() {
        assert_eq!(
            log_safe("a\u{85}b\u{2028}c\u{9b}d\u{2029}e\r\nf"),
            "a\\u{85}b\\u{2028}c\\u{9b}d\\u{2029}e\\u{d}\\u{a}f"
        );
        assert_eq!(log_safe("caf\u{e9} \u{1b}[31m"), "caf\\u{e9} \\u{1b}[31m");
        assert_eq!(log_safe(r#"say "hi" \o/"#), r#"say \"hi\" \\o/"#);
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        let text = "https://app.example:8443/page?x=1";
        assert!(matches!(log_safe(text), Cow::Borrowed(same) if same == text));
        assert!(log_safe("").is_empty());
    }
}
