//! The isolation property: many subscribers on random sets of topics, each holding a
//! token for exactly those topics, many publishes to random sets of topics, and some
//! subscribers leaving and resuming with `Last-Event-ID` while publishing goes on.
//! Every subscriber must receive exactly the messages of its topics, once each, in id
//! order, and be refused any other topic.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use sse_server::Config;
use sse_server::auth::gate::unix_now;
use sse_server::auth::jwt;
use sse_server::config::Secret;
use support::{StreamReader, TestServer, fast_config};

const SECRET: &str = "isolation-secret-isolation-secret-isolation";
const TOPICS: usize = 8;
const SUBSCRIBERS: usize = 24;
const PUBLISHES: usize = 240;

/// xorshift64: the same "random" choices on every run, so a failure reproduces.
struct Random(u64);

impl Random {
    fn below(&mut self, limit: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % limit as u64) as usize
    }

    /// One to three distinct topic numbers.
    fn topics(&mut self) -> BTreeSet<usize> {
        let count = 1 + self.below(3);
        let mut topics = BTreeSet::new();
        while topics.len() < count {
            topics.insert(self.below(TOPICS));
        }
        topics
    }
}

fn topic_query(topics: &BTreeSet<usize>) -> String {
    let names: Vec<String> = topics.iter().map(|t| format!("topic=t/{t}")).collect();
    names.join("&")
}

struct Subscriber {
    topics: BTreeSet<usize>,
    token: String,
    reader: StreamReader,
    /// Ids received by earlier connections of this subscriber.
    received: Vec<u64>,
}

impl Subscriber {
    fn open(
        server: &TestServer,
        topics: &BTreeSet<usize>,
        token: &str,
        last_id: Option<u64>,
    ) -> StreamReader {
        let resume = last_id.map_or(String::new(), |id| format!("Last-Event-ID: {id}\r\n"));
        StreamReader::open(
            server,
            &format!("/subscribe?{}", topic_query(topics)),
            &format!("Authorization: Bearer {token}\r\n{resume}"),
        )
    }

    fn ids_so_far(&self) -> Vec<u64> {
        let mut ids = self.received.clone();
        ids.extend(
            self.reader
                .parsed()
                .events
                .iter()
                .map(|event| event.last_event_id.parse::<u64>().unwrap()),
        );
        ids
    }
}

#[test]
fn each_subscriber_gets_exactly_its_topics_once_in_order_across_reconnects() {
    let server = TestServer::start(Config {
        auth_secret: Some(Secret::new(SECRET)),
        ..fast_config()
    });
    let mut random = Random(0x2545_F491_4F6C_DD1D);
    let publisher = jwt::sign(
        &format!(r#"{{"exp":{},"publish":["t/*"]}}"#, unix_now() + 600),
        SECRET.as_bytes(),
    );

    let mut subscribers: Vec<Subscriber> = (0..SUBSCRIBERS)
        .map(|_| {
            let topics = random.topics();
            let patterns: Vec<String> = topics.iter().map(|t| format!("\"t/{t}\"")).collect();
            let claims = format!(
                r#"{{"exp":{},"subscribe":[{}]}}"#,
                unix_now() + 600,
                patterns.join(",")
            );
            let token = jwt::sign(&claims, SECRET.as_bytes());
            let reader = Subscriber::open(&server, &topics, &token, None);
            Subscriber {
                topics,
                token,
                reader,
                received: Vec::new(),
            }
        })
        .collect();
    assert!(
        support::wait_for(Duration::from_secs(5), || server.stat("subscribers")
            == SUBSCRIBERS as u64)
        .is_some()
    );

    // A topic outside the token: refused, whatever else is asked for with it.
    for subscriber in &subscribers {
        let outside = (0..TOPICS)
            .find(|t| !subscriber.topics.contains(t))
            .unwrap();
        let mut asked = subscriber.topics.clone();
        asked.insert(outside);
        let refused = server.exchange(&format!(
            "GET /subscribe?{} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            topic_query(&asked),
            subscriber.token
        ));
        assert_eq!(refused.status, 403);
    }

    let mut published: Vec<(u64, BTreeSet<usize>)> = Vec::new();
    for seq in 0..PUBLISHES {
        // A third of the way and two thirds of the way: some subscribers leave, and
        // come back with the id of the last event they got.
        if seq == PUBLISHES / 3 || seq == 2 * PUBLISHES / 3 {
            for (index, subscriber) in subscribers.iter_mut().enumerate() {
                if index % 3 != seq % 3 {
                    continue;
                }
                let expected_now = published
                    .iter()
                    .filter(|(_, topics)| !topics.is_disjoint(&subscriber.topics))
                    .count();
                let have = subscriber.received.len();
                subscriber.reader.events(expected_now - have);
                subscriber.received = subscriber.ids_so_far();
                let last = subscriber.received.last().copied();
                subscriber.reader =
                    Subscriber::open(&server, &subscriber.topics, &subscriber.token, last);
            }
        }
        let topics = random.topics();
        let body = format!("message {seq}");
        let answer = server.exchange(&format!(
            "POST /publish?{} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {publisher}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            topic_query(&topics),
            body.len()
        ));
        assert_eq!(answer.status, 202, "{}", answer.body_text());
        let id = answer
            .body_text()
            .split('"')
            .nth(3)
            .unwrap()
            .parse::<u64>()
            .unwrap();
        published.push((id, topics));
    }

    for (index, subscriber) in subscribers.iter_mut().enumerate() {
        let expected: Vec<u64> = published
            .iter()
            .filter(|(_, topics)| !topics.is_disjoint(&subscriber.topics))
            .map(|(id, _)| *id)
            .collect();
        let still_to_come = expected.len() - subscriber.received.len();
        subscriber.reader.events(still_to_come);
        assert_eq!(
            subscriber.ids_so_far(),
            expected,
            "subscriber {index} on {:?}",
            subscriber.topics
        );
    }
}
