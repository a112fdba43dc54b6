//! Verifying an id_token's signature against the issuer's JWKS (OpenID
//! Connect Core §3.1.3.7): the key named by `kid` (or the only key), the
//! algorithm the header names (never `none`), `aud` holding the client,
//! `iss` when the target declares one, and `exp` not passed.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

/// The JWKS key for `header` (by `kid`, or the only key) and whether the
/// algorithm is one a JWKS can verify.
fn key_for<'s>(
    header: &jsonwebtoken::Header,
    set: &'s JwkSet,
) -> Result<&'s jsonwebtoken::jwk::Jwk, IdTokenError> {
    let key = match &header.kid {
        Some(kid) => set
            .find(kid)
            .ok_or_else(|| IdTokenError::NoSuchKid(kid.clone()))?,
        None if set.keys.len() == 1 => &set.keys[0],
        None => return Err(IdTokenError::NoKid(set.keys.len())),
    };
    if matches!(
        header.alg,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    ) {
        return Err(IdTokenError::Symmetric(header.alg));
    }
    Ok(key)
}

/// Whether `jwt`'s signature verifies against `jwks`, claims aside: the
/// proof that only the key's holder could have made it.
pub fn signature_verifies(jwt: &str, jwks: &serde_json::Value) -> bool {
    let (Ok(header), Ok(set)) = (
        jsonwebtoken::decode_header(jwt),
        serde_json::from_value::<JwkSet>(jwks.clone()),
    ) else {
        return false;
    };
    let Ok(key) = key_for(&header, &set) else {
        return false;
    };
    let Ok(decoding) = DecodingKey::from_jwk(key) else {
        return false;
    };
    let mut v = Validation::new(header.alg);
    v.validate_exp = false;
    v.validate_aud = false;
    v.validate_nbf = false;
    v.set_required_spec_claims::<&str>(&[]);
    jsonwebtoken::decode::<serde_json::Value>(jwt, &decoding, &v).is_ok()
}

/// Checks `jwt`; the error says what does not hold.
pub fn verify(
    jwt: &str,
    jwks: &serde_json::Value,
    audience: &str,
    issuer: Option<&str>,
) -> Result<(), IdTokenError> {
    let header = jsonwebtoken::decode_header(jwt).map_err(IdTokenError::NotAJwt)?;
    let set: JwkSet = serde_json::from_value(jwks.clone()).map_err(IdTokenError::BadJwks)?;
    let key = key_for(&header, &set)?;
    let decoding = DecodingKey::from_jwk(key).map_err(IdTokenError::BadKey)?;
    let mut v = Validation::new(header.alg);
    v.set_audience(&[audience]);
    if let Some(iss) = issuer {
        v.set_issuer(&[iss]);
    }
    v.leeway = 60;
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<serde_json::Value>(jwt, &decoding, &v)
        .map(|_| ())
        .map_err(IdTokenError::Claims)
}

/// What does not hold about an id_token, or the JWKS it is checked with.
#[derive(Debug, thiserror::Error)]
pub enum IdTokenError {
    #[error("no key with kid `{0}` in the JWKS")]
    NoSuchKid(String),
    #[error("no kid in the header and {0} keys in the JWKS")]
    NoKid(usize),
    #[error("signed with {0:?}, a symmetric algorithm that a JWKS cannot verify")]
    Symmetric(Algorithm),
    #[error("not a signed JWT ({0})")]
    NotAJwt(jsonwebtoken::errors::Error),
    #[error("the JWKS is not valid: {0}")]
    BadJwks(serde_json::Error),
    #[error("unusable key in the JWKS: {0}")]
    BadKey(jsonwebtoken::errors::Error),
    /// The signature, or a claim (exp, iss, aud, sub), does not hold.
    #[error("{0}")]
    Claims(jsonwebtoken::errors::Error),
}
