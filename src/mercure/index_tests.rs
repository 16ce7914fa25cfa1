use super::*;
use crate::mercure::matcher::MatcherType;
use crate::mercure::namespace::HubUrl;

fn hub() -> HubUrl {
    HubUrl::parse("https://localhost/.well-known/mercure").unwrap()
}

fn matcher(match_type: MatcherType, text: &str) -> Matcher {
    Matcher::parse(match_type, text, &hub()).unwrap()
}

fn patterns(texts: &[String]) -> Vec<Matcher> {
    texts
        .iter()
        .map(|text| matcher(MatcherType::UrlPattern, text))
        .collect()
}

#[test]
fn a_leave_forgets_what_no_one_follows() {
    let mut index = Index::default();
    let first = [
        matcher(MatcherType::Exact, "a"),
        matcher(MatcherType::UrlPattern, "/b/:id"),
    ];
    let second = [
        matcher(MatcherType::Exact, "a"),
        matcher(MatcherType::Exact, "*"),
    ];
    index.add(1, &first, &[]);
    index.add(2, &second, &[]);
    let base = hub().base;
    let mut selected = index.select(&["a".into()], &base);
    selected.sort_unstable();
    assert_eq!(selected, [1, 2, 2], "2 by its topic and by `*`");
    assert_eq!(index.select(&["/b/7".into()], &base), [2, 1]);
    index.remove(1, &first, &[]);
    assert!(index.patterns.is_empty() && index.pattern_count() == 0);
    assert_eq!(index.exact.len(), 1);
    index.remove(2, &second, &[]);
    assert!(index.exact.is_empty() && index.everything.is_empty());
}

#[test]
fn a_topic_is_parsed_once_and_other_hosts_patterns_are_not_evaluated() {
    let mut index = Index::default();
    // The attacker's shape (issue 27): many distinct patterns, relative, so on the
    // hub's host; and two on the publisher's host.
    let local: Vec<String> = (0..60)
        .map(|n| format!("/*{}*{n}*", "{a}*".repeat(20)))
        .collect();
    index.add(1, &patterns(&local), &[]);
    let books = ["https://example.com/books/:id".to_string()];
    let any_host = ["https://*/users/:id".to_string()];
    index.add(2, &patterns(&books), &[]);
    index.add(3, &patterns(&any_host), &[]);
    let selected = index.select(&["https://example.com/books/1".into()], &hub().base);
    assert_eq!(selected, [2]);
    // Old code: 62 evaluations and 62 parses of the topic.
    assert_eq!(
        index.pattern_evaluations, 2,
        "books and the any-host pattern"
    );
    assert_eq!(index.topic_parses, 1);
    let two_topics = ["https://example.com/books/2".into(), "not a url%".into()];
    index.select(&two_topics, &hub().base);
    assert_eq!(index.topic_parses, 3);
}

#[test]
fn distinct_patterns_are_capped_in_all_and_per_owner() {
    let mut index = Index::default();
    let limits = PatternLimits {
        total: 5,
        per_address: 3,
        per_subject: 2,
    };
    let alice = [Owner::Address("192.0.2.1".parse().unwrap())];
    let bob = [Owner::Address("192.0.2.2".parse().unwrap())];
    let carol = Owner::Subject("carol".into());
    let texts = |range: std::ops::Range<u32>| -> Vec<Matcher> {
        patterns(&range.map(|n| format!("/p{n}/:id")).collect::<Vec<_>>())
    };
    assert_eq!(index.admits(&texts(0..3), &alice, limits), Ok(()));
    index.add(1, &texts(0..3), &alice);
    // The same three again, from the same address: nothing new, admitted.
    assert_eq!(index.admits(&texts(0..3), &alice, limits), Ok(()));
    index.add(2, &texts(0..3), &alice);
    assert_eq!(index.share_of(&alice[0]), 3);
    let over = PatternRefusal::ShareFull {
        by_subject: false,
        limit: 3,
    };
    assert_eq!(index.admits(&texts(3..4), &alice, limits), Err(over));
    // A subject's share is its own, and counted beside the address's.
    let both = [bob[0].clone(), carol];
    let subject_over = PatternRefusal::ShareFull {
        by_subject: true,
        limit: 2,
    };
    assert_eq!(index.admits(&texts(2..5), &both, limits), Err(subject_over));
    index.add(3, &texts(3..5), &both);
    assert_eq!(index.pattern_count(), 5);
    assert_eq!(
        index.admits(&texts(5..6), &bob, limits),
        Err(PatternRefusal::HubFull { limit: 5 })
    );
    // Patterns someone holds already cost the total nothing.
    assert_eq!(index.admits(&texts(0..1), &bob, limits), Ok(()));
    // Leaving gives the shares back, exactly.
    index.remove(1, &texts(0..3), &alice);
    assert_eq!(
        index.share_of(&alice[0]),
        3,
        "subscriber 2 still follows them"
    );
    index.remove(2, &texts(0..3), &alice);
    index.remove(3, &texts(3..5), &both);
    assert_eq!(index.pattern_count(), 0);
    assert!(index.shares.is_empty() && index.patterns.is_empty());
}

#[test]
fn an_evaluation_past_its_step_budget_counts_as_no_match() {
    let mut index = Index::default();
    // Just under the state cap, and every state stays live over a run of `a`s.
    let heavy = format!("/*{}*z", "{a}*".repeat(70));
    index.add(1, &patterns(&[heavy]), &[]);
    let light = ["/*".to_string()];
    index.add(2, &patterns(&light), &[]);
    let long_topic = format!("/{}", "a".repeat(2_000));
    assert_eq!(index.select(&[long_topic], &hub().base), [2]);
    assert_eq!(index.pattern_evaluations, 2);
    assert_eq!(index.evaluations_abandoned, 1, "the heavy one, abandoned");
    // A short topic is well within the budget: matched for real.
    assert_eq!(index.select(&["/aaz".into()], &hub().base).len(), 2);
    assert_eq!(index.evaluations_abandoned, 1);
}
