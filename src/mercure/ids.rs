//! Identifiers the hub makes up: an update's id when the publisher gave none, and a
//! subscriber's (spec, Publication `id`; Subscription Events `{subscriber}`).
//!
//! Both are random version 4 UUIDs as URNs (RFC 9562 section 5.4):
//! `urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6`. Random rather than counted, as the
//! spec advises: an id is shown to subscribers (as `id:` and in
//! `Mercure-Last-Event-ID`), and a counter would tell them how many updates, private
//! ones included, they did not see. The order of updates is kept by the hub, not read
//! from their ids.

use std::fs::File;
use std::io::Read;

/// A new `urn:uuid:` with 122 random bits from the kernel (`/dev/urandom`).
pub fn random_urn() -> String {
    let mut bytes = [0u8; 16];
    let filled = File::open("/dev/urandom").and_then(|mut source| source.read_exact(&mut bytes));
    if filled.is_err() {
        // No /dev/urandom (a chroot, say): std's hasher keys are random per process,
        // which is still unpredictable to a client, if weaker.
        for (index, chunk) in bytes.chunks_mut(8).enumerate() {
            let draw = crate::jitter::spread(0, u64::MAX - 1) ^ index as u64;
            chunk.copy_from_slice(&draw.to_le_bytes());
        }
    }
    bytes[6] = (bytes[6] & 0x0F) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3F) | 0x80; // the RFC 9562 variant
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_4_uuids_and_differ() {
        let first = random_urn();
        let second = random_urn();
        assert_ne!(first, second);
        let uuid = first.strip_prefix("urn:uuid:").unwrap();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
        assert!("89ab".contains(&uuid[19..20]));
    }
}
