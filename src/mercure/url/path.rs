//! Hierarchical paths (URL Standard, "path state"): `/a/./b/../c` is the segments
//! `["a", "c"]`. Each segment is percent-encoded with the path set; a `.` segment
//! (or `%2e`) names the directory it is in and a `..` its parent, so both are resolved
//! away as the path is read, never kept.

use crate::mercure::url::percent::{EncodeSet, encode_char};

/// The path segments of `text` appended to `segments`, with `.` and `..` resolved
/// (URL Standard "path state"; `%2e` counts as a dot). `special` makes `\` a separator
/// too. Returns the segments and where the path stopped.
pub fn path_segments(
    text: &[char],
    mut segments: Vec<String>,
    special: bool,
    stop_at_query: bool,
) -> (Vec<String>, usize) {
    let mut buffer = String::new();
    let mut index = 0;
    loop {
        let c = text.get(index).copied();
        let is_separator = c == Some('/') || (special && c == Some('\\'));
        let ends_segment =
            c.is_none() || is_separator || (stop_at_query && matches!(c, Some('?' | '#')));
        if !ends_segment {
            if let Some(c) = c {
                encode_char(c, EncodeSet::Path, &mut buffer);
            }
            index += 1;
            continue;
        }
        if is_double_dot(&buffer) {
            segments.pop();
            if !is_separator {
                segments.push(String::new());
            }
        } else if is_single_dot(&buffer) {
            if !is_separator {
                segments.push(String::new());
            }
        } else {
            segments.push(std::mem::take(&mut buffer));
        }
        buffer.clear();
        if !is_separator {
            return (segments, index);
        }
        index += 1;
    }
}

/// `.` or `%2e` (any case): a segment that names the current directory.
fn is_single_dot(segment: &str) -> bool {
    segment == "." || segment.eq_ignore_ascii_case("%2e")
}

/// `..` and its encoded spellings: a segment that names the parent.
fn is_double_dot(segment: &str) -> bool {
    let lower = segment.to_ascii_lowercase();
    matches!(lower.as_str(), ".." | ".%2e" | "%2e." | "%2e%2e")
}
