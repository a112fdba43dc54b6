//! What the mock's behaviour depends on: [`MockConfig`], its parts, and the
//! defaults of each vendor [`Profile`].
//!
//! Every knob is a plain `pub` field, so the CLI can map flags onto it with
//! struct-update syntax, and every type here is `Deserialize` with
//! `deny_unknown_fields`, so a configuration file can override a profile's
//! defaults through [`MockConfig::with_overrides`]. This module parses no file
//! format itself; it takes a `serde_json::Value` that the YAML module built.

use super::fault::Fault;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub use crate::wire::{GraceReturns, RefreshExpiry, ReuseDetection, Rotation};

/// The algorithm the mock signs id_tokens with. ES256 is the strict
/// profile's (an ECDSA signature costs tens of microseconds, so a load run
/// against the mock measures the generator, not RSA); the vendor profiles
/// sign with RS256, as those vendors do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IdTokenAlg {
    RS256,
    ES256,
}

/// DPoP support (RFC 9449) of the mock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DpopMode {
    /// A `DPoP` header is ignored; tokens are Bearer.
    #[default]
    Off,
    /// A valid proof binds the grant's tokens to its key; none is fine.
    Optional,
    /// Every token request needs a valid proof.
    Required,
}

/// A vendor profile: paths, client authentication, response shape and
/// lifetimes modelled on one vendor's documentation (see `shared/seeds`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// RFC 6749 + RFC 9700, everything a strict checker expects.
    Strict,
    /// EmpowerID: `/oauth/v2/token`, the user in `Authorization: Basic`.
    EmpowerId,
    /// Oracle IDCS: `/oauth2/v1/token`, refresh tokens only with
    /// `offline_access`, JWT client assertions.
    Idcs,
    /// WSO2 Identity Server: `/oauth2/token`, `RenewRefreshTokenForRefreshGrant`.
    Wso2,
}

impl Profile {
    pub const ALL: [Profile; 4] = [
        Profile::Strict,
        Profile::EmpowerId,
        Profile::Idcs,
        Profile::Wso2,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Strict => "strict",
            Profile::EmpowerId => "empowerid",
            Profile::Idcs => "idcs",
            Profile::Wso2 => "wso2",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `"strict"`, `"empowerid"`, `"idcs"` or `"wso2"` was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown mock profile `{0}` (profiles: strict, empowerid, idcs, wso2)")]
pub struct UnknownProfile(pub String);

impl FromStr for Profile {
    type Err = UnknownProfile;
    fn from_str(s: &str) -> Result<Profile, UnknownProfile> {
        Profile::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownProfile(s.to_string()))
    }
}

/// Where the password grant reads the user's credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserCredentials {
    /// `username` and `password` form parameters (RFC 6749 §4.3.2).
    Form,
    /// `Authorization: Basic base64(username:password)`, no extra encoding
    /// (EmpowerID); the client's credentials then travel in the body. Form
    /// parameters are still accepted when the header is absent.
    Basic,
}

/// A client authentication method (RFC 8414 names): the wire's own type.
pub use crate::wire::AuthMethod;

/// A resource owner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub username: String,
    #[serde(with = "secret_serde")]
    pub password: Secret,
}

impl Account {
    pub fn new(username: &str, password: &str) -> Account {
        Account {
            username: username.into(),
            password: Secret::new(password),
        }
    }
}

/// A confidential client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientAccount {
    pub id: String,
    #[serde(with = "secret_serde")]
    pub secret: Secret,
    /// Grant types this client may use (`unauthorized_client` otherwise).
    pub grants: Vec<String>,
    #[serde(default = "default_auth_methods")]
    pub auth_methods: Vec<AuthMethod>,
    /// PEM public key (SPKI) for `private_key_jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_public_key_pem: Option<String>,
    /// Redirect URIs registered for the authorization-code flow (exact
    /// match, RFC 9700 §4.1.3).
    #[serde(default = "default_redirect_uris")]
    pub redirect_uris: Vec<String>,
}

/// The redirect URI every mock client has registered: a loopback port no
/// one listens on (the client stops at the redirect).
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";

fn default_redirect_uris() -> Vec<String> {
    vec![REDIRECT_URI.to_string()]
}

fn default_auth_methods() -> Vec<AuthMethod> {
    vec![AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost]
}

impl ClientAccount {
    /// A client accepting `client_secret_basic` and `client_secret_post`.
    pub fn new(id: &str, secret: &str, grants: Vec<String>) -> ClientAccount {
        ClientAccount {
            id: id.into(),
            secret: Secret::new(secret),
            grants,
            auth_methods: default_auth_methods(),
            jwt_public_key_pem: None,
            redirect_uris: default_redirect_uris(),
        }
    }

    pub fn with_auth_methods(mut self, methods: &[AuthMethod]) -> ClientAccount {
        self.auth_methods = methods.to_vec();
        self
    }

    pub fn allows(&self, method: AuthMethod) -> bool {
        self.auth_methods.contains(&method)
    }
}

/// An access-token lifetime that applies when the granted scope holds
/// `scope` (IDCS: 31556952 s with `urn:opc:resource:expiry`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeTtl {
    pub scope: String,
    pub ttl_s: u64,
}

/// A certificate chain and its private key, both PEM.
#[derive(Clone, PartialEq)]
pub struct TlsIdentity {
    pub cert_pem: String,
    pub key_pem: Secret,
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("cert_pem", &format_args!("{} bytes", self.cert_pem.len()))
            .field("key_pem", &self.key_pem)
            .finish()
    }
}

/// At most `max_failures` failures per key within `window_s`; beyond that the
/// endpoint answers 429 until the window has passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureLimit {
    pub max_failures: u32,
    pub window_s: u64,
}

impl Default for FailureLimit {
    /// Generous: a parallel conformance run never trips it.
    fn default() -> FailureLimit {
        FailureLimit {
            max_failures: 100,
            window_s: 60,
        }
    }
}

/// Everything the mock's behaviour depends on. Start from
/// [`MockConfig::profile`] and change fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MockConfig {
    /// Paths, client authentication and response shape.
    pub profile: Profile,
    pub rotation: Rotation,
    /// Replaying the previous refresh token within this many seconds of its
    /// rotation succeeds: the answer carries a new access token and the
    /// *current* successor refresh token (no new rotation), and the family
    /// survives. 0 disables it.
    pub grace_period_s: u64,
    /// Graceful rotation: replays of the previous token accepted inside the
    /// grace period (none: any number).
    pub grace_reuse_limit: Option<u32>,
    /// Graceful rotation: what such a replay gets.
    pub grace_returns: GraceReturns,
    pub reuse_detection: ReuseDetection,
    pub access_token_ttl_s: u64,
    /// Also accepted as `refresh_token_validity_s` (WSO2's name).
    #[serde(alias = "refresh_token_validity_s")]
    pub refresh_token_ttl_s: u64,
    pub refresh_expiry: RefreshExpiry,
    /// Absolute cap on a family's life, counted from the password grant.
    pub refresh_token_max_lifetime_s: Option<u64>,
    /// Per-scope access-token lifetimes, first match wins.
    pub scope_access_ttl: Vec<ScopeTtl>,
    /// Refresh tokens only when the granted scope holds this scope (IDCS
    /// `offline_access`).
    pub refresh_token_requires_scope: Option<String>,
    /// An id_token when the scope holds `openid` and a user is involved.
    pub id_token: bool,
    /// How id_tokens are signed (the JWKS publishes the matching key).
    pub id_token_alg: IdTokenAlg,
    /// DPoP: off, optional or required; with a proof, the grant's access
    /// and refresh tokens are bound to its key (refresh tokens of every
    /// client: a server may bind a confidential client's too).
    pub dpop: DpopMode,
    /// DPoP: demand a server nonce in proofs (`use_dpop_nonce`, RFC 9449 §8).
    pub dpop_nonce: bool,
    /// EmpowerID's response extras: an `id` member (GUID-shaped) and
    /// `"id_token": null` when no id_token is issued.
    pub vendor_extras: bool,
    pub user_credentials: UserCredentials,
    /// Time is real time plus an offset that `POST /__tokenprobe/clock`
    /// advances; without it that endpoint answers 404.
    pub virtual_clock: bool,
    /// Serve HTTPS with a self-signed certificate made at start-up
    /// (`MockServer::tls_certificate_pem`), unless `tls_identity` is set.
    pub tls: bool,
    /// Serve HTTPS with this certificate chain and key (PEM) instead of a
    /// self-signed one. Not part of configuration files: the CLI reads the
    /// files named by `--tls-cert` and `--tls-key`.
    #[serde(skip)]
    pub tls_identity: Option<TlsIdentity>,
    /// Failed password attempts per username before 429.
    pub password_failures: FailureLimit,
    /// Failed client authentications per client id before 429.
    pub client_failures: FailureLimit,
    /// Seconds between sweeps of expired and revoked state.
    pub purge_interval_s: u64,
    pub users: Vec<Account>,
    pub clients: Vec<ClientAccount>,
    /// Every scope the server knows.
    pub scopes: Vec<String>,
    /// Granted when a request names no scope.
    pub default_scope: String,
    /// Planted defects (see [`Fault`]); several may be combined.
    pub faults: Vec<Fault>,
    /// Seconds an authorization code may be exchanged (RFC 6749 §4.1.2:
    /// shortly; 10 minutes at most is RECOMMENDED).
    pub code_ttl_s: u64,
    /// The login page is followed by a consent page (EmpowerID, WSO2,
    /// strict); IDCS's trusted apps skip it.
    pub consent: bool,
    /// The login asks for the username on a page of its own and for the
    /// password on the next (identifier-first, as many enterprise
    /// identity providers do).
    pub identifier_first: bool,
    /// After the password, a page asks for this one-time code (MFA); three
    /// wrong codes end the login. None: no such page.
    pub mfa_code: Option<String>,
    /// The login, consent and MFA pages carry unrelated forms besides
    /// their own (a search box, a language selector), as portals do.
    pub extra_forms: bool,
    /// A slow server: every request that authenticates a client (token,
    /// revocation, introspection) holds one of `client_auth_workers` for
    /// this many milliseconds first, as a password hash (PBKDF2) on a
    /// small worker pool would. 0: no cost.
    pub client_auth_cost_ms: u64,
    pub client_auth_workers: u32,
    /// Single flight: a refresh that rotates answers this many
    /// milliseconds later, and copies of the same request that arrive
    /// meanwhile get its successor (an idempotent answer: one successor,
    /// which a race check counts once); after the answer, the old token
    /// is refused as usual. 0: off.
    pub single_flight_ms: u64,
    /// The key that signs JWT user assertions (RFC 7523 §2.1) the mock
    /// trusts when its client issues them: the public half of
    /// `fixtures/keys/user-assertion-key.pem`.
    #[serde(skip)]
    pub user_assertion_public_key_pem: String,
    /// Not the mock's behaviour: how the target file generated for it
    /// signs in (`--login`). The mock serves every login.
    #[serde(skip)]
    pub target_login: crate::wire::LoginGrant,
}

/// The public half of the user-assertion test key (`fixtures/keys`).
pub const USER_ASSERTION_PUBLIC_KEY: &str =
    include_str!("../../fixtures/keys/user-assertion-key.pub.pem");

impl Default for MockConfig {
    fn default() -> MockConfig {
        MockConfig::strict()
    }
}

/// The public key registered for the `jwt-app` client (IDCS profile); the
/// private half is `fixtures/keys/client-jwt-key.pem`, for tests.
pub const CLIENT_JWT_PUBLIC_KEY: &str = include_str!("../../fixtures/keys/client-jwt-key.pub.pem");

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl MockConfig {
    /// The strict RFC 6749 + RFC 9700 profile.
    pub fn strict() -> MockConfig {
        let all = strings(&[
            "password",
            "refresh_token",
            "client_credentials",
            "authorization_code",
            crate::wire::grant::JWT_BEARER,
        ]);
        MockConfig {
            profile: Profile::Strict,
            rotation: Rotation::Rotate,
            grace_period_s: 0,
            grace_reuse_limit: None,
            grace_returns: GraceReturns::Same,
            reuse_detection: ReuseDetection::Family,
            access_token_ttl_s: 3600,
            refresh_token_ttl_s: 86_400,
            refresh_expiry: RefreshExpiry::Sliding,
            refresh_token_max_lifetime_s: Some(30 * 86_400),
            scope_access_ttl: Vec::new(),
            refresh_token_requires_scope: None,
            id_token: true,
            id_token_alg: IdTokenAlg::ES256,
            dpop: DpopMode::Off,
            dpop_nonce: false,
            vendor_extras: false,
            user_credentials: UserCredentials::Form,
            virtual_clock: false,
            tls: false,
            tls_identity: None,
            password_failures: FailureLimit::default(),
            client_failures: FailureLimit::default(),
            purge_interval_s: 30,
            users: vec![
                Account::new("alice", "alice-pass-1"),
                Account::new("bob", "bob-pass-2"),
                // A canary for the opt-in brute-force checks (may lock).
                Account::new("carol", "carol-pass-3"),
            ],
            clients: vec![
                ClientAccount::new("app", "app-secret", all.clone()),
                ClientAccount::new("other-app", "other-app-secret", all.clone()),
                // Reserved characters in the id and the secret: Basic
                // authentication must form-encode them first (RFC 6749 §2.3.1).
                ClientAccount::new("reserved+client", "p@ss:w%rd+&= !", all.clone()),
                // A canary for the opt-in brute-force checks (may lock).
                ClientAccount::new("canary-app", "canary-app-secret", all),
                ClientAccount::new(
                    "cc-only",
                    "cc-only-secret",
                    strings(&["client_credentials"]),
                ),
                // A public client (a browser or native app): no secret, the
                // code flow with PKCE (RFC 9700 §2.1.1).
                ClientAccount::new(
                    "public-app",
                    "",
                    strings(&["authorization_code", "refresh_token"]),
                )
                .with_auth_methods(&[AuthMethod::None]),
            ],
            scopes: strings(&[
                "openid",
                "profile",
                "email",
                "offline_access",
                "read",
                "write",
            ]),
            default_scope: "read".into(),
            faults: Vec::new(),
            code_ttl_s: 60,
            consent: true,
            identifier_first: false,
            mfa_code: None,
            extra_forms: false,
            client_auth_cost_ms: 0,
            client_auth_workers: 2,
            single_flight_ms: 0,
            user_assertion_public_key_pem: USER_ASSERTION_PUBLIC_KEY.to_string(),
            target_login: Default::default(),
        }
    }

    /// The defaults of profile `p`.
    pub fn profile(p: Profile) -> MockConfig {
        let strict = MockConfig::strict();
        match p {
            Profile::Strict => strict,
            Profile::EmpowerId => {
                let post_only = |c: ClientAccount| {
                    if c.allows(AuthMethod::None) {
                        c
                    } else {
                        c.with_auth_methods(&[AuthMethod::ClientSecretPost])
                    }
                };
                MockConfig {
                    profile: p,
                    reuse_detection: ReuseDetection::None,
                    refresh_token_max_lifetime_s: None,
                    vendor_extras: true,
                    id_token_alg: IdTokenAlg::RS256,
                    user_credentials: UserCredentials::Basic,
                    clients: strict.clients.iter().cloned().map(post_only).collect(),
                    ..strict
                }
            }
            Profile::Idcs => {
                let jwt = |c: ClientAccount| {
                    if c.allows(AuthMethod::None) {
                        return c;
                    }
                    c.with_auth_methods(&[
                        AuthMethod::ClientSecretBasic,
                        AuthMethod::ClientSecretJwt,
                    ])
                };
                let mut clients: Vec<ClientAccount> =
                    strict.clients.iter().cloned().map(jwt).collect();
                clients.push(ClientAccount {
                    jwt_public_key_pem: Some(CLIENT_JWT_PUBLIC_KEY.to_string()),
                    ..ClientAccount::new(
                        "jwt-app",
                        "jwt-app-unused-secret",
                        strings(&[
                            "password",
                            "refresh_token",
                            "client_credentials",
                            crate::wire::grant::JWT_BEARER,
                        ]),
                    )
                    .with_auth_methods(&[AuthMethod::PrivateKeyJwt])
                });
                MockConfig {
                    profile: p,
                    reuse_detection: ReuseDetection::None,
                    refresh_token_max_lifetime_s: None,
                    scope_access_ttl: vec![ScopeTtl {
                        scope: "urn:opc:resource:expiry".into(),
                        ttl_s: 31_556_952,
                    }],
                    refresh_token_requires_scope: Some("offline_access".into()),
                    clients,
                    scopes: strings(&[
                        "urn:opc:idm:__myscopes__",
                        "urn:opc:resource:expiry",
                        "offline_access",
                        "openid",
                        "profile",
                        "email",
                        "read",
                        "write",
                    ]),
                    default_scope: "urn:opc:idm:__myscopes__".into(),
                    id_token_alg: IdTokenAlg::RS256,
                    consent: false,
                    ..strict
                }
            }
            Profile::Wso2 => MockConfig {
                profile: p,
                reuse_detection: ReuseDetection::None,
                refresh_token_ttl_s: 84_600,
                refresh_token_max_lifetime_s: None,
                id_token_alg: IdTokenAlg::RS256,
                ..strict
            },
        }
    }

    /// WSO2's `RenewRefreshTokenForRefreshGrant`: true rotates, false keeps
    /// the same refresh token until it expires.
    pub fn renew_refresh_token(mut self, renew: bool) -> MockConfig {
        self.rotation = if renew {
            Rotation::Rotate
        } else {
            Rotation::Static
        };
        self
    }

    /// Adds a planted defect.
    pub fn fault(mut self, fault: Fault) -> MockConfig {
        if !self.faults.contains(&fault) {
            self.faults.push(fault);
        }
        self
    }

    /// Overrides fields of `self` with the members of `value` (a JSON object,
    /// e.g. converted from a YAML file). Unknown members are an error. A
    /// `profile` member in `value` does not reload that profile's defaults;
    /// use [`MockConfig::from_value`] for that.
    pub fn with_overrides(self, value: serde_json::Value) -> Result<MockConfig, serde_json::Error> {
        let serde_json::Value::Object(overrides) = value else {
            return Err(serde::de::Error::custom(
                "mock configuration must be a mapping",
            ));
        };
        let mut merged = match serde_json::to_value(&self)? {
            serde_json::Value::Object(m) => m,
            _ => unreachable!("MockConfig serializes to an object"),
        };
        // Aliases: the override must replace the canonical member, not sit
        // beside it (that would be a duplicate field).
        for (key, v) in overrides {
            let key = if key == "refresh_token_validity_s" {
                "refresh_token_ttl_s".to_string()
            } else {
                key
            };
            merged.insert(key, v);
        }
        serde_json::from_value(serde_json::Value::Object(merged))
    }

    /// The defaults of the profile named in `value` (strict when absent),
    /// overridden by the rest of `value`.
    pub fn from_value(value: serde_json::Value) -> Result<MockConfig, serde_json::Error> {
        let profile = match value.get("profile") {
            Some(p) => Profile::deserialize(p)?,
            None => Profile::Strict,
        };
        MockConfig::profile(profile).with_overrides(value)
    }
}

/// `Secret` is (de)serialized as its plain value: configuration files hold the
/// mock's own fixed test credentials.
mod secret_serde {
    use crate::secret::Secret;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(s: &Secret, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.expose())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Secret, D::Error> {
        String::deserialize(de).map(Secret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn profiles_round_trip_through_their_names() {
        for p in Profile::ALL {
            assert_eq!(p.to_string().parse::<Profile>(), Ok(p));
        }
        assert!("keycloak".parse::<Profile>().is_err());
    }

    #[test]
    fn overrides_change_only_the_named_fields() {
        let cfg = MockConfig::strict()
            .with_overrides(json!({"grace_period_s": 5, "rotation": "static", "faults": ["race"]}))
            .unwrap();
        assert_eq!(cfg.grace_period_s, 5);
        assert_eq!(cfg.rotation, Rotation::Static);
        assert_eq!(cfg.faults, vec![Fault::Race]);
        assert_eq!(cfg.access_token_ttl_s, 3600);
        assert_eq!(cfg.users, MockConfig::strict().users);
    }

    #[test]
    fn unknown_fields_are_refused_at_every_level() {
        let err = MockConfig::strict()
            .with_overrides(json!({"grace_period": 5}))
            .unwrap_err();
        assert!(err.to_string().contains("grace_period"), "{err}");
        let err = MockConfig::strict()
            .with_overrides(json!({"users": [{"username": "u", "password": "p", "role": "x"}]}))
            .unwrap_err();
        assert!(err.to_string().contains("role"), "{err}");
    }

    #[test]
    fn from_value_starts_from_the_named_profile() {
        let cfg =
            MockConfig::from_value(json!({"profile": "wso2", "refresh_token_validity_s": 10}))
                .unwrap();
        assert_eq!(cfg.profile, Profile::Wso2);
        assert_eq!(cfg.refresh_token_ttl_s, 10);
        let cfg = MockConfig::from_value(json!({"profile": "idcs"})).unwrap();
        assert_eq!(
            cfg.refresh_token_requires_scope.as_deref(),
            Some("offline_access")
        );
    }

    #[test]
    fn debug_output_hides_passwords_and_secrets() {
        let text = format!("{:?}", MockConfig::strict());
        assert!(
            !text.contains("alice-pass-1") && !text.contains("app-secret"),
            "{text}"
        );
    }
}
