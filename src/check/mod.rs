//! Running scenarios against a target: plan (requires → skip), step
//! execution, expectations → outcomes, and the run as a whole.
//!
//! May use: `scenario`, `target`, `oauth`, `dpop`, `catalogue`, `redact`, `secret`, `verdict`, `wire`, `diag`, `yaml`, `exit`, `interrupt`.

pub mod causes;
pub mod compare;
pub mod context;
pub mod exec;
pub mod expect;
pub mod expected;
mod login;
pub mod pace;
pub mod plan;
pub mod preflight;
pub mod quality;
pub mod request;
pub mod result;
pub mod run;
pub mod timing;
