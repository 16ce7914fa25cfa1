//! Matching one component in time linear in its length: the parts become a small
//! automaton (Thompson's construction) whose states are all followed at once over the
//! input, one code point at a time. Nothing is ever retried, so a pattern like
//! `{a*}*{a*}*b` against `aaaa…` costs (states × code points), where a backtracking
//! regexp engine can take exponential time: the "URL-Pattern Denial of Service" the
//! Mercure spec warns about.
//!
//! The automaton is the regular expression the URL Pattern Standard generates from the
//! parts ("generate a regular expression and name list"), anchored at both ends. Only
//! whether it matches is needed here, not what each group captured, so lazy (`+?`) and
//! greedy quantifiers are the same thing.

use crate::mercure::urlpattern::parts::{Modifier, Options, Part, PartKind};

/// What one code point must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CharTest {
    Literal(char),
    /// `[^d]`: anything but the delimiter (anything at all when there is none).
    NotDelimiter(Option<char>),
    /// `.` under the `v` flag: anything but a line terminator.
    AnyButLineTerminator,
}

impl CharTest {
    fn accepts(self, c: char) -> bool {
        match self {
            CharTest::Literal(literal) => c == literal,
            CharTest::NotDelimiter(delimiter) => Some(c) != delimiter,
            CharTest::AnyButLineTerminator => !matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}'),
        }
    }
}

/// The regular expression of a part list, as a tree.
#[derive(Clone, Debug)]
enum Node {
    Char(CharTest),
    Sequence(Vec<Node>),
    Optional(Box<Node>),
    ZeroOrMore(Box<Node>),
    OneOrMore(Box<Node>),
}

/// One state of the automaton.
#[derive(Clone, Copy, Debug)]
enum State {
    /// Consume one code point passing the test, then go to the state given.
    Char(CharTest, usize),
    /// Go to both states without consuming anything.
    Split(usize, usize),
    Match,
}

/// A compiled component: the automaton and its start state.
#[derive(Clone, Debug)]
pub struct Matcher {
    states: Vec<State>,
    start: usize,
}

impl Matcher {
    /// Compiles `parts`, read with `options` (for the delimiter of `:name`).
    pub fn compile(parts: &[Part], options: Options) -> Matcher {
        let tree = Node::Sequence(parts.iter().map(|part| part_node(part, options)).collect());
        let mut states = vec![State::Match];
        let start = build(&tree, 0, &mut states);
        Matcher { states, start }
    }

    /// How many states the automaton has: what one code point of input can cost, at
    /// most (`mercure/matcher.rs` refuses a pattern whose components hold too many).
    pub fn state_count(&self) -> usize {
        self.states.len()
    }

    /// The one string this automaton matches, when it is fixed text (a chain of literal
    /// code points from the start to the match, no choice anywhere): `example.com` for
    /// the hostname of `https://example.com/:id`. `None` when it has a wildcard, a group
    /// or a modifier. An index can then find the pattern by that text (`index.rs`).
    pub fn fixed_text(&self) -> Option<String> {
        let mut text = String::new();
        let mut state = self.start;
        // Each step follows one `Char` state; a chain longer than the states loops.
        for _ in 0..self.states.len() {
            match self.states[state] {
                State::Match => return Some(text),
                State::Char(CharTest::Literal(c), next) => {
                    text.push(c);
                    state = next;
                }
                _ => return None,
            }
        }
        None
    }

    /// Whether the whole of `input` matches. Cost: at most (states × code points) steps.
    pub fn matches(&self, input: &str) -> bool {
        self.run(input, usize::MAX).0 == Some(true)
    }

    /// Whether `input` matches, giving up once `budget` steps are spent: `None` then,
    /// and the steps taken either way (the Mercure spec's "evaluation cost limit").
    pub fn matches_within(&self, input: &str, budget: usize) -> (Option<bool>, usize) {
        self.run(input, budget)
    }

    /// Whether `input` matches (`None`: more than `budget` steps, abandoned), and the
    /// work it took: how many times a state was entered, which is at most once per
    /// state per code point (and once before the first).
    fn run(&self, input: &str, budget: usize) -> (Option<bool>, usize) {
        let mut current = Vec::with_capacity(self.states.len());
        let mut next = Vec::with_capacity(self.states.len());
        // `seen[state] == step` marks a state already in the set for this step.
        let mut seen = vec![usize::MAX; self.states.len()];
        let mut stack = Vec::new();
        let mut work = self.add(self.start, 0, &mut current, &mut seen, &mut stack);
        for (step, c) in input.chars().enumerate() {
            next.clear();
            for &state in &current {
                if let State::Char(test, to) = self.states[state]
                    && test.accepts(c)
                {
                    work += self.add(to, step + 1, &mut next, &mut seen, &mut stack);
                }
            }
            if next.is_empty() {
                return (Some(false), work);
            }
            // Checked once per code point: a step overshoots by one set at most.
            if work > budget {
                return (None, work);
            }
            std::mem::swap(&mut current, &mut next);
        }
        let matched = current
            .iter()
            .any(|&state| matches!(self.states[state], State::Match));
        (Some(matched), work)
    }

    /// Adds `state` and every state reachable from it without consuming input; returns
    /// how many states it entered (each at most once per step, thanks to `seen`).
    fn add(
        &self,
        state: usize,
        step: usize,
        set: &mut Vec<usize>,
        seen: &mut [usize],
        stack: &mut Vec<usize>,
    ) -> usize {
        let mut entered = 0;
        stack.push(state);
        while let Some(state) = stack.pop() {
            if seen[state] == step {
                continue;
            }
            seen[state] = step;
            entered += 1;
            match self.states[state] {
                State::Split(first, second) => {
                    stack.push(second);
                    stack.push(first);
                }
                _ => set.push(state),
            }
        }
        entered
    }
}

/// The tree of one part, following the standard's regexp forms:
///
/// ```text
/// fixed text          text            or  (?:text)modifier
/// group alone         (R)  (R)?           ((?:R)*)  ((?:R)+)
/// with prefix/suffix  (?:p(R)s)  (?:p(R)s)?
/// repeated            (?:p((?:R)(?:s p(?:R))*)s)   and that, then ?, for `*`
/// ```
///
/// where R is `[^d]+?` for `:name` and `.*` for `*`.
fn part_node(part: &Part, options: Options) -> Node {
    let group = match part.kind {
        PartKind::FixedText => return with_modifier(text(&part.value), part.modifier),
        PartKind::SegmentWildcard => Node::OneOrMore(Box::new(Node::Char(CharTest::NotDelimiter(
            options.delimiter,
        )))),
        PartKind::FullWildcard => {
            Node::ZeroOrMore(Box::new(Node::Char(CharTest::AnyButLineTerminator)))
        }
    };
    if part.prefix.is_empty() && part.suffix.is_empty() {
        return with_modifier(group, part.modifier);
    }
    let (prefix, suffix) = (text(&part.prefix), text(&part.suffix));
    match part.modifier {
        Modifier::None | Modifier::Optional => {
            with_modifier(Node::Sequence(vec![prefix, group, suffix]), part.modifier)
        }
        Modifier::ZeroOrMore | Modifier::OneOrMore => {
            let again = Node::Sequence(vec![suffix.clone(), prefix.clone(), group.clone()]);
            let repeated = Node::Sequence(vec![
                prefix,
                group,
                Node::ZeroOrMore(Box::new(again)),
                suffix,
            ]);
            if part.modifier == Modifier::ZeroOrMore {
                Node::Optional(Box::new(repeated))
            } else {
                repeated
            }
        }
    }
}

fn text(value: &str) -> Node {
    Node::Sequence(
        value
            .chars()
            .map(|c| Node::Char(CharTest::Literal(c)))
            .collect(),
    )
}

fn with_modifier(node: Node, modifier: Modifier) -> Node {
    match modifier {
        Modifier::None => node,
        Modifier::Optional => Node::Optional(Box::new(node)),
        Modifier::ZeroOrMore => Node::ZeroOrMore(Box::new(node)),
        Modifier::OneOrMore => Node::OneOrMore(Box::new(node)),
    }
}

/// Adds the states of `node` that continue to `next`; returns its first state. Built
/// back to front, so each state's successor already exists.
fn build(node: &Node, next: usize, states: &mut Vec<State>) -> usize {
    match node {
        Node::Char(test) => push(states, State::Char(*test, next)),
        Node::Sequence(nodes) => nodes
            .iter()
            .rev()
            .fold(next, |next, node| build(node, next, states)),
        Node::Optional(inner) => {
            let inner_start = build(inner, next, states);
            push(states, State::Split(inner_start, next))
        }
        Node::ZeroOrMore(inner) => {
            // The loop's split is made first, so the inner states can point back to it.
            let split = push(states, State::Match);
            let inner_start = build(inner, split, states);
            states[split] = State::Split(inner_start, next);
            split
        }
        Node::OneOrMore(inner) => {
            let split = push(states, State::Match);
            let inner_start = build(inner, split, states);
            states[split] = State::Split(inner_start, next);
            inner_start
        }
    }
}

fn push(states: &mut Vec<State>, state: State) -> usize {
    states.push(state);
    states.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mercure::urlpattern::parts::{PATHNAME_OPTIONS, parse_pattern};

    fn matcher(pattern: &str) -> Matcher {
        let parsed = parse_pattern(pattern, PATHNAME_OPTIONS, |s| Ok(s.to_string())).unwrap();
        Matcher::compile(&parsed.parts, PATHNAME_OPTIONS)
    }

    #[test]
    fn groups_and_modifiers_match_as_the_standard_says() {
        let cases: [(&str, &[&str], &[&str]); 6] = [
            (
                "/foo/:bar",
                &["/foo/bar", "/foo/index.html"],
                &["/foo/", "/foo/bar/", "/foo"],
            ),
            (
                "/foo/:bar?",
                &["/foo", "/foo/bar"],
                &["/foo/", "/foobar", "/foo/a/b"],
            ),
            (
                "/foo/:bar+",
                &["/foo/a", "/foo/a/b"],
                &["/foo", "/foo/", "/foo/a//b"],
            ),
            ("/foo/:bar*", &["/foo", "/foo/a/b"], &["/foo/", "/foobar"]),
            ("/foo/*", &["/foo/", "/foo/a/b"], &["/foo", "/fo"]),
            (
                "{/x-:a-y}*/z",
                &["/z", "/x-1-y/z", "/x-1-y/x-2-y/z"],
                &["/x--y/z", "x-1-y/z"],
            ),
        ];
        for (pattern, yes, no) in cases {
            let matcher = matcher(pattern);
            for input in yes {
                assert!(matcher.matches(input), "{pattern} should match {input}");
            }
            for input in no {
                assert!(
                    !matcher.matches(input),
                    "{pattern} should not match {input}"
                );
            }
        }
    }

    #[test]
    fn a_pattern_that_backtracks_exponentially_elsewhere_costs_states_times_length() {
        // Each `{*}*` is a loop around a loop, the classic catastrophic-backtracking
        // shape; here it is a handful of states visited once per code point.
        let matcher = matcher("{*}*{*}*{*}*{*}*{*}*/b");
        let states = matcher.states.len();
        assert!(states < 40, "{states} states");
        for input in ["/a".repeat(5_000), format!("{}/b", "/a".repeat(5_000))] {
            let (matched, work) = matcher.run(&input, usize::MAX);
            assert_eq!(matched, Some(input.ends_with("/b")));
            let bound = states * (input.chars().count() + 1);
            assert!(
                work <= bound,
                "{work} state entries for {} code points",
                input.len()
            );
        }
    }

    #[test]
    fn an_evaluation_past_its_budget_is_abandoned_not_finished() {
        let matcher = matcher("{a}*{a}*{a}*{a}*b");
        let input = "a".repeat(1_000);
        let (unbounded, full_work) = matcher.run(&input, usize::MAX);
        assert_eq!(unbounded, Some(false));
        let (bounded, work) = matcher.matches_within(&input, 100);
        assert_eq!(bounded, None, "too dear: neither yes nor no");
        assert!(work < full_work / 10, "{work} of {full_work} steps spent");
        assert_eq!(matcher.matches_within("aab", 100).0, Some(true));
    }
}
