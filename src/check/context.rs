//! What a scenario knows while it runs: the target, and the responses of its
//! named steps. Renders templates against them.

use crate::oauth::auth::decode_claims;
use crate::oauth::http::HttpResponse;
use crate::scenario::template::{Part, Reference, Template};
use crate::target::Target;

/// A response kept for later steps. Its `Debug` shows names only: the
/// body holds tokens.
#[derive(Clone)]
pub struct Captured {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub json: Option<serde_json::Value>,
    /// Members the runner knows besides the body's: `granted_scope`, and
    /// what a login through the authorization endpoint captured (`code`,
    /// `state`, `code_verifier`…).
    pub extra: Vec<(String, serde_json::Value)>,
}

impl std::fmt::Debug for Captured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let members: Vec<&str> = match &self.json {
            Some(serde_json::Value::Object(m)) => m.keys().map(String::as_str).collect(),
            _ => Vec::new(),
        };
        f.debug_struct("Captured")
            .field("status", &self.status)
            .field("members", &members)
            .field(
                "extra",
                &self
                    .extra
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Captured {
    pub fn from_response(r: &HttpResponse) -> Captured {
        Captured {
            status: r.status,
            headers: r.headers.clone(),
            json: r.json(),
            extra: Vec::new(),
        }
    }

    /// A token response to a request that asked for `requested` scope:
    /// `granted_scope` is the answer's `scope`, or, when the answer leaves
    /// it out, the scope requested (RFC 6749 §5.1: `scope` may be omitted
    /// when it is the one requested). Absent when neither names one: the
    /// server granted its default, which nothing says.
    pub fn from_token_response(r: &HttpResponse, requested: Option<&str>) -> Captured {
        let mut c = Captured::from_response(r);
        if (200..300).contains(&r.status) {
            let granted = c
                .member("scope")
                .and_then(|s| s.as_str())
                .map(str::to_string)
                .or_else(|| {
                    requested
                        .filter(|s| !s.trim().is_empty())
                        .map(str::to_string)
                });
            if let Some(g) = granted {
                c.extra
                    .push(("granted_scope".into(), serde_json::Value::String(g)));
            }
        }
        c
    }

    pub fn member(&self, name: &str) -> Option<&serde_json::Value> {
        self.json
            .as_ref()
            .and_then(|j| j.get(name))
            .or_else(|| self.extra.iter().find(|(k, _)| k == name).map(|(_, v)| v))
    }

    pub fn claims(&self) -> Option<serde_json::Value> {
        decode_claims(self.member("id_token")?.as_str()?)
    }
}

/// A rendered template: its text, and whether any part of it is secret
/// (then its `Debug` shows a fingerprint).
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    pub secret: bool,
}

impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.secret {
            write!(
                f,
                "Rendered({}, secret)",
                crate::secret::fingerprint("s", &self.text)
            )
        } else {
            write!(f, "Rendered({:?})", self.text)
        }
    }
}

pub struct Context<'a> {
    pub target: &'a Target,
    pub captures: Vec<(String, Captured)>,
    /// DPoP: the scenario's keys (one per client), the last proof sent
    /// (for `dpop: replay`) and the server's nonce. Behind a lock because
    /// requests are built from a shared context.
    pub dpop: std::sync::Mutex<DpopState>,
}

/// A scenario's DPoP state.
#[derive(Default)]
pub struct DpopState {
    pub keys: Vec<(String, crate::dpop::DpopKey)>,
    /// The key of `dpop: other_key` proofs (one per scenario).
    pub other: Option<crate::dpop::DpopKey>,
    pub last_proof: Option<String>,
    /// The proof a `dpop: replay` or `no_nonce` step sent (never re-signed
    /// for a nonce).
    pub replayed: Option<String>,
    pub nonce: Option<String>,
}

impl<'a> Context<'a> {
    pub fn new(target: &'a Target) -> Context<'a> {
        Context {
            target,
            captures: Vec::new(),
            dpop: std::sync::Mutex::new(DpopState::default()),
        }
    }

    pub fn capture(&mut self, name: &str, c: Captured) {
        self.captures.retain(|(n, _)| n != name);
        self.captures.push((name.to_string(), c));
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Captured> {
        self.captures
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c)
    }

    pub fn get(&self, name: &str) -> Option<&Captured> {
        self.captures
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c)
    }

    pub fn render(&self, t: &Template) -> Result<Rendered, Unresolved> {
        let mut text = String::new();
        let mut secret = false;
        for part in &t.parts {
            match part {
                Part::Lit(s) => text.push_str(s),
                Part::Ref(r) => {
                    let (mut v, s) = self.resolve(r)?;
                    for f in &r.filters {
                        v = f.apply(&v);
                    }
                    secret |= s;
                    text.push_str(&v);
                }
            }
        }
        Ok(Rendered { text, secret })
    }

    /// The value of a reference, and whether it is secret.
    fn resolve(&self, r: &Reference) -> Result<(String, bool), Unresolved> {
        let p: Vec<&str> = r.path.iter().map(String::as_str).collect();
        let t = self.target;
        let missing = || Unresolved::NoValue(r.text.clone());
        match p.as_slice() {
            ["random"] => Ok((crate::oauth::random_token(24), false)),
            ["scopes", name] => t
                .scopes
                .get(*name)
                .map(|s| (s.clone(), false))
                .ok_or_else(|| Unresolved::NoScope(name.to_string())),
            // The scope a login asks for (`login.scope`, else this).
            ["password_grant", "scope"] => Ok((t.login_scope.clone().unwrap_or_default(), false)),
            ["clients", name, field] => {
                let c = t
                    .client(name)
                    .ok_or_else(|| Unresolved::NoClient(name.to_string()))?;
                match *field {
                    "id" => Ok((c.id.clone(), false)),
                    "auth" => Ok((c.auth.as_str().to_string(), false)),
                    "secret" => c
                        .secret
                        .as_ref()
                        .map(|s| (s.expose().to_string(), true))
                        .ok_or_else(missing),
                    _ => Err(Unresolved::ClientField(name.to_string(), field.to_string())),
                }
            }
            ["users", name, field] => {
                let u = t
                    .user(name)
                    .ok_or_else(|| Unresolved::NoUser(name.to_string()))?;
                match *field {
                    "username" => Ok((u.username.clone(), false)),
                    "password" => Ok((u.password.expose().to_string(), true)),
                    _ => Err(Unresolved::UserField(name.to_string(), field.to_string())),
                }
            }
            ["behaviour", field] => {
                let b = serde_json::to_value(&t.behaviour)
                    .map_err(|e| Unresolved::Behaviour(e.to_string()))?;
                match b.get(*field) {
                    Some(serde_json::Value::String(s)) => Ok((s.clone(), false)),
                    Some(serde_json::Value::Null) | None => {
                        Err(Unresolved::NoBehaviour(field.to_string()))
                    }
                    Some(v) => Ok((v.to_string(), false)),
                }
            }
            ["target", "token_endpoint"] => t
                .token_endpoint
                .as_ref()
                .map(|u| (u.to_string(), false))
                .ok_or_else(missing),
            ["target", "issuer"] => t.issuer.clone().map(|i| (i, false)).ok_or_else(missing),
            // The grant_type of the token request that starts a session.
            ["target", "login_grant"] => Ok((
                match t.login.grant() {
                    crate::wire::LoginGrant::Password => crate::wire::grant::PASSWORD,
                    crate::wire::LoginGrant::AuthorizationCode => {
                        crate::wire::grant::AUTHORIZATION_CODE
                    }
                    crate::wire::LoginGrant::JwtBearer => crate::wire::grant::JWT_BEARER,
                    crate::wire::LoginGrant::Command => crate::wire::grant::REFRESH_TOKEN,
                }
                .to_string(),
                false,
            )),
            [step, rest @ ..] => {
                let c = self
                    .get(step)
                    .ok_or_else(|| Unresolved::NotRun(step.to_string()))?;
                match rest {
                    ["status"] => Ok((c.status.to_string(), false)),
                    ["header", name] => c
                        .headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| (v.clone(), false))
                        .ok_or_else(|| Unresolved::NoHeader(step.to_string(), name.to_string())),
                    ["claims", claim] => {
                        let claims = c
                            .claims()
                            .ok_or_else(|| Unresolved::NoIdToken(step.to_string()))?;
                        claims
                            .get(*claim)
                            .map(|v| (scalar_text(v), false))
                            .ok_or_else(|| Unresolved::NoClaim(step.to_string(), claim.to_string()))
                    }
                    [member] => {
                        let v = c.member(member).ok_or_else(|| Unresolved::NoMember {
                            step: step.to_string(),
                            status: c.status,
                            member: member.to_string(),
                        })?;
                        Ok((scalar_text(v), crate::secret::secret_kind(member).is_some()))
                    }
                    _ => Err(Unresolved::Unknown(r.text.clone())),
                }
            }
            [] => Err(missing()),
        }
    }
}

/// Why a `{{ reference }}` has no value: a premise of the step that uses it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Unresolved {
    #[error("`{{{{ {0} }}}}` has no value")]
    NoValue(String),
    #[error("the target declares no scope `{0}` under `scopes`")]
    NoScope(String),
    #[error("the target has no client `{0}`")]
    NoClient(String),
    #[error("clients.{0} has `id`, `auth` and `secret`, not `{1}`")]
    ClientField(String, String),
    #[error("the target has no user `{0}`")]
    NoUser(String),
    #[error("users.{0} has `username` and `password`, not `{1}`")]
    UserField(String, String),
    #[error("the target's behaviour cannot be read: {0}")]
    Behaviour(String),
    #[error("the target declares no `behaviour.{0}`")]
    NoBehaviour(String),
    #[error("step `{0}` has not run")]
    NotRun(String),
    #[error("step `{0}`'s response has no `{1}` header")]
    NoHeader(String, String),
    #[error("step `{0}`'s response has no decodable id_token")]
    NoIdToken(String),
    #[error("step `{0}`'s id_token has no `{1}` claim")]
    NoClaim(String, String),
    #[error("step `{step}`'s response (HTTP {status}) has no `{member}`")]
    NoMember {
        step: String,
        status: u16,
        member: String,
    },
    #[error("cannot resolve `{0}`")]
    Unknown(String),
}

/// A JSON value as text: strings without quotes, the rest as JSON.
pub fn scalar_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
