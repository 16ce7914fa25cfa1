//! Properties of the token and JSON readers, shared by the fuzz targets
//! `fuzz/fuzz_targets/{json_reader,token_reader}.rs` and `tests/auth_properties.rs`.

use sse_server::auth::json::{self, Value};
use sse_server::auth::jwt::{self, LEEWAY_SECS};
use sse_server::auth::{base64url, hmac};

const SECRET: &[u8] = b"fuzz-secret-fuzz-secret-fuzz-secret!";
const NOW: i64 = 1_800_000_000;

/// Writes a value back as JSON (numbers with Rust's shortest round-trip form).
pub fn write(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => format!("{number:?}").replace("inf", "1e999"),
        Value::String(text) => json::quote(text),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(write).collect();
            format!("[{}]", items.join(","))
        }
        Value::Object(members) => {
            let members: Vec<String> = members
                .iter()
                .map(|(name, value)| format!("{}:{}", json::quote(name), write(value)))
                .collect();
            format!("{{{}}}", members.join(","))
        }
    }
}

/// The JSON reader never panics, and what it accepts survives writing and reading back.
pub fn check_json(input: &[u8]) {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    if let Ok(value) = json::parse(text) {
        let again = json::parse(&write(&value))
            .unwrap_or_else(|error| panic!("{text:?} read, written, not read back: {error}"));
        assert_eq!(again, value, "{text:?}");
    }
}

/// The token reader never panics; it accepts a token only if the signature is ours and
/// the token is current; and any claims text we sign is judged on its claims alone.
pub fn check_token(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    if let Ok(claims) = jwt::verify(&text, SECRET, NOW) {
        assert!(claims.expires_at + LEEWAY_SECS >= NOW);
        let (signed, signature) = text.rsplit_once('.').expect("three parts");
        let expected = hmac::hmac_sha256(SECRET, signed.as_bytes());
        assert_eq!(base64url::decode(signature).unwrap(), expected);
    }
    // The same bytes as the claims of a properly signed token: accepted exactly when
    // they are a JSON object with a current numeric exp and well-formed grants.
    let token = jwt::sign(&text, SECRET);
    if let Ok(claims) = jwt::verify(&token, SECRET, NOW) {
        let parsed = json::parse(&text).expect("accepted claims are JSON");
        assert!(matches!(parsed.get("exp"), Some(Value::Number(_))));
        assert!(claims.expires_at + LEEWAY_SECS >= NOW);
    }
}
