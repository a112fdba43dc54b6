//! The whole scenario folder against the embedded strict mock: zero
//! failures, and not one secret or issued token in any output or report.

use std::process::Command;

fn tokenprobe(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("TOKENPROBE_TEST_DIR", dir)
        .output()
        .expect("run tokenprobe")
}

#[test]
fn the_suite_passes_against_the_strict_mock() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let junit = dir.path().join("junit.xml");
    let out = tokenprobe(
        &[
            "check",
            "--report",
            &format!("json={}", json.display()),
            "--report",
            &format!("junit={}", junit.display()),
        ],
        dir.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["summary"]["failed"], 0, "{stdout}");
    assert_eq!(report["summary"]["errored"], 0, "{stdout}");
    assert!(report["summary"]["passed"].as_u64().unwrap() >= 25);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<testcase name=\"rotation/old-refused\""),
        "{xml}"
    );
}

#[test]
fn no_secret_reaches_output_or_reports_at_vv() {
    secrets_stay_secret(&[], "grant_type=password", &["rt#", "pw#"]);
}

/// A code-flow run: authorization codes, code verifiers, the session
/// and CSRF cookies, the login form's hidden fields and the password
/// posted to it are shown as fingerprints, never in clear (issue 19).
#[test]
fn no_secret_of_a_code_flow_login_reaches_output_or_reports() {
    secrets_stay_secret(
        &["--mock", "strict", "--login", "authorization_code"],
        "grant_type=authorization_code",
        &["rt#", "cd#", "cv#", "ck#", "pw#"],
    );
}

/// A JWT-bearer run: neither the user assertions nor the key signing them.
#[test]
fn no_secret_of_a_jwt_bearer_login_reaches_output_or_reports() {
    secrets_stay_secret(
        &["--mock", "idcs", "--login", "jwt_bearer"],
        "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer",
        &["rt#", "as#"],
    );
}

fn secrets_stay_secret(extra: &[&str], exchanged: &str, fingerprints: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    secrets_stay_secret_in(dir.path(), extra, exchanged, fingerprints, &[]);
}

/// Short secrets, as test accounts have them: the users' passwords and
/// the clients' secrets of a mock configured with 4 and 5 characters (and
/// a 5-digit one-time code), under the password grant and the code flow,
/// identifier-first and through an MFA page. None reaches any output.
#[test]
fn short_passwords_and_secrets_stay_secret_under_every_login() {
    let dir = tempfile::tempdir().unwrap();
    let defaults = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mock/strict.yaml"),
    )
    .unwrap();
    let short = [
        ("alice-pass-1", "Qz7x9"),
        ("bob-pass-2", "Wk4p"),
        ("carol-pass-3", "Jm8r2"),
        ("other-app-secret", "Xe5f"),
        ("canary-app-secret", "Ty6u"),
        ("secret: app-secret", "secret: Ab3d"),
    ];
    let mut cfg = defaults;
    for (from, to) in short {
        assert!(cfg.contains(from), "{from}");
        cfg = cfg.replace(from, to);
    }
    let file = dir.path().join("short.yaml");
    std::fs::write(&file, cfg).unwrap();
    let file = file.display().to_string();
    let secrets = ["Qz7x9", "Wk4p", "Jm8r2", "Xe5f", "Ty6u", "Ab3d", "73915"];
    for (i, login) in [
        vec!["--login", "password"],
        vec!["--login", "authorization_code"],
        vec![
            "--login",
            "authorization_code",
            "--identifier-first",
            "--mfa-code",
            "73915",
            "--extra-forms",
        ],
    ]
    .into_iter()
    .enumerate()
    {
        let mut extra = vec!["--mock", "strict", "--config", &file];
        extra.extend(login);
        let run = dir.path().join(format!("run{i}"));
        std::fs::create_dir_all(&run).unwrap();
        secrets_stay_secret_in(&run, &extra, "grant_type=", &["pw#", "cs#"], &secrets);
    }
}

fn secrets_stay_secret_in(
    dir: &std::path::Path,
    extra: &[&str],
    exchanged: &str,
    fingerprints: &[&str],
    short: &[&str],
) {
    let mut args = vec!["check".to_string(), "-vv".to_string()];
    args.extend(extra.iter().map(|a| a.to_string()));
    for (f, name) in [
        ("json", "r.json"),
        ("junit", "r.xml"),
        ("markdown", "r.md"),
        ("html", "r.html"),
        ("har", "r.har"),
    ] {
        args.push("--report".into());
        args.push(format!("{f}={}", dir.join(name).display()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = tokenprobe(&args, dir);
    let mut all = String::from_utf8_lossy(&out.stdout).into_owned();
    all.push_str(&String::from_utf8_lossy(&out.stderr));
    for name in ["r.json", "r.xml", "r.md", "r.html", "r.har"] {
        all.push_str(&std::fs::read_to_string(dir.join(name)).unwrap());
    }
    assert!(
        out.status.success(),
        "the run passes: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    for secret in short {
        assert!(!all.contains(secret), "secret {secret} leaked");
    }
    // -vv prints every exchange: the steps are really there.
    assert!(all.contains(exchanged), "no exchanges printed");
    for secret in [
        "alice-pass-1",
        "bob-pass-2",
        "app-secret",
        "other-app-secret",
        "YXBwOmFwcC1zZWNyZXQ=",
        // The user-assertion key (fixtures/keys/user-assertion-key.pem).
        "PRIVATE KEY",
        "eyJ",
    ] {
        assert!(!all.contains(secret), "secret {secret} leaked");
    }
    // Issued tokens: 43-character base64url strings (32 random bytes). Any
    // such run in the output would be a token.
    // (Lowercase snake_case names, such as discovery members, are words.)
    let re = regex::Regex::new(r"[A-Za-z0-9_-]{43,}").unwrap();
    let leaked = re
        .find_iter(&all)
        .map(|m| m.as_str())
        .find(|m| !m.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
    assert!(leaked.is_none(), "a token-shaped value leaked: {leaked:?}");
    for f in fingerprints {
        // In a form body the `#` is percent-encoded.
        let encoded = f.replace('#', "%23");
        assert!(
            all.contains(f) || all.contains(&encoded),
            "{f} fingerprints expected in -vv output"
        );
    }
}

#[test]
fn invalid_scenarios_exit_2_with_a_location() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "id: x\ntitle: t\nlevel: must\nsteps:\n  - grnt: password\n",
    )
    .unwrap();
    let out = tokenprobe(&["check", bad.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.yaml:5:5"), "{err}");
    assert!(err.contains("did you mean `grant`?"), "{err}");
}

#[test]
fn an_unreachable_target_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    // A port that nothing listens on: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = dir.path().join("t.yaml");
    std::fs::write(&target, format!("name: closed\ntoken_endpoint: http://127.0.0.1:{port}/token\nclients:\n  primary: {{id: a, secret: b}}\ntiming: {{request_timeout_s: 2, connect_timeout_s: 1}}\n")).unwrap();
    let out = tokenprobe(&["check", "--target", target.to_str().unwrap()], dir.path());
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `tokenprobe check | head -1`: a closed stdout must neither panic nor
/// stop the run; the reports are still written.
#[test]
fn regression_a_closed_stdout_does_not_panic_and_reports_are_written() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(["check", "--report", &format!("json={}", json.display())])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("tokenprobe check:"), "{first}");
    // The reader is dropped here: stdout is closed.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(json.exists());
}

/// Issue 34: a HAR of a code-flow run holds every exchange, the login's
/// pages included, validates against HAR 1.2's required fields, and
/// carries no secret (the secret checks above read it too).
#[test]
fn a_har_of_a_code_flow_run_is_a_valid_archive_with_the_login_pages() {
    let dir = tempfile::tempdir().unwrap();
    let har = dir.path().join("run.har");
    let out = tokenprobe(
        &[
            "check",
            "--mock",
            "strict",
            "--login",
            "authorization_code",
            "--filter",
            "refresh/ok",
            "--report",
            &format!("har={}", har.display()),
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&har).unwrap()).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("data/har-1.2.schema.json")).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let urls: Vec<&str> = doc["log"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["request"]["url"].as_str().unwrap())
        .collect();
    assert!(urls.iter().any(|u| u.contains("/authorize")), "{urls:?}");
    assert!(urls.iter().any(|u| u.ends_with("/login")), "{urls:?}");
    assert!(urls.iter().any(|u| u.ends_with("/token")), "{urls:?}");
    let text = std::fs::read_to_string(&har).unwrap();
    assert!(
        !text.contains("alice-pass-1") && !text.contains("app-secret"),
        "secrets"
    );
}
