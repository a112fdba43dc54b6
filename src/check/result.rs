//! The result of a conformance run: the one model every report renders.
//!
//! Everything here is already redacted: tokens and secrets appear only as
//! fingerprints, so a renderer cannot leak what it never receives.

use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::oauth::record::{Exchange, RequestRecord, ResponseRecord};
pub use crate::verdict::{ErrorClass, Level};

/// The verdict on one scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Outcome {
    Passed {
        /// For INFO scenarios: what was observed.
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// A MUST or PROFILE expectation did not hold.
    Failed(Finding),
    /// A SHOULD expectation did not hold.
    Warned(Finding),
    Skipped {
        why: String,
    },
    /// A setup step the check starts from (a login) did not succeed, so the
    /// check's own property was never tried: not a finding of its ids.
    Blocked {
        step: String,
        by: String,
    },
    /// It failed on the very answer another scenario's finding already
    /// holds (the same status, `error` and description for the same
    /// expectation): one root cause, one finding, shown there.
    SameCause {
        /// The scenario whose finding it is.
        root: String,
        step: String,
        /// What was expected and what came back, as in the finding.
        detail: String,
    },
    /// The check could not be completed: transport, TLS, timeout, bad input
    /// met at run time.
    Errored {
        step: Option<String>,
        class: ErrorClass,
        detail: String,
    },
}

impl Outcome {
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Outcome::Passed { .. } => OutcomeKind::Passed,
            Outcome::Failed(_) => OutcomeKind::Failed,
            Outcome::Warned(_) => OutcomeKind::Warned,
            Outcome::Skipped { .. } => OutcomeKind::Skipped,
            Outcome::Blocked { .. } => OutcomeKind::Blocked,
            Outcome::SameCause { .. } => OutcomeKind::SameCause,
            Outcome::Errored { .. } => OutcomeKind::Errored,
        }
    }

    /// One line saying why, for terminals and report summaries.
    pub fn message(&self) -> String {
        match self {
            Outcome::Passed { note } => note.clone().unwrap_or_default(),
            Outcome::Failed(f) | Outcome::Warned(f) => f.summary(),
            Outcome::Skipped { why } => why.clone(),
            Outcome::Blocked { step, by } => format!("blocked by step `{step}`: {by}"),
            Outcome::SameCause { root, step, detail } => {
                format!("same cause as {root} (step `{step}`: {detail}): one finding, listed there")
            }
            Outcome::Errored {
                step,
                class,
                detail,
            } => match step {
                Some(step) => format!("step `{step}`: {class}: {detail}"),
                None => format!("{class}: {detail}"),
            },
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeKind {
    Passed,
    Failed,
    Warned,
    Skipped,
    Blocked,
    SameCause,
    Errored,
}

impl OutcomeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Passed => "passed",
            OutcomeKind::Failed => "failed",
            OutcomeKind::Warned => "warned",
            OutcomeKind::Skipped => "skipped",
            OutcomeKind::Blocked => "blocked",
            OutcomeKind::SameCause => "same_cause",
            OutcomeKind::Errored => "errored",
        }
    }
}

/// An expectation that did not hold, with the exchange that broke it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The step whose expectation failed.
    pub step: String,
    /// What was checked, e.g. `status`, `body.refresh_token`, `headers.cache-control`.
    pub subject: String,
    pub expected: String,
    pub actual: String,
    /// The exchange, redacted; absent for set expectations over many requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Exchange>,
    /// More exchanges behind an expectation over many requests (a race):
    /// one per distinct answer, after `exchange`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exchanges: Vec<Exchange>,
    /// The other expectations of the scenario that did not hold.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<Observed>,
    /// Where else the same defect was seen (a format defect of error
    /// responses met by other scenarios, judged here once).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub seen_in: Vec<String>,
    /// The catalogue ids the failed expectation judges, when the scenario
    /// covers several and this one names its own (empty: all of them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub judges: Vec<String>,
}

/// One more expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observed {
    pub step: String,
    pub subject: String,
    pub expected: String,
    pub actual: String,
    pub level: Level,
}

impl Finding {
    pub fn new(step: &str, subject: String, expected: String, actual: String) -> Finding {
        Finding {
            step: step.to_string(),
            subject,
            expected,
            actual,
            exchange: None,
            exchanges: Vec::new(),
            also: Vec::new(),
            seen_in: Vec::new(),
            judges: Vec::new(),
        }
    }

    /// The exchange that broke it, then the others behind it (a race's
    /// distinct answers).
    pub fn all_exchanges(&self) -> Vec<&Exchange> {
        self.exchange.iter().chain(&self.exchanges).collect()
    }

    /// This finding as one more observation of another.
    pub fn observed(self, level: Level) -> Observed {
        Observed {
            step: self.step,
            subject: self.subject,
            expected: self.expected,
            actual: self.actual,
            level,
        }
    }

    pub fn summary(&self) -> String {
        let more = match (self.also.len(), self.seen_in.len()) {
            (0, 0) => String::new(),
            (n, 0) => format!(" (+{n} more)"),
            (0, n) => format!(" (seen in {n} more place{})", if n == 1 { "" } else { "s" }),
            (a, n) => format!(
                " (+{a} more; seen in {n} more place{})",
                if n == 1 { "" } else { "s" }
            ),
        };
        format!(
            "step `{}`: {}: expected {}, got {}{more}",
            self.step, self.subject, self.expected, self.actual
        )
    }
}

/// A defect of how an error response is shaped (no JSON body, no `error`,
/// another 4xx than the one expected) met by a scenario whose own property
/// held: judged once, under the catalogue id it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Attributed {
    /// `ER-BODY` or `ER-STATUS`.
    pub id: &'static str,
    pub step: String,
    pub subject: String,
    pub expected: String,
    pub actual: String,
    pub exchange: Option<Exchange>,
}

/// What happened in one step, for `-v` output and the JSON report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRecord {
    pub name: String,
    /// `POST /token (refresh_token) → 200`, `wait 90000s (virtual clock)`, …
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Exchange>,
}

/// The result of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioResult {
    pub id: String,
    pub title: String,
    pub level: Level,
    pub covers: Vec<String>,
    pub tags: Vec<String>,
    pub file: PathBuf,
    pub line: usize,
    #[serde(flatten)]
    pub outcome: Outcome,
    #[serde(serialize_with = "as_millis")]
    pub duration: Duration,
    pub steps: Vec<StepRecord>,
    /// Format defects seen here that belong to another check.
    #[serde(skip)]
    pub attributed: Vec<Attributed>,
    /// Set when the failure was listed as expected: the entry's reason. A
    /// known failure is reported, and does not fail the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known: Option<String>,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunResult {
    pub target: TargetSummary,
    /// Sorted by scenario id.
    pub scenarios: Vec<ScenarioResult>,
    pub duration: Duration,
    /// Started at, RFC 3339.
    pub started_at: String,
    pub strict: bool,
    /// Entries of the expected-failures file that fail the run: failures
    /// that no longer happen (stale) and entries past their `until`.
    pub expectation_problems: Vec<String>,
    /// The comparison with a previous run (`--compare`).
    pub comparison: Option<Comparison>,
    /// `--fail-on new`: only new findings (and expectation problems) fail
    /// the run when there is a comparison.
    pub fail_on_new: bool,
    /// The signal that stopped the run early (`SIGINT`, `SIGTERM`): the
    /// scenarios it stopped are skipped, saying so.
    pub interrupted: Option<i32>,
    /// Why no scenario ran: the target unreachable, or its preflight login
    /// refused (exit code 3; the reports still say so).
    pub preflight_error: Option<String>,
    /// What the run has to say about itself, not about the server: a slow
    /// server and the setting to change, declarations it contradicted.
    pub notes: Vec<String>,
}

/// What changed since a previous run: scenario ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Comparison {
    /// The previous report compared with.
    pub previous: String,
    /// Failing now, not before.
    pub new: Vec<String>,
    /// Failing before, passing (or known) now.
    pub fixed: Vec<String>,
    /// Failing in both.
    pub unchanged: Vec<String>,
    /// Failing now, and listed as expected: neither new nor fixed.
    pub known: Vec<String>,
    /// Findings that cannot be called new or fixed, and why: the runs
    /// ran different scenarios, or a finding's evidence did not run again.
    pub not_compared: Vec<String>,
    /// Scenarios of this run that the previous report does not list.
    pub only_now: Vec<String>,
    /// Scenarios of the previous report that this run does not list.
    pub only_before: Vec<String>,
}

impl Comparison {
    /// "The two runs covered different scenarios: …", when they did.
    pub fn selection_note(&self) -> Option<String> {
        if self.only_now.is_empty() && self.only_before.is_empty() {
            return None;
        }
        let few = |v: &[String]| {
            let shown: Vec<&str> = v.iter().take(5).map(String::as_str).collect();
            let more = v.len().saturating_sub(5);
            format!(
                "{}{}",
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            )
        };
        let mut parts = Vec::new();
        if !self.only_now.is_empty() {
            parts.push(format!(
                "{} only in this run ({})",
                self.only_now.len(),
                few(&self.only_now)
            ));
        }
        if !self.only_before.is_empty() {
            parts.push(format!(
                "{} only in the previous ({})",
                self.only_before.len(),
                few(&self.only_before)
            ));
        }
        Some(format!(
            "the two runs covered different scenarios: {}; those are neither new nor fixed",
            parts.join(", ")
        ))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetSummary {
    pub name: String,
    pub token_endpoint: String,
    /// `embedded mock (strict)` or the target file's path.
    pub source: String,
}

impl TargetSummary {
    /// What a report says of `target`.
    pub fn of(target: &crate::target::Target) -> TargetSummary {
        TargetSummary {
            name: target.name.clone(),
            token_endpoint: target
                .token_endpoint
                .as_ref()
                .map(|u| u.to_string())
                .unwrap_or_default(),
            source: target.source.clone(),
        }
    }
}

impl ScenarioResult {
    /// The result of `s` with `outcome`, nothing run yet (no steps, no
    /// time): the one way a result is made outside the runner.
    pub fn of(s: &crate::scenario::Scenario, outcome: Outcome) -> ScenarioResult {
        ScenarioResult {
            id: s.id.clone(),
            title: s.title.clone(),
            level: s.level,
            covers: s.covers.clone(),
            tags: s.tags.clone(),
            file: s.file.clone(),
            line: s.line,
            ..ScenarioResult::gathered(&s.id, &s.title, outcome)
        }
    }

    /// A result that no scenario file stands for (the preflight, a
    /// judgement gathered from the run): MUST, covering nothing yet.
    pub fn gathered(id: &str, title: &str, outcome: Outcome) -> ScenarioResult {
        ScenarioResult {
            id: id.to_string(),
            title: title.to_string(),
            level: Level::Must,
            covers: Vec::new(),
            tags: Vec::new(),
            file: "(gathered from the run)".into(),
            line: 0,
            outcome,
            duration: std::time::Duration::ZERO,
            steps: Vec::new(),
            attributed: Vec::new(),
            known: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub warned: usize,
    pub skipped: usize,
    pub blocked: usize,
    /// Failures folded into another scenario's finding (one root cause).
    pub same_cause: usize,
    pub errored: usize,
    /// Failures listed as expected.
    pub known: usize,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.passed
            + self.failed
            + self.warned
            + self.skipped
            + self.blocked
            + self.same_cause
            + self.errored
            + self.known
    }
}

impl RunResult {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for s in &self.scenarios {
            match s.outcome.kind() {
                _ if s.known.is_some() => c.known += 1,
                OutcomeKind::Passed => c.passed += 1,
                OutcomeKind::Failed => c.failed += 1,
                OutcomeKind::Warned => c.warned += 1,
                OutcomeKind::Skipped => c.skipped += 1,
                OutcomeKind::Blocked => c.blocked += 1,
                OutcomeKind::SameCause => c.same_cause += 1,
                OutcomeKind::Errored => c.errored += 1,
            }
        }
        c
    }

    /// The exit code this run deserves (see `exit.rs`).
    pub fn exit_code(&self) -> i32 {
        if let Some(signal) = self.interrupted {
            return crate::interrupt::exit_code(signal);
        }
        if self.preflight_error.is_some() {
            return crate::exit::TARGET_UNREACHABLE;
        }
        if self.fail_on_new
            && let Some(cmp) = &self.comparison
        {
            return if cmp.new.is_empty() && self.expectation_problems.is_empty() {
                crate::exit::OK
            } else {
                crate::exit::CHECK_FAILED
            };
        }
        let c = self.counts();
        // A blocked check is no finding, but it did not pass either: a run
        // that could not try its checks must not look green.
        if c.failed > 0
            || c.errored > 0
            || c.blocked > 0
            || (self.strict && c.warned > 0)
            || !self.expectation_problems.is_empty()
        {
            crate::exit::CHECK_FAILED
        } else {
            crate::exit::OK
        }
    }
}
