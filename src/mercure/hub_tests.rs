use super::*;
use crate::auth::base64url;
use crate::auth::hmac::hmac_sha256;
use crate::mercure::index::{Owner, PatternLimits};
use crate::mercure::matcher::MatcherType;
use crate::mercure::token::{TokenRules, verify};
use crate::mercure::update::PublishForm;

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

fn hub_url() -> HubUrl {
    HubUrl::parse("https://localhost/.well-known/mercure").unwrap()
}

fn hub(history: usize) -> MercureHub {
    MercureHub::new(
        hub_url(),
        HubLimits {
            history,
            history_bytes: 1 << 20,
        },
    )
}

fn exact(text: &str) -> Matcher {
    Matcher::parse(MatcherType::Exact, text, &hub_url()).unwrap()
}

/// A token granting `subscribe` on `topics` (exact matchers).
fn reader(topics: &[&str]) -> Arc<Access> {
    let topics: Vec<String> = topics
        .iter()
        .map(|topic| format!(r#"{{"match":"{topic}"}}"#))
        .collect();
    let claims = format!(
        r#"{{"iss":"i","aud":"a","exp":4000000000,"authorization_details":[{{"type":"https://mercure.rocks/authorization-detail","actions":["subscribe"],"topics":[{}],"payload":{{"who":"me"}}}}]}}"#,
        topics.join(",")
    );
    let mut token = base64url::encode(br#"{"alg":"HS256","typ":"at+jwt"}"#);
    token.push('.');
    token.push_str(&base64url::encode(claims.as_bytes()));
    let signature = hmac_sha256(KEY, token.as_bytes());
    token.push('.');
    token.push_str(&base64url::encode(&signature));
    let hub = hub_url();
    let rules = TokenRules {
        key: KEY,
        issuer: "i",
        resource: "a",
        hub: &hub,
    };
    Arc::new(verify(&token, &rules, 1_800_000_000).unwrap())
}

fn publish(hub: &MercureHub, topics: &[&str], id: &str, private: bool) {
    let form = PublishForm {
        topics: topics.iter().map(|topic| topic.to_string()).collect(),
        data: id.to_string(),
        private,
        id: Some(id.to_string()),
        event_type: None,
        retry: None,
    };
    hub.publish(Update::new(&form, id.to_string()));
}

const ROOMY: PatternLimits = PatternLimits {
    total: 10_000,
    per_address: 10_000,
    per_subject: 10_000,
};

/// A subscriber from 127.0.0.1 with `matchers`, its subscription events announced.
fn joining(matchers: Vec<Matcher>, access: Option<Arc<Access>>) -> Joining {
    Joining {
        matchers,
        owners: vec![Owner::Address(std::net::Ipv4Addr::LOCALHOST.into())],
        pattern_limits: ROOMY,
        announced: true,
        access,
        last_event_id: None,
    }
}

fn join<'h>(
    hub: &'h MercureHub,
    matchers: &[&str],
    access: Option<Arc<Access>>,
    last: Option<&str>,
) -> Membership<'h> {
    let matchers = matchers.iter().map(|text| exact(text)).collect();
    let id = format!("urn:uuid:test-{}", last.unwrap_or_default());
    hub.join(
        Joining {
            last_event_id: last.map(str::to_string),
            ..joining(matchers, access)
        },
        id,
    )
    .unwrap()
}

/// The ids of what `membership` has queued now, leaving out subscription events.
fn taken(hub: &MercureHub, membership: &Membership) -> Vec<String> {
    match hub.next(membership, Duration::ZERO, &AtomicBool::new(false)) {
        Next::Updates(updates) => updates
            .iter()
            .filter(|update| !update.topics[0].starts_with("/.well-known/mercure/"))
            .map(|update| update.id.clone())
            .collect(),
        _ => Vec::new(),
    }
}

#[test]
fn exact_and_wildcard_subscribers_get_each_update_once() {
    let hub = hub(10);
    let one = join(&hub, &["a", "b"], None, None);
    let all = join(&hub, &["*", "a"], None, None);
    let other = join(&hub, &["c"], None, None);
    publish(&hub, &["a", "b"], "1", false);
    publish(&hub, &["z"], "2", false);
    assert_eq!(taken(&hub, &one), ["1"]);
    assert_eq!(taken(&hub, &all), ["1", "2"]);
    assert_eq!(taken(&hub, &other), Vec::<String>::new());
}

#[test]
fn a_private_update_reaches_only_tokens_that_grant_one_of_its_topics() {
    let hub = hub(10);
    let anonymous = join(&hub, &["books/1"], None, None);
    let granted_canonical = join(&hub, &["books/1"], Some(reader(&["books/1"])), None);
    let granted_alternate = join(
        &hub,
        &["books/1"],
        Some(reader(&["users/42/books/1"])),
        None,
    );
    let granted_elsewhere = join(&hub, &["books/1"], Some(reader(&["books/2"])), None);
    publish(&hub, &["books/1", "users/42/books/1"], "p", true);
    publish(&hub, &["books/1"], "public", false);
    assert_eq!(taken(&hub, &anonymous), ["public"]);
    assert_eq!(taken(&hub, &granted_canonical), ["p", "public"]);
    assert_eq!(taken(&hub, &granted_alternate), ["p", "public"]);
    assert_eq!(taken(&hub, &granted_elsewhere), ["public"]);
}

#[test]
fn replay_resumes_after_the_id_and_says_where_it_resumed() {
    // A fresh hub for each case.
    let filled = || {
        let hub = hub(3);
        for id in ["1", "2", "3", "4"] {
            publish(&hub, &["t"], id, false);
        }
        publish(&hub, &["t"], "s", true);
        hub
    };
    // "1" and "2" fell out of a history of 3: the subscriber is told `earliest`.
    let hub = filled();
    let lost = join(&hub, &["t"], None, Some("1"));
    assert_eq!(lost.resumed_after.as_deref(), Some("earliest"));
    assert_eq!(
        taken(&hub, &lost),
        ["3", "4"],
        "the private one is not replayed"
    );
    let hub = filled();
    assert_eq!(hub.resume_point("4"), "4");
    assert_eq!(hub.resume_point("1"), "earliest");
    let resumed = join(&hub, &["t"], Some(reader(&["t"])), Some("3"));
    assert_eq!(resumed.resumed_after.as_deref(), Some("3"));
    assert_eq!(taken(&hub, &resumed), ["4", "s"]);
    let hub = filled();
    let earliest = join(&hub, &["t"], None, Some("earliest"));
    assert_eq!(earliest.resumed_after.as_deref(), Some("earliest"));
    assert_eq!(taken(&hub, &earliest), ["3", "4"]);
    let hub = filled();
    let live = join(&hub, &["t"], None, None);
    assert_eq!(live.resumed_after, None);
    assert_eq!(taken(&hub, &live), Vec::<String>::new());
}

#[test]
fn a_wave_of_arrivals_and_departures_evicts_no_update() {
    let hub = hub(3);
    for id in ["1", "2", "3"] {
        publish(&hub, &["t"], id, false);
    }
    for n in 0..100 {
        drop(join(&hub, &[&format!("churn{n}")], None, None));
    }
    let resumed = join(&hub, &["t"], None, Some("1"));
    assert_eq!(resumed.resumed_after.as_deref(), Some("1"));
    assert_eq!(taken(&hub, &resumed), ["2", "3"]);
}

#[test]
fn a_reused_id_resolves_to_its_earliest_update() {
    let hub = hub(10);
    for (id, topic) in [("x", "t"), ("y", "t"), ("x", "t"), ("z", "t")] {
        publish(&hub, &[topic], id, false);
    }
    let resumed = join(&hub, &["t"], None, Some("x"));
    assert_eq!(taken(&hub, &resumed), ["y", "x", "z"]);
}

#[test]
fn joining_and_leaving_are_announced_privately() {
    let hub = hub(10);
    let watcher_access = reader(&["*"]);
    let watcher = join(&hub, &["*"], Some(watcher_access), None);
    let _ = hub.next(&watcher, Duration::ZERO, &AtomicBool::new(false));
    let public_watcher = join(&hub, &["*"], None, None);
    {
        let _guest = join(&hub, &["books/1"], Some(reader(&["books/1"])), None);
        assert_eq!(hub.subscriptions().0.len(), 3);
    }
    assert_eq!(hub.subscriptions().0.len(), 2);
    let Next::Updates(events) = hub.next(&watcher, Duration::ZERO, &AtomicBool::new(false)) else {
        panic!("the watcher saw nothing");
    };
    let texts: Vec<String> = events
        .iter()
        .map(|event| String::from_utf8(event.encoded.to_vec()).unwrap())
        .collect();
    // The public watcher's arrival, then the guest's arrival and departure.
    assert_eq!(texts.len(), 3, "{texts:#?}");
    assert!(texts.iter().all(|text| text.contains("event: mercure\n")));
    assert!(texts[1].contains(r#""match":"books/1""#) && texts[1].contains(r#""active":true"#));
    assert!(texts[1].contains(r#""payload":{"who":"me"}"#));
    assert!(texts[2].contains(r#""active":false"#));
    assert_eq!(
        taken(&hub, &public_watcher),
        Vec::<String>::new(),
        "events are private"
    );
}

#[test]
fn a_subscriber_that_falls_behind_is_told_so_and_the_others_are_not() {
    let hub = hub(10);
    let slow = join(&hub, &["t"], None, None);
    let other = join(&hub, &["u"], None, None);
    for n in 0..=MAX_QUEUED {
        publish(&hub, &["t"], &n.to_string(), false);
    }
    publish(&hub, &["u"], "u", false);
    assert!(matches!(
        hub.next(&slow, Duration::ZERO, &AtomicBool::new(false)),
        Next::FellBehind
    ));
    assert_eq!(taken(&hub, &other), ["u"]);
}

#[test]
fn a_publish_costs_one_evaluation_per_distinct_pattern_not_per_subscriber() {
    let hub = hub(10);
    let pattern = |text: &str| Matcher::parse(MatcherType::UrlPattern, text, &hub_url()).unwrap();
    let mut members = Vec::new();
    for n in 0..1000 {
        let matchers = vec![
            pattern("https://example.com/books/:id"),
            exact(&format!("t{n}")),
        ];
        members.push(
            hub.join(joining(matchers, None), format!("urn:uuid:{n}"))
                .unwrap(),
        );
    }
    let users = vec![pattern("https://example.com/users/*")];
    members.push(
        hub.join(joining(users, None), "urn:uuid:other".into())
            .unwrap(),
    );
    let before = hub.pattern_evaluations();
    for n in 0..10 {
        publish(
            &hub,
            &["https://example.com/books/1", "t5"],
            &format!("u{n}"),
            false,
        );
    }
    // Per update: the books pattern matches the first topic (one evaluation), the
    // users pattern is tried on it too (one), and neither on `t5`, which is on the
    // hub's host (`localhost`), not theirs. Ten updates: 20, for 1,001 subscribers.
    assert_eq!(hub.pattern_evaluations() - before, 20);
    assert_eq!(
        taken(&hub, &members[5]).len(),
        10,
        "each once, by pattern and by topic"
    );
    assert_eq!(taken(&hub, &members[1000]).len(), 0);
}

#[test]
fn close_wakes_everyone_with_closed() {
    let hub = hub(10);
    let member = join(&hub, &["t"], None, None);
    hub.close();
    assert!(matches!(
        hub.next(&member, Duration::from_secs(5), &AtomicBool::new(false)),
        Next::Closed
    ));
}

#[test]
fn a_topic_is_parsed_once_however_many_patterns_are_tried() {
    let hub = hub(10);
    let pattern = |text: &str| Matcher::parse(MatcherType::UrlPattern, text, &hub_url()).unwrap();
    let mut members = Vec::new();
    for n in 0..100 {
        let matchers = vec![pattern(&format!("https://example.com/p{n}/:id"))];
        members.push(
            hub.join(joining(matchers, None), format!("urn:uuid:{n}"))
                .unwrap(),
        );
    }
    let (parses, evaluations) = (hub.topic_parses(), hub.pattern_evaluations());
    publish(&hub, &["https://example.com/p7/1"], "u", false);
    // Old code: 100 parses, one per pattern.
    assert_eq!(hub.topic_parses() - parses, 1);
    assert_eq!(hub.pattern_evaluations() - evaluations, 100);
    assert_eq!(taken(&hub, &members[7]), ["u"]);
}

#[test]
fn without_the_switch_joining_and_leaving_dispatch_nothing() {
    let hub = hub(10);
    let watcher = join(&hub, &["*"], Some(reader(&["*"])), None);
    let _ = hub.next(&watcher, Duration::ZERO, &AtomicBool::new(false));
    let many: Vec<Matcher> = (0..64).map(|n| exact(&format!("a{n}"))).collect();
    {
        let quiet = Joining {
            announced: false,
            ..joining(many, None)
        };
        let member = hub.join(quiet, "urn:uuid:quiet".into()).unwrap();
        assert!(
            member.joined.is_empty(),
            "nothing to announce through a log"
        );
        assert_eq!(hub.subscriptions().0.len(), 1, "the watcher only");
    }
    // Old code: 64 join and 64 leave events, each dispatched under the lock.
    assert!(matches!(
        hub.next(&watcher, Duration::ZERO, &AtomicBool::new(false)),
        Next::Idle
    ));
    assert_eq!(lock(&hub.state).next_seq, 1, "only the watcher's own event");
}

#[test]
fn a_join_past_the_pattern_caps_is_refused_and_leaves_nothing_behind() {
    let hub = hub(10);
    let pattern = |text: &str| Matcher::parse(MatcherType::UrlPattern, text, &hub_url()).unwrap();
    let tight = PatternLimits {
        total: 3,
        per_address: 2,
        per_subject: 2,
    };
    let patterns = |range: std::ops::Range<u32>| -> Vec<Matcher> {
        range.map(|n| pattern(&format!("/p{n}/*"))).collect()
    };
    let first = Joining {
        pattern_limits: tight,
        ..joining(patterns(0..2), None)
    };
    let _first = hub.join(first, "urn:uuid:1".into()).unwrap();
    let over = Joining {
        pattern_limits: tight,
        ..joining(patterns(1..3), None)
    };
    let refused = hub.join(over, "urn:uuid:2".into()).err();
    assert_eq!(
        refused,
        Some(PatternRefusal::ShareFull {
            by_subject: false,
            limit: 2
        })
    );
    assert_eq!((hub.subscriber_count(), hub.pattern_count()), (1, 2));
    assert_eq!(
        lock(&hub.state).next_seq,
        2,
        "no event for the refused join"
    );
}
