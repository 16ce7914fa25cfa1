//! Who a client is, for sharing topics and history fairly (`owners.rs`): a token's
//! subject, or anonymous. Its own small module so that topics can name their owner
//! without depending on the owners' table.

use std::sync::Arc;

/// Who a topic belongs to: `sub:` and a token's subject, or [`ANONYMOUS`].
pub type Subject = Arc<str>;

/// The subject of every client without a token (and of a token without `sub`).
pub const ANONYMOUS: &str = "anonymous";

/// The subject a token's `sub` names. The prefix keeps a token whose `sub` is
/// `anonymous` apart from clients without one.
pub fn subject_of(token_subject: Option<&str>) -> Subject {
    match token_subject {
        Some(sub) => Arc::from(format!("sub:{sub}")),
        None => Arc::from(ANONYMOUS),
    }
}

/// Whether `subject` is the one of clients without a token.
pub fn is_anonymous(subject: &str) -> bool {
    subject == ANONYMOUS
}
