use super::*;

const SECRET: &[u8] = b"a-secret-of-at-least-32-bytes-long!";
const NOW: i64 = 1_800_000_000;

/// A token with `header` and `claims` as given (any algorithm it claims), signed with
/// HS256 under `SECRET`.
fn forge(header: &str, claims: &str) -> String {
    let signed = format!(
        "{}.{}",
        base64url::encode(header.as_bytes()),
        base64url::encode(claims.as_bytes())
    );
    let signature = base64url::encode(&hmac_sha256(SECRET, signed.as_bytes()));
    format!("{signed}.{signature}")
}

fn claims_expiring_at(exp: i64) -> String {
    format!(r#"{{"sub":"alice","exp":{exp},"subscribe":["users/{{sub}}/*"],"publish":["chat"]}}"#)
}

/// RFC 7515 appendix A.1: the HS256 example, with its key from the JWK in A.1.1.
#[test]
fn rfc_7515_appendix_a1() {
    let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9\
                 .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
                 .dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let key = base64url::decode(
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
    )
    .unwrap();
    let claims = verify(token, &key, 1_300_819_380 - 60).unwrap();
    assert_eq!(claims.expires_at, 1_300_819_380);
    assert_eq!(claims.subject, None);
    assert!(claims.subscribe.is_empty() && claims.publish.is_empty());
    // The same token today: long expired.
    assert_eq!(verify(token, &key, NOW), Err(TokenError::Expired));
    // Any other key: the signature no longer matches.
    assert_eq!(
        verify(token, SECRET, 1_300_819_380 - 60),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn minted_tokens_verify_and_carry_their_claims() {
    let token = sign(&claims_expiring_at(NOW + 60), SECRET);
    let claims = verify(&token, SECRET, NOW).unwrap();
    assert_eq!(claims.subject.as_deref(), Some("alice"));
    assert_eq!(claims.expires_at, NOW + 60);
    assert!(claims.subscribe[0].matches("users/alice/inbox", Some("alice")));
    assert!(claims.publish[0].matches("chat", None));
}

#[test]
fn only_hs256_is_accepted() {
    let claims = claims_expiring_at(NOW + 60);
    for header in [
        r#"{"alg":"none"}"#,
        r#"{"alg":"HS512","typ":"JWT"}"#,
        r#"{"alg":"RS256"}"#,
        r#"{"alg":"hs256"}"#,
        r#"{"alg":"HS256","typ":"JOSE+JSON"}"#,
        r#"{"alg":"HS256","crit":["exp"]}"#,
    ] {
        assert!(
            matches!(
                verify(&forge(header, &claims), SECRET, NOW),
                Err(TokenError::AlgorithmRefused(_))
            ),
            "{header}"
        );
    }
    // `alg: none` with an empty signature, the classic attack, is refused too.
    let unsigned = format!(
        "{}.{}.",
        base64url::encode(br#"{"alg":"none"}"#),
        base64url::encode(claims.as_bytes())
    );
    assert!(matches!(
        verify(&unsigned, SECRET, NOW),
        Err(TokenError::AlgorithmRefused(_))
    ));
    for header in [r#"{"typ":"JWT"}"#, r#"{"alg":256}"#] {
        assert!(matches!(
            verify(&forge(header, &claims), SECRET, NOW),
            Err(TokenError::Malformed(_))
        ));
    }
    assert!(
        verify(
            &forge(r#"{"alg":"HS256","typ":"jwt"}"#, &claims),
            SECRET,
            NOW
        )
        .is_ok()
    );
}

#[test]
fn an_altered_token_fails_its_signature() {
    let token = sign(&claims_expiring_at(NOW + 60), SECRET);
    let parts: Vec<&str> = token.split('.').collect();
    let widened = base64url::encode(
        format!(r#"{{"sub":"alice","exp":{},"subscribe":["*"]}}"#, NOW + 60).as_bytes(),
    );
    let altered = format!("{}.{widened}.{}", parts[0], parts[2]);
    assert_eq!(verify(&altered, SECRET, NOW), Err(TokenError::BadSignature));
    let short_signature = format!("{}.{}.{}", parts[0], parts[1], &parts[2][..20]);
    assert_eq!(
        verify(&short_signature, SECRET, NOW),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn expiry_and_not_before_with_leeway() {
    let at = |exp: i64| sign(&claims_expiring_at(exp), SECRET);
    assert!(verify(&at(NOW - LEEWAY_SECS), SECRET, NOW).is_ok());
    assert_eq!(
        verify(&at(NOW - LEEWAY_SECS - 1), SECRET, NOW),
        Err(TokenError::Expired)
    );
    let not_before = |nbf: i64| sign(&format!(r#"{{"exp":{},"nbf":{nbf}}}"#, NOW + 600), SECRET);
    assert!(verify(&not_before(NOW + LEEWAY_SECS), SECRET, NOW).is_ok());
    assert_eq!(
        verify(&not_before(NOW + LEEWAY_SECS + 1), SECRET, NOW),
        Err(TokenError::NotYetValid)
    );
    // A fractional NumericDate is allowed (RFC 7519 section 2).
    let fractional = sign(&format!(r#"{{"exp":{}.75}}"#, NOW + 1), SECRET);
    assert_eq!(
        verify(&fractional, SECRET, NOW).unwrap().expires_at,
        NOW + 1
    );
}

#[test]
fn malformed_tokens_and_claims() {
    let malformed =
        |token: &str| matches!(verify(token, SECRET, NOW), Err(TokenError::Malformed(_)));
    assert!(malformed(""));
    assert!(malformed("abc"));
    assert!(malformed("a.b"));
    assert!(malformed("a.b.c.d"));
    assert!(malformed("!!!.e30.e30"));
    let token = sign(&claims_expiring_at(NOW + 60), SECRET);
    assert!(malformed(&format!("{token}=")));
    for claims in [
        r#"{"sub":"alice"}"#.to_string(),
        r#"{"exp":"tomorrow"}"#.to_string(),
        format!(r#"{{"exp":{},"sub":7}}"#, NOW + 60),
        format!(r#"{{"exp":{},"subscribe":"news"}}"#, NOW + 60),
        format!(r#"{{"exp":{},"subscribe":[7]}}"#, NOW + 60),
        format!(r#"{{"exp":{},"publish":["a*b"]}}"#, NOW + 60),
        format!(r#"{{"exp":{},"exp":{}}}"#, NOW + 60, NOW + 60),
        "[1,2]".to_string(),
        "{".to_string(),
    ] {
        assert!(malformed(&sign(&claims, SECRET)), "{claims}");
    }
    // Unknown claims are ignored.
    let extra = sign(
        &format!(r#"{{"exp":{},"iss":"app","x":[{{}}]}}"#, NOW + 60),
        SECRET,
    );
    assert!(verify(&extra, SECRET, NOW).is_ok());
}

#[test]
fn refusals_never_repeat_the_token() {
    let token = sign(&claims_expiring_at(NOW - 3600), SECRET);
    for candidate in [token.clone(), format!("{token}x"), token.replace('.', "")] {
        if let Err(error) = verify(&candidate, SECRET, NOW) {
            let text = error.to_string();
            for part in candidate.split('.').filter(|part| part.len() > 4) {
                assert!(!text.contains(part), "{text}");
            }
        }
    }
}
