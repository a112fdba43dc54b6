//! Issue 32: a refusal is judged by the clause of the endpoint it came
//! from. The same answer, `503` with an OAuth `error`, is a server failure
//! at the token endpoint (ER-NO5XX, RFC 6749 §5.2) and the revocation
//! endpoint's "retry later" (RFC 7009 §2.2.1: no finding, the check is
//! blocked); a body without JSON is ER-BODY's at the token endpoint and
//! RI-ERR's (RFC 7662 §2.3) at introspection.

use std::process::Command;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn tokens() -> ResponseTemplate {
    let n = rand::random::<u128>();
    ResponseTemplate::new(200)
        .insert_header("cache-control", "no-store")
        .set_body_json(serde_json::json!({
            "access_token": format!("at-{n:032x}"), "token_type": "Bearer",
            "expires_in": 3600, "refresh_token": format!("rt-{n:032x}")
        }))
}

fn unavailable() -> ResponseTemplate {
    ResponseTemplate::new(503).set_body_json(serde_json::json!({
        "error": "temporarily_unavailable", "error_description": "try later"
    }))
}

fn run(base: &str, filters: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.yaml");
    std::fs::write(
        &target,
        format!(
            "name: clauses\nbase_url: {base}\ntoken_endpoint: /token\nrevocation_endpoint: /revoke\nintrospection_endpoint: /introspect\nclients:\n  primary: {{ id: app, secret: app-secret }}\nusers:\n  primary: {{ username: alice, password: alice-pass-1 }}\ntiming: {{ request_timeout_s: 5 }}\n"
        ),
    )
    .unwrap();
    let json = dir.path().join("r.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tokenprobe"));
    cmd.args(["check", "--no-preflight", "--target"])
        .arg(&target);
    for f in filters {
        cmd.args(["--filter", f]);
    }
    cmd.arg("--report").arg(format!("json={}", json.display()));
    cmd.output().unwrap();
    serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap()
}

fn outcome(r: &serde_json::Value, id: &str) -> String {
    r["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .map(|s| s["outcome"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no {id} in {r}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_503_is_a_failure_at_the_token_endpoint_and_retry_later_at_revocation() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=password"))
        .respond_with(tokens())
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(unavailable())
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .respond_with(unavailable())
        .mount(&server)
        .await;
    let base = server.uri();
    let r = tokio::task::spawn_blocking(move || {
        run(&base, &["refresh/ok", "revocation/revoke-refresh-token"])
    })
    .await
    .unwrap();
    assert_eq!(
        outcome(&r, "revocation/revoke-refresh-token"),
        "blocked",
        "{r}"
    );
    let all = r["scenarios"].to_string();
    assert!(all.contains("RFC 7009"), "{all}");
    // At the token endpoint the refusal sent as a 5xx is a finding, once.
    let failed: Vec<&serde_json::Value> = r["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["outcome"] == "failed")
        .collect();
    assert!(
        failed
            .iter()
            .any(|s| s["covers"].to_string().contains("ER-NO5XX")
                || s["finding"].to_string().contains("503")),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_without_json_is_judged_by_each_endpoints_own_clause() {
    let server = MockServer::start().await;
    let text = || ResponseTemplate::new(401).set_body_string("Unauthorized");
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=password"))
        .respond_with(tokens())
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(text())
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/introspect"))
        .respond_with(text())
        .mount(&server)
        .await;
    let base = server.uri();
    let r = tokio::task::spawn_blocking(move || {
        run(
            &base,
            &[
                "client-auth/refresh-wrong-secret",
                "errors/status-and-body",
                "revocation/introspect-error",
                "revocation/introspect-needs-client-auth",
            ],
        )
    })
    .await
    .unwrap();
    let finding = |id: &str| {
        r["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()
            .clone()
    };
    // The introspection endpoint's refusal: RI-AUTH holds (it refused),
    // RI-ERR judges the body (RFC 7662 §2.3), never ER-BODY.
    assert_eq!(
        outcome(&r, "revocation/introspect-needs-client-auth"),
        "passed",
        "{r}"
    );
    assert_eq!(outcome(&r, "revocation/introspect-error"), "failed", "{r}");
    let er_body = finding("errors/status-and-body").to_string();
    assert!(!er_body.contains("/introspect"), "{er_body}");
    assert!(er_body.contains("/token"), "{er_body}");
}

/// Issue 32 item 9: a discovery document without `grant_types_supported`
/// is judged by RFC 8414's default (authorization_code, implicit), not
/// warned for leaving the OPTIONAL member out.
#[tokio::test(flavor = "multi_thread")]
async fn an_absent_grant_types_supported_means_the_rfc_8414_default() {
    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": format!("{base}/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_basic"]
        })))
        .mount(&server)
        .await;
    let run_with = |login: &'static str| {
        let base = base.clone();
        move || {
            let dir = tempfile::tempdir().unwrap();
            let t = dir.path().join("t.yaml");
            std::fs::write(&t, format!("name: meta\ndiscovery: {base}/.well-known/openid-configuration\nclients:\n  primary: {{ id: app, secret: s }}\nusers:\n  primary: {{ username: u, password: p }}\n{login}")).unwrap();
            let json = dir.path().join("r.json");
            Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
                .args([
                    "check",
                    "--no-preflight",
                    "--filter",
                    "metadata/discovery",
                    "--target",
                ])
                .arg(&t)
                .arg("--report")
                .arg(format!("json={}", json.display()))
                .output()
                .unwrap();
            let r: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
            outcome(&r, "metadata/discovery")
        }
    };
    let code = tokio::task::spawn_blocking(run_with(
        "login: { grant: authorization_code, redirect_uri: \"http://127.0.0.1:9/callback\" }\n",
    ))
    .await
    .unwrap();
    assert_eq!(code, "passed");
    // Sessions by the password grant, which the default does not list.
    let password = tokio::task::spawn_blocking(run_with("")).await.unwrap();
    assert_eq!(password, "warned");
}

/// Issue 32 item 9: an introspected `exp` is judged on the server's own
/// clock (its `iat`): a server 60 s behind this machine is not wrong.
#[tokio::test(flavor = "multi_thread")]
async fn introspection_exp_is_judged_on_the_servers_clock() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(tokens())
        .mount(&server)
        .await;
    let behind = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 60;
    Mock::given(method("POST"))
        .and(path("/introspect"))
        .respond_with(move |req: &wiremock::Request| {
            let body = String::from_utf8_lossy(&req.body);
            let active = body.contains("token=at-");
            ResponseTemplate::new(200).set_body_json(if active {
                serde_json::json!({"active": true, "iat": behind, "exp": behind + 3600})
            } else {
                serde_json::json!({"active": false})
            })
        })
        .mount(&server)
        .await;
    let base = server.uri();
    let r = tokio::task::spawn_blocking(move || run(&base, &["revocation/introspect-access"]))
        .await
        .unwrap();
    assert_eq!(outcome(&r, "revocation/introspect-access"), "passed", "{r}");
}
