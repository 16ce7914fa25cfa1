//! The RESP reader on arbitrary bytes. The property lives in
//! `tests/support/resp_check.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/resp_check.rs"]
mod resp_check;

fuzz_target!(|input: &[u8]| resp_check::check_resp(input));
