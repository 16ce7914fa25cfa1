//! Several instances sharing one log in a real Redis: a message published on one
//! reaches subscribers on all, ids mean the same everywhere, a started instance fills
//! its history from the log, and an outage costs no message that was answered `202`.
//! Each test starts its own `redis-server` (tests/support/redis.rs).

mod support;

use std::time::Duration;

use support::redis::RedisServer;
use support::{StreamReader, TestServer, fast_config, json_number, wait_for};

use sse_server::Config;
use sse_server::auth::jwt;
use sse_server::config::Secret;
use sse_server::pubsub::event_id::EventId;
use sse_server::redis::log::{LogSettings, RedisLog};
use sse_server::redis::url::RedisUrl;

fn instance(redis: &RedisServer, key: &str) -> TestServer {
    TestServer::start(config(redis, key))
}

fn config(redis: &RedisServer, key: &str) -> Config {
    Config {
        redis: Some(RedisUrl::parse(&redis.url()).unwrap()),
        redis_key: key.into(),
        ..fast_config()
    }
}

/// Publishes `body` to `topic`; returns the status and, for a 202, the id.
fn publish(server: &TestServer, topic: &str, body: &str) -> (u16, String) {
    let response = server.exchange(&format!(
        "POST /publish?topic={topic} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    ));
    let text = response.body_text();
    let id = text
        .split("\"id\": \"")
        .nth(1)
        .map(|rest| rest.split('"').next().unwrap().to_string())
        .unwrap_or_default();
    (response.status, id)
}

fn published(server: &TestServer, topic: &str, body: &str) -> String {
    let (status, id) = publish(server, topic, body);
    assert_eq!(status, 202, "publishing {} bytes", body.len());
    id
}

/// The instance's tail is following the log (it may start a moment after the server).
fn wait_until_connected(server: &TestServer) {
    let connected = wait_for(Duration::from_secs(10), || {
        server.stats().contains("\"connected\": true")
    });
    assert!(connected.is_some(), "{}", server.stats());
}

#[test]
fn a_message_published_on_one_instance_reaches_subscribers_on_both_with_one_id() {
    let redis = RedisServer::start(&[]);
    let (a, b) = (instance(&redis, "both"), instance(&redis, "both"));
    wait_until_connected(&a);
    wait_until_connected(&b);
    let mut on_a = StreamReader::open(&a, "/subscribe?topic=news", "");
    let mut on_b = StreamReader::open(&b, "/subscribe?topic=news", "");
    let first = published(&a, "news", "from a");
    let second = published(&b, "news", "from b");
    let other = published(&a, "elsewhere", "not for news");
    // Ids are the log's entry ids, in publish order, the same on both instances.
    let (first_id, second_id) = (EventId::parse(&first), EventId::parse(&second));
    assert!(
        first_id.unwrap().ms > 0 && first_id < second_id,
        "{first} {second}"
    );
    assert!(EventId::parse(&other) > second_id);
    let expected = vec![
        (first.clone(), "from a".to_string()),
        (second, "from b".into()),
    ];
    assert_eq!(on_a.ids_and_data(2), expected);
    assert_eq!(on_b.ids_and_data(2), expected);
    // The publishing instance counts its own subscribers in the answer.
    let response = a.exchange(
        "POST /publish?topic=news HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx",
    );
    assert!(
        response.body_text().contains("\"subscribers\": 1"),
        "{}",
        response.body_text()
    );
    let stats = b.stats();
    assert!(stats.contains("\"redis\": {\"connected\": true"), "{stats}");
    // One meaning per name: B published one message itself, and took in the others
    // from the log.
    assert_eq!(json_number(&stats, "messages_published"), 1, "{stats}");
    assert!(json_number(&stats, "messages_received") >= 2, "{stats}");
}

#[test]
fn a_message_larger_than_this_instance_accepts_still_reaches_its_subscribers() {
    // B only accepts small publishes itself, but a message A accepted is in the log,
    // and B's tail must not get stuck on it.
    let redis = RedisServer::start(&[]);
    let a = instance(&redis, "sizes");
    let b = TestServer::start(Config {
        max_message_bytes: 16,
        ..config(&redis, "sizes")
    });
    wait_until_connected(&a);
    wait_until_connected(&b);
    let mut on_b = StreamReader::open(&b, "/subscribe?topic=t", "");
    let big = "x".repeat(50_000);
    published(&a, "t", &big);
    published(&a, "t", "after it");
    let got = on_b.ids_and_data(2);
    assert_eq!((got[0].1.len(), got[1].1.as_str()), (50_000, "after it"));
}

#[test]
fn a_last_event_id_from_one_instance_resumes_on_another() {
    let redis = RedisServer::start(&[]);
    let (a, b) = (instance(&redis, "resume"), instance(&redis, "resume"));
    wait_until_connected(&a);
    wait_until_connected(&b);
    let mut reader = StreamReader::open(&a, "/subscribe?topic=t", "");
    let ids: Vec<String> = (1..=3)
        .map(|n| published(&a, "t", &format!("m{n}")))
        .collect();
    assert_eq!(reader.ids_and_data(2)[1].0, ids[1]);
    drop(reader);
    // Messages published while the browser is away, then it comes back to B.
    let later: Vec<String> = (4..=5)
        .map(|n| published(&b, "t", &format!("m{n}")))
        .collect();
    // B may not have read the newest entry yet when the browser arrives.
    let header = format!("Last-Event-ID: {}\r\n", ids[1]);
    let mut resumed = StreamReader::open(&b, "/subscribe?topic=t", &header);
    let expected: Vec<(String, String)> = [
        (ids[2].clone(), "m3"),
        (later[0].clone(), "m4"),
        (later[1].clone(), "m5"),
    ]
    .into_iter()
    .map(|(id, data)| (id, data.to_string()))
    .collect();
    assert_eq!(resumed.ids_and_data(3), expected);
}

#[test]
fn a_started_instance_fills_its_history_and_reads_older_messages_from_the_log() {
    let redis = RedisServer::start(&[]);
    let a = instance(&redis, "fill");
    wait_until_connected(&a);
    let ids: Vec<String> = (1..=6)
        .map(|n| published(&a, "t", &format!("m{n}")))
        .collect();
    published(&a, "other", "not for t");
    // A new instance that keeps only 3 messages per topic in memory (and loads as many).
    let c = TestServer::start(Config {
        history: 3,
        ..config(&redis, "fill")
    });
    wait_until_connected(&c);
    assert!(
        wait_for(Duration::from_secs(5), || json_number(
            &c.stats(),
            "history_held"
        ) == 3)
        .is_some()
    );
    // Resuming after m1: m2 and m3 come from Redis, m4..m6 from memory, in order, once.
    let header = format!("Last-Event-ID: {}\r\n", ids[0]);
    let mut reader = StreamReader::open(&c, "/subscribe?topic=t", &header);
    let got = reader.ids_and_data(5);
    let expected: Vec<(String, String)> = (1..6)
        .map(|n| (ids[n].clone(), format!("m{}", n + 1)))
        .collect();
    assert_eq!(got, expected);
    // And live after that.
    let live = published(&c, "t", "m7");
    assert_eq!(reader.ids_and_data(6)[5], (live, "m7".to_string()));
}

#[test]
fn while_redis_is_down_publishing_is_refused_and_nothing_answered_202_is_lost_or_repeated() {
    let mut redis = RedisServer::start(&[]);
    let (a, b) = (instance(&redis, "outage"), instance(&redis, "outage"));
    wait_until_connected(&a);
    wait_until_connected(&b);
    let mut on_b = StreamReader::open(&b, "/subscribe?topic=t", "");
    let mut accepted = vec![published(&a, "t", "before")];
    redis.stop();
    let (status, _) = publish(&a, "t", "during");
    assert_eq!(status, 503);
    let refused = a.exchange(
        "POST /publish?topic=t HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx",
    );
    assert_eq!(refused.status, 503);
    assert!(refused.header("retry-after").is_some());
    assert!(
        wait_for(Duration::from_secs(5), || b
            .stats()
            .contains("\"connected\": false"))
        .is_some()
    );
    redis.start_again();
    wait_until_connected(&a);
    wait_until_connected(&b);
    accepted.push(published(&a, "t", "after"));
    accepted.push(published(&b, "t", "after, via b"));
    let got = on_b.ids_and_data(3);
    let ids: Vec<String> = got.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids, accepted);
    assert_eq!(got[0].1, "before");
    // Nothing more arrives: no repeat of what was read before the outage.
    on_b.socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8; 1];
    assert!(std::io::Read::read(&mut on_b.socket, &mut byte).is_err());
}

#[test]
fn tokens_and_topics_work_the_same_across_instances() {
    const SECRET: &str = "a-secret-shared-by-both-instances!";
    let redis = RedisServer::start(&[]);
    let secured = || {
        TestServer::start(Config {
            auth_secret: Some(Secret::new(SECRET)),
            ..config(&redis, "auth")
        })
    };
    let (a, b) = (secured(), secured());
    wait_until_connected(&a);
    wait_until_connected(&b);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Claims as a backend would write them; `[]` grants nothing.
    let claims = |subscribe: &str, publish: &str| {
        format!(
            r#"{{"sub":"alice","exp":{},"subscribe":[{subscribe}],"publish":[{publish}]}}"#,
            now + 600
        )
    };
    let reader_token = jwt::sign(&claims(r#""users/{sub}/*""#, ""), SECRET.as_bytes());
    let writer_token = jwt::sign(&claims("", r#""users/*""#), SECRET.as_bytes());
    let bearer = |token: &str| format!("Authorization: Bearer {token}\r\n");
    // A topic the token does not cover is refused on B as it would be on A.
    let refused = b.exchange(&format!(
        "GET /subscribe?topic=users/bob/inbox HTTP/1.1\r\nHost: t\r\n{}Connection: close\r\n\r\n",
        bearer(&reader_token)
    ));
    assert_eq!(refused.status, 403);
    let mut inbox = StreamReader::open(
        &b,
        "/subscribe?topic=users/alice/inbox",
        &bearer(&reader_token),
    );
    // Publishing on A needs A to accept the token; the message then reaches B.
    let publish = |token: Option<&str>| {
        a.exchange(&format!(
            "POST /publish?topic=users/alice/inbox HTTP/1.1\r\nHost: t\r\n{}Content-Length: 2\r\n\
             Connection: close\r\n\r\nhi",
            token.map(bearer).unwrap_or_default()
        ))
    };
    assert_eq!(publish(None).status, 401);
    assert_eq!(publish(Some(&reader_token)).status, 403);
    let accepted = publish(Some(&writer_token));
    assert_eq!(accepted.status, 202);
    assert_eq!(inbox.ids_and_data(1)[0].1, "hi");
}

#[test]
fn a_password_and_database_in_the_url_are_used_and_never_shown() {
    let redis = RedisServer::start(&["--requirepass", "s3cret-pw"]);
    let url = format!("redis://:s3cret-pw@127.0.0.1:{}/3", redis.port);
    let log = RedisLog::new(LogSettings {
        url: RedisUrl::parse(&url).unwrap(),
        key: "auth".into(),
        max_len: 100,
        max_log_replays: 4,
        replay_memory_bytes: 1 << 30,
        max_bytes: None,
    });
    let topics = vec![sse_server::pubsub::topic::check_topic_name("t").unwrap()];
    let id = log.append(&topics, Some("chat"), "hello").unwrap();
    let page = log.range_back(EventId::ZERO, (id, true), 10).unwrap();
    assert_eq!(page.entries.len(), 1);
    assert_eq!(
        page.entries[0].event.encode(),
        b"event: chat\ndata: hello\n\n"
    );

    let wrong = RedisLog::new(LogSettings {
        url: RedisUrl::parse(&format!("redis://:wrong-pw@127.0.0.1:{}", redis.port)).unwrap(),
        key: "auth".into(),
        max_len: 100,
        max_log_replays: 4,
        replay_memory_bytes: 1 << 30,
        max_bytes: None,
    });
    let error = wrong.append(&topics, None, "x").unwrap_err().to_string();
    assert!(error.contains("WRONGPASS"), "{error}");
    assert!(!error.contains("wrong-pw"), "{error}");
}

#[test]
fn the_log_says_when_messages_after_an_id_were_trimmed_away() {
    let redis = RedisServer::start(&[]);
    let log = RedisLog::new(LogSettings {
        url: RedisUrl::parse(&redis.url()).unwrap(),
        key: "trim".into(),
        max_len: 10,
        max_log_replays: 4,
        replay_memory_bytes: 1 << 30,
        max_bytes: None,
    });
    assert!(!log.lost_after(EventId::ZERO).unwrap(), "no stream yet");
    let topics = vec![sse_server::pubsub::topic::check_topic_name("t").unwrap()];
    let ids: Vec<EventId> = (0..500)
        .map(|n| log.append(&topics, None, &n.to_string()).unwrap())
        .collect();
    // MAXLEN ~ 10 trims whole nodes: the oldest are gone, the newest kept.
    assert!(log.lost_after(ids[0]).unwrap());
    assert!(!log.lost_after(ids[495]).unwrap());
}
