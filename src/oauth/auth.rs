//! Client authentication material: Basic credentials (RFC 6749 §2.3.1),
//! JWT client assertions (RFC 7523 §2.2, §3) and the keys that sign them.
//!
//! Keys are parsed and tried once, when a target loads ([`SigningKey`]), so a
//! key that cannot sign is an input error, never a run-time surprise.

use crate::secret::Secret;
use crate::wire::AuthMethod;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

/// `Basic base64(urlencode(id):urlencode(secret))`, as RFC 6749 §2.3.1
/// requires for client credentials.
pub(crate) fn client_basic(id: &str, secret: &str) -> String {
    let id: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    let secret: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    basic_raw(&id, &secret)
}

/// `Basic base64(user:password)` with no extra encoding (EmpowerID's user
/// credentials for the password grant).
pub(crate) fn basic_raw(user: &str, password: &str) -> String {
    let raw = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw.as_bytes())
    )
}

/// Why a client's signing set-up is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "`{0}` is not a JWT signing algorithm tokenprobe supports (HS256/384/512, RS256/384/512, PS256/384/512, ES256/384, EdDSA)"
    )]
    UnknownAlg(String),
    #[error("`alg: {alg}` does not fit {method}: {hint}")]
    AlgDoesNotFitMethod {
        alg: String,
        method: &'static str,
        hint: &'static str,
    },
    #[error("{method} needs the client's `secret`")]
    MissingSecret { method: &'static str },
    #[error("private_key_jwt needs a `key_file`")]
    MissingKey,
    #[error("the key file holds no {expected} private key in PEM form ({detail})")]
    NotAKey {
        expected: &'static str,
        detail: String,
    },
    #[error("the key cannot sign with {alg}: {detail}")]
    CannotSign { alg: String, detail: String },
}

/// The algorithm a JWT-authenticating client signs with, checked against its
/// method: HMAC for client_secret_jwt, a private key for private_key_jwt.
pub fn algorithm_for(method: AuthMethod, alg: Option<&str>) -> Result<Algorithm, KeyError> {
    let name = alg.unwrap_or(match method {
        AuthMethod::ClientSecretJwt => "HS256",
        _ => "RS256",
    });
    let algorithm: Algorithm = name
        .parse()
        .map_err(|_| KeyError::UnknownAlg(name.to_string()))?;
    let hmac = matches!(
        algorithm,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    );
    match method {
        AuthMethod::ClientSecretJwt if !hmac => Err(KeyError::AlgDoesNotFitMethod {
            alg: name.to_string(),
            method: "client_secret_jwt",
            hint: "it signs with the client secret (HS256, HS384, HS512)",
        }),
        AuthMethod::PrivateKeyJwt if hmac => Err(KeyError::AlgDoesNotFitMethod {
            alg: name.to_string(),
            method: "private_key_jwt",
            hint: "it signs with a private key (RS*, PS*, ES256, ES384, EdDSA)",
        }),
        _ => Ok(algorithm),
    }
}

/// What signs a client's assertions.
#[derive(Clone)]
pub enum SigningKey {
    /// client_secret_jwt: the key is the client secret of the request (a
    /// scenario may override the secret, so it is taken when signing).
    Hmac(Algorithm),
    /// private_key_jwt: a parsed private key, shown to sign with `alg`.
    Private(Algorithm, EncodingKey),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SigningKey::Hmac(a) => write!(f, "Hmac({a:?})"),
            SigningKey::Private(a, _) => write!(f, "Private({a:?}, <key>)"),
        }
    }
}

impl SigningKey {
    /// Parses a PEM private key for `alg` and signs a test token with it,
    /// so that a key of the wrong type or curve is refused now.
    pub fn private(alg: Algorithm, pem: &Secret) -> Result<SigningKey, KeyError> {
        let pem = pem.expose().as_bytes();
        let (expected, parsed) = match alg {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => ("RSA", EncodingKey::from_rsa_pem(pem)),
            Algorithm::ES256 | Algorithm::ES384 => ("EC", EncodingKey::from_ec_pem(pem)),
            Algorithm::EdDSA => ("Ed25519", EncodingKey::from_ed_pem(pem)),
            other => {
                return Err(KeyError::UnknownAlg(format!("{other:?}")));
            }
        };
        let key = parsed.map_err(|e| KeyError::NotAKey {
            expected,
            detail: e.to_string(),
        })?;
        jsonwebtoken::encode(&Header::new(alg), &serde_json::json!({"probe": 1}), &key).map_err(
            |e| KeyError::CannotSign {
                alg: format!("{alg:?}"),
                detail: e.to_string(),
            },
        )?;
        Ok(SigningKey::Private(alg, key))
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            SigningKey::Hmac(a) | SigningKey::Private(a, _) => *a,
        }
    }
}

/// One defect planted in a client assertion, for checking that a server
/// refuses it (RFC 7523 §3). Scenarios name them under `assertion:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssertionDefect {
    /// A signature that does not verify (one character of it changed).
    BadSignature,
    /// `iss` is not the client.
    WrongIssuer,
    /// `sub` is not the client.
    WrongSubject,
    /// `aud` is not the authorization server.
    WrongAudience,
    /// `exp` ten minutes in the past.
    Expired,
    /// `client_assertion_type` is not the JWT bearer type.
    WrongType,
    /// The same assertion (same `jti`) twice: the step's request is sent
    /// once, then again unchanged, and the expectations judge the second.
    Replayed,
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: String,
    iat: u64,
    exp: u64,
}

/// An assertion (a client's or a user's) that could not be signed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SignError {
    #[error("client_secret_jwt needs the client's secret")]
    NoSecret,
    #[error("private_key_jwt needs a `key_file` for this client")]
    NoKeyFile,
    #[error("a user assertion is signed with a private key (RS256, ES256…)")]
    NotPrivate,
    #[error("cannot make a key: {0}")]
    Key(String),
    #[error("cannot sign the {what}: {detail}")]
    Sign { what: &'static str, detail: String },
}

/// A fresh client assertion (RFC 7523 §3): iss = sub = client id, aud = the
/// token endpoint, a random jti, valid for 60 s; `defect` plants one defect.
pub(crate) fn client_assertion(
    client_id: &str,
    audience: &str,
    key: &SigningKey,
    secret: Option<&Secret>,
    kid: Option<&str>,
    defect: Option<AssertionDefect>,
) -> Result<Secret, SignError> {
    let hmac;
    let encoding = match key {
        SigningKey::Private(_, k) => k,
        SigningKey::Hmac(_) => {
            let secret = secret.ok_or(SignError::NoSecret)?;
            hmac = EncodingKey::from_secret(secret.expose().as_bytes());
            &hmac
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let now = if defect == Some(AssertionDefect::Expired) {
        now.saturating_sub(600)
    } else {
        now
    };
    let other = format!("not-{client_id}");
    let claims = AssertionClaims {
        iss: if defect == Some(AssertionDefect::WrongIssuer) {
            &other
        } else {
            client_id
        },
        sub: if defect == Some(AssertionDefect::WrongSubject) {
            &other
        } else {
            client_id
        },
        aud: if defect == Some(AssertionDefect::WrongAudience) {
            "https://elsewhere.invalid/token"
        } else {
            audience
        },
        jti: crate::oauth::random_token(16),
        iat: now,
        exp: now + 60,
    };
    let mut header = Header::new(key.algorithm());
    header.kid = kid.map(str::to_string);
    let jwt = jsonwebtoken::encode(&header, &claims, encoding).map_err(|e| SignError::Sign {
        what: "client assertion",
        detail: e.to_string(),
    })?;
    Ok(Secret::new(
        if defect == Some(AssertionDefect::BadSignature) {
            corrupt_signature(&jwt)
        } else {
            jwt
        },
    ))
}

/// Changes one character in the middle of a JWT's signature (not the last
/// one, whose low bits may be padding that decoders ignore).
pub(crate) fn corrupt_signature(jwt: &str) -> String {
    let start = jwt.rfind('.').map_or(0, |i| i + 1);
    let mut bytes = jwt.as_bytes().to_vec();
    let len = bytes.len() - start;
    if len < 2 {
        return format!("{jwt}A");
    }
    let i = start + len / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap_or_else(|_| jwt.to_string())
}

/// The claims of a JWT, decoded without verifying the signature (for
/// comparing id_tokens across a refresh).
pub fn decode_claims(jwt: &str) -> Option<serde_json::Value> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_encodes_reserved_characters_first() {
        // RFC 6749 §2.3.1: form-urlencode, then base64.
        assert_eq!(client_basic("a b", "p:w&"), basic_raw("a+b", "p%3Aw%26"));
        assert_eq!(basic_raw("app", "app-secret"), "Basic YXBwOmFwcC1zZWNyZXQ=");
    }

    #[test]
    fn hs256_assertions_carry_the_rfc7523_claims() {
        let s = Secret::new("a-very-long-shared-secret-for-hs256");
        let key = SigningKey::Hmac(Algorithm::HS256);
        let jwt = client_assertion("app", "https://as/token", &key, Some(&s), None, None).unwrap();
        let claims = decode_claims(jwt.expose()).unwrap();
        assert_eq!(claims["iss"], "app");
        assert_eq!(claims["sub"], "app");
        assert_eq!(claims["aud"], "https://as/token");
        assert!(claims["exp"].as_u64() > claims["iat"].as_u64());
        let other =
            client_assertion("app", "https://as/token", &key, Some(&s), None, None).unwrap();
        assert_ne!(decode_claims(other.expose()).unwrap()["jti"], claims["jti"]);
    }

    #[test]
    fn algorithms_must_fit_the_method() {
        assert_eq!(
            algorithm_for(AuthMethod::ClientSecretJwt, None),
            Ok(Algorithm::HS256)
        );
        assert_eq!(
            algorithm_for(AuthMethod::PrivateKeyJwt, None),
            Ok(Algorithm::RS256)
        );
        assert!(matches!(
            algorithm_for(AuthMethod::PrivateKeyJwt, Some("HS256")),
            Err(KeyError::AlgDoesNotFitMethod { .. })
        ));
        assert!(matches!(
            algorithm_for(AuthMethod::ClientSecretJwt, Some("RS256")),
            Err(KeyError::AlgDoesNotFitMethod { .. })
        ));
        assert!(matches!(
            algorithm_for(AuthMethod::PrivateKeyJwt, Some("XX1")),
            Err(KeyError::UnknownAlg(_))
        ));
    }

    #[test]
    fn keys_are_refused_unless_they_sign_with_their_alg() {
        let rsa = Secret::new(include_str!("../../fixtures/keys/client-jwt-key.pem"));
        assert!(SigningKey::private(Algorithm::RS256, &rsa).is_ok());
        assert!(matches!(
            SigningKey::private(Algorithm::ES256, &rsa),
            Err(KeyError::NotAKey { expected: "EC", .. })
        ));
        assert!(matches!(
            SigningKey::private(Algorithm::RS256, &Secret::new("not a key")),
            Err(KeyError::NotAKey { .. })
        ));
    }
}
