//! An update, and the publish form it comes from (spec, "Publication").
//!
//! ```text
//! POST /.well-known/mercure            Content-Type: application/x-www-form-urlencoded
//! topic=https://example.com/books/1&topic=https://example.com/users/42/books/1
//!   &data=line+one%0Aline+two&private=on&id=urn:uuid:...&type=book&retry=5000
//! ```
//!
//! becomes one event on the wire, already encoded once for every subscriber:
//!
//! ```text
//! id: urn:uuid:...
//! event: book
//! data: line one
//! data: line two
//! retry: 5000
//!
//! ```
//!
//! | field | rule | status when broken |
//! |---|---|---|
//! | `topic` | at least one; no control or format characters; not `*`; not under the hub's path | 400 |
//! | `topic` | more than [`MAX_TOPICS`], or longer than [`MAX_FIELD_BYTES`] | 413 |
//! | `id` | not starting with `#`, not `earliest`, no control or format characters, no U+2028 or U+2029 | 400 |
//! | `type` | no control or format characters, no U+2028 or U+2029; not `mercure` (the hub's own) | 400 |
//! | `retry` | ASCII digits only, at most [`MAX_RETRY_MS`] | 400 |
//! | `private` | present means private, whatever its value | |
//! | anything else | ignored, for future extensions | |
//!
//! `data` may hold line breaks: the encoder (`sse/event.rs`) writes one `data:` line
//! per line, so a `data` of `x\nid: forged` stays data.

use crate::mercure::form;
use crate::mercure::namespace::HubUrl;
use crate::mercure::text;
use crate::mercure::token::Access;
use crate::sse::event::Event;

/// The most `topic` fields one update may carry (413 beyond).
pub const MAX_TOPICS: usize = 32;
/// The longest `topic`, `id`, `type` or `retry`, in bytes (413 beyond).
pub const MAX_FIELD_BYTES: usize = 2048;
/// The longest reconnection time a publisher may ask for, in milliseconds: 2^31 - 1,
/// the longest delay a browser's timer holds (HTML, "Timers": a longer one overflows
/// and fires at once, so a huge `retry` would make every client reconnect in a loop).
/// The SSE spec reads any run of digits and Mercure asks only for digits; beyond this
/// we answer 400, the status the spec gives a bad `retry`, rather than pass on a value
/// no client can honour.
pub const MAX_RETRY_MS: u64 = 2_147_483_647;
/// The SSE event type only the hub may use (spec, "Subscription Events").
pub const HUB_EVENT_TYPE: &str = "mercure";
/// The reserved `Last-Event-ID` that asks for everything held (spec, "Reconciliation").
pub const EARLIEST: &str = "earliest";

/// What the publisher asked for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishForm {
    /// The canonical topic first, then the alternates.
    pub topics: Vec<String>,
    pub data: String,
    pub private: bool,
    /// The publisher's id, if it gave one.
    pub id: Option<String>,
    pub event_type: Option<String>,
    pub retry: Option<u64>,
}

/// Why a publish form was refused: a 400 or a 413.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    Invalid(String),
    TooLarge(String),
}

/// An update as the hub holds it.
#[derive(Debug)]
pub struct Update {
    /// Its place in the hub's one sequence (set by the hub).
    pub seq: u64,
    pub id: String,
    pub topics: Vec<String>,
    pub private: bool,
    /// The event, encoded once.
    pub encoded: Box<[u8]>,
    /// Whether the hub made it (a subscription event), not a publisher: it is kept in
    /// a history of its own (`history.rs`).
    pub hub_event: bool,
}

impl Update {
    /// Whether a subscriber holding `access` may receive this update (spec,
    /// "Subscribers": a private update needs a `subscribe` grant on one of its topics).
    pub fn may_be_read_by(&self, access: Option<&Access>) -> bool {
        !self.private || access.is_some_and(|access| access.may_read_any(&self.topics))
    }

    /// The update for `form`, under `id` (the form's, or one the hub made up).
    pub fn new(form: &PublishForm, id: String) -> Update {
        let mut event = Event::new(form.data.as_str())
            .with_id(id.as_str())
            .expect("ids were checked for line breaks and NUL");
        if let Some(event_type) = &form.event_type {
            event = event
                .with_type(event_type.as_str())
                .expect("types were checked for line breaks and emptiness");
        }
        let mut encoded = Vec::with_capacity(form.data.len() + id.len() + 32);
        event.encode_into(&mut encoded);
        if let Some(retry) = form.retry {
            // Inside the event, before the blank line that ends it.
            encoded.pop();
            encoded.extend_from_slice(format!("retry: {retry}\n\n").as_bytes());
        }
        Update {
            seq: 0,
            id,
            topics: form.topics.clone(),
            private: form.private,
            encoded: encoded.into_boxed_slice(),
            hub_event: false,
        }
    }
}

/// Reads and checks a publish body.
pub fn read_form(body: &str, hub: &HubUrl) -> Result<PublishForm, FormError> {
    let invalid = |why: String| FormError::Invalid(why);
    let pairs = form::parse(body).map_err(invalid)?;
    let mut form = PublishForm {
        topics: Vec::new(),
        data: String::new(),
        private: false,
        id: None,
        event_type: None,
        retry: None,
    };
    for (name, value) in pairs {
        if ["topic", "id", "type", "retry"].contains(&name.as_str())
            && value.len() > MAX_FIELD_BYTES
        {
            return Err(FormError::TooLarge(format!(
                "a {name} field is longer than {MAX_FIELD_BYTES} bytes"
            )));
        }
        match name.as_str() {
            "topic" => {
                if form.topics.len() == MAX_TOPICS {
                    return Err(FormError::TooLarge(format!(
                        "more than {MAX_TOPICS} topics"
                    )));
                }
                check_topic(&value, hub).map_err(invalid)?;
                form.topics.push(value);
            }
            // Repeated fields other than `topic`: the last one counts, as in most form
            // readers; the spec defines each once.
            "data" => form.data = value,
            "private" => form.private = true,
            "id" => form.id = check_id(&value).map_err(invalid)?,
            "type" => form.event_type = check_type(&value).map_err(invalid)?,
            "retry" => form.retry = Some(check_retry(&value).map_err(invalid)?),
            _ => {}
        }
    }
    if form.topics.is_empty() {
        return Err(FormError::Invalid(
            "a publish needs at least one topic".into(),
        ));
    }
    Ok(form)
}

fn check_topic(topic: &str, hub: &HubUrl) -> Result<(), String> {
    text::check("a topic", topic)?;
    if topic == "*" {
        return Err("the topic \"*\" is reserved for the wildcard".into());
    }
    if hub.is_reserved(topic) {
        return Err(format!(
            "the topic {topic:?} is under {}, which only the hub publishes to",
            hub.path
        ));
    }
    Ok(())
}

/// The publisher's id; `None` for an empty one, which the hub replaces with its own
/// (an empty `id:` would reset the browser's last event id: nothing to resume from).
fn check_id(id: &str) -> Result<Option<String>, String> {
    text::check("the id", id)?;
    text::check_line("the id", id)?;
    if id.starts_with('#') {
        return Err("an id may not start with # (the hub's own ids may)".into());
    }
    if id == EARLIEST {
        return Err("the id \"earliest\" is reserved".into());
    }
    Ok((!id.is_empty()).then(|| id.to_string()))
}

/// The event type; `None` for an empty one (an empty `event:` line means `message`
/// to the browser, as no line does).
fn check_type(event_type: &str) -> Result<Option<String>, String> {
    text::check("the type", event_type)?;
    text::check_line("the type", event_type)?;
    if event_type == HUB_EVENT_TYPE {
        return Err("the type \"mercure\" is reserved for the hub's own events".into());
    }
    Ok((!event_type.is_empty()).then(|| event_type.to_string()))
}

/// The reconnection time, in milliseconds (spec, "Publication": ASCII digits only;
/// [`MAX_RETRY_MS`] at most).
fn check_retry(retry: &str) -> Result<u64, String> {
    if retry.is_empty() || !retry.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err("retry must be ASCII digits".into());
    }
    // Thirty digits overflow a u64: too long, like any value past the cap.
    match retry.parse::<u64>() {
        Ok(milliseconds) if milliseconds <= MAX_RETRY_MS => Ok(milliseconds),
        _ => Err(format!("retry must be at most {MAX_RETRY_MS} milliseconds")),
    }
}

#[cfg(test)]
#[path = "update_tests.rs"]
mod tests;
