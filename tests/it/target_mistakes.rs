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

/// Issue 32: the preflight's own login and refresh show the rotation, the
/// id_token on refresh and the granted scope; a declaration they
/// contradict is the target's mistake (exit 3, the key, what was declared,
/// what was seen, the fix), never ROT-MODE's finding.
#[test]
fn declarations_the_preflight_contradicts_are_the_targets_mistake() {
    for (flags, key, fix) in [
        (
            &["--fault", "same_refresh_token"][..],
            "behaviour.rotation",
            "rotation: static",
        ),
        (
            &[
                "--rotation",
                "omit",
                "--target",
                "fixtures/targets/mock-strict.yaml",
            ][..],
            "behaviour.rotation",
            "rotation: omit",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
            .args(["check", "--color", "never", "--mock", "strict"])
            .args(flags)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{flags:?}: {err}");
        assert!(err.contains(key) && err.contains(fix), "{flags:?}: {err}");
        assert!(err.contains("not a finding of the server's"), "{err}");
    }
    let m = mock();
    // An id_token declared absent that comes only leaves checks out: a note.
    let out = check_with(&m, |t| {
        replace_line(t, "  id_token_on_refresh:", "  id_token_on_refresh: false")
    });
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("note: preflight"), "{}", stderr(&out));
    // One declared that never comes would fail the id_token checks: exit 3.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("no-id-token.yaml");
    std::fs::write(&cfg, "id_token: false\n").unwrap();
    let quiet = super::mock_support::MockProcess::start_with(&["--config", cfg.to_str().unwrap()]);
    let out = check_with(&quiet, |t| {
        replace_line(t, "  id_token_on_refresh:", "  id_token_on_refresh: true")
    });
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("id_token_on_refresh: false"),
        "{}",
        stderr(&out)
    );
    // With no scope declared the file cannot show it; the login, granted
    // the server's default (`read`), does.
    let out = check_with(&m, |t| {
        let t = replace_line(t, "  extra:", "  extra: read");
        let t = replace_line(&t, "  narrow:", "");
        t.lines()
            .filter(|l| !l.trim_start().starts_with("scope: openid read write"))
            .collect::<Vec<_>>()
            .join("\n")
    });
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("scopes.extra"), "{}", stderr(&out));
}
