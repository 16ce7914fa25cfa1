//! Which characters a Mercure topic, matcher, id or type may hold.
//!
//! The spec forbids the same set in all four (Terminology, "Topic"; Publication,
//! `id` and `type`): C0 controls (U+0000 to U+001F), DEL (U+007F), C1 controls
//! (U+0080 to U+009F), and Unicode format characters (general category `Cf`): the
//! invisible bidirectional and zero-width marks that make two different topics look
//! alike. Refusing CR, LF and NUL also keeps every one of them from breaking an
//! event-stream line (spec, Security Considerations, "Server-Sent Events Field
//! Injection").
//!
//! `Cf` is written out below from the Unicode 15.1 character database
//! (`DerivedGeneralCategory.txt`); std has no table of general categories.

/// Every code point of general category `Cf`, as inclusive ranges.
const FORMAT_CHARACTERS: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// The first character of `text` that a topic, matcher, id or type may not hold.
pub fn forbidden_character(text: &str) -> Option<char> {
    text.chars().find(|&character| is_forbidden(character))
}

/// `Err` naming `what` and the character, for a 400.
pub fn check(what: &str, text: &str) -> Result<(), String> {
    match forbidden_character(text) {
        None => Ok(()),
        Some(character) => Err(format!(
            "{what} contains U+{:04X}, a control or format character",
            character as u32
        )),
    }
}

/// `Err` when `text`, which becomes one SSE field line (`id:`, `event:`), holds U+2028
/// LINE SEPARATOR or U+2029 PARAGRAPH SEPARATOR. Neither is a control or format
/// character, and the SSE parser does not break lines at them (WHATWG HTML, "Parsing an
/// event stream": CR and LF only), but other readers do: Python's `str.splitlines()`,
/// which some clients read a stream with, and log viewers, so one `id` could forge a
/// second line there. (U+0085, NEXT LINE, the third such separator, is a C1 control,
/// refused by [`check`] already.)
pub fn check_line(what: &str, text: &str) -> Result<(), String> {
    match text.chars().find(|c| matches!(c, '\u{2028}' | '\u{2029}')) {
        None => Ok(()),
        Some(character) => Err(format!(
            "{what} contains U+{:04X}, a line separator",
            character as u32
        )),
    }
}

fn is_forbidden(character: char) -> bool {
    let code = character as u32;
    code <= 0x1F
        || (0x7F..=0x9F).contains(&code)
        || FORMAT_CHARACTERS
            .iter()
            .any(|&(low, high)| (low..=high).contains(&code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_invisible_marks_are_refused() {
        for bad in [
            "a\nb",
            "a\rb",
            "\0",
            "\u{7f}",
            "\u{85}",
            "\u{200B}",
            "\u{202E}x",
            "\u{FEFF}",
        ] {
            assert!(forbidden_character(bad).is_some(), "{bad:?}");
        }
        for good in [
            "https://example.com/books/1",
            "livres/été",
            "a b",
            "東京",
            "*",
        ] {
            assert_eq!(forbidden_character(good), None, "{good:?}");
        }
    }
}
