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

/// The encoder's round-trip property, shared by `tests/encoder_property.rs` and the
/// fuzz target `fuzz/fuzz_targets/event_encoder.rs`: for any data, type and id, the
/// encoder either refuses the type or id for a stated reason, or writes bytes that a
/// spec-faithful parser reads back as exactly one event with the same data (line ends
/// normalised to LF), type and id, and nothing else (no retry, no comment).
pub fn check_round_trip(data: &str, event_type: &str, id: &str) -> Result<(), String> {
    use sse_server::sse::event::Event;
    let event = match Event::new(data).with_type(event_type) {
        Ok(event) => event,
        Err(_) if event_type.is_empty() || event_type.contains(['\r', '\n']) => return Ok(()),
        Err(error) => {
            return Err(format!(
                "type {event_type:?} refused without reason: {error}"
            ));
        }
    };
    let event = match event.with_id(id) {
        Ok(event) => event,
        Err(_) if id.contains(['\r', '\n', '\0']) => return Ok(()),
        Err(error) => return Err(format!("id {id:?} refused without reason: {error}")),
    };
    let encoded = String::from_utf8(event.encode())
        .map_err(|_| "the encoder wrote invalid UTF-8".to_string())?;
    let parsed = parse(&encoded);
    let expected = ParsedEvent {
        event_type: event_type.to_string(),
        data: data.replace("\r\n", "\n").replace('\r', "\n"),
        last_event_id: id.to_string(),
    };
    if parsed.events != [expected.clone()]
        || parsed.retry_ms.is_some()
        || !parsed.comments.is_empty()
    {
        return Err(format!(
            "encoded {encoded:?}\nparsed as {parsed:?}\nexpected {expected:?}"
        ));
    }
    Ok(())
}
