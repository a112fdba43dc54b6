//! DPoP (RFC 9449): proof-of-possession keys and proofs, for the client
//! (`check`, `load`) and the mock alike.
//!
//! A [`DpopKey`] is an ephemeral key pair (ES256 on P-256, EdDSA on
//! Ed25519, or RS256 on RSA 2048, which takes a hundred times longer to
//! make) made with `rcgen`; its public half is the proof header's `jwk`
//! and its RFC 7638 thumbprint (`jkt`) is what a server binds tokens to. A
//! proof is a JWT with `typ: dpop+jwt` and the claims `jti`, `htm`, `htu`,
//! `iat` (and `nonce`, `ath` where they apply), signed by the key
//! (§4.2). [`verify`] is the server side (§4.3): it checks a proof and
//! returns its key's thumbprint and claims.
//!
//! May use: nothing else of the crate.

use base64::Engine as _;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, OctetKeyPairParameters, OctetKeyPairType, RSAKeyParameters,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

/// The algorithms tokenprobe signs proofs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum DpopAlg {
    ES256,
    EdDSA,
    RS256,
}

/// The `typ` of a DPoP proof (§4.2).
pub const PROOF_TYPE: &str = "dpop+jwt";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An ephemeral DPoP key pair.
#[derive(Clone)]
pub struct DpopKey {
    alg: DpopAlg,
    key: EncodingKey,
    jwk: Jwk,
    thumbprint: String,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DpopKey({:?}, jkt {})", self.alg, self.thumbprint)
    }
}

/// The claims of a DPoP proof.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProofClaims {
    pub jti: String,
    pub htm: String,
    pub htu: String,
    pub iat: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ath: Option<String>,
}

/// A DPoP key that could not be made, or a proof that could not be signed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DpopError {
    #[error("cannot make a DPoP key: {0}")]
    Key(String),
    #[error("cannot sign a DPoP proof: {0}")]
    Sign(String),
}

impl DpopKey {
    /// A new key pair.
    pub fn generate(alg: DpopAlg) -> Result<DpopKey, DpopError> {
        let rc_alg = match alg {
            DpopAlg::ES256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            DpopAlg::EdDSA => &rcgen::PKCS_ED25519,
            DpopAlg::RS256 => &rcgen::PKCS_RSA_SHA256,
        };
        let pair =
            rcgen::KeyPair::generate_for(rc_alg).map_err(|e| DpopError::Key(e.to_string()))?;
        let der = pair.serialize_der();
        let raw = pair.public_key_raw();
        let (key, params) = match alg {
            DpopAlg::ES256 => {
                // An uncompressed point: 0x04 || x || y.
                if raw.len() != 65 || raw[0] != 4 {
                    return Err(DpopError::Key(
                        "unexpected P-256 public key encoding".into(),
                    ));
                }
                (
                    EncodingKey::from_ec_der(&der),
                    AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                        key_type: EllipticCurveKeyType::EC,
                        curve: EllipticCurve::P256,
                        x: b64(&raw[1..33]),
                        y: b64(&raw[33..65]),
                    }),
                )
            }
            DpopAlg::EdDSA => (
                EncodingKey::from_ed_der(&der),
                AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                    key_type: OctetKeyPairType::OctetKeyPair,
                    curve: EllipticCurve::Ed25519,
                    x: b64(raw),
                }),
            ),
            DpopAlg::RS256 => {
                // rcgen's DER is PKCS#8; the PEM reader takes it.
                let key = EncodingKey::from_rsa_pem(pair.serialize_pem().as_bytes())
                    .map_err(|e| DpopError::Key(format!("cannot read the RSA key: {e}")))?;
                let public = Jwk::from_encoding_key(&key, Algorithm::RS256)
                    .map_err(|e| DpopError::Key(format!("cannot read the RSA key: {e}")))?;
                (key, public.algorithm)
            }
        };
        let jwk = Jwk {
            common: CommonParameters::default(),
            algorithm: params,
        };
        let thumbprint =
            thumbprint(&jwk).ok_or(DpopError::Key("cannot take the key's thumbprint".into()))?;
        Ok(DpopKey {
            alg,
            key,
            jwk,
            thumbprint,
        })
    }

    /// The RFC 7638 thumbprint (SHA-256, base64url): the `jkt`.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    pub fn alg(&self) -> DpopAlg {
        self.alg
    }

    /// A proof with these claims, signed by this key.
    pub fn sign(&self, claims: &ProofClaims) -> Result<String, DpopError> {
        let mut header = Header::new(match self.alg {
            DpopAlg::ES256 => Algorithm::ES256,
            DpopAlg::EdDSA => Algorithm::EdDSA,
            DpopAlg::RS256 => Algorithm::RS256,
        });
        header.typ = Some(PROOF_TYPE.into());
        header.jwk = Some(self.jwk.clone());
        jsonwebtoken::encode(&header, claims, &self.key).map_err(|e| DpopError::Sign(e.to_string()))
    }

    /// A fresh proof for `htm` `htu` now (a new `jti`).
    pub fn proof(&self, htm: &str, htu: &str, nonce: Option<&str>) -> Result<String, DpopError> {
        self.sign(&ProofClaims {
            jti: new_jti(),
            htm: htm.into(),
            htu: htu_of(htu),
            iat: now_s(),
            nonce: nonce.map(str::to_string),
            ath: None,
        })
    }
}

/// `htu` as a proof carries it: the URI without query and fragment (§4.2).
pub fn htu_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => url.to_string(),
    }
}

/// A random `jti`.
pub fn new_jti() -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    b64(&bytes)
}

pub fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The RFC 7638 thumbprint of an EC P-256, OKP Ed25519 or RSA public key,
/// or `None` for another kind.
pub fn thumbprint(jwk: &Jwk) -> Option<String> {
    let canonical = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            p.x, p.y
        ),
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, p.x)
        }
        AlgorithmParameters::RSA(RSAKeyParameters { n, e, .. }) => {
            format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#)
        }
        _ => return None,
    };
    Some(b64(&sha2::Sha256::digest(canonical.as_bytes())))
}

/// Why a proof is refused (each is `invalid_dpop_proof`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the DPoP proof is not a JWT with typ dpop+jwt and a public jwk")]
    Malformed,
    #[error("the DPoP proof's algorithm or key is not accepted (ES256, EdDSA or RS256)")]
    Algorithm,
    #[error("the DPoP proof's jwk holds a private key")]
    PrivateKey,
    #[error("the DPoP proof's signature does not verify with its jwk")]
    Signature,
    #[error("the DPoP proof's htm is not the request's method")]
    Method,
    #[error("the DPoP proof's htu is not the request's URI")]
    Uri,
    #[error("the DPoP proof's iat is outside the accepted window")]
    Stale,
}

/// Checks a proof received for `method` `uri` at `now_s` (accepting `iat`
/// within `window_s` either way): §4.3 steps 2-10, without the `jti`
/// replay check and the nonce (the caller's state). Returns the key's
/// thumbprint and the claims.
pub fn verify(
    proof: &str,
    method: &str,
    uri: &str,
    now_s: u64,
    window_s: u64,
    check_htu: bool,
) -> Result<(String, ProofClaims), ProofError> {
    let header = jsonwebtoken::decode_header(proof).map_err(|_| ProofError::Malformed)?;
    if header.typ.as_deref() != Some(PROOF_TYPE) {
        return Err(ProofError::Malformed);
    }
    // Check 7: the jwk is a public key (the typed Jwk would drop a private
    // member silently, so the header is read as JSON for it).
    let raw_header: serde_json::Value = proof
        .split('.')
        .next()
        .and_then(|h| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(h)
                .ok()
        })
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(ProofError::Malformed)?;
    if ["d", "p", "q", "dp", "dq", "qi", "k"]
        .iter()
        .any(|m| raw_header["jwk"].get(m).is_some())
    {
        return Err(ProofError::PrivateKey);
    }
    let jwk = header.jwk.ok_or(ProofError::Malformed)?;
    if !matches!(
        header.alg,
        Algorithm::ES256 | Algorithm::EdDSA | Algorithm::RS256
    ) {
        return Err(ProofError::Algorithm);
    }
    let jkt = thumbprint(&jwk).ok_or(ProofError::Algorithm)?;
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).map_err(|_| ProofError::Algorithm)?;
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    v.validate_aud = false;
    let claims = jsonwebtoken::decode::<ProofClaims>(proof, &key, &v)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => ProofError::Signature,
            jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => ProofError::Algorithm,
            _ => ProofError::Malformed,
        })?
        .claims;
    // HTTP methods are case-sensitive (RFC 9110 §9.1).
    if claims.htm != method {
        return Err(ProofError::Method);
    }
    if check_htu && htu_of(&claims.htu) != htu_of(uri) {
        return Err(ProofError::Uri);
    }
    if claims.iat.abs_diff(now_s) > window_s {
        return Err(ProofError::Stale);
    }
    Ok((jkt, claims))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_verify_and_each_defect_is_named() {
        for alg in [DpopAlg::ES256, DpopAlg::EdDSA, DpopAlg::RS256] {
            let key = DpopKey::generate(alg).unwrap();
            let uri = "https://as.example/token";
            let proof = key
                .proof("POST", "https://as.example/token?x=1", None)
                .unwrap();
            let (jkt, claims) = verify(&proof, "POST", uri, now_s(), 60, true).unwrap();
            assert_eq!(jkt, key.thumbprint(), "{alg:?}");
            assert_eq!(claims.htu, uri, "query left out");
            assert_eq!(
                verify(&proof, "GET", uri, now_s(), 60, true).unwrap_err(),
                ProofError::Method
            );
            assert_eq!(
                verify(&proof, "post", uri, now_s(), 60, true).unwrap_err(),
                ProofError::Method,
                "methods are case-sensitive"
            );
            assert_eq!(
                verify(
                    &proof,
                    "POST",
                    "https://as.example/other",
                    now_s(),
                    60,
                    true
                )
                .unwrap_err(),
                ProofError::Uri
            );
            assert!(
                verify(
                    &proof,
                    "POST",
                    "https://as.example/other",
                    now_s(),
                    60,
                    false
                )
                .is_ok()
            );
            assert_eq!(
                verify(&proof, "POST", uri, now_s() + 600, 60, true).unwrap_err(),
                ProofError::Stale
            );
            // Another key's signature under this key's jwk.
            let other = DpopKey::generate(alg).unwrap();
            let forged = {
                let theirs = other.proof("POST", uri, None).unwrap();
                let mine = proof.split('.').collect::<Vec<_>>();
                let sig = theirs.rsplit('.').next().unwrap();
                format!("{}.{}.{sig}", mine[0], mine[1])
            };
            assert_eq!(
                verify(&forged, "POST", uri, now_s(), 60, true).unwrap_err(),
                ProofError::Signature
            );
            assert_ne!(other.thumbprint(), key.thumbprint());
        }
        assert_eq!(
            verify("a.b.c", "POST", "u", 0, 60, true).unwrap_err(),
            ProofError::Malformed
        );
        // A header whose jwk carries a private member (check 7).
        let key = DpopKey::generate(DpopAlg::ES256).unwrap();
        let proof = key.proof("POST", "https://as.example/token", None).unwrap();
        let mut parts: Vec<String> = proof.split('.').map(str::to_string).collect();
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut header: serde_json::Value =
            serde_json::from_slice(&engine.decode(&parts[0]).unwrap()).unwrap();
        header["jwk"]["d"] = "c2VjcmV0".into();
        parts[0] = engine.encode(serde_json::to_vec(&header).unwrap());
        assert_eq!(
            verify(
                &parts.join("."),
                "POST",
                "https://as.example/token",
                now_s(),
                60,
                true
            )
            .unwrap_err(),
            ProofError::PrivateKey
        );
    }

    /// Known answers: RFC 8037's OKP example and RFC 7638's RSA example
    /// (canonical form: required members sorted, no spaces).
    #[test]
    fn thumbprints_are_canonical() {
        let jwk: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "OKP", "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
        }))
        .unwrap();
        // RFC 8037 Appendix A.3.
        assert_eq!(
            thumbprint(&jwk).unwrap(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
        // RFC 7638 §3.1 (the RSA key of RFC 7517 Appendix A.1).
        let rsa: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
        }))
        .unwrap();
        assert_eq!(
            thumbprint(&rsa).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
