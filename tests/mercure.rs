//! The Mercure hub end to end, over real sockets: publishing, tokens and the answers
//! to each failure, the checks the spec gives, the namespace apart from `/subscribe`,
//! the metadata. (Tokens here are signed with the project's HMAC;
//! `tests/e2e/mercure.test.mjs` proves the same with tokens from the npm `jsonwebtoken`
//! package and clients nobody on the project wrote.) `tests/mercure_streams.rs` has the
//! subscribers' side.

mod support;

use support::mercure::{
    COOKIE, HUB, bearer, challenge, config, get, publish, publisher, sign, subscribed, token,
};
use support::{StreamReader, TestServer};

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

/// The second attacker's review: Mallory, who may publish only to her own topic,
/// supplied the id of a public update. Held after the original was gone, her copy would
/// have made everyone resuming from the original skip what came between, untold. A
/// supplied id that is held, or was lately, is replaced by a generated one (the spec
/// lets a hub ignore a supplied id), and the answer's body says which.
#[test]
fn a_publisher_cannot_take_another_updates_id() {
    let server = TestServer::start(config());
    let news = "topic=https%3A%2F%2Fexample.com%2Fnews";
    let original = publish(&server, &bearer(&publisher()), &format!("{news}&id=news-1"));
    assert_eq!(original.body_text(), "news-1");
    let mallory = token(r#""publish""#, &["https://example.com/users/mallory/x"], 60);
    let mine = "topic=https%3A%2F%2Fexample.com%2Fusers%2Fmallory%2Fx";
    let copy = publish(&server, &bearer(&mallory), &format!("{mine}&id=news-1"));
    assert_eq!(copy.status, 200, "{}", copy.body_text());
    assert!(
        copy.body_text().starts_with("urn:uuid:"),
        "{}",
        copy.body_text()
    );
    // An id nobody holds is the publisher's to choose.
    let fresh = publish(&server, &bearer(&mallory), &format!("{mine}&id=mine-1"));
    assert_eq!(fresh.body_text(), "mine-1");
}
