//! base64url without padding: how a JWT writes bytes as text (RFC 7515 section 2,
//! after RFC 4648 section 5).
//!
//! Every 3 bytes (24 bits) become 4 characters of 6 bits each, from the alphabet
//! `A-Z a-z 0-9 - _` (the URL-safe one: `+` and `/` would need escaping in a URL).
//! A JWT leaves out the `=` padding, so 1 or 2 leftover bytes become 2 or 3
//! characters.
//!
//! Decoding is strict: padding, whitespace, characters outside the alphabet, an
//! impossible length, and leftover bits that are not zero are all refused. Then every
//! byte string has exactly one encoding, so a signed token cannot be re-spelled.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Why a string is not base64url.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// A character outside the alphabet (`=` padding included).
    InvalidCharacter,
    /// A length no unpadded encoding has (one character past a multiple of 4).
    InvalidLength,
    /// The last character carries bits that should be zero.
    NonCanonical,
}

/// `bytes` in base64url, without padding.
pub fn encode(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let mut buffer = [0u8; 3];
        buffer[..group.len()].copy_from_slice(group);
        let bits = u32::from_be_bytes([0, buffer[0], buffer[1], buffer[2]]);
        // 1 byte needs 2 characters, 2 need 3, 3 need 4.
        for index in 0..=group.len() {
            let sextet = (bits >> (18 - 6 * index)) & 0x3f;
            text.push(char::from(ALPHABET[sextet as usize]));
        }
    }
    text
}

/// The bytes `text` encodes.
pub fn decode(text: &str) -> Result<Vec<u8>, DecodeError> {
    let text = text.as_bytes();
    if text.len() % 4 == 1 {
        return Err(DecodeError::InvalidLength);
    }
    let mut bytes = Vec::with_capacity(text.len() / 4 * 3 + 2);
    for group in text.chunks(4) {
        let mut bits = 0u32;
        for (index, &character) in group.iter().enumerate() {
            let value = sextet(character).ok_or(DecodeError::InvalidCharacter)?;
            bits |= u32::from(value) << (18 - 6 * index);
        }
        let [_, first, second, third] = bits.to_be_bytes();
        let decoded = [first, second, third];
        let count = group.len() - 1;
        // Bits past the last whole byte must be zero (RFC 4648 section 3.5).
        if decoded[count..].iter().any(|&byte| byte != 0) {
            return Err(DecodeError::NonCanonical);
        }
        bytes.extend_from_slice(&decoded[..count]);
    }
    Ok(bytes)
}

/// The 6-bit value of one alphabet character.
fn sextet(character: u8) -> Option<u8> {
    match character {
        b'A'..=b'Z' => Some(character - b'A'),
        b'a'..=b'z' => Some(character - b'a' + 26),
        b'0'..=b'9' => Some(character - b'0' + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4648 section 10's test vectors, without their padding.
    #[test]
    fn rfc_4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(encode(plain.as_bytes()), encoded);
            assert_eq!(decode(encoded).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn the_url_safe_characters_and_every_byte_round_trip() {
        assert_eq!(encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(decode("-_8").unwrap(), [0xfb, 0xff]);
        let every_byte: Vec<u8> = (0..=255).collect();
        for length in 0..every_byte.len() {
            let encoded = encode(&every_byte[..length]);
            assert_eq!(decode(&encoded).unwrap(), &every_byte[..length]);
        }
    }

    #[test]
    fn strict_decoding() {
        assert_eq!(decode("Zg=="), Err(DecodeError::InvalidCharacter));
        assert_eq!(decode("Zm9v+"), Err(DecodeError::InvalidLength));
        assert_eq!(decode("Zm+v"), Err(DecodeError::InvalidCharacter));
        assert_eq!(decode("Zm 9"), Err(DecodeError::InvalidCharacter));
        assert_eq!(decode("Z"), Err(DecodeError::InvalidLength));
        // "Zh" decodes to 'f' with a nonzero leftover bit; only "Zg" is canonical.
        assert_eq!(decode("Zh"), Err(DecodeError::NonCanonical));
    }
}
