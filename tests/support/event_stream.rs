//! A parser for `text/event-stream` that follows the WHATWG HTML standard, section
//! 9.2.6 "Interpreting an event stream", step by step: the same rules a browser's
//! `EventSource` applies. Tests (and the fuzz target) use it to check that what the
//! server encodes is read back exactly as intended.

/// One dispatched event, as a browser's `MessageEvent` would see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEvent {
    /// `event.type`: "message" unless an `event:` field set it.
    pub event_type: String,
    /// `event.data`.
    pub data: String,
    /// `event.lastEventId`: the last id seen on the stream so far.
    pub last_event_id: String,
}

/// Everything a stream told the parser.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ParsedStream {
    pub events: Vec<ParsedEvent>,
    /// The last valid `retry:` value, in milliseconds.
    pub retry_ms: Option<u64>,
    /// Comment lines (without the leading colon).
    pub comments: Vec<String>,
}

/// Parses a whole stream. A trailing event without its blank line is not dispatched,
/// as in a browser when the connection closes.
pub fn parse(stream: &str) -> ParsedStream {
    // "The UTF-8 decode algorithm strips one leading UTF-8 Byte Order Mark (BOM)".
    let stream = stream.strip_prefix('\u{FEFF}').unwrap_or(stream);
    let mut parsed = ParsedStream::default();
    let mut data = String::new();
    let mut event_type = String::new();
    let mut last_event_id = String::new();

    // Lines end in CRLF, a lone LF, or a lone CR. Only complete lines are processed.
    let mut lines = Vec::new();
    let mut rest = stream;
    while let Some(end) = rest.find(['\r', '\n']) {
        lines.push(&rest[..end]);
        let after = if rest[end..].starts_with("\r\n") {
            end + 2
        } else {
            end + 1
        };
        rest = &rest[after..];
    }

    for line in lines {
        if line.is_empty() {
            // Dispatch: "If the data buffer is an empty string, set the data buffer and
            // the event type buffer to the empty string and return."
            if data.is_empty() {
                event_type.clear();
                continue;
            }
            // "If the data buffer's last character is a U+000A LINE FEED (LF)
            // character, then remove the last character from the data buffer."
            if data.ends_with('\n') {
                data.pop();
            }
            parsed.events.push(ParsedEvent {
                event_type: if event_type.is_empty() {
                    "message".into()
                } else {
                    event_type.clone()
                },
                data: std::mem::take(&mut data),
                last_event_id: last_event_id.clone(),
            });
            event_type.clear();
            continue;
        }
        if let Some(comment) = line.strip_prefix(':') {
            parsed.comments.push(comment.to_string());
            continue;
        }
        let (field, value) = match line.split_once(':') {
            // "If value starts with a U+0020 SPACE character, remove it from value."
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => event_type = value.to_string(),
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            // "If the field value does not contain U+0000 NULL, then set the last event
            // ID buffer to the field value. Otherwise, ignore the field."
            "id" if !value.contains('\0') => last_event_id = value.to_string(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                parsed.retry_ms = value.parse().ok();
            }
            // Any other field is ignored.
            _ => {}
        }
    }
    parsed
}
