//! End-to-end tests: the real binary, real HTTP on loopback, real tokens.

// A test that cannot go on should stop where it stands.
#![allow(clippy::unwrap_used)]

mod api;
mod cli;
mod external_issuer;
mod import;
mod restart;
mod support;
mod token_endpoint;
