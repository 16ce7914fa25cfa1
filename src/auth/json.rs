//! A small, strict JSON reader (RFC 8259), and the one thing we write: a string.
//!
//! A JWT's header and claims are JSON objects. The reader accepts exactly the grammar
//! of RFC 8259 and nothing more: no comments, no trailing commas, no single quotes, no
//! leading zeros, no lone surrogates. Being strict is a security property here: two
//! readers that disagree about what a token says (one reads the first of two `exp`
//! members, another the last) are a classic source of bypasses. So an object with the
//! same member name twice is refused too; RFC 7519 section 4 allows exactly that
//! choice.
//!
//! The reader is a recursive descent over bytes, one function per rule of the grammar
//! (RFC 8259 sections 2 to 7). Nesting is limited to [`MAX_DEPTH`] levels, so that a
//! token of ten thousand `[` cannot overflow a 128 KiB thread stack.

use std::fmt;

/// How deeply arrays and objects may nest.
pub const MAX_DEPTH: usize = 32;

/// A JSON value. Objects keep their members in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl Value {
    /// The member `name` of an object (`None` for other values or a missing member).
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members
                .iter()
                .find(|(member, _)| member == name)
                .map(|(_, value)| value),
            _ => None,
        }
    }
}

/// Why a text is not JSON, and where (a byte offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub offset: usize,
    pub reason: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

/// Reads `text` as one JSON value (RFC 8259 section 2: `ws value ws`).
pub fn parse(text: &str) -> Result<Value, ParseError> {
    let mut reader = Reader {
        bytes: text.as_bytes(),
        at: 0,
    };
    reader.skip_whitespace();
    let value = reader.value(0)?;
    reader.skip_whitespace();
    if reader.at != reader.bytes.len() {
        return Err(reader.error("unexpected text after the value"));
    }
    Ok(value)
}

/// `text` as a JSON string, quoted and escaped (RFC 8259 section 7).
pub fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for character in text.chars() {
        match character {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            control if u32::from(control) < 0x20 => {
                quoted.push_str(&format!("\\u{:04x}", u32::from(control)));
            }
            other => quoted.push(other),
        }
    }
    quoted.push('"');
    quoted
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn error(&self, reason: &'static str) -> ParseError {
        ParseError {
            offset: self.at,
            reason,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Section 2: space, tab, line feed, carriage return.
    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Consumes `literal` if the text continues with it.
    fn eat(&mut self, literal: &[u8]) -> bool {
        if self.bytes[self.at..].starts_with(literal) {
            self.at += literal.len();
            return true;
        }
        false
    }

    /// Section 3: `false / null / true / object / array / number / string`.
    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ if self.eat(b"true") => Ok(Value::Bool(true)),
            _ if self.eat(b"false") => Ok(Value::Bool(false)),
            _ if self.eat(b"null") => Ok(Value::Null),
            None => Err(self.error("the text ends where a value should be")),
            _ => Err(self.error("expected a value")),
        }
    }

    /// Section 4: `{ member *( , member ) }` where `member = string : value`.
    fn object(&mut self, depth: usize) -> Result<Value, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.at += 1;
        let mut members: Vec<(String, Value)> = Vec::new();
        self.skip_whitespace();
        if self.eat(b"}") {
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a member name"));
            }
            let name_at = self.at;
            let name = self.string()?;
            if members.iter().any(|(existing, _)| *existing == name) {
                return Err(ParseError {
                    offset: name_at,
                    reason: "a member name appears twice",
                });
            }
            self.skip_whitespace();
            if !self.eat(b":") {
                return Err(self.error("expected ':'"));
            }
            self.skip_whitespace();
            let value = self.value(depth)?;
            members.push((name, value));
            self.skip_whitespace();
            if self.eat(b"}") {
                return Ok(Value::Object(members));
            }
            if !self.eat(b",") {
                return Err(self.error("expected ',' or '}'"));
            }
        }
    }

    /// Section 5: `[ value *( , value ) ]`.
    fn array(&mut self, depth: usize) -> Result<Value, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.at += 1;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.eat(b"]") {
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_whitespace();
            items.push(self.value(depth)?);
            self.skip_whitespace();
            if self.eat(b"]") {
                return Ok(Value::Array(items));
            }
            if !self.eat(b",") {
                return Err(self.error("expected ',' or ']'"));
            }
        }
    }

    /// Section 6: `[ - ] int [ frac ] [ exp ]`, with no leading zeros.
    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.at;
        self.eat(b"-");
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("expected a digit")),
        }
        if self.eat(b".") {
            if !self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
                return Err(self.error("expected a digit after '.'"));
            }
            self.digits();
        }
        if self.eat(b"e") || self.eat(b"E") {
            let _ = self.eat(b"+") || self.eat(b"-");
            if !self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
                return Err(self.error("expected a digit in the exponent"));
            }
            self.digits();
        }
        let text = std::str::from_utf8(&self.bytes[start..self.at]).expect("ASCII digits");
        // A whole number of up to 15 digits (every claim we read: `exp`, `nbf`, `iat`)
        // is exact as an i64 and as an f64, and parsing it so takes no stack to speak
        // of; f64's parser takes 800 bytes, on a token check that runs on every
        // subscriber's thread at its deepest (tests/stack_budget.rs).
        let digits = text.strip_prefix('-').unwrap_or(text);
        if digits.len() <= 15 && digits.bytes().all(|byte| byte.is_ascii_digit()) && text != "-0" {
            let whole: i64 = text.parse().expect("at most 15 digits fit in an i64");
            return Ok(Value::Number(whole as f64));
        }
        parse_float(text).map(Value::Number).ok_or(ParseError {
            offset: start,
            reason: "a number too large to represent",
        })
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
            self.at += 1;
        }
    }

    /// Section 7: a quoted string with `\` escapes; control characters must be
    /// escaped, and `\uXXXX` pairs encode characters beyond U+FFFF as surrogates.
    fn string(&mut self) -> Result<String, ParseError> {
        self.at += 1;
        let mut text = String::new();
        loop {
            // Copy the run of plain characters up to the next quote, backslash or end.
            let run_start = self.at;
            while let Some(byte) = self.peek() {
                if byte == b'"' || byte == b'\\' || byte < 0x20 {
                    break;
                }
                self.at += 1;
            }
            // The input is a &str and the run stops only at ASCII bytes, so it is
            // whole UTF-8.
            text.push_str(std::str::from_utf8(&self.bytes[run_start..self.at]).expect("UTF-8"));
            match self.peek() {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(text);
                }
                Some(b'\\') => {
                    self.at += 1;
                    text.push(self.escape()?);
                }
                Some(_) => return Err(self.error("a control character must be escaped")),
                None => return Err(self.error("the string is not closed")),
            }
        }
    }

    /// One escape, after its backslash.
    fn escape(&mut self) -> Result<char, ParseError> {
        let Some(byte) = self.peek() else {
            return Err(self.error("the string is not closed"));
        };
        self.at += 1;
        Ok(match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return self.unicode_escape(),
            _ => return Err(self.error("unknown escape")),
        })
    }

    /// `\uXXXX`, or a surrogate pair `\uD8xx\uDCxx` for one character.
    fn unicode_escape(&mut self) -> Result<char, ParseError> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !self.eat(b"\\u") {
                    return Err(self.error("a high surrogate without its low half"));
                }
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.error("a high surrogate without its low half"));
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.error("a low surrogate on its own")),
            _ => first,
        };
        char::from_u32(code).ok_or_else(|| self.error("not a character"))
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let digits = self
            .bytes
            .get(self.at..self.at + 4)
            .and_then(|digits| std::str::from_utf8(digits).ok())
            .filter(|digits| digits.bytes().all(|byte| byte.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("expected four hex digits"))?;
        self.at += 4;
        Ok(u32::from_str_radix(digits, 16).expect("hex digits"))
    }
}

/// A JSON number with a fraction or an exponent, or too long for an i64: `None` if it
/// is out of f64's range.
#[cold]
#[inline(never)]
fn parse_float(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|number| number.is_finite())
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
