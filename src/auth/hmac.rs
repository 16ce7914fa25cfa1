//! HMAC-SHA256 (RFC 2104), and comparing secrets in constant time.
//!
//! A hash alone cannot sign: anyone can hash a forged message. HMAC mixes a secret
//! key in, twice, so that only holders of the key can produce the tag (RFC 2104
//! section 2):
//!
//! ```text
//! HMAC(K, m) = H((K' xor opad) || H((K' xor ipad) || m))
//! ```
//!
//! where `K'` is the key padded with zeros to one hash block (64 bytes), or first
//! hashed if it is longer than a block; `ipad` is the byte 0x36 repeated and `opad`
//! 0x5c. The nesting is what makes it safe against the length-extension property of
//! SHA-256, which `H(K || m)` would fall to.

use crate::auth::sha256::{self, BLOCK_BYTES, DIGEST_BYTES, Sha256};

const INNER_PAD: u8 = 0x36;
const OUTER_PAD: u8 = 0x5c;

/// The HMAC-SHA256 tag of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; DIGEST_BYTES] {
    let mut block_key = [0u8; BLOCK_BYTES];
    if key.len() > BLOCK_BYTES {
        block_key[..DIGEST_BYTES].copy_from_slice(&sha256::digest(key));
    } else {
        block_key[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::default();
    inner.update(&block_key.map(|byte| byte ^ INNER_PAD));
    inner.update(message);
    let inner_digest = inner.finish();

    let mut outer = Sha256::default();
    outer.update(&block_key.map(|byte| byte ^ OUTER_PAD));
    outer.update(&inner_digest);
    outer.finish()
}

/// Whether `a` and `b` are equal, looking at every byte whatever the first difference,
/// so that the time taken does not tell an attacker how much of a forged signature
/// (or token) was right. Only whether the lengths match can be learnt from it.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // black_box keeps the optimiser from turning the fold back into an early exit.
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::sha256::hex;

    /// RFC 4231 section 4, test cases 1 to 7 (HMAC-SHA-256 results).
    #[test]
    fn rfc_4231_test_cases() {
        let long_key = [0xaa; 131];
        let cases: [(&[u8], &[u8], &str); 6] = [
            (
                &[0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                &[0xaa; 20],
                &[0xdd; 50],
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            ),
            (
                &[
                    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                    23, 24, 25,
                ],
                &[0xcd; 50],
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            ),
            (
                &long_key,
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                &long_key,
                b"This is a test using a larger than block-size key and a larger than \
                  block-size data. The key needs to be hashed before being used by the \
                  HMAC algorithm.",
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (index, (key, data, expected)) in cases.iter().enumerate() {
            assert_eq!(hex(&hmac_sha256(key, data)), *expected, "case {index}");
        }
        // Test case 5 is truncated to 128 bits.
        let truncated = hmac_sha256(&[0x0c; 20], b"Test With Truncation");
        assert_eq!(hex(&truncated[..16]), "a3b6167473100ee06e0c796c2955552b");
    }

    #[test]
    fn constant_time_eq_compares_whole_slices() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret!"));
        assert!(constant_time_eq(b"", b""));
    }
}
