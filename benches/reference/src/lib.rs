//! The async reference for `make bench`: what the same job costs in idiomatic async
//! Rust (axum + tokio, one `broadcast` channel per topic).
//!
//! Routes, as in sse-server: `GET /subscribe?topic=T` (repeatable; `default` if none)
//! streams `id:`/`data:` events (an `event:` line when the publish named one) with a
//! `retry:` first and `: keep-alive` comments; `POST /publish?topic=T&event=E` answers
//! `202 {"id": "N", "subscribers": K}`.
//!
//! Two binaries run it: `sse-reference` (`src/main.rs`) on the runtime axum's own
//! examples and most of its users start, `#[tokio::main]` (multi-threaded, one worker
//! per CPU the process may use: one, when `make bench` pins it to a core), and
//! `sse-reference-current-thread` (`src/bin/current_thread.rs`) on tokio's
//! single-threaded runtime, which the bench once used and keeps as a labelled extra.
//! Usage of both: `PORT [HEARTBEAT_SECS]`. They begin a graceful shutdown on SIGINT.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use tokio::sync::broadcast;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

/// Messages a slow subscriber may fall behind before it skips (tokio's "lagged").
const CHANNEL_CAPACITY: usize = 1024;

/// One published message, shared by every receiver of its channel.
struct Message {
    id: u64,
    event: Option<String>,
    data: String,
}

#[derive(Clone)]
struct App {
    topics: Arc<Mutex<HashMap<String, broadcast::Sender<Arc<Message>>>>>,
    next_id: Arc<AtomicU64>,
    heartbeat: Duration,
}

impl App {
    fn channel(&self, topic: &str) -> broadcast::Sender<Arc<Message>> {
        let mut topics = self.topics.lock().unwrap();
        topics
            .entry(topic.to_string())
            .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
            .clone()
    }
}

fn topics_of(params: &[(String, String)]) -> Vec<String> {
    let mut topics: Vec<String> = params
        .iter()
        .filter(|(key, _)| key == "topic")
        .map(|(_, value)| value.clone())
        .collect();
    if topics.is_empty() {
        topics.push("default".into());
    }
    topics
}

async fn subscribe(
    State(app): State<App>,
    Query(params): Query<Vec<(String, String)>>,
) -> Sse<impl tokio_stream::Stream<Item = Result<Event, Infallible>>> {
    let receivers = topics_of(&params)
        .iter()
        .map(|topic| BroadcastStream::new(app.channel(topic).subscribe()))
        .collect::<Vec<_>>();
    let merged = tokio_stream::StreamMap::from_iter(receivers.into_iter().enumerate());
    let retry = tokio_stream::once(Ok(Event::default().retry(Duration::from_millis(3000))));
    let events = merged.filter_map(|(_, item)| {
        let message = item.ok()?;
        let event = Event::default().id(message.id.to_string());
        let event = match &message.event {
            Some(name) => event.event(name),
            None => event,
        };
        Some(Ok(event.data(message.data.as_str())))
    });
    Sse::new(retry.chain(events))
        .keep_alive(KeepAlive::new().interval(app.heartbeat).text("keep-alive"))
}

async fn publish(
    State(app): State<App>,
    Query(params): Query<Vec<(String, String)>>,
    body: String,
) -> (StatusCode, String) {
    let id = app.next_id.fetch_add(1, Ordering::Relaxed) + 1;
    let event = params
        .iter()
        .find(|(key, _)| key == "event")
        .map(|(_, value)| value.clone());
    let message = Arc::new(Message {
        id,
        event,
        data: body,
    });
    let mut subscribers = 0;
    for topic in topics_of(&params) {
        subscribers += app.channel(&topic).send(Arc::clone(&message)).unwrap_or(0);
    }
    (
        StatusCode::ACCEPTED,
        format!("{{\"id\": \"{id}\", \"subscribers\": {subscribers}}}\n"),
    )
}

/// Serves until SIGINT, on whichever runtime the binary started; the port and the
/// heartbeat come from the command line.
pub async fn serve_from_args() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(5001);
    let heartbeat_secs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(15);
    let app = App {
        topics: Arc::default(),
        next_id: Arc::default(),
        heartbeat: Duration::from_secs(heartbeat_secs),
    };
    let router = Router::new()
        .route("/subscribe", get(subscribe))
        .route("/publish", post(publish))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind 127.0.0.1");
    eprintln!(
        "Server running at http://{}/",
        listener.local_addr().unwrap()
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .expect("serve");
}
