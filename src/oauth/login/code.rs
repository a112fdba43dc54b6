//! The authorization-code flow's front channel, headless (RFC 6749 §4.1,
//! RFC 7636, RFC 9207): the authorization request, then page after page
//! with a cookie jar of this login's own (at most `max_hops`), the login
//! form filled and the consent accepted by the recipe of [`super::form`],
//! until a redirect to the `redirect_uri` carries the code (or an error).
//! The code is exchanged by the caller, with the verifier this returns.
//!
//! Credentials are posted only to forms on the declared origins. A page
//! that does not fit the recipe is the target's problem (a
//! [`FrontChannelError::Recipe`] naming the hop, the URL without its
//! query, the status and the form fields found), never a finding about
//! the server, and never a panic. Every hop is recorded redacted: codes,
//! verifiers, cookies and the password are registered with the redactor
//! before anything is written down.

use super::form::{self, FormHints, Page};
use crate::oauth::http::{self, HttpResponse, TransportError};
use crate::oauth::record::{self, Exchange};
use crate::oauth::request::{HttpMethod, Sensitive, WireRequest};
use crate::redact::Redactor;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::time::Duration;
use url::Url;

/// How the flow proves possession of its code (RFC 7636).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Deserialize,
    serde::Serialize,
    schemars::JsonSchema,
)]
pub enum Pkce {
    #[default]
    S256,
    #[serde(rename = "plain")]
    Plain,
    /// No challenge, no verifier.
    #[serde(rename = "none")]
    None,
}

/// The target's code flow (`login:` with `grant: authorization_code`).
#[derive(Debug, Clone)]
pub struct CodeFlow {
    /// From the target or its discovery document.
    pub authorization_endpoint: Option<Url>,
    /// Never listened on: the flow stops at the redirect to it.
    pub redirect_uri: Url,
    pub scope: Option<String>,
    /// Extra authorization-request parameters (`prompt: consent`).
    pub params: Vec<(String, String)>,
    pub pkce: Pkce,
    pub form: FormHints,
    /// Origins (`https://idp.example`) whose forms may receive the
    /// credentials; the authorization endpoint's is always one.
    pub origins: Vec<String>,
    pub max_hops: usize,
}

/// Most pages a login may take.
pub const MAX_HOPS: usize = 20;

/// One authorization request: the flow's settings with what a scenario
/// step changes.
#[derive(Debug, Clone)]
pub struct Authorize<'a> {
    pub client_id: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    pub scope: Option<&'a str>,
    pub pkce: Pkce,
    /// Parameters added or replaced (a scenario's `params`).
    pub extra: Vec<(String, String)>,
    /// The issuer a `iss` in the response must name (RFC 9207).
    pub issuer: Option<&'a str>,
}

/// A hop of the flow, for `-v` and the reports.
#[derive(Debug, Clone)]
pub struct Hop {
    /// `GET /authorize → 200 (login form)`, with the URL's query left out.
    pub summary: String,
    pub exchange: Exchange,
}

/// What the front channel ended with.
#[derive(Debug, Clone)]
pub struct Authorized {
    /// The redirect's query: `code`, `state`, `iss`, or `error`,
    /// `error_description`.
    pub response: Vec<(String, String)>,
    /// The status of the redirect to the `redirect_uri`.
    pub status: u16,
    pub sent_state: String,
    pub sent_nonce: Option<String>,
    /// `None` without PKCE.
    pub code_verifier: Option<String>,
    pub code_challenge: Option<String>,
    pub redirect_uri: String,
    pub hops: Vec<Hop>,
    /// Unix seconds, this machine's clock: when the credentials were posted.
    pub authenticated_at: Option<u64>,
}

impl Authorized {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.response
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn code(&self) -> Option<&str> {
        self.get("code")
    }

    /// The state came back as sent (RFC 6749 §4.1.2: REQUIRED when sent).
    pub fn state_echoed(&self) -> bool {
        self.get("state") == Some(self.sent_state.as_str())
    }
}

/// Why the front channel stopped without reaching the `redirect_uri`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FrontChannelError {
    /// A page the recipe could not complete: the target's problem (its
    /// `login` block, or a login that needs a person: MFA, a CAPTCHA).
    #[error(
        "the login's hop {hop} ({url}) answered {status}, which the recipe cannot complete: {detail}; found {found}. Check `login` in the target (form: username_field, password_field, submit; origins), or sign in with `login.grant: command`"
    )]
    Recipe {
        hop: usize,
        url: String,
        status: u16,
        detail: String,
        found: String,
        hops: Vec<Hop>,
    },
    #[error(
        "the target gives no authorization endpoint: declare login.authorization_endpoint, or a discovery document that has one"
    )]
    NoEndpoint,
    #[error("the login's hop {hop} ({url}): {error}")]
    Transport {
        hop: usize,
        url: String,
        error: TransportError,
        hops: Vec<Hop>,
    },
}

impl FrontChannelError {
    pub fn hops(&self) -> &[Hop] {
        match self {
            FrontChannelError::Recipe { hops, .. } | FrontChannelError::Transport { hops, .. } => {
                hops
            }
            FrontChannelError::NoEndpoint => &[],
        }
    }
}

/// A URL without its query and fragment, for messages.
pub fn without_query(u: &Url) -> String {
    let mut u = u.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// A verifier (43 to 128 unreserved characters, RFC 7636 §4.1) and its
/// challenge for `method`.
pub fn pkce_pair(method: Pkce) -> Option<(String, String)> {
    let verifier = crate::oauth::random_token(32);
    match method {
        Pkce::None => None,
        Pkce::Plain => Some((verifier.clone(), verifier)),
        Pkce::S256 => {
            let digest = Sha256::digest(verifier.as_bytes());
            let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
            Some((verifier, challenge))
        }
    }
}

/// The cookies of one login.
struct Jar(cookie_store::CookieStore);

impl Jar {
    fn header(&self, url: &Url) -> Option<String> {
        let pairs: Vec<String> = self
            .0
            .get_request_values(url)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    fn store(&mut self, r: &HttpResponse, url: &Url, redactor: &Redactor) {
        for (k, v) in &r.headers {
            if k.eq_ignore_ascii_case("set-cookie") {
                if let Some((_, value)) = v.split(';').next().and_then(|c| c.split_once('=')) {
                    redactor.add("ck", value.trim());
                }
                let _ = self.0.parse(v, url);
            }
        }
    }
}

/// Runs the front channel of `flow` for `req` with `client`, every request
/// bounded by `timeout`.
pub async fn authorize(
    client: &reqwest::Client,
    flow: &CodeFlow,
    req: &Authorize<'_>,
    timeout: Duration,
    redactor: &Redactor,
) -> Result<Authorized, FrontChannelError> {
    let endpoint = flow
        .authorization_endpoint
        .clone()
        .ok_or(FrontChannelError::NoEndpoint)?;
    let state = crate::oauth::random_token(16);
    let scope = req.scope.or(flow.scope.as_deref());
    let nonce = scope
        .filter(|s| s.split_whitespace().any(|w| w == "openid"))
        .map(|_| crate::oauth::random_token(16));
    let pkce = pkce_pair(req.pkce);
    let mut params: Vec<(String, String)> = vec![
        ("response_type".into(), "code".into()),
        ("client_id".into(), req.client_id.into()),
        ("redirect_uri".into(), flow.redirect_uri.to_string()),
        ("state".into(), state.clone()),
    ];
    if let Some(s) = scope.filter(|s| !s.trim().is_empty()) {
        params.push(("scope".into(), s.into()));
    }
    if let Some(n) = &nonce {
        params.push(("nonce".into(), n.clone()));
    }
    if let Some((_, challenge)) = &pkce {
        params.push(("code_challenge".into(), challenge.clone()));
        params.push((
            "code_challenge_method".into(),
            if req.pkce == Pkce::Plain {
                "plain"
            } else {
                "S256"
            }
            .into(),
        ));
    }
    for (k, v) in flow.params.iter().chain(&req.extra) {
        params.retain(|(name, _)| name != k);
        params.push((k.clone(), v.clone()));
    }
    if let Some((verifier, challenge)) = &pkce {
        redactor.add("cv", verifier);
        // Public by design, but token-shaped: shown as a fingerprint too.
        redactor.add("cc", challenge);
    }
    let mut url = endpoint.clone();
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in &params {
            q.append_pair(k, v);
        }
    }
    let mut allowed: Vec<String> = vec![endpoint.origin().ascii_serialization()];
    allowed.extend(
        flow.origins
            .iter()
            .map(|o| o.trim_end_matches('/').to_string()),
    );
    let mut jar = Jar(cookie_store::CookieStore::default());
    let mut hops: Vec<Hop> = Vec::new();
    let mut next = WireRequest {
        method: HttpMethod::Get,
        url,
        headers: Vec::new(),
        body: None,
        sensitive: Vec::new(),
    };
    let mut authenticated_at = None;
    let mut logins = 0;
    let max = flow.max_hops.clamp(1, MAX_HOPS);
    for hop in 1..=max {
        let page_url = next.url.clone();
        if let Some(c) = jar.header(&page_url) {
            next.headers
                .retain(|(k, _)| !k.eq_ignore_ascii_case("cookie"));
            next.headers.push(("Cookie".into(), c));
        }
        next.headers.push((
            "Accept".into(),
            "text/html,application/xhtml+xml,*/*".into(),
        ));
        record::register(&next, redactor);
        let response = http::send(next.to_reqwest(client), timeout).await;
        let r = match response {
            Ok(r) => r,
            Err(error) => {
                let exchange = record::record(&next, None, redactor);
                hops.push(Hop {
                    summary: format!(
                        "{} {} → {error}",
                        next.method.as_str(),
                        without_query(&page_url)
                    ),
                    exchange,
                });
                return Err(FrontChannelError::Transport {
                    hop,
                    url: without_query(&page_url),
                    error,
                    hops,
                });
            }
        };
        jar.store(&r, &page_url, redactor);
        let location = r
            .header("location")
            .and_then(|l| page_url.join(l.trim()).ok());
        // The code (and anything else the redirect carries) is secret
        // before it is written down.
        if let Some(l) = &location
            && l.as_str().starts_with(flow.redirect_uri.as_str())
        {
            for (k, v) in l.query_pairs() {
                if k == "code" {
                    redactor.add("cd", &v);
                }
            }
        }
        if (200..300).contains(&r.status) {
            register_hidden_fields(&r, redactor);
        }
        let exchange = record::record(&next, Some(&r), redactor);
        let here = without_query(&page_url);
        let mut summary = format!("{} {here} → {}", next.method.as_str(), r.status);
        if let Some(l) = location {
            if l.as_str().starts_with(flow.redirect_uri.as_str()) {
                let response: Vec<(String, String)> = l
                    .query_pairs()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                summary.push_str(" to the redirect_uri");
                hops.push(Hop { summary, exchange });
                return Ok(Authorized {
                    response,
                    status: r.status,
                    sent_state: state,
                    sent_nonce: nonce,
                    code_challenge: pkce.as_ref().map(|(_, c)| c.clone()),
                    code_verifier: pkce.map(|(v, _)| v),
                    redirect_uri: flow.redirect_uri.to_string(),
                    hops,
                    authenticated_at,
                });
            }
            if (300..400).contains(&r.status) {
                summary.push_str(&format!(" to {}", without_query(&l)));
                hops.push(Hop { summary, exchange });
                next = WireRequest::get(l);
                next.headers.clear();
                continue;
            }
        }
        let recipe = |detail: String, found: String, hops: Vec<Hop>| FrontChannelError::Recipe {
            hop,
            url: here.clone(),
            status: r.status,
            detail,
            found,
            hops,
        };
        let ctype = r.header("content-type").unwrap_or_default();
        if !(200..300).contains(&r.status) || !ctype.contains("html") {
            hops.push(Hop { summary, exchange });
            let what = if (300..400).contains(&r.status) {
                "a redirect without a Location".to_string()
            } else if (200..300).contains(&r.status) {
                format!("a {ctype} page, not HTML")
            } else {
                format!("an error page ({} bytes)", r.body.len())
            };
            return Err(recipe(what, "no page to read".into(), hops));
        }
        let html = r.body_text();
        match form::read(&html, &flow.form) {
            Page::Refresh(to) => {
                summary.push_str(" (refresh)");
                hops.push(Hop { summary, exchange });
                match page_url.join(&to) {
                    Ok(u) => next = WireRequest::get(u),
                    Err(_) => {
                        return Err(recipe(
                            format!("a meta refresh to `{to}`, not a URL"),
                            "a refresh".into(),
                            hops,
                        ));
                    }
                }
            }
            Page::Login(f) => {
                logins += 1;
                if logins > 1 {
                    summary.push_str(" (the login form again)");
                    hops.push(Hop { summary, exchange });
                    return Err(recipe(
                        "the login form came back after the credentials were posted: the server refused them (check users.primary), or the form wants fields the recipe did not fill".into(),
                        form::describe(std::slice::from_ref(&f)),
                        hops,
                    ));
                }
                let Some((user_field, pass_field)) = form::credential_fields(&f, &flow.form) else {
                    hops.push(Hop { summary, exchange });
                    return Err(recipe(
                        "a form with a password field but no username field the recipe can tell (give login.form.username_field)".into(),
                        form::describe(std::slice::from_ref(&f)),
                        hops,
                    ));
                };
                let action = match page_url.join(&f.action) {
                    Ok(a) => a,
                    Err(_) => {
                        hops.push(Hop { summary, exchange });
                        return Err(recipe(
                            format!("the login form's action `{}` is not a URL", f.action),
                            form::describe(std::slice::from_ref(&f)),
                            hops,
                        ));
                    }
                };
                let origin = action.origin().ascii_serialization();
                if !allowed.contains(&origin) {
                    hops.push(Hop { summary, exchange });
                    return Err(recipe(
                        format!(
                            "the login form posts to {origin}, which is not a declared origin (the authorization endpoint's, or login.origins): the credentials were not sent"
                        ),
                        form::describe(std::slice::from_ref(&f)),
                        hops,
                    ));
                }
                summary.push_str(" (login form)");
                hops.push(Hop { summary, exchange });
                let fields = form::submission(
                    &f,
                    &[
                        (user_field, req.username.to_string()),
                        (pass_field, req.password.to_string()),
                    ],
                    form::login_button(&f, &flow.form),
                );
                next = submit(&f.method, action, fields);
                next.sensitive
                    .push(Sensitive::Text("pw", req.password.to_string()));
                authenticated_at = Some(crate::dpop::now_s());
            }
            Page::Submit(f) => {
                let action = match page_url.join(&f.action) {
                    Ok(a) => a,
                    Err(_) => {
                        hops.push(Hop { summary, exchange });
                        return Err(recipe(
                            format!("a form's action `{}` is not a URL", f.action),
                            form::describe(std::slice::from_ref(&f)),
                            hops,
                        ));
                    }
                };
                summary.push_str(" (consent)");
                hops.push(Hop { summary, exchange });
                let fields = form::submission(&f, &[], form::consent_button(&f));
                next = submit(&f.method, action, fields);
            }
            Page::Unknown(found) => {
                hops.push(Hop { summary, exchange });
                return Err(recipe(
                    "a page with no login form, no consent form and no redirect".into(),
                    found,
                    hops,
                ));
            }
        }
    }
    let last = hops.last().map(|h| h.summary.clone()).unwrap_or_default();
    Err(FrontChannelError::Recipe {
        hop: max,
        url: without_query(&next.url),
        status: 0,
        detail: format!("{max} hops without reaching the redirect_uri (the last: {last})"),
        found: "a loop or a long chain".into(),
        hops,
    })
}

/// A form submission as a request.
fn submit(method: &str, mut action: Url, fields: Vec<(String, String)>) -> WireRequest {
    if method.eq_ignore_ascii_case("GET") {
        {
            let mut q = action.query_pairs_mut();
            q.clear();
            for (k, v) in &fields {
                q.append_pair(k, v);
            }
        }
        return WireRequest::get(action);
    }
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &fields {
        s.append_pair(k, v);
    }
    WireRequest {
        method: HttpMethod::Post,
        url: action,
        headers: Vec::new(),
        body: Some((
            "application/x-www-form-urlencoded".into(),
            s.finish().into_bytes(),
        )),
        sensitive: Vec::new(),
    }
}

/// Hidden fields often carry session keys (`sessionDataKey`, CSRF
/// tokens): secrets of the login, fingerprinted like the rest.
fn register_hidden_fields(r: &HttpResponse, redactor: &Redactor) {
    if !r.header("content-type").is_some_and(|c| c.contains("html")) {
        return;
    }
    for f in form::forms(&r.body_text()) {
        for i in f.inputs.iter().filter(|i| i.kind == "hidden") {
            redactor.add("hf", &i.value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_challenges_follow_rfc_7636_appendix_b() {
        // The RFC's own example: verifier → challenge.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let digest = Sha256::digest(verifier.as_bytes());
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
        assert_eq!(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        let (v, c) = pkce_pair(Pkce::S256).unwrap();
        assert!((43..=128).contains(&v.len()));
        assert_ne!(v, c);
        let (v, c) = pkce_pair(Pkce::Plain).unwrap();
        assert_eq!(v, c);
        assert!(pkce_pair(Pkce::None).is_none());
    }

    #[test]
    fn messages_leave_the_query_out() {
        let u = Url::parse("https://idp.example/login?session=secret#x").unwrap();
        assert_eq!(without_query(&u), "https://idp.example/login");
    }
}
