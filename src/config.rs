//! Every setting the server has, and its default.
//!
//! Every limit and interval that a flag can change lives here, so that tests can
//! shrink them to milliseconds and `cli.rs` can change them from the command line.
//! Limits that no flag changes are constants beside the code they bound, where their
//! reason is written: the sizes of a topic name and of one request's topic list
//! (`MAX_TOPIC_BYTES`, `MAX_TOPICS_PER_REQUEST`, `pubsub/topic.rs`), what a held
//! message is charged (`MESSAGE_OVERHEAD_BYTES`, ibid.), one delivery's batch
//! (`MAX_BATCH_BYTES`, `pubsub/hub.rs`), an event type (`MAX_EVENT_TYPE_BYTES`,
//! `pubsub/publish.rs`), the waiting room (`WAITING_ROOM_SOCKETS`, `limits.rs`), the
//! notes removed topics leave (`MAX_NOTES`, `pubsub/forgotten.rs`), the RESP reader's
//! bounds (`redis/resp.rs`), the JSON reader's depth (`auth/json.rs`), the shortest
//! secret (`MIN_SECRET_BYTES`, `auth/jwt.rs`) and the longest minted token
//! (`MAX_TTL`, `mint.rs`).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::auth::patterns::Pattern;
use crate::redis::url::RedisUrl;

// `Secret` has its own module so that `redis/url.rs` can use it without depending on
// the whole configuration; settings that hold one are declared here, so it is
// reachable from here too.
pub use crate::secret::Secret;

/// The address we listen on unless told otherwise: loopback, so a first `make run`
/// is not reachable from the network.
pub const DEFAULT_BIND: &str = "127.0.0.1";
/// The port from the seed tutorial.
pub const DEFAULT_PORT: u16 = 5000;
/// Time between two events of a demo stream (see `sse/feeds.rs`).
pub const DEFAULT_INTERVAL_MS: u64 = 1000;
/// How many events the counter stream sends before `event: close`.
pub const DEFAULT_COUNT: u64 = 5;
/// Proxies commonly cut connections that are silent for 30-60 s; 15 s stays under that.
pub const DEFAULT_HEARTBEAT_S: u64 = 15;
/// The reconnection delay we ask browsers to use (the `retry:` field).
pub const DEFAULT_RETRY_MS: u64 = 3000;
/// The whole request head must arrive within this time.
pub const DEFAULT_HEAD_TIMEOUT_S: u64 = 10;
/// A single write that cannot finish in this time means the client stopped reading.
pub const DEFAULT_WRITE_TIMEOUT_S: u64 = 10;
/// How many published messages each topic keeps for replay.
pub const DEFAULT_HISTORY: usize = 1000;
/// The bytes all topics' histories may hold together.
pub const DEFAULT_HISTORY_BYTES: usize = 64 * 1024 * 1024;
/// How many topics may exist at once (a topic exists while it has a follower or a
/// held message).
pub const DEFAULT_MAX_TOPICS: usize = 100_000;
/// How long a published message is held for replay (`--history-ttl-s`): a reconnect
/// comes within seconds or minutes; an hour covers a laptop's lid closed over lunch.
pub const DEFAULT_HISTORY_TTL_S: u64 = 3600;
/// One token subject's share of `--max-topics` unless `--max-topics-per-subject`
/// says otherwise: a hundredth (1,000 of the default 100,000), far more than an app
/// gives one user, and it takes a hundred subjects at their cap to fill the table.
pub const DEFAULT_SUBJECT_SHARE_DIVISOR: usize = 100;
/// How often a demo stream checks that its client is still connected (a
/// subscription's client is watched by the kernel instead, see `sse/watch.rs`). The
/// check is one non-blocking `read` (see `sse/stream.rs`); a departed client's slot is
/// free again within about this time.
pub const DEFAULT_CLIENT_CHECK_MS: u64 = 1000;
/// How long data sent to a client may stay unacknowledged before the kernel gives up
/// on the connection (`TCP_USER_TIMEOUT`, see `vanish.rs`). With the heartbeat, a
/// client that vanishes without a word is freed within 15 + 20 = 35 s.
pub const DEFAULT_VANISH_TIMEOUT_S: u64 = 20;
/// How long a stream that finds every stream slot taken (or a connection that finds
/// every request slot taken) waits for one to free up before it is refused.
pub const DEFAULT_ADMISSION_WAIT_MS: u64 = 500;
/// Short requests served at once, apart from streams: it lives beside the OS limits,
/// whose budgets it comes out of (`limits.rs`).
pub use crate::limits::DEFAULT_MAX_REQUESTS;
/// One client address's share of `--max-requests` and of `--max-clients`, unless
/// `--max-requests-per-client` or `--max-streams-per-client` says otherwise: a
/// quarter, so that it takes four addresses, not one, to fill the server (`shares.rs`).
pub const DEFAULT_CLIENT_SHARE_DIVISOR: usize = 4;
/// How many subscribers the wake-up relay keeps woken at once (see `pubsub/relay.rs`).
pub const DEFAULT_RELAY_WIDTH: usize = 4;
/// The largest body `POST /publish` accepts.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// The largest request head (request line plus headers) we read.
pub const DEFAULT_MAX_HEAD_BYTES: usize = 8 * 1024;
/// The most header lines a request head may carry.
pub const DEFAULT_MAX_HEADER_LINES: usize = 100;
/// How long Ctrl-C waits for open streams to finish before the process exits anyway.
pub const DEFAULT_SHUTDOWN_GRACE_MS: u64 = 1000;
/// At shutdown, each stream's last `retry:` is drawn from `--retry-ms` up to this much
/// more, so that the clients of a stopped instance come back spread over this time.
pub const DEFAULT_DRAIN_SPREAD_S: u64 = 10;
/// After SIGTERM (or Ctrl-C), how long the server goes on accepting while `/readyz`
/// answers 503, so that a load balancer's probe sees it and sends new clients
/// elsewhere before the open streams end (see `server.rs`).
pub const DEFAULT_DRAIN_WINDOW_S: u64 = 5;
/// Stack reserved for each client thread. Only the pages a thread touches become
/// resident; a small reservation keeps the address space of 10,000 threads modest.
pub const DEFAULT_THREAD_STACK_BYTES: usize = 128 * 1024;

/// The Redis Stream that holds the shared log (`--redis-key`).
pub const DEFAULT_REDIS_KEY: &str = "sse:log";
/// About how many messages the shared log keeps (Redis trims the oldest beyond it).
pub const DEFAULT_REDIS_MAX_LEN: usize = 100_000;
/// The most messages one reconnect replays (memory and log alike): a client that
/// sends an old `Last-Event-ID` gets the newest ones, after a `missed` event.
pub const DEFAULT_MAX_REPLAY: usize = crate::pubsub::missed::DEFAULT_MAX_REPLAY;
/// Replays from the Redis log that may run at once; a stream that finds them all
/// taken waits a little, then ends, and its browser comes back after `retry:`.
pub const DEFAULT_MAX_LOG_REPLAYS: usize = 8;
/// About the most bytes one replay reads from the Redis log, whatever its topics
/// (`redis/replay.rs`): about what the kernel may buffer for one socket, so a replay
/// costs Redis no more than its connection can hold.
pub const DEFAULT_MAX_REPLAY_BYTES: usize = 4 * 1024 * 1024;
/// The bytes all replays from the log may hold in memory together
/// (`redis/replay_memory.rs`): as much as the histories, so a crowd of slow readers
/// replaying at once costs at most what the hub may hold.
pub const DEFAULT_REPLAY_MEMORY_BYTES: usize = DEFAULT_HISTORY_BYTES;
/// The bytes the Redis log may hold, as a multiple of `--history-bytes`, unless
/// `--redis-max-bytes` says otherwise: the log outlives every instance's memory, but
/// not by more than this.
pub const DEFAULT_REDIS_MAX_BYTES_PER_HISTORY_BYTE: usize = 4;

/// The settings of one server.
/// The Mercure hub's resource identifier by default: the hub's own URL, as the spec
/// recommends (`mercure/`).
pub const DEFAULT_MERCURE_RESOURCE: &str = "https://localhost/.well-known/mercure";
/// The one issuer whose Mercure tokens are accepted, by default.
pub const DEFAULT_MERCURE_ISSUER: &str = "https://localhost";
/// The cookie a browser's Mercure token comes in, by default: the name the spec
/// recommends.
pub const DEFAULT_MERCURE_COOKIE: &str = "__Secure-mercure_access_token";
/// Distinct URL patterns the Mercure hub holds at once, by default: each is evaluated
/// for the updates on its host, so their number is what a publish costs.
pub const DEFAULT_MERCURE_MAX_PATTERNS: usize = 1024;
/// Distinct URL patterns one client address may hold, by default: one full subscribe
/// (64 matchers, `mercure/subscribe.rs`).
pub const DEFAULT_MERCURE_PATTERNS_PER_CLIENT: usize = 64;
/// Distinct URL patterns one token subject may hold, by default.
pub const DEFAULT_MERCURE_PATTERNS_PER_SUBJECT: usize = 64;

/// The Mercure hub's settings (see `mercure/`).
#[derive(Clone, Debug)]
pub struct MercureSettings {
    /// The HS256 key Mercure tokens are signed with (`--mercure-key`); without it,
    /// `--auth-secret`'s. With neither, no token can be checked: nobody may publish.
    pub key: Option<Secret>,
    /// The `iss` a token must carry.
    pub issuer: String,
    /// The resource identifier `aud` must hold, which is also the hub's URL: relative
    /// topics and patterns resolve against it, and its path is the reserved namespace.
    pub resource: String,
    /// The cookie a browser sends its token in.
    pub cookie: String,
    /// Distinct URL patterns held at once (`--mercure-max-patterns`).
    pub max_patterns: usize,
    /// Distinct URL patterns one client address may hold (`--mercure-patterns-per-client`).
    pub patterns_per_client: usize,
    /// Distinct URL patterns one token subject may hold (`--mercure-patterns-per-subject`).
    pub patterns_per_subject: usize,
    /// Whether subscription events are published and the subscriptions API answers
    /// (`--mercure-subscriptions`).
    pub subscriptions: bool,
}

impl Default for MercureSettings {
    fn default() -> MercureSettings {
        MercureSettings {
            key: None,
            issuer: DEFAULT_MERCURE_ISSUER.into(),
            resource: DEFAULT_MERCURE_RESOURCE.into(),
            cookie: DEFAULT_MERCURE_COOKIE.into(),
            max_patterns: DEFAULT_MERCURE_MAX_PATTERNS,
            patterns_per_client: DEFAULT_MERCURE_PATTERNS_PER_CLIENT,
            patterns_per_subject: DEFAULT_MERCURE_PATTERNS_PER_SUBJECT,
            subscriptions: false,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    /// The IP address to listen on.
    pub bind: IpAddr,
    /// The TCP port; 0 asks the OS for a free one.
    pub port: u16,
    /// Time between events of a demo stream.
    pub interval: Duration,
    /// Events in the counter stream before it closes.
    pub count: u64,
    /// Longest silence on a stream before a `: keep-alive` comment is sent.
    pub heartbeat_interval: Duration,
    /// The `retry:` value sent at the start of every stream.
    pub retry: Duration,
    /// Deadline for a whole request head (and for a request body).
    pub head_timeout: Duration,
    /// Deadline for one write to a client.
    pub write_timeout: Duration,
    /// Messages each topic keeps for replay after a reconnect.
    pub history: usize,
    /// Bytes all histories together may hold.
    pub history_bytes: usize,
    /// Topics that may exist at once.
    pub max_topics: usize,
    /// Topics one token subject may own; `None`: a hundredth of `max_topics` (see
    /// [`Config::topics_per_subject`]).
    pub max_topics_per_subject: Option<usize>,
    /// How long a held message stays in the histories.
    pub history_ttl: Duration,
    /// How often a demo stream checks whether its client has left.
    pub client_check: Duration,
    /// How long sent data may stay unacknowledged before the connection is aborted;
    /// `None` leaves the kernel's default (about 15 minutes).
    pub vanish_timeout: Option<Duration>,
    /// How long a stream (or a connection) waits for a slot when the server is full.
    pub admission_wait: Duration,
    /// Subscribers woken at once by the relay.
    pub relay_width: usize,
    /// Largest accepted `POST /publish` body, in bytes.
    pub max_message_bytes: usize,
    /// Largest accepted request head, in bytes (431 beyond).
    pub max_head_bytes: usize,
    /// Most header lines in a request head (431 beyond).
    pub max_header_lines: usize,
    /// Most streams at once; the next one waits `admission_wait` for a slot, then is
    /// refused (see `admission.rs`).
    pub max_clients: usize,
    /// Most connections reading or answering requests at once, apart from streams;
    /// the next one waits in the waiting room (see `admission.rs`).
    pub max_requests: usize,
    /// Request slots (and as many idle keep-alive connections) one client address may
    /// hold; `None`: a quarter of `max_requests` (see [`Config::requests_per_client`]).
    pub max_requests_per_client: Option<usize>,
    /// Streams one client address may hold; `None`: a quarter of `max_clients`.
    pub max_streams_per_client: Option<usize>,
    /// When set, publishing needs `Authorization: Bearer <token>`.
    pub token: Option<Secret>,
    /// When set, tokens signed with it say who may follow and publish which topics
    /// (see `auth/`).
    pub auth_secret: Option<Secret>,
    /// Topics anyone may follow without a token when `auth_secret` is set.
    pub public_topics: Vec<Pattern>,
    /// Origins, besides the server's own, whose pages may publish (`*` for any).
    pub allowed_origins: Vec<String>,
    /// Peers whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed (a reverse
    /// proxy in front, see `http/forwarded.rs`).
    pub trusted_proxies: Vec<IpAddr>,
    /// When set, instances share one log in this Redis (see `redis/`).
    pub redis: Option<RedisUrl>,
    /// The key of the Redis Stream that holds the log.
    pub redis_key: String,
    /// About how many messages the log keeps.
    pub redis_max_len: usize,
    /// The most messages one reconnect replays.
    pub max_replay: usize,
    /// Replays from the Redis log that may run at once.
    pub max_log_replays: usize,
    /// About the most bytes one replay reads from the Redis log.
    pub max_replay_bytes: usize,
    /// The bytes all replays from the log may hold in memory together.
    pub replay_memory_bytes: usize,
    /// The bytes the Redis log may hold; `None`: four times `history_bytes` (see
    /// [`Config::redis_max_bytes`]).
    pub redis_max_bytes: Option<usize>,
    /// How long shutdown waits for open streams to end.
    pub shutdown_grace: Duration,
    /// Stack size of each client thread.
    pub thread_stack_bytes: usize,
    /// Host names, besides loopback names and IP addresses, that requests may name in
    /// `Host` (lower case, no port). An open server, or any server given one, answers
    /// no other (see `http/host.rs`).
    pub allowed_hosts: Vec<String>,
    /// How far past `retry` the last `retry:` of a stream ended by shutdown may reach.
    pub drain_spread: Duration,
    /// After the stop signal and before the streams end: new streams are refused and
    /// `/readyz` answers 503, while publishes and open streams go on.
    pub drain_window: Duration,
    /// Whether `--max-clients` was given (else the cap came from the OS limits), so
    /// that a warning blames the flag only when someone passed it.
    pub max_clients_from_flag: bool,
    /// The operator asked for an open server (anyone may publish) on purpose: needed
    /// on a non-loopback address or behind a proxy (see `cli.rs`).
    pub open: bool,
    /// Whether the demo routes (the counter, the clock, the demo page) are served.
    pub demo: bool,
    /// When set, `/metrics`, `/stats`, `/healthz` and `/readyz` are served on this
    /// address alone, and not on the public one (see `routes.rs`).
    pub admin_bind: Option<SocketAddr>,
    /// The Mercure hub's settings.
    pub mercure: MercureSettings,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            bind: DEFAULT_BIND
                .parse()
                .expect("DEFAULT_BIND is a valid IP address"),
            port: DEFAULT_PORT,
            interval: Duration::from_millis(DEFAULT_INTERVAL_MS),
            count: DEFAULT_COUNT,
            heartbeat_interval: Duration::from_secs(DEFAULT_HEARTBEAT_S),
            retry: Duration::from_millis(DEFAULT_RETRY_MS),
            head_timeout: Duration::from_secs(DEFAULT_HEAD_TIMEOUT_S),
            write_timeout: Duration::from_secs(DEFAULT_WRITE_TIMEOUT_S),
            history: DEFAULT_HISTORY,
            history_bytes: DEFAULT_HISTORY_BYTES,
            max_topics: DEFAULT_MAX_TOPICS,
            max_topics_per_subject: None,
            history_ttl: Duration::from_secs(DEFAULT_HISTORY_TTL_S),
            client_check: Duration::from_millis(DEFAULT_CLIENT_CHECK_MS),
            vanish_timeout: Some(Duration::from_secs(DEFAULT_VANISH_TIMEOUT_S)),
            admission_wait: Duration::from_millis(DEFAULT_ADMISSION_WAIT_MS),
            relay_width: DEFAULT_RELAY_WIDTH,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_head_bytes: DEFAULT_MAX_HEAD_BYTES,
            max_header_lines: DEFAULT_MAX_HEADER_LINES,
            max_clients: crate::limits::default_max_clients(),
            max_requests: DEFAULT_MAX_REQUESTS,
            max_requests_per_client: None,
            max_streams_per_client: None,
            token: None,
            auth_secret: None,
            public_topics: Vec::new(),
            allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            redis: None,
            redis_key: DEFAULT_REDIS_KEY.into(),
            redis_max_len: DEFAULT_REDIS_MAX_LEN,
            max_replay: DEFAULT_MAX_REPLAY,
            max_log_replays: DEFAULT_MAX_LOG_REPLAYS,
            max_replay_bytes: DEFAULT_MAX_REPLAY_BYTES,
            replay_memory_bytes: DEFAULT_REPLAY_MEMORY_BYTES,
            redis_max_bytes: None,
            shutdown_grace: Duration::from_millis(DEFAULT_SHUTDOWN_GRACE_MS),
            thread_stack_bytes: DEFAULT_THREAD_STACK_BYTES,
            allowed_hosts: Vec::new(),
            drain_spread: Duration::from_secs(DEFAULT_DRAIN_SPREAD_S),
            drain_window: Duration::from_secs(DEFAULT_DRAIN_WINDOW_S),
            max_clients_from_flag: false,
            open: false,
            demo: true,
            admin_bind: None,
            mercure: MercureSettings::default(),
        }
    }
}

impl Config {
    /// Request slots one client address may hold (`shares.rs`).
    pub fn requests_per_client(&self) -> usize {
        self.max_requests_per_client
            .unwrap_or((self.max_requests / DEFAULT_CLIENT_SHARE_DIVISOR).max(1))
    }

    /// Topics one token subject may own (`pubsub/owners.rs`).
    pub fn topics_per_subject(&self) -> usize {
        self.max_topics_per_subject
            .unwrap_or((self.max_topics / DEFAULT_SUBJECT_SHARE_DIVISOR).max(1))
    }

    /// Streams one client address may hold (`shares.rs`).
    pub fn streams_per_client(&self) -> usize {
        self.max_streams_per_client
            .unwrap_or((self.max_clients / DEFAULT_CLIENT_SHARE_DIVISOR).max(1))
    }

    /// The bytes the Redis log may hold: `--redis-max-bytes`, or four times
    /// `--history-bytes`.
    pub fn redis_max_bytes(&self) -> usize {
        self.redis_max_bytes.unwrap_or(
            self.history_bytes
                .saturating_mul(DEFAULT_REDIS_MAX_BYTES_PER_HISTORY_BYTE),
        )
    }
}
