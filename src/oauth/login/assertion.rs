//! The JWT user assertion (RFC 7523 §2.1, grant type
//! `urn:ietf:params:oauth:grant-type:jwt-bearer`): the first token of a
//! session from a signed statement about the user, as Oracle IDCS takes it.
//! §3 says what the server must refuse; [`UserAssertionDefect`] plants each
//! of those defects, one at a time.

use crate::oauth::auth::{SignError, SigningKey};
use crate::secret::Secret;
use jsonwebtoken::{EncodingKey, Header};
use serde::{Deserialize, Serialize};

/// The target's assertion settings (`login:` with `grant: jwt_bearer`).
#[derive(Debug, Clone)]
pub struct UserAssertion {
    pub key: SigningKey,
    pub kid: Option<String>,
    /// `iss`: who makes the statement; `None`: the requesting client's id
    /// (as IDCS takes it).
    pub iss: Option<String>,
    /// `sub`: the user; `None`: the user's username.
    pub sub: Option<String>,
    /// `aud`: the authorization server; `None`: the token endpoint.
    pub aud: Option<String>,
    pub lifetime_s: u64,
    /// The server tracks `jti`s and refuses a replayed assertion (RFC 7523
    /// §3 item 7 lets it).
    pub tracks_jti: bool,
}

/// A defect planted in a user assertion (RFC 7523 §3), for the checks that
/// the server refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserAssertionDefect {
    /// `exp` ten minutes in the past (§3 item 4).
    Expired,
    /// `aud` another server's (§3 item 3).
    WrongAudience,
    /// Signed by a key the server never saw (§3 item 9).
    UnknownKey,
    /// One character of the signature changed (§3 item 9).
    BadSignature,
    /// Sent twice: the step's request once, then again unchanged.
    Replayed,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: String,
    iat: u64,
    nbf: u64,
    exp: u64,
}

/// A signed assertion about `username` for `audience` (the token endpoint
/// unless the target says otherwise), with `defect` planted.
pub fn user_assertion(
    a: &UserAssertion,
    client_id: &str,
    username: &str,
    audience: &str,
    defect: Option<UserAssertionDefect>,
) -> Result<Secret, SignError> {
    let now = crate::dpop::now_s();
    let issued = if defect == Some(UserAssertionDefect::Expired) {
        now.saturating_sub(600 + a.lifetime_s)
    } else {
        now
    };
    let claims = Claims {
        iss: a.iss.as_deref().unwrap_or(client_id),
        sub: a.sub.as_deref().unwrap_or(username),
        aud: if defect == Some(UserAssertionDefect::WrongAudience) {
            "https://elsewhere.invalid/oauth2/v1/token"
        } else {
            a.aud.as_deref().unwrap_or(audience)
        },
        jti: crate::oauth::random_token(16),
        iat: issued,
        nbf: issued,
        exp: issued + a.lifetime_s.max(1),
    };
    let alg = a.key.algorithm();
    let mut header = Header::new(alg);
    header.kid = a.kid.clone();
    let other;
    let key = match (&a.key, defect) {
        (_, Some(UserAssertionDefect::UnknownKey)) => {
            other = other_key(alg)?;
            &other
        }
        (SigningKey::Private(_, k), _) => k,
        (SigningKey::Hmac(_), _) => {
            return Err(SignError::NotPrivate);
        }
    };
    let jwt = jsonwebtoken::encode(&header, &claims, key).map_err(|e| SignError::Sign {
        what: "user assertion",
        detail: e.to_string(),
    })?;
    Ok(Secret::new(
        if defect == Some(UserAssertionDefect::BadSignature) {
            crate::oauth::auth::corrupt_signature(&jwt)
        } else {
            jwt
        },
    ))
}

/// A key of `alg`'s kind that no server knows, made now.
fn other_key(alg: jsonwebtoken::Algorithm) -> Result<EncodingKey, SignError> {
    use jsonwebtoken::Algorithm::*;
    let pem = match alg {
        ES256 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        ES384 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        EdDSA => rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519),
        _ => rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256),
    }
    .map_err(|e| SignError::Key(e.to_string()))?
    .serialize_pem();
    match alg {
        ES256 | ES384 => EncodingKey::from_ec_pem(pem.as_bytes()),
        EdDSA => EncodingKey::from_ed_pem(pem.as_bytes()),
        _ => EncodingKey::from_rsa_pem(pem.as_bytes()),
    }
    .map_err(|e| SignError::Key(e.to_string()))
}
