//! What the histories, the topic table and the slots may hold, and each client's and subject's share.

use super::*;

pub const FLAGS: &[Flag] = &[
    Flag {
        name: "--history",
        value: "N",
        help: "messages each topic keeps for replay",
        default: || config::DEFAULT_HISTORY.to_string(),
        set: |config, value| set_positive(&mut config.history, value),
    },
    Flag {
        name: "--history-bytes",
        value: "N",
        help: "bytes all histories may hold together",
        default: || config::DEFAULT_HISTORY_BYTES.to_string(),
        set: |config, value| set_positive(&mut config.history_bytes, value),
    },
    Flag {
        name: "--max-topics",
        value: "N",
        help: "topics at once; with --auth-secret, half of them for clients without a token (then refused, or a token holder takes an unfollowed topic of the subject owning the most; with --redis a publish still goes to the log)",
        default: || config::DEFAULT_MAX_TOPICS.to_string(),
        set: |config, value| set_positive(&mut config.max_topics, value),
    },
    Flag {
        name: "--max-topics-per-subject",
        value: "N",
        help: "topics one token subject may own (then refused)",
        default: || "a hundredth of --max-topics".into(),
        set: |config, value| set_positive_option(&mut config.max_topics_per_subject, value),
    },
    Flag {
        name: "--history-ttl-s",
        value: "N",
        help: "held messages older than N s are dropped, and topics left empty with them",
        default: || config::DEFAULT_HISTORY_TTL_S.to_string(),
        set: |config, value| set_secs(&mut config.history_ttl, value),
    },
    Flag {
        name: "--max-message-bytes",
        value: "N",
        help: "largest publish body (413)",
        default: || config::DEFAULT_MAX_MESSAGE_BYTES.to_string(),
        set: |config, value| set_positive(&mut config.max_message_bytes, value),
    },
    Flag {
        name: "--max-clients",
        value: "N",
        help: "streams at once (then refused kindly)",
        default: || format!("{}, from OS limits", crate::limits::default_max_clients()),
        set: |config, value| {
            config.max_clients_from_flag = true;
            set_positive(&mut config.max_clients, value)
        },
    },
    Flag {
        name: "--max-requests",
        value: "N",
        help: "other requests at once, served even when streams are at the cap",
        default: || config::DEFAULT_MAX_REQUESTS.to_string(),
        set: |config, value| set_positive(&mut config.max_requests, value),
    },
    Flag {
        name: "--max-requests-per-client",
        value: "N",
        help: "requests (and idle keep-alive connections) one client address may hold; a --trusted-proxy has no limit",
        default: || "a quarter of --max-requests".into(),
        set: |config, value| set_positive_option(&mut config.max_requests_per_client, value),
    },
    Flag {
        name: "--max-streams-per-client",
        value: "N",
        help: "streams one client address may hold (then refused kindly)",
        default: || "a quarter of --max-clients".into(),
        set: |config, value| set_positive_option(&mut config.max_streams_per_client, value),
    },
    Flag {
        name: "--admission-wait-ms",
        value: "N",
        help: "when full, how long a new stream (or a connection in the waiting room) waits for a slot",
        default: || config::DEFAULT_ADMISSION_WAIT_MS.to_string(),
        set: |config, value| set_millis(&mut config.admission_wait, value),
    },
];
