//! A first run anywhere: the binary copied to an empty folder has its suite
//! (compiled in), its mock and its mock targets; `check`, `list` and
//! `validate --target` work there, and `scenarios export` writes the suite
//! out without overwriting anything.

use std::path::Path;
use std::process::Command;

fn copy_binary(dir: &Path) -> std::path::PathBuf {
    let to = dir.join("tokenprobe");
    std::fs::copy(env!("CARGO_BIN_EXE_tokenprobe"), &to).unwrap();
    to
}

#[test]
fn the_copied_binary_checks_lists_and_validates_from_an_empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    let bin = copy_binary(dir.path());
    let run = |args: &[&str]| {
        let out = Command::new(&bin)
            .args(args)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["check"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("(built-in suite) against tokenprobe mock (strict)"),
        "{out}"
    );
    let (code, out, err) = run(&["list"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.lines().count() > 70, "{out}");
    std::fs::write(
        dir.path().join("t.yaml"),
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/targets/mock-strict.yaml"
        ))
        .unwrap(),
    )
    .unwrap();
    let (code, out, err) = run(&["validate", "--target", "t.yaml"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("scenarios valid (built-in suite)") && out.contains("t.yaml: valid"),
        "{out}"
    );

    // Export, then run the exported copy instead of the built-in suite.
    let (code, out, err) = run(&["scenarios", "export", "fork"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("wrote "), "{out}");
    let (code, _, err) = run(&["scenarios", "export", "fork"]);
    assert_eq!(code, Some(2), "a second export must not overwrite: {err}");
    assert!(err.contains("nothing was written"), "{err}");
    let (code, out, err) = run(&["check", "fork/scenarios/rotation"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("(fork/scenarios/rotation (instead of the built-in suite))"),
        "{out}"
    );
}

#[test]
fn extra_scenarios_extend_the_built_in_suite_and_duplicates_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mine = dir.path().join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(
        mine.join("a.yaml"),
        "id: acme/login\ntitle: ACME logs in\nlevel: must\ncovers: [PW-OK]\nsteps:\n  - grant: password\n    expect: { status: 200 }\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args([
            "check",
            "--scenarios",
            mine.to_str().unwrap(),
            "--filter",
            "acme/",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("built-in suite + "), "{stdout}");
    assert!(stdout.contains("acme/login"), "{stdout}");
    // A copy of a built-in scenario clashes with it.
    std::fs::write(
        mine.join("b.yaml"),
        "id: rotation/old-refused\ntitle: again\nlevel: must\ncovers: [ROT-OLD]\nsteps:\n  - grant: password\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(["validate", "--scenarios", mine.to_str().unwrap()])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("duplicate scenario id `rotation/old-refused`"),
        "{err}"
    );
}

#[test]
fn selection_composes_and_list_previews_a_run() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Repeated filters are any-of; excludes take away; globs match ids.
    let (code, out, _) = run(&[
        "list",
        "--filter",
        "rotation/*",
        "--filter",
        "RU-FAMILY",
        "--exclude",
        "chain",
    ]);
    assert_eq!(code, Some(0));
    let ids: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        ids.contains(&"rotation/old-refused") && ids.contains(&"reuse/family-revoked"),
        "{out}"
    );
    assert!(!ids.contains(&"rotation/chain"), "{out}");
    assert!(
        ids.iter()
            .all(|i| i.starts_with("rotation/") || i.starts_with("reuse/")),
        "{out}"
    );
    // With a target: what would be skipped, and why.
    let (code, out, _) = run(&[
        "list",
        "--filter",
        "rotation/mode",
        "--target",
        "fixtures/targets/interop-node-oauth2-server.yaml",
    ]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("[skipped: needs rotation: static; the target declares rotate]"),
        "{out}"
    );
    // An unknown tag names the close one and lists the known ones.
    let (code, _, err) = run(&["check", "--tag", "rotaton"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("did you mean `rotation`?") && err.contains("the tags are: "),
        "{err}"
    );
}

#[test]
fn users_may_cite_their_own_catalogue_ids() {
    let dir = tempfile::tempdir().unwrap();
    let mine = dir.path().join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(
        mine.join("acme.yaml"),
        "id: acme/scope\ntitle: ACME scope\nlevel: must\ncovers: [ACME-SCOPE-1]\nsteps:\n  - grant: password\n    expect: { status: 200 }\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Undeclared: refused, located.
    let (code, _, err) = run(&["validate", "--scenarios", "mine"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("`ACME-SCOPE-1` is not a catalogue id"),
        "{err}"
    );
    // Declared beside the scenarios: accepted, and in the coverage.
    std::fs::write(
        mine.join("catalogue.yaml"),
        "catalogue:\n  - { id: ACME-SCOPE-1, level: MUST, text: \"ACME §4: admin scope needs MFA\" }\n",
    )
    .unwrap();
    let (code, out, err) = run(&["list", "--coverage", "--scenarios", "mine"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("ACME-SCOPE-1") && out.contains("acme/scope"),
        "{out}"
    );
    // A catalogue id of the built-in catalogue cannot be redeclared.
    std::fs::write(
        dir.path().join("clash.yaml"),
        "catalogue:\n  - { id: ROT-OLD, level: MUST, text: x }\n",
    )
    .unwrap();
    let (code, _, err) = run(&["--catalogue", "clash.yaml", "list"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("`ROT-OLD` is already a catalogue id"), "{err}");
}

/// `init` writes a target file from a discovery document that validates and
/// runs as it is once its variables are set; it never overwrites a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_writes_a_target_that_runs() {
    let mock = tokenprobe::mock::MockServer::start(
        tokenprobe::mock::MockConfig::strict(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_tokenprobe");
    let discovery = format!("{}/.well-known/openid-configuration", mock.base_url());
    let out = Command::new(bin)
        .args(["init", "--discovery", &discovery])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("target.yaml")).unwrap();
    for want in [
        "token_endpoint:",
        "revocation_endpoint:",
        "jwks_uri:",
        "${env:TOKENPROBE_CLIENT_SECRET}",
        "# CHECK",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    let again = Command::new(bin)
        .args(["init", "--discovery", &discovery])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2), "no overwrite without --force");
    let check = Command::new(bin)
        .args(["check", "--target", "target.yaml"])
        .envs([
            ("TOKENPROBE_CLIENT_ID", "app"),
            ("TOKENPROBE_CLIENT_SECRET", "app-secret"),
            ("TOKENPROBE_USERNAME", "alice"),
            ("TOKENPROBE_PASSWORD", "alice-pass-1"),
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(stdout.contains(" 0 failed"), "{stdout}");
    mock.shutdown().await;
}

/// Issue 31: a discovery document without `grant_types_supported` means
/// RFC 8414 §2's default (authorization_code, implicit): `init` writes a
/// code-flow login, not the password grant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_follows_rfc_8414s_default_grant_types() {
    use wiremock::matchers::{method, path};
    let server = wiremock::MockServer::start().await;
    let base = server.uri();
    wiremock::Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "issuer": base,
                "authorization_endpoint": format!("{base}/authorize"),
                "token_endpoint": format!("{base}/token"),
                "jwks_uri": format!("{base}/jwks"),
                "scopes_supported": ["openid", "offline_access"]
            })),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let discovery = format!("{base}/.well-known/openid-configuration");
    let out = tokio::task::spawn_blocking({
        let d = dir.path().to_path_buf();
        move || {
            Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
                .args(["init", "--discovery", &discovery])
                .current_dir(d)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("target.yaml")).unwrap();
    assert!(text.contains("grant: authorization_code"), "{text}");
    assert!(text.contains("enabled: false"), "{text}");
    assert!(text.contains("RFC 8414"), "{text}");
}

/// Issue 32: with the credentials in the environment, `init` logs in and
/// refreshes once and writes the rotation and id_token it saw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_writes_the_behaviour_it_saw() {
    let mock = tokenprobe::mock::MockServer::start(
        tokenprobe::mock::MockConfig {
            rotation: tokenprobe::mock::Rotation::Omit,
            ..tokenprobe::mock::MockConfig::strict()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let discovery = format!("{}/.well-known/openid-configuration", mock.base_url());
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
            .args(["init", "--discovery", &discovery])
            .envs([
                ("TOKENPROBE_CLIENT_ID", "app"),
                ("TOKENPROBE_CLIENT_SECRET", "app-secret"),
                ("TOKENPROBE_USERNAME", "alice"),
                ("TOKENPROBE_PASSWORD", "alice-pass-1"),
            ])
            .current_dir(d)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("target.yaml")).unwrap();
    assert!(text.contains("rotation: omit"), "{text}");
    assert!(text.contains("seen by init"), "{text}");
    mock.shutdown().await;
}
