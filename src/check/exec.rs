//! Running one scenario: its steps in order, each request sent, its response
//! captured and judged. The first failed expectation ends the scenario.
//!
//! One function per step kind (`wait`, `get`, `revoke`/`introspect`, a
//! grant: single, replayed assertion, parallel, chain); every request goes
//! through `oauth::record::exchange`, and every way a step can stop early is
//! turned into an outcome in one place ([`Stop`]).

use super::context::{Captured, Context};
use super::expect::{self, Mismatch};
use super::request::{self, BuildError};
use super::result::*;
use crate::oauth::WireRequest;
use crate::oauth::http::{self, HttpOptions, HttpResponse, TransportError};
use crate::oauth::record::{self, Exchanged};
use crate::redact::Redactor;
use crate::scenario::Scenario;
use crate::scenario::compile::{Action, ExpectC, GrantRequest, Step, TokenOp, WaitExpr, WaitTerm};
use crate::scenario::model::{AssertionDefect, Document};
use crate::target::Target;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What every scenario of a run shares.
pub struct Runner {
    pub target: Arc<Target>,
    pub client: reqwest::Client,
    pub http: HttpOptions,
    pub redactor: Arc<Redactor>,
    /// The target's JWKS, fetched once when a scenario first needs it.
    pub jwks: tokio::sync::OnceCell<Result<serde_json::Value, String>>,
}

/// How a scenario ended early.
pub(super) enum Stop {
    Finding(Box<Finding>),
    Skip(String),
    Blocked {
        step: String,
        by: String,
    },
    Error {
        step: String,
        class: ErrorClass,
        detail: String,
    },
}

/// What a scenario gathers while it runs, besides its captures.
pub(super) struct Trace<'s> {
    pub(super) records: Vec<StepRecord>,
    /// SHOULD parts that did not hold; the scenario went on.
    soft: Vec<(Finding, Level)>,
    /// Format defects that belong to ER-BODY / ER-STATUS.
    attributed: Vec<Attributed>,
    covers: &'s [String],
    level: Level,
    /// Median latencies of repeated steps: (step, ms, samples).
    medians: Vec<(String, f64, usize)>,
}

impl<'s> Trace<'s> {
    fn new(s: &'s Scenario) -> Trace<'s> {
        Trace {
            records: Vec::new(),
            soft: Vec::new(),
            attributed: Vec::new(),
            covers: &s.covers,
            level: s.level,
            medians: Vec::new(),
        }
    }
}

/// `400 invalid_grant`, `401 (no body)`, `405 (text/html, 17 bytes)`.
pub(super) fn answer(r: &HttpResponse) -> String {
    match (expect::error_code(r), r.body.is_empty()) {
        (Some(code), _) => format!("{} {code}", r.status),
        (None, true) => format!("{} (no body)", r.status),
        (None, false) => format!(
            "{} ({}, {} bytes)",
            r.status,
            r.header("content-type")
                .unwrap_or_else(|| "no content-type".into()),
            r.body.len()
        ),
    }
}

/// Why a wait could not be taken.
enum WaitError {
    /// Longer than the target lets us wait, or an unusable expression: the
    /// check does not apply to this target as declared.
    NotApplicable(String),
    /// The target's clock control failed.
    Clock(String),
}

impl Stop {
    pub(super) fn error(step: &Step, class: ErrorClass, detail: impl Into<String>) -> Stop {
        Stop::Error {
            step: step.name.clone(),
            class,
            detail: detail.into(),
        }
    }

    /// The one mapping from the layers' errors to outcomes.
    pub(super) fn build(step: &Step, e: BuildError) -> Stop {
        let class = match &e {
            BuildError::Render(_) => ErrorClass::MissingCapture,
            BuildError::Missing(_) | BuildError::Request(_) => ErrorClass::Request,
        };
        Stop::error(step, class, e.to_string())
    }

    pub(super) fn transport(step: &Step, e: TransportError) -> Stop {
        Stop::error(step, e.class, e.detail)
    }

    fn wait(step: &Step, e: WaitError) -> Stop {
        match e {
            WaitError::NotApplicable(why) => Stop::Skip(why),
            WaitError::Clock(detail) => Stop::error(step, ErrorClass::Clock, detail),
        }
    }
}

impl Runner {
    pub async fn run(&self, s: &Scenario) -> ScenarioResult {
        let started = Instant::now();
        let mut trace = Trace::new(s);
        let outcome = match super::plan::unmet(s, &self.target) {
            Some(why) => Outcome::Skipped { why },
            None => {
                // Each round from a fresh start; a premise that fails, or a
                // check that cannot go on, ends the rounds at once. The
                // trace kept is the first failing round's (else the last).
                let rounds = s.rounds.max(1);
                let mut failed_in = 0;
                let mut kept: Option<(Trace<'_>, Option<Stop>)> = None;
                for _ in 0..rounds {
                    let mut round = Trace::new(s);
                    let stop = self.round(s, &mut round).await;
                    let finding = matches!(stop, Some(Stop::Finding(_)));
                    let ends = matches!(stop, Some(ref e) if !matches!(e, Stop::Finding(_)));
                    failed_in += usize::from(finding);
                    let first_failure = finding && failed_in == 1;
                    // Until something fails, the latest round (a round that
                    // could not go on ends them); then the first failing one.
                    if failed_in == 0 || first_failure {
                        kept = Some((round, stop));
                    }
                    if ends {
                        break;
                    }
                }
                let (t, mut stop) = kept.expect("at least one round");
                trace = t;
                if rounds > 1
                    && let Some(Stop::Finding(f)) = &mut stop
                {
                    f.actual = format!("{} (in {failed_in} of {rounds} rounds)", f.actual);
                }
                self.verdict(s, stop, &mut trace)
            }
        };
        let attributed = if matches!(
            outcome,
            Outcome::Passed { .. }
                | Outcome::Warned(_)
                | Outcome::Failed(_)
                | Outcome::Blocked { .. }
        ) {
            std::mem::take(&mut trace.attributed)
                .into_iter()
                .map(|a| Attributed {
                    expected: self.redactor.redact(&a.expected),
                    actual: self.redactor.redact(&a.actual),
                    ..a
                })
                .collect()
        } else {
            Vec::new()
        };
        ScenarioResult {
            id: s.id.clone(),
            title: s.title.clone(),
            level: s.level,
            covers: s.covers.clone(),
            tags: s.tags.clone(),
            file: s.file.clone(),
            line: s.line,
            outcome: self.redact_outcome(outcome),
            duration: started.elapsed(),
            steps: trace.records,
            attributed,
            known: None,
        }
    }

    /// One run of the scenario's steps, from a fresh context.
    async fn round(&self, s: &Scenario, trace: &mut Trace<'_>) -> Option<Stop> {
        let mut ctx = Context::new(&self.target);
        for step in &s.steps {
            if let Some((name, member)) = &step.only_if
                && ctx.get(name).and_then(|c| c.member(member)).is_none()
            {
                trace.records.push(StepRecord {
                    name: step.name.clone(),
                    summary: format!("not run: step `{name}` got no `{member}`"),
                    exchange: None,
                });
                continue;
            }
            if let Err(e) = self.step(step, &mut ctx, trace).await {
                return Some(e);
            }
        }
        None
    }

    fn verdict(&self, s: &Scenario, stop: Option<Stop>, trace: &mut Trace<'_>) -> Outcome {
        let soft = std::mem::take(&mut trace.soft);
        match stop {
            None if !soft.is_empty() => {
                let mut soft = soft.into_iter();
                let (mut first, _) = soft.next().expect("not empty");
                first.also = soft.map(|(f, level)| f.observed(level)).collect();
                match s.level {
                    Level::Info => Outcome::Passed {
                        note: Some(format!("not observed: {}", first.summary())),
                    },
                    _ => Outcome::Warned(first),
                }
            }
            None => Outcome::Passed {
                note: s.observation.clone().filter(|_| s.level == Level::Info),
            },
            Some(Stop::Skip(why)) => Outcome::Skipped { why },
            Some(Stop::Blocked { step, by }) => Outcome::Blocked { step, by },
            Some(Stop::Error {
                step,
                class,
                detail,
            }) => Outcome::Errored {
                step: Some(step),
                class,
                detail,
            },
            Some(Stop::Finding(f)) => match s.level {
                Level::Must | Level::Profile => {
                    let mut f = *f;
                    f.also
                        .extend(soft.into_iter().map(|(x, level)| x.observed(level)));
                    Outcome::Failed(f)
                }
                Level::Should => Outcome::Warned(*f),
                Level::Info => Outcome::Passed {
                    note: Some(format!("not observed: {}", f.summary())),
                },
            },
        }
    }

    fn redact_outcome(&self, o: Outcome) -> Outcome {
        let r = &self.redactor;
        match o {
            Outcome::SameCause { root, step, detail } => Outcome::SameCause {
                root,
                step,
                detail: r.redact(&detail),
            },
            Outcome::Failed(f) => Outcome::Failed(self.redact_finding(f)),
            Outcome::Warned(f) => Outcome::Warned(self.redact_finding(f)),
            Outcome::Errored {
                step,
                class,
                detail,
            } => Outcome::Errored {
                step,
                class,
                detail: r.redact(&detail),
            },
            Outcome::Passed { note } => Outcome::Passed {
                note: note.map(|n| r.redact(&n)),
            },
            Outcome::Skipped { why } => Outcome::Skipped {
                why: r.redact(&why),
            },
            Outcome::Blocked { step, by } => Outcome::Blocked {
                step,
                by: r.redact(&by),
            },
        }
    }

    fn redact_finding(&self, f: Finding) -> Finding {
        let r = &self.redactor;
        Finding {
            expected: r.redact(&f.expected),
            actual: r.redact(&f.actual),
            also: f
                .also
                .into_iter()
                .map(|o| Observed {
                    expected: r.redact(&o.expected),
                    actual: r.redact(&o.actual),
                    ..o
                })
                .collect(),
            ..f
        }
    }

    async fn step(
        &self,
        step: &Step,
        ctx: &mut Context<'_>,
        trace: &mut Trace<'_>,
    ) -> Result<(), Stop> {
        match &step.action {
            Action::Wait(w) => self.wait_step(step, w, trace).await,
            Action::Get(doc) => self.get_step(step, *doc, ctx, trace).await,
            Action::Revoke(op) => {
                let url = self.target.revocation_endpoint.as_ref();
                self.token_op_step(step, op, url, "revocation_endpoint", ctx, trace)
                    .await
            }
            Action::Introspect(op) => {
                let url = self.target.introspection_endpoint.as_ref();
                self.token_op_step(step, op, url, "introspection_endpoint", ctx, trace)
                    .await
            }
            Action::Authorize(a) => self.authorize_step(step, a, ctx, trace).await,
            Action::Grant(g) if g.grant_type == crate::scenario::compile::LOGIN => {
                self.login_step(step, g, ctx, trace).await
            }
            Action::Grant(g) => match (&step.chain, step.parallel) {
                (Some((every, until)), _) => self.chain(step, g, every, until, ctx, trace).await,
                (None, n) if n > 1 => self.parallel(step, g, ctx, trace).await,
                (None, _) if step.timing_probe.is_some() => {
                    let probe = step.timing_probe.as_ref().expect("checked");
                    self.timing_probe(step, g, probe, ctx, trace).await
                }
                (None, _) if step.repeat > 1 => self.repeated(step, g, ctx, trace).await,
                (None, _) => self.grant_step(step, g, ctx, trace).await,
            },
        }
    }

    async fn wait_step(
        &self,
        step: &Step,
        w: &WaitExpr,
        trace: &mut Trace<'_>,
    ) -> Result<(), Stop> {
        if let Some(term) = step.within {
            let wait = self.wait_duration(w).map_err(|e| Stop::wait(step, e))?;
            // An undeclared lifetime sets no limit.
            let limit = self
                .wait_duration(&WaitExpr {
                    terms: vec![(1.0, term)],
                    text: String::new(),
                })
                .ok();
            if let Some(limit) = limit
                && wait >= limit
            {
                return Err(Stop::Skip(format!(
                    "not applicable: the wait `{}` ({}) would outlast the declared {} ({}) that the rest of the check relies on",
                    w.text,
                    humantime::format_duration(wait),
                    term.name(),
                    humantime::format_duration(limit)
                )));
            }
        }
        let summary = self.wait(w).await.map_err(|e| Stop::wait(step, e))?;
        trace.records.push(StepRecord {
            name: step.name.clone(),
            summary,
            exchange: None,
        });
        Ok(())
    }

    async fn get_step(
        &self,
        step: &Step,
        doc: Document,
        ctx: &mut Context<'_>,
        trace: &mut Trace<'_>,
    ) -> Result<(), Stop> {
        let url = self.document_url(doc).ok_or_else(|| {
            Stop::Skip(format!(
                "the target declares no {} URL",
                match doc {
                    Document::Discovery => "discovery (nor an issuer)",
                    Document::Jwks => "jwks_uri",
                }
            ))
        })?;
        self.single(step, &WireRequest::get(url), ctx, trace).await
    }

    async fn token_op_step(
        &self,
        step: &Step,
        op: &TokenOp,
        endpoint: Option<&url::Url>,
        key: &str,
        ctx: &mut Context<'_>,
        trace: &mut Trace<'_>,
    ) -> Result<(), Stop> {
        let url = endpoint.ok_or_else(|| Stop::Skip(format!("the target has no {key}")))?;
        let wire = request::token_op_request(op, url, ctx).map_err(|e| Stop::build(step, e))?;
        self.single(step, &wire, ctx, trace).await
    }

    pub(super) async fn grant_step(
        &self,
        step: &Step,
        g: &GrantRequest,
        ctx: &mut Context<'_>,
        trace: &mut Trace<'_>,
    ) -> Result<(), Stop> {
        let wire = request::grant_request(g, ctx).map_err(|e| Stop::build(step, e))?;
        let replayed = g.assertion == Some(AssertionDefect::Replayed)
            || g.user_assertion == Some(crate::scenario::model::UserAssertionUse::Replayed);
        if replayed {
            // The first use of the assertion; the expectations judge the
            // replay that follows.
            let first = self.send(&wire).await;
            let summary = match &first.response {
                Ok(r) => format!("first use: {}", describe(&wire, r)),
                Err(e) => format!("first use: {e}"),
            };
            trace
                .records
                .push(self.step_record(step, summary, first.record));
        }
        self.single(step, &wire, ctx, trace).await
    }

    pub(super) async fn send(&self, wire: &WireRequest) -> Exchanged {
        record::exchange(
            &self.client,
            wire,
            self.http.request_timeout,
            &self.redactor,
        )
        .await
    }

    pub(super) fn step_record(
        &self,
        step: &Step,
        summary: String,
        exchange: Exchange,
    ) -> StepRecord {
        StepRecord {
            name: step.name.clone(),
            summary: self.redactor.redact(&summary),
            exchange: Some(exchange),
        }
    }

    /// One request: sent, recorded, judged, captured.
    pub(super) async fn single(
        &self,
        step: &Step,
        wire: &WireRequest,
        ctx: &mut Context<'_>,
        trace: &mut Trace<'_>,
    ) -> Result<(), Stop> {
        let requested_scope = wire.form_param("scope");
        self.single_with(step, wire, requested_scope, Vec::new(), ctx, trace)
            .await
    }

    /// [`Runner::single`] for a request whose scope was asked elsewhere (an
    /// authorization request), with `extra` members captured.
    pub(super) async fn single_with(
        &self,
        step: &Step,
        wire: &WireRequest,
        requested_scope: Option<String>,
        extra: Vec<(String, serde_json::Value)>,
        ctx: &mut Context<'_>,
        trace: &mut Trace<'_>,
    ) -> Result<(), Stop> {
        let Exchanged {
            mut response,
            mut record,
        } = self.send(wire).await;
        // A DPoP nonce demanded (RFC 9449 §8): once more with it.
        let retried = match &response {
            Ok(r) => request::dpop_nonce_retry(wire, r, ctx),
            Err(_) => None,
        };
        let wire = match &retried {
            Some(again) => {
                if let Ok(r) = &response {
                    let first = format!("DPoP nonce demanded: {}", describe(wire, r));
                    trace.records.push(self.step_record(step, first, record));
                }
                let e = self.send(again).await;
                response = e.response;
                record = e.record;
                again
            }
            None => wire,
        };
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                trace
                    .records
                    .push(self.step_record(step, e.to_string(), record));
                return Err(Stop::transport(step, e));
            }
        };
        trace
            .records
            .push(self.step_record(step, describe(wire, &response), record.clone()));
        self.judge(
            step,
            &response,
            &record,
            requested_scope.as_deref(),
            extra,
            ctx,
            trace,
        )
        .await
    }

    /// Judges one answer (sent, or made by a login: a command's output, an
    /// authorization response): `not_applicable_if`, `expect`,
    /// `expect_any`, the id_token's signature; then captures it, with
    /// `extra` members.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn judge(
        &self,
        step: &Step,
        response: &HttpResponse,
        record: &Exchange,
        requested_scope: Option<&str>,
        extra: Vec<(String, serde_json::Value)>,
        ctx: &mut Context<'_>,
        trace: &mut Trace<'_>,
    ) -> Result<(), Stop> {
        let response = response.clone();
        for (when, reason) in &step.not_applicable_if {
            if expect::check_all(when, &response, ctx).is_empty() {
                return Err(Stop::Skip(format!(
                    "not applicable: {reason} (step `{}` answered {})",
                    step.name,
                    answer(&response)
                )));
            }
        }
        let mut misses: Vec<(Mismatch, Option<Level>)> = Vec::new();
        if let Some(e) = &step.expect {
            misses.extend(expect::check_all(e, &response, ctx).into_iter().map(|m| {
                let level = m.level.or(e.level);
                (m, level)
            }));
        }
        if !step.expect_any.is_empty() {
            match any_of(&step.expect_any, &response, ctx) {
                Ok(formats) => misses.extend(formats.into_iter().map(|m| (m, None))),
                Err(m) => misses.push((m, None)),
            }
        }
        if step.expect.as_ref().is_some_and(|e| e.id_token_valid) && self.target.jwks_uri.is_none()
        {
            return Err(Stop::Skip(
                "not applicable: verifying an id_token needs the target's jwks_uri (or a discovery document that gives one)".into(),
            ));
        }
        if step.expect.as_ref().is_some_and(|e| e.id_token_valid)
            && let Err(m) = self.verify_id_token(step, &response).await
        {
            misses.push((m, step.expect.as_ref().and_then(|e| e.level)));
        }
        self.settle(step, &response, misses, record, trace)?;
        if response.truncated {
            return Err(Stop::error(
                step,
                ErrorClass::BodyTooLarge,
                format!("the response body exceeds {} bytes", http::MAX_BODY_BYTES),
            ));
        }
        let mut captured = Captured::from_token_response(&response, requested_scope);
        captured.extra.extend(extra);
        ctx.capture(&step.name, captured);
        Ok(())
    }

    pub(super) fn finding(&self, step: &Step, m: Mismatch, exchange: Option<Exchange>) -> Stop {
        let mut f = Finding::new(&step.name, m.subject, m.expected, m.actual);
        f.exchange = exchange;
        f.judges = m.judges;
        Stop::Finding(Box::new(f))
    }

    /// Sorts a step's failed expectations: a refused setup step blocks the
    /// scenario; format defects of a refusal go to ER-BODY / ER-STATUS
    /// (unless this scenario judges them); SHOULD parts of a MUST scenario
    /// are kept as warnings and the scenario goes on; the rest is a finding
    /// that lists all of them.
    fn settle(
        &self,
        step: &Step,
        response: &HttpResponse,
        misses: Vec<(Mismatch, Option<Level>)>,
        record: &Exchange,
        trace: &mut Trace<'_>,
    ) -> Result<(), Stop> {
        if misses.is_empty() {
            return Ok(());
        }
        // A server error is ER-NO5XX's, once, wherever it happens; the
        // check it interrupted could not be tried (a refusal sent as a 5xx
        // with an OAuth error is handed on below, and the check goes on).
        // A 5xx with an OAuth `error` is a refusal with the wrong status:
        // its code is still judged where it is due.
        let refusal_as_5xx = expect::error_code(response).is_some()
            || misses
                .iter()
                .any(|(m, _)| m.defect == expect::Defect::ServerStatus);
        if (500..600).contains(&response.status)
            && !refusal_as_5xx
            && !trace.covers.iter().any(|c| c == "ER-NO5XX")
        {
            trace.attributed.push(Attributed {
                id: "ER-NO5XX",
                step: step.name.clone(),
                subject: "status".into(),
                expected: "no 5xx".into(),
                actual: answer(response),
                exchange: Some(record.clone()),
            });
            return Err(Stop::Blocked {
                step: step.name.clone(),
                by: format!(
                    "the server failed with {} (a server error: ER-NO5XX judges it, once); this check's own property was not tried",
                    answer(response)
                ),
            });
        }
        // The target's own client credentials refused where the check did
        // not ask for that: the check could not be tried (a wrong secret in
        // the target is one message, not a finding per scenario).
        let refused_client = step.own_client
            && expect::error_code(response).as_deref() == Some("invalid_client")
            && !step
                .expect
                .as_ref()
                .and_then(|e| e.error.as_ref())
                .is_some_and(|codes| codes.0.iter().any(|c| c == "invalid_client"));
        if refused_client {
            let client = match &step.action {
                Action::Grant(g) => g.client.clone(),
                Action::Revoke(op) | Action::Introspect(op) => op.client.clone(),
                _ => "primary".into(),
            };
            return Err(Stop::Blocked {
                step: step.name.clone(),
                by: format!(
                    "the server refused the credentials of clients.{client} ({}): check them in the target",
                    answer(response)
                ),
            });
        }
        // A premise is judged by its shape: a 2xx that carries an `error`
        // and no token is a refusal too (sent with the wrong status, which
        // ER-STATUS judges where it is covered).
        let refused_in_2xx = (200..300).contains(&response.status)
            && expect::error_code(response).is_some()
            && response
                .json()
                .is_some_and(|j| j.get("access_token").is_none());
        if step.setup && (!(200..300).contains(&response.status) || refused_in_2xx) {
            let by = match (expect::error_code(response).as_deref(), &step.action) {
                (Some("invalid_client"), Action::Grant(g)) => format!(
                    "the server refused the credentials of clients.{} ({}): check them in the target",
                    g.client,
                    answer(response)
                ),
                _ => format!(
                    "the server refused it with {} (this check starts from that step; its own property was not tried)",
                    answer(response)
                ),
            };
            return Err(Stop::Blocked {
                step: step.name.clone(),
                by,
            });
        }
        // A premise answered with success but without the refresh token
        // the check starts from (RFC 6749 §5.1 makes it optional): the
        // check could not be tried. Whether the server must issue one is a
        // declaration (refresh_token_issued), judged where it is covered.
        if step.setup
            && misses
                .iter()
                .any(|(m, _)| m.subject == "body.refresh_token" && m.actual == "absent")
        {
            return Err(Stop::Blocked {
                step: step.name.clone(),
                by: format!(
                    "its {} answer has no refresh_token (optional, RFC 6749 §5.1): ask for the scope that brings one (offline_access on most OpenID providers: login.scope or password_grant.scope), with consent where the server wants it (login.params: {{ prompt: consent }})",
                    response.status
                ),
            });
        }
        let mut hard: Vec<Finding> = Vec::new();
        for (m, level) in misses {
            // A wrong code is handed on only by checks of a refusal.
            let handed_on = m.defect != expect::Defect::ErrorCode
                || super::causes::code_is_incidental(trace.covers);
            if let Some(id) = m.defect.catalogue_id()
                && handed_on
                && !trace.covers.iter().any(|c| c == id)
            {
                trace.attributed.push(Attributed {
                    id,
                    step: step.name.clone(),
                    subject: m.subject,
                    expected: m.expected,
                    actual: m.actual,
                    exchange: Some(record.clone()),
                });
                continue;
            }
            let soft = level.is_some_and(|l| l != trace.level)
                && matches!(trace.level, Level::Must | Level::Profile);
            let mut f = Finding::new(&step.name, m.subject, m.expected, m.actual);
            f.exchange = Some(record.clone());
            f.judges = m.judges;
            if soft {
                trace.soft.push((f, level.unwrap_or(Level::Should)));
            } else {
                hard.push(f);
            }
        }
        if hard.is_empty() {
            return Ok(());
        }
        let mut rest = hard.into_iter();
        let mut first = rest.next().expect("not empty");
        first.also = rest.map(|f| f.observed(trace.level)).collect();
        Err(Stop::Finding(Box::new(first)))
    }

    /// The request `repeat` times, one after another, each judged; the
    /// median latency is kept, and compared when the step says `timing`.
    async fn repeated(
        &self,
        step: &Step,
        g: &GrantRequest,
        ctx: &mut Context<'_>,
        trace: &mut Trace<'_>,
    ) -> Result<(), Stop> {
        let mut took = Vec::new();
        for _ in 0..step.repeat {
            let wire = request::grant_request(g, ctx).map_err(|e| Stop::build(step, e))?;
            let started = Instant::now();
            self.single(step, &wire, ctx, trace).await?;
            took.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        took.sort_by(f64::total_cmp);
        let median = took[took.len() / 2];
        trace.medians.push((step.name.clone(), median, took.len()));
        let Some(t) = &step.timing else {
            return Ok(());
        };
        let Some((_, other, n)) = trace.medians.iter().find(|(name, ..)| *name == t.like) else {
            return Ok(());
        };
        let (lo, hi) = (median.min(*other), median.max(*other));
        if hi - lo > t.min_difference_ms && hi > lo * t.max_ratio {
            let m = Mismatch::new(
                "median latency (a measurement)",
                format!(
                    "within {}× (or {} ms) of step `{}`'s",
                    t.max_ratio, t.min_difference_ms, t.like
                ),
                format!(
                    "{median:.1} ms here against {other:.1} ms for `{}` ({} and {n} samples): the answers tell the two cases apart by their timing",
                    t.like,
                    took.len()
                ),
            );
            return Err(self.finding(step, m, None));
        }
        Ok(())
    }

    /// N copies of one request on pre-opened connections, released together.
    /// Each copy is built anew: a client assertion must carry its own `jti`,
    /// or the server rightly refuses the copies as replays.
    async fn parallel(
        &self,
        step: &Step,
        g: &GrantRequest,
        ctx: &mut Context<'_>,
        trace: &mut Trace<'_>,
    ) -> Result<(), Stop> {
        let n = step.parallel as usize;
        let wires = (0..n)
            .map(|_| request::grant_request(g, ctx))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Stop::build(step, e))?;
        let wire = wires[0].clone();
        let wire = &wire;
        // One client, or one per address of the host (`across_addresses`).
        let (clients, spread) = if step.across_addresses {
            let (clients, addrs) = self.address_clients(&wire.url, n).await?;
            let spread = format!(
                " across {} addresses ({})",
                addrs.len(),
                addrs
                    .iter()
                    .map(|a| a.ip().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            (clients, spread)
        } else {
            let client = http::build_client(&self.http, n).map_err(|e| Stop::transport(step, e))?;
            (vec![client], String::new())
        };
        let client = &clients[0];
        // Open the connections first (any answer will do), so that the real
        // requests leave together instead of queueing behind handshakes.
        let warm = (0..n).map(|i| {
            let c = clients[i % clients.len()].clone();
            let url = wire.url.clone();
            async move { http::send(c.head(url), Duration::from_secs(5)).await }
        });
        futures::future::join_all(warm).await;
        // A revocation raced against the copies (`with_revoke`).
        let revoke = match &step.with_revoke {
            Some(op) => {
                let url =
                    self.target.revocation_endpoint.as_ref().ok_or_else(|| {
                        Stop::Skip("the target has no revocation_endpoint".into())
                    })?;
                Some(request::token_op_request(op, url, ctx).map_err(|e| Stop::build(step, e))?)
            }
            None => None,
        };
        // Sent together; once more with the server's DPoP nonce when every
        // answer demands one (RFC 9449 §8; never after a raced revocation).
        let mut wires = wires;
        let mut tries = 0;
        let (results, revoked): (Vec<Exchanged>, Option<Exchanged>) = loop {
            tries += 1;
            let (results, revoked) = {
                let barrier =
                    Arc::new(tokio::sync::Barrier::new(n + usize::from(revoke.is_some())));
                let sends = wires.iter().enumerate().map(|(i, w)| {
                    let b = barrier.clone();
                    let client = &clients[i % clients.len()];
                    async move {
                        b.wait().await;
                        record::exchange(client, w, self.http.request_timeout, &self.redactor).await
                    }
                });
                let revocation = async {
                    match &revoke {
                        Some(w) => {
                            barrier.clone().wait().await;
                            // A hair after the refreshes: on a fast server one of
                            // them is checked first, so the race is really run.
                            tokio::time::sleep(Duration::from_millis(1)).await;
                            Some(
                                record::exchange(
                                    client,
                                    w,
                                    self.http.request_timeout,
                                    &self.redactor,
                                )
                                .await,
                            )
                        }
                        None => None,
                    }
                };
                futures::join!(futures::future::join_all(sends), revocation)
            };
            let nonce = results
                .iter()
                .map(|e| {
                    e.response
                        .as_ref()
                        .ok()
                        .and_then(crate::oauth::request::dpop_nonce_demanded)
                })
                .collect::<Option<Vec<String>>>()
                .and_then(|n| n.into_iter().next());
            match nonce {
                Some(nonce) if tries == 1 && revoke.is_none() => {
                    ctx.dpop.lock().unwrap_or_else(|p| p.into_inner()).nonce = Some(nonce);
                    wires = (0..n)
                        .map(|_| request::grant_request(g, ctx))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| Stop::build(step, e))?;
                }
                _ => break (results, revoked),
            }
        };
        if let (Some(r), Some(w)) = (revoked, &revoke) {
            let summary = match &r.response {
                Ok(resp) => format!("raced revocation: {}", describe(w, resp)),
                Err(e) => format!("raced revocation: {e}"),
            };
            trace
                .records
                .push(self.step_record(step, summary, r.record));
        }
        let (responses, exchanges): (Vec<Option<HttpResponse>>, Vec<Exchange>) = results
            .into_iter()
            .map(|e| (e.response.ok(), e.record))
            .unzip();
        let summary = format!(
            "{} × {} {}{spread} → {}",
            n,
            wire.method.as_str(),
            wire.url.path(),
            expect::tally(&responses)
        );
        let shown = responses
            .iter()
            .position(|r| r.as_ref().is_some_and(|r| (200..300).contains(&r.status)))
            .or(responses.iter().position(Option::is_some))
            .unwrap_or(0);
        trace
            .records
            .push(self.step_record(step, summary, exchanges[shown].clone()));
        let answered: Vec<&HttpResponse> = responses.iter().flatten().collect();
        if step.own_client
            && !answered.is_empty()
            && answered
                .iter()
                .all(|r| expect::error_code(r).as_deref() == Some("invalid_client"))
        {
            return Err(Stop::Blocked {
                step: step.name.clone(),
                by: format!(
                    "the server refused the credentials of clients.{} ({}): check them in the target",
                    g.client,
                    answer(answered[0])
                ),
            });
        }
        // Server errors among the copies: ER-NO5XX's, once; what the set
        // and the token sample would say is not this check's to judge.
        if !trace.covers.iter().any(|c| c == "ER-NO5XX")
            && let Some((r, x)) = responses.iter().zip(&exchanges).find(|(r, _)| {
                r.as_ref().is_some_and(|r| {
                    (500..600).contains(&r.status) && expect::error_code(r).is_none()
                })
            })
            && let Some(r) = r
        {
            let n = answered
                .iter()
                .filter(|r| r.status >= 500 && expect::error_code(r).is_none())
                .count();
            trace.attributed.push(Attributed {
                id: "ER-NO5XX",
                step: step.name.clone(),
                subject: "status".into(),
                expected: "no 5xx".into(),
                actual: format!("{} ({n} of {} copies)", answer(r), responses.len()),
                exchange: Some(x.clone()),
            });
            return Err(Stop::Blocked {
                step: step.name.clone(),
                by: format!(
                    "the server failed with {} in {n} of {} parallel requests (ER-NO5XX judges it, once); this check's own property was not tried",
                    answer(r),
                    responses.len()
                ),
            });
        }
        let incidental = super::causes::code_is_incidental(trace.covers)
            && !trace.covers.iter().any(|c| c == "ER-CODE");
        let wrong_codes =
            expect::check_set(&step.expect_set, &responses, incidental).map_err(|m| {
                let mut shown = distinct_answers(&responses, &exchanges).into_iter();
                let mut f = Finding::new(&step.name, m.subject, m.expected, m.actual);
                f.exchange = shown.next();
                f.exchanges = shown.collect();
                f.judges = m.judges;
                Stop::Finding(Box::new(f))
            })?;
        for (expected, actual) in wrong_codes {
            // The refusal held; its code is ER-CODE's to judge, once.
            let exchange = responses
                .iter()
                .zip(&exchanges)
                .find(|(r, _)| {
                    r.as_ref()
                        .and_then(expect::error_code)
                        .is_some_and(|c| actual.trim_matches('`') == c)
                })
                .map(|(_, x)| x.clone());
            trace.attributed.push(Attributed {
                id: "ER-CODE",
                step: step.name.clone(),
                subject: "error".into(),
                expected,
                actual,
                exchange,
            });
        }
        if let Some(q) = &step.tokens {
            token_quality(q, &responses).map_err(|m| self.finding(step, m, None))?;
        }
        if let Some(e) = &step.expect {
            for (r, x) in responses.iter().zip(&exchanges) {
                if let Some(r) = r {
                    expect::check(e, r, ctx).map_err(|m| self.finding(step, m, Some(x.clone())))?;
                }
            }
        }
        if let Some(r) = &responses[shown] {
            ctx.capture(
                &step.name,
                Captured::from_token_response(r, wire.form_param("scope").as_deref()),
            );
        }
        Ok(())
    }

    /// One client per address the URL's host resolves to, each with
    /// `pool` connections, for those that answer at all (any HTTP answer).
    /// Skips, with the reason, when fewer than two do: there is nothing to
    /// race across (an IP address, one address, or only one reachable).
    async fn address_clients(
        &self,
        url: &url::Url,
        pool: usize,
    ) -> Result<(Vec<reqwest::Client>, Vec<std::net::SocketAddr>), Stop> {
        let Some(url::Host::Domain(domain)) = url.host() else {
            return Err(Stop::Skip(format!(
                "not applicable: the token endpoint's host {} is an address, not a name that could resolve to several",
                url.host_str().unwrap_or("")
            )));
        };
        let port = url.port_or_known_default().unwrap_or(443);
        let mut addrs: Vec<std::net::SocketAddr> = tokio::time::timeout(
            Duration::from_secs(5),
            tokio::net::lookup_host((domain, port)),
        )
        .await
        .ok()
        .and_then(Result::ok)
        .map(|a| a.collect())
        .unwrap_or_default();
        addrs.sort();
        addrs.dedup();
        let mut answering = Vec::new();
        for addr in &addrs {
            let Ok(client) = http::build_client_at(&self.http, pool, Some((domain, *addr))) else {
                continue;
            };
            if http::send(client.head(url.clone()), Duration::from_secs(5))
                .await
                .is_ok()
            {
                answering.push((client, *addr));
            }
        }
        if answering.len() < 2 {
            return Err(Stop::Skip(format!(
                "not applicable: {domain} resolves to {} address{} ({}), {} of which answer{}: nothing to race across",
                addrs.len(),
                if addrs.len() == 1 { "" } else { "es" },
                addrs
                    .iter()
                    .map(|a| a.ip().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                answering.len(),
                if answering.len() == 1 { "s" } else { "" }
            )));
        }
        Ok(answering.into_iter().unzip())
    }

    /// A refresh repeated every `every` until `until` has passed, following
    /// rotation; all but the last must succeed, `expect` judges the last.
    async fn chain(
        &self,
        step: &Step,
        g: &GrantRequest,
        every: &WaitExpr,
        until: &WaitExpr,
        ctx: &mut Context<'_>,
        trace: &mut Trace<'_>,
    ) -> Result<(), Stop> {
        const MAX_ROUNDS: u128 = 1000;
        let every_d = self.wait_duration(every).map_err(|e| Stop::wait(step, e))?;
        let until_d = self.wait_duration(until).map_err(|e| Stop::wait(step, e))?;
        if every_d.is_zero() {
            return Err(Stop::Skip(format!(
                "chain: `every` ({}) comes to zero with what the target declares",
                every.text
            )));
        }
        let rounds = until_d.as_millis().div_ceil(every_d.as_millis()).max(1);
        if rounds > MAX_ROUNDS {
            return Err(Stop::Skip(format!(
                "the chain would take {rounds} refreshes ({} every {}), more than {MAX_ROUNDS}",
                until.text, every.text
            )));
        }
        if self.target.clock_control.is_none()
            && until_d > Duration::from_secs_f64(self.target.timing.max_wait_s)
        {
            return Err(Stop::Skip(format!(
                "the chain needs {} of waiting ({}), longer than timing.max_wait_s and the target has no clock_control",
                humantime::format_duration(until_d),
                until.text
            )));
        }
        let mut token = match &g.refresh_token {
            Some(t) => {
                ctx.render(t)
                    .map_err(|e| Stop::build(step, BuildError::Render(e)))?
                    .text
            }
            None => String::new(),
        };
        let mut g = g.clone();
        for round in 1..=rounds {
            self.wait(every).await.map_err(|e| Stop::wait(step, e))?;
            self.redactor.add("tk", &token);
            g.refresh_token = Some(crate::scenario::template::Template::literal(&token));
            let wire = request::grant_request(&g, ctx).map_err(|e| Stop::build(step, e))?;
            let Exchanged { response, record } = self.send(&wire).await;
            let response = match response {
                Ok(r) => r,
                Err(e) => {
                    trace
                        .records
                        .push(self.step_record(step, e.to_string(), record));
                    return Err(Stop::transport(step, e));
                }
            };
            let summary = format!(
                "round {round}/{rounds} after {}: {}",
                humantime::format_duration(every_d * round as u32),
                describe(&wire, &response)
            );
            trace
                .records
                .push(self.step_record(step, summary, record.clone()));
            if round == rounds {
                if let Some(e) = &step.expect {
                    let misses = expect::check_all(e, &response, ctx)
                        .into_iter()
                        .map(|m| {
                            let level = m.level.or(e.level);
                            (m, level)
                        })
                        .collect();
                    self.settle(step, &response, misses, &record, trace)?;
                }
                ctx.capture(
                    &step.name,
                    Captured::from_token_response(&response, wire.form_param("scope").as_deref()),
                );
                break;
            }
            if !(200..300).contains(&response.status) {
                let code = expect::error_code(&response)
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default();
                let m = Mismatch::new(
                    format!("refresh {round} of {rounds}"),
                    format!("200 while the chain is younger than {}", until.text),
                    format!("{}{code}", response.status),
                );
                return Err(self.finding(step, m, Some(record)));
            }
            if let Some(next) = response.json().and_then(|j| {
                j.get("refresh_token")
                    .and_then(|t| t.as_str().map(str::to_string))
            }) {
                token = next;
            }
        }
        Ok(())
    }

    /// Where a published document lives.
    fn document_url(&self, doc: Document) -> Option<url::Url> {
        match doc {
            Document::Jwks => self.target.jwks_uri.clone(),
            Document::Discovery => self.target.discovery.clone().or_else(|| {
                let issuer = self.target.issuer.as_ref()?;
                url::Url::parse(&format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                ))
                .ok()
            }),
        }
    }

    /// The response's id_token against the target's JWKS.
    async fn verify_id_token(&self, step: &Step, response: &HttpResponse) -> Result<(), Mismatch> {
        let subject = "id_token signature";
        let expected = "valid against the JWKS".to_string();
        let jwt = response
            .json()
            .and_then(|j| {
                j.get("id_token")
                    .and_then(|t| t.as_str().map(str::to_string))
            })
            .ok_or_else(|| Mismatch::new(subject, expected.clone(), "no id_token"))?;
        let audience = match &step.action {
            Action::Grant(g) => self.target.client(&g.client).map(|c| c.id.clone()),
            _ => None,
        }
        .unwrap_or_default();
        let jwks = self
            .jwks
            .get_or_init(|| async {
                let url = self.target.jwks_uri.clone().ok_or(
                    "the target declares no jwks_uri (nor a discovery document that does)",
                )?;
                let r = http::send(self.client.get(url.clone()), self.http.request_timeout)
                    .await
                    .map_err(|e| format!("cannot fetch the JWKS: {e}"))?;
                r.json()
                    .filter(|_| (200..300).contains(&r.status))
                    .ok_or_else(|| format!("the JWKS at {url} answered {} without JSON", r.status))
            })
            .await
            .as_ref()
            .map_err(|e| Mismatch::new(subject, expected.clone(), e.clone()))?;
        crate::oauth::idtoken::verify(&jwt, jwks, &audience, self.target.issuer.as_deref())
            .map_err(|e| Mismatch::new(subject, expected, e))
    }

    async fn wait(&self, w: &WaitExpr) -> Result<String, WaitError> {
        let d = self.wait_duration(w)?;
        if let Some(url) = &self.target.clock_control {
            let body = crate::wire::ClockAdvance {
                seconds: d.as_secs_f64().ceil() as u64,
            };
            let req = self.client.post(url.clone()).json(&body);
            let r = http::send(req, self.http.request_timeout)
                .await
                .map_err(|e| WaitError::Clock(e.to_string()))?;
            if !(200..300).contains(&r.status) {
                return Err(WaitError::Clock(format!(
                    "clock control answered HTTP {}",
                    r.status
                )));
            }
            return Ok(format!(
                "wait {} ({}s on the target's clock)",
                w.text, body.seconds
            ));
        }
        let max = Duration::from_secs_f64(self.target.timing.max_wait_s);
        if d > max {
            return Err(WaitError::NotApplicable(format!(
                "needs a wait of {} ({}), longer than timing.max_wait_s ({}s) and the target has no clock_control",
                humantime::format_duration(d),
                w.text,
                self.target.timing.max_wait_s
            )));
        }
        tokio::time::sleep(d).await;
        Ok(format!(
            "wait {} ({:.1}s of real time)",
            w.text,
            d.as_secs_f64()
        ))
    }

    fn wait_duration(&self, w: &WaitExpr) -> Result<Duration, WaitError> {
        let b = &self.target.behaviour;
        let mut total = 0.0f64;
        for (factor, term) in &w.terms {
            let ms: u128 = match term {
                WaitTerm::Fixed(d) => d.as_millis(),
                WaitTerm::AccessTokenTtl => {
                    secs(b.access_token_ttl_s, "behaviour.access_token_ttl_s")?
                }
                WaitTerm::RefreshTokenTtl => {
                    secs(b.refresh_token_ttl_s, "behaviour.refresh_token_ttl_s")?
                }
                WaitTerm::GracePeriod => u128::from(b.grace_period_s) * 1000,
                WaitTerm::ExpiresInTolerance => {
                    u128::from(self.target.timing.expires_in_tolerance_s) * 1000
                }
                WaitTerm::RefreshTokenMaxLifetime => secs(
                    b.refresh_token_max_lifetime_s,
                    "behaviour.refresh_token_max_lifetime_s",
                )?,
            };
            total += factor * ms as f64;
        }
        Ok(Duration::from_millis(total.max(0.0).round() as u64))
    }
}

/// The exchanges behind a set of parallel answers, one per distinct answer
/// (a success per distinct refresh token, then a refusal per status and
/// `error`, then one without an answer), successes first, at most 8: what
/// a reader of a race finding needs to see that two refreshes won.
fn distinct_answers(responses: &[Option<HttpResponse>], exchanges: &[Exchange]) -> Vec<Exchange> {
    let key = |r: &Option<HttpResponse>| -> (u8, String) {
        match r {
            Some(r) if (200..300).contains(&r.status) => {
                let token = r.json().and_then(|b| {
                    b.get("refresh_token")
                        .or(b.get("access_token"))
                        .and_then(|t| t.as_str().map(str::to_string))
                });
                (0, token.unwrap_or_default())
            }
            Some(r) => (
                1,
                format!("{} {}", r.status, expect::error_code(r).unwrap_or_default()),
            ),
            None => (2, String::new()),
        }
    };
    let mut seen: Vec<((u8, String), &Exchange)> = Vec::new();
    for (r, x) in responses.iter().zip(exchanges) {
        let k = key(r);
        if !seen.iter().any(|(s, _)| *s == k) {
            seen.push((k, x));
        }
    }
    seen.sort_by_key(|(k, _)| k.0);
    seen.into_iter().take(8).map(|(_, x)| x.clone()).collect()
}

/// The sampled members of the successful responses, judged by
/// [`super::quality`].
fn token_quality(
    q: &crate::scenario::model::TokenQuality,
    responses: &[Option<HttpResponse>],
) -> Result<(), Mismatch> {
    let members: Vec<&str> = if q.members.is_empty() {
        vec!["access_token", "refresh_token"]
    } else {
        q.members.iter().map(String::as_str).collect()
    };
    let bodies: Vec<serde_json::Value> = responses
        .iter()
        .flatten()
        .filter(|r| (200..300).contains(&r.status))
        .filter_map(HttpResponse::json)
        .collect();
    for member in members {
        let tokens: Vec<&str> = bodies
            .iter()
            .filter_map(|b| b.get(member).and_then(serde_json::Value::as_str))
            .collect();
        let subject = format!("{member} quality");
        if tokens.len() < 2 {
            return Err(Mismatch::new(
                &subject,
                "a sample of issued tokens".to_string(),
                format!("{} {member}s in the successful responses", tokens.len()),
            ));
        }
        let e = super::quality::estimate(&tokens);
        if let Some(i) = e.duplicate {
            return Err(Mismatch::new(
                &subject,
                "every token distinct".to_string(),
                format!("sample {} of {} repeats an earlier token", i + 1, e.samples),
            ));
        }
        if let Some(i) = e.non_vschar {
            return Err(Mismatch::new(
                &subject,
                "printable ASCII (VSCHAR, RFC 6749 Appendix A)".to_string(),
                format!("sample {} holds another character", i + 1),
            ));
        }
        if e.bits < f64::from(q.min_bits) {
            return Err(Mismatch::new(
                &subject,
                format!("at least {} bits of entropy", q.min_bits),
                e.describe(),
            ));
        }
    }
    Ok(())
}

fn secs(v: Option<u64>, name: &str) -> Result<u128, WaitError> {
    v.map(|s| u128::from(s) * 1000)
        .ok_or_else(|| WaitError::NotApplicable(format!("needs the target to declare {name}")))
}

/// One of `alternatives` must hold; otherwise every miss, numbered. An
/// alternative that fails only on the shape of a refusal holds, and hands
/// those format defects back (for ER-BODY / ER-STATUS).
fn any_of(
    alternatives: &[ExpectC],
    r: &HttpResponse,
    ctx: &Context,
) -> Result<Vec<Mismatch>, Mismatch> {
    let mut misses = Vec::new();
    let mut format_only = None;
    for e in alternatives {
        let all = expect::check_all(e, r, ctx);
        if all.is_empty() {
            return Ok(Vec::new());
        }
        if format_only.is_none() && all.iter().all(|m| m.defect.catalogue_id().is_some()) {
            format_only = Some(all.clone());
        }
        misses.push(all.into_iter().next().expect("not empty"));
    }
    if let Some(formats) = format_only {
        return Ok(formats);
    }
    // A single alternative is one more expectation: its miss as it is.
    if misses.len() == 1 {
        return Err(misses.remove(0));
    }
    let judges = misses[0].judges.clone();
    let numbered = |f: &dyn Fn(&Mismatch) -> String| {
        misses
            .iter()
            .enumerate()
            .map(|(i, m)| format!("({}) {}", i + 1, f(m)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    Err(Mismatch::new(
        "response",
        format!(
            "one of {} alternatives: {}",
            misses.len(),
            numbered(&|m| format!("{}: {}", m.subject, m.expected))
        ),
        numbered(&|m| m.actual.clone()),
    )
    .judged_by(if misses.iter().all(|m| m.judges == judges) {
        judges
    } else {
        Vec::new()
    }))
}

/// `POST /token (refresh_token) → 400 invalid_grant`
fn describe(wire: &WireRequest, r: &HttpResponse) -> String {
    let grant = wire
        .form_param("grant_type")
        .map(|g| format!(" ({g})"))
        .unwrap_or_default();
    let code = expect::error_code(r)
        .map(|c| format!(" {c}"))
        .unwrap_or_default();
    format!(
        "{} {}{grant} → {}{code} in {}ms",
        wire.method.as_str(),
        wire.url.path(),
        r.status,
        r.elapsed.as_millis()
    )
}
