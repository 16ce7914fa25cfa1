use super::*;

#[test]
fn open_stream_guard_counts_while_alive() {
    let stats = Stats::default();
    let guard = stats.open_stream(StreamKind::Clock);
    assert_eq!(stats.streams_open_of(StreamKind::Clock), 1);
    stats.count_events(3);
    assert_eq!(stats.streams_open(), 1);
    drop(guard);
    assert_eq!(stats.streams_open(), 0);
    assert_eq!(stats.streams_open_of(StreamKind::Clock), 0);
    assert_eq!(stats.streams_started_of(StreamKind::Clock), 1);
    assert_eq!(stats.streams_started_of(StreamKind::Counter), 0);
    let hub = HubSnapshot {
        subscribers: 2,
        topics: 1,
        messages_received: 9,
        history_held: 4,
        history_bytes: 400,
        subscribers_left: 5,
        leave_lock_ns: 1234,
    };
    let json = stats.to_json(hub, None);
    let with_redis = stats.to_json(hub, Some("{\"connected\": false}".into()));
    assert!(
        with_redis.ends_with("\"leave_lock_ns\": 1234, \"redis\": {\"connected\": false}}\n"),
        "{with_redis}"
    );
    assert!(
        json.starts_with("{\"streams_open\": 0, \"streams_served\": 1, \"events_sent\": 3, "),
        "{json}"
    );
    assert!(
        json.ends_with(
            "\"subscribers\": 2, \"topics\": 1, \"messages_published\": 0, \"messages_received\": 9, \
             \"history_held\": 4, \"history_bytes\": 400, \
             \"subscribers_left\": 5, \"leave_lock_ns\": 1234}\n"
        ),
        "{json}"
    );
}

#[test]
fn publishes_count_by_status() {
    let stats = Stats::default();
    for status in [202, 202, 413, 401, 413, 999] {
        stats.count_publish(status);
    }
    assert_eq!(stats.publishes_accepted(), 2);
    assert_eq!(
        stats.publishes_rejected(),
        vec![(401, 1), (413, 2), (599, 1)]
    );
    stats.count_refusal(Refusal::Draining);
    stats.count_end(Ending::SlowClient);
    assert_eq!(stats.refusals(Refusal::Draining), 1);
    assert_eq!(stats.refusals(Refusal::Full), 0);
    assert_eq!(stats.ends(Ending::SlowClient), 1);
}

#[test]
fn every_label_list_is_in_index_order() {
    // The atomics are indexed by `as usize`: each ALL must list its enum in order.
    assert!(
        StreamKind::ALL
            .iter()
            .enumerate()
            .all(|(i, k)| *k as usize == i)
    );
    assert!(
        Refusal::ALL
            .iter()
            .enumerate()
            .all(|(i, r)| *r as usize == i)
    );
    assert!(
        Ending::ALL
            .iter()
            .enumerate()
            .all(|(i, e)| *e as usize == i)
    );
    assert!(Share::ALL.iter().enumerate().all(|(i, s)| *s as usize == i));
}
