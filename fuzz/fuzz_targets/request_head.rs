//! The request-head reader on arbitrary bytes, delivered in arbitrary fragments. The
//! properties live in `tests/support/head_check.rs`, where `make test` also replays
//! every input the fuzzer ever found (`tests/fuzz_regressions/`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/head_check.rs"]
mod head_check;

fuzz_target!(|input: &[u8]| head_check::check_request_head(input));
