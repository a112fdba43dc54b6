//! The mock token server: a real, stateful OAuth 2.0 token endpoint on
//! loopback, used as the embedded default target and by the self-tests.
//!
//! This first version implements the strict RFC 6749 + RFC 9700 profile:
//! password, refresh_token and client_credentials grants; rotation with the
//! previous refresh token refused and reuse revoking the whole family;
//! refresh bound to its client; scope narrowing allowed, widening refused;
//! RFC 6749 §5.2 errors; `no-store` headers; an atomic refresh so that of
//! concurrent refreshes of one token exactly one wins; RFC 7009 revocation,
//! RFC 7662 introspection, discovery, and an optional virtual clock.
//! It shares only `wire` types with the client side.

mod server;
mod store;

pub use server::MockServer;
pub use store::{Account, ClientAccount};

use crate::target::{RefreshExpiry, ReuseDetection, Rotation};

/// Vendor profiles. Only `strict` exists so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Strict,
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Profile, String> {
        match s {
            "strict" => Ok(Profile::Strict),
            other => Err(format!("unknown mock profile `{other}` (profiles: strict)")),
        }
    }
}

/// Everything the mock's behaviour depends on.
#[derive(Debug, Clone)]
pub struct MockConfig {
    pub profile: Profile,
    pub rotation: Rotation,
    pub grace_period_s: u64,
    pub reuse_detection: ReuseDetection,
    pub access_token_ttl_s: u64,
    pub refresh_token_ttl_s: u64,
    pub refresh_expiry: RefreshExpiry,
    pub refresh_token_max_lifetime_s: Option<u64>,
    /// Time is real plus an offset that `POST /__tokenprobe/clock` advances.
    pub virtual_clock: bool,
    pub users: Vec<Account>,
    pub clients: Vec<ClientAccount>,
    /// Every scope the server knows.
    pub scopes: Vec<String>,
    /// Granted when a request names no scope.
    pub default_scope: String,
}

impl MockConfig {
    pub fn strict() -> MockConfig {
        let grants = |g: &[&str]| g.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        MockConfig {
            profile: Profile::Strict,
            rotation: Rotation::Rotate,
            grace_period_s: 0,
            reuse_detection: ReuseDetection::Family,
            access_token_ttl_s: 3600,
            refresh_token_ttl_s: 86_400,
            refresh_expiry: RefreshExpiry::Sliding,
            refresh_token_max_lifetime_s: Some(30 * 86_400),
            virtual_clock: false,
            users: vec![
                Account::new("alice", "alice-pass-1"),
                Account::new("bob", "bob-pass-2"),
            ],
            clients: vec![
                ClientAccount::new(
                    "app",
                    "app-secret",
                    grants(&["password", "refresh_token", "client_credentials"]),
                ),
                ClientAccount::new(
                    "other-app",
                    "other-app-secret",
                    grants(&["password", "refresh_token", "client_credentials"]),
                ),
                ClientAccount::new("cc-only", "cc-only-secret", grants(&["client_credentials"])),
            ],
            scopes: [
                "openid",
                "profile",
                "email",
                "offline_access",
                "read",
                "write",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            default_scope: "read".into(),
        }
    }

    pub fn profile(p: Profile) -> MockConfig {
        match p {
            Profile::Strict => MockConfig::strict(),
        }
    }
}

/// The target file describing the embedded strict mock (its base URL is
/// replaced by the real one once the mock listens).
pub const STRICT_TARGET: &str = include_str!("../../fixtures/targets/mock-strict.yaml");
