//! What the token, revocation and introspection endpoints share before their
//! own work: the request must be a form-encoded POST with a capped body and
//! no credentials in the query string (RFC 6749 §2.3.1, §3.2), and the client
//! must authenticate (§2.3: Basic, body secret or JWT assertion, exactly one).

use super::app::{App, Client};
use super::config::AuthMethod;
use super::form::{self, Form};
use super::keys;
use super::reply::OAuthError;
use crate::wire::{CLIENT_ASSERTION_TYPE_JWT, ErrorCode};
use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use subtle::ConstantTimeEq;

/// Request bodies larger than this are refused with 413 `invalid_request`.
pub const MAX_BODY: usize = 64 * 1024;

/// Query parameters that carry credentials: refused on the POST endpoints.
const SECRET_QUERY: &[&str] = &[
    "client_id",
    "client_secret",
    "client_assertion",
    "password",
    "refresh_token",
    "token",
];

/// The body of a form POST, checked as the module doc says.
pub async fn form_body(parts: &Parts, body: Body) -> Result<Bytes, OAuthError> {
    if parts.method != Method::POST {
        return Err(
            OAuthError::invalid_request("use POST with a form-encoded body")
                .with_status(StatusCode::METHOD_NOT_ALLOWED),
        );
    }
    if let Some(q) = parts.uri.query() {
        let names = form_urlencoded::parse(q.as_bytes()).map(|(n, _)| n);
        if names
            .into_iter()
            .any(|n| SECRET_QUERY.contains(&n.as_ref()))
        {
            return Err(OAuthError::invalid_request(
                "credentials and tokens are not accepted in the query string",
            ));
        }
    }
    let form_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        OAuthError::invalid_request("the request body is too large or unreadable")
            .with_status(StatusCode::PAYLOAD_TOO_LARGE)
    })
}

/// Parses a form body into parameters (`invalid_request` when malformed).
pub fn parse_form(body: &[u8]) -> Result<Form<'_>, OAuthError> {
    Form::parse(body).map_err(|e| OAuthError::invalid_request(e.to_string()))
}

/// A secret that no real secret equals, compared against when the client or
/// user is unknown so that both paths cost the same.
const DUMMY_SECRET: &[u8] = b"tokenprobe-mock-no-such-account-secret";

/// Constant-time equality of a presented and an expected secret.
pub fn secret_matches(presented: &str, expected: &[u8]) -> bool {
    presented.as_bytes().ct_eq(expected).into()
}

/// Authenticates the client of a request. `basic_is_user` means the
/// `Authorization: Basic` header carries the user (EmpowerID password grant),
/// not the client.
pub fn authenticate<'a>(
    app: &'a App,
    headers: &HeaderMap,
    form: &Form<'_>,
    basic_is_user: bool,
) -> Result<&'a Client, OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .filter(|v| !basic_is_user && form::is_basic(v.as_bytes()));
    let body_secret = form.get("client_secret");
    let assertion = form.get("client_assertion");
    let assertion_type = form.get("client_assertion_type");
    let jwt = assertion.is_some() || assertion_type.is_some();
    if usize::from(basic.is_some()) + usize::from(body_secret.is_some()) + usize::from(jwt) > 1 {
        return Err(OAuthError::invalid_request(
            "use exactly one client authentication method",
        ));
    }
    if let Some(h) = basic {
        let (id, secret) = form::parse_basic(h.as_bytes(), true)
            .map_err(|e| OAuthError::invalid_client(e.to_string()))?;
        if form.get("client_id").is_some_and(|b| b != id) {
            return Err(OAuthError::invalid_client(
                "client_id differs from the Basic credentials",
            ));
        }
        return check_secret(app, &id, &secret, AuthMethod::ClientSecretBasic);
    }
    if let Some(secret) = body_secret {
        let id = form
            .get("client_id")
            .ok_or_else(|| OAuthError::invalid_client("client_id is missing"))?;
        return check_secret(app, id, secret, AuthMethod::ClientSecretPost);
    }
    if jwt {
        return check_assertion(app, form, assertion, assertion_type);
    }
    // A public client identifies itself with its client_id alone.
    if let Some(c) = form
        .get("client_id")
        .and_then(|id| app.clients.get(id))
        .filter(|c| c.account.allows(AuthMethod::None))
    {
        return Ok(c);
    }
    Err(OAuthError::invalid_client(
        "client authentication is required",
    ))
}

fn throttle(app: &App, id: &str) -> Result<(), OAuthError> {
    match app.client_limit.locked(id, app.clock.now_s()) {
        Some(wait) => Err(OAuthError::throttled(ErrorCode::InvalidClient, wait)),
        None => Ok(()),
    }
}

fn refuse(app: &App, id: &str, why: &'static str) -> OAuthError {
    app.client_limit.fail(id, app.clock.now_s());
    OAuthError::invalid_client(why)
}

fn check_secret<'a>(
    app: &'a App,
    id: &str,
    secret: &str,
    method: AuthMethod,
) -> Result<&'a Client, OAuthError> {
    throttle(app, id)?;
    let client = app.clients.get(id);
    let expected = client.map_or(DUMMY_SECRET, |c| c.account.secret.expose().as_bytes());
    let matches = secret_matches(secret, expected);
    match client {
        Some(c) if matches && c.account.allows(method) => Ok(c),
        Some(_) if matches => Err(refuse(
            app,
            id,
            "the client does not use this authentication method",
        )),
        _ => Err(refuse(app, id, "client authentication failed")),
    }
}

fn check_assertion<'a>(
    app: &'a App,
    form: &Form<'_>,
    assertion: Option<&str>,
    assertion_type: Option<&str>,
) -> Result<&'a Client, OAuthError> {
    if assertion_type != Some(CLIENT_ASSERTION_TYPE_JWT) {
        return Err(OAuthError::invalid_client(
            "unsupported client_assertion_type",
        ));
    }
    let assertion =
        assertion.ok_or_else(|| OAuthError::invalid_request("client_assertion is missing"))?;
    let id = match form.get("client_id") {
        Some(id) => id.to_string(),
        None => keys::unverified_issuer(assertion)
            .ok_or_else(|| OAuthError::invalid_client("the client cannot be identified"))?,
    };
    throttle(app, &id)?;
    let client = app
        .clients
        .get(&id)
        .ok_or_else(|| refuse(app, &id, "client authentication failed"))?;
    let audiences = [app.token_url.as_str(), app.issuer.as_str()];
    keys::verify_assertion(
        assertion,
        &client.account,
        &audiences,
        app.clock.wall_s(),
        &app.jtis,
    )
    .map_err(|e| {
        app.client_limit.fail(&id, app.clock.now_s());
        OAuthError::invalid_client(e.to_string())
    })?;
    Ok(client)
}
