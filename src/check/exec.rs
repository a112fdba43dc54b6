//! Running one scenario: its steps in order, each request sent, its response
//! captured and judged. The first failed expectation ends the scenario.

use super::context::{Captured, Context};
use super::expect::{self, Mismatch};
use super::request::{self, WireRequest};
use super::result::*;
use crate::oauth::http::{self, HttpOptions, HttpResponse, TransportError};
use crate::redact::Redactor;
use crate::scenario::Scenario;
use crate::scenario::compile::{Action, Step, WaitExpr, WaitTerm};
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
enum Stop {
    Finding(Box<Finding>),
    Skip(String),
    Error {
        step: String,
        class: ErrorClass,
        detail: String,
    },
}

impl Runner {
    pub async fn run(&self, s: &Scenario) -> ScenarioResult {
        let started = Instant::now();
        let mut records = Vec::new();
        let outcome = match super::plan::unmet(s, &self.target) {
            Some(why) => Outcome::Skipped { why },
            None => {
                let mut ctx = Context::new(&self.target);
                let mut stop = None;
                for step in &s.steps {
                    if let Err(e) = self.step(step, &mut ctx, &mut records).await {
                        stop = Some(e);
                        break;
                    }
                }
                self.verdict(s, stop)
            }
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
            steps: records,
        }
    }

    fn verdict(&self, s: &Scenario, stop: Option<Stop>) -> Outcome {
        match stop {
            None => Outcome::Passed {
                note: s.observation.clone().filter(|_| s.level == Level::Info),
            },
            Some(Stop::Skip(why)) => Outcome::Skipped { why },
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
                Level::Must | Level::Profile => Outcome::Failed(*f),
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
        }
    }

    fn redact_finding(&self, f: Finding) -> Finding {
        let r = &self.redactor;
        Finding {
            expected: r.redact(&f.expected),
            actual: r.redact(&f.actual),
            ..f
        }
    }

    async fn step(
        &self,
        step: &Step,
        ctx: &mut Context<'_>,
        records: &mut Vec<StepRecord>,
    ) -> Result<(), Stop> {
        let error = |class: ErrorClass, detail: String| Stop::Error {
            step: step.name.clone(),
            class,
            detail,
        };
        let wire = match &step.action {
            Action::Wait(w) => {
                let summary = self.wait(w).await.map_err(|e| match e {
                    WaitError::TooLong(why) => Stop::Skip(why),
                    WaitError::Clock(detail) => error(ErrorClass::Clock, detail),
                })?;
                records.push(StepRecord {
                    name: step.name.clone(),
                    summary,
                    exchange: None,
                });
                return Ok(());
            }
            Action::Grant(g) => request::grant_request(g, ctx, &self.redactor),
            Action::Get(doc) => match self.document_url(*doc) {
                Some(url) => Ok(request::get_request(url)),
                None => {
                    return Err(Stop::Skip(format!(
                        "the target declares no {} URL",
                        match doc {
                            crate::scenario::model::Document::Discovery =>
                                "discovery (nor an issuer)",
                            crate::scenario::model::Document::Jwks => "jwks_uri",
                        }
                    )));
                }
            },
            Action::Revoke(op) => match &self.target.revocation_endpoint {
                Some(url) => request::token_op_request(op, url, ctx, &self.redactor),
                None => return Err(Stop::Skip("the target has no revocation_endpoint".into())),
            },
            Action::Introspect(op) => match &self.target.introspection_endpoint {
                Some(url) => request::token_op_request(op, url, ctx, &self.redactor),
                None => {
                    return Err(Stop::Skip(
                        "the target has no introspection_endpoint".into(),
                    ));
                }
            },
        }
        .map_err(|e| error(ErrorClass::MissingCapture, e))?;

        if let (Some((every, until)), Action::Grant(g)) = (&step.chain, &step.action) {
            return self.chain(step, g, every, until, ctx, records).await;
        }
        if step.parallel > 1 {
            // Each copy is built anew: a client assertion must carry its own
            // `jti`, or the server rightly refuses the copies as replays.
            let mut wires = vec![wire];
            for _ in 1..step.parallel {
                let next = match &step.action {
                    Action::Grant(g) => request::grant_request(g, ctx, &self.redactor)
                        .map_err(|e| error(ErrorClass::MissingCapture, e))?,
                    _ => wires[0].clone(),
                };
                wires.push(next);
            }
            return self.parallel(step, &wires, ctx, records).await;
        }
        if let Action::Grant(g) = &step.action
            && g.assertion == Some(crate::scenario::model::AssertionDefect::Replayed)
        {
            // The first use of the assertion; the expectations judge the
            // replay below.
            let first = http::send(wire.to_reqwest(&self.client), self.http.request_timeout).await;
            let summary = match &first {
                Ok(r) => format!("first use: {}", describe(&wire, r)),
                Err(e) => format!("first use: {e}"),
            };
            records.push(self.record(step, &wire, first.as_ref().ok(), summary));
            if let Ok(r) = &first
                && let Some(j) = r.json()
            {
                self.redactor.add_json(&j);
            }
        }
        let result = http::send(wire.to_reqwest(&self.client), self.http.request_timeout).await;
        let response = match result {
            Ok(r) => r,
            Err(TransportError { class, detail }) => {
                records.push(self.record(step, &wire, None, format!("{class}: {detail}")));
                return Err(error(class, detail));
            }
        };
        if let Some(j) = response.json() {
            self.redactor.add_json(&j);
        }
        let summary = describe(&wire, &response);
        records.push(self.record(step, &wire, Some(&response), summary));
        if let Some(e) = &step.expect
            && let Err(m) = expect::check(e, &response, ctx)
        {
            return Err(self.finding(step, m, &wire, Some(&response)));
        }
        if !step.expect_any.is_empty() {
            let mut misses = Vec::new();
            for e in &step.expect_any {
                match expect::check(e, &response, ctx) {
                    Ok(()) => {
                        misses.clear();
                        break;
                    }
                    Err(m) => misses.push(m),
                }
            }
            if !misses.is_empty() {
                let m = Mismatch::new(
                    "response",
                    format!(
                        "one of {} alternatives: {}",
                        misses.len(),
                        misses
                            .iter()
                            .enumerate()
                            .map(|(i, m)| format!("({}) {}: {}", i + 1, m.subject, m.expected))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                    misses
                        .iter()
                        .enumerate()
                        .map(|(i, m)| format!("({}) {}", i + 1, m.actual))
                        .collect::<Vec<_>>()
                        .join("; "),
                );
                return Err(self.finding(step, m, &wire, Some(&response)));
            }
        }
        if step.expect.as_ref().is_some_and(|e| e.id_token_valid)
            && let Err(m) = self.verify_id_token(step, &response).await
        {
            return Err(self.finding(step, m, &wire, Some(&response)));
        }
        if response.truncated {
            return Err(error(
                ErrorClass::BodyTooLarge,
                format!("the response body exceeds {} bytes", http::MAX_BODY_BYTES),
            ));
        }
        ctx.capture(&step.name, Captured::from_response(&response));
        Ok(())
    }

    fn record(
        &self,
        step: &Step,
        wire: &WireRequest,
        response: Option<&HttpResponse>,
        summary: String,
    ) -> StepRecord {
        StepRecord {
            name: step.name.clone(),
            summary: self.redactor.redact(&summary),
            exchange: Some(self.exchange(wire, response)),
        }
    }

    fn exchange(&self, wire: &WireRequest, response: Option<&HttpResponse>) -> Exchange {
        Exchange {
            request: wire.record(&self.redactor),
            response: response.map(|r| ResponseRecord {
                status: r.status,
                headers: r
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), self.redactor.redact(v)))
                    .collect(),
                body: match r.json() {
                    Some(j) => self.redactor.redact_json(&j),
                    None => self
                        .redactor
                        .redact(&r.body_text().chars().take(2048).collect::<String>()),
                },
                truncated: r.truncated || r.body.len() > 2048 && r.json().is_none(),
                elapsed_ms: r.elapsed.as_millis() as u64,
            }),
        }
    }

    fn finding(
        &self,
        step: &Step,
        m: Mismatch,
        wire: &WireRequest,
        response: Option<&HttpResponse>,
    ) -> Stop {
        Stop::Finding(Box::new(Finding {
            step: step.name.clone(),
            subject: m.subject,
            expected: m.expected,
            actual: m.actual,
            exchange: Some(self.exchange(wire, response)),
        }))
    }

    /// N copies of one request on pre-opened connections, released together.
    async fn parallel(
        &self,
        step: &Step,
        wires: &[WireRequest],
        ctx: &mut Context<'_>,
        records: &mut Vec<StepRecord>,
    ) -> Result<(), Stop> {
        let n = wires.len();
        let wire = &wires[0];
        let client = http::build_client(&self.http, n).map_err(|e| Stop::Error {
            step: step.name.clone(),
            class: e.class,
            detail: e.detail,
        })?;
        // Open the connections first (any answer will do), so that the real
        // requests leave together instead of queueing behind handshakes.
        let warm = (0..n).map(|_| {
            let c = client.clone();
            let url = wire.url.clone();
            async move { http::send(c.head(url), Duration::from_secs(5)).await }
        });
        futures::future::join_all(warm).await;
        let barrier = Arc::new(tokio::sync::Barrier::new(n));
        let sends = wires.iter().map(|w| {
            let b = barrier.clone();
            let req = w.to_reqwest(&client);
            let timeout = self.http.request_timeout;
            async move {
                b.wait().await;
                http::send(req, timeout).await
            }
        });
        let results: Vec<Result<HttpResponse, TransportError>> =
            futures::future::join_all(sends).await;
        let responses: Vec<Option<HttpResponse>> = results.into_iter().map(Result::ok).collect();
        for r in responses.iter().flatten() {
            if let Some(j) = r.json() {
                self.redactor.add_json(&j);
            }
        }
        let summary = format!(
            "{} × {} {} → {}",
            n,
            format!("{:?}", wire.method).to_uppercase(),
            wire.url.path(),
            expect::tally(&responses)
        );
        let first_ok = responses
            .iter()
            .flatten()
            .find(|r| (200..300).contains(&r.status))
            .or(responses.iter().flatten().next());
        records.push(self.record(step, wire, first_ok, summary));
        if let Err(m) = expect::check_set(&step.expect_set, &responses) {
            return Err(self.finding(step, m, wire, None));
        }
        if let Some(q) = &step.tokens
            && let Err(m) = token_quality(q, &responses)
        {
            return Err(self.finding(step, m, wire, None));
        }
        if let Some(e) = &step.expect {
            for r in responses.iter().flatten() {
                if let Err(m) = expect::check(e, r, ctx) {
                    return Err(self.finding(step, m, wire, Some(r)));
                }
            }
        }
        if let Some(r) = first_ok {
            ctx.capture(&step.name, Captured::from_response(r));
        }
        Ok(())
    }

    /// A refresh repeated every `every` until `until` has passed, following
    /// rotation; all but the last must succeed, `expect` judges the last.
    async fn chain(
        &self,
        step: &Step,
        g: &crate::scenario::compile::GrantRequest,
        every: &WaitExpr,
        until: &WaitExpr,
        ctx: &mut Context<'_>,
        records: &mut Vec<StepRecord>,
    ) -> Result<(), Stop> {
        const MAX_ROUNDS: u128 = 1000;
        let error = |class: ErrorClass, detail: String| Stop::Error {
            step: step.name.clone(),
            class,
            detail,
        };
        let every_d = self.wait_duration(every).map_err(Stop::Skip)?;
        let until_d = self.wait_duration(until).map_err(Stop::Skip)?;
        if every_d.is_zero() {
            return Err(error(
                ErrorClass::MissingCapture,
                format!("chain: `every` ({}) comes to zero", every.text),
            ));
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
                    .map_err(|e| error(ErrorClass::MissingCapture, e))?
                    .text
            }
            None => String::new(),
        };
        let mut g = g.clone();
        for round in 1..=rounds {
            self.wait(every).await.map_err(|e| match e {
                WaitError::TooLong(why) => Stop::Skip(why),
                WaitError::Clock(detail) => error(ErrorClass::Clock, detail),
            })?;
            self.redactor.add("tk", &token);
            g.refresh_token = Some(crate::scenario::template::Template::literal(&token));
            let wire = request::grant_request(&g, ctx, &self.redactor)
                .map_err(|e| error(ErrorClass::MissingCapture, e))?;
            let response =
                match http::send(wire.to_reqwest(&self.client), self.http.request_timeout).await {
                    Ok(r) => r,
                    Err(TransportError { class, detail }) => {
                        records.push(self.record(step, &wire, None, format!("{class}: {detail}")));
                        return Err(error(class, detail));
                    }
                };
            if let Some(j) = response.json() {
                self.redactor.add_json(&j);
            }
            let summary = format!(
                "round {round}/{rounds} after {}: {}",
                humantime::format_duration(every_d * round as u32),
                describe(&wire, &response)
            );
            records.push(self.record(step, &wire, Some(&response), summary));
            if round < rounds {
                if !(200..300).contains(&response.status) {
                    let m = Mismatch::new(
                        format!("refresh {round} of {rounds}"),
                        format!("200 while the chain is younger than {}", until.text),
                        format!(
                            "{}{}",
                            response.status,
                            response
                                .json()
                                .and_then(|j| j
                                    .get("error")
                                    .and_then(|e| e.as_str().map(|e| format!(" {e}"))))
                                .unwrap_or_default()
                        ),
                    );
                    return Err(self.finding(step, m, &wire, Some(&response)));
                }
                if let Some(next) = response.json().and_then(|j| {
                    j.get("refresh_token")
                        .and_then(|t| t.as_str().map(str::to_string))
                }) {
                    token = next;
                }
                continue;
            }
            if let Some(e) = &step.expect
                && let Err(m) = expect::check(e, &response, ctx)
            {
                return Err(self.finding(step, m, &wire, Some(&response)));
            }
            ctx.capture(&step.name, Captured::from_response(&response));
        }
        Ok(())
    }

    /// Where a published document lives.
    fn document_url(&self, doc: crate::scenario::model::Document) -> Option<url::Url> {
        use crate::scenario::model::Document;
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
        let d = self.wait_duration(w).map_err(WaitError::TooLong)?;
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
            return Err(WaitError::TooLong(format!(
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

    fn wait_duration(&self, w: &WaitExpr) -> Result<Duration, String> {
        let b = &self.target.behaviour;
        let mut total: i128 = 0;
        for (sign, term) in &w.terms {
            let ms: u128 = match term {
                WaitTerm::Fixed(d) => d.as_millis(),
                WaitTerm::AccessTokenTtl => {
                    secs(b.access_token_ttl_s, "behaviour.access_token_ttl_s")?
                }
                WaitTerm::RefreshTokenTtl => {
                    secs(b.refresh_token_ttl_s, "behaviour.refresh_token_ttl_s")?
                }
                WaitTerm::GracePeriod => u128::from(b.grace_period_s) * 1000,
                WaitTerm::RefreshTokenMaxLifetime => secs(
                    b.refresh_token_max_lifetime_s,
                    "behaviour.refresh_token_max_lifetime_s",
                )?,
            };
            total += i128::from(*sign) * ms as i128;
        }
        Ok(Duration::from_millis(total.max(0) as u64))
    }
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
                format!(
                    "about {:.0} bits ({} of {} positions vary, {} distinct characters, {} samples)",
                    e.bits, e.varying, e.shortest, e.alphabet, e.samples
                ),
            ));
        }
    }
    Ok(())
}

enum WaitError {
    TooLong(String),
    Clock(String),
}

fn secs(v: Option<u64>, name: &str) -> Result<u128, String> {
    v.map(|s| u128::from(s) * 1000)
        .ok_or_else(|| format!("needs the target to declare {name}"))
}

/// `POST /token (refresh_token) → 400 invalid_grant`
fn describe(wire: &WireRequest, r: &HttpResponse) -> String {
    let grant = wire
        .body
        .as_ref()
        .and_then(|(_, b)| {
            form_urlencoded::parse(b)
                .find(|(k, _)| k == "grant_type")
                .map(|(_, v)| v.into_owned())
        })
        .map(|g| format!(" ({g})"))
        .unwrap_or_default();
    let code = expect::error_code(r)
        .map(|c| format!(" {c}"))
        .unwrap_or_default();
    format!(
        "{} {}{grant} → {}{code} in {}ms",
        format!("{:?}", wire.method).to_uppercase(),
        wire.url.path(),
        r.status,
        r.elapsed.as_millis()
    )
}
