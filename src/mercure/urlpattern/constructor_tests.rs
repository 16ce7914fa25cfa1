//! The constructor string parser on the shapes a Mercure pattern takes.

use super::*;

fn special(protocol: &str) -> Result<bool, PatternError> {
    Ok(matches!(
        protocol,
        "http" | "https" | "ws" | "wss" | "ftp" | "file"
    ))
}

fn components(input: &str) -> Vec<Option<String>> {
    let init = parse_constructor_string(input, special).unwrap();
    init.components.to_vec()
}

fn some(values: [Option<&str>; 8]) -> Vec<Option<String>> {
    values.iter().map(|v| v.map(str::to_string)).collect()
}

#[test]
fn an_absolute_pattern_is_cut_at_its_separators() {
    assert_eq!(
        components("https://u\\:p@*.example.com:8080/books/:id/?page=:n#top"),
        some([
            Some("https"),
            Some("u"),
            Some("p"),
            Some("*.example.com"),
            Some("8080"),
            Some("/books/:id/"),
            Some("page=:n"),
            Some("top"),
        ])
    );
}

#[test]
fn components_not_reached_stay_absent_and_port_defaults_to_empty() {
    assert_eq!(
        components("https://example.com"),
        some([
            Some("https"),
            None,
            None,
            Some("example.com"),
            Some(""),
            None,
            None,
            None
        ])
    );
    assert_eq!(
        components("https://example.com?q"),
        some([
            Some("https"),
            None,
            None,
            Some("example.com"),
            Some(""),
            Some("/"),
            Some("q"),
            None
        ])
    );
}

#[test]
fn a_colon_or_question_mark_after_a_group_is_syntax_not_a_separator() {
    // `:p` is a group in the username; `?` after `:id` makes it optional.
    assert_eq!(
        components("https://u:p@h/:id?x"),
        some([
            Some("https"),
            Some("u:p"),
            None,
            Some("h"),
            Some(""),
            Some("/:id?x"),
            None,
            None
        ])
    );
    assert_eq!(
        components("/books/:id?"),
        some([
            None,
            None,
            None,
            None,
            None,
            Some("/books/:id?"),
            None,
            None
        ])
    );
    assert_eq!(
        components("?q=1"),
        some([None, None, None, None, None, None, Some("q=1"), None])
    );
}

#[test]
fn a_non_special_scheme_without_slashes_has_an_opaque_path_and_no_host() {
    // An escaped `\:` is still a plain character, so it ends the protocol.
    assert_eq!(
        components("urn\\:isbn\\:*"),
        some([
            Some("urn"),
            None,
            None,
            Some(""),
            Some(""),
            Some("isbn\\:*"),
            None,
            None
        ])
    );
    assert_eq!(
        components("mailto:*@example.com"),
        some([
            Some("mailto"),
            None,
            None,
            Some(""),
            Some(""),
            Some("*@example.com"),
            None,
            None
        ])
    );
}
