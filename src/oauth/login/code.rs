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

use super::form::{self, FormHints};
use crate::oauth::http::{self, HttpResponse, TransportError};
use crate::oauth::record::{self, Exchange};
use crate::oauth::request::{HttpMethod, Sensitive, WireRequest};
use crate::redact::Redactor;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::time::Duration;
use url::Url;
use walk::{Next, Walk};

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
    /// The user's own steps for pages the recipe cannot read
    /// (`login.pages`), tried in order before the recipe.
    pub pages: Vec<PageStep>,
}

/// Which page a [`PageStep`] is for.
#[derive(Debug, Clone)]
pub enum PageMatch {
    /// The page's URL path, exactly.
    Path(String),
    /// A regular expression over the page's whole URL.
    Url(regex::Regex),
    /// A form's `id`, or its `action` as written or as a path.
    Form(String),
}

/// What a [`PageStep`] puts in a field.
#[derive(Clone)]
pub enum FillValue {
    /// A value written in the target file: shown as it is.
    Literal(String),
    /// A value from `${env:…}` or `${file:…}`: a secret everywhere.
    Secret(crate::secret::Secret),
    /// `${username}`: the user's name.
    Username,
    /// `${password}`: the user's password.
    Password,
}

impl std::fmt::Debug for FillValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FillValue::Literal(v) => write!(f, "Literal({v:?})"),
            FillValue::Secret(s) => write!(f, "Secret({})", s.fingerprint("s")),
            FillValue::Username => f.write_str("Username"),
            FillValue::Password => f.write_str("Password"),
        }
    }
}

/// One step of `login.pages`: on the page it matches, fill these fields
/// of the form and submit it with this button.
#[derive(Debug, Clone)]
pub struct PageStep {
    pub matches: PageMatch,
    pub fill: Vec<(String, FillValue)>,
    /// The button's name, value or text (default: the recipe's choice).
    pub submit: Option<String>,
}

impl PageMatch {
    /// The form of `forms` this step is for on the page at `url`, if the
    /// step matches the page; `fill` names the fields it must have.
    fn form<'f>(
        &self,
        url: &Url,
        forms: &'f [form::Form],
        fill: &[(String, FillValue)],
    ) -> Option<&'f form::Form> {
        let has_fields = |f: &&form::Form| {
            fill.iter()
                .all(|(name, _)| f.inputs.iter().any(|i| i.name == *name))
        };
        match self {
            PageMatch::Path(p) if url.path() == p => {
                forms.iter().find(has_fields).or(forms.first())
            }
            PageMatch::Url(re) if re.is_match(url.as_str()) => {
                forms.iter().find(has_fields).or(forms.first())
            }
            PageMatch::Form(want) => forms.iter().find(|f| {
                f.id.as_deref() == Some(want.as_str())
                    || f.action == *want
                    || url.join(&f.action).is_ok_and(|a| a.path() == want.as_str())
            }),
            _ => None,
        }
    }
}

/// Most pages a login may take.
pub const MAX_HOPS: usize = 20;

/// One authorization request: the flow's settings with what a scenario
/// step changes. Its `Debug` leaves the password out.
#[derive(Clone)]
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

impl std::fmt::Debug for Authorize<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorize")
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("scope", &self.scope)
            .field("pkce", &self.pkce)
            .field("extra", &self.extra)
            .finish_non_exhaustive()
    }
}

/// A hop of the flow, for `-v` and the reports.
#[derive(Debug, Clone)]
pub struct Hop {
    /// `GET /authorize → 200 (login form)`, with the URL's query left out.
    pub summary: String,
    pub exchange: Exchange,
}

/// What the front channel ended with. Its `Debug` shows the response's
/// names, not its code, and no verifier.
#[derive(Clone)]
pub struct Authorized {
    /// The authorization response: `code`, `state`, `iss`, or `error`,
    /// `error_description` (from the redirect's query, or a `form_post`).
    pub response: Vec<(String, String)>,
    /// The status of the redirect to the `redirect_uri` (200 for a
    /// `form_post` page).
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

impl std::fmt::Debug for Authorized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorized")
            .field(
                "response",
                &self.response.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("status", &self.status)
            .field("redirect_uri", &self.redirect_uri)
            .field("hops", &self.hops.len())
            .finish_non_exhaustive()
    }
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

/// How to go on from a page the recipe cannot complete.
const WAY_OUT: &str = "Give the page a step in `login.pages` (match: { path: … }, fill: { field: \"${env:…}\" }, submit: button), name the fields in `login.form`, or sign in with `login.grant: command`";

/// Why the front channel stopped without reaching the `redirect_uri`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FrontChannelError {
    /// A page the recipe could not complete: the target's problem (its
    /// `login` block, or a login that needs a person: MFA, a CAPTCHA).
    #[error(
        "the login's hop {hop} ({url}) answered {status}, which the recipe cannot complete: {detail}; found {found}. {WAY_OUT}"
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

/// Why a form was not submitted: nothing was sent.
#[derive(Debug, thiserror::Error)]
enum SubmitError {
    #[error("the form's action `{0}` is not a URL")]
    Action(String),
    #[error(
        "the form posts to {0}, which is not a declared origin (the authorization endpoint's, or login.origins): nothing was sent"
    )]
    Undeclared(String),
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

/// Whether `url` is the redirect URI: the same scheme, host, port and
/// path, and every parameter the redirect URI itself carries (RFC 6749
/// §3.1.2: the server adds its own to the query). Never a prefix match:
/// `/callback-evil` is not `/callback`.
pub fn at_redirect_uri(url: &Url, redirect_uri: &Url) -> bool {
    url.scheme() == redirect_uri.scheme()
        && url.host_str() == redirect_uri.host_str()
        && url.port_or_known_default() == redirect_uri.port_or_known_default()
        && url.path() == redirect_uri.path()
        && redirect_uri
            .query_pairs()
            .all(|p| url.query_pairs().any(|q| q == p))
}

/// The authorization response a redirect to the redirect URI carries: its
/// query without the redirect URI's own parameters, or, when the query
/// holds no response, its fragment.
fn response_of(url: &Url, redirect_uri: &Url) -> Vec<(String, String)> {
    let own: Vec<(String, String)> = redirect_uri
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let query: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .filter(|p| !own.contains(p))
        .collect();
    let is_response = |p: &[(String, String)]| p.iter().any(|(k, _)| k == "code" || k == "error");
    if !is_response(&query)
        && let Some(fragment) = url.fragment()
    {
        let f: Vec<(String, String)> = form_urlencoded::parse(fragment.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if is_response(&f) {
            return f;
        }
    }
    query
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
                    redactor.add_observed("ck", value.trim());
                }
                let _ = self.0.parse(v, url);
            }
        }
    }
}

/// A page request as a browser sends it: one `Accept`, the login's
/// cookies, and on a form post the page's `Origin` (and, on the same
/// origin, its `Referer`).
fn page_request(
    method: HttpMethod,
    url: Url,
    body: Option<Vec<u8>>,
    from: Option<&Url>,
) -> WireRequest {
    let mut headers = vec![(
        "Accept".to_string(),
        "text/html,application/xhtml+xml,*/*".to_string(),
    )];
    if method == HttpMethod::Post
        && let Some(page) = from
    {
        let origin = page.origin().ascii_serialization();
        if origin == url.origin().ascii_serialization() {
            headers.push(("Referer".into(), page.to_string()));
        }
        headers.push(("Origin".into(), origin));
    }
    WireRequest {
        method,
        url,
        headers,
        body: body.map(|b| ("application/x-www-form-urlencoded".into(), b)),
        sensitive: Vec::new(),
    }
}

/// A form submission as a request: `fields` to `action` with `method`,
/// from the page at `page`.
fn submit(method: &str, mut action: Url, fields: &[(String, String)], page: &Url) -> WireRequest {
    if method.eq_ignore_ascii_case("GET") {
        {
            let mut q = action.query_pairs_mut();
            q.clear();
            for (k, v) in fields {
                q.append_pair(k, v);
            }
        }
        return page_request(HttpMethod::Get, action, None, Some(page));
    }
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    page_request(
        HttpMethod::Post,
        action,
        Some(s.finish().into_bytes()),
        Some(page),
    )
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
    // What the request says in the open stays readable where a page
    // echoes it (a consent form's hidden scope and redirect URI).
    for (k, v) in &params {
        if crate::secret::public_parameter(k) {
            redactor.add_public(v);
        }
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
    let mut walk = Walk {
        flow,
        req,
        redactor,
        allowed,
        hops: Vec::new(),
        logins: 0,
        identifiers: 0,
        used: vec![false; flow.pages.len()],
        authenticated_at: None,
    };
    let mut jar = Jar(cookie_store::CookieStore::default());
    let mut next = page_request(HttpMethod::Get, url, None, None);
    let mut last_status = 0;
    let max = flow.max_hops.clamp(1, MAX_HOPS);
    for hop in 1..=max {
        let page_url = next.url.clone();
        if let Some(c) = jar.header(&page_url) {
            next.headers
                .retain(|(k, _)| !k.eq_ignore_ascii_case("cookie"));
            next.headers.push(("Cookie".into(), c));
        }
        record::register(&next, redactor);
        let response = http::send(next.to_reqwest(client), timeout).await;
        let r = match response {
            Ok(r) => r,
            Err(error) => {
                let exchange = record::record(&next, None, redactor);
                walk.hops.push(Hop {
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
                    hops: walk.hops,
                });
            }
        };
        last_status = r.status;
        jar.store(&r, &page_url, redactor);
        let location = r
            .header("location")
            .and_then(|l| page_url.join(l.trim()).ok());
        let to_client = location
            .as_ref()
            .filter(|l| at_redirect_uri(l, &flow.redirect_uri));
        // The code (and anything else the redirect carries) is secret
        // before it is written down.
        if let Some(l) = to_client {
            for (k, v) in response_of(l, &flow.redirect_uri) {
                if k == "code" {
                    redactor.add("cd", &v);
                }
            }
        }
        let html = (200..300).contains(&r.status)
            && r.header("content-type")
                .is_some_and(|c| c.to_ascii_lowercase().contains("html"));
        if html {
            register_hidden_fields(&r, redactor);
        }
        let exchange = record::record(&next, Some(&r), redactor);
        let here = without_query(&page_url);
        let mut summary = format!("{} {here} → {}", next.method.as_str(), r.status);
        let authorized =
            |response: Vec<(String, String)>, status: u16, walk: Walk<'_>| Authorized {
                response,
                status,
                sent_state: state.clone(),
                sent_nonce: nonce.clone(),
                code_challenge: pkce.as_ref().map(|(_, c)| c.clone()),
                code_verifier: pkce.as_ref().map(|(v, _)| v.clone()),
                redirect_uri: flow.redirect_uri.to_string(),
                hops: walk.hops,
                authenticated_at: walk.authenticated_at,
            };
        if let Some(l) = to_client {
            summary.push_str(" to the redirect_uri");
            walk.hops.push(Hop { summary, exchange });
            return Ok(authorized(
                response_of(l, &flow.redirect_uri),
                r.status,
                walk,
            ));
        }
        let recipe = |detail: String, found: String, hops: Vec<Hop>| FrontChannelError::Recipe {
            hop,
            url: here.clone(),
            status: r.status,
            detail,
            found,
            hops,
        };
        if let Some(l) = location
            && (300..400).contains(&r.status)
        {
            summary.push_str(&format!(" to {}", without_query(&l)));
            walk.hops.push(Hop { summary, exchange });
            // 307 and 308 keep the method and the body (RFC 9110 §15.4.8,
            // §15.4.9): a form post goes on as one, with what it carried,
            // and only to a declared origin when that is a secret.
            if matches!(r.status, 307 | 308) && next.method == HttpMethod::Post {
                let carries_secret = next
                    .sensitive
                    .iter()
                    .any(|s| matches!(s, Sensitive::Text(..) | Sensitive::Basic(..)));
                let origin = l.origin().ascii_serialization();
                if carries_secret && !walk.allowed.contains(&origin) {
                    return Err(recipe(
                        format!(
                            "a {} redirect would post the credentials again to {origin}, which is not a declared origin (login.origins): nothing was sent",
                            r.status
                        ),
                        "a redirect".into(),
                        walk.hops,
                    ));
                }
                let mut again = next.clone();
                again.url = l;
                again
                    .headers
                    .retain(|(k, _)| !k.eq_ignore_ascii_case("cookie"));
                next = again;
            } else {
                next = page_request(HttpMethod::Get, l, None, None);
            }
            continue;
        }
        if !html {
            walk.hops.push(Hop { summary, exchange });
            let ctype = r.header("content-type").unwrap_or_default();
            let what = if (300..400).contains(&r.status) {
                "a redirect without a Location".to_string()
            } else if (200..300).contains(&r.status) {
                format!("a {ctype} page, not HTML")
            } else {
                format!("an error page ({} bytes)", r.body.len())
            };
            return Err(recipe(what, "no page to read".into(), walk.hops));
        }
        match walk.page(&page_url, &r.body_text(), &mut summary) {
            Ok(Next::Request(request)) => {
                walk.hops.push(Hop { summary, exchange });
                next = request;
            }
            Ok(Next::Response(response)) => {
                walk.hops.push(Hop { summary, exchange });
                return Ok(authorized(response, r.status, walk));
            }
            Err((detail, found)) => {
                walk.hops.push(Hop { summary, exchange });
                return Err(recipe(detail, found, walk.hops));
            }
        }
    }
    let last = walk
        .hops
        .last()
        .map(|h| h.summary.clone())
        .unwrap_or_default();
    Err(FrontChannelError::Recipe {
        hop: max,
        url: without_query(&next.url),
        status: last_status,
        detail: format!("{max} hops without reaching the redirect_uri (the last: {last})"),
        found: "a loop or a long chain".into(),
        hops: walk.hops,
    })
}

/// Hidden fields often carry session keys (`sessionDataKey`, CSRF
/// tokens): observed secrets of the login, fingerprinted where they sit
/// and, when long, in free text; never those named after a public
/// protocol parameter.
fn register_hidden_fields(r: &HttpResponse, redactor: &Redactor) {
    for f in form::forms(&r.body_text()) {
        for i in f.inputs.iter().filter(|i| i.kind == "hidden") {
            if let Some(kind) = crate::secret::secret_kind(&i.name) {
                redactor.add(kind, &i.value);
            } else if !crate::secret::public_parameter(&i.name) {
                redactor.add_observed("hf", &i.value);
            }
        }
    }
}

mod walk;

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
