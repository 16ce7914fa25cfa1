//! One batch for a subscriber: the messages after its last id in the topics it
//! follows, in id order, each once, up to a byte budget.
//!
//! Each topic's history is sorted by id, and a message published to several topics
//! sits in each of their histories. Gathering every pending message of every topic,
//! sorting them and dropping the repeats would cost the whole backlog on every batch:
//! a subscriber replaying 32 topics of 1,000 messages sorted 32,000 entries under the
//! hub's lock to send one 40 KB message, a thousand times over. Instead the histories
//! are merged as they are read, like the merge step of a merge sort:
//!
//! ```text
//! topic a:  3  5  9          heads: {3 (a), 4 (b)}   take 3 from a, its next is 5
//! topic b:  4  5  7  11      heads: {4 (b), 5 (a)}   take 4 from b, its next is 5
//!                            heads: {5 (a), 5 (b)}   take 5 once, skip its copy
//!                            ...until the batch is full
//! ```
//!
//! A batch so costs one binary search per followed topic (to find where each history
//! resumes) plus a heap step per message it sends, and stops when the budget is
//! reached: what it sends, not what is pending.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use crate::pubsub::event_id::EventId;
use crate::pubsub::topic::{Message, Topic};

/// The messages after `after_id` in `histories`, in id order, each once, as long as
/// their encoded bytes fit in `max_bytes` (always at least one if any is pending).
pub fn batch_after(histories: &[&Topic], after_id: EventId, max_bytes: usize) -> Vec<Arc<Message>> {
    batch_after_counted(histories, after_id, max_bytes, &mut 0)
}

/// [`batch_after`], adding to `looked_at` each message it takes off a history: the
/// work of the batch, which the tests count instead of timing it.
fn batch_after_counted(
    histories: &[&Topic],
    after_id: EventId,
    max_bytes: usize,
    looked_at: &mut usize,
) -> Vec<Arc<Message>> {
    let mut cursors: Vec<_> = histories
        .iter()
        .map(|topic| topic.messages_after(after_id).peekable())
        .collect();
    // The next message of each history, the smallest id on top.
    let mut heads: BinaryHeap<Reverse<(EventId, usize)>> = cursors
        .iter_mut()
        .enumerate()
        .filter_map(|(index, cursor)| Some(Reverse((cursor.peek()?.id, index))))
        .collect();
    let mut batch: Vec<Arc<Message>> = Vec::new();
    let mut bytes = 0;
    while let Some(Reverse((id, index))) = heads.pop() {
        let cursor = &mut cursors[index];
        let message = cursor.next().expect("a head is a message of its history");
        *looked_at += 1;
        if let Some(next) = cursor.peek() {
            heads.push(Reverse((next.id, index)));
        }
        // The same message, met again in another of its topics.
        if batch.last().is_some_and(|last| last.id == id) {
            continue;
        }
        if !batch.is_empty() && bytes + message.encoded.len() > max_bytes {
            break;
        }
        bytes += message.encoded.len();
        batch.push(Arc::clone(message));
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A topic holding messages with these ids, each `size` bytes encoded.
    fn topic(ids: &[u64], size: usize) -> Topic {
        let mut topic = Topic::default();
        for &id in ids {
            topic.push(Arc::new(Message {
                id: EventId::counted(id),
                topics: Box::new([]),
                encoded: vec![b'x'; size].into_boxed_slice(),
                held_since: std::time::Instant::now(),
            }));
        }
        topic
    }

    fn ids(batch: &[Arc<Message>]) -> Vec<u64> {
        batch.iter().map(|message| message.id.seq).collect()
    }

    #[test]
    fn histories_merge_in_id_order_with_each_shared_message_once() {
        let a = topic(&[3, 5, 9], 10);
        let b = topic(&[4, 5, 7, 11], 10);
        let c = topic(&[], 10);
        let all = batch_after(&[&a, &b, &c], EventId::ZERO, 1000);
        assert_eq!(ids(&all), [3, 4, 5, 7, 9, 11]);
        let after_five = batch_after(&[&a, &b, &c], EventId::counted(5), 1000);
        assert_eq!(ids(&after_five), [7, 9, 11]);
        assert!(batch_after(&[&a, &b], EventId::counted(11), 1000).is_empty());
        assert!(batch_after(&[], EventId::ZERO, 1000).is_empty());
    }

    #[test]
    fn a_batch_stops_at_the_budget_but_always_holds_one_message() {
        let a = topic(&[1, 3, 5], 40);
        let b = topic(&[2, 3, 4], 40);
        // 100 bytes: two messages of 40; the shared 3 is counted once.
        assert_eq!(ids(&batch_after(&[&a, &b], EventId::ZERO, 100)), [1, 2]);
        assert_eq!(
            ids(&batch_after(&[&a, &b], EventId::counted(2), 120)),
            [3, 4, 5]
        );
        let huge = topic(&[8], 500);
        assert_eq!(ids(&batch_after(&[&huge], EventId::ZERO, 100)), [8]);
    }

    /// Against the obvious way (gather, sort, deduplicate), on histories with every
    /// kind of overlap, resuming from every id.
    #[test]
    fn the_merge_agrees_with_sorting_everything() {
        let histories: Vec<Topic> = (1..=4u64)
            .map(|step| {
                let ids: Vec<u64> = (1..60).filter(|id| id % step == 0 || id % 7 == 0).collect();
                topic(&ids, 10)
            })
            .collect();
        let refs: Vec<&Topic> = histories.iter().collect();
        for after in 0..60 {
            for budget in [10, 35, 1000] {
                let mut expected: Vec<u64> = histories
                    .iter()
                    .flat_map(|topic| topic.history.iter().map(|message| message.id.seq))
                    .filter(|&id| id > after)
                    .collect();
                expected.sort_unstable();
                expected.dedup();
                expected.truncate((budget / 10).max(1));
                let merged = batch_after(&refs, EventId::counted(after), budget);
                assert_eq!(ids(&merged), expected, "after {after}, budget {budget}");
            }
        }
    }

    /// Issue 20, item 6, counted (issue 25: no test times anything): the issue's
    /// figures, 1,000 messages of 40 KB published to the same 32 topics, replayed in
    /// 64 KiB batches as a stream does. Gathering and sorting every pending message
    /// for each batch looked at all of them, 32 x 500,500 over the replay; merged, a
    /// batch looks at each copy of what it sends, plus at most one head per topic.
    #[test]
    fn replaying_thirty_two_topics_looks_at_each_copy_once_not_the_backlog() {
        const MESSAGES: u64 = 1000;
        const TOPICS: usize = 32;
        let mut histories: Vec<Topic> = (0..TOPICS).map(|_| Topic::default()).collect();
        for id in 1..=MESSAGES {
            let message = Arc::new(Message {
                id: EventId::counted(id),
                topics: Box::new([]),
                encoded: vec![b'x'; 40_000].into_boxed_slice(),
                held_since: std::time::Instant::now(),
            });
            histories
                .iter_mut()
                .for_each(|topic| topic.push(Arc::clone(&message)));
        }
        let refs: Vec<&Topic> = histories.iter().collect();
        let replay = |followed: &[&Topic]| {
            let (mut after, mut sent, mut batches, mut looked_at) = (EventId::ZERO, 0, 0, 0);
            loop {
                let batch = batch_after_counted(followed, after, 64 * 1024, &mut looked_at);
                let Some(last) = batch.last() else { break };
                after = last.id;
                sent += batch.len();
                batches += 1;
            }
            assert_eq!(sent, MESSAGES as usize, "every message once");
            (batches, looked_at)
        };
        let (batches, one) = replay(&refs[..1]);
        assert!(
            one <= MESSAGES as usize + batches,
            "one topic looked at {one}"
        );
        let (batches, thirty_two) = replay(&refs);
        let bound = TOPICS * (MESSAGES as usize + batches);
        assert!(
            thirty_two <= bound,
            "32 topics looked at {thirty_two} > {bound}"
        );
        // The old way's count, for scale: the bound is 250 times smaller.
        assert!(bound * 250 < TOPICS * (MESSAGES * (MESSAGES + 1) / 2) as usize);
    }
}
