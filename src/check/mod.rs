//! Running scenarios against a target: plan (requires → skip), step
//! execution, expectations → outcomes, and the run as a whole.

pub mod context;
pub mod exec;
pub mod expect;
pub mod plan;
pub mod quality;
pub mod request;
pub mod result;
pub mod run;
