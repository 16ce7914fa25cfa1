//! Message ids: what a browser sends back in `Last-Event-ID`, and how the hub orders
//! messages.
//!
//! An id is a pair of numbers compared first by the first, then by the second. That is
//! the shape of a Redis Stream entry id, `1732368000000-3` (the milliseconds of the
//! `XADD`, then a sequence within that millisecond), which a server started with
//! `--redis` hands out unchanged (`redis/`). A server on its own counts `0-1`, `0-2`,
//! ... and writes them without the zero: `1`, `2`, ... So both kinds are written and
//! read back exactly, and every id of one server is greater than the ids before it.
//!
//! Clients treat ids as opaque strings; only the server compares them.

use std::fmt;

/// A message id: ordered by `ms`, then by `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EventId {
    /// Milliseconds since the epoch for ids from a Redis Stream; 0 for counted ids.
    pub ms: u64,
    /// The sequence number: the count itself for counted ids.
    pub seq: u64,
}

impl EventId {
    /// The id before any message: every real id is greater.
    pub const ZERO: EventId = EventId { ms: 0, seq: 0 };

    /// The counted id `n` (written `n`).
    pub const fn counted(n: u64) -> EventId {
        EventId { ms: 0, seq: n }
    }

    /// The id a lone server gives the message after this one.
    pub fn next_counted(self) -> EventId {
        EventId {
            ms: self.ms,
            seq: self.seq + 1,
        }
    }

    /// The greatest id below this one (`ZERO` stays `ZERO`).
    pub fn before(self) -> EventId {
        match (self.ms, self.seq) {
            (0, 0) => EventId::ZERO,
            (ms, 0) => EventId {
                ms: ms - 1,
                seq: u64::MAX,
            },
            (ms, seq) => EventId { ms, seq: seq - 1 },
        }
    }

    /// Reads an id as [`Display`](fmt::Display) writes it: `42` or `1732368000000-3`.
    /// Anything else (spaces, signs, a third part, numbers over 2^64) is not an id of
    /// ours: `None`.
    pub fn parse(text: &str) -> Option<EventId> {
        let number = |part: &str| -> Option<u64> {
            // `u64::from_str` would also take a leading `+`.
            if part.is_empty() || !part.bytes().all(|byte| byte.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        match text.split_once('-') {
            None => Some(EventId::counted(number(text)?)),
            Some((ms, seq)) => Some(EventId {
                ms: number(ms)?,
                seq: number(seq)?,
            }),
        }
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ms == 0 {
            write!(f, "{}", self.seq)
        } else {
            write!(f, "{}-{}", self.ms, self.seq)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_written_and_read_back_exactly() {
        for id in [
            EventId::counted(1),
            EventId::counted(u64::MAX),
            EventId {
                ms: 1_732_368_000_000,
                seq: 0,
            },
            EventId { ms: 5, seq: 7 },
        ] {
            assert_eq!(EventId::parse(&id.to_string()), Some(id));
        }
        assert_eq!(EventId::counted(42).to_string(), "42");
        assert_eq!(
            EventId::parse("1732368000000-3"),
            Some(EventId {
                ms: 1_732_368_000_000,
                seq: 3
            })
        );
    }

    #[test]
    fn anything_else_is_not_an_id() {
        for bad in [
            "",
            "-",
            "1-",
            "-1",
            "+1",
            " 1",
            "1-2-3",
            "abc",
            "18446744073709551616",
            "1.5",
        ] {
            assert_eq!(EventId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ids_order_by_milliseconds_then_sequence() {
        let id = |ms, seq| EventId { ms, seq };
        assert!(id(1, 9) < id(2, 0));
        assert!(id(2, 0) < id(2, 1));
        assert!(EventId::counted(u64::MAX) < id(1, 0));
        assert!(EventId::ZERO < EventId::counted(1));
        assert_eq!(EventId::counted(41).next_counted(), EventId::counted(42));
        assert_eq!(id(7, 0).before(), id(6, u64::MAX));
        assert_eq!(id(7, 3).before(), id(7, 2));
        assert_eq!(EventId::ZERO.before(), EventId::ZERO);
    }
}
