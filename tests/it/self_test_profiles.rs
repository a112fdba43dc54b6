//! `check --mock PROFILE`: every mock profile passes the whole suite with
//! its own target file; a declaration that contradicts the mock fails the
//! PROFILE check; the mock over HTTPS is checked with its certificate
//! trusted, and refused cleanly without it.

use std::path::Path;
use std::process::{Command, Output};

fn tokenprobe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run tokenprobe")
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `check` with a JSON report in `dir`; returns the output and report.
fn check(dir: &Path, args: &[&str]) -> (Output, serde_json::Value) {
    let json = dir.join("report.json");
    let report_arg = format!("json={}", json.display());
    let mut all = vec!["check", "--report", &report_arg];
    all.extend_from_slice(args);
    let out = tokenprobe(&all);
    let report = std::fs::read(&json)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null);
    (out, report)
}

fn outcomes(report: &serde_json::Value, outcome: &str) -> Vec<String> {
    report["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["outcome"] == outcome)
        .map(|s| s["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn assert_clean_pass(args: &[&str], min_passed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let (out, report) = check(dir.path(), args);
    assert_eq!(out.status.code(), Some(0), "{args:?}\n{}", text(&out));
    assert_eq!(report["summary"]["failed"], 0, "{}", text(&out));
    assert_eq!(report["summary"]["errored"], 0, "{}", text(&out));
    let passed = report["summary"]["passed"].as_u64().unwrap_or(0);
    assert!(passed >= min_passed, "only {passed} passed: {}", text(&out));
}

#[test]
fn strict_profile_passes_with_its_own_target() {
    assert_clean_pass(&["--mock", "strict"], 25);
}

#[test]
fn empowerid_profile_passes_with_its_own_target() {
    assert_clean_pass(&["--mock", "empowerid"], 22);
}

#[test]
fn idcs_profile_passes_with_its_own_target() {
    assert_clean_pass(&["--mock", "idcs"], 22);
}

#[test]
fn idcs_profile_passes_with_private_key_jwt_client_auth() {
    assert_clean_pass(
        &[
            "--mock",
            "idcs",
            "--target",
            "fixtures/targets/mock-idcs-jwt.yaml",
        ],
        22,
    );
}

#[test]
fn wso2_profile_passes_with_its_own_target() {
    assert_clean_pass(&["--mock", "wso2"], 22);
}

#[test]
fn wso2_with_renewal_off_passes_when_the_target_follows_the_knob() {
    // The generated target declares rotation: static, so the static checks
    // run and the rotating ones are skipped.
    let dir = tempfile::tempdir().unwrap();
    let (out, report) = check(dir.path(), &["--mock", "wso2", "--rotation", "static"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        outcomes(&report, "passed").contains(&"rotation/mode-static".to_string()),
        "{}",
        text(&out)
    );
    assert!(outcomes(&report, "skipped").contains(&"rotation/old-refused".to_string()));
}

#[test]
fn a_declaration_that_contradicts_the_server_is_the_targets_mistake() {
    // wso2 with renewal off, checked against a target declaring rotation:
    // the preflight's refresh shows it (issue 32): exit 3, the key named.
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--mock",
        "wso2",
        "--rotation",
        "static",
        "--target",
        "fixtures/targets/mock-wso2.yaml",
    ];
    let (out, _) = check(dir.path(), &args);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("declare `rotation: static`"),
        "{}",
        text(&out)
    );
    // Without the preflight, the profile check still compares the two.
    let mut without = args.to_vec();
    without.push("--no-preflight");
    let (out, report) = check(dir.path(), &without);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        outcomes(&report, "failed").contains(&"rotation/mode-rotate".to_string()),
        "{}",
        text(&out)
    );
    // And the strict mock against a target that declares static rotation.
    let strict_static = dir.path().join("strict-static.yaml");
    let declared = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/targets/mock-strict.yaml"),
    )
    .unwrap()
    .replace("rotation: rotate", "rotation: static");
    std::fs::write(&strict_static, declared).unwrap();
    let (out, _) = check(
        dir.path(),
        &[
            "--mock",
            "strict",
            "--target",
            strict_static.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("declare `rotation: rotate`"),
        "{}",
        text(&out)
    );
}

#[test]
fn the_mock_over_https_passes_with_its_certificate_trusted() {
    assert_clean_pass(&["--mock", "strict", "--tls", "self-signed"], 25);
}

#[test]
fn a_mock_flag_without_mock_is_refused() {
    let out = tokenprobe(&[
        "check",
        "--target",
        "fixtures/targets/mock-strict.yaml",
        "--fault",
        "race",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("need --mock"), "{}", text(&out));
}

#[test]
fn an_unknown_fault_is_refused_with_a_suggestion() {
    let out = tokenprobe(&["check", "--mock", "strict", "--fault", "rotation_keep_old"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("rotation_keeps_old"), "{}", text(&out));
}

/// `tokenprobe mock` as a separate process: first line = base URL and the
/// generated target file; stopped with SIGINT, it removes that file.
struct MockProcess {
    child: std::process::Child,
    /// Kept open: the mock may still be writing its banner.
    _stdout: std::io::BufReader<std::process::ChildStdout>,
    base_url: String,
    target: std::path::PathBuf,
}

impl MockProcess {
    fn start(args: &[&str]) -> MockProcess {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
            .arg("mock")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start tokenprobe mock");
        let mut first = String::new();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut first).unwrap();
        let mut parts = first.split_whitespace();
        let base_url = parts
            .next()
            .expect("base URL on the first line")
            .to_string();
        let target = parts.next().expect("target path on the first line").into();
        MockProcess {
            child,
            _stdout: stdout,
            base_url,
            target,
        }
    }

    fn stop(mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        self.child.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[test]
fn tls_mock_is_refused_without_trust_and_passes_with_cacert() {
    let mock = MockProcess::start(&[
        "--profile",
        "idcs",
        "--tls",
        "self-signed",
        "--clock",
        "virtual",
    ]);
    assert!(
        mock.base_url.starts_with("https://127.0.0.1:"),
        "{}",
        mock.base_url
    );
    let generated = std::fs::read_to_string(&mock.target).unwrap();
    let ca = mock.target.with_file_name("ca.pem");
    assert!(
        generated.contains(&format!("ca_file: {}", ca.display())),
        "{generated}"
    );

    // The same target without the CA: the certificate is not trusted.
    let dir = tempfile::tempdir().unwrap();
    let untrusted = dir.path().join("untrusted.yaml");
    let without_ca: String = generated
        .lines()
        .filter(|l| !l.trim_start().starts_with("ca_file:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&untrusted, without_ca).unwrap();
    let (out, _) = check(dir.path(), &["--target", untrusted.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("certificate"), "{}", text(&out));

    // --cacert trusts it.
    let (out, report) = check(
        dir.path(),
        &[
            "--target",
            untrusted.to_str().unwrap(),
            "--cacert",
            ca.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(report["summary"]["failed"], 0);

    // The generated file as is.
    let (out, _) = check(dir.path(), &["--target", mock.target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let target = mock.target.clone();
    assert_eq!(mock.stop(), Some(0), "graceful shutdown on SIGINT");
    assert!(!target.exists(), "the generated target is removed on exit");
}
