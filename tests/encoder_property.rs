//! The encoder's round-trip property (see `support::event_stream::check_round_trip`)
//! over a generated corpus: the same check the `event_encoder` fuzz target runs, here
//! in every `make test` run, plus the inputs the fuzzers have taught us to try.

mod support;

use support::event_stream::check_round_trip;

/// Characters that matter to the format, weighted towards line ends and field syntax.
const ALPHABET: &[char] = &[
    '\r', '\n', '\r', '\n', ':', ' ', ' ', 'd', 'a', 't', 'i', 'e', 'v', 'n', 'r', 'y', '0', '9',
    '\0', '\t', '\u{FEFF}', '\u{2028}', 'é', '✓', '🎉', 'x',
];

/// A small deterministic generator (xorshift64*), so a failure is reproducible.
struct Generator(u64);

impl Generator {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn text(&mut self, max_len: u64) -> String {
        let len = self.next() % (max_len + 1);
        (0..len)
            .map(|_| ALPHABET[(self.next() % ALPHABET.len() as u64) as usize])
            .collect()
    }
}

#[test]
fn every_generated_event_reads_back_exactly() {
    let mut generator = Generator(0x5EED_5EED_5EED_5EED);
    for case in 0..20_000 {
        let data = generator.text(40);
        let event_type = generator.text(6);
        let id = generator.text(4);
        if let Err(failure) = check_round_trip(&data, &event_type, &id) {
            panic!("case {case}: data {data:?}, type {event_type:?}, id {id:?}\n{failure}");
        }
    }
}

#[test]
fn hand_picked_edge_cases_read_back_exactly() {
    let cases: &[(&str, &str, &str)] = &[
        ("", "message", ""),
        ("\r\n", "close", "1"),
        ("\r", "x", "2"),
        ("\n\n\n", "x", "3"),
        ("a\r\r\nb", "x", "4"),
        ("data: forged\n\nid: 99", " spaced type", "5"),
        ("\u{FEFF}starts with a byte order mark", "bom", "\u{FEFF}"),
        (": looks like a comment", "message", " leading space id"),
        ("retry: 1", "retry", "retry: 1"),
    ];
    for (data, event_type, id) in cases {
        check_round_trip(data, event_type, id).unwrap_or_else(|failure| panic!("{failure}"));
    }
}

#[test]
fn fields_that_would_break_the_format_are_refused() {
    use sse_server::sse::event::Event;
    assert!(Event::new("x").with_type("a\nb").is_err());
    assert!(Event::new("x").with_type("").is_err());
    assert!(Event::new("x").with_id("1\r").is_err());
    assert!(Event::new("x").with_id("\0").is_err());
}
