//! TLS for the hot path: the refresh's HTTP/1.1 exchange ([`super::h1`])
//! over rustls, as reqwest would set it up for the same target (the
//! platform's roots, or `--cacert`/the target's CA alone; `--insecure`),
//! with what a client that keeps connections needs:
//!
//! - one configuration for the run, shared by every user, so that its
//!   session cache (TLS 1.3 tickets, TLS 1.2 ids) lets a reconnecting user
//!   resume instead of a full handshake;
//! - ALPN `http/1.1` (our exchange speaks nothing else);
//! - SNI from the URL's host (none for an IP address, as RFC 6066 says).

use crate::oauth::http::{HttpOptions, TransportError};
use crate::verdict::ErrorClass;
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};

/// What a user needs to open a TLS connection to the token endpoint.
#[derive(Clone)]
pub(super) struct Tls {
    connector: tokio_rustls::TlsConnector,
    name: ServerName<'static>,
}

impl Tls {
    /// The run's TLS set-up for `host`, trusting what `options` say.
    pub(super) fn new(host: &str, options: &HttpOptions) -> Result<Tls, TransportError> {
        let fail = |what: String| TransportError::new(ErrorClass::Tls, what);
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| fail(format!("TLS set-up: {e}")))?;
        let pem = match (&options.ca_file, &options.ca_pem) {
            (Some(path), _) => Some((
                std::fs::read(path)
                    .map_err(|e| fail(format!("cannot read CA file {}: {e}", path.display())))?,
                format!("CA file {}", path.display()),
            )),
            (None, Some(pem)) => Some((pem.clone().into_bytes(), "in-memory CA".to_string())),
            (None, None) => None,
        };
        let mut config = if options.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth()
        } else if let Some((pem, what)) = pem {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| fail(format!("{what}: {e}")))?;
                roots.add(cert).map_err(|e| fail(format!("{what}: {e}")))?;
            }
            if roots.is_empty() {
                return Err(fail(format!("{what} holds no PEM certificate")));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        } else {
            use rustls_platform_verifier::BuilderVerifierExt;
            builder
                .with_platform_verifier()
                .map_err(|e| fail(format!("the platform's roots: {e}")))?
                .with_no_client_auth()
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        // rustls keeps 256 sessions by default; a run reconnects up to
        // one user per connection at once.
        config.resumption = rustls::client::Resumption::in_memory_sessions(4096);
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| fail(format!("`{host}` is not a TLS server name: {e}")))?;
        Ok(Tls {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            name,
        })
    }

    /// The TLS handshake on `tcp`.
    pub(super) async fn handshake(
        &self,
        tcp: tokio::net::TcpStream,
    ) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, TransportError> {
        self.connector
            .connect(self.name.clone(), tcp)
            .await
            .map_err(|e| {
                let class = match e.kind() {
                    std::io::ErrorKind::InvalidData => ErrorClass::Tls,
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof => {
                        ErrorClass::ConnectionReset
                    }
                    _ => ErrorClass::Tls,
                };
                TransportError::new(class, format!("TLS handshake: {e}"))
            })
    }
}

/// `--insecure`: any certificate, any name (signatures are still checked
/// as the handshake's, so the connection is at least one).
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::h1::Conn;

    /// A TLS server on loopback that answers every request with a token,
    /// and its certificate (PEM).
    async fn server() -> (u16, String) {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let pem = cert.cert.pem();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut buf = vec![0u8; 4096];
                    let mut seen = Vec::new();
                    while let Ok(n) = tls.read(&mut buf).await {
                        if n == 0 {
                            return;
                        }
                        seen.extend_from_slice(&buf[..n]);
                        // One request a time: its head, then a body of
                        // the length it gave (a short form here).
                        if crate::load::h1::find(&seen, b"\r\n\r\n").is_some()
                            && seen.ends_with(b"x=1")
                        {
                            seen.clear();
                            let body = br#"{"access_token":"a","token_type":"Bearer"}"#;
                            let head = format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                                body.len()
                            );
                            let _ = tls.write_all(head.as_bytes()).await;
                            let _ = tls.write_all(body).await;
                        }
                    }
                });
            }
        });
        (port, pem)
    }

    #[tokio::test]
    async fn a_second_connection_resumes_the_first_ones_session() {
        let (port, pem) = server().await;
        let options = HttpOptions {
            ca_pem: Some(pem),
            ..HttpOptions::default()
        };
        let tls = Tls::new("localhost", &options).unwrap();
        let head = format!(
            "POST /token HTTP/1.1\r\nhost: localhost:{port}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: "
        );
        let mut kinds = Vec::new();
        for _ in 0..2 {
            let (mut conn, opened) = Conn::open("127.0.0.1", port, Some(&tls), &options)
                .await
                .unwrap();
            let read = conn
                .exchange(head.as_bytes(), b"x=1", options.request_timeout)
                .await
                .unwrap();
            assert_eq!(read.status, 200);
            assert!(read.keep);
            // Two requests on one kept connection.
            let again = conn
                .exchange(head.as_bytes(), b"x=1", options.request_timeout)
                .await
                .unwrap();
            assert_eq!(again.status, 200);
            assert!(!conn.ended_while_idle(), "a ticket is not an end");
            kinds.push(opened.tls_resumed);
        }
        assert_eq!(kinds, vec![Some(false), Some(true)]);
    }

    #[tokio::test]
    async fn an_unknown_certificate_is_refused_unless_insecure() {
        let (port, _) = server().await;
        let strict = HttpOptions {
            ca_pem: Some(
                rcgen::generate_simple_self_signed(vec!["localhost".into()])
                    .unwrap()
                    .cert
                    .pem(),
            ),
            ..HttpOptions::default()
        };
        let tls = Tls::new("localhost", &strict).unwrap();
        let e = Conn::open("127.0.0.1", port, Some(&tls), &strict)
            .await
            .err()
            .expect("another CA's certificate");
        assert_eq!(e.class, ErrorClass::Tls, "{e}");
        let insecure = HttpOptions {
            insecure: true,
            ..HttpOptions::default()
        };
        let tls = Tls::new("localhost", &insecure).unwrap();
        assert!(
            Conn::open("127.0.0.1", port, Some(&tls), &insecure)
                .await
                .is_ok()
        );
    }
}
