//! A full `check` against misbehaving token endpoints: each run ends in
//! bounded time (1 s request timeout), without a panic, with every scenario
//! reported, its outcome classified (Failed, or Errored with a reason such
//! as `timeout`, `connection-reset`, `body-too-large`, `non-json-body`),
//! and every report written. Redirects are never followed.
//!
//! The servers are raw TCP (tokio) so that they can do what a well-behaved
//! HTTP library cannot: hang, trickle, reset, lie about lengths.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Clone, Copy, Debug)]
enum Behaviour {
    Html200,
    WrongTypes,
    TruncatedJson,
    NonJson400,
    Status500,
    HugeLength,
    HugeChunked,
    Silent,
    Trickle,
    EndlessChunked,
    ResetOnRequest,
    ResetMidResponse,
    Redirect(u16, SocketAddr),
}

/// A raw server on its own runtime; dropped, it stops.
struct Hostile {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    _rt: tokio::runtime::Runtime,
}

impl Hostile {
    fn start(b: Option<Behaviour>) -> Hostile {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let count = requests.clone();
        rt.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let count = count.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, b, count).await;
                });
            }
        });
        Hostile {
            addr,
            requests,
            _rt: rt,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Reads one request (headers, then a body up to its Content-Length).
async fn read_request(s: &mut tokio::net::TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + len.min(1 << 20) {
                let n = s.read(&mut chunk).await?;
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(head);
        }
        if buf.len() > 1 << 20 {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
    }
}

fn response(status: &str, ctype: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Answers every request on the connection the way `b` says; `None` answers
/// well (the redirect's destination: it only counts requests).
async fn serve(
    mut s: tokio::net::TcpStream,
    b: Option<Behaviour>,
    count: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    let head = read_request(&mut s).await?;
    count.fetch_add(1, Ordering::SeqCst);
    let is_head = head.starts_with("HEAD ");
    let Some(b) = b else {
        return s
            .write_all(response("200 OK", "application/json", "{}").as_bytes())
            .await;
    };
    match b {
        Behaviour::Html200 => {
            s.write_all(
                response("200 OK", "text/html", "<html><body>Sign in</body></html>").as_bytes(),
            )
            .await
        }
        Behaviour::WrongTypes => {
            let body = r#"{"access_token": 5, "token_type": [], "expires_in": "soon", "refresh_token": {"a": 1}}"#;
            s.write_all(response("200 OK", "application/json", body).as_bytes())
                .await
        }
        Behaviour::TruncatedJson => {
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{\"access_token\": \"abc")
                .await?;
            s.shutdown().await
        }
        Behaviour::NonJson400 => {
            s.write_all(response("400 Bad Request", "text/plain", "bad request").as_bytes())
                .await
        }
        Behaviour::Status500 => {
            s.write_all(response("500 Internal Server Error", "text/plain", "oops").as_bytes())
                .await
        }
        Behaviour::HugeLength => {
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5000000000\r\n\r\n")
                .await?;
            if is_head {
                return Ok(());
            }
            let zeros = vec![b' '; 64 * 1024];
            // Bounded: at most 64 MiB, far past the 1 MiB cap.
            for _ in 0..1024 {
                s.write_all(&zeros).await?;
            }
            Ok(())
        }
        Behaviour::HugeChunked => {
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
                .await?;
            let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024));
            for _ in 0..1024 {
                s.write_all(chunk.as_bytes()).await?;
            }
            Ok(())
        }
        Behaviour::Silent => {
            // Hold the connection, say nothing (until the client gives up).
            let mut sink = [0u8; 1024];
            while s.read(&mut sink).await? > 0 {}
            Ok(())
        }
        Behaviour::Trickle => {
            let text = response(
                "200 OK",
                "application/json",
                r#"{"access_token":"a","token_type":"Bearer"}"#,
            );
            for b in text.bytes().take(60) {
                s.write_all(&[b]).await?;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Ok(())
        }
        Behaviour::EndlessChunked => {
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
                .await?;
            for _ in 0..120 {
                s.write_all(b"1\r\n \r\n").await?;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Ok(())
        }
        Behaviour::ResetOnRequest => {
            reset(&s)?;
            drop(s);
            Ok(())
        }
        Behaviour::ResetMidResponse => {
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{\"access")
                .await?;
            reset(&s)?;
            drop(s);
            Ok(())
        }
        Behaviour::Redirect(code, to) => {
            let text = format!(
                "HTTP/1.1 {code} Redirect\r\nlocation: http://{to}/token\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
            s.write_all(text.as_bytes()).await
        }
    }
}

/// SO_LINGER 0: closing sends a reset. (Deprecated because a non-zero
/// linger blocks the thread on drop; zero does not.)
#[allow(deprecated)]
fn reset(s: &tokio::net::TcpStream) -> std::io::Result<()> {
    s.set_linger(Some(Duration::ZERO))
}

struct Outcome {
    exit: Option<i32>,
    stderr: String,
    report: serde_json::Value,
    took: Duration,
    reports_written: bool,
}

fn check_against(url: &str) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.yaml");
    std::fs::write(
        &target,
        format!(
            "name: hostile\ntoken_endpoint: {url}/token\nrevocation_endpoint: {url}/revoke\nintrospection_endpoint: {url}/introspect\nclients:\n  primary: {{id: app, secret: app-secret-123}}\n  secondary: {{id: other, secret: other-secret-456}}\nusers:\n  primary: {{username: alice, password: alice-pass-1}}\nscopes: {{narrow: read, extra: email}}\npassword_grant: {{scope: read write}}\nbehaviour: {{rotation: rotate, access_token_ttl_s: 3600, refresh_token_ttl_s: 3600}}\ntiming: {{request_timeout_s: 1, connect_timeout_s: 1, max_wait_s: 0}}\n"
        ),
    )
    .unwrap();
    let (json, junit, md) = (
        dir.path().join("r.json"),
        dir.path().join("r.xml"),
        dir.path().join("r.md"),
    );
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args([
            "check",
            "--no-preflight",
            "-j",
            "80",
            "--target",
            target.to_str().unwrap(),
        ])
        .arg("--report")
        .arg(format!("json={}", json.display()))
        .arg("--report")
        .arg(format!("junit={}", junit.display()))
        .arg("--report")
        .arg(format!("markdown={}", md.display()))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let took = started.elapsed();
    let report = std::fs::read(&json)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null);
    Outcome {
        exit: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        report,
        took,
        reports_written: json.exists() && junit.exists() && md.exists(),
    }
}

/// The checks every hostile run must pass; returns the run's messages.
fn assert_contained(o: &Outcome, name: &str) -> String {
    assert!(!o.stderr.contains("panicked"), "{name}: {}", o.stderr);
    assert_eq!(o.exit, Some(1), "{name}: exit {:?}\n{}", o.exit, o.stderr);
    assert!(o.reports_written, "{name}: reports");
    assert!(
        o.took < Duration::from_secs(60),
        "{name}: took {:?}",
        o.took
    );
    let scenarios = o.report["scenarios"].as_array().unwrap();
    let selected = tokenprobe::scenario::load(&[std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios"
    ))])
    .unwrap()
    .into_iter()
    .filter(|s| !s.tags.iter().any(|t| t == "intrusive"))
    .count();
    assert_eq!(scenarios.len(), selected, "{name}: every scenario reported");
    scenarios
        .iter()
        .map(|s| format!("{} {} {}\n", s["outcome"], s["error_class"], s["message"]))
        .collect()
}

fn run(b: Behaviour) -> String {
    let server = Hostile::start(Some(b));
    let o = check_against(&server.url());
    assert_contained(&o, &format!("{b:?}"))
}

#[test]
fn html_answers_fail_as_non_json_bodies() {
    let m = run(Behaviour::Html200);
    assert!(m.contains("non-json-body: 33 bytes of text/html"), "{m}");
}

#[test]
fn json_of_the_wrong_types_fails_the_body_checks() {
    let m = run(Behaviour::WrongTypes);
    assert!(m.contains("type"), "{m}");
}

#[test]
fn truncated_json_is_a_connection_reset() {
    let m = run(Behaviour::TruncatedJson);
    assert!(m.contains("connection-reset"), "{m}");
}

#[test]
fn non_json_errors_and_5xx_fail() {
    // Every login refused with a text body: the checks that start from a
    // login are blocked by it (naming the answer), PW-OK fails.
    let m = run(Behaviour::NonJson400);
    assert!(
        m.contains("blocked by step `login`: the server refused it with 400 (text/plain"),
        "{m}"
    );
    assert!(m.contains("\"failed\""), "{m}");
    let m = run(Behaviour::Status500);
    assert!(m.contains("500"), "{m}");
}

#[test]
fn huge_bodies_are_capped_and_reported() {
    for b in [Behaviour::HugeLength, Behaviour::HugeChunked] {
        let m = run(b);
        assert!(m.contains("body-too-large"), "{b:?}: {m}");
    }
}

#[test]
fn silent_trickling_and_endless_servers_time_out() {
    for b in [
        Behaviour::Silent,
        Behaviour::Trickle,
        Behaviour::EndlessChunked,
    ] {
        let m = run(b);
        assert!(m.contains("timeout"), "{b:?}: {m}");
    }
}

#[test]
fn resets_are_classified() {
    for b in [Behaviour::ResetOnRequest, Behaviour::ResetMidResponse] {
        let m = run(b);
        assert!(m.contains("connection-reset"), "{b:?}: {m}");
    }
}

#[test]
fn redirects_are_findings_and_are_never_followed() {
    let elsewhere = Hostile::start(None);
    for code in [301, 302, 307, 308] {
        let m = run(Behaviour::Redirect(code, elsewhere.addr));
        assert!(
            m.contains(&format!("{code}, a redirect to http://{}", elsewhere.addr)),
            "{code}: {m}"
        );
    }
    assert_eq!(
        elsewhere.requests.load(Ordering::SeqCst),
        0,
        "credentials followed a redirect"
    );
}

/// An HTTPS token endpoint with `cert` (PEM chain + key), on its own runtime.
struct TlsServer {
    url: String,
    _rt: tokio::runtime::Runtime,
}

fn tls_server(cert: &rcgen::CertifiedKey<rcgen::KeyPair>) -> TlsServer {
    use tokio_rustls::rustls;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
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
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    rt.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut s) = acceptor.accept(stream).await {
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    let _ = s
                        .write_all(response("200 OK", "application/json", "{}").as_bytes())
                        .await;
                    let _ = s.shutdown().await;
                }
            });
        }
    });
    TlsServer { url, _rt: rt }
}

fn cert(names: &[&str], expired: bool) -> rcgen::CertifiedKey<rcgen::KeyPair> {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
    if expired {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let cert = params.self_signed(&key).unwrap();
    rcgen::CertifiedKey {
        cert,
        signing_key: key,
    }
}

/// `check` with the certificate trusted through --cacert (or not): exit
/// code and stderr.
fn check_tls(url: &str, ca: Option<&str>, insecure: bool) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.yaml");
    std::fs::write(
        &target,
        format!("name: tls\ntoken_endpoint: {url}/token\nclients:\n  primary: {{id: app, secret: s}}\nusers:\n  primary: {{username: u, password: p}}\ntiming: {{request_timeout_s: 2}}\n"),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tokenprobe"));
    cmd.args([
        "check",
        "--no-preflight",
        "--filter",
        "password/ok",
        "--target",
        target.to_str().unwrap(),
    ])
    .arg("--report")
    .arg(format!("json={}", dir.path().join("r.json").display()))
    .current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some(pem) = ca {
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, pem).unwrap();
        cmd.arg("--cacert").arg(path);
    }
    if insecure {
        cmd.arg("-k");
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_certificates_are_refused_and_the_message_says_which() {
    let self_signed = cert(&["127.0.0.1", "localhost"], false);
    let server = tls_server(&self_signed);
    let (code, err) = check_tls(&server.url, None, false);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("not signed by a trusted CA"), "{err}");
    // Trusted with --cacert: the server is reached (and fails the checks).
    let (code, err) = check_tls(&server.url, Some(&self_signed.cert.pem()), false);
    assert_eq!(code, Some(1), "{err}");
    // -k accepts anything.
    let (code, err) = check_tls(&server.url, None, true);
    assert_eq!(code, Some(1), "{err}");

    let wrong_host = cert(&["idp.example.test"], false);
    let server = tls_server(&wrong_host);
    let (code, err) = check_tls(&server.url, Some(&wrong_host.cert.pem()), false);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("not valid for this host name"), "{err}");

    let expired = cert(&["127.0.0.1"], true);
    let server = tls_server(&expired);
    let (code, err) = check_tls(&server.url, Some(&expired.cert.pem()), false);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("has expired"), "{err}");
}
