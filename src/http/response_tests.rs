use super::*;

fn written(response: &Response, persistence: Persistence, head_only: bool) -> String {
    let mut out = Vec::new();
    write_response(&mut out, response, persistence, head_only).expect("Vec never fails");
    String::from_utf8(out).expect("heads are ASCII")
}

#[test]
fn ordinary_response_has_length_and_body() {
    let text = written(
        &Response::text(Status::Ok, "hi\n"),
        Persistence::KeepAlive,
        false,
    );
    assert!(text.starts_with("HTTP/1.1 200 OK\r\nDate: "), "{text}");
    assert!(text.contains("\r\nContent-Length: 3\r\n"), "{text}");
    assert!(!text.contains("Connection:"), "{text}");
    assert!(text.ends_with("\r\n\r\nhi\n"), "{text}");
}

#[test]
fn head_only_keeps_the_length_but_drops_the_body() {
    let text = written(
        &Response::text(Status::Ok, "hi\n"),
        Persistence::Close,
        true,
    );
    assert!(text.contains("Content-Length: 3\r\n"), "{text}");
    assert!(text.ends_with("Connection: close\r\n\r\n"), "{text}");
}

#[test]
fn no_content_has_no_length() {
    let text = written(
        &Response::empty(Status::NoContent),
        Persistence::KeepAlive,
        false,
    );
    assert!(text.starts_with("HTTP/1.1 204 No Content\r\n"), "{text}");
    assert!(!text.contains("Content-Length"), "{text}");
}

#[test]
fn stream_head_is_chunked_for_http_1_1_and_raw_for_1_0() {
    let mut out = Vec::new();
    write_stream_head(
        &mut out,
        "text/event-stream",
        Framing::Chunked,
        &[],
        Some(b"retry: 10\n\n"),
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("Content-Type: text/event-stream\r\n"),
        "{text}"
    );
    assert!(text.contains("Cache-Control: no-cache\r\n"), "{text}");
    assert!(
        text.contains("Access-Control-Allow-Origin: *\r\n"),
        "{text}"
    );
    assert!(text.contains("X-Accel-Buffering: no\r\n"), "{text}");
    assert!(
        text.ends_with(
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nB\r\nretry: 10\n\n\r\n"
        ),
        "{text}"
    );

    let mut out = Vec::new();
    write_stream_head(
        &mut out,
        "text/event-stream",
        Framing::UntilClose,
        &[],
        Some(b"retry: 10\n\n"),
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("Transfer-Encoding"), "{text}");
    assert!(
        text.ends_with("Connection: close\r\n\r\nretry: 10\n\n"),
        "{text}"
    );
}

#[test]
fn the_date_is_an_imf_fixdate() {
    use chrono::TimeZone;
    // RFC 9110 section 5.6.7's own example.
    let mut out = String::new();
    push_http_date(
        &mut out,
        chrono::Utc
            .with_ymd_and_hms(1994, 11, 6, 8, 49, 37)
            .unwrap(),
    );
    assert_eq!(out, "Sun, 06 Nov 1994 08:49:37 GMT");
    let mut out = String::new();
    push_http_date(
        &mut out,
        chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 5).unwrap(),
    );
    assert_eq!(out, "Thu, 01 Jan 2026 00:00:05 GMT");
}
