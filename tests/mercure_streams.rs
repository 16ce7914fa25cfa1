//! Mercure subscribers end to end, over real sockets: private updates by token,
//! URL patterns, replay and `Mercure-Last-Event-ID`, a stream ending with its token,
//! presence, shutdown. (`tests/mercure.rs` has the publishing side.)

mod support;

use std::time::Duration;

use sse_server::auth::gate::unix_now;
use support::mercure::{
    COOKIE, HUB, bearer, config, get, publish, publisher, sign, subscribed, token,
};
use support::{StreamReader, TestServer, wait_for};

#[test]
fn reconnection_replays_and_says_where_it_resumed() {
    let server = TestServer::start(config());
    let auth = bearer(&publisher());
    for n in 1..=3 {
        assert_eq!(
            publish(&server, &auth, &format!("topic=t&id=e{n}&data={n}")).status,
            200
        );
    }
    let after = |reader: &mut StreamReader, count| -> Vec<String> {
        reader
            .events(count)
            .into_iter()
            .map(|event| event.data)
            .collect()
    };
    let mut by_header = subscribed(&server, "match=t", "Last-Event-ID: e1\r\n");
    assert_eq!(after(&mut by_header, 2), ["2", "3"]);
    let mut by_query = subscribed(&server, "match=t&last_event_id=e2", "");
    assert_eq!(after(&mut by_query, 1), ["3"]);
    let mut both = subscribed(&server, "match=t&last_event_id=e1", "Last-Event-ID: e2\r\n");
    assert_eq!(after(&mut both, 1), ["3"], "the header wins");
    let mut earliest = subscribed(&server, "match=t&lastEventID=earliest", "");
    assert_eq!(after(&mut earliest, 3), ["1", "2", "3"]);
    let head = |query: &str, headers: &str| {
        let response = server.exchange(&format!(
            "HEAD {HUB}?{query} HTTP/1.1\r\nHost: test\r\n{headers}Connection: close\r\n\r\n"
        ));
        response.header("mercure-last-event-id").map(str::to_string)
    };
    assert_eq!(head("match=t&last_event_id=e2", ""), Some("e2".into()));
    assert_eq!(
        head("match=t", "Last-Event-ID: gone\r\n"),
        Some("earliest".into())
    );
    assert_eq!(head("match=t", ""), None, "no cursor asked, none answered");
    // A Mercure stream never gets the project's `missed` event, even for an id it
    // does not hold: only the header tells.
    let mut unknown = subscribed(&server, "match=t", "Last-Event-ID: gone\r\n");
    let events = unknown.events(3);
    assert!(
        events.iter().all(|event| event.event_type == "message"),
        "{events:?}"
    );
}

#[test]
fn a_stream_ends_when_its_token_expires() {
    let server = TestServer::start(config());
    let short = token(r#""subscribe""#, &["a"], 1);
    let mut reader = subscribed(&server, "match=a", &bearer(&short));
    reader.read_until(|reader| reader.finished);
}

#[test]
fn the_subscriptions_api_and_events_give_presence() {
    let mut settings = config();
    settings.mercure.subscriptions = true;
    let server = TestServer::start(settings);
    let watcher = token(r#""subscribe""#, &["*"], 60);
    let mut watching = subscribed(&server, "match=*", &bearer(&watcher));
    let guest = subscribed(&server, "match=https%3A%2F%2Fexample.com%2Fa", "");
    // The watcher's own arrival, then the guest's.
    let events = watching.events(2);
    assert!(events.iter().all(|event| event.event_type == "mercure"));
    assert!(
        events[1]
            .data
            .contains(r#""match":"https://example.com/a""#),
        "{}",
        events[1].data
    );
    assert!(events[1].data.contains(r#""active":true"#));

    let path = format!("{HUB}/subscriptions");
    assert_eq!(get(&server, &path, "").status, 401);
    let narrow = token(r#""subscribe""#, &["a"], 60);
    assert_eq!(get(&server, &path, &bearer(&narrow)).status, 403);
    let all = get(&server, &path, &bearer(&watcher));
    assert_eq!(all.status, 200);
    assert_eq!(all.header("content-type"), Some("application/json"));
    assert!(
        all.header("link").is_some_and(
            |link| link.contains(r#"rel="mercure""#) && link.contains("last-event-id=")
        )
    );
    let body = all.body_text();
    assert!(
        body.contains(r#""type":"subscriptions""#)
            && body.contains(r#""match":"https://example.com/a""#),
        "{body}"
    );
    let of_matcher = get(
        &server,
        &format!("{path}/exact/https%3A%2F%2Fexample.com%2Fa"),
        &bearer(&watcher),
    );
    assert_eq!(of_matcher.status, 200);
    assert_eq!(
        of_matcher
            .body_text()
            .matches(r#""type":"subscription""#)
            .count(),
        1
    );
    let one_grant = sign(
        r#"{"alg":"HS256","typ":"at+jwt"}"#,
        &format!(
            r#"{{"iss":"https://localhost","aud":"https://localhost/.well-known/mercure","exp":{},"authorization_details":[{{"type":"https://mercure.rocks/authorization-detail","actions":["subscribe"],"topics":[{{"match":"/.well-known/mercure/subscriptions/exact/https%3A%2F%2Fexample.com%2Fa"}}]}}]}}"#,
            unix_now() + 60
        ),
    );
    assert_eq!(
        get(
            &server,
            &format!("{path}/exact/https%3A%2F%2Fexample.com%2Fa"),
            &bearer(&one_grant)
        )
        .status,
        200
    );
    assert_eq!(get(&server, &path, &bearer(&one_grant)).status, 403);
    assert_eq!(
        get(
            &server,
            &format!("{path}/exact/nobody/urn%3Auuid%3A0"),
            &bearer(&watcher)
        )
        .status,
        404
    );

    drop(guest);
    let events = watching.events(3);
    assert!(
        events[2].data.contains(r#""active":false"#),
        "{}",
        events[2].data
    );
    wait_for(Duration::from_secs(5), || {
        !get(&server, &path, &bearer(&watcher))
            .body_text()
            .contains("example.com/a")
    })
    .expect("the guest leaves the collection");
}

#[test]
fn url_patterns_select_topics_and_grant_private_updates() {
    let server = TestServer::start(config());
    // The spec's example: all books, with a token for the user's own namespace only.
    let own_namespace = sign(
        r#"{"alg":"HS256","typ":"at+jwt"}"#,
        &format!(
            r#"{{"iss":"https://localhost","aud":"https://localhost/.well-known/mercure","exp":{},"authorization_details":[{{"type":"https://mercure.rocks/authorization-detail","actions":["subscribe"],"topics":[{{"match":"https://example.com/users/42/*","match_type":"urlpattern"}}]}}]}}"#,
            unix_now() + 60
        ),
    );
    let books = "match_urlpattern=https%3A%2F%2Fexample.com%2Fbooks%2F%3Aid";
    let mut user = subscribed(&server, books, &bearer(&own_namespace));
    let mut anonymous = subscribed(&server, books, "");
    let auth = bearer(&publisher());
    let topics = "topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&topic=https%3A%2F%2Fexample.com%2Fusers%2F42%2Fbooks%2F1";
    assert_eq!(
        publish(&server, &auth, &format!("{topics}&private=on&data=mine")).status,
        200
    );
    assert_eq!(
        publish(
            &server,
            &auth,
            "topic=https%3A%2F%2Fexample.com%2Fbooks%2F2%2Fextra&data=no"
        )
        .status,
        200
    );
    assert_eq!(
        publish(
            &server,
            &auth,
            "topic=https%3A%2F%2Fexample.com%2Fbooks%2F2&data=public"
        )
        .status,
        200
    );
    let data = |reader: &mut StreamReader, count| -> Vec<String> {
        reader
            .events(count)
            .into_iter()
            .map(|event| event.data)
            .collect()
    };
    assert_eq!(data(&mut user, 2), ["mine", "public"]);
    assert_eq!(data(&mut anonymous, 1), ["public"]);
    // A pattern the hub cannot evaluate is a 400, never a subscription to nothing.
    assert_eq!(
        get(
            &server,
            &format!("{HUB}?match_urlpattern=https%3A%2F%2Fa%2F(%5Cd%2B)"),
            ""
        )
        .status,
        400
    );
}

#[test]
fn shutdown_ends_mercure_streams_cleanly() {
    let server = TestServer::start(config());
    let mut exact = subscribed(&server, "match=a", "");
    let mut pattern = subscribed(&server, "match_urlpattern=%2Fbooks%2F%3Aid&match=*", "");
    let summary = server.stop();
    assert_eq!(summary.streams_still_open, 0);
    for reader in [&mut exact, &mut pattern] {
        // The last words of a stream at shutdown: a `retry:`, then the final chunk.
        reader.read_until(|reader| reader.finished);
        assert!(reader.parsed().retry_ms.is_some());
    }
}

#[test]
fn private_updates_reach_only_tokens_granting_one_of_their_topics() {
    let server = TestServer::start(config());
    let mut anonymous = subscribed(&server, "match=books%2F1", "");
    let mut canonical = subscribed(
        &server,
        "match=books%2F1",
        &bearer(&token(r#""subscribe""#, &["books/1"], 60)),
    );
    let mut alternate = subscribed(
        &server,
        "match=books%2F1",
        &bearer(&token(r#""subscribe""#, &["users/42/books/1"], 60)),
    );
    let cookie = format!(
        "Cookie: {COOKIE}={}\r\n",
        token(r#""subscribe""#, &["books/1"], 60)
    );
    let mut by_cookie = subscribed(&server, "match=books%2F1", &cookie);
    let mut elsewhere = subscribed(
        &server,
        "match=books%2F1",
        &bearer(&token(r#""subscribe""#, &["books/2"], 60)),
    );
    let auth = bearer(&publisher());
    assert_eq!(
        publish(
            &server,
            &auth,
            "topic=books%2F1&topic=users%2F42%2Fbooks%2F1&private=on&data=secret"
        )
        .status,
        200
    );
    assert_eq!(
        publish(&server, &auth, "topic=books%2F1&data=public").status,
        200
    );
    for reader in [&mut canonical, &mut alternate, &mut by_cookie] {
        let data: Vec<String> = reader
            .events(2)
            .into_iter()
            .map(|event| event.data)
            .collect();
        assert_eq!(data, ["secret", "public"]);
    }
    for reader in [&mut anonymous, &mut elsewhere] {
        let data: Vec<String> = reader
            .events(1)
            .into_iter()
            .map(|event| event.data)
            .collect();
        assert_eq!(data, ["public"]);
    }
    // A bad token is refused, not taken for no token.
    assert_eq!(
        get(&server, &format!("{HUB}?match=a"), &bearer("x.y.z")).status,
        401
    );
}

#[test]
fn presence_is_off_unless_asked_for() {
    let server = TestServer::start(config());
    let watcher = token(r#""subscribe""#, &["*"], 60);
    let mut watching = subscribed(&server, "match=*", &bearer(&watcher));
    let guest = subscribed(&server, "match=https%3A%2F%2Fexample.com%2Fa", "");
    drop(guest);
    let published = publish(&server, &bearer(&publisher()), "topic=z&id=after&data=z");
    assert_eq!(published.status, 200);
    // Neither arrival nor departure was announced: the first event is the publish.
    let first = watching.events(1);
    assert_eq!(first[0].last_event_id, "after", "{first:?}");
    let path = format!("{HUB}/subscriptions");
    assert_eq!(get(&server, &path, &bearer(&watcher)).status, 404);
}

#[test]
fn url_patterns_are_bounded_per_client_and_in_all() {
    let mut settings = config();
    settings.mercure.patterns_per_client = 2;
    settings.mercure.max_patterns = 3;
    let server = TestServer::start(settings);
    let pattern = |n: u32| format!("match_urlpattern=%2Fp{n}%2F%3Aid");
    let _two = subscribed(&server, &format!("{}&{}", pattern(0), pattern(1)), "");
    let refused = get(&server, &format!("{HUB}?{}", pattern(2)), "");
    assert_eq!(refused.status, 503, "{}", refused.body_text());
    assert!(
        refused
            .body_text()
            .contains("--mercure-patterns-per-client")
    );
    assert!(refused.header("retry-after").is_some());
    // A pattern the address follows already costs nothing more.
    let _again = subscribed(&server, &pattern(1), "");
    // A token's subject has a share of its own, in place of its address's (an
    // address may be many people behind one NAT); the hub's total still binds it.
    let reader = bearer(&token(r#""subscribe""#, &["*"], 60));
    let _third = subscribed(&server, &pattern(2), &reader);
    let full = get(&server, &format!("{HUB}?{}", pattern(3)), &reader);
    assert_eq!(full.status, 503);
    assert!(
        full.body_text().contains("--mercure-max-patterns"),
        "{}",
        full.body_text()
    );
    // The attacker's pattern is refused on its own, with 400.
    let heavy = format!("/*{}*1*", "{a}*".repeat(500)).replace('/', "%2F");
    let refused = get(&server, &format!("{HUB}?match_urlpattern={heavy}"), "");
    assert_eq!(refused.status, 400);
    assert!(
        refused.body_text().contains("states"),
        "{}",
        refused.body_text()
    );
}
