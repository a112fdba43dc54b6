//! The store read and revoked from outside a grant: revocation (RFC 7009)
//! and introspection (RFC 7662), by a token's digest like every lookup.

use super::{Fault, Key, Rotation, Store, TokenInfo, lock};

impl Store {
    /// RFC 7009: revokes `token` when it was issued to `client_id`. An access
    /// token is revoked alone; a refresh token takes its whole family (and the
    /// family's access tokens) with it. Returns whether anything was revoked.
    pub fn revoke(&self, token: &str, client_id: &str) -> bool {
        let key = Key::of(token);
        {
            let mut shard = self.access.lock(&key);
            if let Some(r) = shard.get(&key) {
                let mine = *r.client_id == *client_id;
                if mine {
                    shard.remove(&key);
                }
                return mine;
            }
        }
        let family = self.refresh.lock(&key).get(&key).map(|r| r.family.clone());
        match family {
            Some(f) if *f.client_id == *client_id => {
                f.revoke();
                true
            }
            _ => false,
        }
    }

    /// Whether `token` is a refresh token this store issued.
    pub fn is_refresh_token(&self, token: &str) -> bool {
        let key = Key::of(token);
        self.refresh.lock(&key).get(&key).is_some()
    }

    /// Revokes the family of a refresh token, whoever asks (the
    /// `refused_refresh_revokes` fault).
    pub fn revoke_family_of(&self, token: &str) {
        let key = Key::of(token);
        if let Some(f) = self.refresh.lock(&key).get(&key).map(|r| r.family.clone()) {
            f.revoke();
        }
    }

    /// RFC 7662: what is known about `token` when it is live (an access token
    /// unexpired and not revoked; a refresh token that a refresh would
    /// accept), else `None`.
    pub fn introspect(&self, token: &str, now_ms: u64) -> Option<TokenInfo> {
        self.access_info(token, now_ms)
            .or_else(|| self.refresh_info(token, now_ms))
    }

    /// Like [`Store::introspect`], for access tokens only (bearer endpoints).
    pub fn access_info(&self, token: &str, now_ms: u64) -> Option<TokenInfo> {
        let key = Key::of(token);
        let shard = self.access.lock(&key);
        let r = shard.get(&key)?;
        let revoked = r.family.as_ref().is_some_and(|f| f.is_revoked());
        (!revoked && now_ms < r.expires_ms).then(|| TokenInfo {
            refresh: false,
            client_id: r.client_id.clone(),
            user: r.user.clone(),
            scope: r.scope.clone(),
            issued_s: Some(r.issued_s),
            expires_s: r.expires_ms / 1000,
        })
    }

    fn refresh_info(&self, token: &str, now_ms: u64) -> Option<TokenInfo> {
        let key = Key::of(token);
        let (family, generation, expires_ms) = {
            let shard = self.refresh.lock(&key);
            let r = shard.get(&key)?;
            (r.family.clone(), r.generation, r.expires_ms)
        };
        let faults = self.policy.faults;
        let expired = (now_ms >= expires_ms || family.expired(now_ms))
            && !faults.has(Fault::ExpiredRefreshAccepted);
        let current = self.rotation_of(&family) != Rotation::Rotate
            || faults.has(Fault::RotationKeepsOld)
            || lock(&family.state).current_gen == generation;
        (!family.is_revoked() && !expired && current).then(|| TokenInfo {
            refresh: true,
            client_id: family.client_id.clone(),
            user: family.user.clone(),
            scope: family.scope.clone(),
            issued_s: None,
            expires_s: expires_ms / 1000,
        })
    }
}
