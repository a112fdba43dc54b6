//! `check --compare PREVIOUS.json`: what is new, fixed and unchanged since
//! an earlier run's JSON report, so that a CI gate can fail on new findings
//! only (`--fail-on new`).
//!
//! A gate that says what is not so is worse than none: a finding is
//! *fixed* only when the checks whose evidence made it ran again (a
//! finding judged from places met elsewhere, ER-BODY's, needs those
//! scenarios in this run too), and *new* only when the scenario ran in
//! the previous run as well. Two runs over different selections say so,
//! with the scenarios only one of them ran.

use super::result::{Comparison, Outcome, RunResult};

/// Outcomes of a previous report that count as findings.
const FAILING: [&str; 3] = ["failed", "errored", "blocked"];
/// Outcomes that say a scenario did not run.
const NOT_RUN: [&str; 1] = ["skipped"];

/// What a previous report holds: every scenario it ran, and its findings
/// with the scenarios their evidence came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Previous {
    /// Every scenario of the report (run or skipped), sorted.
    pub listed: Vec<String>,
    /// The scenarios that ran (not skipped), sorted.
    pub ran: Vec<String>,
    /// Failing ids (known failures aside), each with the ids of the
    /// scenarios its evidence came from (itself, and those of `seen_in`).
    pub failing: Vec<(String, Vec<String>)>,
}

impl Previous {
    fn failing(&self, id: &str) -> Option<&[String]> {
        self.failing
            .iter()
            .find(|(f, _)| f == id)
            .map(|(_, e)| e.as_slice())
    }
}

/// Why the previous report cannot be compared with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAReport {
    #[error("not a tokenprobe check report: no `scenarios` list")]
    NoScenarios,
    #[error("not a tokenprobe check report: a scenario without `id` or `outcome`")]
    Scenario,
}

/// A previous report of any version that has `scenarios[].id` and
/// `.outcome`.
pub fn read_previous(previous: &serde_json::Value) -> Result<Previous, NotAReport> {
    let scenarios = previous
        .get("scenarios")
        .and_then(|s| s.as_array())
        .ok_or(NotAReport::NoScenarios)?;
    let mut p = Previous::default();
    for s in scenarios {
        let (Some(id), Some(outcome)) = (
            s.get("id").and_then(|v| v.as_str()),
            s.get("outcome").and_then(|v| v.as_str()),
        ) else {
            return Err(NotAReport::Scenario);
        };
        p.listed.push(id.to_string());
        if !NOT_RUN.contains(&outcome) {
            p.ran.push(id.to_string());
        }
        if FAILING.contains(&outcome) && s.get("known_failure").is_none() {
            let mut evidence = vec![id.to_string()];
            // A finding judged from elsewhere names its first place in
            // its actual value: `… (in scenario/id)`.
            if let Some(sid) = s
                .get("finding")
                .and_then(|f| f.get("actual"))
                .and_then(|a| a.as_str())
                .and_then(|a| a.rsplit_once(" (in ").map(|(_, r)| r.trim_end_matches(')')))
                && !sid.contains(' ')
            {
                evidence.push(sid.to_string());
            }
            let seen = s
                .get("finding")
                .and_then(|f| f.get("seen_in"))
                .and_then(|v| v.as_array());
            for place in seen.into_iter().flatten().filter_map(|v| v.as_str()) {
                // `scenario/id, step `name`: …`
                if let Some(sid) = place.split(", step ").next()
                    && !sid.contains(' ')
                    && !evidence.iter().any(|e| e == sid)
                {
                    evidence.push(sid.to_string());
                }
            }
            p.failing.push((id.to_string(), evidence));
        }
    }
    p.listed.sort();
    p.ran.sort();
    p.failing.sort();
    Ok(p)
}

/// Compares `run` with a previous run. A failure that is listed as
/// expected now is *known*: the same run prints it as a known failure, so
/// it is neither new nor fixed.
pub fn compare(run: &RunResult, previous: &str, before: &Previous) -> Comparison {
    let mut c = Comparison {
        previous: previous.to_string(),
        ..Comparison::default()
    };
    let ran_now: Vec<&str> = run
        .scenarios
        .iter()
        .filter(|s| !matches!(s.outcome, Outcome::Skipped { .. }))
        .map(|s| s.id.as_str())
        .collect();
    for s in &run.scenarios {
        if s.known.is_some() {
            c.known.push(s.id.clone());
            continue;
        }
        let now = matches!(
            s.outcome,
            Outcome::Failed(_) | Outcome::Errored { .. } | Outcome::Blocked { .. }
        );
        let ran_before = before.ran.binary_search(&s.id).is_ok();
        match (before.failing(&s.id), now) {
            (None, true) if ran_before => c.new.push(s.id.clone()),
            (None, true) => c.not_compared.push(format!(
                "{}: failing now, and the previous run did not run it",
                s.id
            )),
            (Some(_), true) => c.unchanged.push(s.id.clone()),
            (Some(evidence), false) if matches!(s.outcome, Outcome::Passed { .. }) => {
                let missing: Vec<&str> = evidence
                    .iter()
                    .map(String::as_str)
                    .filter(|e| !ran_now.contains(e))
                    .collect();
                if missing.is_empty() {
                    c.fixed.push(s.id.clone());
                } else {
                    c.not_compared.push(format!(
                        "{}: passing now, but its finding came from {} as well, which did not run now: not fixed until they do",
                        s.id,
                        missing.join(", ")
                    ));
                }
            }
            (Some(_), false) => c.not_compared.push(format!(
                "{}: failing before, {} now",
                s.id,
                s.outcome.kind().as_str()
            )),
            (None, false) => {}
        }
    }
    // Findings of the previous run whose scenario is not in this one.
    for (id, _) in &before.failing {
        if !run.scenarios.iter().any(|s| s.id == *id) {
            c.not_compared
                .push(format!("{id}: failing before, not selected now"));
        }
    }
    let now_listed: Vec<&str> = run.scenarios.iter().map(|s| s.id.as_str()).collect();
    c.only_now = run
        .scenarios
        .iter()
        .filter(|s| before.listed.binary_search(&s.id).is_err())
        .map(|s| s.id.clone())
        .collect();
    c.only_before = before
        .listed
        .iter()
        .filter(|id| !now_listed.contains(&id.as_str()))
        .cloned()
        .collect();
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_is_read_from_seen_in() {
        let report = serde_json::json!({"scenarios": [
            {"id": "errors/status-and-body", "outcome": "failed", "finding": {"seen_in": [
                "revocation/introspect-error, step `x`: body: expected a JSON object, got …",
                "refresh/ok, step `y`: status: expected 400, got 403"
            ]}},
            {"id": "refresh/ok", "outcome": "passed"},
            {"id": "scope/widen", "outcome": "skipped"}
        ]});
        let p = read_previous(&report).unwrap();
        assert_eq!(
            p.failing,
            vec![(
                "errors/status-and-body".to_string(),
                vec![
                    "errors/status-and-body".to_string(),
                    "revocation/introspect-error".to_string(),
                    "refresh/ok".to_string()
                ]
            )]
        );
        assert_eq!(p.ran, vec!["errors/status-and-body", "refresh/ok"]);
        assert_eq!(p.listed.len(), 3);
    }
}
