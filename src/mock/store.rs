//! The mock's state: accounts, issued tokens and refresh-token families.
//! All decisions that must be atomic (rotation, reuse detection) happen
//! inside one `&mut Store` call, under the server's lock.

use super::MockConfig;
use crate::target::{RefreshExpiry, ReuseDetection, Rotation};
use crate::wire::ErrorCode;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct Account {
    pub username: String,
    pub password: String,
}

impl Account {
    pub fn new(u: &str, p: &str) -> Account {
        Account {
            username: u.into(),
            password: p.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ClientAccount {
    pub id: String,
    pub secret: String,
    /// Grant types this client may use.
    pub grants: Vec<String>,
}

impl ClientAccount {
    pub fn new(id: &str, secret: &str, grants: Vec<String>) -> ClientAccount {
        ClientAccount {
            id: id.into(),
            secret: secret.into(),
            grants,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum RtState {
    Active,
    /// Rotated at this time; `index` of the token in its family.
    Rotated {
        at: u64,
    },
    Revoked,
}

#[derive(Debug, Clone)]
struct RefreshRecord {
    family: u64,
    index: u64,
    client: String,
    user: Option<String>,
    scope: Vec<String>,
    expires_at: u64,
    state: RtState,
}

#[derive(Debug, Clone)]
struct Family {
    revoked: bool,
    created_at: u64,
    /// Index of the newest refresh token.
    latest: u64,
    access_tokens: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct AccessRecord {
    pub family: Option<u64>,
    pub client: String,
    pub user: Option<String>,
    pub scope: Vec<String>,
    pub expires_at: u64,
    pub issued_at: u64,
}

/// Tokens issued by a successful grant.
#[derive(Debug, Clone)]
pub struct Issued {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub scope: Vec<String>,
    pub expires_in: u64,
}

pub type Refusal = (ErrorCode, &'static str);

#[derive(Default)]
pub struct Store {
    refresh: HashMap<String, RefreshRecord>,
    access: HashMap<String, AccessRecord>,
    families: HashMap<u64, Family>,
    next_family: u64,
    ops: u64,
}

/// A fresh token: 32 bytes from the OS-seeded CSPRNG, base64url (256 bits).
pub fn new_token() -> String {
    crate::oauth::random_token(32)
}

impl Store {
    /// Issues tokens for a password or client_credentials grant.
    pub fn issue(
        &mut self,
        cfg: &MockConfig,
        client: &str,
        user: Option<&str>,
        scope: Vec<String>,
        with_refresh: bool,
        now: u64,
    ) -> Issued {
        self.maintain(now);
        let family = with_refresh.then(|| {
            self.next_family += 1;
            let id = self.next_family;
            self.families.insert(
                id,
                Family {
                    revoked: false,
                    created_at: now,
                    latest: 0,
                    access_tokens: Vec::new(),
                },
            );
            id
        });
        let refresh_token = family.map(|f| {
            let rt = new_token();
            self.refresh.insert(
                rt.clone(),
                RefreshRecord {
                    family: f,
                    index: 0,
                    client: client.into(),
                    user: user.map(str::to_string),
                    scope: scope.clone(),
                    expires_at: now + cfg.refresh_token_ttl_s,
                    state: RtState::Active,
                },
            );
            rt
        });
        let access_token = self.new_access(cfg, family, client, user, &scope, now);
        Issued {
            access_token,
            refresh_token,
            scope,
            expires_in: cfg.access_token_ttl_s,
        }
    }

    fn new_access(
        &mut self,
        cfg: &MockConfig,
        family: Option<u64>,
        client: &str,
        user: Option<&str>,
        scope: &[String],
        now: u64,
    ) -> String {
        let at = new_token();
        self.access.insert(
            at.clone(),
            AccessRecord {
                family,
                client: client.into(),
                user: user.map(str::to_string),
                scope: scope.to_vec(),
                expires_at: now + cfg.access_token_ttl_s,
                issued_at: now,
            },
        );
        if let Some(f) = family.and_then(|f| self.families.get_mut(&f)) {
            f.access_tokens.push(at.clone());
        }
        at
    }

    /// The refresh grant: validation, rotation and reuse detection in one
    /// atomic step.
    pub fn refresh(
        &mut self,
        cfg: &MockConfig,
        token: &str,
        client: &str,
        requested: Option<Vec<String>>,
        now: u64,
    ) -> Result<Issued, Refusal> {
        self.maintain(now);
        let Some(rec) = self.refresh.get(token).cloned() else {
            return Err((ErrorCode::InvalidGrant, "unknown refresh token"));
        };
        if rec.client != client {
            return Err((
                ErrorCode::InvalidGrant,
                "refresh token was issued to another client",
            ));
        }
        let family = self.families.get(&rec.family).cloned();
        let Some(family) = family else {
            return Err((ErrorCode::InvalidGrant, "refresh token is no longer valid"));
        };
        if family.revoked || rec.state == RtState::Revoked {
            return Err((ErrorCode::InvalidGrant, "refresh token has been revoked"));
        }
        if now >= rec.expires_at {
            return Err((ErrorCode::InvalidGrant, "refresh token has expired"));
        }
        if let Some(max) = cfg.refresh_token_max_lifetime_s
            && now >= family.created_at + max
        {
            return Err((
                ErrorCode::InvalidGrant,
                "refresh token family has reached its maximum lifetime",
            ));
        }
        if let RtState::Rotated { at } = rec.state {
            let in_grace = cfg.grace_period_s > 0
                && now <= at + cfg.grace_period_s
                && family.latest == rec.index + 1;
            if !in_grace {
                if cfg.reuse_detection == ReuseDetection::Family {
                    self.revoke_family(rec.family);
                }
                return Err((
                    ErrorCode::InvalidGrant,
                    "refresh token has already been used",
                ));
            }
        }
        let scope = match requested {
            None => rec.scope.clone(),
            Some(req) => {
                if req.iter().any(|s| !rec.scope.contains(s)) {
                    return Err((
                        ErrorCode::InvalidScope,
                        "requested scope exceeds the original grant",
                    ));
                }
                req
            }
        };
        let refresh_token = match cfg.rotation {
            Rotation::Rotate => {
                let new = new_token();
                let expires_at = match cfg.refresh_expiry {
                    RefreshExpiry::Sliding => now + cfg.refresh_token_ttl_s,
                    RefreshExpiry::Absolute => rec.expires_at,
                };
                let index = family.latest + 1;
                self.refresh.insert(
                    new.clone(),
                    RefreshRecord {
                        index,
                        expires_at,
                        state: RtState::Active,
                        ..rec.clone()
                    },
                );
                if let Some(old) = self.refresh.get_mut(token)
                    && old.state == RtState::Active
                {
                    old.state = RtState::Rotated { at: now };
                }
                if let Some(f) = self.families.get_mut(&rec.family) {
                    f.latest = index;
                }
                Some(new)
            }
            Rotation::Static => Some(token.to_string()),
            Rotation::Omit => None,
        };
        let access_token = self.new_access(
            cfg,
            Some(rec.family),
            client,
            rec.user.as_deref(),
            &scope,
            now,
        );
        Ok(Issued {
            access_token,
            refresh_token,
            scope,
            expires_in: cfg.access_token_ttl_s,
        })
    }

    fn revoke_family(&mut self, family: u64) {
        if let Some(f) = self.families.get_mut(&family) {
            f.revoked = true;
            for at in std::mem::take(&mut f.access_tokens) {
                self.access.remove(&at);
            }
        }
    }

    /// RFC 7009: revokes a token if `client` owns it. Unknown tokens are
    /// ignored (the caller answers 200 either way).
    pub fn revoke(&mut self, token: &str, client: &str) {
        if let Some(rec) = self.refresh.get(token)
            && rec.client == client
        {
            let f = rec.family;
            self.revoke_family(f);
            return;
        }
        if self.access.get(token).is_some_and(|a| a.client == client) {
            self.access.remove(token);
        }
    }

    /// RFC 7662: the token's state as the owning client may see it.
    pub fn introspect(
        &self,
        token: &str,
        client: &str,
        now: u64,
    ) -> crate::wire::IntrospectionResponse {
        use crate::wire::IntrospectionResponse;
        if let Some(a) = self.access.get(token)
            && a.client == client
            && now < a.expires_at
            && a.family
                .is_none_or(|f| self.families.get(&f).is_some_and(|f| !f.revoked))
        {
            return IntrospectionResponse {
                active: true,
                scope: Some(a.scope.join(" ")),
                client_id: Some(a.client.clone()),
                username: a.user.clone(),
                sub: a.user.clone(),
                token_type: Some("Bearer".into()),
                exp: Some(a.expires_at),
                iat: Some(a.issued_at),
            };
        }
        if let Some(r) = self.refresh.get(token)
            && r.client == client
            && r.state == RtState::Active
            && now < r.expires_at
            && self.families.get(&r.family).is_some_and(|f| !f.revoked)
        {
            return IntrospectionResponse {
                active: true,
                scope: Some(r.scope.join(" ")),
                client_id: Some(r.client.clone()),
                username: r.user.clone(),
                sub: r.user.clone(),
                token_type: Some("refresh_token".into()),
                exp: Some(r.expires_at),
                iat: None,
            };
        }
        IntrospectionResponse::default()
    }

    /// Drops expired state now and then, so memory stays bounded.
    fn maintain(&mut self, now: u64) {
        self.ops += 1;
        if !self.ops.is_multiple_of(4096) {
            return;
        }
        self.access.retain(|_, a| a.expires_at > now);
        self.refresh.retain(|_, r| r.expires_at > now);
        let live: std::collections::HashSet<u64> =
            self.refresh.values().map(|r| r.family).collect();
        self.families.retain(|id, _| live.contains(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn rotation_refuses_the_old_token_and_reuse_revokes_the_family() {
        let cfg = MockConfig::strict();
        let mut s = Store::default();
        let r0 = s
            .issue(&cfg, "app", Some("alice"), scope("read"), true, 100)
            .refresh_token
            .unwrap();
        let i1 = s.refresh(&cfg, &r0, "app", None, 101).unwrap();
        let r1 = i1.refresh_token.unwrap();
        assert_ne!(r0, r1);
        assert_eq!(
            s.refresh(&cfg, &r0, "app", None, 102).unwrap_err().0,
            ErrorCode::InvalidGrant
        );
        // The replay revoked the family: the successor is dead too, and so is its access token.
        assert_eq!(
            s.refresh(&cfg, &r1, "app", None, 103).unwrap_err().0,
            ErrorCode::InvalidGrant
        );
        assert!(!s.introspect(&i1.access_token, "app", 103).active);
    }

    #[test]
    fn binding_scope_and_expiry() {
        let cfg = MockConfig::strict();
        let mut s = Store::default();
        let r0 = s
            .issue(&cfg, "app", Some("alice"), scope("read write"), true, 0)
            .refresh_token
            .unwrap();
        assert_eq!(
            s.refresh(&cfg, &r0, "other-app", None, 1).unwrap_err().0,
            ErrorCode::InvalidGrant
        );
        assert_eq!(
            s.refresh(&cfg, &r0, "app", Some(scope("read admin")), 1)
                .unwrap_err()
                .0,
            ErrorCode::InvalidScope
        );
        let narrowed = s.refresh(&cfg, &r0, "app", Some(scope("read")), 1).unwrap();
        assert_eq!(narrowed.scope, scope("read"));
        let r1 = narrowed.refresh_token.unwrap();
        assert_eq!(
            s.refresh(&cfg, &r1, "app", Some(scope("read write")), 2)
                .unwrap()
                .scope,
            scope("read write")
        );
        let r = s
            .issue(&cfg, "app", None, scope("read"), true, 0)
            .refresh_token
            .unwrap();
        assert!(
            s.refresh(&cfg, &r, "app", None, cfg.refresh_token_ttl_s)
                .is_err()
        );
    }
}
