//! Load mode (`tokenprobe load`): refresh traffic that follows rotation,
//! measured per request, checked for correctness while under load, gated by
//! thresholds.
//!
//! - [`plan`]: what a run is asked to do, every file read ([`plan::LoadPlan`]);
//! - [`run`]: one run from a plan and a target, to its report and outcome;
//! - [`accounts`]: `--users-file`, the accounts users log in as;
//! - [`profile`]: load profiles (`scenarios/load/*.yaml`) and their settings;
//! - [`vu`]: the virtual user: what it does, one pass through the parts
//!   of the run's shared state below;
//! - [`control`]: run control (the stop, the rate cap, the breakers);
//! - [`sender`]: token requests built and sent on their transport;
//! - [`recorder`]: statistics, violations, the duplicate check;
//! - [`logins`]: where sessions start (accounts, tokens, other logins);
//! - [`exchange`]: one request of the hot path sent and its answer read;
//! - [`h1`]: HTTP/1.1 on a user's own connection, for that request;
//! - [`tls`]: that connection's TLS (shared session cache, ALPN, SNI);
//! - [`engine`]: the threads, and goose as the closed model's scheduler;
//! - [`arrivals`]: the open model, iterations at an arrival rate;
//! - [`pace`]: the open model's timer, finer than tokio's millisecond;
//! - [`sessions`]: the sessions model, refreshes near each token's expiry;
//! - [`stats`]: mergeable HDR histograms, counts and violations;
//! - [`threshold`]: `p99<250ms`-style expressions;
//! - [`result`]: what a run ends with, the JSON document (with its schema);
//!   its renderers live in `crate::report::load`;
//! - [`metrics`]: live OpenMetrics text during the run;
//! - [`merge`]: shards' reports added up exactly (`report merge`).
//!
//! May use: `check` (its preflight: the one login before any load), `scenario` (the built-in profiles), `target`, `oauth`, `dpop`, `redact`, `secret`, `verdict`, `wire`, `diag`, `error`, `yaml`, `exit`, `interrupt`.

pub mod accounts;
pub mod arrivals;
pub mod control;
pub mod engine;
pub mod exchange;
pub mod h1;
pub mod logins;
pub mod merge;
pub mod metrics;
pub mod pace;
pub mod plan;
pub mod profile;
pub mod recorder;
pub mod result;
pub mod run;
pub mod sender;
pub mod sessions;
pub mod stats;
pub mod threshold;
pub mod tls;
pub mod vu;
