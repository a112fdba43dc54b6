//! How a session starts, carried out: the login a target declares. Every
//! check that refreshes, rotates, revokes or races starts from one; none of
//! them judges it.
//!
//! - `password`: the resource-owner password grant, built by
//!   [`crate::oauth::request`];
//! - `authorization_code`: the headless front channel of [`code`] (pages
//!   read by [`form`]), then the code exchanged with its verifier;
//! - `jwt_bearer`: a JWT user assertion ([`assertion`], RFC 7523 §2.1);
//! - `command`: a program that prints a token response ([`command`]).

pub mod assertion;
pub mod code;
pub mod command;
pub mod form;

pub use crate::wire::LoginGrant;

/// A target's login, resolved.
#[derive(Debug, Clone)]
pub enum Login {
    Password,
    AuthorizationCode(Box<code::CodeFlow>),
    JwtBearer(assertion::UserAssertion),
    Command(command::CommandLogin),
}

impl Login {
    pub fn grant(&self) -> LoginGrant {
        match self {
            Login::Password => LoginGrant::Password,
            Login::AuthorizationCode(_) => LoginGrant::AuthorizationCode,
            Login::JwtBearer(_) => LoginGrant::JwtBearer,
            Login::Command(_) => LoginGrant::Command,
        }
    }
}

use crate::oauth::http::HttpResponse;
use crate::oauth::request::{Client, RequestError, Sensitive, TokenRequest, WireRequest};
use crate::redact::Redactor;
use crate::wire::{UserCredentials, grant};
use std::time::Duration;
use url::Url;

/// Who signs in, and where the token endpoint is. Its `Debug` leaves the
/// password out.
#[derive(Clone, Copy)]
pub struct Who<'a> {
    pub client: &'a Client,
    pub username: &'a str,
    pub password: &'a str,
    /// The password grant: where the user's credentials go.
    pub user_credentials: UserCredentials,
    pub token_endpoint: &'a Url,
    pub scope: Option<&'a str>,
    /// The issuer an authorization response's `iss` must name (RFC 9207).
    pub issuer: Option<&'a str>,
}

impl std::fmt::Debug for Who<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Who")
            .field("client", &self.client)
            .field("username", &self.username)
            .field("token_endpoint", &self.token_endpoint.as_str())
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// What a login has done before its token request: the request to send
/// (the password grant, the code exchange, the assertion grant), or, for a
/// command, the token response itself.
#[derive(Debug)]
pub enum Prepared {
    Request {
        wire: WireRequest,
        /// The authorization-code front channel, when there was one.
        front: Option<Box<code::Authorized>>,
    },
    Response(HttpResponse),
}

/// Why no token response came.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The front channel stopped (the target's problem, or transport).
    #[error(transparent)]
    FrontChannel(#[from] code::FrontChannelError),
    /// The authorization endpoint refused (RFC 6749 §4.1.2.1).
    #[error("the authorization endpoint refused the login: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused {
        error: String,
        description: Option<String>,
        front: Box<code::Authorized>,
    },
    /// The authorization response's `state` or `iss` was not what it must be.
    #[error("{0}")]
    Response(String),
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("{0}")]
    Command(String),
}

/// The token request that exchanges the code of `front` (RFC 6749 §4.1.3,
/// RFC 7636 §4.5).
pub fn code_exchange<'a>(who: &Who<'a>, front: &code::Authorized, code: &str) -> TokenRequest<'a> {
    let mut r = TokenRequest::new(grant::AUTHORIZATION_CODE, who.client, who.token_endpoint)
        .param("code", code)
        .param("redirect_uri", front.redirect_uri.clone());
    if let Some(v) = &front.code_verifier {
        r = r.param("code_verifier", v.clone());
    }
    r
}

/// What is wrong with an authorization response that a client must
/// reject: a `state` other than the one sent (RFC 6749 §10.12), an `iss`
/// other than the issuer (RFC 9207 §2.4).
pub fn response_problem(front: &code::Authorized, issuer: Option<&str>) -> Option<String> {
    if !front.state_echoed() {
        return Some(format!(
            "the authorization response's state is {}, not the one sent (RFC 6749 §4.1.2)",
            front
                .get("state")
                .map_or("missing".into(), |s| format!("`{s}`"))
        ));
    }
    if let (Some(iss), Some(want)) = (front.get("iss"), issuer)
        && !crate::oauth::same_issuer(iss, want)
    {
        return Some(format!(
            "the authorization response's iss is `{iss}`, not the issuer `{want}` (RFC 9207 §2.4)"
        ));
    }
    None
}

/// Carries a login out as far as its token request, which the caller
/// sends (with its own DPoP proof and nonce handling): the front channel of
/// a code flow, the assertion, or the whole of a command.
pub async fn prepare(
    login: &Login,
    who: &Who<'_>,
    client: &reqwest::Client,
    timeout: Duration,
    redactor: &Redactor,
) -> Result<Prepared, StartError> {
    let scope = who.scope.filter(|s| !s.trim().is_empty());
    match login {
        Login::Command(c) => {
            let json = command::run(c, redactor)
                .await
                .map_err(|e| StartError::Command(e.to_string()))?;
            Ok(Prepared::Response(HttpResponse {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: serde_json::to_vec(&json).unwrap_or_default(),
                truncated: false,
                elapsed: Duration::ZERO,
            }))
        }
        Login::Password => {
            let mut r = TokenRequest::new(grant::PASSWORD, who.client, who.token_endpoint).user(
                who.username,
                who.password,
                who.user_credentials,
            );
            if let Some(s) = scope {
                r = r.param("scope", s);
            }
            Ok(Prepared::Request {
                wire: r.build()?.post(who.token_endpoint.clone()),
                front: None,
            })
        }
        Login::JwtBearer(a) => Ok(Prepared::Request {
            wire: assertion_request(a, who, None)?,
            front: None,
        }),
        Login::AuthorizationCode(flow) => {
            let req = code::Authorize {
                client_id: &who.client.id,
                username: who.username,
                password: who.password,
                scope,
                pkce: flow.pkce,
                extra: Vec::new(),
                issuer: who.issuer,
            };
            let front = code::authorize(client, flow, &req, timeout, redactor).await?;
            let Some(code) = front.code().map(str::to_string) else {
                return Err(StartError::Refused {
                    error: front.get("error").unwrap_or("no code").to_string(),
                    description: front.get("error_description").map(str::to_string),
                    front: Box::new(front),
                });
            };
            if let Some(problem) = response_problem(&front, who.issuer) {
                return Err(StartError::Response(problem));
            }
            let wire = code_exchange(who, &front, &code)
                .build()?
                .post(who.token_endpoint.clone());
            Ok(Prepared::Request {
                wire,
                front: Some(Box::new(front)),
            })
        }
    }
}

/// The JWT-bearer grant with a fresh assertion about `who` (RFC 7523
/// §2.1), `defect` planted.
pub fn assertion_request(
    a: &assertion::UserAssertion,
    who: &Who<'_>,
    defect: Option<assertion::UserAssertionDefect>,
) -> Result<WireRequest, RequestError> {
    let signed = assertion::user_assertion(
        a,
        &who.client.id,
        who.username,
        who.token_endpoint.as_str(),
        defect,
    )
    .map_err(|detail| RequestError::Signing {
        client: who.client.id.clone(),
        detail,
    })?;
    let mut r = TokenRequest::new(grant::JWT_BEARER, who.client, who.token_endpoint)
        .param("assertion", signed.expose());
    if let Some(s) = who.scope.filter(|s| !s.trim().is_empty()) {
        r = r.param("scope", s);
    }
    let mut form = r.build()?;
    form.sensitive
        .push(Sensitive::Text("as", signed.expose().to_string()));
    Ok(form.post(who.token_endpoint.clone()))
}
