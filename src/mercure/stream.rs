//! A Mercure subscriber's stream: the loop that runs on its connection's thread.
//!
//! ```text
//! HTTP/1.1 200 OK
//! Content-Type: text/event-stream
//! Mercure-Last-Event-ID: urn:uuid:...     only when the client sent a cursor
//!
//! retry: 3000
//!
//! id: urn:uuid:...                        what it missed, then every new update
//! data: ...
//!
//! : keep-alive                            after --heartbeat-s of silence
//! ```
//!
//! The stream ends when the client leaves, at shutdown, when the token it was opened
//! with expires (spec, "Subscribers": no later than `exp`), or when it falls
//! [`MAX_QUEUED`](crate::mercure::hub::MAX_QUEUED) updates behind. There is no `missed`
//! event here, unlike on `/subscribe`: a Mercure publisher may use any event type, so
//! the hub cannot take one for itself. A gap is told the Mercure way, in the
//! `Mercure-Last-Event-ID` answer to the reconnect (`earliest` when the asked-for id is
//! no longer held).

use std::io;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::mercure::hub::{Membership, MercureHub, Next};
use crate::mercure::log as mercure_log;
use crate::mercure::subscriptions::SubscriptionDoc;
use crate::redis::log::RedisLog;
use crate::sse::feeds::{ChapterStream, StreamEnd};
use crate::sse::stream::EventStream;
use crate::sse::watch::Watching;

/// The response header that carries the cursor (spec, "Reconciliation").
pub const LAST_EVENT_ID_HEADER: &str = "Mercure-Last-Event-ID";

/// A subscriber in the hub, and when its token stops counting.
pub struct MercureStream<'hub> {
    pub hub: &'hub MercureHub,
    pub membership: Membership<'hub>,
    /// `exp` of the token it was opened with (seconds since the Unix epoch).
    pub expires_at: Option<i64>,
    /// With `--redis`, the log its arrival was announced through, and its departure
    /// will be (`log.rs`); without, the hub announces both itself.
    pub log: Option<&'hub RedisLog>,
}

impl Drop for MercureStream<'_> {
    fn drop(&mut self) {
        if let Some(log) = self.log {
            let left: Vec<SubscriptionDoc> = self
                .membership
                .joined
                .iter()
                .map(|doc| SubscriptionDoc {
                    active: false,
                    ..doc.clone()
                })
                .collect();
            mercure_log::announce(log, &left);
        }
    }
}

impl ChapterStream for MercureStream<'_> {
    fn head_headers(&self) -> Vec<(&'static str, String)> {
        let Some(cursor) = self.membership.resumed_after.clone() else {
            return Vec::new();
        };
        // A page on another origin reading the stream with `fetch()` may read the
        // cursor only if the answer says so (WHATWG Fetch, CORS-safelisted headers).
        vec![
            (LAST_EVENT_ID_HEADER, cursor),
            (
                "Access-Control-Expose-Headers",
                LAST_EVENT_ID_HEADER.to_string(),
            ),
        ]
    }

    fn describe(&self) -> String {
        format!("Mercure subscriber {}", self.membership.subscriber_id)
    }

    fn run(
        &mut self,
        stream: &mut EventStream,
        watching: Option<&Watching>,
    ) -> io::Result<StreamEnd> {
        let no_alarm = AtomicBool::new(false);
        let alarm = watching.map_or(&no_alarm, Watching::alarm);
        let ends_at = self.expires_at.map(instant_of_unix);
        loop {
            let Some(wait) = stream.time_until_upkeep_or(ends_at) else {
                return Ok(StreamEnd::TokenExpired);
            };
            match self.hub.next(&self.membership, wait, alarm) {
                Next::Updates(updates) => {
                    let pieces: Vec<&[u8]> =
                        updates.iter().map(|update| &*update.encoded).collect();
                    stream.send_encoded(&pieces)?;
                }
                Next::Idle => stream.keep_alive(false)?,
                Next::CheckClient => {
                    stream.keep_alive(true)?;
                    watching.inspect(|watching| watching.rearm());
                }
                Next::FellBehind => {
                    // Counted as a client that stopped reading, which it is.
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "fell too far behind; resumes from the history",
                    ));
                }
                Next::Closed => return Ok(StreamEnd::ShuttingDown),
            }
        }
    }
}

/// The moment on the monotonic clock of `unix_secs` on the wall clock (now, if past).
fn instant_of_unix(unix_secs: i64) -> Instant {
    let at = UNIX_EPOCH + Duration::from_secs(unix_secs.max(0) as u64);
    Instant::now() + at.duration_since(SystemTime::now()).unwrap_or_default()
}
