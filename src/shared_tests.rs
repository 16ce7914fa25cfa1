use super::*;

const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

#[test]
fn a_panicking_client_thread_gives_its_slot_back() {
    let shared = Shared::new(Config {
        max_requests: 1,
        ..Config::default()
    });
    let slot = RequestSlot::claim(&shared, LOCAL).expect("one slot is free");
    assert!(
        RequestSlot::claim(&shared, LOCAL).is_err(),
        "the budget is one request"
    );
    // Unwinding runs the slot's Drop, exactly as a normal return does.
    let client = std::thread::spawn(move || {
        let _slot = slot;
        panic!("a bug in a handler");
    });
    assert!(client.join().is_err());
    assert!(
        RequestSlot::claim(&shared, LOCAL).is_ok(),
        "the slot was not given back"
    );
    assert_eq!(shared.shares.clients(), 0, "nor the client's share");
}

#[test]
fn streams_and_requests_are_counted_apart() {
    let shared = Shared::new(Config {
        max_clients: 1,
        max_requests: 1,
        ..Config::default()
    });
    let stream = shared.streams.claim().expect("one stream slot is free");
    assert!(shared.streams.claim().is_none(), "the cap is one stream");
    assert_eq!(
        shared.streams.taken(),
        1,
        "a refused claim gives back nothing"
    );
    assert!(
        RequestSlot::claim(&shared, LOCAL).is_ok(),
        "a full stream cap leaves requests their own budget"
    );
    drop(stream);
    assert!(shared.streams.claim().is_some());
}

#[test]
fn a_place_given_back_wakes_a_sleeper_at_once() {
    let budget = Arc::new(Budget::new(1));
    let held = budget.claim().expect("one place is free");
    let sleeper = Arc::clone(&budget);
    let waiting = std::thread::spawn(move || {
        let started = Instant::now();
        let far = started + Duration::from_secs(30);
        let claim = sleeper.claim_before(far, Duration::from_secs(30), || false);
        (claim.is_some(), started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(100));
    drop(held);
    let (claimed, after) = waiting.join().unwrap();
    assert!(claimed);
    assert!(after < Duration::from_secs(5), "woke after {after:?}");
    assert_eq!(
        budget.taken(),
        0,
        "the sleeper's claim was dropped with its thread"
    );
    let soon = Instant::now() + Duration::from_millis(50);
    let _one = budget.claim().unwrap();
    assert!(
        budget
            .claim_before(soon, Duration::from_secs(1), || false)
            .is_none()
    );
}
