//! The HTTP layer under every request tokenprobe sends: one configured
//! reqwest client (timeouts, TLS trust, no redirects, no proxies), a capped
//! response reader, and the classification of transport failures.

use crate::verdict::ErrorClass;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Responses larger than this are cut and reported as `body-too-large`.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub insecure: bool,
    pub ca_file: Option<PathBuf>,
    /// CA certificates given in memory (PEM), used when `ca_file` is unset:
    /// the in-process mock's self-signed certificate.
    pub ca_pem: Option<String>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            insecure: false,
            ca_file: None,
            ca_pem: None,
        }
    }
}

/// A transport failure, classified.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{class}: {detail}")]
pub struct TransportError {
    pub class: ErrorClass,
    pub detail: String,
}

impl TransportError {
    pub fn new(class: ErrorClass, detail: impl Into<String>) -> TransportError {
        TransportError {
            class,
            detail: detail.into(),
        }
    }
}

/// A response as read: status, headers, body (capped). Its `Debug` shows
/// the header names and the body's length: the body may hold tokens.
#[derive(Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub truncated: bool,
    pub elapsed: Duration,
}

impl std::fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .field("truncated", &self.truncated)
            .field("elapsed", &self.elapsed)
            .finish()
    }
}

impl HttpResponse {
    /// All values of a header, joined by `, ` (names are case-insensitive).
    pub fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    /// The body as JSON, when it is a JSON document.
    pub fn json(&self) -> Option<serde_json::Value> {
        if self.truncated {
            return None;
        }
        serde_json::from_slice(&self.body).ok()
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Builds the reqwest client for a target.
pub fn build_client(options: &HttpOptions, pool: usize) -> Result<reqwest::Client, TransportError> {
    build_client_at(options, pool, None)
}

/// Builds the reqwest client for a target, connecting to `at` (domain,
/// address) for that domain instead of what it resolves to: one client per
/// address of a host (TLS still checks the domain's name).
pub fn build_client_at(
    options: &HttpOptions,
    pool: usize,
    at: Option<(&str, std::net::SocketAddr)>,
) -> Result<reqwest::Client, TransportError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("tokenprobe/", env!("CARGO_PKG_VERSION")))
        .timeout(options.request_timeout)
        .connect_timeout(options.connect_timeout)
        // Credentials must never follow a redirect (a redirect from a token
        // endpoint is itself a finding).
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .pool_max_idle_per_host(pool)
        // Servers close idle keep-alive connections (node after 5 s); a
        // request sent on one that the server is closing fails with a
        // reset that is ours, not the server's. Idle connections are not
        // kept long enough for that (a `wait` step leaves them idle).
        .pool_idle_timeout(Duration::from_secs(2))
        .http1_only();
    if let Some((domain, addr)) = at {
        builder = builder.resolve(domain, addr);
    }
    if options.insecure {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    let ca = match (&options.ca_file, &options.ca_pem) {
        (Some(path), _) => {
            let pem = std::fs::read(path).map_err(|e| {
                TransportError::new(
                    ErrorClass::Tls,
                    format!("cannot read CA file {}: {e}", path.display()),
                )
            })?;
            Some((pem, format!("CA file {}", path.display())))
        }
        (None, Some(pem)) => Some((pem.clone().into_bytes(), "in-memory CA".to_string())),
        (None, None) => None,
    };
    if let Some((pem, what)) = ca {
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            TransportError::new(
                ErrorClass::Tls,
                format!("{what} holds no PEM certificate: {e}"),
            )
        })?;
        if certs.is_empty() {
            return Err(TransportError::new(
                ErrorClass::Tls,
                format!("{what} holds no PEM certificate"),
            ));
        }
        builder = builder.tls_certs_only(certs);
    }
    builder.build().map_err(|e| {
        TransportError::new(
            ErrorClass::Internal,
            format!("cannot build HTTP client: {}", chain(&e)),
        )
    })
}

/// Sends a request and reads at most [`MAX_BODY_BYTES`] of the answer.
pub async fn send(
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<HttpResponse, TransportError> {
    let started = Instant::now();
    // reqwest's own timeout covers the whole exchange; this one is a second
    // fence in case a body stream outlives it.
    let work = async {
        let mut response = request.send().await.map_err(|e| classify(&e))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e))? {
            let room = MAX_BODY_BYTES - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
            truncated,
            elapsed: started.elapsed(),
        })
    };
    match tokio::time::timeout(timeout + Duration::from_millis(500), work).await {
        Ok(r) => r,
        Err(_) => Err(TransportError::new(
            ErrorClass::Timeout,
            format!("no complete answer within {timeout:?}"),
        )),
    }
}

/// Classifies a reqwest error by walking its source chain. The URL it
/// names is shown without its query (a login hop's may carry a code).
pub fn classify(e: &reqwest::Error) -> TransportError {
    let mut detail = chain(e);
    if let Some(url) = e.url()
        && url.query().is_some()
    {
        let mut bare = url.clone();
        bare.set_query(None);
        bare.set_fragment(None);
        detail = detail.replace(url.as_str(), bare.as_str());
    }
    let lower = detail.to_ascii_lowercase();
    let class = if lower.contains("too many open files") || lower.contains("os error 24") {
        ErrorClass::TooManyOpenFiles
    } else if e.is_timeout() || lower.contains("timed out") {
        ErrorClass::Timeout
    } else if lower.contains("certificate")
        || lower.contains("tls")
        || lower.contains("handshake")
        || lower.contains("invalidcert")
    {
        ErrorClass::Tls
    } else if lower.contains("dns error") || lower.contains("failed to lookup") {
        ErrorClass::Dns
    } else if lower.contains("connection reset")
        || lower.contains("broken pipe")
        || lower.contains("connection closed")
        || lower.contains("incomplete message")
        || lower.contains("unexpected eof")
        || lower.contains("end of file before message length")
    {
        ErrorClass::ConnectionReset
    } else if e.is_connect() {
        ErrorClass::Connect
    } else if e.is_body() || e.is_decode() {
        ErrorClass::Protocol
    } else if e.is_request() {
        ErrorClass::Connect
    } else {
        ErrorClass::Protocol
    };
    let detail = match class {
        ErrorClass::Tls => format!("{detail}{}", tls_hint(&detail)),
        _ => detail,
    };
    TransportError::new(class, detail)
}

/// What a TLS failure means for the user, in words.
fn tls_hint(detail: &str) -> &'static str {
    let lower = detail.to_ascii_lowercase();
    if lower.contains("expired") {
        " (the server's certificate has expired)"
    } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        " (the server's certificate is not valid for this host name)"
    } else if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        " (the server's certificate is not signed by a trusted CA: pass its CA with --cacert, or -k to accept any)"
    } else {
        ""
    }
}

/// An error and its causes on one line.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_transport_error_names_the_url_without_its_query() {
        // Nothing listens on the discard port.
        let client = build_client(&HttpOptions::default(), 1).unwrap();
        let err = send(
            client.get("http://127.0.0.1:9/callback?code=c0de-secret&state=s"),
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
        assert!(!err.detail.contains("c0de-secret"), "{err}");
        assert!(err.detail.contains("127.0.0.1:9/callback"), "{err}");
    }
}
