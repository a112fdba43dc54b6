//! Before the suite: one login with the primary client and user (the way
//! the target's `login` says), and one refresh. A target that is unusable as configured (its client or user
//! refused, the grant not allowed) is said once, naming the key to check,
//! instead of as a failure in every scenario.

use crate::oauth::login::{self, LoginGrant, Prepared, Who};
use crate::oauth::record::{self, Exchanged};
use crate::oauth::{TokenRequest, http::HttpOptions};
use crate::redact::Redactor;
use crate::target::Target;
use crate::wire::grant;

/// Why the target cannot be used as configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// What the preflight saw, for the run header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preflight {
    pub login: String,
    /// `None` when no refresh token came back; else what the refresh
    /// answered (a refusal is not a reason to stop: the suite says why).
    pub refresh: Option<RefreshSeen>,
    /// What the login and the refresh showed of the server's behaviour.
    pub seen: Seen,
}

/// The preflight's refresh, as the run header shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshSeen {
    /// `refresh 200`.
    Accepted(String),
    /// `refresh 400 invalid_grant`, or the transport error.
    Refused(String),
}

/// Why the preflight's own request got no answer to read.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Transport(#[from] crate::oauth::http::TransportError),
    #[error(transparent)]
    Request(#[from] crate::oauth::request::RequestError),
    #[error("the server kept demanding a new DPoP nonce")]
    NonceLoop,
}

/// The server's behaviour as one login and one refresh show it: what a
/// target declares, probed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// A new refresh token (rotate), the same one (static), none (omit).
    pub rotation: Option<crate::wire::Rotation>,
    /// Whether the refresh answer carried an id_token.
    pub id_token_on_refresh: Option<bool>,
    /// The scope the login was granted (its answer's `scope`, else the
    /// scope asked for).
    pub granted_scope: Option<String>,
}

impl Seen {
    /// The target's declarations this contradicts, each with what was
    /// declared, what was seen and the fix: the target's mistakes (those
    /// that would make a check fail falsely), then notes (those that only
    /// leave checks out: an id_token declared absent that comes).
    pub fn contradictions(&self, target: &Target) -> (Vec<String>, Vec<String>) {
        let mut notes = Vec::new();
        use crate::wire::Rotation;
        let mut out = Vec::new();
        let b = &target.behaviour;
        let name = |r: Rotation| match r {
            Rotation::Rotate => "rotate",
            Rotation::Static => "static",
            Rotation::Omit => "omit",
        };
        if let Some(seen) = self.rotation
            && seen != b.rotation
        {
            let what = match seen {
                Rotation::Rotate => "a new refresh token",
                Rotation::Static => "the same refresh token",
                Rotation::Omit => "no refresh_token member",
            };
            out.push(format!(
                "behaviour.rotation declares `{}`, and the preflight's refresh answered with {what}: declare `rotation: {}`",
                name(b.rotation),
                name(seen)
            ));
        }
        if let Some(seen) = self.id_token_on_refresh
            && seen != b.id_token_on_refresh
        {
            let to = if seen { &mut notes } else { &mut out };
            to.push(format!(
                "behaviour.id_token_on_refresh declares `{}`, and the preflight's refresh answer {} an id_token: declare `id_token_on_refresh: {seen}`",
                b.id_token_on_refresh,
                if seen { "carried" } else { "carried no" }
            ));
        }
        if let Some(granted) = &self.granted_scope {
            let words: Vec<&str> = granted.split_whitespace().collect();
            if let Some(extra) = target.scopes.get("extra")
                && extra.split_whitespace().all(|w| words.contains(&w))
            {
                out.push(format!(
                    "scopes.extra is `{extra}`, a scope that must not be granted, and the login was granted `{granted}`: name a scope the login does not get"
                ));
            }
            if let Some(narrow) = target.scopes.get("narrow") {
                let n: Vec<&str> = narrow.split_whitespace().collect();
                if !n.iter().all(|w| words.contains(w)) || n.len() >= words.len() {
                    out.push(format!(
                        "scopes.narrow is `{narrow}`, which must be a proper part of the granted scope, and the login was granted `{granted}`: name a part of it"
                    ));
                }
            }
        }
        (out, notes)
    }
}

/// The `error` member of an answer, or its status.
fn answer(r: &crate::oauth::http::HttpResponse) -> (String, Option<String>) {
    let code = r
        .json()
        .and_then(|j| j.get("error").and_then(|e| e.as_str().map(str::to_string)));
    let text = match &code {
        Some(c) => format!("{} {c}", r.status),
        None => format!("{} without an OAuth error", r.status),
    };
    (text, code)
}

/// The preflight: [`observe`], and the declarations it contradicts made
/// the target's mistake.
pub async fn run(
    target: &Target,
    client: &reqwest::Client,
    http: &HttpOptions,
    redactor: &Redactor,
) -> Result<Option<Preflight>, Refused> {
    let p = observe(target, client, http, redactor).await?;
    if let Some(p) = &p {
        let (mistakes, notes) = p.seen.contradictions(target);
        for n in notes {
            eprintln!("note: preflight: {n}");
        }
        if !mistakes.is_empty() {
            return Err(Refused(format!(
                "preflight: the target {} says what the server contradicts (a mistake of the target's, not a finding of the server's): {}",
                target.source,
                mistakes.join("; ")
            )));
        }
    }
    Ok(p)
}

/// One login and one refresh: what they show of the server, or why the
/// target cannot be used as configured.
pub async fn observe(
    target: &Target,
    client: &reqwest::Client,
    http: &HttpOptions,
    redactor: &Redactor,
) -> Result<Option<Preflight>, Refused> {
    let (Some(endpoint), Some(c), Some(user)) = (
        target.token_endpoint.as_ref(),
        target.client("primary"),
        target.user("primary"),
    ) else {
        return Ok(None);
    };
    let source = &target.source;
    let grant = target.login.grant();
    let who = Who {
        client: c,
        username: &user.username,
        password: user.password.expose(),
        user_credentials: target.password_grant.user_credentials,
        token_endpoint: endpoint,
        scope: target.login_scope.as_deref(),
        issuer: target.issuer.as_deref(),
    };
    let prepared =
        match login::prepare(&target.login, &who, client, http.request_timeout, redactor).await {
            Ok(p) => p,
            // A wrong state or iss is the server's defect, not the target's:
            // the scenarios judge it (AC-STATE), and the logins it stops
            // block theirs, naming it.
            Err(login::StartError::Response(problem)) => {
                return Ok(Some(Preflight {
                    login: format!(
                        "login stopped: {} (code-flow/state judges it)",
                        redactor.redact(&problem)
                    ),
                    refresh: None,
                    seen: Seen::default(),
                }));
            }
            Err(e) => {
                return Err(Refused(format!(
                    "preflight login ({grant}): {}",
                    redactor.redact(&e.to_string())
                )));
            }
        };
    // A DPoP client proves possession of one key for the login and the
    // refresh (the refresh token may be bound to it).
    let key = match c.dpop {
        Some(alg) => Some(
            crate::dpop::DpopKey::generate(alg).map_err(|e| Refused(format!("preflight: {e}")))?,
        ),
        None => None,
    };
    let mut nonce = None;
    let r = match prepared {
        Prepared::Response(r) => r,
        Prepared::Request { wire, .. } => {
            send_with_dpop(client, wire, key.as_ref(), &mut nonce, http, redactor)
                .await
                .map_err(|e| Refused(format!("preflight login: {e}")))?
        }
    };
    let (said, code) = answer(&r);
    let token_error = r.json().is_some_and(|j| j.get("error").is_some());
    if !(200..300).contains(&r.status) || token_error {
        let what = match (code.as_deref(), grant) {
            (Some("invalid_client"), _) => format!(
                "the server refused the credentials of clients.primary ({said}): check clients.primary (id, secret, auth: {}) in {source}",
                c.auth.as_str()
            ),
            (Some("invalid_grant"), LoginGrant::Password) => format!(
                "the server refused the user users.primary ({said}): check users.primary (username, password) in {source}"
            ),
            (Some("invalid_grant"), LoginGrant::JwtBearer) => format!(
                "the server refused the user assertion ({said}): check login (key_file, alg, kid, iss, sub, aud) and users.primary in {source}"
            ),
            (Some("invalid_grant"), LoginGrant::AuthorizationCode) => format!(
                "the server refused the code exchange ({said}): check login.redirect_uri and clients.primary in {source}"
            ),
            (
                Some("unauthorized_client") | Some("unsupported_grant_type"),
                LoginGrant::Password,
            ) => format!(
                "the server does not let clients.primary use the password grant ({said}): allow it, or sign in another way (login.grant) in {source}"
            ),
            (Some("unauthorized_client") | Some("unsupported_grant_type"), g) => format!(
                "the server does not let clients.primary use the {g} login ({said}): allow it, or sign in another way (login.grant) in {source}"
            ),
            (Some("invalid_scope"), _) => {
                format!(
                    "the server refused the login's scope ({said}): check login.scope or password_grant.scope in {source}"
                )
            }
            _ => format!(
                "the login ({grant}) with clients.primary and users.primary was refused ({said}): check the target {source}"
            ),
        };
        return Err(Refused(format!("preflight: {what}")));
    }
    // A declared issuer that the server's own id_token contradicts is the
    // target's mistake (exit 3), not a signature failure of every check.
    if let (Some(issuer), false) = (&target.issuer, target.issuer_from_discovery)
        && let Some(iss) = r
            .json()
            .and_then(|j| j.get("id_token")?.as_str().map(str::to_string))
            .and_then(|t| crate::oauth::auth::decode_claims(&t))
            .and_then(|c| c.get("iss")?.as_str().map(str::to_string))
        && !crate::oauth::same_issuer(&iss, issuer)
    {
        return Err(Refused(format!(
            "preflight: the login's id_token has iss `{iss}`, and issuer in {source} is `{issuer}`: fix issuer in the target (or give discovery, which names it)"
        )));
    }
    let login_said = format!("login {said}");
    let login_json = r.json();
    let refresh_token = login_json.as_ref().and_then(|j| {
        j.get("refresh_token")
            .and_then(|t| t.as_str().map(str::to_string))
    });
    let mut seen = Seen {
        granted_scope: login_json
            .as_ref()
            .and_then(|j| j.get("scope")?.as_str().map(str::to_string))
            .or_else(|| target.login_scope.clone()),
        ..Seen::default()
    };
    let Some(rt) = refresh_token else {
        return Ok(Some(Preflight {
            login: login_said,
            refresh: None,
            seen,
        }));
    };
    let sent = rt.clone();
    let wire = match TokenRequest::new(grant::REFRESH_TOKEN, c, endpoint)
        .param("refresh_token", rt)
        .build()
    {
        Ok(f) => f.post(endpoint.clone()),
        Err(e) => return Err(Refused(format!("preflight: {e}"))),
    };
    let response = send_with_dpop(client, wire, key.as_ref(), &mut nonce, http, redactor).await;
    let refresh = match response {
        Ok(r) if (200..300).contains(&r.status) => {
            if let Some(j) = r.json().filter(|j| j.get("access_token").is_some()) {
                seen.rotation = Some(match j.get("refresh_token").and_then(|t| t.as_str()) {
                    Some(t) if t == sent => crate::wire::Rotation::Static,
                    Some(_) => crate::wire::Rotation::Rotate,
                    None => crate::wire::Rotation::Omit,
                });
                // An id_token needs openid; without it the declaration
                // says nothing the refresh could show.
                let openid = seen
                    .granted_scope
                    .as_deref()
                    .is_some_and(|s| s.split_whitespace().any(|w| w == "openid"));
                if openid {
                    seen.id_token_on_refresh =
                        Some(j.get("id_token").is_some_and(|t| t.is_string()));
                }
            }
            RefreshSeen::Accepted(format!("refresh {}", answer(&r).0))
        }
        Ok(r) => RefreshSeen::Refused(format!("refresh {}", answer(&r).0)),
        Err(e) => RefreshSeen::Refused(format!("refresh: {e}")),
    };
    Ok(Some(Preflight {
        login: login_said,
        refresh: Some(refresh),
        seen,
    }))
}

/// Sends `wire` (with a DPoP proof by `key`, if given, and once more with
/// the server's nonce when it demands one).
async fn send_with_dpop(
    client: &reqwest::Client,
    wire: crate::oauth::WireRequest,
    key: Option<&crate::dpop::DpopKey>,
    nonce: &mut Option<String>,
    http: &crate::oauth::http::HttpOptions,
    redactor: &crate::redact::Redactor,
) -> Result<crate::oauth::http::HttpResponse, SendError> {
    let Some(key) = key else {
        let Exchanged { response, .. } =
            record::exchange(client, &wire, http.request_timeout, redactor).await;
        return Ok(response?);
    };
    for _ in 0..2 {
        let signed = wire.clone().with_dpop(key, nonce.as_deref())?;
        let Exchanged { response, .. } =
            record::exchange(client, &signed, http.request_timeout, redactor).await;
        let r = response?;
        match crate::oauth::request::dpop_nonce_demanded(&r) {
            Some(n) if nonce.as_deref() != Some(n.as_str()) => *nonce = Some(n),
            _ => return Ok(r),
        }
    }
    Err(SendError::NonceLoop)
}
