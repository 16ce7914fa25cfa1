//! Unit tests of what a subscriber is told it missed (`missed.rs`), and of the
//! `--max-replay` bound on a reconnect's replay from memory.

use super::*;
use crate::pubsub::hub::{Hub, HubLimits};
use crate::pubsub::subscription::{Delivery, Subscription};
use crate::pubsub::topic::check_topic_name;
use crate::sse::event::Event;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// An alarm nobody raises.
static QUIET: AtomicBool = AtomicBool::new(false);

fn hub(history_per_topic: usize, max_replay: usize) -> Hub {
    Hub::new(HubLimits {
        history_per_topic,
        history_bytes: 1 << 20,
        max_topics: 100,
        relay_width: 2,
        max_replay,
    })
}

fn topics(names: &[&str]) -> Vec<TopicName> {
    names
        .iter()
        .map(|name| check_topic_name(name).unwrap())
        .collect()
}

fn publish(hub: &Hub, names: &[&str], count: usize) {
    for _ in 0..count {
        hub.publish(&topics(names), Event::new("x")).unwrap();
    }
}

fn through(n: u64) -> Option<Missed> {
    Some(Missed {
        through: Some(EventId::counted(n)),
    })
}

const UNKNOWN: Option<Missed> = Some(Missed { through: None });

/// What the next delivery reports missed, and the ids of its messages.
fn next(subscription: &mut Subscription) -> (Option<Missed>, Vec<u64>) {
    match subscription.next_delivery(Duration::ZERO, &QUIET) {
        Delivery::Messages { messages, missed } => (
            missed,
            messages.iter().map(|message| message.id.seq).collect(),
        ),
        Delivery::Idle => (None, Vec::new()),
        other => panic!("expected messages, got {other:?}"),
    }
}

#[test]
fn a_last_event_id_is_new_ours_or_unplaced() {
    assert_eq!(Resume::from_header(None), Resume::New);
    assert_eq!(Resume::from_header(Some(" ")), Resume::New);
    assert_eq!(
        Resume::from_header(Some("7")),
        Resume::After(EventId::counted(7))
    );
    assert_eq!(Resume::from_header(Some("abc")), Resume::Unplaced);
}

#[test]
fn two_gaps_report_the_newer_bound_or_unknown() {
    let at = |n| through(n).unwrap();
    assert_eq!(at(3).and(through(5)), at(5));
    assert_eq!(at(3).and(None), at(3));
    assert_eq!(at(3).and(UNKNOWN).through, None);
}

#[test]
fn resuming_before_the_history_is_told_what_it_missed_and_at_its_edge_nothing() {
    // The case: --history 3, ten publishes, a reconnect with the id of 2.
    let hub = hub(3, 100);
    publish(&hub, &["news"], 10);
    let resume = |id| hub.subscribe(topics(&["news"]), Resume::After(EventId::counted(id)));
    assert_eq!(next(&mut resume(2).unwrap()), (through(7), vec![8, 9, 10]));
    // 7 is the newest message dropped: a client that had it missed nothing.
    assert_eq!(next(&mut resume(7).unwrap()), (None, vec![8, 9, 10]));
    assert_eq!(next(&mut resume(9).unwrap()), (None, vec![10]));
    assert_eq!(next(&mut resume(10).unwrap()), (None, vec![]));
    let mut fresh = hub.subscribe(topics(&["news"]), Resume::New).unwrap();
    assert_eq!(next(&mut fresh), (None, vec![]));
}

#[test]
fn an_id_this_server_cannot_place_gets_everything_held_and_an_unknown_bound() {
    let hub = hub(3, 100);
    publish(&hub, &["news"], 5);
    // From an earlier run (counting restarted), and not one of our ids at all.
    for resume in [Resume::After(EventId::counted(99)), Resume::Unplaced] {
        let mut subscription = hub.subscribe(topics(&["news"]), resume).unwrap();
        assert_eq!(next(&mut subscription), (UNKNOWN, vec![3, 4, 5]));
        assert_eq!(next(&mut subscription), (None, vec![]), "said once");
    }
}

#[test]
fn a_slow_subscriber_overtaken_by_the_history_is_told_mid_stream() {
    let hub = hub(3, 100);
    let mut slow = hub.subscribe(topics(&["news"]), Resume::New).unwrap();
    publish(&hub, &["news"], 2);
    assert_eq!(next(&mut slow), (None, vec![1, 2]));
    publish(&hub, &["news"], 6);
    assert_eq!(next(&mut slow), (through(5), vec![6, 7, 8]));
    publish(&hub, &["news"], 1);
    assert_eq!(next(&mut slow), (None, vec![9]));
}

#[test]
fn a_history_emptied_by_the_byte_budget_is_still_reported() {
    let hub = Hub::new(HubLimits {
        history_per_topic: 10,
        // Room for about one message: each publish to `busy` evicts the one before.
        history_bytes: 150,
        max_topics: 100,
        relay_width: 2,
        max_replay: 100,
    });
    let mut quiet = hub.subscribe(topics(&["quiet"]), Resume::New).unwrap();
    publish(&hub, &["quiet"], 1);
    publish(&hub, &["busy"], 2);
    assert_eq!(next(&mut quiet), (through(1), vec![]));
    assert_eq!(next(&mut quiet), (None, vec![]));
}

#[test]
fn a_message_still_held_in_another_followed_topic_is_not_named_missed() {
    let hub = hub(1, 100);
    publish(&hub, &["a", "b"], 1); // 1, in both
    publish(&hub, &["a"], 1); // 2: `a` drops 1, which `b` still holds
    let mut both = hub
        .subscribe(topics(&["a", "b"]), Resume::After(EventId::ZERO))
        .unwrap();
    // Only 1 could have been lost from `a`, and `b` has it: but older messages of `a`
    // might have been, and nobody can tell, so the bound is unknown.
    assert_eq!(next(&mut both), (UNKNOWN, vec![1, 2]));
    publish(&hub, &["a"], 2); // 3, 4: `a` drops 2 and 3, held nowhere else
    let mut at_two = hub
        .subscribe(topics(&["a", "b"]), Resume::After(EventId::counted(2)))
        .unwrap();
    assert_eq!(next(&mut at_two), (through(3), vec![4]));
}

#[test]
fn a_reconnect_replays_at_most_max_replay_messages_the_newest() {
    let hub = hub(100, 4);
    publish(&hub, &["a"], 5); // 1..=5
    publish(&hub, &["a", "b"], 3); // 6..=8, in both histories
    publish(&hub, &["b"], 2); // 9, 10
    let mut subscription = hub
        .subscribe(topics(&["a", "b"]), Resume::After(EventId::counted(1)))
        .unwrap();
    // Nine are pending (13 counted with repeats); the newest four are sent, and 6 is
    // the newest left out.
    assert_eq!(next(&mut subscription), (through(6), vec![7, 8, 9, 10]));
    // Within the bound nothing is cut.
    let mut near = hub
        .subscribe(topics(&["a", "b"]), Resume::After(EventId::counted(6)))
        .unwrap();
    assert_eq!(next(&mut near), (None, vec![7, 8, 9, 10]));
}

#[test]
fn a_topic_removed_after_losing_its_history_still_tells_a_resuming_client() {
    let hub = Hub::new(HubLimits {
        history_per_topic: 10,
        // Room for about one message: publishing to `busy` evicts `quiet`'s only one,
        // and `quiet`, with no follower and nothing held, is removed.
        history_bytes: 150,
        max_topics: 100,
        relay_width: 2,
        max_replay: 100,
    });
    publish(&hub, &["quiet"], 1);
    publish(&hub, &["busy"], 1);
    assert_eq!(hub.snapshot().topics, 1, "quiet was removed");
    let resume = |id| hub.subscribe(topics(&["quiet"]), Resume::After(EventId::counted(id)));
    assert_eq!(next(&mut resume(0).unwrap()), (through(1), vec![]));
    assert_eq!(next(&mut resume(1).unwrap()), (None, vec![]));
}

#[test]
fn with_a_log_the_start_notice_comes_before_the_log_is_asked() {
    use crate::pubsub::hub::IdSource;
    use crate::pubsub::topic::LogEntry;
    let hub = Hub::with_ids(
        HubLimits {
            history_per_topic: 2,
            history_bytes: 1 << 20,
            max_topics: 100,
            relay_width: 2,
            max_replay: 2,
        },
        IdSource::Log,
    );
    let entry = |ms, name: &str| LogEntry {
        id: EventId { ms, seq: 0 },
        topics: topics(&[name]),
        event: Event::new("x"),
        publisher: crate::pubsub::subject::subject_of(None),
    };
    // `b` holds 3 and 4, `a` holds 11 and 12 and has dropped 10.
    let entries = [
        (1, "b"),
        (2, "b"),
        (3, "b"),
        (4, "b"),
        (10, "a"),
        (11, "a"),
        (12, "a"),
    ];
    hub.append(entries.iter().map(|&(ms, name)| entry(ms, name)).collect());
    let mut subscription = hub
        .subscribe(topics(&["a", "b"]), Resume::After(EventId::ZERO))
        .unwrap();
    let cut = Some(Missed {
        through: Some(EventId { ms: 4, seq: 0 }),
    });
    match subscription.next_delivery(Duration::ZERO, &QUIET) {
        Delivery::Messages { messages, missed } => {
            assert!(messages.is_empty());
            assert_eq!(missed, cut, "the newest two held are 11 and 12");
        }
        other => panic!("expected the notice first, got {other:?}"),
    }
    assert!(matches!(
        subscription.next_delivery(Duration::ZERO, &QUIET),
        Delivery::Gap { .. }
    ));
}
