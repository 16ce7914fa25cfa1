//! Turning an event into the bytes of the `text/event-stream` format.
//!
//! The format (WHATWG HTML, section 9.2 "Server-sent events", "Parsing an event
//! stream") is a sequence of `field: value` lines; an empty line ends the event:
//!
//! ```text
//! id: 7
//! event: chat
//! data: first line
//! data: second line
//!
//! ```
//!
//! The browser joins the `data` lines with LF, so `event.data` is
//! `"first line\nsecond line"`. A line that starts with `:` is a comment the browser
//! ignores; `retry: 3000` sets the reconnection delay.
//!
//! The parser treats CRLF, a lone CR and a lone LF all as a line end. So a value that
//! contained any of them could end its line early and start a new field (or, with a
//! blank line, a whole new event). This file is the only encoder in the program and
//! it makes that impossible: data is split on every line end into several `data:`
//! lines, and `id` and `event` values that contain one are refused. (An `id` with a
//! NUL is also refused: the spec says a browser ignores such an id.)

use std::fmt;
use std::time::Duration;

/// The media type of an event stream.
pub const EVENT_STREAM: &str = "text/event-stream";

/// A value that cannot be used as an `id` or `event` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldError {
    /// The value contains CR or LF, which would end the line early.
    LineBreak,
    /// An id contains U+0000, which makes the browser ignore it.
    Nul,
    /// An event type is empty (the browser would treat it as `message`).
    Empty,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FieldError::LineBreak => "contains a line break",
            FieldError::Nul => "contains a NUL character",
            FieldError::Empty => "is empty",
        })
    }
}

/// One event: optional `id` and `event` type, and the data.
///
/// The fields are private so that every `Event` has passed the checks in
/// [`with_id`](Event::with_id) and [`with_type`](Event::with_type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    id: Option<String>,
    event_type: Option<String>,
    data: String,
}

impl Event {
    /// An event of the default type (`message`) carrying `data`, which may hold any
    /// text, line breaks included.
    pub fn new(data: impl Into<String>) -> Event {
        Event {
            id: None,
            event_type: None,
            data: data.into(),
        }
    }

    /// Sets the `id` field; a browser sends it back as `Last-Event-ID` on reconnect.
    pub fn with_id(mut self, id: impl Into<String>) -> Result<Event, FieldError> {
        let id = id.into();
        if id.contains(['\r', '\n']) {
            return Err(FieldError::LineBreak);
        }
        if id.contains('\0') {
            return Err(FieldError::Nul);
        }
        self.id = Some(id);
        Ok(self)
    }

    /// Sets the `event` field; a browser dispatches the event under this name.
    pub fn with_type(mut self, event_type: impl Into<String>) -> Result<Event, FieldError> {
        let event_type = event_type.into();
        check_event_type(&event_type)?;
        self.event_type = Some(event_type);
        Ok(self)
    }

    /// Appends the encoded event, ending with its blank line, to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        if let Some(id) = &self.id {
            push_field(out, "id", id);
        }
        if let Some(event_type) = &self.event_type {
            push_field(out, "event", event_type);
        }
        for line in split_lines(&self.data) {
            push_field(out, "data", line);
        }
        out.push(b'\n');
    }

    /// The encoded event as a new buffer.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 32);
        self.encode_into(&mut out);
        out
    }
}

/// Checks a value for the `event` field: not empty and on one line.
pub fn check_event_type(event_type: &str) -> Result<(), FieldError> {
    if event_type.is_empty() {
        return Err(FieldError::Empty);
    }
    if event_type.contains(['\r', '\n']) {
        return Err(FieldError::LineBreak);
    }
    Ok(())
}

/// The `retry:` line, sent alone: it sets the browser's reconnection delay and, having
/// no data, dispatches no event.
pub fn encode_retry(delay: Duration) -> Vec<u8> {
    format!("retry: {}\n\n", delay.as_millis()).into_bytes()
}

/// A comment line such as `: keep-alive`. The text is ours, never a client's; a line
/// break inside it would be a bug, so it is replaced rather than trusted.
pub fn encode_comment(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 4);
    for line in split_lines(text) {
        out.extend_from_slice(b": ");
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
    out
}

/// `name: value\n`. The space after the colon is optional on the wire, but a parser
/// strips exactly one space there, so writing it keeps a value's own leading space.
fn push_field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.push(b'\n');
}

/// Splits text into lines at CRLF, CR or LF, exactly as the event-stream parser does.
/// Unlike `str::lines`, a trailing line end yields a final empty line, so
/// `"a\n"` becomes `["a", ""]` and the browser sees `"a\n"` again.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.find(['\r', '\n']) {
            None => {
                rest = None;
                Some(current)
            }
            Some(end) => {
                let after = if current[end..].starts_with("\r\n") {
                    end + 2
                } else {
                    end + 1
                };
                rest = Some(&current[after..]);
                Some(&current[..end])
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(event: &Event) -> String {
        String::from_utf8(event.encode()).expect("encoder writes UTF-8")
    }

    #[test]
    fn simple_event_is_one_data_line_and_a_blank_line() {
        assert_eq!(encoded(&Event::new("hello")), "data: hello\n\n");
    }

    #[test]
    fn id_and_type_come_before_data() {
        let event = Event::new("This is event number 3").with_id("3").unwrap();
        assert_eq!(encoded(&event), "id: 3\ndata: This is event number 3\n\n");
        let close = Event::new("").with_type("close").unwrap();
        assert_eq!(encoded(&close), "event: close\ndata: \n\n");
    }

    #[test]
    fn every_kind_of_line_end_splits_data() {
        let event = Event::new("a\r\nb\rc\nd");
        assert_eq!(encoded(&event), "data: a\ndata: b\ndata: c\ndata: d\n\n");
    }

    #[test]
    fn data_that_looks_like_fields_cannot_forge_them() {
        let event = Event::new("x\n\nid: 9\nevent: evil\rretry: 1");
        assert_eq!(
            encoded(&event),
            "data: x\ndata: \ndata: id: 9\ndata: event: evil\ndata: retry: 1\n\n"
        );
    }

    #[test]
    fn trailing_line_end_and_leading_space_survive() {
        assert_eq!(encoded(&Event::new("a\n")), "data: a\ndata: \n\n");
        assert_eq!(encoded(&Event::new(" indented")), "data:  indented\n\n");
    }

    #[test]
    fn ids_and_types_with_line_breaks_are_refused() {
        assert_eq!(Event::new("").with_id("1\n2"), Err(FieldError::LineBreak));
        assert_eq!(Event::new("").with_id("1\r"), Err(FieldError::LineBreak));
        assert_eq!(Event::new("").with_id("a\0"), Err(FieldError::Nul));
        assert_eq!(Event::new("").with_type("a\nb"), Err(FieldError::LineBreak));
        assert_eq!(Event::new("").with_type(""), Err(FieldError::Empty));
    }

    #[test]
    fn retry_and_comments_have_their_own_lines() {
        assert_eq!(
            encode_retry(Duration::from_millis(3000)),
            b"retry: 3000\n\n"
        );
        assert_eq!(encode_comment("keep-alive"), b": keep-alive\n\n");
        assert_eq!(encode_comment("a\nb"), b": a\n: b\n\n");
    }
}
