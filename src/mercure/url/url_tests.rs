//! Vectors in the spirit of the WPT `urltestdata.json`: input, base, and the URL the
//! standard says comes out (or None).

use super::*;

fn href(input: &str, base: Option<&str>) -> Option<String> {
    let base = base.map(|base| Url::parse(base, None).expect("the base parses"));
    Url::parse(input, base.as_ref()).map(|url| url.to_string())
}

#[test]
fn absolute_urls_are_canonicalized() {
    let cases = [
        (
            "HTTPS://User:Pa ss@ExAmple.COM:443/a/./b/../c?q=1 2#f g",
            "https://User:Pa%20ss@example.com/a/c?q=1%202#f%20g",
        ),
        ("http://example.com:8080", "http://example.com:8080/"),
        ("  http://e.com/\ta\nb  ", "http://e.com/ab"),
        ("https:\\\\e.com\\x\\y", "https://e.com/x/y"),
        ("https:///e.com/x", "https://e.com/x"),
        ("https://e.com/%2e/a/%2E%2e/b", "https://e.com/b"),
        ("https://e.com/é?é#é", "https://e.com/%C3%A9?%C3%A9#%C3%A9"),
        ("https://e.com/a'b?a'b", "https://e.com/a'b?a%27b"),
        ("foo://a'b/a'b?a'b", "foo://a'b/a'b?a'b"),
        (
            "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
            "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
        ),
        ("mailto:Someone@Example.com", "mailto:Someone@Example.com"),
        ("foo:/a/../b", "foo:/b"),
        ("foo:///x", "foo:///x"),
        ("https://a@b@c/", "https://a%40b@c/"),
        ("http://[::1]:80/", "http://[::1]/"),
        ("wss://0x7f.1:0443/", "wss://127.0.0.1/"),
    ];
    for (input, expected) in cases {
        assert_eq!(href(input, None).as_deref(), Some(expected), "{input}");
    }
}

#[test]
fn unparsable_urls_are_none() {
    for input in [
        "",
        "no-scheme",
        "https://",
        "https://e.com:99999/",
        "https://e.com:8a/",
        "https://user@/x",
        "https://exa mple.com/",
        "https://1.2.3.4.5/",
        "foo://:80/",
        "file:///etc/passwd",
        "https://bücher.example/",
    ] {
        assert_eq!(href(input, None), None, "{input:?}");
    }
}

#[test]
fn relative_references_resolve_against_the_base() {
    let base = Some("https://localhost/.well-known/mercure?x#y");
    let cases = [
        ("/books/1", "https://localhost/books/1"),
        ("books/1", "https://localhost/.well-known/books/1"),
        ("../a", "https://localhost/a"),
        ("?page=2", "https://localhost/.well-known/mercure?page=2"),
        ("#top", "https://localhost/.well-known/mercure?x#top"),
        ("", "https://localhost/.well-known/mercure?x"),
        ("//other.example/p", "https://other.example/p"),
        ("https:books", "https://localhost/.well-known/books"),
        ("http:books", "http://books/"),
        ("\\x", "https://localhost/x"),
    ];
    for (input, expected) in cases {
        assert_eq!(href(input, base).as_deref(), Some(expected), "{input}");
    }
    assert_eq!(href("#f", Some("urn:x")).as_deref(), Some("urn:x#f"));
    assert_eq!(href("y", Some("urn:x")), None);
}

#[test]
fn components_are_what_url_pattern_matches() {
    let url = Url::parse("https://u:p@Example.com:8443/a%2Fb/c?q#h", None).unwrap();
    assert_eq!(url.protocol(), "https");
    assert_eq!((url.username(), url.password()), ("u", "p"));
    assert_eq!(url.hostname(), "example.com");
    assert_eq!(url.port(), "8443");
    assert_eq!(url.pathname(), "/a%2Fb/c");
    assert_eq!((url.search(), url.hash()), ("q", "h"));
    let opaque = Url::parse("urn:isbn:123", None).unwrap();
    assert!(opaque.has_opaque_path());
    assert_eq!(
        (opaque.hostname(), opaque.pathname()),
        (String::new(), "isbn:123".to_string())
    );
}
