//! `application/x-www-form-urlencoded`, both ways: reading a publish body or a
//! subscribe query (WHATWG URL, section 5.1, "application/x-www-form-urlencoded
//! parsing"), and percent-encoding one value for a subscription event's topic
//! (RFC 6570 section 3.2.1: everything but the unreserved characters).
//!
//! ```text
//! topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&data=hello+world&private
//!   ("topic", "https://example.com/books/1"), ("data", "hello world"), ("private", "")
//! ```
//!
//! The WHATWG parser never fails: a stray `%` stays a `%`, and bytes that are not
//! UTF-8 become U+FFFD. Mercure asks for more (names and values "MUST be UTF-8"), so
//! where the WHATWG parser would replace, we refuse: [`parse`] answers `Err` for a
//! value that does not decode to UTF-8, and the caller answers 400.

/// One name and its value, percent-decoded.
pub type Pair = (String, String);

/// The pairs of `input` in order (empty pieces between `&&` are skipped, and a name
/// without `=` has an empty value, as the WHATWG parser says).
pub fn parse(input: &str) -> Result<Vec<Pair>, String> {
    let mut pairs = Vec::new();
    for piece in input.split('&').filter(|piece| !piece.is_empty()) {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        pairs.push((decode(name)?, decode(value)?));
    }
    Ok(pairs)
}

/// `+` becomes a space and `%XX` the byte it names; a `%` not followed by two hex
/// digits stays as it is (WHATWG URL, "percent-decode").
pub fn decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let escaped = (byte == b'%')
            .then(|| bytes.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (byte, escaped) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                index += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                index += 1;
            }
            _ => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| "a form value is not valid UTF-8".to_string())
}

/// Percent-encodes every byte of `text` but the unreserved characters (`A-Z a-z 0-9 -
/// . _ ~`, RFC 3986 section 2.3), once: a `%` already in `text` is itself encoded, as
/// RFC 6570 section 3.2.1 asks for a simple string expansion.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_decode_as_url_search_params_does() {
        let pairs = parse("topic=a%2Fb&data=hello+world&private&&x=%zz%4").unwrap();
        assert_eq!(
            pairs,
            vec![
                ("topic".into(), "a/b".into()),
                ("data".into(), "hello world".into()),
                ("private".into(), "".into()),
                ("x".into(), "%zz%4".into()),
            ]
        );
        assert_eq!(parse("a=b=c").unwrap(), vec![("a".into(), "b=c".into())]);
        assert_eq!(parse("").unwrap(), Vec::<Pair>::new());
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused() {
        assert!(parse("topic=%FF").is_err());
        assert_eq!(decode("%C3%A9").unwrap(), "é");
    }

    #[test]
    fn a_component_is_encoded_exactly_once() {
        assert_eq!(
            encode_component("https://example.com/:selector"),
            "https%3A%2F%2Fexample.com%2F%3Aselector"
        );
        assert_eq!(encode_component("a%20b"), "a%2520b");
        assert_eq!(encode_component("urn:uuid:1-2"), "urn%3Auuid%3A1-2");
    }
}
