use super::*;

#[test]
fn reads_every_kind_of_value() {
    let value = parse(
        " {\"a\": [1, -2.5e3, 0, true, false, null], \"b\": \"x\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\", \"c\": {}}\r\n",
    )
    .unwrap();
    assert_eq!(
        value.get("a"),
        Some(&Value::Array(vec![
            Value::Number(1.0),
            Value::Number(-2500.0),
            Value::Number(0.0),
            Value::Bool(true),
            Value::Bool(false),
            Value::Null,
        ]))
    );
    assert_eq!(
        value.get("b"),
        Some(&Value::String("x\"\\/\u{8}\u{c}\n\r\té😀".into()))
    );
    assert_eq!(value.get("c"), Some(&Value::Object(vec![])));
    assert_eq!(value.get("d"), None);
    assert_eq!(parse("\"ünï\"").unwrap(), Value::String("ünï".into()));
    assert_eq!(parse("[]").unwrap(), Value::Array(vec![]));
}

#[test]
fn whole_numbers_read_as_f64_reads_them() {
    // Up to 15 digits take the short way (json.rs `number`); past it, f64's parser.
    for text in [
        "0",
        "-0",
        "7",
        "-42",
        "1765000000",
        "999999999999999",
        "-999999999999999",
        "1000000000000000",
        "12345678901234567890",
        "1.5",
        "2e3",
    ] {
        let expected: f64 = text.parse().unwrap();
        match parse(text).unwrap() {
            Value::Number(number) => assert_eq!(
                number.to_bits(),
                expected.to_bits(),
                "{text} read as {number}"
            ),
            other => panic!("{text} read as {other:?}"),
        }
    }
    assert!(parse("1e400").is_err(), "out of f64's range");
}

#[test]
fn refuses_what_rfc_8259_does_not_allow() {
    for text in [
        "",
        " ",
        "{",
        "{\"a\":1,}",
        "[1,]",
        "[1 2]",
        "{'a': 1}",
        "{a: 1}",
        "01",
        "1.",
        ".5",
        "-",
        "1e",
        "+1",
        "NaN",
        "Infinity",
        "1e999",
        "tru",
        "nul",
        "\"abc",
        "\"tab\there\"",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\ud800\\u0041\"",
        "{} {}",
        "[1] // comment",
        "{\"a\": 1, \"a\": 2}",
    ] {
        assert!(parse(text).is_err(), "{text:?} must be refused");
    }
}

#[test]
fn nesting_is_limited() {
    let deep_ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
    assert!(parse(&deep_ok).is_ok());
    let too_deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
    assert_eq!(parse(&too_deep).unwrap_err().reason, "nested too deeply");
    // Far deeper than any stack would allow without the limit.
    assert!(parse(&"[{\"a\":".repeat(100_000)).is_err());
}

#[test]
fn quote_round_trips_through_parse() {
    for text in [
        "plain",
        "quote \" and \\",
        "line\nbreak\r\t",
        "\u{1}\u{1f}",
        "é😀",
    ] {
        assert_eq!(parse(&quote(text)).unwrap(), Value::String(text.into()));
    }
    assert_eq!(quote("a\"b"), "\"a\\\"b\"");
}
