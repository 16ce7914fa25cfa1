use super::*;
use crate::auth::base64url;
use crate::auth::hmac::hmac_sha256;

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
const NOW: i64 = 1_800_000_000;

fn hub() -> HubUrl {
    HubUrl::parse("https://localhost/.well-known/mercure").unwrap()
}

fn sign(header: &str, claims: &str, key: &[u8]) -> String {
    let mut token = base64url::encode(header.as_bytes());
    token.push('.');
    token.push_str(&base64url::encode(claims.as_bytes()));
    let signature = hmac_sha256(key, token.as_bytes());
    token.push('.');
    token.push_str(&base64url::encode(&signature));
    token
}

fn claims(details: &str) -> String {
    format!(
        r#"{{"iss":"https://localhost","aud":["x","https://localhost/.well-known/mercure"],"exp":{},"sub":"s","authorization_details":{details}}}"#,
        NOW + 60
    )
}

const AT_JWT: &str = r#"{"alg":"HS256","typ":"at+jwt"}"#;

fn check(header: &str, claims: &str) -> Result<Access, String> {
    let hub = hub();
    let rules = TokenRules {
        key: KEY,
        issuer: "https://localhost",
        resource: "https://localhost/.well-known/mercure",
        hub: &hub,
    };
    verify(&sign(header, claims, KEY), &rules, NOW)
}

const BOOKS: &str = r#"[{"type":"https://mercure.rocks/authorization-detail","actions":["subscribe","publish","future"],"topics":[{"match":"https://example.com/books/1"},{"match":"b","match_type":"exact"}],"payload":{"n":1,"s":"x"}}]"#;

#[test]
fn a_good_token_grants_what_its_details_say() {
    let access = check(AT_JWT, &claims(BOOKS)).unwrap();
    assert!(access.may_publish("https://example.com/books/1"));
    assert!(access.may_publish("b"));
    assert!(!access.may_publish("https://example.com/books/2"));
    assert!(access.may_read_any(&["x".into(), "b".into()]));
    assert!(!access.may_read_any(&["x".into()]));
    assert_eq!(access.payload_for("b"), Some(r#"{"n":1,"s":"x"}"#));
    assert_eq!(access.payload_for("c"), None);
    assert_eq!(access.expires_at, NOW + 60);
    let typ = r#"{"alg":"HS256","typ":"application/AT+JWT"}"#;
    assert!(
        check(typ, &claims(BOOKS)).is_ok(),
        "typ is case-insensitive"
    );
}

#[test]
fn the_header_is_checked_before_anything_else() {
    for header in [
        r#"{"alg":"HS256","typ":"JWT"}"#,
        r#"{"alg":"HS256"}"#,
        r#"{"alg":"none","typ":"at+jwt"}"#,
        r#"{"alg":"RS256","typ":"at+jwt"}"#,
        r#"{"alg":"HS256","typ":"at+jwt","crit":["x"]}"#,
    ] {
        assert!(check(header, &claims(BOOKS)).is_err(), "{header}");
    }
    let hub = hub();
    let rules = TokenRules {
        key: KEY,
        issuer: "https://localhost",
        resource: "https://localhost/.well-known/mercure",
        hub: &hub,
    };
    let other_key = sign(AT_JWT, &claims(BOOKS), b"another key, also thirty-two b..");
    assert!(verify(&other_key, &rules, NOW).is_err());
}

#[test]
fn iss_aud_exp_and_nbf_are_enforced() {
    let aud = "https://localhost/.well-known/mercure";
    let cases = [
        format!(
            r#"{{"iss":"https://evil","aud":"{aud}","exp":{}}}"#,
            NOW + 60
        ),
        format!(r#"{{"aud":"{aud}","exp":{}}}"#, NOW + 60),
        format!(
            r#"{{"iss":"https://localhost","aud":"https://other","exp":{}}}"#,
            NOW + 60
        ),
        format!(r#"{{"iss":"https://localhost","exp":{}}}"#, NOW + 60),
        format!(r#"{{"iss":"https://localhost","aud":"{aud}"}}"#),
        format!(
            r#"{{"iss":"https://localhost","aud":"{aud}","exp":{}}}"#,
            NOW - 60
        ),
        format!(
            r#"{{"iss":"https://localhost","aud":"{aud}","exp":{},"nbf":{}}}"#,
            NOW + 60,
            NOW + 30
        ),
    ];
    for claims in &cases {
        assert!(check(AT_JWT, claims).is_err(), "{claims}");
    }
    let fine = format!(
        r#"{{"iss":"https://localhost","aud":"{aud}","exp":{}}}"#,
        NOW + 60
    );
    let access = check(AT_JWT, &fine).unwrap();
    assert!(!access.may_publish("a") && !access.may_read_any(&["a".into()]));
}

#[test]
fn one_bad_detail_refuses_the_whole_token() {
    let bad = [
        r#"[1]"#,
        r#"[{"actions":["publish"],"topics":[{"match":"a"}]}]"#,
        r#"[{"type":"https://mercure.rocks/authorization-detail","actions":[],"topics":[{"match":"a"}]}]"#,
        r#"[{"type":"https://mercure.rocks/authorization-detail","actions":[1],"topics":[{"match":"a"}]}]"#,
        r#"[{"type":"https://mercure.rocks/authorization-detail","actions":["publish"],"topics":[]}]"#,
        r#"[{"type":"https://mercure.rocks/authorization-detail","actions":["publish"],"topics":["a"]}]"#,
        r#"[{"type":"https://mercure.rocks/authorization-detail","actions":["publish"],"topics":[{"match":"a","match_type":"regexp"}]}]"#,
        r#"[{"type":"https://mercure.rocks/authorization-detail","actions":["publish"],"topics":[{"match":"a","match_type":"Exact"}]}]"#,
        r#"[{"type":"https://mercure.rocks/authorization-detail","actions":["publish"],"topics":[{"match":"a"}],"payload":"x"}]"#,
        r#"{"type":"https://mercure.rocks/authorization-detail"}"#,
    ];
    for details in bad {
        let good_then_bad = format!(
            "[{},{}]",
            &BOOKS[1..BOOKS.len() - 1],
            &details[1..details.len().max(2) - 1]
        );
        assert!(check(AT_JWT, &claims(details)).is_err(), "{details}");
        if details.starts_with('[') {
            assert!(
                check(AT_JWT, &claims(&good_then_bad)).is_err(),
                "{good_then_bad}"
            );
        }
    }
    // Another API's detail is not ours to judge.
    let other = r#"[{"type":"https://example.com/payments","anything":1}]"#;
    assert!(check(AT_JWT, &claims(other)).is_ok());
}

#[test]
fn the_wildcard_grants_every_topic() {
    let all = r#"[{"type":"https://mercure.rocks/authorization-detail","actions":["publish"],"topics":[{"match":"*","match_type":"urlpattern"}]}]"#;
    let access = check(AT_JWT, &claims(all)).unwrap();
    assert!(access.may_publish("anything"));
    assert!(
        !access.may_read_any(&["anything".into()]),
        "publish is not subscribe"
    );
}
