//! Load mode (`tokenprobe load`): refresh traffic that follows rotation,
//! measured per request, checked for correctness while under load, gated by
//! thresholds.
//!
//! - [`accounts`]: `--users-file`, the accounts users log in as;
//! - [`profile`]: load profiles (`scenarios/load/*.yaml`) and their settings;
//! - [`engine`]: goose as the scheduler of virtual users, our own requests;
//! - [`arrivals`]: the open model, iterations at an arrival rate;
//! - [`sessions`]: the sessions model, refreshes near each token's expiry;
//! - [`stats`]: mergeable HDR histograms, counts and violations;
//! - [`threshold`]: `p99<250ms`-style expressions;
//! - [`report`]: the JSON document (with its schema) and Markdown;
//! - [`html`]: the HTML page with its SVG charts;
//! - [`metrics`]: live OpenMetrics text during the run;
//! - [`merge`]: shards' reports added up exactly (`report merge`).
//!
//! May use: `target`, `oauth`, `dpop`, `redact`, `secret`, `verdict`, `wire`, `diag`, `yaml`, `exit`, `interrupt`.

pub mod accounts;
pub mod arrivals;
pub mod engine;
pub mod html;
pub mod merge;
pub mod metrics;
pub mod profile;
pub mod report;
pub mod sessions;
pub mod stats;
pub mod threshold;
