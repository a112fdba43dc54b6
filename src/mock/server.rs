//! [`MockServer`]: binds, routes the profile's paths, serves HTTP/1.1 with
//! keep-alive (optionally over TLS with a self-signed certificate), sweeps
//! expired state periodically, and shuts down gracefully.

use super::app::{App, CLOCK_PATH};
use super::config::MockConfig;
use super::endpoints;
use super::login;
use super::token;
use axum::Router;
use axum::routing::{any, get};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// A running mock token server.
pub struct MockServer {
    app: Arc<App>,
    addr: SocketAddr,
    tls_certificate_pem: Option<String>,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl MockServer {
    /// Binds `listen` (port 0 picks a free port) and starts serving on the
    /// current tokio runtime.
    pub async fn start(config: MockConfig, listen: SocketAddr) -> std::io::Result<MockServer> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let (tls, tls_certificate_pem) = if let Some(id) = &config.tls_identity {
            (Some(tls_from_pem(id)?), Some(id.cert_pem.clone()))
        } else if config.tls {
            let (acceptor, pem) = self_signed_tls()?;
            (Some(acceptor), Some(pem))
        } else {
            (None, None)
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let app = App::new(config, &format!("{scheme}://{addr}"))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let app = Arc::new(app);
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(serve(
            listener,
            routes(app.clone()),
            tls,
            app.clone(),
            stopped,
        ));
        Ok(MockServer {
            app,
            addr,
            tls_certificate_pem,
            stop,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT` (`https` with TLS).
    pub fn base_url(&self) -> String {
        self.app.base_url.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token endpoint's full URL (the path depends on the profile).
    pub fn token_endpoint(&self) -> String {
        self.app.token_url.clone()
    }

    /// The issuer (`iss` of id_tokens, `issuer` of discovery).
    pub fn issuer(&self) -> String {
        self.app.issuer.clone()
    }

    /// The full URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.base_url)
    }

    /// The endpoint paths of the running profile.
    pub fn paths(&self) -> super::Paths {
        self.app.paths
    }

    /// The self-signed certificate (PEM) when serving TLS, for clients to
    /// trust.
    pub fn tls_certificate_pem(&self) -> Option<&str> {
        self.tls_certificate_pem.as_deref()
    }

    /// Answers posted to the MFA page so far, right or wrong: a client
    /// that must not post to a page it cannot read is held to it.
    pub fn mfa_posts(&self) -> u64 {
        self.app
            .logins
            .mfa_posts
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// (access tokens, refresh tokens) currently held: for memory checks.
    pub fn token_counts(&self) -> (usize, usize) {
        self.app.store.len()
    }

    /// Runs a purge of expired and revoked state now; returns how many tokens
    /// were dropped.
    pub fn purge_now(&self) -> usize {
        purge(&self.app)
    }

    /// Stops accepting, lets requests in flight finish, closes idle
    /// keep-alive connections, and waits for all of it.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn routes(app: Arc<App>) -> Router {
    let p = app.paths;
    let mut r = Router::new()
        .route(p.token, any(token::token))
        .route(p.revoke, any(endpoints::revoke))
        .route(p.introspect, any(endpoints::introspect))
        .route(p.jwks, get(endpoints::jwks))
        .route(p.authorize, get(login::authorize))
        .route(p.login, axum::routing::post(login::login))
        .route(p.consent, any(login::consent))
        .route(p.mfa, any(login::mfa));
    for d in p.discovery {
        r = r.route(d, get(endpoints::discovery));
    }
    if let Some(t) = p.tokeninfo {
        r = r.route(t, any(endpoints::tokeninfo));
    }
    if let Some(u) = p.userinfo {
        r = r.route(u, any(endpoints::userinfo));
    }
    if app.clock.is_virtual() {
        r = r.route(CLOCK_PATH, any(endpoints::clock));
    }
    r.fallback(endpoints::not_found).with_state(app)
}

fn purge(app: &App) -> usize {
    let (now_ms, now_s) = (app.clock.now_ms(), app.clock.now_s());
    app.password_limit.purge(now_s);
    app.client_limit.purge(now_s);
    app.jtis.purge(app.clock.wall_s());
    app.logins.purge(now_ms);
    app.store.purge(now_ms)
}

async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsAcceptor>,
    app: Arc<App>,
    mut stop: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    let period = Duration::from_secs(app.cfg.purge_interval_s.max(1));
    let mut sweep = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    conns.spawn(connection(stream, router.clone(), tls.clone(), stop.clone()));
                }
                // Out of file descriptors or the like: back off briefly
                // instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            _ = sweep.tick() => {
                purge(&app);
            }
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    while conns.join_next().await.is_some() {}
}

/// How long a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

async fn connection(
    stream: TcpStream,
    router: Router,
    tls: Option<TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    match tls {
        None => drive(TokioIo::new(stream), router, stop).await,
        Some(acceptor) => {
            // A client that never finishes its handshake is dropped after a
            // while, or at once on shutdown: it must not hold Ctrl-C up.
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
            let accepted = tokio::select! {
                r = handshake => r.ok().and_then(Result::ok),
                _ = stop.wait_for(|stopped| *stopped) => None,
            };
            if let Some(s) = accepted {
                drive(TokioIo::new(s), router, stop).await;
            }
        }
    }
}

async fn drive<I>(io: I, router: Router, mut stop: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .serve_connection(io, TowerToHyperService::new(router));
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// A self-signed certificate for `localhost` and `127.0.0.1`, made now.
fn self_signed_tls() -> std::io::Result<(TlsAcceptor, String)> {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .map_err(std::io::Error::other)?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let acceptor = acceptor(vec![cert.cert.der().clone()], key)?;
    Ok((acceptor, cert.cert.pem()))
}

/// An acceptor for a certificate chain and key given as PEM.
fn tls_from_pem(id: &super::config::TlsIdentity) -> std::io::Result<TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let invalid = |what: &str, e: &dyn std::fmt::Display| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{what}: {e}"))
    };
    let chain = CertificateDer::pem_slice_iter(id.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("TLS certificate file", &e))?;
    if chain.is_empty() {
        return Err(invalid("TLS certificate file", &"no PEM certificate in it"));
    }
    let key = PrivateKeyDer::from_pem_slice(id.key_pem.expose().as_bytes())
        .map_err(|e| invalid("TLS key file", &e))?;
    acceptor(chain, key)
}

fn acceptor(
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> std::io::Result<TlsAcceptor> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(std::io::Error::other)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
