//! The endpoints around the token endpoint: RFC 7009 revocation, RFC 7662
//! introspection, discovery, the JWKS, the virtual clock's control, and
//! EmpowerID's bearer-token `tokeninfo` and `userinfo`.

use super::app::App;
use super::fault::Fault;
use super::reply::OAuthError;
use super::request;
use super::store::{TokenInfo, scope_has};
use crate::wire::{ClockAdvance, ClockState, IntrospectionResponse};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use std::sync::Arc;

/// `POST revoke`: 200 whether or not anything was revoked (RFC 7009 §2.2),
/// but only a token issued to the requesting client is revoked (§2.1).
pub async fn revoke(State(app): State<Arc<App>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let result = async {
        let body = request::form_body(&parts, body).await?;
        let form = request::parse_form(&body)?;
        app.client_auth_cost().await;
        let client = request::authenticate(&app, &parts.headers, &form, false)?;
        let token = form
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
        if hint_fits(&app, token, form.get("token_type_hint")) {
            // The `revoke_race` fault's revocation path is slow: a refresh
            // released with it is checked first.
            if app.faults.has(Fault::RevokeRace) {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            app.store.revoke(token, &client.id);
        }
        Ok::<_, OAuthError>(app.reply.json(StatusCode::OK, Vec::new()))
    };
    result.await.unwrap_or_else(|e| app.reply.error(&e))
}

/// `POST introspect` (client-authenticated): `{"active": false}` for
/// anything not live.
pub async fn introspect(State(app): State<Arc<App>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let result = async {
        let body = request::form_body(&parts, body).await?;
        let form = request::parse_form(&body)?;
        app.client_auth_cost().await;
        // The fault: a caller that fails client authentication is told
        // `active: false` instead of 401 (RFC 7662 §2.3).
        if let Err(e) = request::authenticate(&app, &parts.headers, &form, false) {
            if app.faults.has(Fault::IntrospectionUnauthenticated) {
                return Ok(app.reply.ok(&introspection(None)));
            }
            return Err(e);
        }
        let token = form
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
        let info = app
            .store
            .introspect(token, app.clock.now_ms())
            .filter(|_| hint_fits(&app, token, form.get("token_type_hint")));
        let mut answer = introspection(info);
        // `exp` on the caller's clock: a virtual clock moved forward by
        // earlier checks must not make a live token's expiry look wrong.
        let (now, wall) = (app.clock.now_s(), app.clock.wall_s());
        answer.exp = answer.exp.map(|e| wall + e.saturating_sub(now));
        // `iat` on the same clock as `exp` (it was the virtual one).
        answer.iat = answer
            .iat
            .map(|i| wall.saturating_sub(now.saturating_sub(i)));
        if answer.active && app.faults.has(Fault::IntrospectionExpWrong) {
            answer.exp = Some(wall + 600);
        }
        Ok::<_, OAuthError>(app.reply.ok(&answer))
    };
    result.await.unwrap_or_else(|e| app.reply.error(&e))
}

/// Whether the token is found: always, unless the `hint_required` fault
/// makes the server look only where the hint points (RFC 7009 §2.1 and RFC
/// 7662 §2.1 say it must search further).
fn hint_fits(app: &App, token: &str, hint: Option<&str>) -> bool {
    if !app.faults.has(Fault::HintRequired) {
        return true;
    }
    let refresh = app.store.is_refresh_token(token);
    match hint {
        Some("refresh_token") => refresh,
        Some("access_token") => !refresh,
        _ => false,
    }
}

fn introspection(info: Option<TokenInfo>) -> IntrospectionResponse {
    let Some(i) = info else {
        return IntrospectionResponse::default();
    };
    IntrospectionResponse {
        active: true,
        scope: Some(i.scope.to_string()),
        client_id: Some(i.client_id.to_string()),
        username: i.user.as_deref().map(str::to_string),
        token_type: Some(if i.refresh { "refresh_token" } else { "Bearer" }.into()),
        exp: Some(i.expires_s),
        iat: i.issued_s,
        sub: i.user.as_deref().map(str::to_string),
    }
}

fn static_json(body: &str) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub async fn discovery(State(app): State<Arc<App>>) -> Response {
    static_json(&app.discovery_json)
}

pub async fn jwks(State(app): State<Arc<App>>) -> Response {
    static_json(app.signer.jwks_json())
}

/// `POST /__tokenprobe/clock` with `{"seconds": N}` advances the virtual
/// clock; `GET` reads it. Both answer [`ClockState`].
pub async fn clock(State(app): State<Arc<App>>, req: Request) -> Response {
    if req.method() == Method::POST {
        let bytes = match axum::body::to_bytes(req.into_body(), request::MAX_BODY).await {
            Ok(b) => b,
            Err(_) => {
                return app
                    .reply
                    .error(&OAuthError::invalid_request("unreadable body"));
            }
        };
        match serde_json::from_slice::<ClockAdvance>(&bytes) {
            Ok(a) => {
                app.clock.advance(a.seconds);
            }
            Err(_) => {
                return app
                    .reply
                    .error(&OAuthError::invalid_request(r#"expected {"seconds": N}"#));
            }
        }
    }
    app.reply.ok(&ClockState {
        now: app.clock.now_s(),
    })
}

/// The access token of a bearer request: `Authorization: Bearer` or an
/// `access_token` query parameter.
fn bearer(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_string());
    from_header.or_else(|| {
        form_urlencoded::parse(query?.as_bytes())
            .find(|(n, _)| n == "access_token")
            .map(|(_, v)| v.into_owned())
    })
}

fn live_access_token(app: &App, req: &Request) -> Result<TokenInfo, OAuthError> {
    let token = bearer(req.headers(), req.uri().query()).ok_or_else(OAuthError::invalid_token)?;
    app.store
        .access_info(&token, app.clock.now_ms())
        .ok_or_else(OAuthError::invalid_token)
}

/// EmpowerID `tokeninfo`: what introspection would say, for the bearer.
pub async fn tokeninfo(State(app): State<Arc<App>>, req: Request) -> Response {
    match live_access_token(&app, &req) {
        Ok(info) => app.reply.ok(&introspection(Some(info))),
        Err(e) => app.reply.error(&e),
    }
}

/// OpenID `userinfo` for the bearer's user (`email` with the `email` scope).
pub async fn userinfo(State(app): State<Arc<App>>, req: Request) -> Response {
    let info = match live_access_token(&app, &req) {
        Ok(i) => i,
        Err(e) => return app.reply.error(&e),
    };
    let Some(user) = info.user else {
        return app.reply.error(&OAuthError::invalid_token());
    };
    let mut body = serde_json::json!({"sub": &*user, "preferred_username": &*user});
    if scope_has(&info.scope, "email") {
        body["email"] = format!("{user}@example.test").into();
    }
    app.reply.ok(&body)
}

pub async fn not_found(State(app): State<Arc<App>>) -> Response {
    app.reply
        .error(&OAuthError::invalid_request("no such endpoint").with_status(StatusCode::NOT_FOUND))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_come_from_the_header_or_the_query() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h, Some("access_token=q1")), Some("q1".into()));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer h1"));
        assert_eq!(bearer(&h, Some("access_token=q1")), Some("h1".into()));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic YTpi"),
        );
        assert_eq!(bearer(&h, None), None);
    }
}
