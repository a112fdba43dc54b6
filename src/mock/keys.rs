//! Keys and JWTs: the mock's signing keys (id_tokens, RS256 or ES256, the
//! JWKS at `/jwks`) and the verification of RFC 7523 client assertions
//! (`client_secret_jwt` with HS256, `private_key_jwt` with RS256).
//!
//! The signing key is a fixed test key pair checked in under
//! `fixtures/keys/`: this is a mock, and a fixed key keeps id_tokens
//! verifiable across restarts. Never use it for anything real.

use super::config::{AuthMethod, ClientAccount, IdTokenAlg};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, jwk};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;

/// The mock's fixed RS256 signing key (PKCS#8 PEM, RSA 2048).
pub const SIGNING_KEY_PEM: &str = include_str!("../../fixtures/keys/mock-signing-key.pem");

/// The mock's fixed ES256 signing key (PKCS#8 PEM, P-256).
pub const SIGNING_KEY_ES256_PEM: &str =
    include_str!("../../fixtures/keys/mock-signing-key-es256.pem");

/// The `kid` of the signing key, in id_token headers and the JWKS.
pub const KEY_ID: &str = "tokenprobe-mock-1";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the signing key cannot be used: {0}")]
    Signing(#[from] jsonwebtoken::errors::Error),
    #[error("the JWKS cannot be serialized: {0}")]
    Json(#[from] serde_json::Error),
}

/// id_token claims (OpenID Connect Core §2). `nonce` only in the answer to
/// the code exchange of a request that sent one (§3.1.2.1); the password
/// grant and refreshes have none to echo.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
    pub auth_time: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

/// Signs id_tokens and publishes the matching JWKS.
///
/// Identical claims get the identical id_token: within one second of `iat`
/// the signed tokens are kept by their claims (at most
/// [`MAX_CACHED_ID_TOKENS`]), so that a load run refreshing one user's
/// chains thousands of times a second measures the generator, not the
/// mock's signing. A server signing with RS256 (deterministic) gives the
/// same token for the same claims too.
pub struct Signer {
    key: EncodingKey,
    header: Header,
    jwks: String,
    cache: Mutex<(u64, HashMap<IdClaims, String>)>,
}

/// Most id_tokens kept for one second of `iat`.
pub const MAX_CACHED_ID_TOKENS: usize = 4096;

impl Signer {
    /// The fixed key of `alg` (`fixtures/keys/mock-signing-key*.pem`).
    pub fn for_alg(alg: IdTokenAlg) -> Result<Signer, KeyError> {
        let (key, algorithm) = match alg {
            IdTokenAlg::RS256 => (
                EncodingKey::from_rsa_pem(SIGNING_KEY_PEM.as_bytes())?,
                Algorithm::RS256,
            ),
            IdTokenAlg::ES256 => (
                EncodingKey::from_ec_pem(SIGNING_KEY_ES256_PEM.as_bytes())?,
                Algorithm::ES256,
            ),
        };
        let mut public = jwk::Jwk::from_encoding_key(&key, algorithm)?;
        public.common.key_id = Some(KEY_ID.into());
        public.common.public_key_use = Some(jwk::PublicKeyUse::Signature);
        let jwks = serde_json::to_string(&jwk::JwkSet { keys: vec![public] })?;
        let mut header = Header::new(algorithm);
        header.kid = Some(KEY_ID.into());
        Ok(Signer {
            key,
            header,
            jwks,
            cache: Mutex::new((0, HashMap::new())),
        })
    }

    /// The algorithm's name (`RS256`), for discovery documents.
    pub fn alg(&self) -> String {
        format!("{:?}", self.header.alg)
    }

    /// `{"keys":[…]}`.
    pub fn jwks_json(&self) -> &str {
        &self.jwks
    }

    pub fn id_token(&self, claims: &IdClaims) -> Result<String, KeyError> {
        {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if cache.0 != claims.iat {
                *cache = (claims.iat, HashMap::new());
            }
            if let Some(t) = cache.1.get(claims) {
                return Ok(t.clone());
            }
        }
        let token = jsonwebtoken::encode(&self.header, claims, &self.key)?;
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.0 == claims.iat && cache.1.len() < MAX_CACHED_ID_TOKENS {
            cache.1.insert(claims.clone(), token.clone());
        }
        Ok(token)
    }
}

/// Why a client assertion was refused (each is `invalid_client`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    #[error("the client assertion is not a well-formed JWT with iss, sub, aud and exp")]
    Malformed,
    #[error("the client assertion's algorithm is not accepted for this client")]
    Algorithm,
    #[error("the client assertion's signature is invalid")]
    Signature,
    #[error("the client assertion's iss and sub must both be the client id")]
    Issuer,
    #[error("the client assertion's aud is not this token endpoint")]
    Audience,
    #[error("the client assertion has expired")]
    Expired,
    #[error("the client assertion has no jti")]
    MissingJti,
    #[error("the client assertion's jti was already used")]
    Replayed,
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    aud: serde_json::Value,
    exp: u64,
    jti: Option<String>,
}

/// The `iss` of an assertion, read without verification, to find the client
/// when the request names none.
pub fn unverified_issuer(assertion: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Iss {
        iss: String,
    }
    jsonwebtoken::dangerous::insecure_decode::<Iss>(assertion)
        .ok()
        .map(|d| d.claims.iss)
}

/// The `jti`s seen per client until their assertion expires (RFC 7523 §3).
#[derive(Debug, Default)]
pub struct JtiCache {
    seen: Mutex<HashMap<(String, String), u64>>,
}

impl JtiCache {
    /// Records the jti; `false` when it was already there.
    fn first_use(&self, client: &str, jti: &str, exp_s: u64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.insert((client.to_string(), jti.to_string()), exp_s)
            .is_none()
    }

    /// Records the jti of an assertion by `who`; `false` when it was seen.
    pub fn first_use_of(&self, who: &str, jti: &str, exp_s: u64) -> bool {
        self.first_use(who, jti, exp_s)
    }

    /// Forgets jtis whose assertion has expired (they cannot be replayed).
    pub fn purge(&self, now_s: u64) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.retain(|_, exp| *exp > now_s);
    }
}

/// Verifies `assertion` as `client`'s authentication (RFC 7523 §3): a
/// signature by the client's key (HS256 with its secret for
/// `client_secret_jwt`, RS256 with its registered key for `private_key_jwt`),
/// `iss` = `sub` = client id, `aud` one of `audiences`, `exp` after `now_s`,
/// and a `jti` not used before.
pub fn verify_assertion(
    assertion: &str,
    client: &ClientAccount,
    audiences: &[&str],
    now_s: u64,
    jtis: &JtiCache,
) -> Result<(), AssertionError> {
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| AssertionError::Malformed)?;
    let key = match header.alg {
        Algorithm::HS256 if client.allows(AuthMethod::ClientSecretJwt) => {
            DecodingKey::from_secret(client.secret.expose().as_bytes())
        }
        Algorithm::RS256 if client.allows(AuthMethod::PrivateKeyJwt) => {
            let pem = client
                .jwt_public_key_pem
                .as_deref()
                .ok_or(AssertionError::Algorithm)?;
            DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| AssertionError::Algorithm)?
        }
        _ => return Err(AssertionError::Algorithm),
    };
    let mut validation = Validation::new(header.alg);
    // exp is checked below against the mock's (possibly virtual) clock, aud
    // against several accepted values.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims::<&str>(&[]);
    let claims = jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => AssertionError::Signature,
            _ => AssertionError::Malformed,
        })?
        .claims;
    if claims.iss != client.id || claims.sub != client.id {
        return Err(AssertionError::Issuer);
    }
    let aud_ok = match &claims.aud {
        serde_json::Value::String(a) => audiences.contains(&a.as_str()),
        serde_json::Value::Array(items) => items
            .iter()
            .any(|a| a.as_str().is_some_and(|a| audiences.contains(&a))),
        _ => false,
    };
    if !aud_ok {
        return Err(AssertionError::Audience);
    }
    if claims.exp <= now_s {
        return Err(AssertionError::Expired);
    }
    let jti = claims.jti.ok_or(AssertionError::MissingJti)?;
    if !jtis.first_use(&client.id, &jti, claims.exp) {
        return Err(AssertionError::Replayed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::config::MockConfig;
    use crate::mock::config::Profile;

    const CLIENT_KEY: &str = include_str!("../../fixtures/keys/client-jwt-key.pem");
    const AUD: &str = "http://127.0.0.1:1/oauth2/v1/token";

    fn client(id: &str) -> ClientAccount {
        MockConfig::profile(Profile::Idcs)
            .clients
            .into_iter()
            .find(|c| c.id == id)
            .unwrap()
    }

    fn assertion(alg: Algorithm, key: &EncodingKey, claims: serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::new(alg), &claims, key).unwrap()
    }

    fn rs(claims: serde_json::Value) -> String {
        assertion(
            Algorithm::RS256,
            &EncodingKey::from_rsa_pem(CLIENT_KEY.as_bytes()).unwrap(),
            claims,
        )
    }

    fn claims(iss: &str, jti: &str) -> serde_json::Value {
        serde_json::json!({"iss": iss, "sub": iss, "aud": AUD, "exp": 2000, "jti": jti})
    }

    #[test]
    fn the_signed_id_token_verifies_with_the_published_jwks() {
        for (alg, algorithm) in [
            (IdTokenAlg::RS256, Algorithm::RS256),
            (IdTokenAlg::ES256, Algorithm::ES256),
        ] {
            let s = Signer::for_alg(alg).unwrap();
            assert_eq!(s.alg(), format!("{alg:?}"));
            let c = IdClaims {
                iss: "i".into(),
                sub: "alice".into(),
                aud: "app".into(),
                iat: 1,
                exp: 4_000_000_000,
                auth_time: 1,
                nonce: None,
            };
            let token = s.id_token(&c).unwrap();
            let set: jwk::JwkSet = serde_json::from_str(s.jwks_json()).unwrap();
            let key = set.find(KEY_ID).expect("kid in the JWKS");
            let mut v = Validation::new(algorithm);
            v.set_audience(&["app"]);
            let back =
                jsonwebtoken::decode::<IdClaims>(&token, &DecodingKey::from_jwk(key).unwrap(), &v)
                    .unwrap();
            assert_eq!(back.claims, c);
            assert_eq!(back.header.kid.as_deref(), Some(KEY_ID));
            assert_eq!(back.header.alg, algorithm);
            // The same claims, the same token; other claims, another.
            assert_eq!(s.id_token(&c).unwrap(), token);
            let later = IdClaims {
                iat: 2,
                ..c.clone()
            };
            assert_ne!(s.id_token(&later).unwrap(), token);
        }
    }

    #[test]
    fn a_good_private_key_jwt_passes_once() {
        let jtis = JtiCache::default();
        let c = client("jwt-app");
        let a = rs(claims("jwt-app", "j1"));
        assert_eq!(unverified_issuer(&a).as_deref(), Some("jwt-app"));
        assert_eq!(verify_assertion(&a, &c, &[AUD], 1000, &jtis), Ok(()));
        assert_eq!(
            verify_assertion(&a, &c, &[AUD], 1000, &jtis),
            Err(AssertionError::Replayed)
        );
        jtis.purge(2000);
        assert!(jtis.seen.lock().unwrap().is_empty());
    }

    #[test]
    fn each_defect_of_an_assertion_is_named() {
        let jtis = JtiCache::default();
        let c = client("jwt-app");
        let check = |a: &str| verify_assertion(a, &c, &[AUD, "issuer"], 1000, &jtis);
        let mut wrong_sub = claims("jwt-app", "j2");
        wrong_sub["sub"] = "other".into();
        assert_eq!(check(&rs(wrong_sub)), Err(AssertionError::Issuer));
        let mut wrong_aud = claims("jwt-app", "j3");
        wrong_aud["aud"] = "http://elsewhere/token".into();
        assert_eq!(check(&rs(wrong_aud)), Err(AssertionError::Audience));
        let mut aud_list = claims("jwt-app", "j4");
        aud_list["aud"] = serde_json::json!(["x", "issuer"]);
        assert_eq!(check(&rs(aud_list)), Ok(()));
        let mut expired = claims("jwt-app", "j5");
        expired["exp"] = 1000.into();
        assert_eq!(check(&rs(expired)), Err(AssertionError::Expired));
        let mut no_jti = claims("jwt-app", "x");
        no_jti.as_object_mut().unwrap().remove("jti");
        assert_eq!(check(&rs(no_jti)), Err(AssertionError::MissingJti));
        // Signed by another key: the mock's own.
        let other = EncodingKey::from_rsa_pem(SIGNING_KEY_PEM.as_bytes()).unwrap();
        let forged = assertion(Algorithm::RS256, &other, claims("jwt-app", "j6"));
        assert_eq!(check(&forged), Err(AssertionError::Signature));
        // HS256 is not this client's method.
        let hs = assertion(
            Algorithm::HS256,
            &EncodingKey::from_secret(b"x"),
            claims("jwt-app", "j7"),
        );
        assert_eq!(check(&hs), Err(AssertionError::Algorithm));
        assert_eq!(check("not.a.jwt"), Err(AssertionError::Malformed));
    }

    #[test]
    fn client_secret_jwt_uses_the_secret_as_hmac_key() {
        let jtis = JtiCache::default();
        let c = client("app");
        let good = assertion(
            Algorithm::HS256,
            &EncodingKey::from_secret(b"app-secret"),
            claims("app", "h1"),
        );
        assert_eq!(verify_assertion(&good, &c, &[AUD], 1000, &jtis), Ok(()));
        let bad = assertion(
            Algorithm::HS256,
            &EncodingKey::from_secret(b"guess"),
            claims("app", "h2"),
        );
        assert_eq!(
            verify_assertion(&bad, &c, &[AUD], 1000, &jtis),
            Err(AssertionError::Signature)
        );
    }
}
