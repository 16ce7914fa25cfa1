//! The constructor string parser (URL Pattern Standard, "Constructor string parsing"):
//! `https://*.example.com/books/:id?page=*` cut into its components, before any of them
//! is compiled. It walks the lenient tokens (see `tokenizer`) and looks for the URL's
//! separators (`:` `//` `@` `:` `/` `?` `#`) only where they are plain characters, so the
//! `:` of `:id` or the `?` modifier of `:id?` are not taken for them; nothing inside
//! `{…}` is a separator either.
//!
//! A component the string does not reach stays absent: the pattern then fills it in (a
//! wildcard, or the base URL's, see `urlpattern`'s `resolve`).

use crate::mercure::urlpattern::error::PatternError;
use crate::mercure::urlpattern::tokenizer::{Policy, Token, TokenKind, tokenize};

/// The eight components of a URL pattern, in URL order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Component {
    Protocol,
    Username,
    Password,
    Hostname,
    Port,
    Pathname,
    Search,
    Hash,
}

/// The pattern text of each component the string gave (the standard's `URLPatternInit`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Init {
    components: [Option<String>; 8],
}

impl Init {
    pub fn get(&self, component: Component) -> Option<&str> {
        self.components[component as usize].as_deref()
    }

    pub fn set(&mut self, component: Component, value: impl Into<String>) {
        self.components[component as usize] = Some(value.into());
    }

    pub fn has(&self, component: Component) -> bool {
        self.components[component as usize].is_some()
    }
}

/// Where the parser is: the component being read, or one of the in-between states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ParseState {
    Init,
    Protocol,
    Authority,
    Username,
    Password,
    Hostname,
    Port,
    Pathname,
    Search,
    Hash,
    Done,
}

impl ParseState {
    fn component(self) -> Option<Component> {
        Some(match self {
            ParseState::Protocol => Component::Protocol,
            ParseState::Username => Component::Username,
            ParseState::Password => Component::Password,
            ParseState::Hostname => Component::Hostname,
            ParseState::Port => Component::Port,
            ParseState::Pathname => Component::Pathname,
            ParseState::Search => Component::Search,
            ParseState::Hash => Component::Hash,
            _ => return None,
        })
    }
}

/// Compiles a protocol pattern and says whether it matches a special scheme: the
/// parser needs to know (`https:` always has an authority and a `/` path) before it has
/// read the rest.
pub type ProtocolIsSpecial = fn(&str) -> Result<bool, PatternError>;

struct Parser<'a> {
    input: Vec<char>,
    tokens: Vec<Token>,
    result: Init,
    component_start: usize,
    token_index: usize,
    token_increment: usize,
    group_depth: usize,
    ipv6_bracket_depth: usize,
    protocol_is_special: bool,
    state: ParseState,
    check_protocol: &'a ProtocolIsSpecial,
}

/// "parse a constructor string".
pub fn parse_constructor_string(
    input: &str,
    check_protocol: ProtocolIsSpecial,
) -> Result<Init, PatternError> {
    let mut parser = Parser {
        input: input.chars().collect(),
        tokens: tokenize(input, Policy::Lenient)?,
        result: Init::default(),
        component_start: 0,
        token_index: 0,
        token_increment: 1,
        group_depth: 0,
        ipv6_bracket_depth: 0,
        protocol_is_special: false,
        state: ParseState::Init,
        check_protocol: &check_protocol,
    };
    while parser.token_index < parser.tokens.len() {
        parser.token_increment = 1;
        if parser.tokens[parser.token_index].kind == TokenKind::End {
            match parser.state {
                ParseState::Init => {
                    // No `scheme:` anywhere: a relative pattern, starting with the
                    // search, the hash, or (most often) the pathname.
                    parser.rewind();
                    if parser.is_hash_prefix() {
                        parser.change_state(ParseState::Hash, 1);
                    } else if parser.is_search_prefix() {
                        parser.change_state(ParseState::Search, 1);
                    } else {
                        parser.change_state(ParseState::Pathname, 0);
                    }
                    parser.token_index += parser.token_increment;
                    continue;
                }
                ParseState::Authority => {
                    // No `@` after all: what was read is the hostname.
                    parser.rewind_and_set_state(ParseState::Hostname);
                    parser.token_index += parser.token_increment;
                    continue;
                }
                _ => {
                    parser.change_state(ParseState::Done, 0);
                    break;
                }
            }
        }
        if parser.tokens[parser.token_index].kind == TokenKind::Open {
            parser.group_depth += 1;
            parser.token_index += parser.token_increment;
            continue;
        }
        if parser.group_depth > 0 {
            if parser.tokens[parser.token_index].kind == TokenKind::Close {
                parser.group_depth -= 1;
            } else {
                parser.token_index += parser.token_increment;
                continue;
            }
        }
        parser.step()?;
        parser.token_index += parser.token_increment;
    }
    // A hostname without a port means the default port, not any port: `https://x/*`
    // does not match `https://x:8443/`, a different origin.
    if parser.result.has(Component::Hostname) && !parser.result.has(Component::Port) {
        parser.result.set(Component::Port, "");
    }
    Ok(parser.result)
}

impl Parser<'_> {
    /// One token in the current state: the standard's per-state steps.
    fn step(&mut self) -> Result<(), PatternError> {
        match self.state {
            ParseState::Init => {
                if self.is_char(self.token_index, ":") {
                    self.rewind_and_set_state(ParseState::Protocol);
                }
            }
            ParseState::Protocol => {
                if self.is_char(self.token_index, ":") {
                    let protocol = self.component_string();
                    self.protocol_is_special = (self.check_protocol)(&protocol)?;
                    let authority_slashes = self.is_char(self.token_index + 1, "/")
                        && self.is_char(self.token_index + 2, "/");
                    let (next, skip) = if authority_slashes {
                        (ParseState::Authority, 3)
                    } else if self.protocol_is_special {
                        (ParseState::Authority, 1)
                    } else {
                        (ParseState::Pathname, 1)
                    };
                    self.change_state(next, skip);
                }
            }
            ParseState::Authority => {
                if self.is_char(self.token_index, "@") {
                    self.rewind_and_set_state(ParseState::Username);
                } else if self.is_char(self.token_index, "/")
                    || self.is_search_prefix()
                    || self.is_hash_prefix()
                {
                    self.rewind_and_set_state(ParseState::Hostname);
                }
            }
            ParseState::Username => {
                if self.is_char(self.token_index, ":") {
                    self.change_state(ParseState::Password, 1);
                } else if self.is_char(self.token_index, "@") {
                    self.change_state(ParseState::Hostname, 1);
                }
            }
            ParseState::Password => {
                if self.is_char(self.token_index, "@") {
                    self.change_state(ParseState::Hostname, 1);
                }
            }
            ParseState::Hostname => {
                if self.is_char(self.token_index, "[") {
                    self.ipv6_bracket_depth += 1;
                } else if self.is_char(self.token_index, "]") {
                    self.ipv6_bracket_depth = self.ipv6_bracket_depth.saturating_sub(1);
                } else if self.is_char(self.token_index, ":") && self.ipv6_bracket_depth == 0 {
                    self.change_state(ParseState::Port, 1);
                } else if self.is_char(self.token_index, "/") {
                    self.change_state(ParseState::Pathname, 0);
                } else if self.is_search_prefix() {
                    self.change_state(ParseState::Search, 1);
                } else if self.is_hash_prefix() {
                    self.change_state(ParseState::Hash, 1);
                }
            }
            ParseState::Port => {
                if self.is_char(self.token_index, "/") {
                    self.change_state(ParseState::Pathname, 0);
                } else if self.is_search_prefix() {
                    self.change_state(ParseState::Search, 1);
                } else if self.is_hash_prefix() {
                    self.change_state(ParseState::Hash, 1);
                }
            }
            ParseState::Pathname => {
                if self.is_search_prefix() {
                    self.change_state(ParseState::Search, 1);
                } else if self.is_hash_prefix() {
                    self.change_state(ParseState::Hash, 1);
                }
            }
            ParseState::Search => {
                if self.is_hash_prefix() {
                    self.change_state(ParseState::Hash, 1);
                }
            }
            ParseState::Hash | ParseState::Done => {}
        }
        Ok(())
    }

    /// "change state": stores the component just read, fills in the ones skipped over
    /// (`https://x?q` has the pathname `/`), and moves on `skip` tokens.
    fn change_state(&mut self, new_state: ParseState, skip: usize) {
        use ParseState::*;
        if let Some(component) = self.state.component() {
            let value = self.component_string();
            self.result.set(component, value);
        }
        let old = self.state;
        if old != Init && new_state != Done {
            if matches!(old, Protocol | Authority | Username | Password)
                && matches!(new_state, Port | Pathname | Search | Hash)
                && !self.result.has(Component::Hostname)
            {
                self.result.set(Component::Hostname, "");
            }
            if matches!(
                old,
                Protocol | Authority | Username | Password | Hostname | Port
            ) && matches!(new_state, Search | Hash)
                && !self.result.has(Component::Pathname)
            {
                let pathname = if self.protocol_is_special { "/" } else { "" };
                self.result.set(Component::Pathname, pathname);
            }
            if matches!(
                old,
                Protocol | Authority | Username | Password | Hostname | Port | Pathname
            ) && new_state == Hash
                && !self.result.has(Component::Search)
            {
                self.result.set(Component::Search, "");
            }
        }
        self.state = new_state;
        self.token_index += skip;
        self.component_start = self.token_index;
        self.token_increment = 0;
    }

    fn rewind(&mut self) {
        self.token_index = self.component_start;
        self.token_increment = 0;
    }

    fn rewind_and_set_state(&mut self, state: ParseState) {
        self.rewind();
        self.state = state;
    }

    /// The token at `index`, or the `End` token past the last.
    fn safe_token(&self, index: usize) -> &Token {
        self.tokens.get(index).unwrap_or_else(|| {
            self.tokens
                .last()
                .expect("the tokenizer always ends with an End token")
        })
    }

    /// "is a non-special pattern char": the token is `value` as plain text, not syntax.
    fn is_char(&self, index: usize, value: &str) -> bool {
        let token = self.safe_token(index);
        token.value == value
            && matches!(
                token.kind,
                TokenKind::Char | TokenKind::EscapedChar | TokenKind::InvalidChar
            )
    }

    fn is_hash_prefix(&self) -> bool {
        self.is_char(self.token_index, "#")
    }

    /// A `?` starts the search unless it is a modifier: after a name, a regexp, a `}` or
    /// a `*`, it makes that group optional instead.
    fn is_search_prefix(&self) -> bool {
        if self.is_char(self.token_index, "?") {
            return true;
        }
        if self.safe_token(self.token_index).value != "?" {
            return false;
        }
        let Some(previous) = self.token_index.checked_sub(1) else {
            return true;
        };
        !matches!(
            self.safe_token(previous).kind,
            TokenKind::Name | TokenKind::Regexp | TokenKind::Close | TokenKind::Asterisk
        )
    }

    /// The text from the component's first token up to the current one.
    fn component_string(&self) -> String {
        let end = self.safe_token(self.token_index).index;
        let start = self.safe_token(self.component_start).index;
        self.input[start.min(end)..end].iter().collect()
    }
}

#[cfg(test)]
#[path = "constructor_tests.rs"]
mod tests;
