//! The authorization endpoint's state: interactions on their way through
//! the pages, signed-in sessions and issued codes. Only data: the handlers
//! that change it are `login`'s (so that `app`, which holds it, does not
//! reach back into the handlers).

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// An authorization request on its way through the pages. No `Debug`: it
/// holds the anti-forgery value.
#[derive(Clone)]
pub(super) struct Interaction {
    pub(super) client_id: Arc<str>,
    pub(super) redirect_uri: String,
    /// Whether the request named the redirect URI (then the exchange must
    /// name it too, §4.1.3).
    pub(super) redirect_sent: bool,
    pub(super) scope: Arc<str>,
    pub(super) state: Option<String>,
    pub(super) nonce: Option<String>,
    pub(super) challenge: Option<(String, String)>,
    /// The anti-forgery value the login and consent forms carry.
    pub(super) csrf: String,
    /// Set once the user signed in: who, and when (the mock's clock).
    pub(super) user: Option<(Arc<str>, u64)>,
    /// Identifier-first: the username the first page took.
    pub(super) identified: Option<Arc<str>>,
    /// MFA: who gave the right password and still owes the code.
    pub(super) mfa_pending: Option<(Arc<str>, u64)>,
    pub(super) mfa_failures: u32,
    pub(super) created_ms: u64,
}

/// An issued code (kept by its digest). No `Debug`: it holds what the
/// code's first exchange issued.
pub(super) struct CodeRecord {
    pub(super) client_id: Arc<str>,
    pub(super) redirect_uri: Option<String>,
    pub(super) scope: Arc<str>,
    pub(super) user: Arc<str>,
    pub(super) auth_time_s: u64,
    pub(super) nonce: Option<String>,
    pub(super) challenge: Option<(String, String)>,
    pub(super) expires_ms: u64,
    pub(super) used: bool,
    /// What its first exchange issued, revoked when the code comes again.
    pub(super) issued: Option<(String, Option<String>)>,
}

/// The authorization endpoint's state. Its `Debug` shows counts only.
#[derive(Default)]
pub struct Logins {
    pub(super) interactions: Mutex<HashMap<String, Interaction>>,
    /// Session cookie value → (user, when they signed in).
    pub(super) sessions: Mutex<HashMap<String, (Arc<str>, u64)>>,
    pub(super) codes: Mutex<HashMap<[u8; 32], CodeRecord>>,
    /// Answers posted to the MFA page, right or wrong.
    pub mfa_posts: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Logins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logins")
            .field("interactions", &lock(&self.interactions).len())
            .field("sessions", &lock(&self.sessions).len())
            .field("codes", &lock(&self.codes).len())
            .finish()
    }
}

/// Most interactions kept at once (a bound on a flood of GETs).
pub(super) const MAX_INTERACTIONS: usize = 100_000;
/// How long an interaction may take, milliseconds.
pub(super) const INTERACTION_MS: u64 = 10 * 60 * 1000;

pub(super) const SESSION_COOKIE: &str = "tp_session";

pub(super) fn digest(code: &str) -> [u8; 32] {
    Sha256::digest(code.as_bytes()).into()
}

pub(super) fn random() -> String {
    crate::dpop::new_jti()
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Logins {
    /// Drops what has expired.
    pub fn purge(&self, now_ms: u64) {
        lock(&self.interactions).retain(|_, i| now_ms < i.created_ms + INTERACTION_MS);
        lock(&self.codes).retain(|_, c| now_ms < c.expires_ms + INTERACTION_MS);
    }
}
