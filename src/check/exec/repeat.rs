//! Documents and token operations: discovery and the JWKS fetched, id_tokens
//! verified against the keys, revocation and introspection requests.

use super::*;

impl Runner {
    /// The request `repeat` times, one after another, each judged; the
    /// median latency is kept, and compared when the step says `timing`.
    pub(super) async fn repeated(
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

    /// A refresh repeated every `every` until `until` has passed, following
    /// rotation; all but the last must succeed, `expect` judges the last.
    pub(super) async fn chain(
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
}

impl Runner {
    /// `sample` refreshes one after another from the step's refresh token,
    /// following rotation (the token each answer hands out is the next
    /// one's), judged together as a parallel step's answers are. A refusal
    /// ends the sample: what came before is judged.
    pub(super) async fn sample(
        &self,
        step: &Step,
        g: &GrantRequest,
        ctx: &mut Context<'_>,
        trace: &mut Trace<'_>,
    ) -> Result<(), Stop> {
        let mut token = match &g.refresh_token {
            Some(t) => {
                ctx.render(t)
                    .map_err(|e| Stop::build(step, BuildError::Render(e)))?
                    .text
            }
            None => String::new(),
        };
        let mut g = g.clone();
        let mut results: Vec<Exchanged> = Vec::new();
        let mut sent: Vec<String> = Vec::new();
        let mut first: Option<WireRequest> = None;
        for _ in 0..step.sample {
            self.redactor.add("tk", &token);
            sent.push(token.clone());
            g.refresh_token = Some(crate::scenario::template::Template::literal(&token));
            let wire = request::grant_request(&g, ctx).map_err(|e| Stop::build(step, e))?;
            let exchanged = self.send_retrying(step, &wire).await;
            let next = exchanged.response.as_ref().ok().and_then(|r| {
                (200..300).contains(&r.status).then(|| {
                    r.json().and_then(|j| {
                        j.get("refresh_token")
                            .and_then(|t| t.as_str().map(str::to_string))
                    })
                })
            });
            first.get_or_insert(wire);
            results.push(exchanged);
            match next {
                Some(Some(t)) => token = t,
                // Not rotated: the same token again.
                Some(None) => {}
                None => break,
            }
        }
        let wire = first.expect("a sample has at least one request");
        let how = format!(
            "{} of {} refreshes one after another, following rotation, {} {}",
            results.len(),
            step.sample,
            wire.method.as_str(),
            wire.url.path()
        );
        self.judge_set(step, &g, &wire, results, how, &sent, ctx, trace)
            .await
    }
}

/// The sampled members of the successful responses, judged by
/// [`crate::check::quality`].
pub(super) fn token_quality(
    q: &crate::scenario::model::TokenQuality,
    responses: &[Option<HttpResponse>],
    sent: &[String],
    jwks: Option<&serde_json::Value>,
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
        // A refresh token handed back as it was sent was not issued.
        let tokens: Vec<&str> = bodies
            .iter()
            .filter_map(|b| b.get(member).and_then(serde_json::Value::as_str))
            .filter(|t| !sent.iter().any(|s| s == t))
            .collect();
        if tokens.len() < 2 && !sent.is_empty() && member == "refresh_token" {
            // A sample of refreshes from one session issues refresh
            // tokens only where the server rotates them; without
            // rotation each is a whole login, and the sample is judged
            // on what it issued.
            continue;
        }
        let subject = format!("{member} quality");
        if tokens.len() < 2 {
            return Err(Mismatch::new(
                &subject,
                "a sample of issued tokens".to_string(),
                format!("{} {member}s in the successful responses", tokens.len()),
            ));
        }
        let verified = jwks.is_some_and(|k| {
            tokens
                .iter()
                .all(|t| crate::oauth::idtoken::signature_verifies(t, k))
        });
        let e = crate::check::quality::estimate_with(&tokens, verified);
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
