//! The token endpoint (RFC 6749 §3.2): grant dispatch for `password`,
//! `refresh_token` and `client_credentials`, and the §5.1 response (with the
//! id_token and the EmpowerID extras when configured).

use super::app::{App, Client};
use super::config::UserCredentials;
use super::fault::Fault;
use super::form::{self, Form};
use super::keys::IdClaims;
use super::reply::OAuthError;
use super::request::{self, secret_matches};
use super::store::{Issued, RefreshError, scope_has};
use crate::wire::{ErrorCode, TokenResponse, grant};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use rand::RngCore;
use std::sync::Arc;

/// Compared against when the user is unknown, so that an unknown user and a
/// wrong password take the same path (no user enumeration).
const DUMMY_PASSWORD: &[u8] = b"tokenprobe-mock-no-such-user-password";

pub async fn token(State(app): State<Arc<App>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let result = async {
        let body = match parts.uri.query() {
            // The `get_served` fault: a GET's query taken as its form.
            Some(q)
                if parts.method == axum::http::Method::GET && app.faults.has(Fault::GetServed) =>
            {
                axum::body::Bytes::copy_from_slice(q.as_bytes())
            }
            _ => request::form_body(&parts, body).await?,
        };
        let form = if app.faults.has(Fault::DuplicateParamsAccepted) {
            super::form::Form::parse_first_wins(&body)
                .map_err(|e| OAuthError::invalid_request(e.to_string()))?
        } else {
            request::parse_form(&body)?
        };
        app.client_auth_cost().await;
        handle(&app, &parts.headers, &form).await
    };
    match result.await {
        Ok(r) => r,
        Err(Refused::OAuth(e)) => app.reply.error(&e),
        Err(Refused::Nonce(nonce)) => {
            let mut r = app.reply.error(&dpop_error(
                "use_dpop_nonce",
                "use the server's DPoP nonce (DPoP-Nonce)",
            ));
            if let Ok(v) = axum::http::HeaderValue::from_str(&nonce) {
                r.headers_mut().insert("dpop-nonce", v);
            }
            r
        }
    }
}

/// Why a token request was refused: an OAuth error, or a DPoP nonce to use.
enum Refused {
    OAuth(OAuthError),
    Nonce(String),
}

impl From<OAuthError> for Refused {
    fn from(e: OAuthError) -> Refused {
        Refused::OAuth(e)
    }
}

/// A DPoP error (RFC 9449 §12.2): 400 with its own code.
fn dpop_error(
    code: &'static str,
    description: impl Into<std::borrow::Cow<'static, str>>,
) -> OAuthError {
    OAuthError {
        error: code,
        ..OAuthError::new(ErrorCode::InvalidRequest, description)
    }
}

/// The DPoP key of a token request: none when DPoP is off or no proof came
/// (and that is allowed), else the checked proof's thumbprint.
fn dpop_key(app: &App, headers: &HeaderMap) -> Result<Option<Arc<str>>, Refused> {
    use super::app::DpopRefusal;
    use super::config::DpopMode;
    if app.cfg.dpop == DpopMode::Off {
        return Ok(None);
    }
    let proofs: Vec<&str> = headers
        .get_all("dpop")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    match (proofs.as_slice(), app.cfg.dpop) {
        ([], DpopMode::Required) => Err(Refused::OAuth(dpop_error(
            "invalid_dpop_proof",
            "a DPoP proof is required",
        ))),
        ([], _) => Ok(None),
        ([proof], _) => match app.check_dpop(proof) {
            Ok(jkt) => Ok(Some(jkt)),
            Err(DpopRefusal::Nonce(n)) => Err(Refused::Nonce(n)),
            Err(DpopRefusal::Invalid(why)) => {
                Err(Refused::OAuth(dpop_error("invalid_dpop_proof", why)))
            }
        },
        _ => Err(Refused::OAuth(dpop_error(
            "invalid_dpop_proof",
            "more than one DPoP header",
        ))),
    }
}

async fn handle(app: &App, headers: &HeaderMap, form: &Form<'_>) -> Result<Response, Refused> {
    let grant_type = form.get("grant_type").ok_or_else(|| {
        if app.faults.has(Fault::MissingGrantTypeUnsupported) {
            OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "grant_type is not supported",
            )
        } else {
            OAuthError::invalid_request("grant_type is missing")
        }
    })?;
    let user_in_basic =
        app.cfg.user_credentials == UserCredentials::Basic && grant_type == grant::PASSWORD;
    let client = match request::authenticate(app, headers, form, user_in_basic) {
        Ok(c) => c,
        Err(e) => {
            // The `refused_refresh_revokes` fault: a refused refresh costs
            // the real client its token.
            if app.faults.has(Fault::RefusedRefreshRevokes)
                && grant_type == grant::REFRESH_TOKEN
                && let Some(t) = form.get("refresh_token")
            {
                app.store.revoke_family_of(t);
            }
            return Err(e.into());
        }
    };
    let jkt = dpop_key(app, headers)?;
    if ![
        grant::PASSWORD,
        grant::REFRESH_TOKEN,
        grant::CLIENT_CREDENTIALS,
        grant::AUTHORIZATION_CODE,
        grant::JWT_BEARER,
    ]
    .contains(&grant_type)
    {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "grant_type is not supported",
        )
        .into());
    }
    if !client.may_use(grant_type) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client may not use this grant type",
        )
        .into());
    }
    // A public client has no credentials to prove: it may only use the
    // code flow and refresh its tokens (RFC 6749 §2.1).
    let mut nonce = None;
    let issued = match grant_type {
        grant::PASSWORD => password(app, client, headers, form, user_in_basic, jkt)
            .await
            .map_err(|e| {
                if app.faults.has(Fault::PasswordRefusedAsAccessDenied) && e.retry_after_s.is_none()
                {
                    OAuthError {
                        error: "access_denied",
                        description: format!("access denied: {}", e.description).into(),
                        ..e
                    }
                    .with_status(axum::http::StatusCode::FORBIDDEN)
                } else {
                    e
                }
            })?,
        grant::REFRESH_TOKEN => refresh(app, client, form, jkt.as_deref()).await?,
        grant::AUTHORIZATION_CODE => {
            let (issued, n) = super::login::exchange(app, client, form, jkt)?;
            nonce = n;
            issued
        }
        grant::JWT_BEARER => super::login::assertion(app, client, form, jkt)?,
        _ => {
            let scope = app.scope(form.get("scope"))?;
            let now = app.clock.now_ms();
            app.store
                .grant_bound(client.id.clone(), None, scope, false, now, jkt)
        }
    };
    Ok(respond(app, issued, nonce))
}

async fn password(
    app: &App,
    client: &Client,
    headers: &HeaderMap,
    form: &Form<'_>,
    user_in_basic: bool,
    jkt: Option<Arc<str>>,
) -> Result<Issued, OAuthError> {
    let basic_user = match headers.get(header::AUTHORIZATION) {
        Some(h) if user_in_basic && form::is_basic(h.as_bytes()) => Some(
            form::parse_basic(h.as_bytes(), false)
                .map_err(|e| OAuthError::invalid_request(e.to_string()))?,
        ),
        _ => None,
    };
    let (username, password) = match &basic_user {
        Some((u, p)) => (u.as_str(), p.as_str()),
        None => (
            form.get("username")
                .ok_or_else(|| OAuthError::invalid_request("username is missing"))?,
            form.get("password")
                .ok_or_else(|| OAuthError::invalid_request("password is missing"))?,
        ),
    };
    let now_s = app.clock.now_s();
    if let Some(wait) = app.password_limit.locked(username, now_s) {
        return Err(OAuthError::throttled(ErrorCode::InvalidGrant, wait));
    }
    let user = app.users.get(username);
    let expected = user.map_or(DUMMY_PASSWORD, |u| u.account.password.expose().as_bytes());
    let user = match user {
        Some(u) if secret_matches(password, expected) => u,
        Some(_) if app.faults.has(Fault::SlowWrongPassword) => {
            // The defect: only a known user's wrong password costs time.
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            app.password_limit.fail(username, now_s);
            return Err(OAuthError::new(
                ErrorCode::InvalidGrant,
                "the username or password is wrong",
            ));
        }
        _ => {
            app.password_limit.fail(username, now_s);
            return Err(OAuthError::new(
                ErrorCode::InvalidGrant,
                "the username or password is wrong",
            ));
        }
    };
    let scope = app.scope(form.get("scope"))?;
    let now = app.clock.now_ms();
    Ok(app.store.grant_bound(
        client.id.clone(),
        Some(user.name.clone()),
        scope,
        true,
        now,
        jkt,
    ))
}

async fn refresh(
    app: &App,
    client: &Client,
    form: &Form<'_>,
    jkt: Option<&str>,
) -> Result<Issued, OAuthError> {
    let token = form
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
    let requested = match form.get("scope") {
        Some(s) => Some(app.scope(Some(s))?),
        None => None,
    };
    let now = app.clock.now_ms();
    app.store
        .refresh_with(token, &client.id, requested.as_deref(), now, jkt)
        .await
        .map_err(|e| match e {
            RefreshError::InvalidScope => OAuthError::new(ErrorCode::InvalidScope, e.to_string()),
            RefreshError::DpopKey => dpop_error("invalid_dpop_proof", e.to_string()),
            // The fault: one wrong code for every dead refresh token.
            _ if app.faults.has(Fault::RefreshRefusedAsInvalidRequest) => {
                OAuthError::invalid_request("invalid refresh token")
            }
            _ => OAuthError::new(ErrorCode::InvalidGrant, e.to_string()),
        })
}

/// The §5.1 response for `issued`.
fn respond(app: &App, issued: Issued, nonce: Option<String>) -> Response {
    let now_s = app.clock.now_s();
    let id_token = match &issued.user {
        Some(user) if app.cfg.id_token && scope_has(&issued.scope, "openid") => {
            let sub = if app.faults.has(Fault::IdTokenSubChanges) && issued.generation > 0 {
                format!("{user}-{}", issued.generation)
            } else {
                user.to_string()
            };
            let claims = IdClaims {
                iss: app.issuer.clone(),
                sub,
                aud: issued.client_id.to_string(),
                iat: now_s,
                exp: now_s + issued.expires_in,
                // The fault: the account's creation time (2020-09-13).
                auth_time: if app.faults.has(Fault::AuthTimeStale) {
                    1_600_000_000
                } else {
                    issued.auth_time_s
                },
                nonce,
            };
            match app.signer.id_token(&claims) {
                Ok(t) => Some(t),
                Err(_) => {
                    return app
                        .reply
                        .error(&OAuthError::invalid_request("id_token signing failed"));
                }
            }
        }
        _ => None,
    };
    let mut extra = serde_json::Map::new();
    if app.cfg.vendor_extras {
        extra.insert("id".into(), guid().into());
        if id_token.is_none() {
            extra.insert("id_token".into(), serde_json::Value::Null);
        }
    }
    app.reply.ok(&TokenResponse {
        access_token: issued.access_token,
        token_type: if issued.bound { "DPoP" } else { "Bearer" }.into(),
        expires_in: Some(issued.expires_in),
        refresh_token: issued.refresh_token,
        scope: Some(issued.scope.to_string()),
        id_token,
        extra,
    })
}

/// A random GUID-shaped string (EmpowerID's `id` member).
fn guid() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn guids_have_the_8_4_4_4_12_shape() {
        let g = super::guid();
        let parts: Vec<usize> = g.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12], "{g}");
        assert!(g.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }
}
