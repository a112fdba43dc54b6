//! The store's view of the mock's configuration: lifetimes, rotation,
//! grace, reuse detection and the planted faults that change them; and
//! scope strings compared item by item.

use super::config::{GraceReturns, MockConfig, RefreshExpiry, ReuseDetection, Rotation, ScopeTtl};
use super::fault::{Fault, FaultSet};

/// The store's view of the configuration.
#[derive(Debug, Clone)]
pub struct Policy {
    pub rotation: Rotation,
    pub grace_ms: u64,
    pub grace_reuse_limit: Option<u32>,
    pub grace_returns: GraceReturns,
    pub reuse_detection: ReuseDetection,
    pub access_ttl_s: u64,
    pub scope_ttls: Vec<ScopeTtl>,
    pub refresh_ttl_ms: u64,
    pub refresh_expiry: RefreshExpiry,
    pub max_lifetime_ms: Option<u64>,
    pub refresh_requires_scope: Option<String>,
    pub faults: FaultSet,
    /// Single flight (see `MockConfig::single_flight_ms`).
    pub single_flight_ms: u64,
}

impl Policy {
    pub fn from_config(c: &MockConfig) -> Policy {
        let faults = FaultSet::new(&c.faults);
        Policy {
            // `same_refresh_token`: rotation is declared, static is what happens.
            rotation: match c.rotation {
                Rotation::Rotate if faults.has(Fault::SameRefreshToken) => Rotation::Static,
                r => r,
            },
            grace_ms: c.grace_period_s.saturating_mul(1000),
            grace_reuse_limit: c.grace_reuse_limit,
            grace_returns: c.grace_returns,
            reuse_detection: c.reuse_detection,
            access_ttl_s: c.access_token_ttl_s,
            scope_ttls: c.scope_access_ttl.clone(),
            refresh_ttl_ms: c.refresh_token_ttl_s.saturating_mul(1000),
            refresh_expiry: c.refresh_expiry,
            max_lifetime_ms: c
                .refresh_token_max_lifetime_s
                .map(|s| s.saturating_mul(1000)),
            refresh_requires_scope: c.refresh_token_requires_scope.clone(),
            faults,
            single_flight_ms: c.single_flight_ms,
        }
    }

    /// The access-token lifetime of `scope`: the first matching per-scope
    /// lifetime, else the default. A refreshed token gets it in full.
    pub fn access_ttl_s(&self, scope: &str) -> u64 {
        self.scope_ttls
            .iter()
            .find(|t| scope_has(scope, &t.scope))
            .map_or(self.access_ttl_s, |t| t.ttl_s)
    }
}

/// Whether the space-separated `scope` holds `item`.
pub fn scope_has(scope: &str, item: &str) -> bool {
    scope.split(' ').any(|s| s == item)
}

/// Whether every item of `requested` is in `granted`.
pub fn scope_within(requested: &str, granted: &str) -> bool {
    requested
        .split(' ')
        .filter(|s| !s.is_empty())
        .all(|s| scope_has(granted, s))
}
