//! Hosts: what sits between `//` and the port, parsed the way the URL Standard says
//! (section 3, "Hosts (domains and IP addresses)"). A host is a domain (lower-cased), an
//! IPv4 address (written in any of the forms a browser accepts: `0x7f.1`, `2130706433`),
//! an IPv6 address in brackets, or, for a URL whose scheme is not special, an opaque
//! string. Each is written back in one canonical form, so `HTTPS://LocalHost` and
//! `https://localhost` name the same topic.
//!
//! Left out: international domain names. Turning `bücher.example` into its ASCII form
//! takes the Unicode IDNA tables (UTS #46), which a std-only crate does not carry; a host
//! with a code point past ASCII, or a label already in that form (`xn--…`), is refused
//! here, so such a topic never matches a URL pattern (see `docs/mercure.md`).

use crate::mercure::url::percent::{self, EncodeSet};

/// A parsed host, ready to be written back canonically by [`Host::serialize`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// An ASCII domain, lower-cased: `example.com`.
    Domain(String),
    /// An IPv4 address as one number: `127.0.0.1` is `0x7f000001`.
    Ipv4(u32),
    /// An IPv6 address as its eight 16-bit pieces.
    Ipv6([u16; 8]),
    /// The host of a non-special URL (`foo://Some%20Thing/`), percent-encoded, case kept;
    /// may be empty (`foo:///x`).
    Opaque(String),
}

impl Host {
    /// The host as the URL Standard writes it ("host serializer").
    pub fn serialize(&self) -> String {
        match self {
            Host::Domain(domain) | Host::Opaque(domain) => domain.clone(),
            Host::Ipv4(address) => {
                let [a, b, c, d] = address.to_be_bytes();
                format!("{a}.{b}.{c}.{d}")
            }
            Host::Ipv6(pieces) => format!("[{}]", serialize_ipv6(pieces)),
        }
    }
}

/// The "host parser": `input` is the text between the authority's `@` and its port.
/// `special` says whether the URL's scheme is special (`http`, `https`, `ws`, `wss`, `ftp`).
pub fn parse_host(input: &str, special: bool) -> Option<Host> {
    if let Some(inside) = input.strip_prefix('[') {
        return inside
            .strip_suffix(']')
            .and_then(parse_ipv6)
            .map(Host::Ipv6);
    }
    if !special {
        if input.chars().any(is_forbidden_host_code_point) {
            return None;
        }
        return Some(Host::Opaque(percent::encode(input, EncodeSet::C0Control)));
    }
    // A special host is percent-decoded first: `ex%61mple.com` is `example.com`.
    let decoded = String::from_utf8_lossy(&percent::decode(input)).into_owned();
    let domain = domain_to_ascii(&decoded)?;
    if domain.chars().any(is_forbidden_domain_code_point) {
        return None;
    }
    if ends_in_a_number(&domain) {
        return parse_ipv4(&domain).map(Host::Ipv4);
    }
    Some(Host::Domain(domain))
}

/// "domain to ASCII" for the ASCII case only: lower-casing is all UTS #46 does to ASCII.
/// See the module header for what is refused and why.
fn domain_to_ascii(domain: &str) -> Option<String> {
    if domain.is_empty() || !domain.is_ascii() {
        return None;
    }
    let lower = domain.to_ascii_lowercase();
    if lower.split('.').any(|label| label.starts_with("xn--")) {
        return None;
    }
    Some(lower)
}

/// The code points no host may hold (URL Standard, "forbidden host code point").
fn is_forbidden_host_code_point(c: char) -> bool {
    matches!(
        c,
        '\0' | '\t'
            | '\n'
            | '\r'
            | ' '
            | '#'
            | '/'
            | ':'
            | '<'
            | '>'
            | '?'
            | '@'
            | '['
            | '\\'
            | ']'
            | '^'
            | '|'
    )
}

/// A domain may hold none of the above, no control character and no `%`.
fn is_forbidden_domain_code_point(c: char) -> bool {
    is_forbidden_host_code_point(c) || c <= '\u{1f}' || c == '%' || c == '\u{7f}'
}

/// "ends in a number": whether the last label (ignoring one trailing dot) is a number,
/// which makes the whole host an IPv4 address (and `1.2.3.999` an error, not a domain).
fn ends_in_a_number(domain: &str) -> bool {
    let mut labels: Vec<&str> = domain.split('.').collect();
    if labels.last() == Some(&"") {
        if labels.len() == 1 {
            return false;
        }
        labels.pop();
    }
    let last = labels.last().copied().unwrap_or("");
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    parse_ipv4_number(last).is_some()
}

/// One part of an IPv4 address: decimal, `0x` hex, or octal with a leading `0`.
/// None for anything else; a value too large for `u64` counts as too large for IPv4.
fn parse_ipv4_number(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let (digits, radix) = if let Some(hex) = text.strip_prefix("0x").or(text.strip_prefix("0X")) {
        (hex, 16)
    } else if text.len() > 1 && text.starts_with('0') {
        (&text[1..], 8)
    } else {
        (text, 10)
    };
    if digits.is_empty() {
        return Some(0);
    }
    let mut value: u64 = 0;
    for c in digits.chars() {
        let digit = c.to_digit(radix)?;
        value = value
            .saturating_mul(radix as u64)
            .saturating_add(digit as u64);
    }
    Some(value)
}

/// The "IPv4 parser": up to four dotted numbers, the last filling the remaining bytes
/// (`127.1` is `127.0.0.1`).
fn parse_ipv4(domain: &str) -> Option<u32> {
    let mut parts: Vec<&str> = domain.split('.').collect();
    if parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    if parts.len() > 4 {
        return None;
    }
    let numbers: Vec<u64> = parts
        .iter()
        .map(|part| parse_ipv4_number(part))
        .collect::<Option<_>>()?;
    let (last, leading) = numbers.split_last()?;
    if leading.iter().any(|&n| n > 255) || *last >= 256u64.pow(5 - numbers.len() as u32) {
        return None;
    }
    let mut address = *last;
    for (index, &number) in leading.iter().enumerate() {
        address += number << (8 * (3 - index));
    }
    u32::try_from(address).ok()
}

/// The "IPv6 parser": eight hex pieces, one `::` standing for a run of zeros, and an
/// optional dotted IPv4 tail (`::ffff:1.2.3.4`).
fn parse_ipv6(input: &str) -> Option<[u16; 8]> {
    let text: Vec<char> = input.chars().collect();
    let at = |index: usize| text.get(index).copied();
    let mut address = [0u16; 8];
    let mut piece_index = 0;
    let mut compress = None;
    let mut pointer = 0;
    if at(0) == Some(':') {
        if at(1) != Some(':') {
            return None;
        }
        pointer = 2;
        piece_index = 1;
        compress = Some(1);
    }
    while let Some(c) = at(pointer) {
        if piece_index == 8 {
            return None;
        }
        if c == ':' {
            if compress.is_some() {
                return None;
            }
            pointer += 1;
            piece_index += 1;
            compress = Some(piece_index);
            continue;
        }
        let mut value: u32 = 0;
        let mut length = 0;
        while length < 4 {
            let Some(digit) = at(pointer).and_then(|c| c.to_digit(16)) else {
                break;
            };
            value = value * 16 + digit;
            pointer += 1;
            length += 1;
        }
        match at(pointer) {
            Some('.') => {
                if length == 0 || piece_index > 6 {
                    return None;
                }
                pointer -= length;
                return parse_ipv4_tail(&text[pointer..], address, piece_index, compress);
            }
            Some(':') => {
                pointer += 1;
                at(pointer)?;
            }
            Some(_) => return None,
            None => {}
        }
        address[piece_index] = value as u16;
        piece_index += 1;
    }
    finish_ipv6(address, piece_index, compress)
}

/// The dotted tail of an IPv6 address: exactly four decimal numbers filling two pieces.
fn parse_ipv4_tail(
    text: &[char],
    mut address: [u16; 8],
    mut piece_index: usize,
    compress: Option<usize>,
) -> Option<[u16; 8]> {
    let mut numbers_seen = 0;
    let mut pointer = 0;
    while pointer < text.len() {
        if numbers_seen > 0 {
            if text[pointer] == '.' && numbers_seen < 4 {
                pointer += 1;
            } else {
                return None;
            }
        }
        let mut piece: Option<u32> = None;
        while let Some(digit) = text.get(pointer).and_then(|c| c.to_digit(10)) {
            piece = match piece {
                None => Some(digit),
                // A leading zero is refused: `01.2.3.4` is not an address.
                Some(0) => return None,
                Some(value) => Some(value * 10 + digit),
            };
            if piece > Some(255) {
                return None;
            }
            pointer += 1;
        }
        let piece = piece?;
        address[piece_index] = address[piece_index].wrapping_mul(0x100) + piece as u16;
        numbers_seen += 1;
        if numbers_seen == 2 || numbers_seen == 4 {
            piece_index += 1;
        }
    }
    if numbers_seen != 4 {
        return None;
    }
    finish_ipv6(address, piece_index, compress)
}

/// Moves the pieces after a `::` to the end, where they belong.
fn finish_ipv6(
    mut address: [u16; 8],
    piece_index: usize,
    compress: Option<usize>,
) -> Option<[u16; 8]> {
    match compress {
        Some(compress) => {
            let mut swaps = piece_index - compress;
            let mut index = 7;
            while index != 0 && swaps > 0 {
                address.swap(index, compress + swaps - 1);
                index -= 1;
                swaps -= 1;
            }
            Some(address)
        }
        None if piece_index == 8 => Some(address),
        None => None,
    }
}

/// Lower-case hex pieces, the first longest run of two or more zero pieces as `::`.
fn serialize_ipv6(pieces: &[u16; 8]) -> String {
    let mut compress = None;
    let mut best = 1;
    let mut index = 0;
    while index < 8 {
        let run = pieces[index..].iter().take_while(|&&p| p == 0).count();
        if run > best {
            best = run;
            compress = Some(index);
        }
        index += run.max(1);
    }
    let mut out = String::new();
    let mut index = 0;
    while index < 8 {
        if Some(index) == compress {
            out.push_str(if index == 0 { "::" } else { ":" });
            index += best;
            continue;
        }
        out.push_str(&format!("{:x}", pieces[index]));
        if index != 7 {
            out.push(':');
        }
        index += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(input: &str) -> Option<String> {
        parse_host(input, true).map(|host| host.serialize())
    }

    #[test]
    fn domains_are_lower_cased_and_percent_decoded() {
        assert_eq!(host("ExAmple.COM").as_deref(), Some("example.com"));
        assert_eq!(host("ex%61mple.com").as_deref(), Some("example.com"));
        assert_eq!(host("exa mple.com"), None);
        assert_eq!(
            host("bücher.example"),
            None,
            "IDNA is refused, see the header"
        );
    }

    #[test]
    fn ipv4_in_every_form_browsers_accept() {
        assert_eq!(host("127.0.0.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(host("0x7f.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(host("2130706433").as_deref(), Some("127.0.0.1"));
        assert_eq!(host("0177.0.0.01.").as_deref(), Some("127.0.0.1"));
        assert_eq!(host("1.2.3.256"), None);
        assert_eq!(
            host("example.09"),
            None,
            "a last label of digits makes it IPv4"
        );
    }

    #[test]
    fn ipv6_is_compressed_and_lower_cased() {
        assert_eq!(host("[0:0:0:0:0:0:0:1]").as_deref(), Some("[::1]"));
        assert_eq!(host("[2001:DB8::0:1]").as_deref(), Some("[2001:db8::1]"));
        assert_eq!(host("[1:0:0:2:0:0:0:3]").as_deref(), Some("[1:0:0:2::3]"));
        assert_eq!(
            host("[::ffff:1.2.3.4]").as_deref(),
            Some("[::ffff:102:304]")
        );
        assert_eq!(host("[1:2]"), None);
        assert_eq!(host("[::1"), None);
    }

    #[test]
    fn opaque_hosts_keep_their_case() {
        let opaque = parse_host("Some%20Thing", false).map(|host| host.serialize());
        assert_eq!(opaque.as_deref(), Some("Some%20Thing"));
        assert_eq!(parse_host("a b", false), None);
    }
}
