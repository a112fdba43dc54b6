//! The token store: issued access and refresh tokens, refresh-token families,
//! rotation, grace period, reuse detection, expiry, revocation, purge.
//!
//! Tokens are never stored: each map is keyed by the SHA-256 digest of the
//! token, so a lookup compares digests, not secrets, and a dump of the store
//! reveals no token. The maps are split into independently locked
//! shards (`shards`: no global lock on the hot path). A refresh-token family (all the
//! tokens descending from one password grant) has its own lock, and the
//! check-then-act of a refresh happens under it, so of concurrent refreshes of
//! one token exactly one wins. Lock order: a family, then a shard; never a
//! shard, then a family (purge reads a family's `revoked` flag without its
//! lock).
//!
//! HTTP, client authentication and scope syntax live elsewhere; this module
//! sees client ids, usernames and scope strings that were already checked.

use super::config::{GraceReturns, RefreshExpiry, ReuseDetection, Rotation};
use super::fault::Fault;
pub use super::policy::{Policy, scope_has, scope_within};
use super::shards::{Key, Shards, lock};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The `race` fault's window between its check and its write: a simulated
/// round trip to a token database, as in a server that reads the token row,
/// then writes the rotation in a second statement. Requests arriving within
/// it all pass the check. 50 ms, not less: on a busy two-core machine
/// (a build beside the tests) fifty requests released together reach the
/// check over more than 10 ms, and the fault then hid itself.
const RACE_WINDOW: std::time::Duration = std::time::Duration::from_millis(50);

/// Who a new grant is for.
#[derive(Debug, Clone)]
pub struct Session {
    pub client_id: Arc<str>,
    pub user: Option<Arc<str>>,
    pub scope: Arc<str>,
    /// When the user authenticated, Unix seconds.
    pub auth_time_s: u64,
    /// See [`Family`]: the family's refresh token never rotates.
    pub keeps_token: bool,
}

/// Every token descending from one grant.
#[derive(Debug)]
pub struct Family {
    pub client_id: Arc<str>,
    pub user: Option<Arc<str>>,
    /// The originally granted scope; a narrowed refresh does not change it.
    pub scope: Arc<str>,
    /// When the user authenticated, Unix seconds (the mock's clock).
    pub auth_time_s: u64,
    /// Refreshes return the same refresh token whatever the rotation (the
    /// `public_refresh_unbound` fault's public clients).
    keeps_token: bool,
    cap_ms: Option<u64>,
    revoked: AtomicBool,
    state: Mutex<FamilyState>,
    /// DPoP: the thumbprint of the key the family's tokens are bound to.
    jkt: Option<Arc<str>>,
}

struct FamilyState {
    /// The generation of the refresh token that is current; each rotation
    /// adds one.
    current_gen: u32,
    rotated_at_ms: u64,
    /// The current refresh token itself, kept only with a grace period (a
    /// replay inside it gets this token back).
    current: Option<String>,
    /// The last narrowed scope (kept only for the `keeps_narrowed_scope` fault).
    narrowed: Option<Arc<str>>,
    /// Replays of the previous token inside the grace period since the
    /// last rotation (graceful rotation's reuse limit).
    grace_reuses: u32,
    /// The generation a replay of which the grace period covers: the one
    /// the last ordinary rotation replaced (a fresh pair given to a replay
    /// leaves it, and the window, as they were).
    grace_gen: Option<u32>,
}

impl std::fmt::Debug for FamilyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FamilyState")
            .field("current_gen", &self.current_gen)
            .field(
                "current",
                &self
                    .current
                    .as_deref()
                    .map(|t| crate::secret::fingerprint("rt", t)),
            )
            .field("grace_reuses", &self.grace_reuses)
            .finish_non_exhaustive()
    }
}

impl Family {
    pub fn is_revoked(&self) -> bool {
        self.revoked.load(Ordering::Acquire)
    }

    fn revoke(&self) {
        let _state = lock(&self.state);
        self.revoked.store(true, Ordering::Release);
    }

    fn expired(&self, now_ms: u64) -> bool {
        self.cap_ms.is_some_and(|cap| now_ms >= cap)
    }
}

struct RefreshRecord {
    family: Arc<Family>,
    generation: u32,
    expires_ms: u64,
    /// When it was issued, Unix seconds (the `same_second_stale` fault).
    issued_s: u64,
}

struct AccessRecord {
    family: Option<Arc<Family>>,
    client_id: Arc<str>,
    user: Option<Arc<str>>,
    scope: Arc<str>,
    issued_s: u64,
    expires_ms: u64,
}

/// What a grant or a refresh hands out. Its `Debug` shows fingerprints.
pub struct Issued {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: Option<String>,
    pub scope: Arc<str>,
    pub client_id: Arc<str>,
    /// The resource owner (password grant and its refreshes).
    pub user: Option<Arc<str>>,
    /// When the user authenticated, Unix seconds (unchanged by refreshes).
    pub auth_time_s: u64,
    /// The refresh-token generation now current (0 for the grant itself).
    pub generation: u32,
    /// DPoP-bound (token_type `DPoP`).
    pub bound: bool,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::secret::fingerprint;
        f.debug_struct("Issued")
            .field("access_token", &fingerprint("at", &self.access_token))
            .field(
                "refresh_token",
                &self.refresh_token.as_deref().map(|t| fingerprint("rt", t)),
            )
            .field("scope", &self.scope)
            .field("client_id", &self.client_id)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// Whom an access token is issued to.
struct Owner {
    client_id: Arc<str>,
    user: Option<Arc<str>>,
    family: Option<Arc<Family>>,
    auth_time_s: u64,
}

/// Why a refresh was refused. All are `invalid_grant` except `InvalidScope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefreshError {
    #[error("unknown refresh token")]
    Unknown,
    #[error("the refresh token was issued to another client")]
    WrongClient,
    #[error("the refresh token has expired")]
    Expired,
    #[error("the refresh token has been revoked")]
    Revoked,
    #[error("the refresh token was already used")]
    Reused,
    #[error("the requested scope exceeds the original grant")]
    InvalidScope,
    #[error("the refresh token is bound to a DPoP key: a proof by that key is required")]
    DpopMissing,
    #[error("the DPoP proof is signed by another key than the refresh token is bound to")]
    DpopKey,
}

/// What introspection says about a live token.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenInfo {
    pub refresh: bool,
    pub client_id: Arc<str>,
    pub user: Option<Arc<str>>,
    pub scope: Arc<str>,
    pub issued_s: Option<u64>,
    pub expires_s: u64,
}

/// The outcome of the check-then-act under a family's lock.
enum Step {
    /// Static or omitted rotation: the presented token stays.
    Keep,
    /// A new refresh token.
    Rotated { token: String, generation: u32 },
    /// A replay within the grace period: the current successor comes back.
    Grace { token: String, generation: u32 },
}

pub struct Store {
    policy: Policy,
    refresh: Shards<RefreshRecord>,
    access: Shards<AccessRecord>,
}

impl Store {
    pub fn new(policy: Policy) -> Store {
        Store {
            policy,
            refresh: Shards::new(),
            access: Shards::new(),
        }
    }

    #[cfg(test)]
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// A new grant (password or client_credentials). A family and a refresh
    /// token are made when `offer_refresh` (and, with
    /// `refresh_requires_scope`, when the scope holds it).
    #[cfg(test)]
    pub fn grant(
        &self,
        client_id: Arc<str>,
        user: Option<Arc<str>>,
        scope: Arc<str>,
        offer_refresh: bool,
        now_ms: u64,
    ) -> Issued {
        self.grant_bound(client_id, user, scope, offer_refresh, now_ms, None)
    }

    /// A new grant whose tokens are bound to the DPoP key `jkt`, if given.
    pub fn grant_bound(
        &self,
        client_id: Arc<str>,
        user: Option<Arc<str>>,
        scope: Arc<str>,
        offer_refresh: bool,
        now_ms: u64,
        jkt: Option<Arc<str>>,
    ) -> Issued {
        self.grant_session(
            Session {
                client_id,
                user,
                scope,
                auth_time_s: now_ms / 1000,
                keeps_token: false,
            },
            offer_refresh,
            now_ms,
            jkt,
        )
    }

    /// A new grant of a session: who, with which scope, authenticated
    /// when (a login through the authorization endpoint authenticates
    /// before its code is exchanged).
    pub fn grant_session(
        &self,
        session: Session,
        offer_refresh: bool,
        now_ms: u64,
        jkt: Option<Arc<str>>,
    ) -> Issued {
        let Session {
            client_id,
            user,
            scope,
            auth_time_s,
            keeps_token,
        } = session;
        let p = &self.policy;
        let with_refresh = offer_refresh
            && p.refresh_requires_scope
                .as_deref()
                .is_none_or(|s| scope_has(&scope, s));
        let (family, refresh_token) = if with_refresh {
            let family = Arc::new(Family {
                client_id: client_id.clone(),
                user: user.clone(),
                scope: scope.clone(),
                auth_time_s,
                keeps_token,
                cap_ms: p.max_lifetime_ms.map(|m| now_ms.saturating_add(m)),
                revoked: AtomicBool::new(false),
                state: Mutex::new(FamilyState {
                    current_gen: 0,
                    rotated_at_ms: now_ms,
                    current: None,
                    narrowed: None,
                    grace_reuses: 0,
                    grace_gen: None,
                }),
                jkt: jkt.clone(),
            });
            let expires_ms = self.capped(&family, now_ms.saturating_add(p.refresh_ttl_ms));
            let token = self.refresh.insert_new(RefreshRecord {
                family: family.clone(),
                generation: 0,
                expires_ms,
                issued_s: now_ms / 1000,
            });
            if p.grace_ms > 0 {
                lock(&family.state).current = Some(token.clone());
            }
            (Some(family), Some(token))
        } else {
            (None, None)
        };
        let owner = Owner {
            client_id,
            user,
            family,
            auth_time_s,
        };
        let mut issued = self.issue_access(owner, scope, refresh_token, 0, now_ms);
        issued.bound = jkt.is_some();
        issued
    }

    fn issue_access(
        &self,
        owner: Owner,
        scope: Arc<str>,
        refresh_token: Option<String>,
        generation: u32,
        now_ms: u64,
    ) -> Issued {
        let expires_in = self.policy.access_ttl_s(&scope);
        let access_token = self.access.insert_new(AccessRecord {
            family: owner.family,
            client_id: owner.client_id.clone(),
            user: owner.user.clone(),
            scope: scope.clone(),
            issued_s: now_ms / 1000,
            expires_ms: now_ms.saturating_add(expires_in.saturating_mul(1000)),
        });
        Issued {
            access_token,
            expires_in,
            refresh_token,
            scope,
            client_id: owner.client_id,
            user: owner.user,
            auth_time_s: owner.auth_time_s,
            generation,
            bound: false,
        }
    }

    /// The rotation a family's refreshes follow.
    fn rotation_of(&self, family: &Family) -> Rotation {
        if family.keeps_token {
            Rotation::Static
        } else {
            self.policy.rotation
        }
    }

    fn capped(&self, family: &Family, expires_ms: u64) -> u64 {
        family.cap_ms.map_or(expires_ms, |cap| expires_ms.min(cap))
    }

    /// The refresh-token grant (RFC 6749 §6) for `client_id`, optionally
    /// narrowing the scope to `requested`.
    #[cfg(test)]
    pub async fn refresh(
        &self,
        token: &str,
        client_id: &str,
        requested: Option<&str>,
        now_ms: u64,
    ) -> Result<Issued, RefreshError> {
        self.refresh_with(token, client_id, requested, now_ms, None)
            .await
    }

    /// A refresh presented with a DPoP proof by the key `jkt`, if any: a
    /// bound family needs its own key's proof (RFC 9449 §5).
    pub async fn refresh_with(
        &self,
        token: &str,
        client_id: &str,
        requested: Option<&str>,
        now_ms: u64,
        jkt: Option<&str>,
    ) -> Result<Issued, RefreshError> {
        let faults = self.policy.faults;
        let key = Key::of(token);
        let (family, generation, expires_ms, issued_s) = {
            let shard = self.refresh.lock(&key);
            let r = shard.get(&key).ok_or(RefreshError::Unknown)?;
            (r.family.clone(), r.generation, r.expires_ms, r.issued_s)
        };
        if *family.client_id != *client_id && !faults.has(Fault::CrossClient) {
            if faults.has(Fault::RefusedRefreshRevokes) {
                family.revoke();
            }
            return Err(RefreshError::WrongClient);
        }
        if family.is_revoked() {
            return Err(RefreshError::Revoked);
        }
        if let Some(bound) = family.jkt.as_deref()
            && !faults.has(Fault::DpopUnbound)
        {
            match jkt {
                None => return Err(RefreshError::DpopMissing),
                Some(k) if k != bound => return Err(RefreshError::DpopKey),
                Some(_) => {}
            }
        }
        if (now_ms >= expires_ms || family.expired(now_ms))
            && !faults.has(Fault::ExpiredRefreshAccepted)
        {
            return Err(RefreshError::Expired);
        }
        // The `keeps_narrowed_scope` fault: the grant shrinks to the last
        // narrowed scope.
        let granted = match faults.has(Fault::KeepsNarrowedScope) {
            true => lock(&family.state)
                .narrowed
                .clone()
                .unwrap_or_else(|| family.scope.clone()),
            false => family.scope.clone(),
        };
        let scope = match requested {
            None => granted,
            Some(s) if scope_within(s, &granted) || faults.has(Fault::ScopeWiden) => {
                if faults.has(Fault::KeepsNarrowedScope) {
                    lock(&family.state).narrowed = Some(Arc::from(s));
                }
                Arc::from(s)
            }
            Some(_) => return Err(RefreshError::InvalidScope),
        };
        let rotating = self.rotation_of(&family) == Rotation::Rotate;
        // The `same_second_stale` fault: a stale token is judged by the
        // second it was issued in against the second of the family's last
        // rotation, and the same second passes.
        let generation = if faults.has(Fault::SameSecondStale) && rotating {
            let st = lock(&family.state);
            if generation < st.current_gen && issued_s == st.rotated_at_ms / 1000 {
                st.current_gen
            } else {
                generation
            }
        } else {
            generation
        };
        let (family, step) = if faults.has(Fault::Race) && rotating {
            let step = self
                .step_racy(&family, generation, expires_ms, now_ms)
                .await?;
            (family, step)
        } else if faults.has(Fault::RevokeRace) && rotating {
            self.step_outliving_revocation(&family, generation, expires_ms, now_ms)
                .await?
        } else {
            let step = self.step(&family, generation, expires_ms, now_ms)?;
            (family, step)
        };
        // Single flight: the rotating refresh answers after its window,
        // the copies that came meanwhile got its successor.
        if matches!(step, Step::Rotated { .. }) && self.policy.single_flight_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(
                self.policy.single_flight_ms,
            ))
            .await;
        }
        let (refresh_token, generation) = match step {
            Step::Keep => match self.rotation_of(&family) {
                Rotation::Omit => (None, generation),
                _ => (Some(token.to_string()), generation),
            },
            Step::Rotated { token, generation } | Step::Grace { token, generation } => {
                (Some(token), generation)
            }
        };
        let bound = family.jkt.is_some() && jkt.is_some();
        let owner = Owner {
            client_id: family.client_id.clone(),
            user: family.user.clone(),
            auth_time_s: family.auth_time_s,
            family: Some(family),
        };
        let mut issued = self.issue_access(owner, scope, refresh_token, generation, now_ms);
        issued.bound = bound;
        Ok(issued)
    }

    /// The atomic check-then-act of a refresh.
    fn step(
        &self,
        family: &Arc<Family>,
        generation: u32,
        expires_ms: u64,
        now_ms: u64,
    ) -> Result<Step, RefreshError> {
        let p = &self.policy;
        let mut st = lock(&family.state);
        if family.is_revoked() {
            return Err(RefreshError::Revoked);
        }
        if p.rotation != Rotation::Rotate || family.keeps_token {
            return Ok(Step::Keep);
        }
        if generation == st.current_gen || p.faults.has(Fault::RotationKeepsOld) {
            return Ok(self.rotate(family, &mut st, expires_ms, now_ms));
        }
        // A copy that came while the rotating refresh is still in flight:
        // its successor, nothing rotated, nothing revoked.
        if p.single_flight_ms > 0
            && st.grace_gen == Some(generation)
            && now_ms < st.rotated_at_ms.saturating_add(p.single_flight_ms)
            && let Some(token) = st.current.clone()
        {
            return Ok(Step::Grace {
                token,
                generation: st.current_gen,
            });
        }
        let in_grace = p.grace_ms > 0
            && st.grace_gen == Some(generation)
            && now_ms < st.rotated_at_ms.saturating_add(p.grace_ms);
        // Graceful rotation's reuse limit (the `grace_limit_ignored` fault
        // forgets it).
        let within_limit = p
            .grace_reuse_limit
            .is_none_or(|n| st.grace_reuses < n || p.faults.has(Fault::GraceLimitIgnored));
        // `same`: the successor again; `new`: a fresh pair (the
        // `grace_wrong_successor` fault gives the other).
        let fresh =
            (p.grace_returns == GraceReturns::New) != p.faults.has(Fault::GraceWrongSuccessor);
        match (in_grace && within_limit, st.current.clone()) {
            (true, Some(_)) if fresh => {
                let (reuses, rotated_at, grace_gen) =
                    (st.grace_reuses + 1, st.rotated_at_ms, st.grace_gen);
                let step = self.rotate(family, &mut st, expires_ms, now_ms);
                // Still the same grace window and count: the replayed token
                // stays the one inside it.
                st.grace_reuses = reuses;
                st.rotated_at_ms = rotated_at;
                st.grace_gen = grace_gen;
                Ok(match step {
                    Step::Rotated { token, generation } => Step::Grace { token, generation },
                    other => other,
                })
            }
            (true, Some(token)) => {
                st.grace_reuses += 1;
                Ok(Step::Grace {
                    token,
                    generation: st.current_gen,
                })
            }
            _ => {
                if p.reuse_detection == ReuseDetection::Family
                    && !p.faults.has(Fault::NoFamilyRevoke)
                {
                    family.revoked.store(true, Ordering::Release);
                }
                Err(RefreshError::Reused)
            }
        }
    }

    /// The `race` fault: the same check, but its result is acted on after
    /// the lock was released and the task waited out [`RACE_WINDOW`], so
    /// concurrent refreshes of one token all pass the check before any of them
    /// writes.
    async fn step_racy(
        &self,
        family: &Arc<Family>,
        generation: u32,
        expires_ms: u64,
        now_ms: u64,
    ) -> Result<Step, RefreshError> {
        let current = lock(&family.state).current_gen;
        if generation != current || family.is_revoked() {
            return self.step(family, generation, expires_ms, now_ms);
        }
        tokio::time::sleep(RACE_WINDOW).await;
        let mut st = lock(&family.state);
        Ok(self.rotate(family, &mut st, expires_ms, now_ms))
    }

    /// The `revoke_race` fault: the check passes and claims the rotation
    /// under the lock, then the successor is written after [`RACE_WINDOW`];
    /// when a revocation came in between, into a copy of the family made
    /// from what the check saw, which the revocation does not reach.
    async fn step_outliving_revocation(
        &self,
        family: &Arc<Family>,
        generation: u32,
        expires_ms: u64,
        now_ms: u64,
    ) -> Result<(Arc<Family>, Step), RefreshError> {
        {
            let mut st = lock(&family.state);
            if family.is_revoked() || generation != st.current_gen {
                drop(st);
                return self
                    .step(family, generation, expires_ms, now_ms)
                    .map(|s| (family.clone(), s));
            }
            st.current_gen += 1;
        }
        tokio::time::sleep(RACE_WINDOW).await;
        if !family.is_revoked() {
            // Nothing came in between: an ordinary rotation.
            let mut st = lock(&family.state);
            st.current_gen = generation;
            let step = self.rotate(family, &mut st, expires_ms, now_ms);
            return Ok((family.clone(), step));
        }
        // A revocation came in between, and the write does not see it.
        let copy = Arc::new(Family {
            client_id: family.client_id.clone(),
            user: family.user.clone(),
            scope: family.scope.clone(),
            auth_time_s: family.auth_time_s,
            keeps_token: family.keeps_token,
            cap_ms: family.cap_ms,
            revoked: AtomicBool::new(false),
            state: Mutex::new(FamilyState {
                current_gen: generation,
                rotated_at_ms: now_ms,
                current: None,
                narrowed: None,
                grace_reuses: 0,
                grace_gen: None,
            }),
            jkt: family.jkt.clone(),
        });
        let step = {
            let mut st = lock(&copy.state);
            self.rotate(&copy, &mut st, expires_ms, now_ms)
        };
        Ok((copy, step))
    }

    /// Issues the successor refresh token; the caller holds the family lock.
    fn rotate(
        &self,
        family: &Arc<Family>,
        st: &mut FamilyState,
        prev_expires_ms: u64,
        now_ms: u64,
    ) -> Step {
        let p = &self.policy;
        let expires_ms = self.capped(
            family,
            match p.refresh_expiry {
                RefreshExpiry::Sliding => now_ms.saturating_add(p.refresh_ttl_ms),
                RefreshExpiry::Absolute => prev_expires_ms,
            },
        );
        let generation = st.current_gen + 1;
        let token = self.refresh.insert_new(RefreshRecord {
            family: family.clone(),
            generation,
            expires_ms,
            issued_s: now_ms / 1000,
        });
        st.grace_gen = Some(st.current_gen);
        st.current_gen = generation;
        st.rotated_at_ms = now_ms;
        st.grace_reuses = 0;
        if p.grace_ms > 0 || p.single_flight_ms > 0 {
            st.current = Some(token.clone());
        }
        Step::Rotated { token, generation }
    }

    /// Drops expired and revoked state; returns how many tokens were dropped.
    /// Rotated refresh tokens stay until they expire, so that their reuse is
    /// still detected. With `expired_refresh_accepted`, expired refresh tokens
    /// stay too (that is the defect).
    pub fn purge(&self, now_ms: u64) -> usize {
        let keep_expired = self.policy.faults.has(Fault::ExpiredRefreshAccepted);
        let refresh = self.refresh.retain(|r| {
            !r.family.is_revoked()
                && (keep_expired || (now_ms < r.expires_ms && !r.family.expired(now_ms)))
        });
        let access = self.access.retain(|r| {
            now_ms < r.expires_ms && !r.family.as_ref().is_some_and(|f| f.is_revoked())
        });
        refresh + access
    }

    /// (access tokens, refresh tokens) held.
    pub fn len(&self) -> (usize, usize) {
        (self.access.len(), self.refresh.len())
    }
}

mod lookup;

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
