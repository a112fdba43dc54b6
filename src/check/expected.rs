//! Expected failures (`check --expected-failures FILE`): known defects a
//! vendor is fixing, so that CI stays a gate meanwhile. A listed failure
//! that happens is *known* (reported, not failing the run); a listed one
//! that no longer happens is *stale* and fails the run, as does an entry
//! past its `until`.

use super::result::{Outcome, RunResult};
use crate::diag::{Diagnostics, did_you_mean};
use crate::yaml::Source;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFailuresFile {
    pub expected_failures: Vec<Entry>,
}

/// One known failure.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// A scenario id (`concurrency/race`) or a catalogue id (`CC-RACE`).
    pub id: String,
    /// Why it is expected (a ticket, a release).
    pub reason: String,
    /// `YYYY-MM-DD`: after this day the entry fails the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// A checked file.
#[derive(Debug, Clone)]
pub struct Expected {
    pub path: String,
    pub entries: Vec<(Entry, Option<time::Date>)>,
}

impl Expected {
    /// Reads the file; every entry's `id` must name one of `known` (the
    /// suite's scenario ids and the catalogue's ids): a typo would waive
    /// nothing and say nothing. Every problem of the file is reported.
    pub fn load(path: &Path, known: &[&str]) -> Result<Expected, Diagnostics> {
        let source = Source::read(path).map_err(|d| Diagnostics(vec![d]))?;
        let file: ExpectedFailuresFile =
            crate::yaml::parse(&source).map_err(|d| Diagnostics(vec![d]))?;
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let mut entries = Vec::new();
        let mut errors = Vec::new();
        for (i, e) in file.expected_failures.into_iter().enumerate() {
            let until = match &e.until {
                Some(d) => match time::Date::parse(d, &format) {
                    Ok(date) => Some(date),
                    Err(_) => {
                        errors.push(source.error_at_text(
                            &format!("expected_failures[{i}]"),
                            d,
                            format!("`until: {d}` is not a date: write YYYY-MM-DD"),
                        ));
                        None
                    }
                },
                None => None,
            };
            if e.reason.trim().is_empty() {
                errors.push(source.error_at_path(
                    &format!("expected_failures[{i}].reason"),
                    "say why the failure is expected (a ticket, a release)",
                ));
            }
            if !known.contains(&e.id.as_str()) {
                let mut d = source.error_at_text(
                    &format!("expected_failures[{i}]"),
                    &e.id,
                    format!(
                        "`{}` names no scenario of the suite and no catalogue id: it would waive nothing",
                        e.id
                    ),
                );
                d.help = Some(match did_you_mean(&e.id, known.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => "`tokenprobe list` shows the scenario ids, `tokenprobe list --coverage` the catalogue ids".into(),
                });
                errors.push(d);
            }
            entries.push((e, until));
        }
        if !errors.is_empty() {
            return Err(Diagnostics(errors));
        }
        Ok(Expected {
            path: path.display().to_string(),
            entries,
        })
    }

    /// The reason a failing result is expected, if it is.
    pub fn reason_for(&self, s: &super::result::ScenarioResult) -> Option<String> {
        let failing = matches!(
            s.outcome,
            Outcome::Failed(_) | Outcome::Errored { .. } | Outcome::Warned(_)
        );
        failing
            .then(|| {
                self.entries
                    .iter()
                    .find(|(e, _)| s.id == e.id || s.covers.contains(&e.id))
                    .map(|(e, _)| e.reason.clone())
            })
            .flatten()
    }

    /// Marks known failures in `run` and lists the entries that fail it.
    pub fn apply(&self, run: &mut RunResult, today: time::Date) {
        for (e, until) in &self.entries {
            let mut matched = false;
            let mut ran = false;
            for s in run.scenarios.iter_mut() {
                if s.id != e.id && !s.covers.contains(&e.id) {
                    continue;
                }
                matched = true;
                match s.outcome {
                    Outcome::Failed(_) | Outcome::Errored { .. } | Outcome::Warned(_) => {
                        ran = true;
                        s.known = Some(e.reason.clone());
                    }
                    Outcome::Passed { .. } => ran = true,
                    _ => {}
                }
            }
            let any_known = run
                .scenarios
                .iter()
                .any(|s| (s.id == e.id || s.covers.contains(&e.id)) && s.known.is_some());
            if let Some(d) = until
                && today > *d
            {
                run.expectation_problems.push(format!(
                    "expected failure `{}` ({}) expired on {d}: fix it, or move `until` in {}",
                    e.id, e.reason, self.path
                ));
            } else if matched && ran && !any_known {
                run.expectation_problems.push(format!(
                    "expected failure `{}` ({}) no longer happens: remove it from {}",
                    e.id, e.reason, self.path
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Expected, Diagnostics> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.yaml");
        std::fs::write(&p, text).unwrap();
        Expected::load(&p, &["CC-RACE", "RB-BOGUS", "concurrency/race"])
    }

    #[test]
    fn dates_and_reasons_are_checked_with_a_location() {
        let d = load("expected_failures:\n  - id: CC-RACE\n    reason: r\n    until: soon\n")
            .unwrap_err()
            .0;
        assert!(d[0].message.contains("not a date"), "{}", d[0].message);
        assert_eq!(d[0].line, Some(4));
        let d = load("expected_failures:\n  - id: CC-RACE\n    reason: \"\"\n")
            .unwrap_err()
            .0;
        assert!(d[0].message.contains("say why"), "{}", d[0].message);
        let d = load("expected_failures:\n  - id: CC-RACE\n    reasn: x\n")
            .unwrap_err()
            .0;
        assert_eq!(d[0].help.as_deref(), Some("did you mean `reason`?"));
        assert!(
            load("expected_failures:\n  - {id: concurrency/race, reason: y, until: 2027-03-01}\n")
                .is_ok()
        );
    }

    /// Issue 22: a mistyped id (`RB-BOGU`) waived nothing, silently.
    #[test]
    fn an_id_that_names_nothing_is_refused_with_a_suggestion() {
        let d = load("expected_failures:\n  - id: RB-BOGU\n    reason: ticket 1\n  - id: nothing/here\n    reason: r\n    until: later\n")
            .unwrap_err()
            .0;
        assert_eq!(d.len(), 3, "every problem of the file at once: {d:?}");
        assert!(
            d[0].message.contains("`RB-BOGU` names no scenario"),
            "{}",
            d[0].message
        );
        assert_eq!(d[0].line, Some(2));
        assert_eq!(d[0].help.as_deref(), Some("did you mean `RB-BOGUS`?"));
        assert!(d.iter().any(|x| x.message.contains("not a date")));
    }
}
