//! The target file format: where the server is, which credentials to use, and
//! what the server declares about itself. Values may hold `${env:NAME}` or
//! `${file:PATH}`; `resolve.rs` expands them into a [`super::Target`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use crate::wire::{AuthMethod, RefreshExpiry, ReuseDetection, Rotation, UserCredentials};

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetFile {
    /// A human name for reports.
    pub name: String,
    /// Relative endpoint paths resolve against this URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The token endpoint (absolute, or a path under `base_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// An OpenID / RFC 8414 discovery document to read endpoints from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// The `iss` the server's id_tokens carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Named clients; `primary` is required, `secondary` enables client-binding checks.
    pub clients: BTreeMap<String, ClientFile>,
    /// Named users; `primary` is required for the password grant.
    #[serde(default)]
    pub users: BTreeMap<String, UserFile>,
    /// How a session starts (default: the password grant). Every refresh,
    /// rotation, reuse, expiry, scope, binding, race, revocation and DPoP
    /// check starts from it, and none judges it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<LoginFile>,
    #[serde(default)]
    pub password_grant: PasswordGrant,
    /// Named scopes the scope scenarios use: `narrow` (a subset of the
    /// password grant's scope) and `extra` (a scope that exists but was not granted).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scopes: BTreeMap<String, String>,
    #[serde(default)]
    pub behaviour: Behaviour,
    /// What the introspection endpoint covers (RFC 7662 leaves it to the
    /// server).
    #[serde(default)]
    pub introspection: Introspection,
    /// The client_credentials grant, for the checks that use it.
    #[serde(default)]
    pub client_credentials: ClientCredentialsGrant,
    #[serde(default)]
    pub tls: Tls,
    #[serde(default)]
    pub timing: Timing,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_control: Option<ClockControl>,
}

#[derive(Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientFile {
    pub id: String,
    /// The client secret (use `${env:NAME}` or `${file:PATH}`, never a literal in a shared file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default = "default_auth")]
    pub auth: AuthMethod,
    /// PEM private key for `private_key_jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// Signing algorithm for JWT client authentication (HS256 for
    /// client_secret_jwt; RS256 or ES256 for private_key_jwt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// `kid` header of client assertions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Sender-constrained tokens (RFC 9449): the client proves possession
    /// of a key it makes for each scenario, with this algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop: Option<DpopFile>,
}

/// A client's DPoP settings.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DpopFile {
    /// ES256 (P-256), EdDSA (Ed25519) or RS256 (RSA 2048).
    pub alg: crate::dpop::DpopAlg,
    /// The server binds this client's refresh tokens to the key: required
    /// for public clients (RFC 9449 §5, the default for `auth: none`);
    /// a confidential client's are bound to its credentials instead, so
    /// declare it when the server binds them too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binds_refresh_tokens: Option<bool>,
    /// The server demands a DPoP nonce (RFC 9449 §8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<bool>,
}

fn default_auth() -> AuthMethod {
    AuthMethod::ClientSecretBasic
}

#[derive(Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserFile {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for UserFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserFile")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ClientFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientFile")
            .field("id", &self.id)
            .field("auth", &self.auth)
            .field("key_file", &self.key_file)
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordGrant {
    #[serde(default)]
    pub user_credentials: UserCredentials,
    /// The scope the password grant asks for (and that refreshes keep).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Whether the server offers the password grant (the PW-* checks, and
    /// checks that send their request as one, run only when it does).
    /// Default: true when the login is the password grant, false otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

impl Default for PasswordGrant {
    fn default() -> Self {
        PasswordGrant {
            user_credentials: UserCredentials::Form,
            scope: None,
            enabled: None,
        }
    }
}

pub use crate::oauth::login::LoginGrant;
pub use crate::oauth::login::code::Pkce;

/// How a session starts: `login:` in a target file.
///
/// ```yaml
/// login:
///   grant: authorization_code        # password | authorization_code | jwt_bearer | command
///   redirect_uri: http://127.0.0.1:9/callback
///   scope: openid offline_access
///   params: { prompt: consent }
/// ```
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginFile {
    /// `password` (the password grant, `password_grant` below), or
    /// `authorization_code` (a headless login through the server's own
    /// pages), `jwt_bearer` (a JWT user assertion, RFC 7523 §2.1), or
    /// `command` (a program that prints a token response).
    pub grant: LoginGrant,
    /// The scope a login asks for (default: `password_grant.scope`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,

    /// authorization_code: where the authorization request goes (default:
    /// the discovery document's `authorization_endpoint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// authorization_code: the redirect URI registered for the client. It
    /// is never listened on: the login stops at the redirect to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// authorization_code: extra authorization-request parameters
    /// (`prompt: consent`, `acr_values: …`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
    /// authorization_code: `S256` (default), `plain` or `none` (RFC 7636).
    #[serde(default)]
    pub pkce: Pkce,
    /// authorization_code: the login form's fields when the recipe cannot
    /// tell them (the first text or email field, the password field, the
    /// first submit button).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<LoginForm>,
    /// authorization_code: origins besides the authorization endpoint's
    /// whose forms may receive the credentials (`https://login.example`);
    /// a login form posting anywhere else stops the login, unsent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origins: Vec<String>,
    /// authorization_code: most pages a login may take (default and most: 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_hops: Option<usize>,
    /// authorization_code: steps for pages the recipe cannot read (a
    /// one-time code, a form it misreads), tried in order before the
    /// recipe; each is used once.
    ///
    /// ```yaml
    /// pages:
    ///   - match: { path: /mfa }              # or url: REGEX, or form: ID-OR-ACTION
    ///     fill: { otp: "${env:MFA_CODE}" }   # ${env:…}/${file:…} values are secrets
    ///     submit: verify                     # a button's name, value or text
    /// ```
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pages: Vec<LoginPageFile>,

    /// jwt_bearer: the PEM private key that signs the user assertion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// jwt_bearer: RS256 (default), PS256, ES256, EdDSA…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// jwt_bearer: the `kid` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// jwt_bearer: `iss` (default: the primary client's id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// jwt_bearer: `sub` (default: the user's username).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// jwt_bearer: `aud` (default: the token endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// jwt_bearer: seconds the assertion is valid (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_s: Option<u64>,
    /// jwt_bearer: the server refuses a replayed assertion (`jti` tracked,
    /// which RFC 7523 §3 allows, not requires): the replay check runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracks_jti: Option<bool>,

    /// command: the program and its arguments (no shell), which prints an
    /// RFC 6749 §5.1 token response on stdout.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// command: seconds it may take (default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<u64>,
}

/// A step of `login.pages`.
#[derive(Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginPageFile {
    /// Which page the step is for.
    #[serde(rename = "match")]
    pub matches: PageMatchFile,
    /// Field name → value: `${env:NAME}` and `${file:PATH}` (secrets,
    /// fingerprinted everywhere), `${username}` and `${password}` (the
    /// primary user's), or literal text (shown as it is).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fill: BTreeMap<String, String>,
    /// The button that submits the form: its name, value or text
    /// (default: the first that does not decline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submit: Option<String>,
}

impl std::fmt::Debug for LoginPageFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginPageFile")
            .field("matches", &self.matches)
            .field("fill", &self.fill.keys().collect::<Vec<_>>())
            .field("submit", &self.submit)
            .finish()
    }
}

/// Which page a `login.pages` step is for: exactly one of the keys.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageMatchFile {
    /// The page URL's path, exactly (`/mfa`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A regular expression over the page's whole URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A form's `id`, or its `action` (as written, or as a path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
}

/// The login form's fields, named (`login.form`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginForm {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_field: Option<String>,
    /// The name, value or text of the button that submits it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submit: Option<String>,
}

fn yes() -> bool {
    true
}

/// The names of [`Behaviour`]'s fields (scenarios' `requires.declared`).
pub const BEHAVIOUR_FIELDS: [&str; 12] = [
    "rotation",
    "grace_period_s",
    "grace_reuse_limit",
    "grace_returns",
    "reuse_detection",
    "access_token_ttl_s",
    "refresh_token_ttl_s",
    "refresh_expiry",
    "refresh_token_max_lifetime_s",
    "id_token_on_refresh",
    "refresh_token_issued",
    "refresh_token_requires_scope",
];

/// What the server declares about itself. PROFILE checks compare with it.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    #[serde(default = "default_rotation")]
    pub rotation: Rotation,
    #[serde(default)]
    pub grace_period_s: u64,
    /// Graceful rotation: how many replays of the previous refresh token
    /// inside the grace period are accepted (none given: any number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_reuse_limit: Option<u32>,
    /// Graceful rotation: what such a replay gets: `same` (the successor
    /// already issued) or `new` (a fresh pair).
    #[serde(default)]
    pub grace_returns: crate::wire::GraceReturns,
    #[serde(default = "default_reuse")]
    pub reuse_detection: ReuseDetection,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_ttl_s: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_ttl_s: Option<u64>,
    #[serde(default = "default_expiry")]
    pub refresh_expiry: RefreshExpiry,
    /// An absolute cap on a refresh-token family's life.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_max_lifetime_s: Option<u64>,
    #[serde(default)]
    pub id_token_on_refresh: bool,
    /// The password grant returns a refresh token.
    #[serde(default = "yes")]
    pub refresh_token_issued: bool,
    /// A refresh token comes only when the granted scope holds this scope
    /// (IDCS: `offline_access`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_requires_scope: Option<String>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn behaviour_fields_are_listed() {
        let full = super::Behaviour {
            access_token_ttl_s: Some(1),
            grace_reuse_limit: Some(1),
            refresh_token_ttl_s: Some(1),
            refresh_token_max_lifetime_s: Some(1),
            refresh_token_requires_scope: Some("x".into()),
            ..Default::default()
        };
        let v = serde_json::to_value(full).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut listed = super::BEHAVIOUR_FIELDS.to_vec();
        keys.sort();
        listed.sort();
        assert_eq!(keys, listed);
    }
}

fn default_rotation() -> Rotation {
    Rotation::Rotate
}
fn default_reuse() -> ReuseDetection {
    ReuseDetection::None
}
fn default_expiry() -> RefreshExpiry {
    RefreshExpiry::Sliding
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            rotation: default_rotation(),
            grace_period_s: 0,
            grace_reuse_limit: None,
            grace_returns: crate::wire::GraceReturns::Same,
            reuse_detection: default_reuse(),
            access_token_ttl_s: None,
            refresh_token_ttl_s: None,
            refresh_expiry: default_expiry(),
            refresh_token_max_lifetime_s: None,
            id_token_on_refresh: false,
            refresh_token_issued: true,
            refresh_token_requires_scope: None,
        }
    }
}

/// Optional capabilities of the introspection endpoint.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Introspection {
    /// The endpoint answers for refresh tokens too (RFC 7662 §2.1 lets a
    /// server limit it to access tokens). Checks that introspect refresh
    /// tokens run only when this is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_tokens: Option<bool>,
}

/// The client_credentials grant as the target's server wants it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientCredentialsGrant {
    /// A scope the server requires for client_credentials (some refuse the
    /// grant without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// Accept any certificate (like `-k`).
    #[serde(default)]
    pub insecure: bool,
    /// A PEM file of CA certificates to trust (instead of the system's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Timing {
    /// Whole-request timeout, connect included.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_s: f64,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_s: f64,
    /// The longest real wait a `wait` step may take without clock control;
    /// longer waits skip the scenario.
    #[serde(default = "default_max_wait")]
    pub max_wait_s: f64,
    /// How far below a declared lifetime a reported `expires_in` may be:
    /// servers report the time left, rounded down, a moment after issuing.
    #[serde(default = "default_expires_in_tolerance")]
    pub expires_in_tolerance_s: u64,
}

fn default_request_timeout() -> f64 {
    10.0
}
fn default_connect_timeout() -> f64 {
    5.0
}
fn default_max_wait() -> f64 {
    30.0
}
fn default_expires_in_tolerance() -> u64 {
    3
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            request_timeout_s: default_request_timeout(),
            connect_timeout_s: default_connect_timeout(),
            max_wait_s: default_max_wait(),
            expires_in_tolerance_s: default_expires_in_tolerance(),
        }
    }
}

/// A server-side clock that tokenprobe may advance (the mock's
/// `--clock virtual`): `POST {"seconds": N}` to `url`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockControl {
    pub url: String,
}
