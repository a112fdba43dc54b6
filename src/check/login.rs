//! The steps that start a session (`grant: login`) or run the code flow's
//! front channel alone (`authorize`): the target's login carried out as a
//! premise, every page recorded, and its answer judged and captured like
//! any other step's.
//!
//! A login that cannot be carried out (a page the recipe cannot complete,
//! a command that fails, an authorization response with the wrong
//! `state`) blocks the scenario, naming why: it is the premise, never the
//! property a check judges.

use super::context::Context;
use super::exec::{Runner, Stop, Trace};
use super::request;
use super::result::{ErrorClass, StepRecord};
use crate::oauth::http::HttpResponse;
use crate::oauth::login::{self, code};
use crate::oauth::record::{Exchange, RequestRecord, ResponseRecord};
use crate::scenario::compile::{AuthorizeStep, GrantRequest, Step};
use crate::scenario::model::UserAssertionUse;
use crate::scenario::template::Template;
use crate::target::Login;
use crate::wire::grant;
use serde_json::{Value, json};
use std::time::Duration;

/// An answer made here rather than received (a command's output, an
/// authorization response read from a redirect).
fn synthetic(status: u16, body: &Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: serde_json::to_vec(body).unwrap_or_default(),
        truncated: false,
        elapsed: Duration::ZERO,
    }
}

/// What the front channel tells later steps, as capture members.
fn front_members(front: &code::Authorized, issuer: Option<&str>) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = front
        .response
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    out.push(("state_echoed".into(), front.state_echoed().into()));
    if let Some(iss) = front.get("iss") {
        out.push((
            "iss_matches".into(),
            issuer
                .is_some_and(|i| crate::oauth::same_issuer(i, iss))
                .into(),
        ));
    }
    out.push(("sent_state".into(), front.sent_state.clone().into()));
    if let Some(n) = &front.sent_nonce {
        out.push(("nonce".into(), n.clone().into()));
    }
    if let Some(v) = &front.code_verifier {
        out.push(("code_verifier".into(), v.clone().into()));
    }
    if let Some(c) = &front.code_challenge {
        out.push(("code_challenge".into(), c.clone().into()));
    }
    out.push(("redirect_uri".into(), front.redirect_uri.clone().into()));
    out.push(("hops".into(), (front.hops.len() as u64).into()));
    if let Some(t) = front.authenticated_at {
        out.push(("authenticated_at".into(), t.into()));
    }
    out
}

impl Runner {
    /// The front channel, its hops recorded; a page the recipe cannot
    /// complete blocks the scenario.
    async fn front_channel(
        &self,
        step: &Step,
        flow: &code::CodeFlow,
        req: &code::Authorize<'_>,
        trace: &mut Trace<'_>,
    ) -> Result<code::Authorized, Stop> {
        let result = code::authorize(
            &self.client,
            flow,
            req,
            self.http.request_timeout,
            &self.redactor,
        )
        .await;
        let hops = match &result {
            Ok(a) => &a.hops,
            Err(e) => e.hops(),
        };
        for h in hops {
            trace.records.push(StepRecord {
                name: step.name.clone(),
                summary: self.redactor.redact(&h.summary),
                exchange: Some(h.exchange.clone()),
            });
        }
        match result {
            Ok(a) => Ok(a),
            Err(code::FrontChannelError::Transport { error, .. }) => {
                Err(Stop::transport(step, error))
            }
            Err(e) => Err(Stop::Blocked {
                step: step.name.clone(),
                by: self.redactor.redact(&e.to_string()),
            }),
        }
    }

    /// `grant: login`: a session started the way the target says.
    pub(super) async fn login_step(
        &self,
        step: &Step,
        g: &GrantRequest,
        ctx: &mut Context<'_>,
        trace: &mut Trace<'_>,
    ) -> Result<(), Stop> {
        let mut g = g.clone();
        match &self.target.login {
            Login::Password => {
                g.grant_type = grant::PASSWORD.into();
                self.grant_step(step, &g, ctx, trace).await
            }
            Login::JwtBearer(_) => {
                g.grant_type = grant::JWT_BEARER.into();
                g.user_assertion = g.user_assertion.or(Some(UserAssertionUse::Valid));
                self.grant_step(step, &g, ctx, trace).await
            }
            Login::Command(c) => {
                let json = login::command::run(c, &self.redactor)
                    .await
                    .map_err(|why| Stop::Blocked {
                        step: step.name.clone(),
                        by: why.to_string(),
                    })?;
                let response = synthetic(200, &json);
                let record = Exchange {
                    request: RequestRecord {
                        method: "RUN".into(),
                        url: format!("command:{}", c.argv.first().cloned().unwrap_or_default()),
                        headers: Vec::new(),
                        body: None,
                    },
                    response: Some(ResponseRecord {
                        status: 200,
                        headers: Vec::new(),
                        body: self.redactor.redact_json(&json),
                        truncated: false,
                        elapsed_ms: 0,
                    }),
                };
                trace.records.push(StepRecord {
                    name: step.name.clone(),
                    summary: "login.command printed a token response".into(),
                    exchange: Some(record.clone()),
                });
                let scope = self.target.login_scope.clone();
                self.judge(
                    step,
                    &response,
                    &record,
                    scope.as_deref(),
                    Vec::new(),
                    ctx,
                    trace,
                )
                .await
            }
            Login::AuthorizationCode(flow) => {
                let scope = match &g.scope {
                    Some(t) => Some(
                        ctx.render(t)
                            .map_err(|e| Stop::build(step, request::BuildError::Render(e)))?
                            .text,
                    ),
                    None => self.target.login_scope.clone(),
                };
                let (client, user) = self.who(step, &g.client, &g.user)?;
                let issuer = self.target.issuer.as_deref();
                let req = code::Authorize {
                    client_id: &client.id,
                    username: &user.username,
                    password: user.password.expose(),
                    scope: scope.as_deref(),
                    pkce: flow.pkce,
                    extra: Vec::new(),
                    issuer,
                };
                let front = self.front_channel(step, flow, &req, trace).await?;
                let members = front_members(&front, issuer);
                let Some(code) = front.code().map(str::to_string) else {
                    // Refused at the authorization endpoint (RFC 6749
                    // §4.1.2.1): judged as a refusal of the login.
                    let body = json!({
                        "error": front.get("error").unwrap_or("no code in the authorization response"),
                        "error_description": front.get("error_description"),
                    });
                    let record = front.hops.last().map(|h| h.exchange.clone());
                    let record = record.ok_or_else(|| {
                        Stop::error(step, ErrorClass::Protocol, "the login made no request")
                    })?;
                    return self
                        .judge(
                            step,
                            &synthetic(400, &body),
                            &record,
                            scope.as_deref(),
                            members,
                            ctx,
                            trace,
                        )
                        .await;
                };
                if let Some(problem) = login::response_problem(&front, issuer) {
                    return Err(Stop::Blocked {
                        step: step.name.clone(),
                        by: format!(
                            "{problem}: a client must reject it, so the login did not go on (AC-STATE judges it)"
                        ),
                    });
                }
                g.grant_type = grant::AUTHORIZATION_CODE.into();
                g.scope = None;
                let mut params = vec![
                    ("code".to_string(), Template::literal(&code)),
                    (
                        "redirect_uri".to_string(),
                        Template::literal(&front.redirect_uri),
                    ),
                ];
                if let Some(v) = &front.code_verifier {
                    params.push(("code_verifier".into(), Template::literal(v)));
                }
                params.append(&mut g.params);
                g.params = params;
                let wire = request::grant_request(&g, ctx).map_err(|e| Stop::build(step, e))?;
                self.single_with(step, &wire, scope, members, ctx, trace)
                    .await
            }
        }
    }

    /// `authorize`: the front channel alone; its answer is the redirect's.
    pub(super) async fn authorize_step(
        &self,
        step: &Step,
        a: &AuthorizeStep,
        ctx: &mut Context<'_>,
        trace: &mut Trace<'_>,
    ) -> Result<(), Stop> {
        let Login::AuthorizationCode(flow) = &self.target.login else {
            return Err(Stop::Skip(format!(
                "not applicable: the target signs in with {} (login.grant), and this check runs the authorization-code flow",
                self.target.login.grant()
            )));
        };
        let render = |t: &Template| {
            ctx.render(t)
                .map(|r| r.text)
                .map_err(|e| Stop::build(step, request::BuildError::Render(e)))
        };
        let scope = match &a.scope {
            Some(t) => Some(render(t)?),
            None => self.target.login_scope.clone(),
        };
        let mut extra = Vec::new();
        for (k, t) in &a.params {
            extra.push((k.clone(), render(t)?));
        }
        let (client, user) = self.who(step, &a.client, &a.user)?;
        let issuer = self.target.issuer.as_deref();
        let req = code::Authorize {
            client_id: &client.id,
            username: &user.username,
            password: user.password.expose(),
            scope: scope.as_deref(),
            pkce: a.pkce.unwrap_or(flow.pkce),
            extra,
            issuer,
        };
        let front = self.front_channel(step, flow, &req, trace).await?;
        let members = front_members(&front, issuer);
        let body = Value::Object(members.iter().cloned().collect());
        let record = front
            .hops
            .last()
            .map(|h| h.exchange.clone())
            .ok_or_else(|| Stop::error(step, ErrorClass::Protocol, "the login made no request"))?;
        self.judge(
            step,
            &synthetic(front.status, &body),
            &record,
            scope.as_deref(),
            members,
            ctx,
            trace,
        )
        .await
    }

    /// The client and user a login step names.
    fn who(
        &self,
        step: &Step,
        client: &str,
        user: &str,
    ) -> Result<(&crate::target::Client, &crate::target::User), Stop> {
        let c = self.target.client(client).ok_or_else(|| {
            Stop::error(
                step,
                ErrorClass::Request,
                format!("the target has no client `{client}`"),
            )
        })?;
        let u = self.target.user(user).ok_or_else(|| {
            Stop::error(
                step,
                ErrorClass::Request,
                format!("the target has no user `{user}`"),
            )
        })?;
        Ok((c, u))
    }
}
