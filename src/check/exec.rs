//! Running one scenario: its steps in order, each request sent, its response
//! captured and judged. The first failed expectation ends the scenario.
//!
//! One function per step kind (`wait`, `get`, `revoke`/`introspect`, a
//! grant: single, replayed assertion, parallel, chain); every request goes
//! through `oauth::record::exchange`, and every way a step can stop early is
//! turned into an outcome in one place ([`Stop`]).
//!
//! This file holds the run of a scenario (its rounds, its verdict, the
//! redaction of what it reports) and the dispatch of each step; the kinds
//! of step live beside it, one job each:
//! - `judge`: one answer's expectations checked and its misses sorted;
//! - `race`: parallel copies released together;
//! - `repeat`: repeated and chained requests, and the token sample;
//! - `waits`: waits on the target's clock or in real time;
//! - `documents`: discovery, the JWKS and id_tokens, revocation and
//!   introspection requests.
//!
//! Beside `exec`: the login (`login`), the timing probe (`timing`), the
//! root causes (`causes`) and the known failures (`expected`).

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

mod documents;
mod judge;
mod race;
mod repeat;
mod waits;

use waits::WaitError;

/// What every scenario of a run shares.
pub struct Runner {
    pub target: Arc<Target>,
    pub client: reqwest::Client,
    pub http: HttpOptions,
    pub redactor: Arc<Redactor>,
    /// The target's JWKS, fetched once when a scenario first needs it.
    pub jwks: tokio::sync::OnceCell<Result<serde_json::Value, documents::JwksError>>,
    /// How many scenarios at once, retries alone, slow answers.
    pub pace: Arc<super::pace::Pace>,
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
                let mut ran = 0;
                for _ in 0..rounds {
                    ran += 1;
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
                if ran > 1
                    && let Some(Stop::Finding(f)) = &mut stop
                {
                    // The rounds that ran: a round that could not go on
                    // ended them early.
                    f.actual = format!("{} (in {failed_in} of {ran} rounds)", f.actual);
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
            duration: started.elapsed(),
            steps: trace.records,
            attributed,
            ..ScenarioResult::of(s, self.redact_outcome(outcome))
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
            Action::Any(v) => {
                // The password grant where the target offers it, else a
                // refresh of a session of the target's own login.
                if self.target.password_offered() {
                    Box::pin(self.step(&v.password, ctx, trace)).await
                } else {
                    for s in &v.refresh {
                        Box::pin(self.step(s, ctx, trace)).await?;
                    }
                    Ok(())
                }
            }
            Action::Grant(g) if step.sample > 1 => self.sample(step, g, ctx, trace).await,
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
        let _going = self.pace.request().await;
        self.exchange(wire).await
    }

    async fn exchange(&self, wire: &WireRequest) -> Exchanged {
        let started = Instant::now();
        let e = record::exchange(
            &self.client,
            wire,
            self.http.request_timeout,
            &self.redactor,
        )
        .await;
        if e.response.is_ok() {
            self.pace.answered(started.elapsed());
        }
        e
    }

    /// [`Runner::send`], and once more alone when the transport cut it
    /// short (a timeout, a reset, a refused connection): no such failure
    /// is evidence about what a check judges. A refresh whose first try
    /// got no answer may have been served: a refusal of the second try is
    /// then no evidence either, and stops the step as an error.
    pub(super) async fn send_retrying(&self, step: &Step, wire: &WireRequest) -> Exchanged {
        let first = self.send(wire).await;
        self.retry_alone(step, wire, first).await
    }

    /// `first` again, alone, when the transport cut it short (see
    /// [`Runner::send_retrying`]); else `first` as it is.
    pub(super) async fn retry_alone(
        &self,
        step: &Step,
        wire: &WireRequest,
        first: Exchanged,
    ) -> Exchanged {
        let Err(e) = &first.response else {
            return first;
        };
        if !super::pace::retriable(e.class) || !self.pace.may_retry() {
            return first;
        }
        let why = e.to_string();
        let second = {
            let _alone = self.pace.alone().await;
            // Others may have found the server silent meanwhile.
            if !self.pace.may_retry() {
                return first;
            }
            self.exchange(wire).await
        };
        self.pace.retried(second.response.is_ok());
        let refresh =
            wire.form_param("grant_type").as_deref() == Some(crate::wire::grant::REFRESH_TOKEN);
        match &second.response {
            Ok(r) if refresh && !(200..300).contains(&r.status) => {
                let detail = format!(
                    "step `{}`: the first try got no answer ({why}); the second, alone, was refused ({}), which a server that served the first may do: not evidence. Raise timing.request_timeout_s ({} s), or lower -j",
                    step.name,
                    answer(r),
                    self.http.request_timeout.as_secs_f64()
                );
                Exchanged {
                    response: Err(TransportError::new(e.class, detail)),
                    record: second.record,
                }
            }
            Ok(_) => second,
            Err(again) => {
                let detail = format!(
                    "{again}; tried twice, the second time alone (every other request waited): raise timing.request_timeout_s ({} s), or lower -j",
                    self.http.request_timeout.as_secs_f64()
                );
                Exchanged {
                    response: Err(TransportError::new(again.class, detail)),
                    record: second.record,
                }
            }
        }
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
            .await?;
        // The refresh token that lives on after a refresh: the successor,
        // or, where the server does not rotate (`omit`: RFC 6749 §5.1
        // leaves the member out), the one sent.
        if let Some(sent) = wire.form_param("refresh_token")
            && let Some(c) = ctx.get_mut(&step.name)
            && (200..300).contains(&c.status)
        {
            let live = c
                .member("refresh_token")
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or(sent);
            c.extra
                .push(("live_refresh_token".into(), serde_json::Value::String(live)));
        }
        Ok(())
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
        } = self.send_retrying(step, wire).await;
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
