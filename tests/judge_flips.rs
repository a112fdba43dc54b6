//! The judge is tested against servers that answer wrongly: the verdict must
//! flip from pass to fail, with a message that says why.

use std::process::Command;
use wiremock::matchers::{body_string_contains, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn target_for(server: &MockServer, dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("t.yaml");
    std::fs::write(
        &path,
        format!(
            "name: scripted\ntoken_endpoint: {}/token\nclients:\n  primary: {{id: app, secret: app-secret-123}}\nusers:\n  primary: {{username: alice, password: alice-pass-1}}\nbehaviour: {{rotation: rotate}}\n",
            server.uri()
        ),
    )
    .unwrap();
    path
}

fn check(
    target: &std::path::Path,
    filter: &str,
    dir: &std::path::Path,
) -> (i32, serde_json::Value) {
    let json = dir.join("r.json");
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args([
            "check",
            "--target",
            target.to_str().unwrap(),
            "--filter",
            filter,
            "--report",
            &format!("json={}", json.display()),
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let report = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    (out.status.code().unwrap(), report)
}

/// A scripted server that answers tokenprobe's reachability probe (HEAD).
async fn scripted_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("HEAD"))
        .respond_with(ResponseTemplate::new(405))
        .mount(&server)
        .await;
    server
}

/// Runs the scenarios matching `filter` against `server`.
fn check_against(server: &MockServer, filter: &str) -> (i32, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    check(&target_for(server, dir.path()), filter, dir.path())
}

fn token_body(rt: &str) -> serde_json::Value {
    serde_json::json!({"access_token": "at-0123456789", "token_type": "Bearer", "expires_in": 3600, "refresh_token": rt})
}

#[tokio::test]
async fn a_server_that_accepts_the_old_refresh_token_fails_rot_old() {
    let server = scripted_server().await;
    // Every grant succeeds, so the replayed refresh token is accepted too.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("rt-same-0123456789")))
        .mount(&server)
        .await;
    let (code, report) = check_against(&server, "rotation/old-refused");
    assert_eq!(code, 1);
    let s = &report["scenarios"][0];
    assert_eq!(s["outcome"], "failed");
    assert_eq!(s["message"], "step `step3`: status: expected 400, got 200");
}

#[tokio::test]
async fn a_server_that_answers_rightly_passes_rot_old() {
    let server = scripted_server().await;
    Mock::given(method("POST"))
        .and(body_string_contains("grant_type=password"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("rt-first-0123456789")))
        .mount(&server)
        .await;
    // The first refresh of rt-first succeeds once, then it is refused.
    Mock::given(method("POST"))
        .and(body_string_contains("refresh_token=rt-first"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("rt-second-0123456789")))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("refresh_token=rt-first"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(serde_json::json!({"error": "invalid_grant"})),
        )
        .mount(&server)
        .await;
    let (code, report) = check_against(&server, "rotation/old-refused");
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["scenarios"][0]["outcome"], "passed");
}

#[tokio::test]
async fn a_failing_setup_step_fails_the_scenario_and_names_the_step() {
    let server = scripted_server().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(serde_json::json!({"error": "invalid_request"})),
        )
        .mount(&server)
        .await;
    let (code, report) = check_against(&server, "refresh/bogus-random");
    assert_eq!(code, 1);
    assert_eq!(
        report["scenarios"][0]["message"],
        "step `login`: status: expected 200, got 400 (invalid_request)"
    );
}
