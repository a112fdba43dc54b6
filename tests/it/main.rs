//! The integration tests, one binary: each file of `tests/it/` is a module,
//! so the crate is linked once (STYLE.md 14; matklad, "Delete Cargo
//! Integration Tests"). Most modules run the real binary
//! (`CARGO_BIN_EXE_tokenprobe`); `mock_support` is shared by the mock suites.

mod ci_recipes;
mod ci_trust;
mod cli_help;
mod deploy_manifests;
mod endpoint_clauses;
mod fault_matrix;
mod file_schemas;
mod first_run;
mod hostile_servers;
mod idempotent;
mod invalid_inputs;
mod judge_flips;
mod layers;
mod load_runs;
mod login_pages;
mod login_recipe;
mod logins;
mod mock_abuse;
mod mock_faults;
mod mock_profiles;
mod mock_refresh;
mod mock_strict;
mod mock_support;
mod properties;
mod readme_coverage;
mod report_merge;
mod request_layer;
mod root_causes;
mod secret_debug;
mod secrets_attacker;
mod self_test_profiles;
mod slow_server;
mod suite_against_mock;
mod target_mistakes;
mod terminal_findings;
mod transport_cuts;
mod vendor_presets;
mod verdicts;
