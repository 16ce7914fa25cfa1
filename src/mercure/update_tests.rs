use super::*;

fn hub() -> HubUrl {
    HubUrl::parse("https://localhost/.well-known/mercure").unwrap()
}

fn read(body: &str) -> Result<PublishForm, FormError> {
    read_form(body, &hub())
}

fn invalid(body: &str) -> bool {
    matches!(read(body), Err(FormError::Invalid(_)))
}

#[test]
fn a_full_form_reads_and_encodes_as_one_event() {
    let form = read(
        "topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&topic=alt&data=one%0D%0Atwo%0Aid%3A+x\
         &private=&id=urn%3Aa&type=book&retry=5000&unknown=1",
    )
    .unwrap();
    assert_eq!(form.topics, vec!["https://example.com/books/1", "alt"]);
    assert!(form.private);
    let update = Update::new(&form, form.id.clone().unwrap());
    assert_eq!(
        std::str::from_utf8(&update.encoded).unwrap(),
        "id: urn:a\nevent: book\ndata: one\ndata: two\ndata: id: x\nretry: 5000\n\n"
    );
}

#[test]
fn private_is_presence_and_empty_fields_mean_none() {
    assert!(!read("topic=a").unwrap().private);
    assert!(read("topic=a&private").unwrap().private);
    assert!(read("topic=a&private=false").unwrap().private);
    let form = read("topic=a&id=&type=").unwrap();
    assert_eq!((form.id, form.event_type), (None, None));
}

#[test]
fn the_spec_checks_give_400() {
    for body in [
        "data=no+topic",
        "topic=*",
        "topic=a%0Ab",
        "topic=%E2%80%8B",
        "topic=a&topic=%2F.well-known%2Fmercure%2Fsubscriptions%2Fx",
        "topic=https%3A%2F%2Fhub%2F.well-known%2F%256Dercure",
        "topic=a&id=%23frag",
        "topic=a&id=earliest",
        "topic=a&id=a%0Db",
        "topic=a&id=%C2%85",
        "topic=a&id=a%E2%80%A8b",
        "topic=a&id=a%E2%80%A9b",
        "topic=a&type=a%E2%80%A8b",
        "topic=a&retry=2147483648",
        "topic=a&retry=123456789012345678901234567890",
        "topic=a&type=mercure",
        "topic=a&type=x%0Aid%3A1",
        "topic=a&retry=1.5",
        "topic=a&retry=-1",
        "topic=a&retry=",
        "topic=%FF",
    ] {
        assert!(invalid(body), "{body}");
    }
}

#[test]
fn the_longest_retry_a_browser_timer_holds_passes_unchanged() {
    let form = read("topic=a&retry=0002147483647").unwrap();
    assert_eq!(form.retry, Some(MAX_RETRY_MS));
}

#[test]
fn limits_give_413() {
    let many: Vec<String> = (0..=MAX_TOPICS).map(|n| format!("topic=t{n}")).collect();
    assert!(matches!(read(&many.join("&")), Err(FormError::TooLarge(_))));
    let long = format!("topic={}", "a".repeat(MAX_FIELD_BYTES + 1));
    assert!(matches!(read(&long), Err(FormError::TooLarge(_))));
}
