//! The JSON report: a versioned document for machines.
//!
//! The document is its own set of types ([`Report`] and below), built from
//! the run result rather than serialized from it, so the file format changes
//! only when this module says so. Its JSON Schema is generated from these
//! types ([`schema`]) and checked in as `schemas/report.schema.json`; a test
//! fails when the copy is stale (`UPDATE_SCHEMAS=1 cargo test --lib report`
//! rewrites it).
//!
//! Compatibility: within `schema_version` 1, fields may be added (readers
//! should ignore unknown ones) but none is removed, renamed or retyped.

use crate::check::result::{self, RunResult, ScenarioResult};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The version of the document's shape; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The report of one `tokenprobe check` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "tokenprobe conformance report")]
pub struct Report {
    /// The version of this document's shape; 1 for this schema.
    #[schemars(extend("const" = 1))]
    pub schema_version: u32,
    pub tool: Tool,
    pub target: Target,
    /// When the run started, RFC 3339.
    #[schemars(extend("format" = "date-time"))]
    pub started_at: String,
    /// Wall-clock duration of the whole run, in milliseconds.
    pub duration_ms: u64,
    /// Whether SHOULD warnings fail the run (`--strict`).
    pub strict: bool,
    pub summary: Summary,
    /// One entry per scenario, sorted by id.
    pub scenarios: Vec<Scenario>,
    /// Expected-failures entries that fail the run (stale or expired).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expectation_problems: Vec<String>,
    /// The comparison with a previous report (`--compare`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    /// The signal that stopped the run early (`SIGINT`, `SIGTERM`); the
    /// scenarios it stopped are skipped with the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<String>,
    /// Why no scenario ran: the target could not be reached, or its
    /// preflight login was refused (exit code 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preflight_error: Option<String>,
    /// What the run says about itself, not the server (a slow server and
    /// the setting to change).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// What changed since a previous run: scenario ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Comparison {
    /// The previous report's path.
    pub previous: String,
    /// Failing now, not before.
    pub new: Vec<String>,
    /// Failing before, passing (or known) now.
    pub fixed: Vec<String>,
    /// Failing in both.
    pub unchanged: Vec<String>,
    /// Failing now and listed as expected (`--expected-failures`): neither
    /// new nor fixed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known: Vec<String>,
    /// Findings neither new nor fixed because the two runs did not run the
    /// same checks, each with the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_compared: Vec<String>,
    /// Scenarios this run lists and the previous report does not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only_now: Vec<String>,
    /// Scenarios the previous report lists and this run does not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only_before: Vec<String>,
}

/// The program that wrote the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Tool {
    /// Always `tokenprobe`.
    pub name: String,
    pub version: String,
}

/// The token endpoint that was checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Target {
    pub name: String,
    pub token_endpoint: String,
    /// `embedded mock (strict)` or the path of the target file.
    pub source: String,
}

/// How many scenarios ended each way, and the exit code of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub passed: u64,
    pub failed: u64,
    pub warned: u64,
    pub skipped: u64,
    /// Scenarios whose setup step (a login) the server refused: their own
    /// property was never tried.
    #[serde(default)]
    pub blocked: u64,
    /// Failures folded into another scenario's finding: one root cause.
    #[serde(default)]
    pub same_cause: u64,
    /// Failures listed as expected (not counted as failed).
    #[serde(default)]
    pub known: u64,
    pub errored: u64,
    pub total: u64,
    /// 0 when the run passed, 1 when a check failed or errored (see the
    /// README's exit-code table).
    pub exit_code: i32,
}

/// How much a failed check weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A failure fails the run.
    Must,
    /// A failure is a warning; fails the run only with `--strict`.
    Should,
    /// An observation; never fails.
    Info,
    /// Compared with what the target declares; a mismatch fails the run.
    Profile,
}

/// The verdict on one scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    /// A MUST or PROFILE expectation did not hold (see `finding`).
    Failed,
    /// A SHOULD expectation did not hold (see `finding`).
    Warned,
    /// Not run (see `skip_reason`).
    Skipped,
    /// Not tried: a setup step the check starts from was refused (see
    /// `blocked_by`).
    Blocked,
    /// Failed on the answer another scenario's finding holds: one root
    /// cause, one finding (see `same_cause`).
    SameCause,
    /// Could not be completed: transport, TLS, timeout… (see `error`).
    Errored,
}

/// One scenario's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Scenario {
    /// The scenario id, e.g. `rotation/old-refused`.
    pub id: String,
    pub title: String,
    pub level: Level,
    /// Catalogue ids this scenario covers, e.g. `ROT-OLD`.
    pub covers: Vec<String>,
    pub tags: Vec<String>,
    /// The scenario file and the line where the scenario starts.
    pub file: String,
    pub line: u64,
    pub outcome: Outcome,
    /// One line saying why (empty for a plain pass; the observation for an
    /// INFO scenario).
    pub message: String,
    pub duration_ms: u64,
    /// Present when `outcome` is `failed` or `warned`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<Finding>,
    /// Present when `outcome` is `skipped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// Present when `outcome` is `blocked`: the step and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<Blocked>,
    /// Present when `outcome` is `same_cause`: the finding it is folded into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_cause: Option<SameCause>,
    /// Present when the failure was listed as expected: the entry's reason.
    /// A known failure does not fail the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_failure: Option<String>,
    /// Present when `outcome` is `errored`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ScenarioError>,
    /// What each step did, in order.
    pub steps: Vec<Step>,
}

/// An expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// The step whose expectation failed.
    pub step: String,
    /// What was checked, e.g. `status`, `body.refresh_token`.
    pub subject: String,
    pub expected: String,
    pub actual: String,
    /// The exchange that broke it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Exchange>,
    /// For an expectation over many requests (a race): one more exchange
    /// per distinct answer, after `exchange`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exchanges: Vec<Exchange>,
    /// The clauses of the catalogue ids the scenario covers.
    #[serde(default)]
    pub clauses: Vec<Clause>,
    /// The other expectations of the scenario that did not hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<Observed>,
    /// Other places the same defect was seen (ER-BODY, ER-STATUS).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen_in: Vec<String>,
}

/// The setup step that blocked a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Blocked {
    pub step: String,
    pub why: String,
}

/// The finding a scenario's failure is folded into.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SameCause {
    /// The scenario whose finding holds this answer.
    pub root: String,
    pub step: String,
    /// What was expected and what came back.
    pub answer: String,
}

/// One more expectation that did not hold in the same scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Observed {
    pub step: String,
    pub subject: String,
    pub expected: String,
    pub actual: String,
    pub level: Level,
}

/// A catalogue entry a finding holds the server to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Clause {
    /// The catalogue id, e.g. `ROT-OLD`.
    pub id: String,
    /// As the catalogue writes it: `MUST`, `MUST when rotating`, …
    pub level: String,
    /// The source and the requirement in one line.
    pub text: String,
}

/// Why a scenario could not be completed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScenarioError {
    pub class: ErrorClass,
    /// The step that was running, when the error belongs to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    pub detail: String,
}

/// The kind of error that stopped a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorClass {
    Connect,
    Dns,
    Timeout,
    Tls,
    ConnectionReset,
    /// This process ran out of file descriptors.
    TooManyOpenFiles,
    BodyTooLarge,
    Protocol,
    /// A later step needed a member that a response lacked.
    MissingCapture,
    /// The target's clock-control endpoint failed.
    Clock,
    /// The request could not be built (a client assertion that cannot be
    /// signed, an undefined client or user).
    Request,
    Internal,
}

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Step {
    pub name: String,
    /// E.g. `POST /token (refresh_token) → 200 in 41ms`.
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Exchange>,
}

/// One request and its response, redacted: secrets and tokens appear only
/// as fingerprints such as `rt#3f9a1c`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Exchange {
    pub request: Request,
    /// Absent when no response came (timeout, reset…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Response>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Request {
    pub method: String,
    pub url: String,
    /// In the order sent.
    pub headers: Vec<Header>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Response {
    pub status: u16,
    /// In the order received.
    pub headers: Vec<Header>,
    pub body: String,
    /// The body was longer than what tokenprobe keeps.
    pub truncated: bool,
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// The JSON report of `run`, pretty-printed, with a final newline.
pub fn render(run: &RunResult) -> String {
    let doc = Report::from_run(run);
    let mut out =
        serde_json::to_string_pretty(&doc).expect("the report has only string keys and no maps");
    out.push('\n');
    out
}

/// The JSON Schema of the report, pretty-printed, with a final newline.
pub fn schema() -> String {
    let schema = schemars::schema_for!(Report);
    let mut out =
        serde_json::to_string_pretty(&schema).expect("a schema is plain JSON and serializes");
    out.push('\n');
    out
}

impl Report {
    /// The document for `run`, scenarios sorted by id.
    pub fn from_run(run: &RunResult) -> Report {
        let c = run.counts();
        let mut scenarios: Vec<Scenario> = run.scenarios.iter().map(Scenario::from).collect();
        scenarios.sort_by(|a, b| a.id.cmp(&b.id));
        Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: "tokenprobe".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
            },
            target: Target {
                name: run.target.name.clone(),
                token_endpoint: run.target.token_endpoint.clone(),
                source: run.target.source.clone(),
            },
            started_at: run.started_at.clone(),
            duration_ms: millis(run.duration),
            strict: run.strict,
            summary: Summary {
                passed: c.passed as u64,
                failed: c.failed as u64,
                warned: c.warned as u64,
                skipped: c.skipped as u64,
                blocked: c.blocked as u64,
                same_cause: c.same_cause as u64,
                known: c.known as u64,
                errored: c.errored as u64,
                total: c.total() as u64,
                exit_code: run.exit_code(),
            },
            scenarios,
            expectation_problems: run.expectation_problems.clone(),
            comparison: run.comparison.as_ref().map(|c| Comparison {
                previous: c.previous.clone(),
                new: c.new.clone(),
                fixed: c.fixed.clone(),
                unchanged: c.unchanged.clone(),
                known: c.known.clone(),
                not_compared: c.not_compared.clone(),
                only_now: c.only_now.clone(),
                only_before: c.only_before.clone(),
            }),
            interrupted: run
                .interrupted
                .map(|s| crate::interrupt::name(s).to_string()),
            preflight_error: run.preflight_error.clone(),
            notes: run.notes.clone(),
        }
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl From<&ScenarioResult> for Scenario {
    fn from(s: &ScenarioResult) -> Scenario {
        // The ids the failed expectation judges, else all the scenario covers.
        let clauses = |judged: &[String]| -> Vec<Clause> {
            let ids = if judged.is_empty() {
                &s.covers[..]
            } else {
                judged
            };
            ids.iter()
                .map(|id| {
                    let e = crate::catalogue::get(id);
                    Clause {
                        id: id.clone(),
                        level: e.map(|e| e.level.clone()).unwrap_or_default(),
                        text: e.map(|e| e.text.clone()).unwrap_or_default(),
                    }
                })
                .collect()
        };
        let finding = |f: &result::Finding| {
            let judged = f.judges.clone();
            let mut f = Finding::from(f);
            f.clauses = clauses(&judged);
            Some(f)
        };
        let mut blocked_by = None;
        let mut same_cause = None;
        let (outcome, finding, skip_reason, error) = match &s.outcome {
            result::Outcome::Passed { .. } => (Outcome::Passed, None, None, None),
            result::Outcome::Failed(f) => (Outcome::Failed, finding(f), None, None),
            result::Outcome::Warned(f) => (Outcome::Warned, finding(f), None, None),
            result::Outcome::Skipped { why } => (Outcome::Skipped, None, Some(why.clone()), None),
            result::Outcome::Blocked { step, by } => {
                blocked_by = Some(Blocked {
                    step: step.clone(),
                    why: by.clone(),
                });
                (Outcome::Blocked, None, None, None)
            }
            result::Outcome::SameCause { root, step, detail } => {
                same_cause = Some(SameCause {
                    root: root.clone(),
                    step: step.clone(),
                    answer: detail.clone(),
                });
                (Outcome::SameCause, None, None, None)
            }
            result::Outcome::Errored {
                step,
                class,
                detail,
            } => {
                let error = ScenarioError {
                    class: (*class).into(),
                    step: step.clone(),
                    detail: detail.clone(),
                };
                (Outcome::Errored, None, None, Some(error))
            }
        };
        Scenario {
            id: s.id.clone(),
            title: s.title.clone(),
            level: s.level.into(),
            covers: s.covers.clone(),
            tags: s.tags.clone(),
            file: s.file.to_string_lossy().into_owned(),
            line: s.line as u64,
            outcome,
            message: s.outcome.message(),
            duration_ms: millis(s.duration),
            finding,
            skip_reason,
            blocked_by,
            same_cause,
            known_failure: s.known.clone(),
            error,
            steps: s
                .steps
                .iter()
                .map(|step| Step {
                    name: step.name.clone(),
                    summary: step.summary.clone(),
                    exchange: step.exchange.as_ref().map(Exchange::from),
                })
                .collect(),
        }
    }
}

impl From<result::Level> for Level {
    fn from(l: result::Level) -> Level {
        match l {
            result::Level::Must => Level::Must,
            result::Level::Should => Level::Should,
            result::Level::Info => Level::Info,
            result::Level::Profile => Level::Profile,
        }
    }
}

impl From<result::ErrorClass> for ErrorClass {
    fn from(c: result::ErrorClass) -> ErrorClass {
        use result::ErrorClass as C;
        match c {
            C::Connect => ErrorClass::Connect,
            C::Dns => ErrorClass::Dns,
            C::Timeout => ErrorClass::Timeout,
            C::Tls => ErrorClass::Tls,
            C::ConnectionReset => ErrorClass::ConnectionReset,
            C::TooManyOpenFiles => ErrorClass::TooManyOpenFiles,
            C::BodyTooLarge => ErrorClass::BodyTooLarge,
            C::Protocol => ErrorClass::Protocol,
            C::MissingCapture => ErrorClass::MissingCapture,
            C::Clock => ErrorClass::Clock,
            C::Request => ErrorClass::Request,
            C::Internal => ErrorClass::Internal,
        }
    }
}

impl From<&result::Finding> for Finding {
    fn from(f: &result::Finding) -> Finding {
        Finding {
            step: f.step.clone(),
            subject: f.subject.clone(),
            expected: f.expected.clone(),
            actual: f.actual.clone(),
            exchange: f.exchange.as_ref().map(Exchange::from),
            exchanges: f.exchanges.iter().map(Exchange::from).collect(),
            clauses: Vec::new(),
            also: f
                .also
                .iter()
                .map(|o| Observed {
                    step: o.step.clone(),
                    subject: o.subject.clone(),
                    expected: o.expected.clone(),
                    actual: o.actual.clone(),
                    level: o.level.into(),
                })
                .collect(),
            seen_in: f.seen_in.clone(),
        }
    }
}

fn headers(pairs: &[(String, String)]) -> Vec<Header> {
    pairs
        .iter()
        .map(|(name, value)| Header {
            name: name.clone(),
            value: value.clone(),
        })
        .collect()
}

impl From<&result::Exchange> for Exchange {
    fn from(e: &result::Exchange) -> Exchange {
        Exchange {
            request: Request {
                method: e.request.method.clone(),
                url: e.request.url.clone(),
                headers: headers(&e.request.headers),
                body: e.request.body.clone(),
            },
            response: e.response.as_ref().map(|r| Response {
                status: r.status,
                headers: headers(&r.headers),
                body: r.body.clone(),
                truncated: r.truncated,
                elapsed_ms: r.elapsed_ms,
            }),
        }
    }
}

#[cfg(test)]
mod tests;
