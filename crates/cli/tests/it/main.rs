//! End-to-end tests: the real binary, real HTTP on loopback, real tokens.

mod api;
mod cli;
mod external_issuer;
mod import;
mod restart;
mod support;
mod token_endpoint;
