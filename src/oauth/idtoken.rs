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
) -> Result<&'s jsonwebtoken::jwk::Jwk, String> {
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
) -> Result<(), String> {
    let header = jsonwebtoken::decode_header(jwt).map_err(|e| format!("not a signed JWT ({e})"))?;
    let set: JwkSet =
        serde_json::from_value(jwks.clone()).map_err(|e| format!("the JWKS is not valid: {e}"))?;
    let key = key_for(&header, &set)?;
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
