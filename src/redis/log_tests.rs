//! Reading entries out of replies, without a Redis: the reply shapes are those of
//! `XRANGE` and `XREAD` in the Redis documentation.

use super::*;

fn bulk(text: &str) -> Value {
    Value::Bulk(Some(text.as_bytes().to_vec()))
}

fn entry(id: &str, fields: &[&str]) -> Value {
    Value::Array(Some(vec![
        bulk(id),
        Value::Array(Some(fields.iter().map(|field| bulk(field)).collect())),
    ]))
}

#[test]
fn entries_become_messages_with_their_ids() {
    let reply = Value::Array(Some(vec![
        entry("1700000000000-0", &["topics", "a b/c", "data", "one"]),
        entry(
            "1700000000000-1",
            &["topics", "a", "event", "chat", "data", "two\nlines"],
        ),
    ]));
    let page = parse_page(&reply).unwrap();
    assert_eq!(
        page.last_id,
        Some(EventId {
            ms: 1_700_000_000_000,
            seq: 1
        })
    );
    let first = &page.entries[0];
    assert_eq!(
        first.topics.iter().map(|t| &**t).collect::<Vec<_>>(),
        ["a", "b/c"]
    );
    assert_eq!(first.event.encode(), b"data: one\n\n");
    assert_eq!(
        page.entries[1].event.encode(),
        b"event: chat\ndata: two\ndata: lines\n\n"
    );
}

#[test]
fn entries_not_of_ours_are_skipped_but_still_move_the_position() {
    let reply = Value::Array(Some(vec![
        entry("5-0", &["topics", "a", "data", "ok"]),
        entry("6-0", &["something", "else"]),
        entry("7-0", &["topics", "bad*topic", "data", "x"]),
        entry("8-0", &["topics", "a", "event", "bad\ntype", "data", "x"]),
        entry("9-0", &["topics", "", "data", "x"]),
    ]));
    let page = parse_page(&reply).unwrap();
    assert_eq!(page.entries.len(), 1);
    assert_eq!(page.last_id, Some(EventId { ms: 9, seq: 0 }));
}

// Issue 23: `missed` is the server's word (pubsub/missed.rs); an entry written into
// the log by hand with that type used to reach pages as if the server had said it.
#[test]
fn an_entry_of_type_missed_is_refused_and_still_moves_the_position() {
    let reply = Value::Array(Some(vec![
        entry("5-0", &["topics", "a", "event", "missed", "data", "{}"]),
        entry("6-0", &["topics", "a", "event", "missed2", "data", "ok"]),
    ]));
    let page = parse_page(&reply).unwrap();
    assert_eq!(page.entries.len(), 1);
    assert_eq!(page.entries[0].id, EventId { ms: 6, seq: 0 });
    assert_eq!(page.last_id, Some(EventId { ms: 6, seq: 0 }));
}

#[test]
fn a_page_counts_the_bytes_of_every_entry_read_ours_or_not() {
    let reply = Value::Array(Some(vec![
        entry("5-0", &["topics", "a", "data", "12345"]),
        entry("6-0", &["something", "else"]),
    ]));
    let page = parse_page(&reply).unwrap();
    // "5-0" + "topics" + "a" + "data" + "12345", then "6-0" + "something" + "else".
    assert_eq!(page.bytes, 19 + 16);
    assert_eq!(page.largest_entry_bytes, 19);
}

#[test]
fn replies_of_the_wrong_shape_are_errors() {
    for bad in [
        Value::Integer(1),
        Value::Array(Some(vec![bulk("1-0")])),
        Value::Array(Some(vec![Value::Array(Some(vec![
            bulk("not-an-id"),
            Value::Array(Some(vec![])),
        ]))])),
    ] {
        assert!(parse_page(&bad).is_err(), "{bad:?}");
    }
}

#[test]
fn ids_go_to_redis_with_both_parts() {
    assert_eq!(stream_id(EventId::counted(42)), "0-42");
    assert_eq!(stream_id(EventId { ms: 17, seq: 3 }), "17-3");
}

#[test]
fn the_status_reads_as_json() {
    let status = LogStatus::default();
    status.connected.store(true, Ordering::Release);
    status.last_ms.store(1_700_000_000_000, Ordering::Relaxed);
    status.lag_ms.store(2, Ordering::Relaxed);
    assert_eq!(
        status.to_json(),
        r#"{"connected": true, "last_id": "1700000000000-0", "lag_ms": 2}"#
    );
}
