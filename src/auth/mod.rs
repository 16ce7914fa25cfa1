//! Chapter 4: authorization. Who may follow and publish which topics.
//!
//! Using it, as an operator or an app: docs/topics.md ("Private topics: tokens").
//!
//! The app's backend signs a token that lists what its bearer may do; the server
//! checks the signature and the list on every `/subscribe` and `/publish`. Everything
//! a token needs is written here from the standards, in reading order:
//!
//! - [`sha256`]: the hash (FIPS 180-4).
//! - [`hmac`]: a keyed signature built from it (RFC 2104), and comparing in constant
//!   time.
//! - [`base64url`]: bytes as URL-safe text (RFC 4648 section 5).
//! - [`json`]: a strict reader for the token's two JSON objects (RFC 8259).
//! - [`patterns`]: `orders/*`, `users/{sub}/*`: which topics a claim covers.
//! - [`jwt`]: the token itself: HS256 only, signature before claims (RFC 7519, 7515,
//!   7518).
//! - [`gate`]: where a request's token is found, and the `401`/`403` decisions.

pub mod base64url;
pub mod gate;
pub mod hmac;
pub mod json;
pub mod jwt;
pub mod patterns;
pub mod sha256;
