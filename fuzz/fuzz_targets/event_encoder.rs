//! The event encoder against a spec-faithful parser: for any data, type and id, one
//! event reads back with the same data (line ends normalised), type and id.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/event_stream.rs"]
mod event_stream;

fuzz_target!(|input: (String, String, String)| {
    let (data, event_type, id) = input;
    if let Err(failure) = event_stream::check_round_trip(&data, &event_type, &id) {
        panic!("{failure}");
    }
});
