//! Active subscriptions: who follows what, as documents (spec, "Active
//! Subscriptions").
//!
//! Every subscription (one matcher of one connection) has a topic under the hub's
//! path, and a JSON document that is published there, privately, with the SSE type
//! `mercure`, when it starts and when it ends:
//!
//! ```text
//! event: mercure
//! id: urn:uuid:...
//! data: {"id":"/.well-known/mercure/subscriptions/exact/https%3A%2F%2Fexample.com%2Fa/urn%3Auuid%3A1e0c...",
//! data:  "type":"subscription","match_type":"exact","match":"https://example.com/a",
//! data:  "subscriber":"urn:uuid:1e0c...","active":true,"payload":{"name":"Alice"}}
//! ```
//!
//! (one `data:` line on the wire; wrapped here). `{match}` and `{subscriber}` are
//! percent-encoded once, whole (RFC 6570 section 3.2.1). The same documents make up
//! the subscriptions API's answers (`subscriptions_api.rs`). `payload` is the one the
//! subscriber's token attaches to the matcher (`token.rs`), so it is visible to every
//! subscriber allowed to read these events: the spec tells issuers not to put secrets
//! there.

use crate::auth::json::quote;
use crate::mercure::form::encode_component;
use crate::mercure::ids::random_urn;
use crate::mercure::matcher::Matcher;
use crate::mercure::namespace::HubUrl;
use crate::mercure::token::Access;
use crate::mercure::update::{HUB_EVENT_TYPE, PublishForm, Update};

/// The path segment under the hub's path where subscriptions live.
pub const SUBSCRIPTIONS: &str = "subscriptions";

/// One subscription, as the spec describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionDoc {
    pub match_type: &'static str,
    pub matcher: String,
    pub subscriber: String,
    pub active: bool,
    /// JSON text of the token's payload for this matcher.
    pub payload: Option<String>,
}

impl SubscriptionDoc {
    /// Its topic (and `id`): `{hub path}/subscriptions/{match_type}/{match}/{subscriber}`.
    pub fn topic(&self, hub: &HubUrl) -> String {
        format!(
            "{}/{}",
            collection_topic(hub, Some((self.match_type, &self.matcher))),
            encode_component(&self.subscriber)
        )
    }

    /// The JSON document.
    pub fn to_json(&self, hub: &HubUrl) -> String {
        let mut json = format!(
            "{{\"id\":{},\"type\":\"subscription\",\"match_type\":{},\"match\":{},\
             \"subscriber\":{},\"active\":{}",
            quote(&self.topic(hub)),
            quote(self.match_type),
            quote(&self.matcher),
            quote(&self.subscriber),
            self.active
        );
        if let Some(payload) = &self.payload {
            json.push_str(",\"payload\":");
            json.push_str(payload);
        }
        json.push('}');
        json
    }
}

/// The topic of a collection: all subscriptions, or those of one matcher.
pub fn collection_topic(hub: &HubUrl, matcher: Option<(&str, &str)>) -> String {
    let all = format!("{}/{SUBSCRIPTIONS}", hub.path);
    match matcher {
        None => all,
        Some((match_type, text)) => format!("{all}/{match_type}/{}", encode_component(text)),
    }
}

/// The documents of one connection's subscriptions, one per matcher.
pub fn docs_of(
    subscriber: &str,
    matchers: &[Matcher],
    access: Option<&Access>,
    active: bool,
) -> Vec<SubscriptionDoc> {
    matchers
        .iter()
        .map(|matcher| SubscriptionDoc {
            match_type: matcher.match_type.name(),
            matcher: matcher.text.clone(),
            subscriber: subscriber.to_string(),
            active,
            payload: access
                .and_then(|access| access.payload_for(&matcher.text))
                .map(str::to_string),
        })
        .collect()
}

/// The private `mercure` update that announces `doc`, under a new id.
pub fn event_of(doc: &SubscriptionDoc, hub: &HubUrl) -> Update {
    event_with_id(doc, hub, random_urn())
}

/// The same, under `id` (one every instance agrees on, from the shared log).
pub fn event_with_id(doc: &SubscriptionDoc, hub: &HubUrl, id: String) -> Update {
    let form = PublishForm {
        topics: vec![doc.topic(hub)],
        data: doc.to_json(hub),
        private: true,
        id: None,
        event_type: Some(HUB_EVENT_TYPE.to_string()),
        retry: None,
    };
    Update {
        hub_event: true,
        ..Update::new(&form, id)
    }
}

/// A collection document: `{"id": ..., "type": "subscriptions", "subscriptions": [...]}`.
pub fn collection_json(id: &str, docs: &[SubscriptionDoc], hub: &HubUrl) -> String {
    let items: Vec<String> = docs.iter().map(|doc| doc.to_json(hub)).collect();
    format!(
        "{{\"id\":{},\"type\":\"subscriptions\",\"subscriptions\":[{}]}}",
        quote(id),
        items.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::json;

    #[test]
    fn a_document_is_the_spec_example() {
        let hub = HubUrl::parse("https://example.com/.well-known/mercure").unwrap();
        let doc = SubscriptionDoc {
            match_type: "urlpattern",
            matcher: "https://example.com/:selector".into(),
            subscriber: "urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6".into(),
            active: true,
            payload: Some(r#"{"foo":"bar"}"#.into()),
        };
        let expected_id = "/.well-known/mercure/subscriptions/urlpattern/https%3A%2F%2Fexample.com%2F%3Aselector/urn%3Auuid%3Abb3de268-05b0-4c65-b44e-8f9acefc29d6";
        assert_eq!(doc.topic(&hub), expected_id);
        let parsed = json::parse(&doc.to_json(&hub)).unwrap();
        assert_eq!(
            parsed.get("id"),
            Some(&json::Value::String(expected_id.into()))
        );
        assert_eq!(parsed.get("active"), Some(&json::Value::Bool(true)));
        assert!(matches!(
            parsed.get("payload"),
            Some(json::Value::Object(_))
        ));
        let update = event_of(&doc, &hub);
        assert!(update.private);
        let wire = String::from_utf8(update.encoded.to_vec()).unwrap();
        assert!(wire.contains("event: mercure\n"), "{wire}");
        let collection = collection_json("/x", &[doc.clone(), doc], &hub);
        assert!(json::parse(&collection).is_ok());
    }
}
