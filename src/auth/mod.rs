//! Chapter 4: authorization. Who may read and publish which topics.
pub mod base64url;
pub mod hmac;
pub mod json;
pub mod jwt;
pub mod patterns;
pub mod sha256;
