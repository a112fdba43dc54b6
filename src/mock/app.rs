//! The running mock's shared state ([`App`]): the configuration resolved
//! into lookup tables, the clock, the token store, keys, limiters, and the
//! paths and URLs of the chosen profile.

use super::clock::Clock;
use super::config::{Account, AuthMethod, ClientAccount, MockConfig, Profile};
use super::fault::FaultSet;
use super::keys::{JtiCache, KeyError, Signer};
use super::limit::Limiter;
pub use super::paths::{CLOCK_PATH, Paths};
use super::reply::{OAuthError, Reply};
use super::store::{Policy, Store};
use crate::wire::{self, ErrorCode};
use std::collections::HashMap;
use std::sync::Arc;

/// A configuration the mock cannot run with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the default scope `{0}` is not among the configured scopes")]
    DefaultScope(String),
    #[error("client `{0}` is configured twice")]
    DuplicateClient(String),
    #[error("client `{0}` uses private_key_jwt without jwt_public_key_pem")]
    MissingKey(String),
    #[error(transparent)]
    Keys(#[from] KeyError),
}

/// A configured client, its id shared with every token issued to it.
pub struct Client {
    pub id: Arc<str>,
    pub account: ClientAccount,
}

impl Client {
    pub fn may_use(&self, grant: &str) -> bool {
        self.account.grants.iter().any(|g| g == grant)
    }
}

/// A configured user.
pub struct User {
    pub name: Arc<str>,
    pub account: Account,
}

/// Everything a request handler needs.
pub struct App {
    pub cfg: MockConfig,
    pub faults: FaultSet,
    pub clock: Clock,
    pub store: Store,
    pub signer: Signer,
    pub jtis: JtiCache,
    pub password_limit: Limiter,
    pub client_limit: Limiter,
    pub clients: HashMap<String, Client>,
    pub users: HashMap<String, User>,
    pub default_scope: Arc<str>,
    pub paths: Paths,
    pub base_url: String,
    pub issuer: String,
    pub token_url: String,
    pub reply: Reply,
    pub discovery_json: String,
    /// DPoP: the `jti`s of accepted proofs with their `iat`, for the replay
    /// check (kept for the accepted window), and the server nonce.
    pub dpop_jtis: std::sync::Mutex<HashMap<String, u64>>,
    pub dpop_nonce: String,
    /// The authorization endpoint's interactions, sessions and codes.
    pub logins: super::interactions::Logins,
    /// The workers a client authentication takes its time on
    /// (`client_auth_cost_ms`).
    pub auth_workers: tokio::sync::Semaphore,
}

impl App {
    /// What a client authentication costs on a slow server: a worker held
    /// for `client_auth_cost_ms`.
    pub async fn client_auth_cost(&self) {
        if self.cfg.client_auth_cost_ms == 0 {
            return;
        }
        let _worker = self.auth_workers.acquire().await;
        tokio::time::sleep(std::time::Duration::from_millis(
            self.cfg.client_auth_cost_ms,
        ))
        .await;
    }
}

/// How far a DPoP proof's `iat` may be from the mock's clock, seconds.
pub const DPOP_WINDOW_S: u64 = 300;

impl App {
    pub fn new(cfg: MockConfig, base_url: &str) -> Result<App, ConfigError> {
        if !cfg
            .default_scope
            .split(' ')
            .all(|s| cfg.scopes.iter().any(|k| k == s))
        {
            return Err(ConfigError::DefaultScope(cfg.default_scope.clone()));
        }
        let mut clients = HashMap::new();
        for c in &cfg.clients {
            if c.allows(AuthMethod::PrivateKeyJwt) && c.jwt_public_key_pem.is_none() {
                return Err(ConfigError::MissingKey(c.id.clone()));
            }
            let client = Client {
                id: Arc::from(c.id.as_str()),
                account: c.clone(),
            };
            if clients.insert(c.id.clone(), client).is_some() {
                return Err(ConfigError::DuplicateClient(c.id.clone()));
            }
        }
        let users = cfg
            .users
            .iter()
            .map(|u| {
                let user = User {
                    name: Arc::from(u.username.as_str()),
                    account: u.clone(),
                };
                (u.username.clone(), user)
            })
            .collect();
        let faults = FaultSet::new(&cfg.faults);
        let paths = Paths::of(cfg.profile);
        let base_url = base_url.trim_end_matches('/').to_string();
        let mut app = App {
            faults,
            clock: if cfg.virtual_clock {
                Clock::virtual_clock()
            } else {
                Clock::real()
            },
            store: Store::new(Policy::from_config(&cfg)),
            signer: Signer::for_alg(cfg.id_token_alg)?,
            jtis: JtiCache::default(),
            password_limit: Limiter::new(cfg.password_failures),
            client_limit: Limiter::new(cfg.client_failures),
            clients,
            users,
            default_scope: Arc::from(cfg.default_scope.as_str()),
            paths,
            issuer: format!("{base_url}{}", paths.issuer_suffix),
            token_url: format!("{base_url}{}", paths.token),
            base_url,
            reply: Reply::new(faults),
            discovery_json: String::new(),
            dpop_jtis: std::sync::Mutex::new(HashMap::new()),
            dpop_nonce: crate::dpop::new_jti(),
            logins: super::interactions::Logins::default(),
            auth_workers: tokio::sync::Semaphore::new(cfg.client_auth_workers.max(1) as usize),
            cfg,
        };
        app.discovery_json = app.discovery().to_string();
        Ok(app)
    }

    /// The discovery document (RFC 8414 / OpenID Connect Discovery).
    fn discovery(&self) -> serde_json::Value {
        let url = |p: &str| format!("{}{p}", self.base_url);
        let mut grants: Vec<String> = Vec::new();
        let mut methods: Vec<String> = Vec::new();
        for c in &self.cfg.clients {
            for g in &c.grants {
                if !grants.contains(g) {
                    grants.push(g.clone());
                }
            }
            for m in &c.auth_methods {
                if !methods.iter().any(|x| x == m.as_str()) {
                    methods.push(m.as_str().to_string());
                }
            }
        }
        let doc = wire::Discovery {
            issuer: Some(self.issuer.clone()),
            token_endpoint: self.token_url.clone(),
            authorization_endpoint: Some(url(self.paths.authorize)),
            revocation_endpoint: Some(url(self.paths.revoke)),
            introspection_endpoint: Some(url(self.paths.introspect)),
            jwks_uri: Some(url(self.paths.jwks)),
            grant_types_supported: Some(grants),
            token_endpoint_auth_methods_supported: methods,
            scopes_supported: self.cfg.scopes.clone(),
        };
        let mut v = serde_json::to_value(doc).unwrap_or_default();
        if let Some(m) = v.as_object_mut() {
            m.insert(
                "id_token_signing_alg_values_supported".into(),
                serde_json::json!([self.signer.alg()]),
            );
            m.insert(
                "response_types_supported".into(),
                serde_json::json!(["code"]),
            );
            m.insert(
                "code_challenge_methods_supported".into(),
                serde_json::json!(["S256", "plain"]),
            );
            // RFC 9207: the strict profile and IDCS name themselves in
            // authorization responses.
            if matches!(self.cfg.profile, Profile::Strict | Profile::Idcs) {
                m.insert(
                    "authorization_response_iss_parameter_supported".into(),
                    true.into(),
                );
            }
            m.insert(
                "subject_types_supported".into(),
                serde_json::json!(["public"]),
            );
            if let Some(p) = self.paths.userinfo {
                m.insert("userinfo_endpoint".into(), url(p).into());
            }
            if let Some(p) = self.paths.tokeninfo {
                m.insert("tokeninfo_endpoint".into(), url(p).into());
            }
        }
        v
    }

    /// Validates a requested scope (space-separated, every item known) and
    /// returns it without duplicates; `None` means the default scope.
    pub fn scope(&self, requested: Option<&str>) -> Result<Arc<str>, OAuthError> {
        let Some(raw) = requested else {
            return Ok(self.default_scope.clone());
        };
        let mut items: Vec<&str> = Vec::with_capacity(4);
        for item in raw.split(' ').filter(|s| !s.is_empty()) {
            if !self.cfg.scopes.iter().any(|k| k == item) {
                return Err(OAuthError::new(ErrorCode::InvalidScope, "unknown scope"));
            }
            if !items.contains(&item) {
                items.push(item);
            }
        }
        if items.is_empty() {
            return Ok(self.default_scope.clone());
        }
        Ok(Arc::from(items.join(" ")))
    }
}

impl App {
    /// Checks the DPoP proof of a token request (RFC 9449 §4.3, §8, §11.1):
    /// its key's thumbprint, or the refusal (`invalid_dpop_proof`, or
    /// `use_dpop_nonce` with the nonce to use).
    pub fn check_dpop(&self, proof: &str) -> Result<Arc<str>, DpopRefusal> {
        use super::fault::Fault;
        // Real time: the client's clock, not the virtual one.
        let now = crate::dpop::now_s();
        let check_htu = !self.faults.has(Fault::DpopIgnoresHtu);
        let (jkt, claims) = crate::dpop::verify(
            proof,
            "POST",
            &self.token_url,
            now,
            DPOP_WINDOW_S,
            check_htu,
        )
        .map_err(|e| DpopRefusal::Invalid(e.to_string()))?;
        if self.cfg.dpop_nonce && claims.nonce.as_deref() != Some(self.dpop_nonce.as_str()) {
            return Err(DpopRefusal::Nonce(self.dpop_nonce.clone()));
        }
        if !self.faults.has(Fault::DpopReplayAccepted) {
            let mut seen = self.dpop_jtis.lock().unwrap_or_else(|p| p.into_inner());
            seen.retain(|_, iat| iat.abs_diff(now) <= DPOP_WINDOW_S);
            if seen.insert(claims.jti.clone(), claims.iat).is_some() {
                return Err(DpopRefusal::Invalid(
                    "the DPoP proof was used before (its jti is known)".into(),
                ));
            }
        }
        Ok(Arc::from(jkt.as_str()))
    }
}

/// Why a DPoP proof was refused.
#[derive(Debug)]
pub enum DpopRefusal {
    Invalid(String),
    /// The server nonce the proof must carry.
    Nonce(String),
}
