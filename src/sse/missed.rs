//! The `missed` event: how a subscription tells its page that messages it should
//! have had will never come (`pubsub/missed.rs` decides when; `redis/replay.rs` when
//! the log is involved).
//!
//! ```text
//! event: missed
//! data: {"after":"2","through":"7"}
//!
//! ```
//!
//! `after` is the last id the client had (its `Last-Event-ID`, or the last message
//! this stream sent it; `null` if it had none), `through` the id of the newest
//! message it will not get (`null` when nobody can tell: an id from another run or
//! another log, or entries trimmed from Redis whose ids are gone with them). The
//! event has **no `id:` line**: only an `id` field sets the last event ID (WHATWG
//! HTML, "Interpreting an event stream"), so the id the browser sends back on its
//! next reconnect is still that of the last message the page really received.
//! (Chromium also reports it as the `missed` event's `lastEventId`; the npm
//! `eventsource` client reports `""` there but resumes from the same id:
//! `tests/e2e/missed.test.mjs`.)
//!
//! A page listens with `es.addEventListener('missed', ...)` and reloads whatever
//! state it built from the messages (see `docs/topics.md`).

use crate::auth::json::quote;
use crate::pubsub::event_id::EventId;
use crate::pubsub::missed::{MISSED_EVENT, Missed};
use crate::sse::event::Event;

/// The `missed` event for a client whose last id was `after`.
pub fn missed_event(after: Option<&str>, missed: Missed) -> Event {
    let id_or_null = |id: Option<String>| id.map_or_else(|| "null".to_string(), |id| quote(&id));
    let data = format!(
        "{{\"after\":{},\"through\":{}}}",
        id_or_null(after.map(str::to_string)),
        id_or_null(missed.through.map(|id: EventId| id.to_string())),
    );
    Event::new(data)
        .with_type(MISSED_EVENT)
        .expect("\"missed\" is a valid event type")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_names_both_ids_and_carries_no_id_field() {
        let through = Some(EventId::counted(7));
        assert_eq!(
            missed_event(Some("2"), Missed { through }).encode(),
            b"event: missed\ndata: {\"after\":\"2\",\"through\":\"7\"}\n\n"
        );
        assert_eq!(
            missed_event(None, Missed { through: None }).encode(),
            b"event: missed\ndata: {\"after\":null,\"through\":null}\n\n"
        );
    }

    #[test]
    fn a_foreign_last_event_id_is_quoted_as_json() {
        let event = missed_event(Some("a\"b\\c"), Missed { through: None });
        assert_eq!(
            event.encode(),
            b"event: missed\ndata: {\"after\":\"a\\\"b\\\\c\",\"through\":null}\n\n"
        );
    }
}
