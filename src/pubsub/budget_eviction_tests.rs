use crate::pubsub::event_id::EventId;
use crate::pubsub::hub::{Hub, HubLimits, IdSource};
use crate::pubsub::subscription::{Delivery, Subscription};
use crate::pubsub::topic::{LogEntry, MESSAGE_OVERHEAD_BYTES, TopicName, check_topic_name};
use crate::sse::event::Event;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

static QUIET: AtomicBool = AtomicBool::new(false);

/// The figures: an 8 MB budget, and room in each history for Alice's 300.
fn hub() -> Hub {
    Hub::new(HubLimits {
        history_per_topic: 1000,
        history_bytes: 8 * 1024 * 1024,
        max_topics: 1000,
        relay_width: 2,
        max_replay: 10_000,
    })
}

fn topic(name: &str) -> Vec<TopicName> {
    vec![check_topic_name(name).unwrap()]
}

/// Everything `topics` still hold, by id.
fn replay(hub: &Hub, topics: Vec<TopicName>) -> Vec<u64> {
    let mut subscription: Subscription = hub.subscribe(topics, Some(EventId::ZERO)).unwrap();
    let mut ids = Vec::new();
    while let Delivery::Messages { messages, .. } =
        subscription.next_delivery(Duration::ZERO, &QUIET)
    {
        ids.extend(messages.iter().map(|message| message.id.seq));
    }
    ids
}

#[test]
fn one_publisher_filling_the_budget_does_not_evict_another_topics_message() {
    let hub = hub();
    let bob = hub
        .publish(&topic("users/bob/inbox"), Event::new("hello Bob"))
        .unwrap();
    let sixty_kb = "a".repeat(60 * 1024);
    for _ in 0..300 {
        hub.publish(&topic("users/alice/feed"), Event::new(sixty_kb.clone()))
            .unwrap();
    }
    let snapshot = hub.snapshot();
    assert!(snapshot.history_bytes <= 8 * 1024 * 1024, "{snapshot:?}");
    assert_eq!(replay(&hub, topic("users/bob/inbox")), [bob.id.seq]);
    // Alice's topic keeps her newest messages, as many as fit beside Bob's.
    let alice = replay(&hub, topic("users/alice/feed"));
    assert_eq!(alice.last(), Some(&301));
    assert!((130..300).contains(&alice.len()), "{}", alice.len());
    assert_eq!(snapshot.history_held, alice.len() + 1);
}

#[test]
fn spreading_over_many_topics_does_not_evict_a_smaller_one_either() {
    let hub = hub();
    let bob = hub
        .publish(&topic("users/bob/inbox"), Event::new("hello Bob"))
        .unwrap();
    let sixty_kb = "a".repeat(60 * 1024);
    for n in 0..300 {
        hub.publish(
            &topic(&format!("users/alice/{n}")),
            Event::new(sixty_kb.clone()),
        )
        .unwrap();
    }
    let snapshot = hub.snapshot();
    assert!(snapshot.history_bytes <= 8 * 1024 * 1024, "{snapshot:?}");
    assert_eq!(replay(&hub, topic("users/bob/inbox")), [bob.id.seq]);
    assert_eq!(replay(&hub, topic("users/alice/299")), [301]);
    // More than half of Alice's topics gave up their one message, and were removed
    // with it: every topic left holds one message.
    assert!(snapshot.topics < 150, "{snapshot:?}");
    assert_eq!(snapshot.topics, snapshot.history_held);
}

/// Random publishes (seeded) to one to three of eight topics, with room for six
/// topics and a budget that keeps evicting: after each one, what the budget counts
/// is exactly what the histories hold, and its ranking matches the topics.
#[test]
fn the_budget_always_counts_exactly_what_the_histories_hold() {
    use std::collections::HashMap;
    let limits = HubLimits {
        history_per_topic: 5,
        history_bytes: 3000,
        max_topics: 6,
        relay_width: 2,
        max_replay: 10_000,
    };
    // Entries from a shared log: unlike a publish, they are never refused, and a
    // topic beyond `max_topics` is simply left out.
    let hub = Hub::with_ids(limits, IdSource::Log);
    let mut seed: u64 = 0x5eed;
    let mut next = |below: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % below
    };
    for n in 1..=2000 {
        let mut names: Vec<TopicName> = (0..=next(3))
            .map(|_| check_topic_name(&format!("t{}", next(8))).unwrap())
            .collect();
        names.sort();
        names.dedup();
        let newest = EventId::counted(n);
        let event = Event::new("x".repeat(next(400) as usize));
        // Three publishers, so that the budget is shared among subjects too.
        let publisher = format!("sub:{}", next(3));
        hub.append(vec![LogEntry {
            id: newest,
            topics: names,
            event,
            publisher: publisher.into(),
        }]);

        let state = hub.state.lock().unwrap();
        let mut distinct = HashMap::new();
        for (name, topic) in &state.topics {
            let charged: usize = topic.history.iter().map(|held| held.charged_bytes()).sum();
            assert_eq!(topic.bytes, charged, "{name}");
            for message in &topic.history {
                distinct.insert(message.id, message.charged_bytes());
            }
            let ranked = super::rank_of(name, topic)
                .is_some_and(|rank| state.budget.ranking.contains(&rank));
            assert_eq!(ranked, !topic.history.is_empty(), "{name}");
        }
        assert_eq!(
            state.budget.ranking.len(),
            state
                .topics
                .values()
                .filter(|topic| !topic.history.is_empty())
                .count()
        );
        assert_eq!(state.budget.held, distinct.len());
        assert_eq!(state.budget.bytes, distinct.values().sum::<usize>());
        assert!(
            state.budget.bytes <= limits.history_bytes || distinct.keys().all(|&id| id == newest),
            "over the budget with older messages held"
        );
    }
}

#[test]
fn a_shared_message_is_charged_once_and_released_by_its_last_history() {
    let hub = Hub::new(HubLimits {
        history_per_topic: 2,
        ..hub().limits
    });
    let both = [topic("a"), topic("b")].concat();
    hub.publish(&both, Event::new("shared")).unwrap();
    let charged = hub.snapshot().history_bytes;
    assert!(charged > MESSAGE_OVERHEAD_BYTES);
    assert_eq!(hub.snapshot().history_held, 1);
    // `a` drops the shared message (its history keeps 2); `b` still holds it.
    for _ in 0..2 {
        hub.publish(&topic("a"), Event::new("shared")).unwrap();
    }
    assert_eq!(hub.snapshot().history_held, 3);
    assert_eq!(hub.snapshot().history_bytes, 3 * charged);
    for _ in 0..2 {
        hub.publish(&topic("b"), Event::new("shared")).unwrap();
    }
    assert_eq!(hub.snapshot().history_held, 4, "the shared one is gone");
    assert_eq!(hub.snapshot().history_bytes, 4 * charged);
}
