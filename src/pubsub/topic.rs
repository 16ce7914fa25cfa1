//! Topic names, published messages, and one topic's recent history.
//!
//! A topic is a name that publishers write to and subscribers follow: `news`,
//! `orders/42`, `users/alice/inbox`. A subscriber follows one or more topics and gets
//! every message published to any of them, once, in id order.
//!
//! Each topic keeps the last few messages (`--history` of them) so that a client that
//! reconnects with `Last-Event-ID` can be given what it missed. A message published to
//! several topics is stored once and shared (`Arc`) by the histories that hold it.

use std::collections::VecDeque;
use std::collections::hash_map::{self, HashMap};
use std::fmt;
use std::hash::{BuildHasherDefault, DefaultHasher};
use std::sync::Arc;
use std::time::Instant;

use crate::http::log_text::log_safe;
use crate::pubsub::event_id::EventId;
use crate::pubsub::relay::SubscriberKey;
use crate::pubsub::subject::Subject;
use crate::sse::event::Event;

/// The topic a subscriber follows, and a publish goes to, when the request names none.
pub const DEFAULT_TOPIC: &str = "default";
/// The longest topic name, in bytes (after percent-decoding).
pub const MAX_TOPIC_BYTES: usize = 200;
/// The most topics one subscription may follow, or one publish may name.
pub const MAX_TOPICS_PER_REQUEST: usize = 32;
/// Bytes besides its own that a held message is charged for: the `Arc`, its slot in
/// the histories, and the topic list. The memory budget counts these too, so a flood
/// of one-byte messages cannot hide behind a tiny byte total.
pub const MESSAGE_OVERHEAD_BYTES: usize = 96;

/// A topic name that has passed [`check_topic_name`]; cheap to clone.
pub type TopicName = Arc<str>;

/// One published message, encoded once and shared by every subscriber that sends it.
#[derive(Debug)]
pub struct Message {
    /// One sequence for all topics, in publish order: counted by the hub (1, 2, 3...)
    /// or given by the shared log (`redis/`).
    pub id: EventId,
    /// The topics it was published to.
    pub topics: Box<[TopicName]>,
    /// The complete event (`id:`, `event:`, `data:` lines and the blank line).
    pub encoded: Box<[u8]>,
    /// When this hub took it in: held past `--history-ttl-s`, it is dropped
    /// (`expiry.rs`).
    pub held_since: Instant,
}

impl Message {
    /// What holding this message costs the history's memory budget.
    pub fn charged_bytes(&self) -> usize {
        self.encoded.len() + MESSAGE_OVERHEAD_BYTES
    }
}

/// The complete event for the message `id`: its `id:` line, then `event:` and `data:`.
pub fn encode_with_id(id: EventId, event: Event) -> Box<[u8]> {
    event
        .with_id(id.to_string())
        .expect("an id's digits and '-' contain no CR, LF or NUL")
        .encode()
        .into_boxed_slice()
}

/// A message that comes with its id, from the shared log (`redis/`).
#[derive(Debug)]
pub struct LogEntry {
    pub id: EventId,
    pub topics: Vec<TopicName>,
    pub event: Event,
    /// Who published it (the log's `by` field), so that every instance shares its
    /// topics and history among subjects alike (`owners.rs`).
    pub publisher: Subject,
}

impl LogEntry {
    /// Whether this message was published to one of `topics`.
    pub fn is_for(&self, topics: &[TopicName]) -> bool {
        self.topics.iter().any(|topic| topics.contains(topic))
    }
}

/// Why a topic name was refused; the text becomes the body of a `400`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicNameError {
    Empty,
    TooLong,
    /// The first character that is not allowed.
    BadCharacter(char),
}

impl fmt::Display for TopicNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicNameError::Empty => write!(f, "a topic name may not be empty"),
            TopicNameError::TooLong => {
                write!(f, "a topic name is at most {MAX_TOPIC_BYTES} bytes")
            }
            TopicNameError::BadCharacter('*') => {
                write!(
                    f,
                    "'*' is reserved for patterns and may not be in a topic name"
                )
            }
            TopicNameError::BadCharacter(bad) => write!(
                f,
                "'{}' may not be in a topic name (allowed: A-Z a-z 0-9 - _ . ~ / : @)",
                log_safe(bad.encode_utf8(&mut [0; 4]))
            ),
        }
    }
}

/// Checks a (percent-decoded) topic name: 1 to 200 bytes of `A-Z a-z 0-9 - _ . ~ / : @`.
/// The set is small on purpose: a name can then go into a URL, a log line or a Redis
/// key without escaping, and `*` stays free to mean "any" in token patterns.
pub fn check_topic_name(name: &str) -> Result<TopicName, TopicNameError> {
    if name.is_empty() {
        return Err(TopicNameError::Empty);
    }
    if name.len() > MAX_TOPIC_BYTES {
        return Err(TopicNameError::TooLong);
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.~/:@".contains(c);
    match name.chars().find(|&c| !allowed(c)) {
        Some(bad) => Err(TopicNameError::BadCharacter(bad)),
        None => Ok(Arc::from(name)),
    }
}

/// Checks the topic names a request gave (`?topic=` repeated), drops repeats, and
/// supplies [`DEFAULT_TOPIC`] when there are none. The error says what was wrong.
pub fn topic_list(names: &[String]) -> Result<Vec<TopicName>, String> {
    if names.len() > MAX_TOPICS_PER_REQUEST {
        return Err(format!(
            "at most {MAX_TOPICS_PER_REQUEST} topics per request"
        ));
    }
    let mut topics: Vec<TopicName> = Vec::with_capacity(names.len().max(1));
    for name in names {
        let topic = check_topic_name(name)
            .map_err(|error| format!("topic \"{}\": {error}", log_safe(name)))?;
        if !topics.contains(&topic) {
            topics.push(topic);
        }
    }
    if topics.is_empty() {
        topics.push(Arc::from(DEFAULT_TOPIC));
    }
    Ok(topics)
}

/// The subscribers that follow one topic.
///
/// A publish walks all of them, so they sit in a plain vector. A subscriber that leaves
/// must find its own place in that vector under the hub's lock, which every publish
/// needs too: a linear search there would make ten thousand followers leaving at once
/// cost fifty million steps. So each follower's place is also kept in a map, and
/// leaving is a lookup and a `swap_remove` (the last follower moves into the hole, and
/// its place is updated): O(1), however many follow.
#[derive(Default)]
pub struct Followers {
    /// Each follower once, in no particular order.
    keys: Vec<SubscriberKey>,
    /// Where each follower sits in `keys`. Hashed with fixed keys: the server hands out
    /// the subscriber keys, so nobody can choose ones that collide, and a map with
    /// random keys would ask the kernel for them (`getrandom`) the first time each
    /// subscriber's thread creates a topic, a deep call at the deepest point of its
    /// stack (tests/stack_budget.rs).
    places: HashMap<SubscriberKey, usize, BuildHasherDefault<DefaultHasher>>,
}

impl Followers {
    /// Adds `key` (once, however often it is added).
    pub fn insert(&mut self, key: SubscriberKey) {
        if let hash_map::Entry::Vacant(place) = self.places.entry(key) {
            place.insert(self.keys.len());
            self.keys.push(key);
        }
    }

    /// Removes `key`, if it follows; O(1).
    pub fn remove(&mut self, key: SubscriberKey) {
        let Some(place) = self.places.remove(&key) else {
            return;
        };
        self.keys.swap_remove(place);
        // The follower that was last now fills the hole: it has a new place.
        if let Some(&moved) = self.keys.get(place) {
            self.places.insert(moved, place);
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Every follower, once each.
    pub fn iter(&self) -> impl Iterator<Item = SubscriberKey> + '_ {
        self.keys.iter().copied()
    }
}

/// One topic: its recent messages and who follows it. It exists only while it has a
/// follower or holds a message; the hub removes it when both are gone.
#[derive(Default)]
pub struct Topic {
    /// The newest messages, oldest first; ids increase along it.
    pub history: VecDeque<Arc<Message>>,
    /// The subscribers that follow this topic, each once.
    pub followers: Followers,
    /// The id of the newest message this topic has dropped from its history (`ZERO`
    /// if none). A subscriber whose last id is below it missed at least one message.
    pub dropped_through: EventId,
    /// What the messages in `history` are charged, in bytes ([`Message::charged_bytes`]),
    /// each in full, even when other topics hold it too: the memory budget takes from
    /// the subject whose topics hold the most, its largest topic first (`budget.rs`).
    pub bytes: usize,
    /// The subject whose publish or subscription created it (`owners.rs`).
    pub owner: Subject,
}

impl Topic {
    /// The held messages with an id greater than `after_id`, oldest first.
    pub fn messages_after(&self, after_id: EventId) -> impl Iterator<Item = &Arc<Message>> {
        // Ids increase along the history, so the first wanted message is found by
        // binary search, not by walking past everything already sent.
        let first = self
            .history
            .partition_point(|message| message.id <= after_id);
        self.history.range(first..)
    }

    /// Holds `message`, the newest.
    pub fn push(&mut self, message: Arc<Message>) {
        self.bytes += message.charged_bytes();
        self.history.push_back(message);
    }

    /// Drops the oldest held message, remembering the gap it leaves, and returns it.
    pub fn pop_oldest(&mut self) -> Option<Arc<Message>> {
        let oldest = self.history.pop_front()?;
        self.bytes -= oldest.charged_bytes();
        self.dropped_through = oldest.id;
        Some(oldest)
    }

    /// Whether nothing needs this topic any more.
    pub fn is_unused(&self) -> bool {
        self.followers.is_empty() && self.history.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: u64) -> Arc<Message> {
        Arc::new(Message {
            id: EventId::counted(id),
            topics: Box::new([]),
            encoded: Box::new([]),
            held_since: Instant::now(),
        })
    }

    #[test]
    fn topic_names_use_a_small_safe_alphabet() {
        for good in [
            "default",
            "orders/42",
            "users/alice@example.com:inbox",
            "a-b_c.d~e",
        ] {
            assert!(check_topic_name(good).is_ok(), "{good}");
        }
        assert_eq!(check_topic_name(""), Err(TopicNameError::Empty));
        assert_eq!(
            check_topic_name(&"a".repeat(MAX_TOPIC_BYTES + 1)),
            Err(TopicNameError::TooLong)
        );
        assert!(check_topic_name(&"a".repeat(MAX_TOPIC_BYTES)).is_ok());
        assert_eq!(
            check_topic_name("news*"),
            Err(TopicNameError::BadCharacter('*'))
        );
        assert_eq!(
            check_topic_name("a b"),
            Err(TopicNameError::BadCharacter(' '))
        );
        assert_eq!(
            check_topic_name("caf\u{e9}"),
            Err(TopicNameError::BadCharacter('\u{e9}'))
        );
        assert!(
            TopicNameError::BadCharacter('*')
                .to_string()
                .contains("reserved")
        );
    }

    #[test]
    fn a_topic_list_is_checked_deduplicated_and_defaulted() {
        let names = |list: &[&str]| list.iter().map(|name| name.to_string()).collect::<Vec<_>>();
        let list = topic_list(&names(&["a", "b", "a"])).unwrap();
        assert_eq!(list.iter().map(|t| &**t).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(&*topic_list(&[]).unwrap()[0], DEFAULT_TOPIC);
        assert!(
            topic_list(&names(&["ok", "no spaces"]))
                .unwrap_err()
                .contains("\"no spaces\"")
        );
        let too_many: Vec<String> = (0..=MAX_TOPICS_PER_REQUEST)
            .map(|n| n.to_string())
            .collect();
        assert!(topic_list(&too_many).unwrap_err().contains("at most 32"));
    }

    #[test]
    fn messages_after_an_id_are_found_in_order() {
        let mut topic = Topic::default();
        for id in [2, 5, 9, 12] {
            topic.history.push_back(message(id));
        }
        let after = |id| {
            topic
                .messages_after(EventId::counted(id))
                .map(|message| message.id.seq)
                .collect::<Vec<_>>()
        };
        assert_eq!(after(0), [2, 5, 9, 12]);
        assert_eq!(after(5), [9, 12]);
        assert_eq!(after(6), [9, 12]);
        assert_eq!(after(12), Vec::<u64>::new());
    }

    #[test]
    fn followers_leave_in_any_order_and_each_is_kept_once() {
        let mut followers = Followers::default();
        for key in [7, 3, 9, 3, 12] {
            followers.insert(key);
        }
        assert_eq!(followers.len(), 4, "3 was added twice, kept once");
        followers.remove(7);
        followers.remove(42);
        followers.remove(12);
        let mut left: Vec<_> = followers.iter().collect();
        left.sort_unstable();
        assert_eq!(left, [3, 9]);
        followers.remove(3);
        followers.remove(9);
        assert!(followers.is_empty());
        followers.insert(5);
        assert_eq!(followers.iter().collect::<Vec<_>>(), [5]);
    }

    #[test]
    fn dropping_remembers_the_gap_and_gives_back_the_bytes() {
        let mut topic = Topic::default();
        topic.push(message(3));
        topic.push(message(4));
        assert_eq!(topic.bytes, 2 * MESSAGE_OVERHEAD_BYTES);
        assert_eq!(topic.pop_oldest().map(|message| message.id.seq), Some(3));
        assert_eq!(topic.dropped_through, EventId::counted(3));
        assert_eq!(topic.bytes, MESSAGE_OVERHEAD_BYTES);
        topic.pop_oldest();
        assert!(topic.pop_oldest().is_none());
        assert_eq!(topic.dropped_through, EventId::counted(4));
        assert!(topic.is_unused());
    }
}
