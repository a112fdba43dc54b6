//! The headless code flow against pages tokenprobe did not write (wiremock
//! serves them): a page the recipe cannot complete is the target's problem
//! (exit 3, naming the hop, the URL without its query, the status and the
//! fields found), a login form on an undeclared origin never gets the
//! password, an authorization response with the wrong state or `iss` stops
//! the login, and a login command's token response starts the session.

use std::process::{Command, Output};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn check(dir: &std::path::Path, target: &str, extra: &[&str]) -> Output {
    let file = dir.join("target.yaml");
    std::fs::write(&file, target).unwrap();
    Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(["check", "--color", "never", "--target"])
        .arg(&file)
        .args(extra)
        .arg("--report")
        .arg(format!("json={}", dir.join("r.json").display()))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n{}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn target(base: &str, login_extra: &str) -> String {
    format!(
        "name: pages\nbase_url: {base}\ntoken_endpoint: /token\nclients:\n  primary: {{ id: app, secret: app-secret }}\nusers:\n  primary: {{ username: alice, password: alice-pass-1 }}\nlogin:\n  grant: authorization_code\n  authorization_endpoint: /authorize\n  redirect_uri: http://127.0.0.1:9/callback\n{login_extra}timing: {{ request_timeout_s: 2 }}\n"
    )
}

fn html(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_string(), "text/html; charset=utf-8")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_the_recipe_cannot_complete_is_the_targets_problem() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/authorize"))
        .respond_with(html(
            "<html><body><p>Please enable JavaScript.</p><form action=/search><input type=search name=q></form></body></html>",
        ))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::task::spawn_blocking({
        let t = target(&server.uri(), "");
        let d = dir.path().to_path_buf();
        move || check(&d, &t, &[])
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("hop 1"), "{err}");
    assert!(
        err.contains(&format!("{}/authorize", server.uri())),
        "{err}"
    );
    assert!(
        !err.contains("client_id="),
        "the URL is shown without its query: {err}"
    );
    assert!(err.contains("200"), "{err}");
    assert!(err.contains('q'), "the fields found are named: {err}");
    // The report says why, as one error case.
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    assert!(
        r["preflight_error"].as_str().unwrap().contains("hop 1"),
        "{r}"
    );
    // No token request was made: the flow stopped at the page.
    let got = server.received_requests().await.unwrap();
    assert!(
        !got.iter()
            .any(|r| r.method == wiremock::http::Method::POST && r.url.path() == "/token"),
        "{got:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_password_goes_only_to_declared_origins() {
    let server = MockServer::start().await;
    // The login form posts to another host: the recipe must not follow.
    Mock::given(method("GET"))
        .and(path("/authorize"))
        .respond_with(html(
            "<html><body><form method=post action=\"http://127.0.0.2:9/steal\"><input name=username><input type=password name=password><button>Sign in</button></form></body></html>",
        ))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::task::spawn_blocking({
        let t = target(&server.uri(), "");
        let d = dir.path().to_path_buf();
        move || check(&d, &t, &[])
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("127.0.0.2"),
        "the foreign origin is named: {err}"
    );
    assert!(
        err.contains("origins"),
        "the way to allow it is named: {err}"
    );
    assert!(!text(&out).contains("alice-pass-1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_state_stops_every_login_and_is_one_finding() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/authorize"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "location",
            "http://127.0.0.1:9/callback?code=abc&state=not-yours",
        ))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::task::spawn_blocking({
        let t = target(&server.uri(), "");
        let d = dir.path().to_path_buf();
        move || {
            check(
                &d,
                &t,
                &["--filter", "code-flow/state", "--filter", "refresh/ok"],
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    let outcome = |id: &str| {
        r["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .map(|s| s["outcome"].as_str().unwrap().to_string())
    };
    assert_eq!(outcome("code-flow/state").as_deref(), Some("failed"), "{r}");
    assert_eq!(outcome("refresh/ok").as_deref(), Some("blocked"), "{r}");
    // The code was never exchanged: a client must reject the response.
    let got = server.received_requests().await.unwrap();
    assert!(
        !got.iter()
            .any(|r| r.method == wiremock::http::Method::POST && r.url.path() == "/token"),
        "{got:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_command_starts_the_session_and_its_failure_is_shown() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .insert_header("cache-control", "no-store")
                .set_body_string(r#"{"access_token":"at-2","token_type":"Bearer","expires_in":60,"refresh_token":"rt-2"}"#),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("login.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho '{\"access_token\":\"at-1\",\"token_type\":\"Bearer\",\"expires_in\":60,\"refresh_token\":\"rt-1-from-the-sso-login-0123456789\"}'\n",
    )
    .unwrap();
    let failing = dir.path().join("fail.sh");
    std::fs::write(
        &failing,
        "#!/bin/sh\necho 'MFA prompt timed out' >&2\nexit 4\n",
    )
    .unwrap();
    for f in [&script, &failing] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let cmd_target = |prog: &std::path::Path| {
        format!(
            "name: sso\nbase_url: {}\ntoken_endpoint: /token\nclients:\n  primary: {{ id: app, secret: app-secret }}\nusers:\n  primary: {{ username: alice, password: x }}\nlogin:\n  grant: command\n  command: [{}]\n  timeout_s: 10\ntiming: {{ request_timeout_s: 2 }}\n",
            server.uri(),
            prog.display()
        )
    };
    let out = tokio::task::spawn_blocking({
        let t = cmd_target(&script);
        let d = dir.path().to_path_buf();
        move || check(&d, &t, &["--filter", "refresh/ok"])
    })
    .await
    .unwrap();
    let got = server.received_requests().await.unwrap();
    let bodies: Vec<String> = got
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("refresh_token=rt-1-from-the-sso-login-0123456789")),
        "the command's refresh token was refreshed: {bodies:?}\n{}",
        text(&out)
    );
    assert!(
        !text(&out).contains("rt-1-from-the-sso-login"),
        "its token is shown as a fingerprint"
    );
    let out = tokio::task::spawn_blocking({
        let t = cmd_target(&failing);
        let d = dir.path().to_path_buf();
        move || check(&d, &t, &[])
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("MFA prompt timed out"),
        "its stderr is shown: {}",
        text(&out)
    );
}
