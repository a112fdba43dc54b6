//! Load sessions that start the target's way (issue 19): the code flow
//! through the mock's pages, JWT user assertions, refresh tokens from a
//! file with no login at all; a login command is refused under load.

use super::mock_support::MockProcess;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tokenprobe"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1");
    c
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n{}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn n(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// `tokenprobe load ARGS --report json=…`: its output and report.
fn load(args: &[&str]) -> (Output, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("load.json");
    let out = bin()
        .arg("load")
        .args(args)
        .arg("--report")
        .arg(format!("json={}", json.display()))
        .output()
        .unwrap();
    let report = std::fs::read(&json)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null);
    (out, report)
}

#[test]
fn code_flow_sessions_log_in_through_the_pages_and_refresh() {
    let (out, r) = load(&[
        "--mock",
        "strict",
        "--login",
        "authorization_code",
        "--sessions",
        "20",
        "--run-time",
        "3s",
        "--time-scale",
        "2.8e-4",
        "--threshold",
        "login.p99<5s",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let t = &r["totals"];
    assert_eq!(n(&t["started"]), 20, "{}", text(&out));
    assert!(n(&t["logins"]) >= 20, "{}", text(&out));
    // Each login: the authorization request, the login page's post and
    // the redirects to the code (the strict mock asks for consent too).
    assert!(
        n(&t["login_hops"]) >= 3 * n(&t["logins"]),
        "hops {} for {} logins",
        t["login_hops"],
        t["logins"]
    );
    assert_eq!(n(&r["latency_us"]["login"]["count"]), n(&t["logins"]));
    assert!(
        n(&r["latency_us"]["refresh"]["count"]) > 0,
        "{}",
        text(&out)
    );
    assert_eq!(n(&r["violations"]["chain_breaks"]), 0);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("login pages"), "{stdout}");
    assert!(
        stdout.contains("threshold login.p99<5s: passed"),
        "{stdout}"
    );
}

#[test]
fn jwt_bearer_sessions_sign_a_fresh_assertion_each() {
    let (out, r) = load(&[
        "--mock",
        "idcs",
        "--login",
        "jwt_bearer",
        "--users",
        "3",
        "--run-time",
        "2s",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(n(&r["totals"]["started"]), 3);
    assert!(n(&r["totals"]["logins"]) >= 3);
    assert_eq!(n(&r["totals"]["login_hops"]), 0);
    assert!(n(&r["latency_us"]["refresh"]["count"]) > 0);
    assert_eq!(
        n(&r["errors"]["by_kind"]
            .get("login")
            .cloned()
            .unwrap_or(0.into())),
        0
    );
}

fn mock() -> MockProcess {
    MockProcess::start()
}

/// Refresh tokens issued by `m` to `count` password logins of alice.
fn issue(m: &MockProcess, count: usize) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let mut out = Vec::new();
        for _ in 0..count {
            let r: serde_json::Value = client
                .post(format!("{}/token", m.url.trim_end_matches('/')))
                .basic_auth("app", Some("app-secret"))
                .form(&[
                    ("grant_type", "password"),
                    ("username", "alice"),
                    ("password", "alice-pass-1"),
                    ("scope", "read"),
                ])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            out.push(r["refresh_token"].as_str().unwrap().to_string());
        }
        out
    })
}

fn write_tokens(dir: &Path, tokens: &[String]) -> PathBuf {
    let path = dir.join("tokens.txt");
    let mut body = String::from("# issued by a browser login\n\n");
    for t in tokens {
        body.push_str(t);
        body.push('\n');
    }
    std::fs::write(&path, body).unwrap();
    path
}

#[test]
fn a_tokens_file_starts_sessions_without_any_login() {
    let m = mock();
    let tokens = issue(&m, 5);
    let dir = tempfile::tempdir().unwrap();
    let file = write_tokens(dir.path(), &tokens);
    let target = m.target.display().to_string();
    let file = file.display().to_string();
    let (out, r) = load(&[
        "--target",
        &target,
        "--tokens-file",
        &file,
        "--users",
        "5",
        "--run-time",
        "2s",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let t = &r["totals"];
    assert_eq!(n(&t["started"]), 5, "{}", text(&out));
    assert_eq!(n(&t["logins"]), 0, "no login is sent: {}", text(&out));
    assert!(r["latency_us"].get("login").is_none_or(|l| l["count"] == 0));
    assert!(
        n(&r["latency_us"]["refresh"]["count"]) > 5,
        "{}",
        text(&out)
    );
    assert_eq!(n(&r["violations"]["chain_breaks"]), 0);
    // The tokens themselves are never shown.
    let all = text(&out) + &r.to_string();
    for tk in &tokens {
        assert!(
            !all.contains(tk.as_str()),
            "a refresh token of the file leaked"
        );
    }
}

#[test]
fn a_bad_tokens_file_is_refused_by_line_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens.txt");
    std::fs::write(&file, "good-token\nnot a token\n").unwrap();
    let (out, r) = load(&[
        "--mock",
        "strict",
        "--tokens-file",
        file.to_str().unwrap(),
        "--run-time",
        "1s",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tokens.txt:2"), "{err}");
    assert!(
        !err.contains("not a token"),
        "the line's text is not shown: {err}"
    );
    assert!(r.is_null(), "nothing ran");
    std::fs::write(&file, "# only a comment\n").unwrap();
    let (out, _) = load(&["--mock", "strict", "--tokens-file", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no refresh token"));
}

#[test]
fn a_login_command_is_refused_under_load_before_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let target = dir.path().join("t.yaml");
    std::fs::write(
        &target,
        format!(
            "name: sso\ntoken_endpoint: http://127.0.0.1:9/token\nclients:\n  primary: {{ id: app, secret: s }}\nusers:\n  primary: {{ username: u, password: p }}\nlogin:\n  grant: command\n  command: [touch, {}]\n",
            marker.display()
        ),
    )
    .unwrap();
    let (out, _) = load(&["--target", target.to_str().unwrap(), "--run-time", "1s"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--tokens-file"),
        "{}",
        text(&out)
    );
    assert!(!marker.exists(), "the command ran");
}

/// The mock's target with every endpoint taken out but its discovery
/// document: what `init --discovery` users often keep.
fn discovery_only(m: &MockProcess, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(&m.target).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            ![
                "token_endpoint:",
                "revocation_endpoint:",
                "introspection_endpoint:",
                "jwks_uri:",
                "issuer:",
                "  authorization_endpoint:",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .collect();
    let text = format!(
        "discovery: /.well-known/openid-configuration\n{}\n",
        kept.join("\n")
    );
    assert!(!text.contains("token_endpoint"), "{text}");
    let path = dir.join("discovery-only.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Issue 31: `load` resolves a target as `check` does, discovery filling
/// what the file leaves out, under the password grant and the code flow.
#[test]
fn load_takes_its_endpoints_from_discovery_under_every_login() {
    for flags in [&[][..], &["--login", "authorization_code"][..]] {
        let m = MockProcess::start_with(flags);
        let dir = tempfile::tempdir().unwrap();
        let target = discovery_only(&m, dir.path());
        let target = target.to_str().unwrap();
        let (out, r) = load(&[
            "--target",
            target,
            "--sessions",
            "4",
            "--run-time",
            "2s",
            "--time-scale",
            "2.8e-4",
        ]);
        assert_eq!(out.status.code(), Some(0), "{flags:?}: {}", text(&out));
        assert!(
            n(&r["latency_us"]["refresh"]["count"]) > 0,
            "{flags:?}: {r}"
        );
        let check = bin()
            .args(["check", "--target", target, "--filter", "refresh/ok"])
            .output()
            .unwrap();
        assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    }
}
