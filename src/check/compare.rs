//! `check --compare PREVIOUS.json`: what is new, fixed and unchanged since
//! an earlier run's JSON report, so that a CI gate can fail on new findings
//! only (`--fail-on new`).

use super::result::{Comparison, Outcome, RunResult};

/// Outcomes of a previous report that count as findings.
const FAILING: [&str; 3] = ["failed", "errored", "blocked"];

/// The ids failing in a previous report (a JSON report of any version that
/// has `scenarios[].id` and `.outcome`; known failures are not findings).
pub fn failing_in(previous: &serde_json::Value) -> Result<Vec<String>, String> {
    let scenarios = previous
        .get("scenarios")
        .and_then(|s| s.as_array())
        .ok_or("not a tokenprobe check report: no `scenarios` list")?;
    let mut ids = Vec::new();
    for s in scenarios {
        let (Some(id), Some(outcome)) = (
            s.get("id").and_then(|v| v.as_str()),
            s.get("outcome").and_then(|v| v.as_str()),
        ) else {
            return Err(
                "not a tokenprobe check report: a scenario without `id` or `outcome`".into(),
            );
        };
        if FAILING.contains(&outcome) && s.get("known_failure").is_none() {
            ids.push(id.to_string());
        }
    }
    ids.sort();
    Ok(ids)
}

/// Compares `run` with the failing ids of a previous run. A failure that is
/// listed as expected now is *known*: the same run prints it as a known
/// failure, so it is neither new nor fixed.
pub fn compare(run: &RunResult, previous: &str, before: &[String]) -> Comparison {
    let mut c = Comparison {
        previous: previous.to_string(),
        ..Comparison::default()
    };
    for s in &run.scenarios {
        if s.known.is_some() {
            c.known.push(s.id.clone());
            continue;
        }
        let now = matches!(
            s.outcome,
            Outcome::Failed(_) | Outcome::Errored { .. } | Outcome::Blocked { .. }
        );
        let was = before.binary_search(&s.id).is_ok();
        match (was, now) {
            (false, true) => c.new.push(s.id.clone()),
            (true, true) => c.unchanged.push(s.id.clone()),
            (true, false) if matches!(s.outcome, Outcome::Passed { .. }) => {
                c.fixed.push(s.id.clone())
            }
            _ => {}
        }
    }
    c
}
