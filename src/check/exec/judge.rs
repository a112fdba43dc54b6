//! Documents and token operations: discovery and the JWKS fetched, id_tokens
//! verified against the keys, revocation and introspection requests.

use super::*;

impl Runner {
    /// Judges one answer (sent, or made by a login: a command's output, an
    /// authorization response): `not_applicable_if`, `expect`,
    /// `expect_any`, the id_token's signature; then captures it, with
    /// `extra` members.
    #[allow(clippy::too_many_arguments)]
    pub(in crate::check) async fn judge(
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

    pub(in crate::check) fn finding(
        &self,
        step: &Step,
        m: Mismatch,
        exchange: Option<Exchange>,
    ) -> Stop {
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
    pub(super) fn settle(
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
        // RFC 7009 §2.2.1: a 503 from the revocation endpoint means "try
        // again later"; the check that met it could not be tried.
        if response.status == 503 && self.endpoint_of(record) == Endpoint::Revocation {
            return Err(Stop::Blocked {
                step: step.name.clone(),
                by: "the revocation endpoint answered 503, which RFC 7009 §2.2.1 makes a \"retry later\", not a refusal: run again when the server has recovered".into(),
            });
        }
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
                || crate::check::causes::code_is_incidental(trace.covers);
            if let Some(id) = m.defect.catalogue_id()
                && handed_on
                && let id = self.shape_id(id, record)
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
}

/// Which endpoint an exchange went to: refusals are judged by the clause
/// of the endpoint's own document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Endpoint {
    Token,
    Introspection,
    Revocation,
    Other,
}

impl Runner {
    pub(super) fn endpoint_of(&self, x: &Exchange) -> Endpoint {
        let Ok(url) = url::Url::parse(&x.request.url) else {
            return Endpoint::Other;
        };
        let same = |u: &Option<url::Url>| {
            u.as_ref()
                .is_some_and(|u| u.origin() == url.origin() && u.path() == url.path())
        };
        let t = &self.target;
        if same(&t.introspection_endpoint) {
            Endpoint::Introspection
        } else if same(&t.revocation_endpoint) {
            Endpoint::Revocation
        } else if same(&t.token_endpoint) {
            Endpoint::Token
        } else {
            Endpoint::Other
        }
    }

    /// The id that judges a refusal's shape (body, status, code) at the
    /// endpoint the exchange went to: RFC 6749 §5.2's ER-* at the token
    /// endpoint, RFC 7662 §2.3's RI-ERR at introspection, RFC 7009
    /// §2.2.1's RV-ERR at revocation. Server errors stay ER-NO5XX's.
    pub(super) fn shape_id(&self, id: &'static str, x: &Exchange) -> &'static str {
        if id == "ER-NO5XX" {
            return id;
        }
        match self.endpoint_of(x) {
            Endpoint::Introspection => "RI-ERR",
            Endpoint::Revocation => "RV-ERR",
            _ => id,
        }
    }
}

/// One of `alternatives` must hold; otherwise every miss, numbered. An
/// alternative that fails only on the shape of a refusal holds, and hands
/// those format defects back (for ER-BODY / ER-STATUS).
pub(super) fn any_of(
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
