//! Discovery: the one way a target's endpoints are completed before any
//! run (`check`, `load`, `fuzz`). A target that names a discovery document
//! (OpenID Connect Discovery, RFC 8414) gets from it every endpoint it does
//! not declare itself: the token, revocation, introspection and
//! authorization endpoints, the key set and the issuer. A declaration
//! always wins; an issuer that disagrees with the document is the target's
//! mistake.

use super::{Login, Target};
use crate::oauth::http::{self, HttpOptions, TransportError};
use crate::wire::Discovery;
use url::Url;

/// Why a target's endpoints could not be completed.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The document could not be fetched.
    #[error("discovery {url}: {error}")]
    Transport { url: Url, error: TransportError },
    /// The answer is not a discovery document.
    #[error("discovery {url}: not a discovery document (HTTP {status})")]
    NotADocument { url: Url, status: u16 },
    /// The target says something the document contradicts.
    #[error(
        "issuer in {file} is `{declared}`, and the discovery document ({url}) says `{found}` (OpenID Connect Discovery §4.3: they must be identical): fix issuer in the target, or leave it out (discovery gives it)"
    )]
    IssuerMismatch {
        file: String,
        declared: String,
        found: String,
        url: Url,
    },
    /// Neither the target nor its document names a token endpoint.
    #[error("{0}: no token endpoint (neither declared nor discovered)")]
    NoTokenEndpoint(String),
}

impl DiscoveryError {
    /// A mistake in the target file (exit 3 naming the key), as opposed to
    /// a server that cannot be reached.
    pub fn is_target_mistake(&self) -> bool {
        matches!(
            self,
            DiscoveryError::IssuerMismatch { .. } | DiscoveryError::NoTokenEndpoint(_)
        )
    }
}

/// Fetches the target's discovery document, when it names one, and fills
/// every endpoint the target leaves out. The document, when there was one.
pub async fn discover(
    target: &mut Target,
    client: &reqwest::Client,
    opts: &HttpOptions,
) -> Result<Option<Discovery>, DiscoveryError> {
    let Some(url) = target.discovery.clone() else {
        return require_token_endpoint(target).map(|_| None);
    };
    let r = http::send(client.get(url.clone()), opts.request_timeout)
        .await
        .map_err(|error| DiscoveryError::Transport {
            url: url.clone(),
            error,
        })?;
    let doc: Discovery = r
        .json()
        .filter(|_| (200..300).contains(&r.status))
        .and_then(|j| serde_json::from_value(j).ok())
        .ok_or(DiscoveryError::NotADocument {
            url: url.clone(),
            status: r.status,
        })?;
    apply(target, &doc, &url)?;
    require_token_endpoint(target)?;
    Ok(Some(doc))
}

/// `doc`'s endpoints where `target` declares none (fetched from `url`).
pub fn apply(target: &mut Target, doc: &Discovery, url: &Url) -> Result<(), DiscoveryError> {
    let parse = |s: &str| Url::parse(s).ok();
    if target.token_endpoint.is_none() {
        target.token_endpoint = parse(&doc.token_endpoint);
    }
    if target.revocation_endpoint.is_none() {
        target.revocation_endpoint = doc.revocation_endpoint.as_deref().and_then(parse);
    }
    if target.introspection_endpoint.is_none() {
        target.introspection_endpoint = doc.introspection_endpoint.as_deref().and_then(parse);
    }
    if target.jwks_uri.is_none() {
        target.jwks_uri = doc.jwks_uri.as_deref().and_then(parse);
    }
    match (&target.issuer, &doc.issuer) {
        (Some(declared), Some(found)) if !crate::oauth::same_issuer(declared, found) => {
            return Err(DiscoveryError::IssuerMismatch {
                file: target.source.clone(),
                declared: declared.clone(),
                found: found.clone(),
                url: url.clone(),
            });
        }
        (None, Some(_)) => {
            target.issuer = doc.issuer.clone();
            target.issuer_from_discovery = true;
        }
        _ => {}
    }
    if let Login::AuthorizationCode(flow) = &mut target.login
        && flow.authorization_endpoint.is_none()
    {
        flow.authorization_endpoint = doc.authorization_endpoint.as_deref().and_then(parse);
    }
    Ok(())
}

fn require_token_endpoint(target: &Target) -> Result<(), DiscoveryError> {
    match target.token_endpoint {
        Some(_) => Ok(()),
        None => Err(DiscoveryError::NoTokenEndpoint(target.source.clone())),
    }
}
