//! Reading log entries out of Redis's replies: each entry is an id and a flat list of
//! field names and values (Redis docs, "Redis Streams"; the reply shapes of `XRANGE`
//! and `XREAD`):
//!
//! ```text
//! 1) "1732368000000-0"
//! 2) 1) "topics"  2) "orders/42 users/alice"  3) "event"  4) "status"  5) "data"  6) "shipped"
//! ```
//!
//! An entry that is not one of ours (another program wrote to the key) is skipped
//! with one warning, and so is one that claims the server's own `missed` type.

use std::io;

use log::warn;

use crate::http::log_text::log_safe;
use crate::pubsub::event_id::EventId;
use crate::pubsub::missed::MISSED_EVENT;
use crate::pubsub::subject::{ANONYMOUS, Subject};
use crate::pubsub::topic::{LogEntry, TopicName, check_topic_name};
use crate::redis::kinds::{OtherEntry, other_entry};
use crate::redis::resp::Value;
use crate::sse::event::{Event, check_event_type};

/// One page of entries read from the log.
pub struct Page {
    /// The well-formed entries, oldest first.
    pub entries: Vec<LogEntry>,
    /// Entries of other kinds (`kinds.rs`), oldest first.
    pub others: Vec<OtherEntry>,
    /// The id of the last entry read, well-formed or not: where the next read starts.
    pub last_id: Option<EventId>,
    /// How many entries were read, well-formed or not.
    pub read: usize,
    /// The bytes of the entries read (ids, field names and values; not RESP's
    /// framing): about what Redis sent.
    pub bytes: usize,
    /// The bytes of the largest entry read.
    pub largest_entry_bytes: usize,
    /// Each entry read, well-formed or not, with its bytes: what the byte bound
    /// counts (`log_bytes.rs`).
    pub sizes: Vec<(EventId, usize)>,
}

/// `[[id, [field, value, ...]], ...]` into entries. An entry that is not one of ours
/// (another program wrote to the key) is skipped with a warning.
pub fn parse_page(reply: &Value) -> io::Result<Page> {
    let Value::Array(Some(items)) = reply else {
        return Err(unexpected("a stream range"));
    };
    let mut page = Page {
        entries: Vec::with_capacity(items.len()),
        others: Vec::new(),
        last_id: None,
        read: items.len(),
        bytes: 0,
        largest_entry_bytes: 0,
        sizes: Vec::with_capacity(items.len()),
    };
    for item in items {
        let Value::Array(Some(pair)) = item else {
            return Err(unexpected("a stream entry"));
        };
        let [id, Value::Array(Some(fields))] = pair.as_slice() else {
            return Err(unexpected("a stream entry"));
        };
        let entry_bytes = value_bytes(&pair[0]) + fields.iter().map(value_bytes).sum::<usize>();
        page.bytes += entry_bytes;
        page.largest_entry_bytes = page.largest_entry_bytes.max(entry_bytes);
        let id = entry_id(id).ok_or_else(|| unexpected("a stream entry id"))?;
        page.last_id = Some(id);
        page.sizes.push((id, entry_bytes));
        if let Some(other) = other_entry(id, fields) {
            page.others.push(other);
            continue;
        }
        match parse_fields(fields) {
            Ok((topics, event, publisher)) => page.entries.push(LogEntry {
                id,
                topics,
                event,
                publisher,
            }),
            Err(why) => warn!("skipped log entry {id}: {why}"),
        }
    }
    Ok(page)
}

/// An entry's fields into its topics, its event and who published it (anonymous when
/// the entry does not say: written before `by` was, or by another program).
fn parse_fields(fields: &[Value]) -> Result<(Vec<TopicName>, Event, Subject), String> {
    let (mut topics, mut event_type, mut data, mut publisher) = (None, None, None, None);
    for pair in fields.chunks(2) {
        let [Value::Bulk(Some(name)), Value::Bulk(Some(value))] = pair else {
            return Err("fields are not name/value pairs".into());
        };
        let value = std::str::from_utf8(value).map_err(|_| "a field is not UTF-8")?;
        match name.as_slice() {
            b"topics" => topics = Some(value),
            b"event" => event_type = Some(value),
            b"data" => data = Some(value),
            b"by" => publisher = Some(value),
            _ => {}
        }
    }
    let topics = topics
        .ok_or("no topics field")?
        .split(' ')
        .map(|name| {
            check_topic_name(name).map_err(|why| format!("topic \"{}\": {why}", log_safe(name)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut event = Event::new(data.ok_or("no data field")?);
    if let Some(event_type) = event_type {
        check_event_type(event_type).map_err(|why| format!("event type: {why}"))?;
        // Only the server says `missed` (`pubsub/missed.rs`): a publish may not use
        // the type, and neither may an entry someone wrote into the log directly, or
        // a page would reload for nothing, or trust a gap that never was.
        if event_type == MISSED_EVENT {
            return Err(format!("event type {MISSED_EVENT:?} is the server's own"));
        }
        event = event
            .with_type(event_type)
            .map_err(|why| format!("event type: {why}"))?;
    }
    let publisher = Subject::from(publisher.unwrap_or(ANONYMOUS));
    Ok((topics, event, publisher))
}

/// The bytes of a bulk string (0 for anything else).
fn value_bytes(value: &Value) -> usize {
    match value {
        Value::Bulk(Some(bytes)) => bytes.len(),
        _ => 0,
    }
}

/// An id as Redis writes it, always with both parts (`42` alone would mean `42-0`).
pub fn stream_id(id: EventId) -> String {
    format!("{}-{}", id.ms, id.seq)
}

/// A bulk string holding an entry id.
pub fn entry_id(value: &Value) -> Option<EventId> {
    match value {
        Value::Bulk(Some(bytes)) => EventId::parse(std::str::from_utf8(bytes).ok()?),
        _ => None,
    }
}

pub fn unexpected(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("unexpected reply to {what}"),
    )
}
