//! Passwords and signing keys, kept out of logs.
//!
//! Settings (`--token`, `--auth-secret`) and a `redis://` URL's password both hold
//! one; neither needs the other to do so.

use std::fmt;

/// A password or signing key. Its `Debug` shows no more than that it is set, so a
/// configuration printed for debugging never leaks it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: impl Into<String>) -> Secret {
        Secret(secret.into())
    }

    /// The secret itself, for the one place that compares or signs with it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(redacted, {} bytes)", self.0.len())
    }
}
