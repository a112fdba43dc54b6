//! The attacker's view of the secrets: the whole suite runs at `-vv`
//! through a proxy that records every byte the server sends back, so every
//! token issued during the run is known; then every byte of output and of
//! every report is searched for each of them, for the configured secrets,
//! for Basic credentials, and for their base64 forms.

use base64::Engine;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Forwards 127.0.0.1:(free port) to `upstream`, keeping a copy of all the
/// bytes that come back.
struct RecordingProxy {
    port: u16,
    seen: Arc<Mutex<Vec<u8>>>,
    _rt: tokio::runtime::Runtime,
}

impl RecordingProxy {
    fn start(upstream: std::net::SocketAddr) -> RecordingProxy {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        rt.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let record = record.clone();
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut cr, &mut sw).await;
                        let _ = sw.shutdown().await;
                    });
                    let mut buf = vec![0u8; 16 * 1024];
                    while let Ok(n) = sr.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        record.lock().unwrap().extend_from_slice(&buf[..n]);
                        if cw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = cw.shutdown().await;
                    up.abort();
                });
            }
        });
        RecordingProxy {
            port,
            seen,
            _rt: rt,
        }
    }
}

#[test]
fn no_issued_token_or_secret_reaches_any_output_or_report() {
    // The mock in its own process, with a virtual clock.
    let mut mock = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(["mock", "--listen", "127.0.0.1:0", "--clock", "virtual"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut stdout = std::io::BufReader::new(mock.stdout.take().unwrap());
    stdout.read_line(&mut first).unwrap();
    let mut parts = first.split_whitespace();
    let base = parts.next().unwrap().to_string();
    let generated = std::fs::read_to_string(parts.next().unwrap()).unwrap();
    let upstream: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let proxy = RecordingProxy::start(upstream);

    // The generated target, its endpoints through the proxy.
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.yaml");
    std::fs::write(
        &target,
        generated.replace(
            &format!("base_url: {base}"),
            &format!("base_url: http://127.0.0.1:{}", proxy.port),
        ),
    )
    .unwrap();
    let mut args = vec![
        "check".to_string(),
        "-vv".into(),
        "--target".into(),
        target.display().to_string(),
    ];
    for (f, name) in [("json", "r.json"), ("junit", "r.xml"), ("markdown", "r.md")] {
        args.push("--report".into());
        args.push(format!("{f}={}", dir.path().join(name).display()));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let _ = mock.kill();
    let _ = mock.wait();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let mut everything = out.stdout.clone();
    everything.extend_from_slice(&out.stderr);
    for name in ["r.json", "r.xml", "r.md"] {
        everything.extend(std::fs::read(dir.path().join(name)).unwrap());
    }
    let everything = String::from_utf8_lossy(&everything).into_owned();
    assert!(
        everything.contains("grant_type=password"),
        "-vv shows the exchanges"
    );

    // Every token the server sent back.
    let seen = String::from_utf8_lossy(&proxy.seen.lock().unwrap()).into_owned();
    let re =
        regex::Regex::new(r#""(access_token|refresh_token|id_token)"\s*:\s*"([^"]+)""#).unwrap();
    let tokens: std::collections::BTreeSet<String> =
        re.captures_iter(&seen).map(|c| c[2].to_string()).collect();
    assert!(tokens.len() > 100, "only {} tokens recorded", tokens.len());

    let b64 = |s: &str| {
        [
            base64::engine::general_purpose::STANDARD.encode(s),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s),
        ]
    };
    let mut needles: Vec<String> = Vec::new();
    for t in &tokens {
        needles.push(t.clone());
        // A JWT's signature alone would do as much harm.
        if let Some(sig) = t.rsplit('.').next().filter(|s| s.len() > 20) {
            needles.push(sig.to_string());
        }
        needles.extend(b64(t));
    }
    for secret in [
        "alice-pass-1",
        "bob-pass-2",
        "app-secret",
        "other-app-secret",
        "p@ss:w%rd+&= !",
        "p%40ss%3Aw%25rd%2B%26%3D+%21",
    ] {
        needles.push(secret.to_string());
        needles.extend(b64(secret));
    }
    for basic in [
        "app:app-secret",
        "alice:alice-pass-1",
        "other-app:other-app-secret",
    ] {
        needles.extend(b64(basic));
    }
    for n in &needles {
        assert!(!everything.contains(n.as_str()), "leaked: {n}");
    }
}
