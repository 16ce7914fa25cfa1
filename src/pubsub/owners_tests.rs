//! The topics and the history budget shared among subjects, and the time-to-live
//! (issue 24, items 2 and 3), at the hub's level.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::pubsub::event_id::EventId;
use crate::pubsub::hub::{Hub, HubError, HubLimits, SubjectLimits};
use crate::pubsub::subject::{Subject, subject_of};
use crate::pubsub::subscription::{Delivery, Subscription};
use crate::pubsub::topic::{TopicName, check_topic_name};
use crate::sse::event::Event;

static QUIET: AtomicBool = AtomicBool::new(false);

fn hub(history_bytes: usize, subjects: SubjectLimits) -> Hub {
    Hub::new(HubLimits {
        history_per_topic: 1000,
        history_bytes,
        max_topics: 100_000,
        relay_width: 2,
        max_replay: 10_000,
    })
    .with_subject_limits(subjects)
}

fn topic(name: &str) -> Vec<TopicName> {
    vec![check_topic_name(name).unwrap()]
}

fn subject(sub: &str) -> Subject {
    subject_of(Some(sub))
}

/// What `topics` hold, by id, and whether a `missed` came first.
fn replay(hub: &Hub, topics: Vec<TopicName>) -> (Vec<u64>, bool) {
    let mut subscription: Subscription = hub.subscribe(topics, Some(EventId::ZERO)).unwrap();
    let (mut ids, mut missed) = (Vec::new(), false);
    loop {
        match subscription.next_delivery(Duration::ZERO, &QUIET) {
            Delivery::Messages {
                messages,
                missed: gap,
            } => {
                missed |= gap.is_some();
                ids.extend(messages.iter().map(|message| message.id.seq));
            }
            _ => return (ids, missed),
        }
    }
}

#[test]
fn spreading_over_many_topics_evicts_the_spreaders_own_history_first() {
    // The attack, scaled to an 8 MB budget: Bob holds 500 × 1 KB in his inbox;
    // Mallory publishes 64 KiB messages, each to 32 new topics of her own, until she
    // has sent more than twice the budget.
    let hub = hub(8 * 1024 * 1024, SubjectLimits::default());
    let (bob, mallory) = (subject("bob"), subject("mallory"));
    let kilobyte = "b".repeat(1024);
    for _ in 0..500 {
        hub.publish_as(
            &bob,
            &topic("users/bob/inbox"),
            Event::new(kilobyte.clone()),
        )
        .unwrap();
    }
    let sixty_four_kib = "m".repeat(64 * 1024);
    for n in 0..300 {
        let topics: Vec<TopicName> = (0..32)
            .map(|k| check_topic_name(&format!("users/mallory/{n}/{k}")).unwrap())
            .collect();
        hub.publish_as(&mallory, &topics, Event::new(sixty_four_kib.clone()))
            .unwrap();
    }
    let (bobs, missed) = replay(&hub, topic("users/bob/inbox"));
    assert_eq!(bobs, (1..=500).collect::<Vec<u64>>(), "Bob's replay");
    assert!(!missed, "Bob was told he missed messages");
    let snapshot = hub.snapshot();
    assert!(snapshot.history_bytes <= 8 * 1024 * 1024, "{snapshot:?}");
    let state = hub.state.lock().unwrap();
    assert!(state.budget.bytes_of(&bob) > 500 * 1024);
    assert!(state.budget.bytes_of(&mallory) > 0);
}

#[test]
fn a_subject_at_its_share_of_topics_is_refused_and_others_still_have_room() {
    let limits = SubjectLimits {
        topics_per_subject: 64,
        ..SubjectLimits::default()
    };
    let hub = hub(64 * 1024 * 1024, limits);
    let mallory = subject("mallory");
    let mut refused = 0;
    for n in 0..10 {
        let topics: Vec<TopicName> = (0..32)
            .map(|k| check_topic_name(&format!("users/mallory/{n}/{k}")).unwrap())
            .collect();
        match hub.publish_as(&mallory, &topics, Event::new("x")) {
            Ok(_) => {}
            Err(error) => {
                assert_eq!(error, HubError::TooManySubjectTopics { limit: 64 });
                refused += 1;
            }
        }
    }
    assert_eq!(refused, 8, "two publishes of 32 new topics fill her share");
    assert_eq!(hub.snapshot().topics, 64);
    // Her own topics still take messages; Alice and anonymous clients have room.
    assert!(
        hub.publish_as(&mallory, &topic("users/mallory/0/0"), Event::new("y"))
            .is_ok()
    );
    let alice = subject("alice");
    let _inbox = hub
        .subscribe_as(&alice, topic("users/alice/inbox"), None)
        .unwrap();
    assert!(
        hub.publish_as(&alice, &topic("users/alice/inbox"), Event::new("hi"))
            .is_ok()
    );
    assert!(
        hub.subscribe_anonymously(topic("public/news"), None)
            .is_ok()
    );
    assert_eq!(hub.state.lock().unwrap().owners.topics_of(&mallory), 64);
}

#[test]
fn held_messages_expire_and_topics_left_with_nothing_go_with_them() {
    let ttl = Duration::from_secs(60);
    let limits = SubjectLimits {
        history_ttl: Some(ttl),
        ..SubjectLimits::default()
    };
    let hub = hub(64 * 1024 * 1024, limits);
    let mallory = subject("mallory");
    for n in 0..100 {
        hub.publish_as(
            &mallory,
            &topic(&format!("users/mallory/{n}")),
            Event::new("x"),
        )
        .unwrap();
    }
    let followed = hub.subscribe(topic("users/mallory/7"), None).unwrap();
    assert_eq!(hub.expire(), 0, "nothing is a minute old yet");
    // A minute and a bit later (a clock handed in, so the test waits for nothing).
    let later = Instant::now() + ttl + Duration::from_secs(1);
    let expired = hub.state.lock().unwrap().expire_held(Some(ttl), later);
    assert_eq!(expired, 100);
    let snapshot = hub.snapshot();
    assert_eq!(snapshot.history_held, 0);
    assert_eq!(snapshot.history_bytes, 0);
    assert_eq!(snapshot.topics, 1, "only the followed topic is left");
    let state = hub.state.lock().unwrap();
    assert_eq!(state.owners.topics_of(&mallory), 1);
    assert_eq!(state.budget.bytes_of(&mallory), 0);
    assert!(state.budget.oldest_held().is_none());
    drop(state);
    drop(followed);
    assert_eq!(hub.snapshot().topics, 0);
    assert_eq!(hub.state.lock().unwrap().owners.topics_of(&mallory), 0);
}

#[test]
fn a_full_table_makes_room_for_another_subject_from_the_largest_owners_unfollowed_topics() {
    let hub = Hub::new(HubLimits {
        history_per_topic: 10,
        history_bytes: 64 * 1024 * 1024,
        max_topics: 100,
        relay_width: 2,
        max_replay: 10_000,
    });
    let (mallory, alice) = (subject("mallory"), subject("alice"));
    for n in 0..100 {
        hub.publish_as(
            &mallory,
            &topic(&format!("users/mallory/{n}")),
            Event::new("x"),
        )
        .unwrap();
    }
    let _followed = hub.subscribe(topic("users/mallory/0"), None).unwrap();
    assert_eq!(hub.snapshot().topics, 100);
    // Mallory herself gets no more, nor does a client without a token.
    assert_eq!(
        hub.publish_as(&mallory, &topic("users/mallory/new"), Event::new("x")),
        Err(HubError::TooManyTopics { limit: 100 })
    );
    assert!(
        hub.subscribe_anonymously(topic("public/news"), None)
            .is_err()
    );
    // Alice follows her inbox and publishes to two topics: three of Mallory's
    // unfollowed topics make way, with their histories.
    let _inbox = hub
        .subscribe_as(&alice, topic("users/alice/inbox"), None)
        .unwrap();
    let both = [topic("users/alice/a"), topic("users/alice/b")].concat();
    hub.publish_as(&alice, &both, Event::new("hi")).unwrap();
    let snapshot = hub.snapshot();
    assert_eq!(snapshot.topics, 100);
    let state = hub.state.lock().unwrap();
    assert_eq!(state.owners.topics_of(&mallory), 97);
    assert_eq!(state.owners.topics_of(&alice), 3);
    assert!(
        state.topics.contains_key("users/mallory/0"),
        "a followed topic stays"
    );
    assert_eq!(snapshot.history_held, 97 + 1);
}
