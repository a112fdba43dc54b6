//! The wire side of the client: HTTP transport (`http`), client
//! authentication and JWTs (`auth`). Scenario semantics live in `check`.

pub mod auth;
pub mod http;
pub mod idtoken;

/// A random URL-safe string with `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}
