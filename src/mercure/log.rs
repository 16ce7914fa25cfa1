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
//! With `--mercure-subscriptions`, subscription events go through the log too, so that a
//! page on any instance sees who arrives and leaves on all of them: one entry of kind
//! `mercure-subscription` per arrival or departure, whatever the number of matchers,
//! holding the subscriber, `active`, then per matcher the event's id and the document's
//! fields. Each instance dispatches one event per matcher from it, as the spec asks;
//! the log, which every instance's messages share, gets one entry:
//!
//! ```text
//! XADD sse:log MAXLEN ~ 100000 * kind mercure-subscription subscriber urn:uuid:... active 1
//!     id urn:uuid:... match_type exact match https://example.com/a
//!     id urn:uuid:... match_type urlpattern match /books/:id payload {"name":"Alice"}
//! ```
//!
//! What stays per instance: the subscriptions API lists the subscribers of the instance
//! asked, and a restarted instance holds for replay only the updates among the newest
//! `--history` entries of the log.

use std::io;

use log::warn;

use crate::auth::json::{self, Value};
use crate::mercure::form::encode_component;
use crate::mercure::hub::MercureHub;
use crate::mercure::ids::random_urn;
use crate::mercure::matcher::{MAX_MATCHER_BYTES, MatcherType};
use crate::mercure::subscriptions::{self, SubscriptionDoc};
use crate::mercure::text;
use crate::mercure::token::to_json;
use crate::mercure::update::{self, PublishForm, Update};
use crate::redis::kinds::{KIND_FIELD, OtherEntry};
use crate::redis::log::RedisLog;

/// The `kind` of a Mercure entry.
pub const KIND: &str = "mercure";
/// The `kind` of a subscription event's entry.
pub const SUBSCRIPTION_KIND: &str = "mercure-subscription";
/// The field that holds the form.
const FORM_FIELD: &str = "form";
/// The most subscriptions one entry may announce: as many matchers as one subscribe may
/// carry (`subscribe.rs`, `MAX_MATCHERS`), so a foreign entry costs no more than a
/// subscribe does.
const MAX_SUBSCRIPTIONS_PER_ENTRY: usize = 64;

/// Appends the update `form` under `id` to the log; the tails deliver it.
pub fn append(log: &RedisLog, form: &PublishForm, id: &str) -> io::Result<()> {
    let encoded = encode_form(form, id);
    log.append_other(&[(KIND_FIELD, KIND), (FORM_FIELD, &encoded)])?;
    Ok(())
}

/// Appends the subscription events of `docs` (their subscriber joined, or left:
/// `active` says which): one entry per subscriber and direction, however many matchers
/// it has. A failure costs the announcement, not the stream: it is logged, and the
/// subscriber is served all the same.
pub fn announce(log: &RedisLog, docs: &[SubscriptionDoc]) {
    let same_entry = |a: &SubscriptionDoc, b: &SubscriptionDoc| {
        a.subscriber == b.subscriber && a.active == b.active
    };
    for run in docs.chunk_by(same_entry) {
        let ids: Vec<String> = run.iter().map(|_| random_urn()).collect();
        if let Err(error) = log.append_other(&subscription_entry(run, &ids)) {
            warn!(
                "subscription events for {} not announced: {error}",
                run[0].subscriber
            );
        }
    }
}

/// The fields of the entry announcing `run` (one subscriber, one direction), the
/// events' ids in `ids`.
fn subscription_entry<'a>(
    run: &'a [SubscriptionDoc],
    ids: &'a [String],
) -> Vec<(&'a str, &'a str)> {
    let active = if run[0].active { "1" } else { "0" };
    let mut fields = vec![
        (KIND_FIELD, SUBSCRIPTION_KIND),
        ("subscriber", run[0].subscriber.as_str()),
        ("active", active),
    ];
    for (doc, id) in run.iter().zip(ids) {
        fields.push(("id", id.as_str()));
        fields.push(("match_type", doc.match_type));
        fields.push(("match", doc.matcher.as_str()));
        if let Some(payload) = &doc.payload {
            fields.push(("payload", payload));
        }
    }
    fields
}

/// Dispatches the Mercure entries among `entries` (the tail calls this, in log order).
pub fn take_entries(hub: &MercureHub, entries: Vec<OtherEntry>) {
    for entry in entries {
        let updates = match entry.kind.as_str() {
            KIND => update_of(&entry, hub).map(|update| vec![update]),
            SUBSCRIPTION_KIND => subscription_events_of(&entry, hub),
            _ => continue,
        };
        match updates {
            Ok(updates) => {
                for update in updates {
                    hub.publish(update);
                }
            }
            Err(why) => warn!("skipped Mercure log entry {}: {why}", entry.id),
        }
    }
}

/// The subscription events an entry holds, every field checked: nothing read from the
/// log reaches a subscriber unchecked, and one bad subscription refuses the entry.
/// `subscriber` and `active` are the entry's; each `id` starts one subscription's
/// fields (`match_type`, `match`, and `payload` if any), which is also how an entry of
/// one subscription, in any order after its `id`, reads.
fn subscription_events_of(entry: &OtherEntry, hub: &MercureHub) -> Result<Vec<Update>, String> {
    let entry_field = |name: &str| {
        entry
            .fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    };
    let subscriber = checked_text("subscriber", entry_field("subscriber"))?;
    let active = entry_field("active") == Some("1");
    let mut subscriptions: Vec<Vec<(&str, &str)>> = Vec::new();
    for (name, value) in &entry.fields {
        match name.as_str() {
            "id" => subscriptions.push(vec![("id", value.as_str())]),
            "match_type" | "match" | "payload" => subscriptions
                .last_mut()
                .ok_or_else(|| format!("{name} before any id"))?
                .push((name.as_str(), value.as_str())),
            _ => {}
        }
    }
    if subscriptions.is_empty() || subscriptions.len() > MAX_SUBSCRIPTIONS_PER_ENTRY {
        return Err(format!(
            "{} subscriptions (1 to {MAX_SUBSCRIPTIONS_PER_ENTRY})",
            subscriptions.len()
        ));
    }
    subscriptions
        .iter()
        .map(|fields| {
            let field = |name: &str| {
                fields
                    .iter()
                    .find(|(field, _)| *field == name)
                    .map(|(_, value)| *value)
            };
            let match_type =
                MatcherType::from_name(&checked_text("match_type", field("match_type"))?)
                    .ok_or("an unknown match_type")?
                    .name();
            let payload = match field("payload") {
                None => None,
                Some(payload) => match json::parse(payload) {
                    Ok(object @ Value::Object(_)) => Some(to_json(&object)),
                    _ => return Err("the payload is not a JSON object".into()),
                },
            };
            let doc = SubscriptionDoc {
                match_type,
                matcher: checked_text("match", field("match"))?,
                subscriber: subscriber.clone(),
                active,
                payload,
            };
            let id = checked_text("id", field("id"))?;
            Ok(subscriptions::event_with_id(&doc, &hub.hub_url, id))
        })
        .collect()
}

/// A field's value, if present, non-empty, not too long, and of allowed characters.
fn checked_text(name: &str, value: Option<&str>) -> Result<String, String> {
    let value = value.ok_or_else(|| format!("no {name} field"))?;
    text::check(name, value)?;
    if value.is_empty() || value.len() > MAX_MATCHER_BYTES {
        return Err(format!("{name} is empty or too long"));
    }
    Ok(value.to_string())
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

    #[test]
    fn a_subscription_event_entry_is_checked_field_by_field() {
        let hub = MercureHub::new(
            HubUrl::parse("https://localhost/.well-known/mercure").unwrap(),
            HubLimits {
                history: 10,
                history_bytes: 1 << 20,
            },
        );
        let entry = |fields: &[(&str, &str)]| OtherEntry {
            id: EventId { ms: 1, seq: 0 },
            kind: SUBSCRIPTION_KIND.into(),
            fields: fields
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
        };
        let good = [
            ("id", "urn:e"),
            ("match_type", "exact"),
            ("match", "https://example.com/a b"),
            ("subscriber", "urn:uuid:1"),
            ("active", "0"),
            ("payload", r#"{"n": 1}"#),
        ];
        let update = subscription_events_of(&entry(&good), &hub)
            .unwrap()
            .remove(0);
        assert_eq!(update.id, "urn:e");
        assert!(update.private);
        assert_eq!(
            update.topics,
            [
                "/.well-known/mercure/subscriptions/exact/https%3A%2F%2Fexample.com%2Fa%20b/urn%3Auuid%3A1"
            ]
        );
        let wire = String::from_utf8(update.encoded.to_vec()).unwrap();
        assert!(
            wire.contains(r#""active":false,"payload":{"n":1}"#),
            "{wire}"
        );
        for (name, bad) in [
            ("match_type", "regexp"),
            ("match", "a\nid: forged"),
            ("subscriber", ""),
            ("payload", "[1]"),
            ("id", "a\rb"),
        ] {
            let mut fields = good.to_vec();
            fields.retain(|(field, _)| *field != name);
            fields.push((name, bad));
            assert!(
                subscription_events_of(&entry(&fields), &hub).is_err(),
                "{name}"
            );
        }
    }

    #[test]
    fn one_entry_carries_every_matcher_of_an_arrival() {
        let hub = MercureHub::new(
            HubUrl::parse("https://localhost/.well-known/mercure").unwrap(),
            HubLimits {
                history: 10,
                history_bytes: 1 << 20,
            },
        );
        let doc = |match_type, matcher: &str, payload: Option<&str>| SubscriptionDoc {
            match_type,
            matcher: matcher.into(),
            subscriber: "urn:uuid:1".into(),
            active: true,
            payload: payload.map(str::to_string),
        };
        let docs = [
            doc("exact", "a", None),
            doc("urlpattern", "/books/:id", Some(r#"{"n":1}"#)),
            doc("exact", "c d", None),
        ];
        let ids: Vec<String> = (1..=3).map(|n| format!("urn:e{n}")).collect();
        let entry = OtherEntry {
            id: EventId { ms: 1, seq: 0 },
            kind: SUBSCRIPTION_KIND.into(),
            fields: subscription_entry(&docs, &ids)
                .into_iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
        };
        let events = subscription_events_of(&entry, &hub).unwrap();
        let got: Vec<(String, String)> = events
            .iter()
            .map(|event| (event.id.clone(), event.topics[0].clone()))
            .collect();
        let want: Vec<(String, String)> = docs
            .iter()
            .zip(&ids)
            .map(|(doc, id)| (id.clone(), doc.topic(&hub.hub_url)))
            .collect();
        assert_eq!(got, want, "one event per matcher, from one entry");
        let wire = String::from_utf8(events[1].encoded.to_vec()).unwrap();
        assert!(wire.contains(r#""payload":{"n":1}"#), "{wire}");
        assert!(
            !String::from_utf8(events[2].encoded.to_vec())
                .unwrap()
                .contains("payload")
        );
    }
}
