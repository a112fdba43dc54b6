//! Scenarios: the file format (`model`, `values`), templates, and loading +
//! validation into the checked form the runner executes (`compile`). No
//! network and no HTTP client here.
//!
//! May use: `target`, `oauth`, `catalogue`, `verdict`, `wire`, `diag`, `yaml`.

pub mod compile;
pub mod model;
pub mod template;
pub mod values;

pub use compile::{Scenario, load};
