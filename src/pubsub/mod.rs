//! # Chapter 3: publish and subscribe
//!
//! Using it, as an operator or an app: docs/topics.md.
//!
//! Topics, their histories, and who gets woken when a message arrives. Nothing here
//! touches a socket: the hub hands messages to subscriber threads, and each thread
//! writes to its own client.
//!
//! Read in this order:
//!
//! 1. [`topic`]: topic names and one topic's recent history; [`event_id`], the ids
//!    that order messages.
//! 2. [`hub`]: publishing, subscribing, replay after `Last-Event-ID`; [`subscription`],
//!    a subscriber's side: what is newer, taken in one look, then sleep until woken;
//!    [`budget`], which message goes when the histories hold too much; [`merge`], one
//!    batch from the histories of several topics; [`missed`], what a subscriber is
//!    told it missed, and how far back one reconnect replays; [`forgotten`], what a
//!    removed topic leaves behind so that stays true; [`owners`], how topics and the
//!    history budget are shared among token subjects; [`expiry`], held messages that
//!    outlive `--history-ttl-s`; [`subject`], who a client counts as; `room.rs`, room
//!    in a full topic table for another subject's topics.
//! 3. [`relay`]: the wake-up relay, how ten thousand sleeping threads are woken a
//!    few at a time.
//! 4. [`publish`]: `POST /publish`.

pub mod budget;
pub mod event_id;
pub mod expiry;
pub mod forgotten;
pub mod hub;
pub mod merge;
pub mod missed;
pub mod owners;
pub mod publish;
pub mod relay;
mod room;
pub mod subject;
pub mod subscription;
pub mod topic;

#[cfg(test)]
mod bounds_tests;
#[cfg(test)]
mod budget_tests;
