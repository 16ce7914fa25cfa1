//! The Mercure hub end to end, over real sockets: each MUST of the spec that a request
//! can show, with the exact status and headers. (Tokens here are signed with the
//! project's HMAC; `tests/e2e/mercure.test.mjs` proves the same with tokens from the
//! npm `jsonwebtoken` package and clients nobody on the project wrote.)

mod support;

use std::time::Duration;

use sse_server::Config;
use sse_server::auth::gate::unix_now;
use sse_server::config::{MercureSettings, Secret};
use support::mercure::{KEY, bearer, sign, token};
use support::{HttpResponse, StreamReader, TestServer, fast_config, wait_for};

const HUB: &str = "/.well-known/mercure";
/// Every Bearer challenge ends with where the hub's metadata is (RFC 9728 section 5.1).
const METADATA: &str = r#"resource_metadata="https://localhost/.well-known/oauth-protected-resource/.well-known/mercure""#;

/// The challenge `Bearer` then `error` (if any), then the metadata's address.
fn challenge(error: Option<&str>) -> String {
    match error {
        None => format!("Bearer {METADATA}"),
        Some(error) => format!(r#"Bearer error="{error}", {METADATA}"#),
    }
}
const COOKIE: &str = "mercureAuthorization";

fn config() -> Config {
    Config {
        mercure: MercureSettings {
            key: Some(Secret::new(KEY)),
            cookie: COOKIE.into(),
            ..MercureSettings::default()
        },
        ..fast_config()
    }
}

fn publisher() -> String {
    token(r#""publish""#, &["*"], 60)
}

fn publish(server: &TestServer, headers: &str, form: &str) -> HttpResponse {
    server.exchange(&format!(
        "POST {HUB} HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-www-form-urlencoded\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{form}",
        form.len()
    ))
}

fn get(server: &TestServer, target: &str, headers: &str) -> HttpResponse {
    server.exchange(&format!(
        "GET {target} HTTP/1.1\r\nHost: test\r\n{headers}Connection: close\r\n\r\n"
    ))
}

/// A Mercure subscription, open: its head has arrived, so it is in the hub (it joins
/// before the head is written).
fn subscribed(server: &TestServer, query: &str, headers: &str) -> StreamReader {
    StreamReader::open(server, &format!("{HUB}?{query}"), headers)
}

#[test]
fn publish_answers_200_with_the_id_and_subscribers_get_the_event() {
    let server = TestServer::start(config());
    let mut reader = subscribed(&server, "match=https%3A%2F%2Fexample.com%2Fbooks%2F1", "");
    let answer = publish(
        &server,
        &bearer(&publisher()),
        "topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&data=one%0Atwo&id=urn%3Abook%3A1&type=book&retry=5000",
    );
    assert_eq!(answer.status, 200, "{}", answer.body_text());
    assert_eq!(
        answer.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(answer.body_text(), "urn:book:1");
    let events = reader.events(1);
    assert_eq!(events[0].data, "one\ntwo");
    assert_eq!(events[0].event_type, "book");
    assert_eq!(events[0].last_event_id, "urn:book:1");
    assert_eq!(reader.parsed().retry_ms, Some(5000));
    // Without an id, the hub makes one up: a UUID URN, sent as the event's id.
    let generated = publish(
        &server,
        &bearer(&publisher()),
        "topic=https%3A%2F%2Fexample.com%2Fbooks%2F1",
    );
    let id = generated.body_text();
    assert!(id.starts_with("urn:uuid:") && id.len() == 45, "{id}");
    assert_eq!(reader.events(2)[1].last_event_id, id);
}

#[test]
fn every_token_failure_has_its_rfc_6750_answer() {
    let server = TestServer::start(config());
    let form = "topic=a&data=x";
    let none = publish(&server, "", form);
    assert_eq!(none.status, 401);
    assert_eq!(none.header("www-authenticate"), Some(&*challenge(None)));
    let wrong_typ = sign(r#"{"alg":"HS256","typ":"JWT"}"#, r#"{"exp":9999999999}"#);
    let expired = token(r#""publish""#, &["*"], -60);
    for bad in [wrong_typ, expired, "garbage".into()] {
        let answer = publish(&server, &bearer(&bad), form);
        assert_eq!(answer.status, 401);
        assert_eq!(
            answer.header("www-authenticate"),
            Some(&*challenge(Some("invalid_token")))
        );
    }
    let narrow = token(r#""publish""#, &["a"], 60);
    let mut reader = subscribed(&server, "match=a&match=b", "");
    let refused = publish(&server, &bearer(&narrow), "topic=a&topic=b&data=nope");
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.header("www-authenticate"),
        Some(&*challenge(Some("insufficient_scope")))
    );
    let reader_token = token(r#""subscribe""#, &["a"], 60);
    let subscriber_only = publish(&server, &bearer(&reader_token), "topic=a&data=nope");
    assert_eq!(subscriber_only.status, 403, "subscribe is not publish");
    let in_query = server.exchange(&format!(
        "POST {HUB}?access_token={} HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\nConnection: close\r\n\r\ntopic=a",
        publisher()
    ));
    assert_eq!(in_query.status, 400);
    assert_eq!(
        in_query.header("www-authenticate"),
        Some(&*challenge(Some("invalid_request")))
    );
    // Nothing refused was dispatched: the first event the subscriber sees is this one.
    assert_eq!(
        publish(&server, &bearer(&narrow), "topic=a&data=yes").status,
        200
    );
    assert_eq!(reader.events(1)[0].data, "yes");
}

#[test]
fn the_spec_refuses_bad_publishes_and_bad_subscribes_with_400_and_413() {
    let server = TestServer::start(config());
    let auth = bearer(&publisher());
    for form in [
        "data=no+topic",
        "topic=*",
        "topic=%2F.well-known%2Fmercure%2Fsubscriptions%2Fexact%2Fa%2Fb",
        "topic=https%3A%2F%2Fother.test%2F.well-known%2F%256Dercure",
        "topic=a&type=mercure",
        "topic=a&id=earliest",
        "topic=a&id=%23x",
        "topic=a&retry=soon",
        "topic=a%E2%80%8Bb",
    ] {
        assert_eq!(publish(&server, &auth, form).status, 400, "{form}");
    }
    let many: Vec<String> = (0..40).map(|n| format!("topic=t{n}")).collect();
    assert_eq!(publish(&server, &auth, &many.join("&")).status, 413);
    for query in [
        "match_regexp=a",
        "Match=a",
        "matchx=a",
        "match=a%0Ab",
        "other=1",
        "match=a&match_Exact=b",
    ] {
        assert_eq!(
            get(&server, &format!("{HUB}?{query}"), "").status,
            400,
            "{query}"
        );
    }
    let too_many: Vec<String> = (0..65).map(|n| format!("match=t{n}")).collect();
    assert_eq!(
        get(&server, &format!("{HUB}?{}", too_many.join("&")), "").status,
        400
    );
}

#[test]
fn mercure_topics_are_a_namespace_of_their_own() {
    let server = TestServer::start(config());
    let mut mercure = subscribed(&server, "match=news", "");
    let mut own = StreamReader::open(&server, "/subscribe?topic=news", "");
    assert_eq!(
        server
            .exchange("POST /publish?topic=news HTTP/1.1\r\nHost: test\r\nContent-Length: 4\r\nConnection: close\r\n\r\nown!")
            .status,
        202
    );
    assert_eq!(
        publish(&server, &bearer(&publisher()), "topic=news&data=mercure").status,
        200
    );
    assert_eq!(mercure.events(1)[0].data, "mercure");
    assert_eq!(own.events(1)[0].data, "own!");
    // One more of each: neither saw the other's.
    assert_eq!(
        publish(&server, &bearer(&publisher()), "topic=news&data=m2").status,
        200
    );
    assert_eq!(
        mercure
            .events(2)
            .iter()
            .map(|event| event.data.as_str())
            .collect::<Vec<_>>(),
        ["mercure", "m2"]
    );
    assert_eq!(own.parsed().events.len(), 1);
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
    let server = TestServer::start(config());
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
fn a_cookie_publish_must_come_from_our_own_page() {
    let server = TestServer::start(config());
    let cookie = format!("Cookie: {COOKIE}={}\r\n", publisher());
    assert_eq!(publish(&server, &cookie, "topic=a").status, 403);
    assert_eq!(
        publish(
            &server,
            &format!("{cookie}Origin: https://evil.test\r\n"),
            "topic=a"
        )
        .status,
        403
    );
    assert_eq!(
        publish(
            &server,
            &format!("{cookie}Origin: http://test\r\n"),
            "topic=a"
        )
        .status,
        200
    );
    // The header wins over the cookie, and then no page check applies.
    let both = format!("{cookie}{}", bearer(&publisher()));
    assert_eq!(publish(&server, &both, "topic=a").status, 200);
}

#[test]
fn the_metadata_tells_a_client_what_aud_and_cookie_to_use() {
    let server = TestServer::start(config());
    let metadata = get(
        &server,
        "/.well-known/oauth-protected-resource/.well-known/mercure",
        "",
    );
    assert_eq!(metadata.status, 200);
    assert_eq!(metadata.header("content-type"), Some("application/json"));
    let body = metadata.body_text();
    assert!(
        body.contains(r#""resource":"https://localhost/.well-known/mercure""#),
        "{body}"
    );
    assert!(
        body.contains(&format!(r#""mercure_cookie":"{COOKIE}""#)),
        "{body}"
    );
}

#[test]
fn the_hub_answers_options_and_refuses_other_methods() {
    let server = TestServer::start(config());
    let options = server.exchange(&format!(
        "OPTIONS {HUB} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(options.status, 204);
    assert_eq!(options.header("allow"), Some("GET, HEAD, POST, OPTIONS"));
    let delete = server.exchange(&format!(
        "DELETE {HUB} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(delete.status, 405);
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
