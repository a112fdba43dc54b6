//! The authorization endpoint and what follows it (RFC 6749 §4.1): a login
//! page and a consent page shaped after each vendor profile (`pages`),
//! a session cookie, authorization codes bound to their client, redirect
//! URI and PKCE challenge (RFC 7636), and the two grants that start a
//! session without a password: `authorization_code` (§4.1.3) and the JWT
//! user assertion (RFC 7523 §2.1, as Oracle IDCS takes it).
//!
//! Errors before the redirect URI is known to be the client's are pages,
//! never redirects (§4.1.2.1); after, they go back to the client.

use super::app::{App, Client};
use super::config::AuthMethod;
use super::fault::Fault;
use super::form::Form;
use super::interactions::{
    CodeRecord, INTERACTION_MS, Interaction, MAX_INTERACTIONS, SESSION_COOKIE, digest, lock, random,
};
use super::pages;
use super::reply::OAuthError;
use super::request::secret_matches;
use super::store::{Issued, Session};
use crate::wire::ErrorCode;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use sha2::{Digest, Sha256};
use std::sync::Arc;

fn html(status: StatusCode, body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn redirect(status: StatusCode, to: &str) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn with_cookie(mut r: Response, name: &str, value: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax"))
    {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// `redirect_uri?params` (appended to a query it may already have).
fn back_to(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    format!("{redirect_uri}{sep}{}", s.finish())
}

/// The query (GET) or form (POST) of a request, as pairs.
async fn params(req: Request) -> (axum::http::request::Parts, Vec<(String, String)>) {
    let (parts, body) = req.into_parts();
    let mut out: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    if parts.method == axum::http::Method::POST
        && let Ok(bytes) = axum::body::to_bytes(body, super::request::MAX_BODY).await
    {
        out.extend(form_urlencoded::parse(&bytes).map(|(k, v)| (k.into_owned(), v.into_owned())));
    }
    (parts, out)
}

fn get<'a>(p: &'a [(String, String)], name: &str) -> Option<&'a str> {
    p.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `GET authorize`: the authorization request (RFC 6749 §4.1.1, RFC 7636
/// §4.3), then the login page, or the consent page for a signed-in user.
pub async fn authorize(State(app): State<Arc<App>>, req: Request) -> Response {
    let (parts, p) = params(req).await;
    let Some(client) = get(&p, "client_id").and_then(|id| app.clients.get(id)) else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error(app.cfg.profile, "The client is not known."),
        );
    };
    if !client.may_use(crate::wire::grant::AUTHORIZATION_CODE) {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error(
                app.cfg.profile,
                "This client may not use the authorization code flow.",
            ),
        );
    }
    let registered = &client.account.redirect_uris;
    let sent = get(&p, "redirect_uri");
    let redirect_uri = match sent {
        Some(r) if registered.iter().any(|x| x == r) => r.to_string(),
        Some(r) if app.faults.has(Fault::RedirectUriUnchecked) => r.to_string(),
        Some(_) => {
            return html(
                StatusCode::BAD_REQUEST,
                pages::error(
                    app.cfg.profile,
                    "The redirect_uri is not registered for this client.",
                ),
            );
        }
        None if registered.len() == 1 => registered[0].clone(),
        None => {
            return html(
                StatusCode::BAD_REQUEST,
                pages::error(app.cfg.profile, "The redirect_uri is missing."),
            );
        }
    };
    let state = get(&p, "state").map(str::to_string);
    let fail = |code: &str, why: &str| {
        let mut q = vec![("error", code), ("error_description", why)];
        if let Some(s) = &state {
            q.push(("state", s));
        }
        redirect(StatusCode::FOUND, &back_to(&redirect_uri, &q))
    };
    if get(&p, "response_type") != Some("code") {
        return fail(
            "unsupported_response_type",
            "only response_type=code is supported",
        );
    }
    let scope = match app.scope(get(&p, "scope")) {
        Ok(s) => s,
        Err(_) => return fail("invalid_scope", "an unknown scope was requested"),
    };
    let challenge = match (get(&p, "code_challenge"), get(&p, "code_challenge_method")) {
        (Some(c), m) => {
            let method = m.unwrap_or("plain");
            if !matches!(method, "S256" | "plain") {
                return fail("invalid_request", "code_challenge_method is S256 or plain");
            }
            if !(43..=128).contains(&c.len()) {
                return fail("invalid_request", "code_challenge is 43 to 128 characters");
            }
            Some((c.to_string(), method.to_string()))
        }
        (None, Some(_)) => {
            return fail(
                "invalid_request",
                "code_challenge_method without code_challenge",
            );
        }
        (None, None) => None,
    };
    // A public client must use PKCE (RFC 9700 §2.1.1).
    if challenge.is_none() && client.account.allows(AuthMethod::None) {
        return fail(
            "invalid_request",
            "a public client must send a PKCE code_challenge",
        );
    }
    let now = app.clock.now_ms();
    let id = random();
    let signed_in = cookie(&parts.headers, SESSION_COOKIE)
        .and_then(|c| lock(&app.logins.sessions).get(&c).cloned())
        .filter(|_| get(&p, "prompt") != Some("login"));
    let interaction = Interaction {
        client_id: client.id.clone(),
        redirect_uri,
        redirect_sent: sent.is_some(),
        scope,
        state,
        nonce: get(&p, "nonce").map(str::to_string),
        challenge,
        csrf: random(),
        user: signed_in,
        identified: None,
        mfa_pending: None,
        mfa_failures: 0,
        created_ms: now,
    };
    {
        let mut all = lock(&app.logins.interactions);
        if all.len() >= MAX_INTERACTIONS {
            all.retain(|_, i| now < i.created_ms + INTERACTION_MS);
            if all.len() >= MAX_INTERACTIONS {
                return html(
                    StatusCode::SERVICE_UNAVAILABLE,
                    pages::error(app.cfg.profile, "Too many logins in progress."),
                );
            }
        }
        all.insert(id.clone(), interaction.clone());
    }
    if interaction.user.is_some() {
        return after_login(&app, &id, &interaction);
    }
    let page = if app.cfg.identifier_first {
        pages::identifier(&app.paths, app.cfg.profile, &id, &interaction.csrf, None)
    } else {
        pages::login(app.cfg.profile, &app.paths, &id, &interaction.csrf, None)
    };
    with_cookie(
        page_of(&app, StatusCode::OK, page),
        pages::CSRF_COOKIE,
        &interaction.csrf,
    )
}

/// An HTML page of the login, with the unrelated forms of `extra_forms`.
fn page_of(app: &App, status: StatusCode, page: String) -> Response {
    if app.cfg.extra_forms {
        html(status, pages::with_extra_forms(page))
    } else {
        html(status, page)
    }
}

/// The interaction a form names, if it is still going.
fn interaction_of(app: &App, p: &[(String, String)]) -> Option<(String, Interaction)> {
    let id = get(p, pages::interaction_field(app.cfg.profile))?;
    lock(&app.logins.interactions)
        .get(id)
        .map(|i| (id.to_string(), i.clone()))
}

/// The user signed in (after the password, or the one-time code): a
/// session cookie, and on to consent or the client.
fn signed_in(app: &App, id: &str, user: Arc<str>, now_s: u64) -> Response {
    let session = random();
    let signed_in = (user, now_s);
    lock(&app.logins.sessions).insert(session.clone(), signed_in.clone());
    let i = {
        let mut all = lock(&app.logins.interactions);
        let Some(stored) = all.get_mut(id) else {
            return html(
                StatusCode::BAD_REQUEST,
                pages::error(app.cfg.profile, "This login has expired."),
            );
        };
        stored.user = Some(signed_in);
        stored.mfa_pending = None;
        stored.clone()
    };
    with_cookie(after_login(app, id, &i), SESSION_COOKIE, &session)
}

/// `GET mfa` shows the one-time-code page; `POST mfa` checks the code.
/// Three wrong codes end the login (an account would lock).
pub async fn mfa(State(app): State<Arc<App>>, req: Request) -> Response {
    let profile = app.cfg.profile;
    let post = req.method() == axum::http::Method::POST;
    let (_, p) = params(req).await;
    let Some((id, i)) = interaction_of(&app, &p).filter(|(_, i)| i.mfa_pending.is_some()) else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error(profile, "This verification has expired; start again."),
        );
    };
    if !post {
        let page = pages::mfa(&app.paths, profile, &id, &i.csrf, None);
        return page_of(&app, StatusCode::OK, page);
    }
    app.logins
        .mfa_posts
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if get(&p, pages::CSRF_FIELD) != Some(i.csrf.as_str()) {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error(profile, "The form has expired (anti-forgery check)."),
        );
    }
    let want = app.cfg.mfa_code.as_deref().unwrap_or_default();
    let given = get(&p, "otp").unwrap_or_default();
    if !want.is_empty() && secret_matches(given, want.as_bytes()) {
        let (user, _) = i.mfa_pending.clone().unwrap_or_default();
        return signed_in(&app, &id, user, app.clock.now_s());
    }
    let failures = {
        let mut all = lock(&app.logins.interactions);
        match all.get_mut(&id) {
            Some(stored) => {
                stored.mfa_failures += 1;
                stored.mfa_failures
            }
            None => 3,
        }
    };
    if failures >= 3 {
        lock(&app.logins.interactions).remove(&id);
        return html(
            StatusCode::FORBIDDEN,
            pages::error(profile, "Too many wrong codes: this sign-in is locked."),
        );
    }
    let page = pages::mfa(
        &app.paths,
        profile,
        &id,
        &i.csrf,
        Some("That code is not right."),
    );
    page_of(&app, StatusCode::OK, page)
}

/// Where a signed-in interaction goes: the consent page, or (without
/// consent) straight back to the client with a code.
fn after_login(app: &App, id: &str, i: &Interaction) -> Response {
    if app.cfg.consent {
        return redirect(
            StatusCode::SEE_OTHER,
            &format!(
                "{}?{}={id}",
                app.paths.consent,
                pages::interaction_field(app.cfg.profile)
            ),
        );
    }
    issue_code(app, id, i)
}

/// `POST login`: the login form. A wrong password gets the form again.
/// Identifier-first: a post with the username alone gets the password
/// page. With `mfa_code`, the right password leads to the MFA page.
pub async fn login(State(app): State<Arc<App>>, req: Request) -> Response {
    let (parts, p) = params(req).await;
    let profile = app.cfg.profile;
    let Some((id, i)) = interaction_of(&app, &p) else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error(profile, "This login has expired; start again."),
        );
    };
    let (user_field, password_field) = pages::credential_fields(profile);
    let csrf_ok = get(&p, pages::CSRF_FIELD) == Some(i.csrf.as_str())
        && cookie(&parts.headers, pages::CSRF_COOKIE).as_deref() == Some(i.csrf.as_str());
    if !csrf_ok {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error(
                profile,
                "The form has expired (anti-forgery check); start again.",
            ),
        );
    }
    if app.cfg.identifier_first && get(&p, password_field).is_none() {
        let Some(username) = get(&p, user_field).filter(|u| !u.is_empty()) else {
            let page = pages::identifier(
                &app.paths,
                profile,
                &id,
                &i.csrf,
                Some("Enter your username."),
            );
            return page_of(&app, StatusCode::OK, page);
        };
        if let Some(stored) = lock(&app.logins.interactions).get_mut(&id) {
            stored.identified = Some(username.into());
        }
        let page = pages::password(&app.paths, profile, &id, &i.csrf, username, None);
        return page_of(&app, StatusCode::OK, page);
    }
    let username = match (get(&p, user_field), &i.identified) {
        (Some(u), _) => u.to_string(),
        (None, Some(u)) => u.to_string(),
        (None, None) => String::new(),
    };
    let password = get(&p, password_field).unwrap_or_default();
    let now_s = app.clock.now_s();
    let again = |problem: &str| {
        if app.cfg.identifier_first {
            pages::password(&app.paths, profile, &id, &i.csrf, &username, Some(problem))
        } else {
            pages::login(profile, &app.paths, &id, &i.csrf, Some(problem))
        }
    };
    if app.password_limit.locked(&username, now_s).is_some() {
        let page = again("Too many attempts; try again later.");
        return page_of(&app, StatusCode::TOO_MANY_REQUESTS, page);
    }
    let user = app
        .users
        .get(username.as_str())
        .filter(|u| secret_matches(password, u.account.password.expose().as_bytes()));
    let Some(user) = user else {
        app.password_limit.fail(&username, now_s);
        let page = again("Invalid username or password.");
        return page_of(&app, StatusCode::OK, page);
    };
    if app.cfg.mfa_code.is_some() {
        if let Some(stored) = lock(&app.logins.interactions).get_mut(&id) {
            stored.mfa_pending = Some((user.name.clone(), now_s));
        }
        return redirect(
            StatusCode::SEE_OTHER,
            &format!(
                "{}?{}={id}",
                app.paths.mfa,
                pages::interaction_field(profile)
            ),
        );
    }
    signed_in(&app, &id, user.name.clone(), now_s)
}

/// `GET consent` shows the page; `POST consent` answers it.
pub async fn consent(State(app): State<Arc<App>>, req: Request) -> Response {
    let profile = app.cfg.profile;
    let post = req.method() == axum::http::Method::POST;
    let (_, p) = params(req).await;
    let Some((id, i)) = get(&p, pages::interaction_field(profile))
        .and_then(|id| {
            lock(&app.logins.interactions)
                .get(id)
                .map(|i| (id.to_string(), i.clone()))
        })
        .filter(|(_, i)| i.user.is_some())
    else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error(profile, "This consent has expired; start again."),
        );
    };
    if !post {
        let page = pages::consent(profile, &app.paths, &id, &i.csrf, &i.client_id, &i.scope);
        return page_of(&app, StatusCode::OK, page);
    }
    if get(&p, pages::CSRF_FIELD) != Some(i.csrf.as_str()) {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error(profile, "The form has expired (anti-forgery check)."),
        );
    }
    if pages::approved(profile, &p) {
        return issue_code(&app, &id, &i);
    }
    lock(&app.logins.interactions).remove(&id);
    let mut q = vec![
        ("error", "access_denied"),
        ("error_description", "the user denied the request"),
    ];
    if let Some(s) = &i.state {
        q.push(("state", s));
    }
    redirect(StatusCode::FOUND, &back_to(&i.redirect_uri, &q))
}

/// The code, back at the redirect URI with the state (and, strict and
/// IDCS, the issuer, RFC 9207).
fn issue_code(app: &App, id: &str, i: &Interaction) -> Response {
    lock(&app.logins.interactions).remove(id);
    let Some((user, auth_time_s)) = i.user.clone() else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error(app.cfg.profile, "Not signed in."),
        );
    };
    let code = format!("{}{}", random(), random());
    lock(&app.logins.codes).insert(
        digest(&code),
        CodeRecord {
            client_id: i.client_id.clone(),
            redirect_uri: i.redirect_sent.then(|| i.redirect_uri.clone()),
            scope: i.scope.clone(),
            user,
            auth_time_s,
            nonce: i.nonce.clone(),
            challenge: i.challenge.clone(),
            expires_ms: app.clock.now_ms() + app.cfg.code_ttl_s.saturating_mul(1000),
            used: false,
            issued: None,
        },
    );
    let mut q = vec![("code", code.as_str())];
    if let Some(s) = &i.state
        && !app.faults.has(Fault::StateDropped)
    {
        q.push(("state", s));
    }
    if matches!(
        app.cfg.profile,
        super::config::Profile::Strict | super::config::Profile::Idcs
    ) {
        q.push(("iss", &app.issuer));
    }
    redirect(StatusCode::FOUND, &back_to(&i.redirect_uri, &q))
}

fn invalid_grant(why: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, why)
}

/// The `authorization_code` grant (RFC 6749 §4.1.3, RFC 7636 §4.6): the
/// tokens, and the nonce their id_token carries.
pub fn exchange(
    app: &App,
    client: &Client,
    form: &Form<'_>,
    jkt: Option<Arc<str>>,
) -> Result<(Issued, Option<String>), OAuthError> {
    let code = form
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("code is missing"))?;
    let now = app.clock.now_ms();
    let faults = &app.faults;
    let mut codes = lock(&app.logins.codes);
    let rec = codes
        .get_mut(&digest(code))
        .ok_or(invalid_grant("the code is not known"))?;
    if rec.used && !faults.has(Fault::CodeReusable) {
        // §4.1.2: a code used twice is refused, and what it issued SHOULD
        // be revoked.
        if !faults.has(Fault::TokensKeptAfterCodeReuse)
            && let Some((access, refresh)) = rec.issued.take()
        {
            app.store.revoke(&access, &rec.client_id);
            if let Some(r) = refresh {
                app.store.revoke(&r, &rec.client_id);
            }
        }
        return Err(invalid_grant("the code was already used"));
    }
    if now >= rec.expires_ms && !faults.has(Fault::CodeNeverExpires) {
        return Err(invalid_grant("the code has expired"));
    }
    if *rec.client_id != *client.id && !faults.has(Fault::CodeNotBound) {
        return Err(invalid_grant("the code was issued to another client"));
    }
    if let Some(r) = &rec.redirect_uri
        && form.get("redirect_uri") != Some(r.as_str())
        && !faults.has(Fault::RedirectUriUnchecked)
    {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request's",
        ));
    }
    let verifier = form.get("code_verifier");
    match (&rec.challenge, verifier) {
        (Some(_), _) if faults.has(Fault::PkceNotEnforced) => {}
        (Some(_), None) => return Err(invalid_grant("code_verifier is missing")),
        (Some((challenge, method)), Some(v)) => {
            use base64::Engine;
            let computed = match method.as_str() {
                "S256" => base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(Sha256::digest(v.as_bytes())),
                _ => v.to_string(),
            };
            if !secret_matches(&computed, challenge.as_bytes()) {
                return Err(invalid_grant(
                    "code_verifier does not match the code_challenge",
                ));
            }
        }
        // RFC 9700 §4.8.2: a verifier for a code issued without a
        // challenge is a downgrade, refused.
        (None, Some(_)) if !faults.has(Fault::PkceDowngrade) => {
            return Err(invalid_grant(
                "a code_verifier for a code issued without a code_challenge",
            ));
        }
        (None, _) => {}
    }
    rec.used = true;
    // A public client's refresh tokens rotate (RFC 9700 §4.14.2), unless
    // the fault keeps them and leaves them unbound.
    let public = client.account.allows(AuthMethod::None);
    let unbound = public && faults.has(Fault::PublicRefreshUnbound);
    let issued = app.store.grant_session(
        Session {
            client_id: client.id.clone(),
            user: Some(rec.user.clone()),
            scope: rec.scope.clone(),
            auth_time_s: rec.auth_time_s,
            keeps_token: unbound,
        },
        true,
        now,
        if unbound { None } else { jkt },
    );
    rec.issued = Some((issued.access_token.clone(), issued.refresh_token.clone()));
    let nonce = rec
        .nonce
        .clone()
        .filter(|_| !faults.has(Fault::NonceDropped));
    Ok((issued, nonce))
}

#[derive(serde::Deserialize)]
struct UserClaims {
    iss: String,
    sub: String,
    aud: serde_json::Value,
    exp: u64,
    #[serde(default)]
    nbf: Option<u64>,
    #[serde(default)]
    jti: Option<String>,
}

/// The JWT-bearer grant (RFC 7523 §2.1, §3): a user assertion the client
/// signed (the mock trusts `user_assertion_public_key_pem` for its
/// clients), `iss` the client, `sub` a known user, `aud` this server,
/// unexpired, its `jti` unused. Every refusal is `invalid_grant` (§3.1).
pub fn assertion(
    app: &App,
    client: &Client,
    form: &Form<'_>,
    jkt: Option<Arc<str>>,
) -> Result<Issued, OAuthError> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let assertion = form
        .get("assertion")
        .ok_or_else(|| OAuthError::invalid_request("assertion is missing"))?;
    let key = DecodingKey::from_rsa_pem(app.cfg.user_assertion_public_key_pem.as_bytes())
        .map_err(|_| invalid_grant("no key is trusted for user assertions"))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.validate_nbf = false;
    validation.set_required_spec_claims::<&str>(&[]);
    let decoded = if app.faults.has(Fault::AssertionSignatureUnchecked) {
        jsonwebtoken::dangerous::insecure_decode::<UserClaims>(assertion)
    } else {
        jsonwebtoken::decode::<UserClaims>(assertion, &key, &validation)
    };
    let claims = decoded
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                invalid_grant("the assertion's signature is invalid")
            }
            _ => invalid_grant("the assertion is not a JWT with iss, sub, aud and exp"),
        })?
        .claims;
    if claims.iss != *client.id {
        return Err(invalid_grant("the assertion's iss is not the client"));
    }
    let audiences = [
        app.token_url.as_str(),
        app.issuer.as_str(),
        app.base_url.as_str(),
    ];
    let aud_ok = match &claims.aud {
        serde_json::Value::String(a) => audiences.contains(&a.as_str()),
        serde_json::Value::Array(items) => items
            .iter()
            .any(|a| a.as_str().is_some_and(|a| audiences.contains(&a))),
        _ => false,
    };
    if !aud_ok && !app.faults.has(Fault::AssertionAudienceIgnored) {
        return Err(invalid_grant(
            "the assertion's aud is not this authorization server",
        ));
    }
    // The client's clock, as for client assertions.
    let now_s = app.clock.wall_s();
    if claims.exp <= now_s && !app.faults.has(Fault::AssertionExpiredAccepted) {
        return Err(invalid_grant("the assertion has expired"));
    }
    if claims.nbf.is_some_and(|nbf| nbf > now_s + 60) {
        return Err(invalid_grant("the assertion is not valid yet"));
    }
    if let Some(jti) = &claims.jti
        && !app.faults.has(Fault::AssertionReplayAccepted)
        && !app
            .jtis
            .first_use_of(&format!("user:{}", client.id), jti, claims.exp)
    {
        return Err(invalid_grant("the assertion's jti was already used"));
    }
    let user = app
        .users
        .get(&claims.sub)
        .ok_or(invalid_grant("the assertion's sub is not a known user"))?;
    let scope = app.scope(form.get("scope"))?;
    let now = app.clock.now_ms();
    Ok(app.store.grant_session(
        Session {
            client_id: client.id.clone(),
            user: Some(user.name.clone()),
            scope,
            auth_time_s: now / 1000,
            keeps_token: false,
        },
        true,
        now,
        jkt,
    ))
}
