//! Documents and token operations: discovery and the JWKS fetched, id_tokens
//! verified against the keys, revocation and introspection requests.

use super::*;

impl Runner {
    pub(super) async fn wait_step(
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

    pub(super) async fn wait(&self, w: &WaitExpr) -> Result<String, WaitError> {
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

    pub(super) fn wait_duration(&self, w: &WaitExpr) -> Result<Duration, WaitError> {
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

/// Why a wait could not be taken.
pub(super) enum WaitError {
    /// Longer than the target lets us wait, or an unusable expression: the
    /// check does not apply to this target as declared.
    NotApplicable(String),
    /// The target's clock control failed.
    Clock(String),
}

pub(super) fn secs(v: Option<u64>, name: &str) -> Result<u128, WaitError> {
    v.map(|s| u128::from(s) * 1000)
        .ok_or_else(|| WaitError::NotApplicable(format!("needs the target to declare {name}")))
}
