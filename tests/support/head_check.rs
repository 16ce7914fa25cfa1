//! The request-head reader's properties, shared by the fuzz target
//! `fuzz/fuzz_targets/request_head.rs` and the regression replay in
//! `tests/fuzz_regressions.rs`. The first input byte picks a fragment size; the rest
//! arrives in fragments of that size, the way a socket might deliver it.

use std::sync::OnceLock;

use sse_server::config::Config;
use sse_server::http::head::{HeadScanner, parse_head};

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| Config {
        max_head_bytes: 2048,
        max_header_lines: 32,
        ..Config::default()
    })
}

/// Scans `bytes` arriving `fragment_size` at a time: the head's length, or why not.
fn scan(bytes: &[u8], fragment_size: usize) -> Result<Option<usize>, String> {
    let mut scanner = HeadScanner::default();
    let mut received = Vec::new();
    for piece in bytes.chunks(fragment_size) {
        received.extend_from_slice(piece);
        match scanner.scan(&received, config()) {
            Ok(Some(length)) => return Ok(Some(length)),
            Ok(None) => {}
            Err(error) => return Err(error.to_string()),
        }
    }
    Ok(None)
}

/// Panics if the reader breaks a property on `input`: it must never panic, find the
/// same head (or refuse for the same reason) whatever the fragment size, never accept
/// a head over the limit, and never accept a request with ambiguous framing or line
/// breaks inside a path or header value.
pub fn check_request_head(input: &[u8]) {
    let Some((&first, bytes)) = input.split_first() else {
        return;
    };
    let fragment_size = usize::from(first % 32) + 1;
    let in_fragments = scan(bytes, fragment_size);
    assert_eq!(
        in_fragments,
        scan(bytes, bytes.len().max(1)),
        "fragment size {fragment_size} changed the result"
    );
    let Ok(Some(head_length)) = in_fragments else {
        return;
    };
    assert!(head_length <= config().max_head_bytes);
    let head = &bytes[..head_length];
    assert!(head.ends_with(b"\r\n\r\n"));
    if let Ok(request) = parse_head(head) {
        assert!(
            request.path.starts_with('/') || request.path == "*",
            "path {:?}",
            request.path
        );
        assert!(
            !request
                .path
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        );
        for (name, value) in &request.headers {
            assert!(
                !name.is_empty() && !value.contains(['\r', '\n', '\0']),
                "header {name:?}: {value:?}"
            );
        }
        // Framing must be unambiguous: no request with Transfer-Encoding is accepted.
        assert!(request.header("transfer-encoding").is_none());
    }
}
