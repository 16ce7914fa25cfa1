//! Chapter 6: Mercure, the open protocol for publishing over Server-Sent Events, on
//! the same server (the IETF draft `draft-dunglas-mercure`; "the spec" in these files).
//!
//! Using it, as an operator or an app: docs/mercure.md.
//!
//! Any Mercure publisher (Symfony, API Platform, a `curl -d topic=...`) and any Mercure
//! page can use this server at `/.well-known/mercure` unchanged. The chapter teaches
//! what a protocol someone else wrote asks of a server: reading its text for every
//! MUST, and what the project's own API (`/subscribe`, `/publish`) chose differently.
//! Mercure topics are a namespace of their own: `match=news` never sees
//! `/publish?topic=news`, and no bridge is offered, because the two disagree on what a
//! topic is (any UTF-8 there, a short name here), on ids (any string there), and on who
//! may read (a per-update `private` flag there, per-topic grants here).
//!
//! Reading order:
//!
//! - [`url`]: the WHATWG URL parser: a topic as a browser would read it.
//! - [`urlpattern`]: WHATWG URL Patterns (`https://example.com/books/:id`), compiled to
//!   matchers that run in time linear in the URL.
//! - [`text`], [`form`], [`namespace`]: the characters a topic may hold, the form
//!   encoding both directions, and the hub's own URL and reserved path.
//! - [`matcher`]: `exact`, `urlpattern` and `*`.
//! - [`token`], [`access`]: access tokens (RFC 9068, RFC 9396), where a request's
//!   token is, and RFC 6750's answers.
//! - [`update`], [`ids`]: the publish form and the event it becomes.
//! - [`index`], [`history`], [`hub`]: who gets which update, what is kept for replay,
//!   and the hub itself; [`subscriptions`]: the documents of active subscriptions and
//!   their events.
//! - [`publish`], [`subscribe`], [`stream`], [`subscriptions_api`]: the four things a
//!   client can ask for.
//! - [`log`]: updates through the shared Redis log, for many instances.
//! - [`metadata`]: the protected resource metadata a client discovers the hub by.
//!
//! It uses chapter 1 (requests, responses), chapter 2 (the event encoder and the
//! stream), chapter 4's HMAC, base64url and JSON reader, and chapter 5's log; none of
//! chapter 3 (the project's hub), whose topics and ids are not Mercure's.

pub mod access;
pub mod form;
pub mod history;
pub mod hub;
pub mod ids;
pub mod index;
pub mod log;
pub mod matcher;
pub mod metadata;
pub mod namespace;
pub mod publish;
pub mod stream;
pub mod subscribe;
pub mod subscriptions;
pub mod subscriptions_api;
pub mod text;
pub mod token;
pub mod update;
pub mod url;
pub mod urlpattern;
