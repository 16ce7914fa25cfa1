//! The async reference as axum's users write it: `#[tokio::main]`, tokio's default
//! multi-threaded runtime (see `lib.rs`).

#[tokio::main]
async fn main() {
    sse_reference::serve_from_args().await;
}
