//! Client authentication on the wire (RFC 6749 §2.3, RFC 7523 §2.2) and
//! EmpowerID-style user credentials in a Basic header.

use crate::secret::Secret;
use base64::Engine;
use serde::Serialize;

/// `Basic base64(urlencode(id):urlencode(secret))`, as RFC 6749 §2.3.1
/// requires for client credentials.
pub fn client_basic(id: &str, secret: &str) -> String {
    let id: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    let secret: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    basic_raw(&id, &secret)
}

/// `Basic base64(user:password)` with no extra encoding (EmpowerID's user
/// credentials for the password grant).
pub fn basic_raw(user: &str, password: &str) -> String {
    let raw = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw.as_bytes())
    )
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

/// Deliberate departures from a correct assertion, for checking that a
/// server refuses them. The default is a correct assertion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssertionTweak {
    pub wrong_issuer: bool,
    pub wrong_subject: bool,
    pub wrong_audience: bool,
    /// `exp` (and `iat`) moved this many seconds into the past.
    pub expired_by_s: u64,
    /// One character of the signature changed.
    pub bad_signature: bool,
}

/// A fresh client assertion (RFC 7523 §3): iss = sub = client id, aud = the
/// token endpoint, a random jti, valid for 60 s; `tweak` plants defects.
pub fn client_assertion(
    client_id: &str,
    audience: &str,
    alg: &str,
    secret: Option<&Secret>,
    key_pem: Option<&Secret>,
    kid: Option<&str>,
    tweak: AssertionTweak,
) -> Result<Secret, String> {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let algorithm: Algorithm = alg
        .parse()
        .map_err(|_| format!("unsupported JWT algorithm `{alg}`"))?;
    let key = match algorithm {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            let secret = secret.ok_or("client_secret_jwt needs the client's secret")?;
            EncodingKey::from_secret(secret.expose().as_bytes())
        }
        Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 | Algorithm::PS256 => {
            let pem = key_pem.ok_or("private_key_jwt needs a key_file")?;
            EncodingKey::from_rsa_pem(pem.expose().as_bytes())
                .map_err(|e| format!("bad RSA key: {e}"))?
        }
        Algorithm::ES256 | Algorithm::ES384 => {
            let pem = key_pem.ok_or("private_key_jwt needs a key_file")?;
            EncodingKey::from_ec_pem(pem.expose().as_bytes())
                .map_err(|e| format!("bad EC key: {e}"))?
        }
        other => return Err(format!("unsupported JWT algorithm {other:?}")),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let other = format!("not-{client_id}");
    let now = now.saturating_sub(tweak.expired_by_s);
    let claims = AssertionClaims {
        iss: if tweak.wrong_issuer {
            &other
        } else {
            client_id
        },
        sub: if tweak.wrong_subject {
            &other
        } else {
            client_id
        },
        aud: if tweak.wrong_audience {
            "https://elsewhere.invalid/token"
        } else {
            audience
        },
        jti: crate::oauth::random_token(16),
        iat: now,
        exp: now + 60,
    };
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_string);
    let jwt = jsonwebtoken::encode(&header, &claims, &key)
        .map_err(|e| format!("cannot sign client assertion: {e}"))?;
    Ok(Secret::new(if tweak.bad_signature {
        corrupt_signature(&jwt)
    } else {
        jwt
    }))
}

/// Changes one character in the middle of a JWT's signature (not the last
/// one, whose low bits may be padding that decoders ignore).
fn corrupt_signature(jwt: &str) -> String {
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
        let jwt = client_assertion(
            "app",
            "https://as/token",
            "HS256",
            Some(&s),
            None,
            None,
            Default::default(),
        )
        .unwrap();
        let claims = decode_claims(jwt.expose()).unwrap();
        assert_eq!(claims["iss"], "app");
        assert_eq!(claims["sub"], "app");
        assert_eq!(claims["aud"], "https://as/token");
        assert!(claims["exp"].as_u64() > claims["iat"].as_u64());
        let other = client_assertion(
            "app",
            "https://as/token",
            "HS256",
            Some(&s),
            None,
            None,
            Default::default(),
        )
        .unwrap();
        assert_ne!(decode_claims(other.expose()).unwrap()["jti"], claims["jti"]);
    }
}
