//! Unit tests of the hub: ids, replay, topics, memory bounds, wake-ups.

use super::*;
use crate::pubsub::missed::Missed;
use crate::pubsub::subscription::{Delivery, Subscription};
use crate::pubsub::topic::{LogEntry, check_topic_name};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const NOW: Duration = Duration::ZERO;
/// An alarm nobody raises.
static QUIET: AtomicBool = AtomicBool::new(false);

fn limits() -> HubLimits {
    HubLimits {
        history_per_topic: 10,
        history_bytes: 1 << 20,
        max_topics: 100,
        relay_width: 2,
        max_replay: 1000,
    }
}

fn hub() -> Hub {
    Hub::new(limits())
}

fn topics(names: &[&str]) -> Vec<TopicName> {
    names
        .iter()
        .map(|name| check_topic_name(name).unwrap())
        .collect()
}

fn publish(hub: &Hub, names: &[&str], data: &str) -> Published {
    hub.publish(&topics(names), Event::new(data)).unwrap()
}

fn ids(delivery: Delivery) -> Vec<u64> {
    match delivery {
        Delivery::Messages { messages, .. } => {
            messages.iter().map(|message| message.id.seq).collect()
        }
        other => panic!("expected messages, got {other:?}"),
    }
}

fn drain(subscription: &mut Subscription) -> Vec<u64> {
    let mut all = Vec::new();
    while let Delivery::Messages {
        messages: batch, ..
    } = subscription.next_delivery(NOW, &QUIET)
    {
        all.extend(batch.iter().map(|message| message.id.seq));
    }
    all
}

#[test]
fn ids_increase_from_one_across_topics_and_messages_are_encoded_once() {
    let hub = hub();
    assert_eq!(
        publish(&hub, &["a"], "x"),
        Published {
            id: EventId::counted(1),
            subscribers: 0
        }
    );
    let mut subscription = hub
        .subscribe(topics(&["a", "b"]), Some(EventId::counted(0)))
        .unwrap();
    let event = Event::new("b\nc").with_type("chat").unwrap();
    assert_eq!(
        hub.publish(&topics(&["b"]), event).unwrap(),
        Published {
            id: EventId::counted(2),
            subscribers: 1
        }
    );
    match subscription.next_delivery(NOW, &QUIET) {
        Delivery::Messages { messages, .. } => {
            assert_eq!(&*messages[0].encoded, b"id: 1\ndata: x\n\n");
            assert_eq!(
                &*messages[1].encoded,
                b"id: 2\nevent: chat\ndata: b\ndata: c\n\n"
            );
        }
        other => panic!("expected messages, got {other:?}"),
    }
}

#[test]
fn a_new_subscriber_gets_only_what_comes_after_it() {
    let hub = hub();
    publish(&hub, &["default"], "old");
    let mut subscription = hub.subscribe(topics(&["default"]), None).unwrap();
    assert!(matches!(
        subscription.next_delivery(NOW, &QUIET),
        Delivery::Idle
    ));
    publish(&hub, &["default"], "new");
    assert_eq!(ids(subscription.next_delivery(NOW, &QUIET)), [2]);
}

#[test]
fn a_subscriber_gets_only_its_topics_and_a_shared_message_once() {
    let hub = hub();
    let mut news = hub.subscribe(topics(&["news"]), None).unwrap();
    let mut both = hub.subscribe(topics(&["news", "sport"]), None).unwrap();
    publish(&hub, &["news"], "1");
    publish(&hub, &["sport"], "2");
    let shared = publish(&hub, &["news", "sport", "weather"], "3");
    assert_eq!(shared.subscribers, 2, "each subscriber counted once");
    publish(&hub, &["weather"], "4");
    assert_eq!(drain(&mut news), [1, 3]);
    assert_eq!(drain(&mut both), [1, 2, 3]);
}

#[test]
fn resuming_several_topics_replays_after_one_id_in_id_order() {
    let hub = hub();
    for (n, topic) in ["a", "b", "c", "a", "b"].iter().enumerate() {
        publish(&hub, &[topic], &n.to_string());
    }
    let mut subscription = hub
        .subscribe(topics(&["a", "b"]), Some(EventId::counted(1)))
        .unwrap();
    assert_eq!(drain(&mut subscription), [2, 4, 5]);
    publish(&hub, &["b"], "live");
    assert_eq!(ids(subscription.next_delivery(NOW, &QUIET)), [6]);
}

#[test]
fn each_topic_keeps_its_own_history_and_a_gap_is_reported_once() {
    let hub = Hub::new(HubLimits {
        history_per_topic: 3,
        ..limits()
    });
    for n in 0..10 {
        publish(&hub, &["busy"], &n.to_string());
    }
    publish(&hub, &["quiet"], "kept");
    assert_eq!(
        hub.snapshot().history_held,
        4,
        "dropped messages are not charged"
    );
    let mut busy = hub
        .subscribe(topics(&["busy"]), Some(EventId::counted(2)))
        .unwrap();
    // The delivery that follows the gap says so, and only that one.
    match busy.next_delivery(NOW, &QUIET) {
        Delivery::Messages { messages, missed } => {
            let through = Some(EventId::counted(7));
            assert_eq!(missed, Some(Missed { through }), "ids 3..=7 are gone");
            assert_eq!(
                messages.iter().map(|m| m.id.seq).collect::<Vec<_>>(),
                [8, 9, 10]
            );
        }
        other => panic!("{other:?}"),
    }
    publish(&hub, &["busy"], "later");
    assert!(matches!(
        busy.next_delivery(NOW, &QUIET),
        Delivery::Messages { missed: None, .. }
    ));
    let mut quiet = hub
        .subscribe(topics(&["quiet"]), Some(EventId::counted(0)))
        .unwrap();
    assert!(matches!(
        quiet.next_delivery(NOW, &QUIET),
        Delivery::Messages { missed: None, .. }
    ));
}

#[test]
fn the_byte_budget_drops_the_oldest_message_of_any_topic() {
    let hub = Hub::new(HubLimits {
        history_bytes: 3 * (crate::pubsub::topic::MESSAGE_OVERHEAD_BYTES + 40),
        ..limits()
    });
    for (n, topic) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        publish(&hub, &[topic], &format!("{n:>20}"));
    }
    let snapshot = hub.snapshot();
    assert!(snapshot.history_held <= 3, "{snapshot:?}");
    assert!(snapshot.history_bytes <= 3 * 136, "{snapshot:?}");
    // Topics whose messages were all dropped, and that nobody follows, are gone.
    assert_eq!(snapshot.topics, snapshot.history_held);
    let mut all = hub
        .subscribe(topics(&["a", "e"]), Some(EventId::counted(0)))
        .unwrap();
    assert_eq!(drain(&mut all), [5]);
}

#[test]
fn topics_are_bounded_and_cost_nothing_once_unused() {
    let hub = Hub::new(HubLimits {
        max_topics: 2,
        ..limits()
    });
    let first = hub.subscribe(topics(&["a", "b"]), None).unwrap();
    assert_eq!(
        hub.subscribe(topics(&["c"]), None).err(),
        Some(HubError::TooManyTopics { limit: 2 })
    );
    assert_eq!(
        hub.publish(&topics(&["c"]), Event::new("x")).err(),
        Some(HubError::TooManyTopics { limit: 2 })
    );
    assert_eq!(
        hub.snapshot().messages_received,
        0,
        "a refused publish takes no id"
    );
    drop(first);
    assert_eq!(hub.snapshot().topics, 0);
    assert!(hub.subscribe(topics(&["c"]), None).is_ok());
}

#[test]
fn an_id_from_a_previous_run_replays_everything_held() {
    let hub = hub();
    publish(&hub, &["default"], "a");
    let mut subscription = hub
        .subscribe(topics(&["default"]), Some(EventId::counted(500)))
        .unwrap();
    assert_eq!(ids(subscription.next_delivery(NOW, &QUIET)), [1]);
}

#[test]
fn subscribers_are_counted_until_dropped_and_close_wakes_them() {
    let hub = hub();
    let mut subscription = hub.subscribe(topics(&["default"]), None).unwrap();
    assert_eq!(hub.snapshot().subscribers, 1);
    hub.close();
    assert!(matches!(
        subscription.next_delivery(Duration::from_secs(30), &QUIET),
        Delivery::Closed
    ));
    drop(subscription);
    assert_eq!(hub.snapshot().subscribers, 0);
}

#[test]
fn a_publish_wakes_waiting_subscribers_at_once_through_the_relay() {
    let hub = Arc::new(hub());
    let waiters: Vec<_> = (0..8)
        .map(|_| {
            let hub = Arc::clone(&hub);
            std::thread::spawn(move || {
                let mut subscription = hub.subscribe(topics(&["default"]), None).unwrap();
                ids(subscription.next_delivery(Duration::from_secs(30), &QUIET))
            })
        })
        .collect();
    while hub.snapshot().subscribers < 8 {
        std::thread::yield_now();
    }
    publish(&hub, &["default"], "wake");
    for waiter in waiters {
        assert_eq!(waiter.join().unwrap(), [1]);
    }
}

#[test]
fn a_raised_alarm_wakes_an_idle_subscriber_once() {
    let hub = Arc::new(hub());
    let alarm = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let waiter = {
        let (hub, alarm) = (Arc::clone(&hub), Arc::clone(&alarm));
        std::thread::spawn(move || {
            let mut subscription = hub.subscribe(topics(&["default"]), None).unwrap();
            ready_tx.send(std::thread::current()).unwrap();
            let first = subscription.next_delivery(Duration::from_secs(30), &alarm);
            let second = subscription.next_delivery(NOW, &alarm);
            (format!("{first:?}"), format!("{second:?}"))
        })
    };
    let thread = ready_rx.recv().unwrap();
    alarm.store(true, Ordering::Release);
    thread.unpark();
    assert_eq!(
        waiter.join().unwrap(),
        ("CheckClient".into(), "Idle".into())
    );
}

#[test]
fn a_large_backlog_is_delivered_in_bounded_batches() {
    let hub = Hub::new(HubLimits {
        history_per_topic: 100,
        ..limits()
    });
    let mut subscription = hub
        .subscribe(topics(&["a", "b"]), Some(EventId::counted(0)))
        .unwrap();
    let text = "x".repeat(10_000);
    for n in 0..20 {
        publish(&hub, &[["a", "b"][n % 2]], &text);
    }
    let mut delivered = Vec::new();
    while let Delivery::Messages {
        messages: batch, ..
    } = subscription.next_delivery(NOW, &QUIET)
    {
        let bytes: usize = batch.iter().map(|message| message.encoded.len()).sum();
        assert!(bytes <= MAX_BATCH_BYTES, "a batch of {bytes} bytes");
        delivered.extend(batch.iter().map(|message| message.id.seq));
    }
    assert_eq!(delivered, (1..=20).collect::<Vec<u64>>());
}

#[test]
fn a_message_larger_than_a_batch_is_still_delivered() {
    let hub = hub();
    let mut subscription = hub.subscribe(topics(&["default"]), None).unwrap();
    publish(&hub, &["default"], &"y".repeat(MAX_BATCH_BYTES * 2));
    assert_eq!(ids(subscription.next_delivery(NOW, &QUIET)), [1]);
}

#[test]
fn a_panic_while_holding_the_lock_does_not_break_the_hub() {
    // The poison policy of sync.rs: a thread that panics inside the critical
    // section poisons the mutex; every later user must carry on regardless.
    let hub = Arc::new(hub());
    let poisoner = {
        let hub = Arc::clone(&hub);
        std::thread::spawn(move || {
            let _guard = hub.state.lock().unwrap();
            panic!("a client thread panics while holding the hub lock");
        })
    };
    assert!(poisoner.join().is_err());
    assert!(hub.state.is_poisoned());
    let mut subscription = hub
        .subscribe(topics(&["default"]), Some(EventId::counted(0)))
        .unwrap();
    publish(&hub, &["default"], "still works");
    assert_eq!(ids(subscription.next_delivery(NOW, &QUIET)), [1]);
    assert_eq!(hub.snapshot().subscribers, 1);
}

/// A hub that follows a shared log, and entries as the log would give them.
fn log_hub() -> Hub {
    Hub::with_ids(limits(), IdSource::Log)
}

fn entry(ms: u64, names: &[&str], data: &str) -> LogEntry {
    LogEntry {
        id: EventId { ms, seq: 0 },
        topics: topics(names),
        event: Event::new(data),
        publisher: crate::pubsub::subject::subject_of(None),
    }
}

#[test]
fn log_entries_keep_their_ids_and_an_entry_read_twice_is_added_once() {
    let hub = log_hub();
    let mut subscription = hub.subscribe(topics(&["a"]), None).unwrap();
    assert_eq!(
        hub.append(vec![entry(100, &["a"], "x"), entry(200, &["a"], "y")]),
        2
    );
    // After a reconnect the tail may read the last entry again.
    assert_eq!(
        hub.append(vec![entry(200, &["a"], "y"), entry(300, &["b"], "z")]),
        1
    );
    match subscription.next_delivery(NOW, &QUIET) {
        Delivery::Messages { messages, .. } => {
            assert_eq!(&*messages[0].encoded, b"id: 100-0\ndata: x\n\n");
            assert_eq!(messages.len(), 2);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(hub.count_followers(&topics(&["a", "b"])), 1);
}

#[test]
fn with_a_log_an_id_from_the_future_is_kept_and_an_old_one_is_sent_to_the_log() {
    let hub = log_hub();
    hub.append(vec![entry(500, &["a"], "held")]);
    // Another instance is ahead of this one: what comes after that id will arrive here.
    let ahead = EventId { ms: 900, seq: 0 };
    let mut early = hub.subscribe(topics(&["a"]), Some(ahead)).unwrap();
    hub.append(vec![
        entry(900, &["a"], "seen already"),
        entry(950, &["a"], "new"),
    ]);
    match early.next_delivery(NOW, &QUIET) {
        Delivery::Messages { messages, .. } => {
            let ms: Vec<u64> = messages.iter().map(|message| message.id.ms).collect();
            assert_eq!(ms, [950]);
        }
        other => panic!("{other:?}"),
    }

    // Filled from the log at start: what is older than the filled part is in the log.
    hub.set_floor(EventId {
        ms: 499,
        seq: u64::MAX,
    });
    let old = EventId { ms: 10, seq: 0 };
    let mut resumed = hub.subscribe(topics(&["a"]), Some(old)).unwrap();
    match resumed.next_delivery(NOW, &QUIET) {
        Delivery::Gap { after, through } => {
            assert_eq!(
                (after, through),
                (
                    old,
                    EventId {
                        ms: 499,
                        seq: u64::MAX
                    }
                )
            );
            resumed.skip_to(through);
        }
        other => panic!("expected a gap, got {other:?}"),
    }
    match resumed.next_delivery(NOW, &QUIET) {
        Delivery::Messages { messages, missed } => {
            let ms: Vec<u64> = messages.iter().map(|message| message.id.ms).collect();
            assert_eq!((ms, missed), (vec![500, 900, 950], None));
        }
        other => panic!("{other:?}"),
    }
}
