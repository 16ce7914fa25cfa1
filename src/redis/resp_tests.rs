//! RESP on exact bytes: the examples of the protocol's documentation, and every way a
//! reply can be wrong.

use std::io::ErrorKind;

use super::*;

fn read(bytes: &[u8]) -> io::Result<Value> {
    let mut input = bytes;
    let value = read_value(&mut input, 1024)?;
    assert!(input.is_empty(), "{} bytes left unread", input.len());
    Ok(value)
}

fn bulk(text: &str) -> Value {
    Value::Bulk(Some(text.as_bytes().to_vec()))
}

#[test]
fn a_command_is_an_array_of_bulk_strings() {
    assert_eq!(
        encode_command(&[b"SET", b"name", b"bob"]),
        b"*3\r\n$3\r\nSET\r\n$4\r\nname\r\n$3\r\nbob\r\n"
    );
    // Binary-safe: CR, LF and an empty argument go out as they are.
    assert_eq!(
        encode_command(&[b"a\r\nb", b""]),
        b"*2\r\n$4\r\na\r\nb\r\n$0\r\n\r\n"
    );
}

#[test]
fn the_documented_examples_read_as_their_values() {
    assert_eq!(read(b"+OK\r\n").unwrap(), Value::Simple("OK".into()));
    assert_eq!(
        read(b"-ERR unknown command 'asdf'\r\n").unwrap(),
        Value::Error("ERR unknown command 'asdf'".into())
    );
    assert_eq!(read(b":1000\r\n").unwrap(), Value::Integer(1000));
    assert_eq!(read(b":-52\r\n").unwrap(), Value::Integer(-52));
    assert_eq!(read(b"$5\r\nhello\r\n").unwrap(), bulk("hello"));
    assert_eq!(read(b"$0\r\n\r\n").unwrap(), bulk(""));
    assert_eq!(read(b"$-1\r\n").unwrap(), Value::Bulk(None));
    assert_eq!(read(b"*0\r\n").unwrap(), Value::Array(Some(vec![])));
    assert_eq!(read(b"*-1\r\n").unwrap(), Value::Array(None));
    assert_eq!(
        read(b"*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n").unwrap(),
        Value::Array(Some(vec![bulk("hello"), bulk("world")]))
    );
    assert_eq!(
        read(b"*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*2\r\n+Hello\r\n-World\r\n").unwrap(),
        Value::Array(Some(vec![
            Value::Array(Some(vec![
                Value::Integer(1),
                Value::Integer(2),
                Value::Integer(3)
            ])),
            Value::Array(Some(vec![
                Value::Simple("Hello".into()),
                Value::Error("World".into())
            ])),
        ]))
    );
}

#[test]
fn a_bulk_string_may_hold_any_byte() {
    assert_eq!(
        read(b"$6\r\na\r\nb\0c\r\n").unwrap(),
        Value::Bulk(Some(b"a\r\nb\0c".to_vec()))
    );
}

#[test]
fn an_xread_reply_reads_as_nested_arrays() {
    // XREAD COUNT 1 STREAMS sse:log 0: [[key, [[id, [field, value, ...]]]]]
    let reply = b"*1\r\n*2\r\n$7\r\nsse:log\r\n*1\r\n*2\r\n$15\r\n1700000000000-0\r\n\
                  *2\r\n$4\r\ndata\r\n$2\r\nhi\r\n";
    let Value::Array(Some(streams)) = read(reply).unwrap() else {
        panic!("not an array");
    };
    let Value::Array(Some(stream)) = &streams[0] else {
        panic!("not an array");
    };
    assert_eq!(stream[0], bulk("sse:log"));
}

#[test]
fn values_arrive_one_after_another_on_one_connection() {
    let mut input: &[u8] = b"+OK\r\n:1\r\n";
    assert_eq!(
        read_value(&mut input, 16).unwrap(),
        Value::Simple("OK".into())
    );
    assert_eq!(read_value(&mut input, 16).unwrap(), Value::Integer(1));
    assert_eq!(
        read_value(&mut input, 16).unwrap_err().kind(),
        ErrorKind::UnexpectedEof
    );
}

#[test]
fn truncated_input_is_an_unexpected_eof() {
    for truncated in [
        &b""[..],
        b"+OK",
        b"+OK\r",
        b"$5\r\nhel",
        b"$5\r\nhello",
        b"$5\r\nhello\r",
        b"*2\r\n:1\r\n",
    ] {
        assert_eq!(
            read(truncated).unwrap_err().kind(),
            ErrorKind::UnexpectedEof,
            "{truncated:?}"
        );
    }
}

#[test]
fn anything_that_is_not_resp2_is_invalid_data() {
    for bad in [
        &b"\r\n"[..],
        b"?what\r\n",
        b"+OK\n",
        b"+O\rK\r\n",
        b":\r\n",
        b":12a\r\n",
        b":+1\r\n",
        b":-0\r\n",
        b":007\r\n",
        b"$03\r\nabc\r\n",
        b"*01\r\n:1\r\n",
        b":99999999999999999999\r\n",
        b"$-2\r\n",
        b"$ 1\r\na\r\n",
        b"$+1\r\na\r\n",
        b"$1\r\nab\r\n",
        b"$2\r\nabXY",
        b"*-5\r\n",
        b"*x\r\n",
        b"%1\r\n",
    ] {
        assert_eq!(
            read(bad).unwrap_err().kind(),
            ErrorKind::InvalidData,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn limits_stop_a_lying_or_hostile_peer() {
    // A bulk string over the caller's limit is refused before its bytes are read.
    let mut input: &[u8] = b"$2000\r\n";
    assert_eq!(
        read_value(&mut input, 1024).unwrap_err().kind(),
        ErrorKind::InvalidData
    );
    // A huge announced array allocates nothing up front, and ends at the input's end.
    assert_eq!(
        read(b"*1048576\r\n:1\r\n").unwrap_err().kind(),
        ErrorKind::UnexpectedEof
    );
    assert_eq!(
        read(b"*1048577\r\n").unwrap_err().kind(),
        ErrorKind::InvalidData
    );
    // Nesting deeper than MAX_DEPTH.
    let deep = "*1\r\n".repeat(MAX_DEPTH + 1) + ":1\r\n";
    assert_eq!(
        read(deep.as_bytes()).unwrap_err().kind(),
        ErrorKind::InvalidData
    );
    let deepest_allowed = "*1\r\n".repeat(MAX_DEPTH) + ":1\r\n";
    assert!(read(deepest_allowed.as_bytes()).is_ok());
    // A line with no end.
    let endless = vec![b'+'; MAX_LINE_BYTES + 10];
    assert_eq!(read(&endless).unwrap_err().kind(), ErrorKind::InvalidData);
}
