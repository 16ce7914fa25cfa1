//! Chapter 6: Mercure, the open protocol for publishing over Server-Sent Events.
//!
//! Its `urlpattern` matcher needs URLs parsed the way browsers parse them, so this
//! chapter starts with them:
//!
//! - [`url`]: the WHATWG URL parser: a topic as a browser would read it.
//! - [`urlpattern`]: WHATWG URL Patterns (`https://example.com/books/:id`), compiled to
//!   matchers that run in time linear in the URL.

pub mod url;
pub mod urlpattern;
