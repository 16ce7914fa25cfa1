use super::*;
use crate::http::version::Version;

fn parse(head: &str) -> Result<Request, HttpError> {
    parse_head(head.as_bytes())
}

fn rejected(head: &str) -> u16 {
    match parse(head) {
        Ok(request) => panic!("accepted {head:?} as {request:?}"),
        Err(error) => error.status().code(),
    }
}

/// Feeds `head` to a scanner in fragments of `size` bytes, as a socket might.
fn scan_in_fragments(
    head: &[u8],
    size: usize,
    config: &Config,
) -> Result<Option<usize>, HttpError> {
    let mut scanner = HeadScanner::default();
    let mut received = Vec::new();
    for fragment in head.chunks(size) {
        received.extend_from_slice(fragment);
        if let Some(length) = scanner.scan(&received, config)? {
            return Ok(Some(length));
        }
    }
    Ok(None)
}

#[test]
fn parses_a_curl_request() {
    let request = parse("GET /events?x=1 HTTP/1.1\r\nHost: localhost:5000\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n").unwrap();
    assert_eq!(request.method, "GET");
    assert_eq!(request.path, "/events");
    assert_eq!(request.query.as_deref(), Some("x=1"));
    assert_eq!(request.version, Version::Http11);
    assert_eq!(request.header("user-agent"), Some("curl/8"));
    assert_eq!(request.content_length, None);
    assert!(request.wants_keep_alive());
}

#[test]
fn head_split_into_any_fragments_is_found_at_its_end() {
    let head = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nrest-of-body";
    for size in 1..head.len() {
        let found = scan_in_fragments(head, size, &Config::default()).unwrap();
        assert_eq!(
            found,
            Some(head.len() - "rest-of-body".len()),
            "fragment size {size}"
        );
    }
}

#[test]
fn scanner_enforces_size_and_line_limits() {
    let config = Config {
        max_head_bytes: 64,
        max_header_lines: 3,
        ..Config::default()
    };
    let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(100));
    assert!(matches!(
        scan_in_fragments(long.as_bytes(), 7, &config),
        Err(HttpError::HeaderFieldsTooLarge(_))
    ));
    let many = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
    assert!(matches!(
        scan_in_fragments(many.as_bytes(), 5, &config),
        Err(HttpError::HeaderFieldsTooLarge(_))
    ));
    let fine = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    assert!(
        scan_in_fragments(fine.as_bytes(), 5, &config)
            .unwrap()
            .is_some()
    );
}

#[test]
fn scanner_refuses_bare_lf_and_nul() {
    let config = Config::default();
    assert!(matches!(
        scan_in_fragments(b"GET / HTTP/1.1\nHost: a\n\n", 4, &config),
        Err(HttpError::BadRequest(_))
    ));
    assert!(matches!(
        scan_in_fragments(b"GET /\0 HTTP/1.1\r\n", 4, &config),
        Err(HttpError::BadRequest(_))
    ));
}

#[test]
fn http_1_0_needs_no_host_and_does_not_keep_alive() {
    let request = parse("GET / HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(request.version, Version::Http10);
    assert!(!request.wants_keep_alive());
    let close = parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n").unwrap();
    assert!(!close.wants_keep_alive());
}

#[test]
fn absolute_and_asterisk_targets() {
    let absolute = parse("GET http://localhost:5000/stats?a HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert_eq!(
        (absolute.path.as_str(), absolute.query.as_deref()),
        ("/stats", Some("a"))
    );
    let bare = parse("GET HTTP://example.test HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert_eq!(bare.path, "/");
    assert_eq!(
        parse("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n").unwrap().path,
        "*"
    );
    assert_eq!(rejected("GET * HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
    assert_eq!(rejected("GET stats HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
}

#[test]
fn malformed_request_lines_are_400_and_other_versions_505() {
    assert_eq!(rejected("GET /\r\n\r\n"), 400);
    assert_eq!(rejected("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    assert_eq!(rejected("G(T / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    assert_eq!(rejected("GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n"), 400);
    assert_eq!(rejected("GET / FTP/1.1\r\nHost: a\r\n\r\n"), 400);
    assert_eq!(rejected("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
    assert_eq!(rejected("GET / HTTP/3\r\nHost: a\r\n\r\n"), 505);
    assert_eq!(
        parse("GET / HTTP/1.9\r\nHost: a\r\n\r\n").unwrap().version,
        Version::Http11
    );
}

#[test]
fn malformed_headers_are_400() {
    assert_eq!(
        rejected("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n"),
        400
    );
    assert_eq!(
        rejected("GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n"),
        400
    );
    assert_eq!(rejected("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400);
    assert_eq!(
        rejected("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n"),
        400
    );
    assert_eq!(
        rejected("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n"),
        400
    );
    assert_eq!(rejected("GET / HTTP/1.1\r\n\r\n"), 400);
    assert_eq!(
        rejected("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        400
    );
}

#[test]
fn smuggling_shapes_are_refused() {
    let cl = |values: &str| format!("POST /publish HTTP/1.1\r\nHost: a\r\n{values}\r\n\r\n");
    assert_eq!(rejected(&cl("Content-Length: 5\r\nContent-Length: 6")), 400);
    assert_eq!(rejected(&cl("Content-Length: 5, 6")), 400);
    assert_eq!(rejected(&cl("Content-Length: -1")), 400);
    assert_eq!(rejected(&cl("Content-Length: +5")), 400);
    assert_eq!(
        rejected(&cl("Content-Length: 99999999999999999999999")),
        400
    );
    assert_eq!(
        rejected(&cl("Transfer-Encoding: chunked\r\nContent-Length: 5")),
        400
    );
    assert_eq!(rejected(&cl("Transfer-Encoding: chunked")), 501);
    assert_eq!(
        parse(&cl("Content-Length: 5\r\nContent-Length: 5"))
            .unwrap()
            .content_length,
        Some(5)
    );
}

#[test]
fn only_spaces_and_tabs_surround_a_value() {
    // RFC 9110 section 5.5: optional whitespace is SP and HTAB. A form feed or a
    // vertical tab around a Content-Length must not be read past, nor a no-break
    // space (obs-text) beside a list item.
    let cl = |value: &str| {
        format!("POST /publish HTTP/1.1\r\nHost: a\r\nContent-Length:{value}\r\n\r\n")
    };
    for value in [
        "\x0c5",
        "5\x0c",
        " \x0b5",
        "\x0c 5",
        " 5\u{a0}",
        " 5,\u{a0}5",
    ] {
        assert_eq!(rejected(&cl(value)), 400, "{value:?}");
    }
    assert_eq!(rejected("GET / HTTP/1.1\r\nHost:\x0ca\r\n\r\n"), 400);
    for value in ["5", " 5", "\t5\t", " \t5 \t", " 5 , 5"] {
        assert_eq!(
            parse(&cl(value)).unwrap().content_length,
            Some(5),
            "{value:?}"
        );
    }
    let spaced = parse("GET / HTTP/1.1\r\nHost: \t a b \t\r\n\r\n").unwrap();
    assert_eq!(spaced.header("host"), Some("a b"));
}
