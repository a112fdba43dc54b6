//! Load mode (`tokenprobe load`): refresh traffic that follows rotation,
//! measured per request, checked for correctness while under load, gated by
//! thresholds.
//!
//! - [`accounts`]: `--users-file`, the accounts users log in as;
//! - [`profile`]: load profiles (`scenarios/load/*.yaml`) and their settings;
//! - [`vu`]: the virtual user and the run's shared state, the hot path;
//! - [`exchange`]: one request of the hot path sent and its answer read;
//! - [`h1`]: HTTP/1.1 on a user's own connection, for that request;
//! - [`engine`]: the threads, and goose as the closed model's scheduler;
//! - [`arrivals`]: the open model, iterations at an arrival rate;
//! - [`pace`]: the open model's timer, finer than tokio's millisecond;
//! - [`sessions`]: the sessions model, refreshes near each token's expiry;
//! - [`stats`]: mergeable HDR histograms, counts and violations;
//! - [`threshold`]: `p99<250ms`-style expressions;
//! - [`report`]: the JSON document (with its schema), its data model;
//! - [`markdown`]: the Markdown summary;
//! - [`html`]: the HTML page with its SVG charts;
//! - [`metrics`]: live OpenMetrics text during the run;
//! - [`merge`]: shards' reports added up exactly (`report merge`).
//!
//! May use: `target`, `oauth`, `dpop`, `redact`, `secret`, `verdict`, `wire`, `diag`, `yaml`, `exit`, `interrupt`.

pub mod accounts;
pub mod arrivals;
pub mod engine;
pub mod exchange;
pub mod h1;
pub mod html;
pub mod markdown;
pub mod merge;
pub mod metrics;
pub mod pace;
pub mod profile;
pub mod report;
pub mod sessions;
pub mod stats;
pub mod threshold;
pub mod vu;

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    /// The modules of `src/load/` each file uses (`super::x`,
    /// `crate::load::x`), comments left out.
    fn uses() -> BTreeMap<String, BTreeSet<String>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/load");
        let mut graph = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            if name == "mod" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let mut used = BTreeSet::new();
            for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for prefix in ["super::", "crate::load::"] {
                    for (at, _) in line.match_indices(prefix) {
                        let rest = &line[at + prefix.len()..];
                        let m: String = rest
                            .chars()
                            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                            .collect();
                        // `super::*` in a test module, `super::super::`.
                        if !m.is_empty() && m != "super" && m != name {
                            used.insert(m);
                        }
                    }
                }
            }
            graph.insert(name, used);
        }
        graph
    }

    #[test]
    fn imports_run_one_way() {
        let graph = uses();
        assert!(graph.contains_key("vu") && graph["engine"].contains("vu"));
        // Depth-first search for a path back to where it started.
        fn back(
            graph: &BTreeMap<String, BTreeSet<String>>,
            from: &str,
            to: &str,
            seen: &mut BTreeSet<String>,
            path: &mut Vec<String>,
        ) -> bool {
            for next in graph.get(from).into_iter().flatten() {
                path.push(next.clone());
                if next == to || (seen.insert(next.clone()) && back(graph, next, to, seen, path)) {
                    return true;
                }
                path.pop();
            }
            false
        }
        for start in graph.keys() {
            let mut path = vec![start.clone()];
            let circle = back(&graph, start, start, &mut BTreeSet::new(), &mut path);
            assert!(!circle, "an import circle: {}", path.join(" → "));
        }
    }
}
