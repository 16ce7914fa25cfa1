//! The Rust side of the URL Pattern differential test (`tests/e2e/urlpattern.test.mjs`):
//! reads one JSON array `[base, pattern, url]` per line on stdin and answers one line
//! per question on stdout: the answer, then (after a tab, shown as `→` below) the reason
//! when there is one:
//!
//! ```text
//! ["https://localhost/.well-known/mercure", "/books/:id", "/books/1"]
//! match
//! ["https://localhost/.well-known/mercure", "/books/:id(\\d+)", "/books/1"]
//! refused → regexp groups are not supported: (\d+)
//! ```
//!
//! `match` and `no-match` answer the question; `refused` is a regexp group this
//! implementation declines (the test counts these apart); `error` is a pattern that is
//! malformed, where Chromium's `new URLPattern()` must throw too. A URL that does not
//! parse is `no-match`, as the Mercure spec says.
//!
//! Not a route of the server: only the test runs it (built by `make e2e`).

use std::io::{self, BufRead, Write};

use sse_server::auth::json::{self, Value};
use sse_server::mercure::url::Url;
use sse_server::mercure::urlpattern::UrlPattern;

fn main() -> io::Result<()> {
    let stdin = io::stdin();
    let mut out = io::BufWriter::new(io::stdout().lock());
    for line in stdin.lock().lines() {
        let answer = answer(&line?);
        writeln!(out, "{answer}")?;
    }
    out.flush()
}

/// The answer line for one question line.
fn answer(line: &str) -> String {
    let strings = match json::parse(line) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(text) => Some(text),
                _ => None,
            })
            .collect::<Option<Vec<_>>>(),
        _ => None,
    };
    let Some([base, pattern, url]) = strings.as_deref() else {
        return "bad-question\texpected [base, pattern, url]".to_string();
    };
    let Some(base) = Url::parse(base, None) else {
        return "bad-question\tthe base does not parse".to_string();
    };
    match UrlPattern::parse(pattern, &base) {
        Err(error) if error.is_unsupported() => {
            format!("refused\t{}", error.reason())
        }
        Err(error) => format!("error\t{}", error.reason()),
        Ok(pattern) => {
            let matched = Url::parse(url, Some(&base)).is_some_and(|url| pattern.matches(&url));
            if matched { "match" } else { "no-match" }.to_string()
        }
    }
}
