//! Running scenarios against a target: plan (requires → skip), step
//! execution, expectations → outcomes.

pub mod result;
