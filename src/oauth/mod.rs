//! The client side of the wire: every request tokenprobe sends is built and
//! sent here.
//!
//! - [`request`]: token, revocation and introspection requests, client
//!   authentication of every method, user-credential placement;
//! - [`auth`]: Basic credentials, client assertions and their keys;
//! - [`http`]: the HTTP client, capped reads, transport errors classified;
//! - [`record`]: send, register secrets with the redactor, record redacted;
//! - [`idtoken`]: id_token verification against a JWKS;
//! - [`login`]: how a session starts: the password grant, the headless
//!   authorization-code flow, a JWT user assertion, a command.
//!
//! DPoP proofs are signed with [`crate::dpop`], which the mock shares.
//!
//! Nothing above it (`target`, `scenario`, `check`, `load`, `cli`) may be
//! used here: they use it.
//!
//! May use: `dpop`, `redact`, `secret`, `verdict`, `wire`.

pub mod auth;
pub mod http;
pub mod idtoken;
pub mod login;
pub mod record;
pub mod replay;
pub mod request;

pub use request::{Client, ClientAuth, RequestError, TokenForm, TokenRequest, WireRequest};

/// A random URL-safe string with `bytes` bytes of entropy.
/// Two issuer identifiers name the same issuer: equal but for a trailing
/// `/` (RFC 8414 §2 and OpenID Connect Discovery §4.3 compare them as
/// strings; a trailing slash is the one difference seen in practice).
pub fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

pub fn random_token(bytes: usize) -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}
