//! The async reference on tokio's single-threaded runtime, a labelled extra in
//! `make bench` (see `lib.rs`): everything runs on the thread that calls `main`, with
//! no hand-off between a runtime's workers.

#[tokio::main(flavor = "current_thread")]
async fn main() {
    sse_reference::serve_from_args().await;
}
