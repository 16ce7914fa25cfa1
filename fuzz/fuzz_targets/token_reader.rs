//! The token reader on arbitrary bytes, as a token and as the claims of a signed one.
//! The properties live in `tests/support/auth_check.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/auth_check.rs"]
mod auth_check;

fuzz_target!(|input: &[u8]| auth_check::check_token(input));
