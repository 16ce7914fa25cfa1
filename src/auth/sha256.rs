//! SHA-256, as FIPS 180-4 defines it (section 6.2), in one small struct.
//!
//! A hash turns any number of bytes into 32 that look random: change one input bit and
//! about half the output bits change. HMAC (`hmac.rs`) builds a signature out of it.
//!
//! # How it works
//!
//! The message is padded (section 5.1.1) to a multiple of 64 bytes: a single `1` bit,
//! zeros, then the message length in bits as a 64-bit big-endian number. Then each
//! 64-byte block is mixed into an eight-word state by the *compression function*
//! (section 6.2.2): the block is stretched into 64 words (the *message schedule*), and
//! 64 rounds of additions, rotations and bit selections fold them in, one round
//! constant each. The final state, written big-endian, is the digest.
//!
//! The constants are not magic: the initial state is the first 32 bits of the
//! fractional parts of the square roots of the first 8 primes (section 5.3.3), and
//! the round constants those of the cube roots of the first 64 primes (section
//! 4.2.2). A test below recomputes both.

/// Bytes in a digest.
pub const DIGEST_BYTES: usize = 32;
/// Bytes in a block: what HMAC pads its key to.
pub const BLOCK_BYTES: usize = 64;

/// Section 5.3.3: the initial hash value H(0).
const INITIAL_STATE: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// Section 4.2.2: the round constants K0..K63.
const ROUND_CONSTANTS: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// A hash in progress: feed it with [`Sha256::update`], read it with
/// [`Sha256::finish`].
#[derive(Clone)]
pub struct Sha256 {
    state: [u32; 8],
    /// Bytes waiting for a full block.
    pending: [u8; BLOCK_BYTES],
    pending_len: usize,
    /// Message length so far, in bytes.
    length: u64,
}

impl Default for Sha256 {
    fn default() -> Sha256 {
        Sha256 {
            state: INITIAL_STATE,
            pending: [0; BLOCK_BYTES],
            pending_len: 0,
            length: 0,
        }
    }
}

impl Sha256 {
    /// Adds `data` to the message.
    pub fn update(&mut self, mut data: &[u8]) {
        self.length = self.length.wrapping_add(data.len() as u64);
        if self.pending_len > 0 {
            let take = data.len().min(BLOCK_BYTES - self.pending_len);
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&data[..take]);
            self.pending_len += take;
            data = &data[take..];
            if self.pending_len < BLOCK_BYTES {
                return;
            }
            compress(&mut self.state, &self.pending);
            self.pending_len = 0;
        }
        let mut blocks = data.chunks_exact(BLOCK_BYTES);
        for block in &mut blocks {
            compress(&mut self.state, block.try_into().expect("a 64-byte chunk"));
        }
        let rest = blocks.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    /// Pads the message (section 5.1.1) and returns its digest.
    pub fn finish(mut self) -> [u8; DIGEST_BYTES] {
        let bit_length = self.length.wrapping_mul(8);
        // A 1 bit, then zeros until 8 bytes short of a block boundary, then the length.
        let zeros = (BLOCK_BYTES + 55 - self.pending_len) % BLOCK_BYTES;
        let mut padding = [0u8; BLOCK_BYTES + 8];
        padding[0] = 0x80;
        padding[1 + zeros..9 + zeros].copy_from_slice(&bit_length.to_be_bytes());
        let length_before = self.length;
        self.update(&padding[..9 + zeros]);
        debug_assert_eq!(self.pending_len, 0);
        self.length = length_before;
        let mut digest = [0u8; DIGEST_BYTES];
        for (bytes, word) in digest.chunks_exact_mut(4).zip(self.state) {
            bytes.copy_from_slice(&word.to_be_bytes());
        }
        digest
    }
}

/// The SHA-256 digest of `data`.
pub fn digest(data: &[u8]) -> [u8; DIGEST_BYTES] {
    let mut hash = Sha256::default();
    hash.update(data);
    hash.finish()
}

/// Section 6.2.2: mixes one block into the state.
fn compress(state: &mut [u32; 8], block: &[u8; BLOCK_BYTES]) {
    // 1. The message schedule W0..W63 (the functions are section 4.1.2's).
    let mut w = [0u32; 64];
    for (word, bytes) in w.iter_mut().zip(block.chunks_exact(4)) {
        *word = u32::from_be_bytes(bytes.try_into().expect("4 bytes"));
    }
    for t in 16..64 {
        let sigma0 = w[t - 15].rotate_right(7) ^ w[t - 15].rotate_right(18) ^ (w[t - 15] >> 3);
        let sigma1 = w[t - 2].rotate_right(17) ^ w[t - 2].rotate_right(19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16]
            .wrapping_add(sigma0)
            .wrapping_add(w[t - 7])
            .wrapping_add(sigma1);
    }
    // 2.-3. Sixty-four rounds over the working variables a..h.
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for t in 0..64 {
        let big_sigma1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let choose = (e & f) ^ (!e & g);
        let t1 = h
            .wrapping_add(big_sigma1)
            .wrapping_add(choose)
            .wrapping_add(ROUND_CONSTANTS[t])
            .wrapping_add(w[t]);
        let big_sigma0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let majority = (a & b) ^ (a & c) ^ (b & c);
        let t2 = big_sigma0.wrapping_add(majority);
        h = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(t2);
    }
    // 4. The intermediate hash value.
    for (word, value) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *word = word.wrapping_add(value);
    }
}

#[cfg(test)]
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples of FIPS 180-4's companion document (csrc.nist.gov, "SHA256.pdf"),
    /// plus the empty message and the one-million-`a` message.
    #[test]
    fn published_examples() {
        let cases: [(&[u8], &str); 3] = [
            (
                b"abc",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            ),
            (
                b"",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
        ];
        for (message, expected) in cases {
            assert_eq!(hex(&digest(message)), expected, "{message:?}");
        }
        let million = vec![b'a'; 1_000_000];
        assert_eq!(
            hex(&digest(&million)),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
    }

    #[test]
    fn feeding_in_pieces_gives_the_same_digest() {
        let message: Vec<u8> = (0..300u32).map(|i| (i * 7 % 251) as u8).collect();
        // Every split point, including those around the 55/56/64-byte padding edges.
        for split in 0..message.len() {
            let mut hash = Sha256::default();
            hash.update(&message[..split]);
            hash.update(&message[split..]);
            assert_eq!(hash.finish(), digest(&message), "split at {split}");
        }
        for length in 50..=130 {
            let mut hash = Sha256::default();
            message[..length]
                .iter()
                .for_each(|byte| hash.update(&[*byte]));
            assert_eq!(hash.finish(), digest(&message[..length]), "length {length}");
        }
    }

    /// The first 32 bits of the fractional part of `root`.
    fn fraction_bits(root: f64) -> u32 {
        ((root - root.floor()) * 4_294_967_296.0) as u32
    }

    #[test]
    fn constants_are_the_roots_of_the_first_primes() {
        let primes: Vec<u32> = (2u32..)
            .filter(|n| (2..*n).take_while(|d| d * d <= *n).all(|d| n % d != 0))
            .take(64)
            .collect();
        for (i, prime) in primes.iter().take(8).enumerate() {
            assert_eq!(fraction_bits(f64::from(*prime).sqrt()), INITIAL_STATE[i]);
        }
        for (i, prime) in primes.iter().enumerate() {
            assert_eq!(fraction_bits(f64::from(*prime).cbrt()), ROUND_CONSTANTS[i]);
        }
    }
}
