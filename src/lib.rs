//! tokenprobe: conformance checks and load tests for OAuth 2.0 token endpoints.
//!
//! The crate is a pipeline, one module per stage (see STYLE.md in the shared
//! folder): scenario text → parsed model → run plan → execution → results →
//! reports. The binary in `main.rs` only parses arguments and maps the result
//! to an exit code.

pub mod diag;
pub mod check;
pub mod exit;
pub mod mock;
pub mod report;
pub mod secret;
pub mod wire;
pub mod yaml;
