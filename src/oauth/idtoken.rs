//! Verifying an id_token's signature against the issuer's JWKS (OpenID
//! Connect Core §3.1.3.7): the key named by `kid` (or the only key), the
//! algorithm the header names (never `none`), `aud` holding the client,
//! `iss` when the target declares one, and `exp` not passed.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

/// Checks `jwt`; the error says what does not hold.
pub fn verify(
    jwt: &str,
    jwks: &serde_json::Value,
    audience: &str,
    issuer: Option<&str>,
) -> Result<(), String> {
    let header = jsonwebtoken::decode_header(jwt).map_err(|e| format!("not a signed JWT ({e})"))?;
    let set: JwkSet =
        serde_json::from_value(jwks.clone()).map_err(|e| format!("the JWKS is not valid: {e}"))?;
    let key = match &header.kid {
        Some(kid) => set
            .find(kid)
            .ok_or_else(|| format!("no key with kid `{kid}` in the JWKS"))?,
        None if set.keys.len() == 1 => &set.keys[0],
        None => {
            return Err(format!(
                "no kid in the header and {} keys in the JWKS",
                set.keys.len()
            ));
        }
    };
    if matches!(
        header.alg,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    ) {
        return Err(format!(
            "signed with {:?}, a symmetric algorithm that a JWKS cannot verify",
            header.alg
        ));
    }
    let decoding =
        DecodingKey::from_jwk(key).map_err(|e| format!("unusable key in the JWKS: {e}"))?;
    let mut v = Validation::new(header.alg);
    v.set_audience(&[audience]);
    if let Some(iss) = issuer {
        v.set_issuer(&[iss]);
    }
    v.leeway = 60;
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<serde_json::Value>(jwt, &decoding, &v)
        .map(|_| ())
        .map_err(|e| format!("{e}"))
}
