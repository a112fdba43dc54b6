//! Secrets by construction.
//!
//! Passwords, client secrets, client assertions and every issued token are held
//! in a [`Secret`], whose `Debug` and `Display` never show the value. Where a
//! report must still prove that a token changed (rotation), it shows a
//! [`fingerprint`]: a kind prefix and six hex digits of a SHA-256 digest, e.g.
//! `rt#3f9a1c`.
//!
//! May use: nothing else of the crate.

use sha2::{Digest, Sha256};
use std::fmt;

/// A secret string. The value is reachable only through [`Secret::expose`],
/// which makes every place that sends a secret over the wire easy to find.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself: only for putting it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A short fingerprint of the value with the given kind prefix.
    pub fn fingerprint(&self, kind: &str) -> String {
        fingerprint(kind, &self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.fingerprint("s"))
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.fingerprint("s"))
    }
}

/// `kind#xxxxxx`: the first six hex digits of SHA-256 over the value. Six
/// digits keep reports readable; they identify, they do not authenticate.
pub fn fingerprint(kind: &str, value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    format!("{kind}#{:02x}{:02x}{:02x}", digest[0], digest[1], digest[2])
}

/// The fingerprint prefix for a token-response member or form parameter that
/// carries a secret, or `None` when the member is not secret.
pub fn secret_kind(member: &str) -> Option<&'static str> {
    Some(match member {
        "access_token" => "at",
        "refresh_token" => "rt",
        "id_token" => "id",
        "password" => "pw",
        "client_secret" => "cs",
        "client_assertion" => "ca",
        "token" => "tk",
        "assertion" => "as",
        "code" => "cd",
        "code_verifier" => "cv",
        _ => return None,
    })
}

/// Parameters of the OAuth protocol that are public by design: a login
/// page's hidden field of one of these names (a consent form carrying the
/// request's `scope` and `redirect_uri`) is evidence, not a secret.
pub fn public_parameter(name: &str) -> bool {
    matches!(
        name,
        "scope"
            | "redirect_uri"
            | "client_id"
            | "response_type"
            | "response_mode"
            | "state"
            | "grant_type"
            | "prompt"
            | "code_challenge_method"
            | "ui_locales"
            | "acr_values"
            | "display"
            | "login_hint"
            | "max_age"
            | "claims_locales"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("hunter2-very-secret");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{s}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2-very-secret");
    }

    #[test]
    fn fingerprints_are_stable_and_distinguish_values() {
        assert_eq!(fingerprint("rt", "a"), fingerprint("rt", "a"));
        assert_ne!(fingerprint("rt", "a"), fingerprint("rt", "b"));
        let fp = fingerprint("rt", "abc");
        assert!(fp.starts_with("rt#") && fp.len() == 9, "{fp}");
    }
}
