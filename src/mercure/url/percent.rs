//! Percent-encoding, by the sets of the URL Standard (section 1.3, "Percent-encoded
//! bytes"). A code point outside its component's set is written as-is; one inside it is
//! written as the `%XX` of each of its UTF-8 bytes, upper-case hex. An existing `%` is
//! never re-encoded: `%41` stays `%41`, which is why `a%41` and `aA` are different URLs.

/// Which percent-encode set a component uses. Each set holds the one before it in the
/// list the standard gives (fragment and query both start from the C0 control set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeSet {
    /// Controls and everything past `~`: opaque paths and opaque hosts.
    C0Control,
    /// C0 plus space `"` `<` `>` and backtick.
    Fragment,
    /// C0 plus space `"` `#` `<` `>`: the query of a non-special URL.
    Query,
    /// The query set plus `'`: the query of a special URL (`http:` and friends).
    SpecialQuery,
    /// The query set plus `?` `^` backtick `{` `}`.
    Path,
    /// The path set plus `/` `:` `;` `=` `@` `[` `\` `]` `^` `|`.
    Userinfo,
}

impl EncodeSet {
    /// Whether the ASCII byte `byte` must be encoded in this set (bytes past `~` always are).
    fn contains(self, byte: u8) -> bool {
        if !(0x20..=0x7E).contains(&byte) {
            return true;
        }
        match self {
            EncodeSet::C0Control => false,
            EncodeSet::Fragment => matches!(byte, b' ' | b'"' | b'<' | b'>' | b'`'),
            EncodeSet::Query => matches!(byte, b' ' | b'"' | b'#' | b'<' | b'>'),
            EncodeSet::SpecialQuery => EncodeSet::Query.contains(byte) || byte == b'\'',
            EncodeSet::Path => {
                EncodeSet::Query.contains(byte) || matches!(byte, b'?' | b'^' | b'`' | b'{' | b'}')
            }
            EncodeSet::Userinfo => {
                EncodeSet::Path.contains(byte)
                    || matches!(
                        byte,
                        b'/' | b':' | b';' | b'=' | b'@' | b'[' | b'\\' | b']' | b'|'
                    )
            }
        }
    }
}

/// Appends `c` to `out`, percent-encoded if `set` holds it.
pub fn encode_char(c: char, set: EncodeSet, out: &mut String) {
    let mut bytes = [0u8; 4];
    for &byte in c.encode_utf8(&mut bytes).as_bytes() {
        if set.contains(byte) {
            out.push_str(&format!("%{byte:02X}"));
        } else {
            out.push(byte as char);
        }
    }
}

/// `text` with every code point in `set` percent-encoded.
pub fn encode(text: &str, set: EncodeSet) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        encode_char(c, set, &mut out);
    }
    out
}

/// The bytes `text` stands for: each `%XX` becomes one byte, anything else (a `%` that
/// starts no valid pair included) stays as its own bytes.
pub fn decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let pair = bytes.get(index + 1..index + 3);
        let value = pair.and_then(|pair| {
            let text = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(text, 16)
                .ok()
                .filter(|_| pair.iter().all(u8::is_ascii_hexdigit))
        });
        match (bytes[index], value) {
            (b'%', Some(value)) => {
                out.push(value);
                index += 3;
            }
            (byte, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_set_encodes_what_the_standard_lists() {
        assert_eq!(
            encode("a b\"#<>`{}?^é", EncodeSet::Path),
            "a%20b%22%23%3C%3E%60%7B%7D%3F%5E%C3%A9"
        );
        assert_eq!(encode("a b'#?", EncodeSet::SpecialQuery), "a%20b%27%23?");
        assert_eq!(encode("a b'#?", EncodeSet::Query), "a%20b'%23?");
        assert_eq!(encode("#?`", EncodeSet::Fragment), "#?%60");
        assert_eq!(encode("u:p@[x]", EncodeSet::Userinfo), "u%3Ap%40%5Bx%5D");
        assert_eq!(encode("%41 ~", EncodeSet::C0Control), "%41 ~");
    }

    #[test]
    fn decoding_leaves_a_bare_percent_alone() {
        assert_eq!(decode("%41%zz%4"), b"A%zz%4");
        assert_eq!(decode("%c3%A9"), "é".as_bytes());
    }
}
