//! The property the RESP fuzz target checks, and `tests/resp_property.rs` replays on
//! seeded inputs: reading arbitrary bytes never panics, and whatever the reader takes
//! as a value, written back as RESP, reads back as the same value, from exactly as
//! many bytes as it took.

use sse_server::redis::resp::{Value, read_value};

/// The largest bulk string the check lets the reader accept.
pub const MAX_BULK: usize = 4096;

pub fn check_resp(input: &[u8]) {
    let mut rest = input;
    let Ok(value) = read_value(&mut rest, MAX_BULK) else {
        return;
    };
    let taken = input.len() - rest.len();
    let written = write_value(&value);
    // The reader is strict, so what it took is already in the one form we write.
    assert_eq!(written, &input[..taken], "{value:?}");
    let mut again = written.as_slice();
    assert_eq!(read_value(&mut again, MAX_BULK).unwrap(), value);
    assert!(again.is_empty());
}

/// Any value as RESP2 bytes (the server only ever writes commands; tests need all).
pub fn write_value(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_into(value, &mut out);
    out
}

fn write_into(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Simple(text) => out.extend(format!("+{text}\r\n").bytes()),
        Value::Error(text) => out.extend(format!("-{text}\r\n").bytes()),
        Value::Integer(number) => out.extend(format!(":{number}\r\n").bytes()),
        Value::Bulk(None) => out.extend(b"$-1\r\n"),
        Value::Bulk(Some(bytes)) => {
            out.extend(format!("${}\r\n", bytes.len()).bytes());
            out.extend(bytes);
            out.extend(b"\r\n");
        }
        Value::Array(None) => out.extend(b"*-1\r\n"),
        Value::Array(Some(items)) => {
            out.extend(format!("*{}\r\n", items.len()).bytes());
            items.iter().for_each(|item| write_into(item, out));
        }
    }
}
