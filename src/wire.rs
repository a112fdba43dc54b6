//! The wire format of the endpoints tokenprobe talks to: RFC 6749 token
//! responses and errors, RFC 7009 revocation, RFC 7662 introspection, RFC 8414
//! / OpenID discovery, and the mock's clock-control endpoint.
//!
//! This is the only module that the client side (`oauth`, `check`, `load`) and
//! the mock server share. It holds plain data and constants, no behaviour.
//!
//! May use: nothing else of the crate.

use serde::{Deserialize, Serialize};

/// Grant type values (RFC 6749 §4.3.2, §4.4.2, §6).
pub mod grant {
    pub const PASSWORD: &str = "password";
    pub const REFRESH_TOKEN: &str = "refresh_token";
    pub const CLIENT_CREDENTIALS: &str = "client_credentials";
    pub const AUTHORIZATION_CODE: &str = "authorization_code";
    /// RFC 7523 §2.1: a JWT as an authorization grant (user assertions).
    pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
    /// RFC 8628.
    pub const DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";
    /// RFC 8693.
    pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
    /// RFC 7522.
    pub const SAML2_BEARER: &str = "urn:ietf:params:oauth:grant-type:saml2-bearer";
    /// The grant types registered with IANA that are not URIs; any other
    /// grant is an extension, which RFC 6749 §4.5 makes an absolute URI.
    pub const NAMED: [&str; 4] = [
        PASSWORD,
        REFRESH_TOKEN,
        CLIENT_CREDENTIALS,
        AUTHORIZATION_CODE,
    ];
    /// The registered URIs (for did-you-mean).
    pub const URIS: [&str; 4] = [JWT_BEARER, DEVICE_CODE, TOKEN_EXCHANGE, SAML2_BEARER];
}

/// What a refresh does with the refresh token: the server's declaration in a
/// target file, and the mock's behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rotation {
    /// A new refresh token with every refresh; the previous one stops working.
    Rotate,
    /// The same refresh token comes back and keeps working until it expires.
    Static,
    /// No refresh token in refresh responses; the original keeps working.
    Omit,
}

/// What presenting an already rotated refresh token does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReuseDetection {
    /// The whole family (current refresh token, its access tokens) is revoked.
    Family,
    /// The replay is refused, nothing else happens.
    None,
}

/// How a successor refresh token's expiry is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefreshExpiry {
    /// The successor gets a fresh refresh-token lifetime.
    Sliding,
    /// The successor keeps its predecessor's expiry.
    Absolute,
}

/// Client authentication methods (RFC 6749 §2.3, OIDC Core §9).
/// What a replay of the previous refresh token inside the grace period gets
/// (graceful rotation).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum GraceReturns {
    /// The successor already issued, again.
    #[default]
    Same,
    /// A fresh pair (the family rotates again).
    New,
}

/// A client authentication method (RFC 8414 names), of the client and the
/// mock alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// RFC 7523 assertion signed HS256 with the client secret.
    ClientSecretJwt,
    /// RFC 7523 assertion signed with the client's registered key.
    PrivateKeyJwt,
    /// A public client: `client_id` alone (RFC 6749 §2.1).
    None,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::ClientSecretJwt => "client_secret_jwt",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::None => "none",
        }
    }
}

/// How the password grant carries the user's credentials.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum UserCredentials {
    /// `username` and `password` form parameters (RFC 6749 §4.3.2).
    #[default]
    Form,
    /// `Authorization: Basic base64(username:password)`, the client's
    /// credentials in the body (EmpowerID).
    BasicHeader,
}

/// `client_assertion_type` for JWT client authentication (RFC 7523 §2.2).
pub const CLIENT_ASSERTION_TYPE_JWT: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The error codes a token endpoint may answer with (RFC 6749 §5.2), plus
/// `unsupported_token_type` from RFC 7009 §2.2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    UnsupportedTokenType,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 7] = [
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidClient,
        ErrorCode::InvalidGrant,
        ErrorCode::UnauthorizedClient,
        ErrorCode::UnsupportedGrantType,
        ErrorCode::InvalidScope,
        ErrorCode::UnsupportedTokenType,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
        }
    }

    pub fn parse(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A successful token response (RFC 6749 §5.1). Unknown members (EmpowerID's
/// `id`, …) are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// An error response (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_uri: Option<String>,
}

/// An introspection response (RFC 7662 §2.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct IntrospectionResponse {
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
}

/// The members of an RFC 8414 / OpenID Connect discovery document that
/// tokenprobe reads. Everything else is ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Discovery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    pub token_endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Absent: RFC 8414 §2's default, `["authorization_code", "implicit"]`
    /// ([`Discovery::grant_types`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types_supported: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
}

impl Discovery {
    /// The grant types the server supports: as listed, or when the
    /// document leaves them out, RFC 8414 §2's default.
    pub fn grant_types(&self) -> Vec<&str> {
        match &self.grant_types_supported {
            Some(g) => g.iter().map(String::as_str).collect(),
            None => vec![grant::AUTHORIZATION_CODE, "implicit"],
        }
    }
}

/// Body of `POST <clock_control>`: advance a virtual clock.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClockAdvance {
    pub seconds: u64,
}

/// Answer of the clock-control endpoint: the server's clock after the change,
/// in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClockState {
    pub now: u64,
}

/// The ways a session can start (`login.grant`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LoginGrant {
    #[default]
    Password,
    AuthorizationCode,
    JwtBearer,
    Command,
}

impl LoginGrant {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginGrant::Password => "password",
            LoginGrant::AuthorizationCode => "authorization_code",
            LoginGrant::JwtBearer => "jwt_bearer",
            LoginGrant::Command => "command",
        }
    }
}

impl std::fmt::Display for LoginGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
