//! URL Patterns, the matcher type Mercure's `match_urlpattern` names (Mercure, "URL
//! Pattern"; WHATWG URL Pattern Standard): `https://example.com/books/:id` matches every
//! book's URL, `/.well-known/mercure/subscriptions/*` every subscription event.
//!
//! A pattern is compiled in four steps, each in its own file:
//!
//! 1. [`constructor`] cuts the string into the eight URL components (protocol,
//!    username, password, hostname, port, pathname, search, hash).
//! 2. [`UrlPattern::parse`] (here) fills in the components the string left out: from
//!    the base URL (the hub's URL) for a relative pattern, with `*` otherwise.
//! 3. [`parts`] (with [`tokenizer`]) parses each component's pattern into parts, its
//!    fixed text canonicalized by [`canonical`] the way the URL parser would write it.
//! 4. [`matcher`] turns each component's parts into an automaton that runs in time
//!    linear in the URL.
//!
//! A URL then matches when each of its components, as [`Url`] parsed them, matches that
//! component's automaton. `ignoreCase` is never on, as the Mercure spec requires.
//!
//! What differs from a browser's `URLPattern`, on purpose: regexp groups other than the
//! two wildcards (`(\d+)`) are refused with a [`PatternError`] (see [`parts`]), and URLs
//! the parser refuses (see [`crate::mercure::url`]) match nothing. Everything else is
//! checked against Chromium's own `URLPattern` by `tests/e2e/urlpattern.test.mjs`.

pub mod canonical;
pub mod constructor;
pub mod error;
pub mod matcher;
pub mod parts;
pub mod tokenizer;

use crate::mercure::url::{Url, default_port, is_special_scheme};
use crate::mercure::urlpattern::constructor::{Component, Init, parse_constructor_string};
use crate::mercure::urlpattern::matcher::Matcher;
use crate::mercure::urlpattern::parts::{
    DEFAULT_OPTIONS, EncodingCallback, HOSTNAME_OPTIONS, Options, PATHNAME_OPTIONS, parse_pattern,
};

pub use crate::mercure::urlpattern::error::PatternError;

/// The special schemes a protocol pattern is tried against, to learn whether the
/// pathname is hierarchical (`/`-separated) or opaque.
const SPECIAL_SCHEMES: [&str; 6] = ["ftp", "file", "http", "https", "ws", "wss"];

/// A compiled URL pattern: one matcher per component, in [`Component`] order.
#[derive(Clone, Debug)]
pub struct UrlPattern {
    matchers: Vec<Matcher>,
}

impl UrlPattern {
    /// A URL Pattern constructor string (absolute, or relative resolved against `base`:
    /// the hub's URL), per the WHATWG URL Pattern Standard, ignoreCase off.
    /// Regexp groups `(...)` other than `(.*)` and the component's segment wildcard are
    /// refused (see the module header).
    pub fn parse(pattern: &str, base: &Url) -> Result<UrlPattern, PatternError> {
        let init = parse_constructor_string(pattern, protocol_is_special)?;
        let resolved = resolve(&init, base);
        // A component neither the pattern nor the base gave matches anything.
        let text = |component| resolved.get(component).unwrap_or("*").to_string();
        let protocol = text(Component::Protocol);
        let mut port = text(Component::Port);
        // `https://x:443/` is `https://x/`: the URL parser drops a default port too.
        if is_special_scheme(&protocol)
            && default_port(&protocol).is_some_and(|default| default.to_string() == port)
        {
            port.clear();
        }
        let hostname = text(Component::Hostname);
        let hostname_callback: EncodingCallback = if is_ipv6_pattern(&hostname) {
            canonical::ipv6_hostname
        } else {
            canonical::hostname
        };
        let protocol_parsed = parse_pattern(&protocol, DEFAULT_OPTIONS, canonical::protocol)?;
        let protocol_matcher = Matcher::compile(&protocol_parsed.parts, DEFAULT_OPTIONS);
        let (path_options, path_callback): (Options, EncodingCallback) =
            if SPECIAL_SCHEMES.iter().any(|s| protocol_matcher.matches(s)) {
                (PATHNAME_OPTIONS, canonical::pathname)
            } else {
                (DEFAULT_OPTIONS, canonical::opaque_pathname)
            };
        let username = text(Component::Username);
        let password = text(Component::Password);
        let pathname = text(Component::Pathname);
        let search = text(Component::Search);
        let hash = text(Component::Hash);
        // Every component is parsed before a regexp group is refused, so that a pattern
        // malformed anywhere is reported as malformed, as a browser would.
        let components: [(&str, Options, EncodingCallback); 7] = [
            (&username, DEFAULT_OPTIONS, canonical::userinfo),
            (&password, DEFAULT_OPTIONS, canonical::userinfo),
            (&hostname, HOSTNAME_OPTIONS, hostname_callback),
            (&port, DEFAULT_OPTIONS, canonical::port),
            (&pathname, path_options, path_callback),
            (&search, DEFAULT_OPTIONS, canonical::search),
            (&hash, DEFAULT_OPTIONS, canonical::hash),
        ];
        let mut parsed = vec![(protocol_parsed, DEFAULT_OPTIONS)];
        for (pattern, options, callback) in components {
            parsed.push((parse_pattern(pattern, options, callback)?, options));
        }
        if let Some(regexp) = parsed.iter().find_map(|(p, _)| p.regexp.as_deref()) {
            return Err(PatternError::regexp_group(regexp));
        }
        let matchers = parsed
            .iter()
            .map(|(parsed, options)| Matcher::compile(&parsed.parts, *options))
            .collect();
        Ok(UrlPattern { matchers })
    }

    /// Whether `url` matches, in time linear in the URL's length (no backtracking).
    pub fn matches(&self, url: &Url) -> bool {
        self.matches_components(&UrlComponents::of(url))
    }

    /// Whether a URL, already cut into its components, matches: what a hub evaluating
    /// many patterns against one topic calls, having serialized the topic once.
    pub fn matches_components(&self, url: &UrlComponents) -> bool {
        self.matches_within(url, usize::MAX) == Some(true)
    }

    /// Whether a URL matches, spending at most about `budget` steps over all eight
    /// components; `None` when the budget ran out first.
    pub fn matches_within(&self, url: &UrlComponents, budget: usize) -> Option<bool> {
        let mut left = budget;
        for (matcher, component) in self.matchers.iter().zip(&url.0) {
            match matcher.matches_within(component, left) {
                (Some(true), spent) => left = left.saturating_sub(spent),
                (Some(false), _) => return Some(false),
                (None, _) => return None,
            }
        }
        Some(true)
    }

    /// The states of all eight automata: a bound on what evaluating the pattern costs
    /// per code point of a URL.
    pub fn state_count(&self) -> usize {
        self.matchers.iter().map(Matcher::state_count).sum()
    }

    /// The hostname this pattern matches, when it is fixed text (`example.com` for
    /// `https://example.com/*`, the hub's host for a relative pattern); `None` when the
    /// hostname has a wildcard or a group. A URL whose hostname differs cannot match.
    pub fn fixed_hostname(&self) -> Option<String> {
        self.matchers[Component::Hostname as usize].fixed_text()
    }
}

/// A URL's eight components as the patterns compare them, in [`Component`] order,
/// serialized once.
pub struct UrlComponents([String; 8]);

impl UrlComponents {
    /// Cuts `url` into its components.
    pub fn of(url: &Url) -> UrlComponents {
        UrlComponents([
            url.protocol().to_string(),
            url.username().to_string(),
            url.password().to_string(),
            url.hostname(),
            url.port(),
            url.pathname(),
            url.search().to_string(),
            url.hash().to_string(),
        ])
    }

    /// The hostname, serialized (`example.com`, `[::1]`).
    pub fn hostname(&self) -> &str {
        &self.0[Component::Hostname as usize]
    }
}

/// For the constructor string parser: whether a protocol pattern matches a special
/// scheme (then `https:x` still has an authority).
fn protocol_is_special(protocol: &str) -> Result<bool, PatternError> {
    let parsed = parse_pattern(protocol, DEFAULT_OPTIONS, canonical::protocol)?;
    // A regexp here would have to run to answer; refused at once.
    if let Some(regexp) = parsed.regexp {
        return Err(PatternError::regexp_group(&regexp));
    }
    let matcher = Matcher::compile(&parsed.parts, DEFAULT_OPTIONS);
    Ok(SPECIAL_SCHEMES.iter().any(|scheme| matcher.matches(scheme)))
}

/// The standard's "process a URLPatternInit" for a pattern: each component the string
/// left out, up to the first one it gave, comes from the base URL (escaped, so its `:`
/// or `*` is literal text). `/books/:id` against `https://localhost/.well-known/mercure`
/// takes the protocol, hostname and port; `books/:id` also the directory of the path;
/// `?page=*` the path as well. Username and password are never taken.
fn resolve(init: &Init, base: &Url) -> Init {
    use Component::*;
    let given = |components: &[Component]| components.iter().any(|c| init.has(*c));
    let mut result = Init::default();
    if !given(&[Protocol]) {
        result.set(Protocol, escape_pattern(base.protocol()));
    }
    if !given(&[Protocol, Hostname]) {
        result.set(Hostname, escape_pattern(&base.hostname()));
    }
    if !given(&[Protocol, Hostname, Port]) {
        result.set(Port, base.port());
    }
    if !given(&[Protocol, Hostname, Port, Pathname]) {
        result.set(Pathname, escape_pattern(&base.pathname()));
    }
    if !given(&[Protocol, Hostname, Port, Pathname, Search]) {
        result.set(Search, escape_pattern(base.search()));
    }
    if !given(&[Protocol, Hostname, Port, Pathname, Search, Hash]) {
        result.set(Hash, escape_pattern(base.hash()));
    }
    if let Some(protocol) = init.get(Protocol) {
        result.set(Protocol, protocol.strip_suffix(':').unwrap_or(protocol));
    }
    for component in [Username, Password, Hostname, Port] {
        if let Some(value) = init.get(component) {
            result.set(component, value);
        }
    }
    if let Some(pathname) = init.get(Pathname) {
        let mut pathname = pathname.to_string();
        // A relative path replaces the base path's last segment, as a URL's would.
        if !base.has_opaque_path() && !is_absolute_pathname(&pathname) {
            let base_path = escape_pattern(&base.pathname());
            if let Some(slash) = base_path.rfind('/') {
                pathname = format!("{}{pathname}", &base_path[..=slash]);
            }
        }
        result.set(Pathname, pathname);
    }
    if let Some(search) = init.get(Search) {
        result.set(Search, search.strip_prefix('?').unwrap_or(search));
    }
    if let Some(hash) = init.get(Hash) {
        result.set(Hash, hash.strip_prefix('#').unwrap_or(hash));
    }
    result
}

/// `/x`, `\/x` and `{/x}` are absolute pathname patterns; anything else is relative.
fn is_absolute_pathname(pattern: &str) -> bool {
    pattern.starts_with('/') || pattern.starts_with("\\/") || pattern.starts_with("{/")
}

/// `[::1]`, `{[…` and `\[…` are IPv6 hostname patterns, canonicalized differently.
fn is_ipv6_pattern(hostname: &str) -> bool {
    hostname.chars().count() >= 2
        && (hostname.starts_with('[') || hostname.starts_with("{[") || hostname.starts_with("\\["))
}

/// The standard's "escape a pattern string": text from the base URL, made literal.
fn escape_pattern(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if "+*?:{}()\\".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
#[path = "urlpattern_tests.rs"]
mod tests;
