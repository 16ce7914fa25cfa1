//! Two instances sharing one Redis log serve one Mercure hub: an update published on
//! either reaches the subscribers of both, private ones by token, topics with spaces
//! and any UTF-8 intact, and either replays it after `Last-Event-ID`; the project's
//! own topics never see a Mercure update. Each test starts its own `redis-server`.

mod support;

use std::time::Duration;

use sse_server::Config;
use sse_server::config::{MercureSettings, Secret};
use sse_server::redis::url::RedisUrl;
use support::mercure::{KEY, bearer, token};
use support::redis::RedisServer;
use support::{HttpResponse, StreamReader, TestServer, fast_config, wait_for};

const HUB: &str = "/.well-known/mercure";

fn instance(redis: &RedisServer) -> TestServer {
    instance_with(redis, true)
}

/// One instance on `redis`; `subscriptions` is `--mercure-subscriptions`.
fn instance_with(redis: &RedisServer, subscriptions: bool) -> TestServer {
    let server = TestServer::start(Config {
        redis: Some(RedisUrl::parse(&redis.url()).unwrap()),
        redis_key: "mercure".into(),
        mercure: MercureSettings {
            key: Some(Secret::new(KEY)),
            subscriptions,
            ..MercureSettings::default()
        },
        ..fast_config()
    });
    let connected = wait_for(Duration::from_secs(10), || {
        server.stats().contains("\"connected\": true")
    });
    assert!(connected.is_some(), "{}", server.stats());
    server
}

fn publish(server: &TestServer, form: &str) -> HttpResponse {
    server.exchange(&format!(
        "POST {HUB} HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-www-form-urlencoded\r\n{}Content-Length: {}\r\nConnection: close\r\n\r\n{form}",
        bearer(&token(r#""publish""#, &["*"], 60)),
        form.len()
    ))
}

#[test]
fn two_instances_serve_one_hub() {
    let redis = RedisServer::start(&[]);
    let (a, b) = (instance(&redis), instance(&redis));
    // `livres/été 1`, form-encoded: a space and two bytes of UTF-8 each way.
    let topic = "livres%2F%C3%A9t%C3%A9+1";
    let reader = bearer(&token(r#""subscribe""#, &["livres/été 1"], 60));
    let mut granted_on_b = StreamReader::open(&b, &format!("{HUB}?match={topic}"), &reader);
    let mut anonymous_on_a = StreamReader::open(&a, &format!("{HUB}?match={topic}"), "");
    let mut own_topic_on_b = StreamReader::open(&b, "/subscribe?topic=news", "");

    let secret = publish(&a, &format!("topic={topic}&data=secret&private=on"));
    assert_eq!(secret.status, 200, "{}", secret.body_text());
    let public = publish(&b, &format!("topic={topic}&topic=news&data=public"));
    assert_eq!(public.status, 200);
    let (secret_id, public_id) = (secret.body_text(), public.body_text());
    assert_eq!(
        granted_on_b.ids_and_data(2),
        [
            (secret_id.clone(), "secret".into()),
            (public_id.clone(), "public".into())
        ]
    );
    assert_eq!(
        anonymous_on_a.ids_and_data(1),
        [(public_id.clone(), "public".into())]
    );

    // Replay after an id published on the other instance.
    let mut resumed_on_a = StreamReader::open(
        &a,
        &format!("{HUB}?match={topic}"),
        &format!("{reader}Last-Event-ID: {secret_id}\r\n"),
    );
    assert_eq!(resumed_on_a.ids_and_data(1), [(public_id, "public".into())]);

    // The project's own topic `news` saw neither Mercure update, and still works.
    let own = b.exchange(
        "POST /publish?topic=news HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\nConnection: close\r\n\r\nown",
    );
    assert_eq!(own.status, 202);
    assert_eq!(own_topic_on_b.events(1)[0].data, "own");
}

/// A subscriber on `server` to every subscription event, with a token that may read them.
fn watch_presence(server: &TestServer) -> StreamReader {
    let watcher = bearer(&token(r#""subscribe""#, &["*"], 60));
    StreamReader::open(
        server,
        &format!(
            "{HUB}?match_urlpattern=%2F.well-known%2Fmercure%2Fsubscriptions%2F%3Atype%2F%3Amatch%2F%3Asubscriber"
        ),
        &watcher,
    )
}

#[test]
fn presence_is_announced_to_every_instance() {
    let redis = RedisServer::start(&[]);
    let (a, b) = (instance(&redis), instance(&redis));
    let mut watching_on_b = watch_presence(&b);
    let watcher = bearer(&token(r#""subscribe""#, &["*"], 60));
    // The watcher's own arrival comes first, through the log like any other.
    let own = watching_on_b.events(1);
    assert!(
        own[0].data.contains(r#""match_type":"urlpattern""#),
        "{}",
        own[0].data
    );
    let guest_on_a = StreamReader::open(&a, &format!("{HUB}?match=livres%2F%C3%A9t%C3%A9"), "");
    let arrived = watching_on_b.events(2);
    assert_eq!(arrived[1].event_type, "mercure");
    assert!(
        arrived[1].data.contains(r#""match":"livres/été""#)
            && arrived[1].data.contains(r#""active":true"#)
    );
    drop(guest_on_a);
    let left = watching_on_b.events(3);
    assert!(
        left[2].data.contains(r#""match":"livres/été""#)
            && left[2].data.contains(r#""active":false"#)
    );
    // One id on every instance: A replays the same event after the same cursor.
    let mut replay_on_a = StreamReader::open(
        &a,
        &format!("{HUB}?match=*"),
        &format!("{watcher}Last-Event-ID: {}\r\n", arrived[1].last_event_id),
    );
    let replayed = replay_on_a.events(1);
    assert_eq!(replayed[0].last_event_id, left[2].last_event_id);
}

#[test]
fn without_the_switch_a_subscriber_writes_nothing_to_the_shared_log() {
    let redis = RedisServer::start(&[]);
    let a = instance_with(&redis, false);
    let before = redis.xlen("mercure");
    // The attacker's request (issue 27): 64 matchers, no token. With presence on,
    // 64 entries on arrival and 64 on departure; 780 of them trimmed a 100,000-entry
    // log. Now none: the hub was not started with `--mercure-subscriptions`.
    let matchers: Vec<String> = (0..64).map(|n| format!("match=t{n}")).collect();
    for _ in 0..3 {
        let reader = StreamReader::open(&a, &format!("{HUB}?{}", matchers.join("&")), "");
        drop(reader);
    }
    // (Their departures write nothing either: `membership.joined` is empty, see
    // `src/mercure/hub_tests.rs`.)
    let published = publish(&a, "topic=t1&data=x");
    assert_eq!(published.status, 200);
    assert_eq!(redis.xlen("mercure") - before, 1, "the publish alone");
}

#[test]
fn an_arrival_is_one_log_entry_however_many_matchers() {
    let redis = RedisServer::start(&[]);
    let (a, b) = (instance(&redis), instance(&redis));
    let mut watching_on_b = watch_presence(&b);
    watching_on_b.events(1);
    let before = redis.xlen("mercure");
    let matchers: Vec<String> = (0..64).map(|n| format!("match=t{n}")).collect();
    let _guest_on_a = StreamReader::open(&a, &format!("{HUB}?{}", matchers.join("&")), "");
    // The spec's one event per subscription, on the other instance too...
    let arrived = watching_on_b.events(65);
    assert!(
        arrived[1..]
            .iter()
            .all(|event| event.event_type == "mercure")
    );
    assert!(
        arrived[64].data.contains(r#""match":"t63""#),
        "{}",
        arrived[64].data
    );
    // ...from one entry in the log everyone's messages share (64 before).
    assert_eq!(redis.xlen("mercure") - before, 1);
}
