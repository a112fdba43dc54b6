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
            Outcome::Errored { .. } => OutcomeKind::Errored,
        }
    }

    /// One line saying why, for terminals and report summaries.
    pub fn message(&self) -> String {
        match self {
            Outcome::Passed { note } => note.clone().unwrap_or_default(),
            Outcome::Failed(f) | Outcome::Warned(f) => f.summary(),
            Outcome::Skipped { why } => why.clone(),
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
    Errored,
}

impl OutcomeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Passed => "passed",
            OutcomeKind::Failed => "failed",
            OutcomeKind::Warned => "warned",
            OutcomeKind::Skipped => "skipped",
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
}

impl Finding {
    pub fn summary(&self) -> String {
        format!(
            "step `{}`: {}: expected {}, got {}",
            self.step, self.subject, self.expected, self.actual
        )
    }
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
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetSummary {
    pub name: String,
    pub token_endpoint: String,
    /// `embedded mock (strict)` or the target file's path.
    pub source: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub warned: usize,
    pub skipped: usize,
    pub errored: usize,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.warned + self.skipped + self.errored
    }
}

impl RunResult {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for s in &self.scenarios {
            match s.outcome.kind() {
                OutcomeKind::Passed => c.passed += 1,
                OutcomeKind::Failed => c.failed += 1,
                OutcomeKind::Warned => c.warned += 1,
                OutcomeKind::Skipped => c.skipped += 1,
                OutcomeKind::Errored => c.errored += 1,
            }
        }
        c
    }

    /// The exit code this run deserves (see `exit.rs`).
    pub fn exit_code(&self) -> i32 {
        let c = self.counts();
        if c.failed > 0 || c.errored > 0 || (self.strict && c.warned > 0) {
            crate::exit::CHECK_FAILED
        } else {
            crate::exit::OK
        }
    }
}
