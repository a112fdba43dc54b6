//! tokenprobe: conformance checks and load tests for OAuth 2.0 token endpoints.
//!
//! The crate is a pipeline, one module per stage (docs/architecture.md,
//! docs/style.md): scenario text → parsed model → run plan → execution →
//! results → reports. The binary in `main.rs` only parses arguments and maps
//! the result to an exit code.

// Diagnostics are large but only travel on the cold error path of loading files.
#![allow(clippy::result_large_err)]

pub mod catalogue;
pub mod check;
pub mod cli;
pub mod diag;
pub mod dpop;
pub mod error;
pub mod exit;
pub mod interrupt;
pub mod load;
pub mod markup;
pub mod mock;
pub mod oauth;
pub mod redact;
pub mod report;
pub mod scenario;
pub mod secret;
pub mod target;
pub mod verdict;
pub mod wire;
pub mod yaml;
