//! Entries of other kinds in the shared log: another protocol's messages (Mercure's
//! updates, `mercure/log.rs`) travel in the same Redis Stream, in the same order as the
//! project's own, marked by a `kind` field:
//!
//! ```text
//! XADD sse:log MAXLEN ~ 100000 * kind mercure form "topic=...&data=..."
//! ```
//!
//! The log reads them into [`OtherEntry`] values, every field as written, and the tail
//! hands them to whoever the program named (`tail.rs`). The project's own reader and
//! its replay skip them: an entry without a `topics` field is not one of its messages.

use crate::pubsub::event_id::EventId;
use crate::redis::resp::Value;

/// The field that marks an entry as another kind's.
pub const KIND_FIELD: &str = "kind";

/// An entry of another kind, as its fields were written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherEntry {
    pub id: EventId,
    /// The value of its `kind` field.
    pub kind: String,
    /// Every field, `kind` included, in order.
    pub fields: Vec<(String, String)>,
}

/// The entry as another kind's, if it has a `kind` field (and UTF-8 fields).
pub fn other_entry(id: EventId, fields: &[Value]) -> Option<OtherEntry> {
    let pairs: Vec<(String, String)> = fields
        .chunks(2)
        .filter_map(|pair| match pair {
            [Value::Bulk(Some(name)), Value::Bulk(Some(value))] => Some((
                String::from_utf8(name.clone()).ok()?,
                String::from_utf8(value.clone()).ok()?,
            )),
            _ => None,
        })
        .collect();
    let kind = pairs
        .iter()
        .find(|(name, _)| name == KIND_FIELD)
        .map(|(_, kind)| kind.clone())?;
    Some(OtherEntry {
        id,
        kind,
        fields: pairs,
    })
}
