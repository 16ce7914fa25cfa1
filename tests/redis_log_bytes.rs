//! The Redis log is bounded in bytes as well as entries (`--redis-max-bytes`,
//! `redis/log_bytes.rs`), measured by Redis itself: its `used_memory`.

mod support;

use std::time::Duration;

use support::redis::RedisServer;
use support::{TestServer, fast_config, wait_for};

use sse_server::Config;
use sse_server::pubsub::event_id::EventId;
use sse_server::redis::url::RedisUrl;

const PUBLISHES: usize = 6000;
const BYTES: usize = 64 * 1024;
const HISTORY_BYTES: usize = 4 * 1024 * 1024;
const PUBLISHERS: usize = 4;

/// Redis's `used_memory`, less what its connections' buffers take (`mem_clients_normal`:
/// the publishers' requests and the tail's replies, which come and go with them).
fn log_memory(redis: &RedisServer) -> u64 {
    let used = redis.info("memory", "used_memory", "");
    used - redis.info("memory", "mem_clients_normal", "")
}

// Issue 23, item 5: --redis-max-len counted entries only; 1,000 publishes of 64 KiB
// took 82 MB of Redis memory, about 8 GB at the default entry cap.
#[test]
fn six_thousand_publishes_of_64_kib_leave_redis_within_the_byte_bound() {
    let redis = RedisServer::start(&[]);
    // The default bound: four times --history-bytes.
    let config = Config {
        redis: Some(RedisUrl::parse(&redis.url()).unwrap()),
        redis_key: "bytes".into(),
        history_bytes: HISTORY_BYTES,
        ..fast_config()
    };
    let bound = config.redis_max_bytes() as u64;
    assert_eq!(bound, 4 * HISTORY_BYTES as u64);
    let server = TestServer::start(config);
    let connected = wait_for(Duration::from_secs(10), || {
        server.stats().contains("\"connected\": true")
    });
    assert!(connected.is_some(), "{}", server.stats());
    let before = log_memory(&redis);

    // Four publishers at once, as four apps would.
    let body = "x".repeat(BYTES);
    let ids: Vec<EventId> = std::thread::scope(|scope| {
        let publishers: Vec<_> = (0..PUBLISHERS)
            .map(|_| {
                scope.spawn(|| {
                    (0..PUBLISHES / PUBLISHERS)
                        .map(|_| {
                            let response = server.publish(None, &body);
                            assert_eq!(response.status, 202, "{}", response.body_text());
                            let text = response.body_text();
                            let id = text.split("\"id\": \"").nth(1).unwrap();
                            EventId::parse(id.split('"').next().unwrap()).unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        publishers
            .into_iter()
            .flat_map(|publisher| publisher.join().unwrap())
            .collect()
    });
    let last_id = ids.iter().max().unwrap();
    // The tail trims as it reads: wait until it has read the last one.
    let caught_up = wait_for(Duration::from_secs(10), || {
        server
            .stats()
            .contains(&format!("\"last_id\": \"{last_id}\""))
    });
    assert!(caught_up.is_some(), "{}", server.stats());
    let after = log_memory(&redis);
    let entries = redis.xlen("bytes");
    let held = after.saturating_sub(before);
    eprintln!(
        "{PUBLISHES} publishes of {BYTES} bytes: Redis used_memory less its clients' {before} -> {after} ({held} for the log, bound {bound}); {entries} entries kept"
    );
    assert!(held <= bound, "the log holds {held} bytes, bound {bound}");
    // And the bound is not met by trimming everything: the log keeps at least half of
    // what fits.
    assert!(
        held >= bound / 2,
        "the log holds {held} bytes of a bound of {bound}"
    );
}
