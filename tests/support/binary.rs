//! The real binary as a child process: where it says it listens.

use std::io::{BufRead, BufReader};
use std::process::ChildStderr;

/// Reads the server's log until the line `Server running at http://ADDRESS/` and
/// returns `ADDRESS`; the rest of the log stays in `stderr` for the caller.
pub fn announced_address(stderr: &mut BufReader<ChildStderr>) -> String {
    let mut line = String::new();
    while stderr.read_line(&mut line).expect("read the server's log") > 0 {
        if let Some(rest) = line.split("Server running at http://").nth(1) {
            return rest.trim().trim_end_matches('/').to_string();
        }
        line.clear();
    }
    panic!("the server's log ended before it said where it listens");
}
