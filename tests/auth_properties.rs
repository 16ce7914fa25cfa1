//! The token and JSON readers' fuzz properties (`tests/support/auth_check.rs`) on a
//! seeded set of inputs, so `make test` checks them without a fuzzer: valid tokens,
//! each of their prefixes and single-byte changes, and JSON corner cases.

mod support;

use sse_server::auth::jwt;
use support::auth_check::{check_json, check_token};

#[test]
fn json_corner_cases_hold_the_properties() {
    for text in [
        "{\"a\":[1,2.5,-0,1e300,true,null,\"\\u00e9\\ud83d\\ude00\"]}",
        "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
        "[[[[[[]]]]]]",
        "{\"a\":{\"b\":{}}}",
        "-1.5E-7",
        "0",
        "  [ ]  ",
    ] {
        check_json(text.as_bytes());
        assert!(sse_server::auth::json::parse(text).is_ok(), "{text}");
    }
}

#[test]
fn tokens_and_every_damaged_copy_hold_the_properties() {
    let secret = b"fuzz-secret-fuzz-secret-fuzz-secret!";
    let token = jwt::sign(
        r#"{"sub":"a","exp":1800000600,"subscribe":["x/*"]}"#,
        secret,
    );
    check_token(token.as_bytes());
    assert!(jwt::verify(&token, secret, 1_800_000_000).is_ok());
    let bytes = token.as_bytes();
    for cut in 0..bytes.len() {
        check_token(&bytes[..cut]);
    }
    for index in 0..bytes.len() {
        let mut damaged = bytes.to_vec();
        damaged[index] ^= 0x01;
        check_token(&damaged);
        // One changed bit anywhere makes the token invalid.
        let damaged = String::from_utf8_lossy(&damaged);
        assert!(
            jwt::verify(&damaged, secret, 1_800_000_000).is_err(),
            "{damaged}"
        );
    }
}
