//! Replay from the log: when a subscriber resumes from an id older than anything its
//! instance holds in memory (an instance that just started, or a browser that was away
//! a long time), the messages in between are read back from Redis (`XRANGE`), a page
//! at a time, and sent before the hub takes over (`Delivery::Gap`).

use std::io;

use log::{info, warn};

use crate::pubsub::event_id::EventId;
use crate::pubsub::topic::{TopicName, encode_with_id};
use crate::redis::log::RedisLog;
use crate::sse::stream::EventStream;

/// Log entries read per `XRANGE`.
const PAGE: usize = 500;

/// Sends `stream` the messages of `topics` after `after`, up to and including
/// `through`, from `log`. Only a failed write to the client is an error: if the log
/// cannot be read, the subscriber goes on without those messages, and the log says so.
pub fn replay(
    stream: &mut EventStream,
    log: &RedisLog,
    topics: &[TopicName],
    after: EventId,
    through: EventId,
    client: &str,
) -> io::Result<()> {
    match log.lost_after(after) {
        Ok(true) => info!("{client} GET /subscribe missed messages no longer in the log"),
        Ok(false) => {}
        Err(error) => {
            warn!(
                "{client} GET /subscribe: cannot replay from Redis ({error}); messages after {after} are skipped"
            );
            return Ok(());
        }
    }
    let mut position = after;
    while position < through {
        let page = match log.range(position, through, PAGE) {
            Ok(page) => page,
            Err(error) => {
                warn!("{client} GET /subscribe: replay from Redis stopped at {position} ({error})");
                return Ok(());
            }
        };
        let Some(last_id) = page.last_id else {
            break;
        };
        position = last_id;
        let events: Vec<Box<[u8]>> = page
            .entries
            .into_iter()
            .filter(|entry| entry.is_for(topics))
            .map(|entry| encode_with_id(entry.id, entry.event))
            .collect();
        if !events.is_empty() {
            let events: Vec<&[u8]> = events.iter().map(|event| &**event).collect();
            stream.send_encoded(&events)?;
        }
    }
    Ok(())
}
