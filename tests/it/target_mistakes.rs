//! A wrong `jwks_uri` or `issuer` in the target is the user's mistake
//! (issue 20): exit 3 before any scenario runs, naming the key, never a
//! signature or id_token failure of the server.

use super::mock_support::MockProcess;
use std::process::{Command, Output};

fn mock() -> MockProcess {
    MockProcess::start()
}

/// The mock's target with one line changed, checked.
fn check_with(m: &MockProcess, edit: impl Fn(&str) -> String) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(&m.target).unwrap();
    let file = dir.path().join("t.yaml");
    std::fs::write(&file, edit(&text)).unwrap();
    let json = dir.path().join("r.json");
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(["check", "--color", "never", "--target"])
        .arg(&file)
        .arg("--report")
        .arg(format!("json={}", json.display()))
        .current_dir(dir.path())
        .output()
        .unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("a report even so")).unwrap();
    assert_eq!(
        report["summary"]["failed"], 0,
        "no server finding: {report}"
    );
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn replace_line(text: &str, key: &str, with: &str) -> String {
    text.lines()
        .map(|l| {
            if l.starts_with(key) {
                with.to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn a_declared_issuer_the_id_token_contradicts_is_the_targets_mistake() {
    let m = mock();
    let out = check_with(&m, |t| {
        replace_line(t, "issuer:", "issuer: https://issuer.example.test")
    });
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("issuer"), "{err}");
    assert!(err.contains("https://issuer.example.test"), "{err}");
    assert!(err.contains("fix issuer in the target"), "{err}");
}

#[test]
fn a_jwks_uri_without_keys_is_the_targets_mistake() {
    let m = mock();
    let out = check_with(&m, |t| {
        replace_line(t, "jwks_uri:", "jwks_uri: /no-such-keys")
    });
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("jwks_uri"), "{err}");
    assert!(err.contains("/no-such-keys"), "{err}");
    assert!(err.contains("404"), "{err}");
}

#[test]
fn a_declared_issuer_discovery_contradicts_is_the_targets_mistake() {
    let m = mock();
    let out = check_with(&m, |t| {
        let t = replace_line(t, "issuer:", "issuer: https://issuer.example.test");
        t.replace(
            "token_endpoint:",
            "discovery: /.well-known/openid-configuration\ntoken_endpoint:",
        )
    });
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("discovery document"), "{err}");
    assert!(err.contains("OpenID Connect Discovery §4.3"), "{err}");
}
