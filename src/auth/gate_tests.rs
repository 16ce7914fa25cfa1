use super::*;
use crate::http::head::parse_head;
use crate::pubsub::topic::check_topic_name;

const SECRET: &str = "test-secret-test-secret-test-secret";

fn config(public: &[&str]) -> Config {
    Config {
        auth_secret: Some(Secret::new(SECRET)),
        public_topics: public.iter().map(|p| Pattern::parse(p).unwrap()).collect(),
        ..Config::default()
    }
}

fn token(claims: &str) -> String {
    jwt::sign(claims, SECRET.as_bytes())
}

fn alice() -> String {
    token(&format!(
        r#"{{"sub":"alice","exp":{},"subscribe":["users/{{sub}}/*","news"],"publish":["chat/*"]}}"#,
        unix_now() + 60
    ))
}

fn request(target: &str, headers: &str) -> Request {
    parse_head(format!("GET {target} HTTP/1.1\r\nHost: x\r\n{headers}\r\n").as_bytes()).unwrap()
}

fn topics(names: &[&str]) -> Vec<TopicName> {
    names
        .iter()
        .map(|name| check_topic_name(name).unwrap())
        .collect()
}

fn status(result: Result<impl std::fmt::Debug, HttpError>) -> u16 {
    match result {
        Ok(_) => 200,
        Err(error) => error.status().code(),
    }
}

#[test]
fn without_a_secret_everything_is_open() {
    let open = Config::default();
    let request = request("/subscribe?topic=users/bob/inbox", "");
    assert_eq!(
        check_subscribe(&request, &topics(&["users/bob/inbox"]), &open),
        Ok(None)
    );
    assert_eq!(
        check_publish(&request, &topics(&["anything"]), &open, CookieUse::Honoured),
        Ok(())
    );
}

#[test]
fn the_token_is_found_in_the_header_the_cookie_or_the_query() {
    let config = config(&[]);
    let wanted = topics(&["users/alice/inbox"]);
    let token = alice();
    for request in [
        request("/subscribe", &format!("Authorization: Bearer {token}\r\n")),
        request("/subscribe", &format!("authorization: bearer {token}\r\n")),
        request("/subscribe", &format!("Cookie: a=b; sse_token={token}\r\n")),
        request(&format!("/subscribe?token={token}"), ""),
    ] {
        let valid_until = check_subscribe(&request, &wanted, &config).unwrap();
        assert!(valid_until.is_some_and(|until| until > SystemTime::now()));
    }
}

#[test]
fn public_topics_need_no_token_and_private_ones_do() {
    let config = config(&["lobby", "public/*"]);
    let anonymous = request("/subscribe", "");
    assert_eq!(
        check_subscribe(&anonymous, &topics(&["lobby", "public/x"]), &config),
        Ok(None)
    );
    let refused = check_subscribe(&anonymous, &topics(&["lobby", "news"]), &config).unwrap_err();
    assert_eq!(refused.status().code(), 401);
    assert!(
        refused
            .to_response()
            .headers
            .contains(&("WWW-Authenticate", "Bearer".into()))
    );
    assert!(
        refused.detail().contains("\"news\""),
        "{}",
        refused.detail()
    );
    // Publishing always needs a token, even to a public topic.
    assert_eq!(
        status(check_publish(
            &anonymous,
            &topics(&["lobby"]),
            &config,
            CookieUse::Honoured
        )),
        401
    );
}

#[test]
fn a_bad_token_is_401_with_invalid_token_and_a_narrow_one_403() {
    let config = config(&[]);
    let with = |token: &str| request("/subscribe", &format!("Authorization: Bearer {token}\r\n"));
    let expired = token(&format!(
        r#"{{"exp":{},"subscribe":["*"]}}"#,
        unix_now() - 60
    ));
    let other_secret = jwt::sign(
        &format!(r#"{{"exp":{},"subscribe":["*"]}}"#, unix_now() + 60),
        b"another-secret-another-secret-another",
    );
    for bad in [
        expired.as_str(),
        other_secret.as_str(),
        "not.a.token",
        "garbage",
    ] {
        let error = check_subscribe(&with(bad), &topics(&["news"]), &config).unwrap_err();
        assert_eq!(error.status().code(), 401);
        assert!(
            error
                .to_response()
                .headers
                .contains(&("WWW-Authenticate", "Bearer error=\"invalid_token\"".into()))
        );
        assert!(!error.detail().contains(bad), "{}", error.detail());
    }
    let alice = with(&alice());
    let forbidden = check_subscribe(&alice, &topics(&["news", "users/bob/inbox"]), &config);
    assert_eq!(
        forbidden,
        Err(HttpError::Forbidden(
            "the token does not allow you to follow topic \"users/bob/inbox\"".into()
        ))
    );
    assert_eq!(
        status(check_publish(
            &alice,
            &topics(&["chat/a", "chat/b"]),
            &config,
            CookieUse::Honoured
        )),
        200
    );
    assert_eq!(
        status(check_publish(
            &alice,
            &topics(&["chat/a", "news"]),
            &config,
            CookieUse::Honoured
        )),
        403
    );
}

#[test]
fn the_shared_publish_token_still_works_without_a_secret() {
    let config = Config {
        token: Some(Secret::new("s3cret")),
        ..Config::default()
    };
    let publish = |headers: &str| {
        check_publish(
            &request("/publish", headers),
            &topics(&["a"]),
            &config,
            CookieUse::Honoured,
        )
    };
    assert_eq!(publish("Authorization: Bearer s3cret\r\n"), Ok(()));
    assert_eq!(publish("Authorization: bearer s3cret\r\n"), Ok(()));
    let wrong = publish("Authorization: Bearer s3cre\r\n").unwrap_err();
    assert_eq!(wrong.status().code(), 401);
    assert!(
        wrong
            .to_response()
            .headers
            .contains(&("WWW-Authenticate", "Bearer error=\"invalid_token\"".into()))
    );
    assert_eq!(status(publish("Authorization: Basic s3cret\r\n")), 401);
    assert_eq!(status(publish("")), 401);
}

#[test]
fn a_subject_with_a_slash_is_refused_for_sub_patterns() {
    // `docs/topics.md`'s pattern, and a subject that reaches one level further down.
    let config = config(&[]);
    let bob = |subject: &str| {
        token(&format!(
            r#"{{"sub":"{subject}","exp":{},"subscribe":["users/{{sub}}/*"]}}"#,
            unix_now() + 60
        ))
    };
    let follow = |token: String, topic: &str| {
        let request = request("/subscribe", &format!("Authorization: Bearer {token}\r\n"));
        status(check_subscribe(&request, &topics(&[topic]), &config))
    };
    assert_eq!(follow(bob("bob"), "users/bob/private/feed"), 200);
    assert_eq!(follow(bob("bob/private"), "users/bob/private/feed"), 403);
    assert_eq!(follow(bob("bob/private"), "users/bob/private/x"), 403);
    assert_eq!(follow(bob("bob*"), "users/bob/feed"), 403);
}

#[test]
fn a_refused_cookie_never_authorizes_a_publish() {
    // A page on another origin under `--allow-origin '*'`: the visitor's cookie is
    // refused (403), a token the page sends itself is not.
    let config = config(&[]);
    let wanted = topics(&["users/alice/inbox"]);
    let token = alice_publisher();
    let publish = |headers: &str, cookie: CookieUse| {
        status(check_publish(
            &request("/publish", headers),
            &wanted,
            &config,
            cookie,
        ))
    };
    let cookie = format!("Cookie: sse_token={token}\r\n");
    assert_eq!(publish(&cookie, CookieUse::Honoured), 200);
    assert_eq!(publish(&cookie, CookieUse::Refused), 403);
    let header = format!("Authorization: Bearer {token}\r\n");
    assert_eq!(publish(&header, CookieUse::Refused), 200);
    assert_eq!(
        publish(&format!("{header}{cookie}"), CookieUse::Refused),
        200
    );
    assert_eq!(publish("", CookieUse::Refused), 401);
    // Reading with the cookie is another matter: CORS decides who may read.
    let follow = request("/subscribe", &cookie);
    assert!(check_subscribe(&follow, &wanted, &config).is_ok());
}

fn alice_publisher() -> String {
    token(&format!(
        r#"{{"sub":"alice","exp":{},"subscribe":["users/{{sub}}/*"],"publish":["users/{{sub}}/*"]}}"#,
        unix_now() + 60
    ))
}
