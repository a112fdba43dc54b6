//! A scenario step's request: the request layer's [`TokenRequest`] with the
//! step's templates rendered and its overrides applied on top (`params`,
//! `omit`, `duplicate`, `headers`, `body`, method and encoding). Client
//! authentication itself is built in `oauth::request`, never here.

use super::context::Context;
use crate::oauth::request::{self, Params, RequestError, Sensitive, TokenRequest, WireRequest};
use crate::scenario::compile::{GrantRequest, TokenOp};
use crate::scenario::template::Template;
use crate::secret::Secret;
use crate::target::Target;
use crate::wire;
use url::Url;

/// Why a step's request could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BuildError {
    /// A template referred to something the run does not have (a capture
    /// that an earlier response lacked).
    #[error(transparent)]
    Render(#[from] super::context::Unresolved),
    /// The target lacks what the step needs (planning normally skips these).
    #[error("{0}")]
    Missing(String),
    #[error(transparent)]
    Request(#[from] RequestError),
}

fn render(
    ctx: &Context,
    t: &Template,
    sensitive: &mut Vec<Sensitive>,
) -> Result<String, BuildError> {
    let r = ctx.render(t).map_err(BuildError::Render)?;
    if r.secret {
        sensitive.push(Sensitive::Text("tk", r.text.clone()));
    }
    Ok(r.text)
}

fn token_endpoint(target: &Target) -> Result<&Url, BuildError> {
    target
        .token_endpoint
        .as_ref()
        .ok_or_else(|| BuildError::Missing("the target has no token endpoint".into()))
}

/// Builds the token request of a `grant` step.
pub fn grant_request(g: &GrantRequest, ctx: &Context) -> Result<WireRequest, BuildError> {
    let target: &Target = ctx.target;
    let endpoint = token_endpoint(target)?;
    let client = target
        .client(&g.client)
        .ok_or_else(|| BuildError::Missing(format!("the target has no client `{}`", g.client)))?;
    let mut sensitive = Vec::new();
    let mut request = TokenRequest::new(&g.grant_type, client, endpoint);
    if let Some(t) = &g.client_id {
        request = request.client_id(render(ctx, t, &mut sensitive)?);
    }
    if let Some(t) = &g.client_secret {
        request = request.secret(Secret::new(render(ctx, t, &mut sensitive)?));
    }
    if let Some(a) = g.auth {
        request = request.auth(a);
    }
    if let Some(d) = g.assertion {
        request = request.defect(d);
    }
    if g.grant_type == wire::grant::PASSWORD {
        let user = target
            .user(&g.user)
            .ok_or_else(|| BuildError::Missing(format!("the target has no user `{}`", g.user)))?;
        let username = match &g.username {
            Some(t) => render(ctx, t, &mut sensitive)?,
            None => user.username.clone(),
        };
        let password = match &g.password {
            Some(t) => render(ctx, t, &mut sensitive)?,
            None => user.password.expose().to_string(),
        };
        let placement = g
            .user_credentials
            .unwrap_or(target.password_grant.user_credentials);
        request = request.user(&username, &password, placement);
        let scope = match &g.scope {
            Some(t) => Some(render(ctx, t, &mut sensitive)?),
            None => target.login_scope.clone(),
        };
        if let Some(scope) = scope.filter(|s| !s.is_empty()) {
            request = request.param("scope", scope);
        }
    } else if let Some(use_) = g.user_assertion {
        // A JWT user assertion (RFC 7523 §2.1) from the target's login.
        use crate::oauth::login::assertion::{UserAssertionDefect as D, user_assertion};
        use crate::scenario::model::UserAssertionUse as U;
        let crate::target::Login::JwtBearer(a) = &target.login else {
            return Err(BuildError::Missing(format!(
                "a user assertion needs a jwt_bearer login, and the target signs in with {}",
                target.login.grant()
            )));
        };
        let user = target
            .user(&g.user)
            .ok_or_else(|| BuildError::Missing(format!("the target has no user `{}`", g.user)))?;
        let defect = match use_ {
            U::Valid | U::Replayed => None,
            U::Expired => Some(D::Expired),
            U::WrongAudience => Some(D::WrongAudience),
            U::UnknownKey => Some(D::UnknownKey),
            U::BadSignature => Some(D::BadSignature),
        };
        let client_id = match &g.client_id {
            Some(t) => render(ctx, t, &mut sensitive)?,
            None => client.id.clone(),
        };
        let signed = user_assertion(a, &client_id, &user.username, endpoint.as_str(), defect)
            .map_err(|detail| {
                BuildError::Request(RequestError::Signing {
                    client: client.id.clone(),
                    detail,
                })
            })?;
        sensitive.push(Sensitive::Text("as", signed.expose().to_string()));
        request = request.param("assertion", signed.expose());
        let scope = match &g.scope {
            Some(t) => Some(render(ctx, t, &mut sensitive)?),
            None => target.login_scope.clone(),
        };
        if let Some(scope) = scope.filter(|s| !s.is_empty()) {
            request = request.param("scope", scope);
        }
    } else {
        if let Some(name) = &g.exchange {
            // The code of an earlier authorize step (RFC 6749 §4.1.3,
            // RFC 7636 §4.5); `params` and `omit` change it afterwards.
            let auth = ctx.get(name).ok_or_else(|| {
                BuildError::Missing(format!("no authorization response from step `{name}`"))
            })?;
            for member in ["code", "redirect_uri", "code_verifier"] {
                if let Some(v) = auth.member(member).and_then(|v| v.as_str()) {
                    if member != "redirect_uri" {
                        sensitive.push(Sensitive::Text(
                            if member == "code" { "cd" } else { "cv" },
                            v.to_string(),
                        ));
                    }
                    request = request.param(member, v.to_string());
                } else if member == "code" {
                    return Err(BuildError::Missing(format!(
                        "step `{name}` got no authorization code"
                    )));
                }
            }
        }
        if let Some(t) = &g.refresh_token {
            request = request.param("refresh_token", render(ctx, t, &mut sensitive)?);
        }
        match &g.scope {
            Some(t) => request = request.param("scope", render(ctx, t, &mut sensitive)?),
            // The scope the server wants for client_credentials, if declared.
            None if g.grant_type == wire::grant::CLIENT_CREDENTIALS => {
                if let Some(scope) = &target.client_credentials.scope {
                    request = request.param("scope", scope.clone());
                }
            }
            None => {}
        }
    }
    let mut form = request.build()?;
    form.sensitive.append(&mut sensitive);
    apply_overrides(
        g,
        ctx,
        &mut form.params,
        &mut form.headers,
        &mut form.sensitive,
    )?;
    let body = g
        .body
        .as_ref()
        .map(|t| render(ctx, t, &mut form.sensitive))
        .transpose()?;
    if let Some(proof) = dpop_proof(g, client, endpoint, ctx)? {
        form.headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("DPoP"));
        form.headers.push(("DPoP".into(), proof));
    }
    Ok(form.finish(endpoint.clone(), g.method, g.encoding, body))
}

/// The DPoP proof a grant step sends, if any: a fresh one by the client's
/// key for this scenario (made on first use), or the defect the step asks
/// for (RFC 9449 §4.3: each one a server must refuse).
fn dpop_proof(
    g: &GrantRequest,
    client: &crate::oauth::Client,
    endpoint: &url::Url,
    ctx: &Context,
) -> Result<Option<String>, BuildError> {
    use crate::dpop::{DpopAlg, DpopKey, ProofClaims, htu_of, new_jti, now_s};
    use crate::scenario::model::DpopUse;
    let mode = match (g.dpop, client.dpop) {
        (None, None) | (Some(DpopUse::None), _) => return Ok(None),
        (None, Some(_)) => DpopUse::Proof,
        (Some(m), _) => m,
    };
    let alg = client.dpop.unwrap_or(DpopAlg::ES256);
    let fail = |e: crate::dpop::DpopError| BuildError::Missing(e.to_string());
    let mut state = ctx.dpop.lock().unwrap_or_else(|p| p.into_inner());
    if mode == DpopUse::Replay {
        let proof = state.last_proof.clone().ok_or_else(|| {
            BuildError::Missing(
                "DPoP: `dpop: replay` needs an earlier proof in the scenario".into(),
            )
        })?;
        state.replayed = Some(proof.clone());
        return Ok(Some(proof));
    }
    let key = match state.keys.iter().find(|(n, _)| *n == g.client) {
        Some((_, k)) => k.clone(),
        None => {
            let k = DpopKey::generate(alg).map_err(fail)?;
            state.keys.push((g.client.clone(), k.clone()));
            k
        }
    };
    let signer = if mode == DpopUse::OtherKey {
        match &state.other {
            Some(k) => k.clone(),
            None => {
                let k = DpopKey::generate(alg).map_err(fail)?;
                state.other = Some(k.clone());
                k
            }
        }
    } else {
        key
    };
    let mut htu = htu_of(endpoint.as_str());
    if mode == DpopUse::WrongHtu {
        htu = format!("{}/elsewhere", htu.trim_end_matches('/'));
    }
    let claims = ProofClaims {
        jti: new_jti(),
        htm: if mode == DpopUse::WrongHtm {
            "GET"
        } else {
            "POST"
        }
        .into(),
        htu,
        iat: if mode == DpopUse::StaleIat {
            now_s().saturating_sub(600)
        } else {
            now_s()
        },
        nonce: if mode == DpopUse::NoNonce {
            None
        } else {
            state.nonce.clone()
        },
        ath: None,
    };
    let proof = signer.sign(&claims).map_err(fail)?;
    match mode {
        DpopUse::Proof => state.last_proof = Some(proof.clone()),
        DpopUse::NoNonce => state.replayed = Some(proof.clone()),
        _ => {}
    }
    Ok(Some(proof))
}

/// A step's `params`, `omit`, `duplicate` and `headers`, on the built form.
fn apply_overrides(
    g: &GrantRequest,
    ctx: &Context,
    params: &mut Params,
    headers: &mut Params,
    sensitive: &mut Vec<Sensitive>,
) -> Result<(), BuildError> {
    for (k, t) in &g.params {
        let v = render(ctx, t, sensitive)?;
        match params.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1 = v,
            None => params.push((k.clone(), v)),
        }
    }
    params.retain(|(k, _)| !g.omit.contains(k));
    headers.retain(|(k, _)| !g.omit.iter().any(|o| o.eq_ignore_ascii_case(k)));
    for d in &g.duplicate {
        if let Some(p) = params.iter().find(|(k, _)| k == d).cloned() {
            params.push(p);
        }
    }
    for (k, t) in &g.headers {
        let v = render(ctx, t, sensitive)?;
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case(k));
        headers.push((k.clone(), v));
    }
    Ok(())
}

/// Builds an RFC 7009 revocation or RFC 7662 introspection request.
pub fn token_op_request(
    op: &TokenOp,
    endpoint: &Url,
    ctx: &Context,
) -> Result<WireRequest, BuildError> {
    let client = ctx
        .target
        .client(&op.client)
        .ok_or_else(|| BuildError::Missing(format!("the target has no client `{}`", op.client)))?;
    let mut sensitive = Vec::new();
    let token = render(ctx, &op.token, &mut sensitive)?;
    // A client assertion names the authorization server as its audience:
    // the token endpoint, also when it authenticates a revocation or an
    // introspection (RFC 7523 §3).
    let audience = ctx.target.token_endpoint.as_ref().unwrap_or(endpoint);
    let mut wire = request::token_operation(
        endpoint,
        &token,
        op.token_type_hint.as_deref(),
        client,
        op.auth,
        audience,
    )?;
    wire.sensitive.append(&mut sensitive);
    Ok(wire)
}

/// When a server demands a DPoP nonce (`use_dpop_nonce` with a
/// `DPoP-Nonce` header, RFC 9449 §8): the same request with its proof
/// signed again by the same key, with the nonce and a new `jti`; kept for
/// the scenario's later proofs. `None` when the answer is not that, or the
/// proof is a replay (which must stay one).
pub fn dpop_nonce_retry(
    wire: &WireRequest,
    response: &crate::oauth::http::HttpResponse,
    ctx: &Context,
) -> Option<WireRequest> {
    use crate::dpop::{ProofClaims, new_jti, thumbprint};
    let nonce = crate::oauth::request::dpop_nonce_demanded(response)?;
    let (i, (_, sent)) = wire
        .headers
        .iter()
        .enumerate()
        .find(|(_, (k, _))| k.eq_ignore_ascii_case("DPoP"))?;
    let mut state = ctx.dpop.lock().unwrap_or_else(|p| p.into_inner());
    state.nonce = Some(nonce.clone());
    if state.replayed.as_deref() == Some(sent.as_str()) {
        return None;
    }
    let jkt = thumbprint(&jsonwebtoken::decode_header(sent).ok()?.jwk?)?;
    let key = state
        .keys
        .iter()
        .map(|(_, k)| k)
        .chain(state.other.iter())
        .find(|k| k.thumbprint() == jkt)?
        .clone();
    let mut claims = jsonwebtoken::dangerous::insecure_decode::<ProofClaims>(sent)
        .ok()?
        .claims;
    claims.nonce = Some(nonce);
    claims.jti = new_jti();
    let proof = key.sign(&claims).ok()?;
    if state.last_proof.as_deref() == Some(sent.as_str()) {
        state.last_proof = Some(proof.clone());
    }
    let mut retry = wire.clone();
    retry.headers[i].1 = proof;
    Some(retry)
}
