//! Mercure updates through the shared Redis log (chapter 5), so that instances behind
//! one load balancer serve one hub: an update published on any of them reaches the
//! subscribers of all, in one order, and each holds it for replay.
//!
//! An update is one log entry of kind `mercure`, holding the publish form itself,
//! form-encoded once more with the id the publishing instance settled on:
//!
//! ```text
//! XADD sse:log MAXLEN ~ 100000 * kind mercure
//!     form "topic=livres%2F%C3%A9t%C3%A9%201&data=...&private=on&id=urn%3Auuid%3A..."
//! ```
//!
//! Form encoding carries any topic (spaces, any UTF-8) unchanged, and reading the entry
//! back runs the very checks a publish runs (`update.rs`), so nothing written to the
//! key by another program can put a line break in an event. The project's own messages
//! and replay (`redis/replay.rs`) skip these entries; each instance's tail hands them to
//! its Mercure hub in log order, the publishing instance's included (the reason is the
//! same as for the project's messages: one reader keeps one order, `redis/tail.rs`).
//!
//! What stays per instance: subscription events and the subscriptions API describe the
//! subscribers of the instance asked, and a restarted instance holds for replay only the
//! updates among the newest `--history` entries of the log.

use std::io;

use log::warn;

use crate::mercure::form::encode_component;
use crate::mercure::hub::MercureHub;
use crate::mercure::update::{self, PublishForm, Update};
use crate::redis::log::{KIND_FIELD, OtherEntry, RedisLog};

/// The `kind` of a Mercure entry.
pub const KIND: &str = "mercure";
/// The field that holds the form.
const FORM_FIELD: &str = "form";

/// Appends the update `form` under `id` to the log; the tails deliver it.
pub fn append(log: &RedisLog, form: &PublishForm, id: &str) -> io::Result<()> {
    let encoded = encode_form(form, id);
    log.append_other(&[(KIND_FIELD, KIND), (FORM_FIELD, &encoded)])?;
    Ok(())
}

/// Dispatches the Mercure entries among `entries` (the tail calls this, in log order).
pub fn take_entries(hub: &MercureHub, entries: Vec<OtherEntry>) {
    for entry in entries.into_iter().filter(|entry| entry.kind == KIND) {
        match update_of(&entry, hub) {
            Ok(update) => {
                hub.publish(update);
            }
            Err(why) => warn!("skipped Mercure log entry {}: {why}", entry.id),
        }
    }
}

/// The update an entry holds, checked as a publish is.
fn update_of(entry: &OtherEntry, hub: &MercureHub) -> Result<Update, String> {
    let text = entry
        .fields
        .iter()
        .find(|(name, _)| name == FORM_FIELD)
        .map(|(_, text)| text.as_str())
        .ok_or("no form field")?;
    let form = update::read_form(text, &hub.hub_url).map_err(|error| format!("{error:?}"))?;
    let id = form.id.clone().ok_or("no id")?;
    Ok(Update::new(&form, id))
}

/// `form` as a form body again, with `id`.
fn encode_form(form: &PublishForm, id: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = form
        .topics
        .iter()
        .map(|topic| ("topic", topic.as_str()))
        .collect();
    pairs.push(("data", &form.data));
    pairs.push(("id", id));
    if form.private {
        pairs.push(("private", "on"));
    }
    if let Some(event_type) = &form.event_type {
        pairs.push(("type", event_type));
    }
    let retry = form.retry.map(|retry| retry.to_string());
    if let Some(retry) = &retry {
        pairs.push(("retry", retry));
    }
    let encoded: Vec<String> = pairs
        .iter()
        .map(|(name, value)| format!("{name}={}", encode_component(value)))
        .collect();
    encoded.join("&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mercure::hub::HubLimits;
    use crate::mercure::namespace::HubUrl;
    use crate::pubsub::event_id::EventId;

    #[test]
    fn a_form_survives_the_log_whatever_its_topics() {
        let hub = MercureHub::new(
            HubUrl::parse("https://localhost/.well-known/mercure").unwrap(),
            HubLimits {
                history: 10,
                history_bytes: 1 << 20,
            },
        );
        let form = PublishForm {
            topics: vec!["livres/été 1".into(), "a+b&c=d%".into()],
            data: "one\ntwo & three".into(),
            private: true,
            id: None,
            event_type: Some("book".into()),
            retry: Some(100),
        };
        let entry = OtherEntry {
            id: EventId { ms: 1, seq: 0 },
            kind: KIND.into(),
            fields: vec![
                (KIND_FIELD.into(), KIND.into()),
                (FORM_FIELD.into(), encode_form(&form, "urn:x")),
            ],
        };
        let update = update_of(&entry, &hub).unwrap();
        assert_eq!(update.topics, form.topics);
        assert!(update.private);
        assert_eq!(update.id, "urn:x");
        let expected = Update::new(&form, "urn:x".into());
        assert_eq!(update.encoded, expected.encoded);
        // An entry someone else wrote to the key is checked like a publish.
        let forged = OtherEntry {
            fields: vec![(FORM_FIELD.into(), "topic=a&type=mercure&id=x".into())],
            ..entry
        };
        assert!(update_of(&forged, &hub).is_err());
    }
}
