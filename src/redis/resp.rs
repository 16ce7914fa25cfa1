//! RESP, the Redis protocol (version 2): how a command is written, and how a reply is
//! read. Source: the Redis documentation, "Redis serialization protocol
//! specification" (RESP2 types).
//!
//! A command is an array of bulk strings. `XADD sse:log * data hi` goes out as
//!
//! ```text
//! *5\r\n            an array of 5 elements
//! $4\r\nXADD\r\n    a bulk string: its length, then its bytes
//! $7\r\nsse:log\r\n
//! $1\r\n*\r\n
//! $4\r\ndata\r\n
//! $2\r\nhi\r\n
//! ```
//!
//! A reply is one value, told apart by its first byte:
//!
//! | first byte | type | example |
//! |---|---|---|
//! | `+` | simple string (one line) | `+OK\r\n` |
//! | `-` | error (one line) | `-ERR unknown command\r\n` |
//! | `:` | integer | `:42\r\n` |
//! | `$` | bulk string, length-prefixed, binary-safe; `$-1` is null | `$2\r\nhi\r\n` |
//! | `*` | array of values, which may be arrays; `*-1` is null | `*1\r\n:1\r\n` |
//!
//! Bulk strings carry their length up front, so a value may contain any byte, CR and
//! LF included; nothing is escaped. The reader is strict (every line ends in CRLF, no
//! signs, spaces or leading zeros in numbers) and bounded (line length, bulk size, array length and
//! nesting), because its input comes from the network.

use std::io::{self, BufRead, Read};

/// The longest line (a simple string, an error, a number) we read.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// The most arrays inside arrays we follow (the deepest reply we use, `XREAD`'s, has
/// four levels).
pub const MAX_DEPTH: usize = 8;
/// The most elements one array may announce.
pub const MAX_ARRAY_LEN: usize = 1 << 20;

/// One RESP2 value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Simple(String),
    Error(String),
    Integer(i64),
    /// `None` is the null bulk string (`$-1`).
    Bulk(Option<Vec<u8>>),
    /// `None` is the null array (`*-1`): for example `XREAD BLOCK` that timed out.
    Array(Option<Vec<Value>>),
}

/// Writes `args` as one command: an array of bulk strings.
pub fn encode_command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + args.iter().map(|arg| arg.len() + 16).sum::<usize>());
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Reads one value from `input`. A bulk string longer than `max_bulk_bytes`, a line or
/// array over the limits above, or anything that is not RESP2 is an
/// `InvalidData` error; input that ends early is `UnexpectedEof`.
pub fn read_value(input: &mut impl BufRead, max_bulk_bytes: usize) -> io::Result<Value> {
    read_nested(input, max_bulk_bytes, 0)
}

fn read_nested(input: &mut impl BufRead, max_bulk_bytes: usize, depth: usize) -> io::Result<Value> {
    let line = read_line(input)?;
    let (&kind, rest) = line
        .split_first()
        .ok_or_else(|| invalid("an empty line where a value should start"))?;
    let text = || String::from_utf8(rest.to_vec()).map_err(|_| invalid("a line is not UTF-8"));
    match kind {
        b'+' => Ok(Value::Simple(text()?)),
        b'-' => Ok(Value::Error(text()?)),
        b':' => Ok(Value::Integer(parse_integer(rest)?)),
        b'$' => {
            let Some(len) = parse_length(rest)? else {
                return Ok(Value::Bulk(None));
            };
            if len > max_bulk_bytes {
                return Err(invalid("a bulk string over the size limit"));
            }
            // `len` bytes, then CRLF; `take` keeps a lying length from reading on.
            let mut bytes = Vec::with_capacity(len.min(64 * 1024));
            input.take(len as u64 + 2).read_to_end(&mut bytes)?;
            if bytes.len() < len + 2 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            if !bytes.ends_with(b"\r\n") {
                return Err(invalid("a bulk string does not end in CRLF"));
            }
            bytes.truncate(len);
            Ok(Value::Bulk(Some(bytes)))
        }
        b'*' => {
            let Some(len) = parse_length(rest)? else {
                return Ok(Value::Array(None));
            };
            if len > MAX_ARRAY_LEN {
                return Err(invalid("an array over the length limit"));
            }
            if depth >= MAX_DEPTH {
                return Err(invalid("arrays nested too deeply"));
            }
            // Not `with_capacity(len)`: the length is the peer's word, the elements
            // are not here yet.
            let mut items = Vec::with_capacity(len.min(1024));
            for _ in 0..len {
                items.push(read_nested(input, max_bulk_bytes, depth + 1)?);
            }
            Ok(Value::Array(Some(items)))
        }
        other => Err(invalid(&format!("unknown type byte {:?}", other as char))),
    }
}

/// One CRLF-terminated line, without the CRLF.
fn read_line(input: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    input
        .take(MAX_LINE_BYTES as u64 + 2)
        .read_until(b'\n', &mut line)?;
    if !line.ends_with(b"\n") {
        return Err(if line.len() > MAX_LINE_BYTES {
            invalid("a line over the length limit")
        } else {
            io::ErrorKind::UnexpectedEof.into()
        });
    }
    if !line.ends_with(b"\r\n") {
        return Err(invalid("a line ends in LF without CR"));
    }
    line.truncate(line.len() - 2);
    if line.contains(&b'\r') {
        return Err(invalid("a CR inside a line"));
    }
    Ok(line)
}

/// Digits as Redis writes them: at least one, no leading zero unless it is `0` itself.
/// (Being strict costs nothing, and means a value has one spelling only.)
fn is_canonical(digits: &[u8]) -> bool {
    !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
        && (digits[0] != b'0' || digits.len() == 1)
}

/// An integer: an optional `-`, then digits (`-0` is not one).
fn parse_integer(digits: &[u8]) -> io::Result<i64> {
    let magnitude = digits.strip_prefix(b"-").unwrap_or(digits);
    if !is_canonical(magnitude) || digits == b"-0" {
        return Err(invalid("not an integer"));
    }
    let text = std::str::from_utf8(digits).map_err(|_| invalid("not an integer"))?;
    text.parse().map_err(|_| invalid("an integer out of range"))
}

/// A bulk or array length: digits, or `-1` for null.
fn parse_length(digits: &[u8]) -> io::Result<Option<usize>> {
    if digits == b"-1" {
        return Ok(None);
    }
    if !is_canonical(digits) {
        return Err(invalid("not a length"));
    }
    let text = std::str::from_utf8(digits).map_err(|_| invalid("not a length"))?;
    text.parse()
        .map(Some)
        .map_err(|_| invalid("a length out of range"))
}

fn invalid(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("RESP: {why}"))
}

#[cfg(test)]
#[path = "resp_tests.rs"]
mod tests;
