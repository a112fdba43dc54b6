//! Verdicts that hold on real servers: for each way the suite used to be
//! wrong, a server that takes an alternative the RFCs allow passes (or the
//! check is skipped as not applicable, with its reason), and a server that
//! really breaks the rule fails under the right id — and nothing else fails.
//!
//! Scripted servers (wiremock) stand for the correct and the defective
//! variants; the mock's planted faults are in `fault_matrix.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const BASE: &str = "clients:\n  primary: {id: app, secret: app-secret-123}\n  secondary: {id: other-app, secret: other-secret-456, auth: client_secret_post}\nusers:\n  primary: {username: alice, password: alice-pass-1}\npassword_grant: {scope: openid read write}\n";

fn write_target(server: &MockServer, dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("t.yaml");
    std::fs::write(
        &path,
        format!(
            "name: scripted\nbase_url: {}\ntoken_endpoint: /token\n{BASE}{extra}",
            server.uri()
        ),
    )
    .unwrap();
    path
}

/// Runs the scenarios matching `filter` against `server`; the report.
fn check(server: &MockServer, extra: &str, filter: &str) -> (i32, Vec<serde_json::Value>) {
    let dir = tempfile::tempdir().unwrap();
    let target = write_target(server, dir.path(), extra);
    let json = dir.path().join("r.json");
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args([
            "check",
            "--no-preflight",
            "--target",
            target.to_str().unwrap(),
            "--filter",
            filter,
        ])
        .args(["--report", &format!("json={}", json.display())])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&json)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr))),
    )
    .unwrap();
    let scenarios = report["scenarios"].as_array().unwrap().clone();
    (out.status.code().unwrap(), scenarios)
}

fn scenario<'a>(all: &'a [serde_json::Value], id: &str) -> &'a serde_json::Value {
    all.iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {all:?}"))
}

fn outcome(all: &[serde_json::Value], id: &str) -> String {
    scenario(all, id)["outcome"].as_str().unwrap().to_string()
}

fn tokens(expires_in: u64, scope: &str) -> serde_json::Value {
    serde_json::json!({
        "access_token": "at-0123456789abcdef",
        "token_type": "Bearer",
        "expires_in": expires_in,
        "refresh_token": "rt-0123456789abcdef",
        "scope": scope,
    })
}

fn error(code: &str) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(serde_json::json!({ "error": code }))
}

async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("HEAD"))
        .respond_with(ResponseTemplate::new(405))
        .mount(&server)
        .await;
    server
}

/// Every POST to /token answers `tokens(expires_in, scope)`.
async fn token_server(expires_in: u64) -> MockServer {
    let s = server().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(tokens(expires_in, "openid read write")),
        )
        .mount(&s)
        .await;
    s
}

// 1 and 2: expires_in rounded down; waits past a declared lifetime.

#[tokio::test]
async fn expires_in_rounded_down_passes_and_a_short_one_fails() {
    // refresh_token_ttl_s: 2 is shorter than the after-refresh wait.
    let declared =
        "behaviour: {rotation: static, access_token_ttl_s: 3600, refresh_token_ttl_s: 2}\n";
    let (code, s) = check(&token_server(3599).await, declared, "access-token-lifetime");
    assert_eq!(outcome(&s, "expiry/access-token-lifetime"), "passed");
    let after = scenario(&s, "expiry/access-token-lifetime-after-refresh");
    assert_eq!(after["outcome"], "skipped", "{after}");
    assert!(
        after["skip_reason"]
            .as_str()
            .unwrap()
            .contains("would outlast the declared behaviour.refresh_token_ttl_s"),
        "{after}"
    );
    assert_eq!(code, 0);

    let (code, s) = check(&token_server(3590).await, declared, "access-token-lifetime");
    let f = scenario(&s, "expiry/access-token-lifetime");
    assert_eq!(f["outcome"], "failed", "{f}");
    assert!(
        f["finding"]["expected"]
            .as_str()
            .unwrap()
            .contains("expires_in_tolerance_s = 3"),
        "{f}"
    );
    assert_eq!(code, 1);
}

// 3: optional members are optional.

#[tokio::test]
async fn an_error_without_description_passes_and_an_illegal_one_fails() {
    for (body, want) in [
        (serde_json::json!({"error": "invalid_grant"}), "passed"),
        (
            serde_json::json!({"error": "invalid_grant", "error_description": "bad \"quote\""}),
            "failed",
        ),
    ] {
        let s = server().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(400).set_body_json(body.clone()))
            .mount(&s)
            .await;
        let (_, all) = check(&s, "", "errors/status-and-body");
        assert_eq!(outcome(&all, "errors/status-and-body"), want, "{body}");
    }
}

#[tokio::test]
async fn an_introspection_answer_without_exp_passes() {
    for (answer, want) in [
        (serde_json::json!({"active": true}), "passed"),
        (serde_json::json!({"active": true, "exp": "soon"}), "failed"),
    ] {
        let s = token_server(3600).await;
        Mock::given(method("POST"))
            .and(path("/introspect"))
            .and(body_string_contains("token=at-0123456789abcdef"))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer.clone()))
            .with_priority(1)
            .mount(&s)
            .await;
        Mock::given(method("POST"))
            .and(path("/introspect"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(serde_json::json!({"active": false})),
            )
            .mount(&s)
            .await;
        let (_, all) = check(
            &s,
            "introspection_endpoint: /introspect\n",
            "revocation/introspect-access",
        );
        assert_eq!(
            outcome(&all, "revocation/introspect-access"),
            want,
            "{answer}"
        );
    }
}

// 4: a refusal need not be JSON to be a refusal.

/// A token for a GET warns: §3.2's POST is a rule for the client, so
/// serving GET is RF-POST's SHOULD, not a MUST failure.
#[tokio::test]
async fn a_bodiless_405_for_get_passes_rf_post_and_a_token_warns() {
    for (answer, want) in [
        (ResponseTemplate::new(405), "passed"),
        (
            ResponseTemplate::new(404).set_body_raw("<html>not here</html>", "text/html"),
            "passed",
        ),
        (ResponseTemplate::new(401), "passed"),
        (
            ResponseTemplate::new(200).set_body_json(tokens(3600, "openid")),
            "warned",
        ),
    ] {
        let s = server().await;
        Mock::given(method("GET"))
            .and(path("/token"))
            .respond_with(answer)
            .mount(&s)
            .await;
        let (_, all) = check(&s, "", "format/get-refused");
        assert_eq!(outcome(&all, "format/get-refused"), want);
    }
}

// 5: introspecting refresh tokens is a declared capability.

#[tokio::test]
async fn refresh_token_introspection_runs_only_when_declared() {
    let s = server().await;
    let mut n = 0;
    for rt in ["rt-first-0123456789", "rt-second-0123456789"] {
        n += 1;
        let mut body = tokens(3600, "openid read write");
        body["refresh_token"] = rt.into();
        let given = Mock::given(method("POST")).and(path("/token"));
        let given = if n == 1 {
            given.and(body_string_contains("grant_type=password"))
        } else {
            given.and(body_string_contains("grant_type=refresh_token"))
        };
        given
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&s)
            .await;
    }
    // A server that introspects access tokens only.
    Mock::given(method("POST"))
        .and(path("/introspect"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"active": false})),
        )
        .mount(&s)
        .await;
    let endpoints = "introspection_endpoint: /introspect\n";
    let (_, all) = check(&s, endpoints, "revocation/introspect-states");
    let skipped = scenario(&all, "revocation/introspect-states");
    assert_eq!(skipped["outcome"], "skipped");
    assert!(
        skipped["skip_reason"]
            .as_str()
            .unwrap()
            .contains("RFC 7662 does not oblige"),
        "{skipped}"
    );
    let declared = format!("{endpoints}introspection: {{refresh_tokens: true}}\n");
    let (_, all) = check(&s, &declared, "revocation/introspect-states");
    assert_eq!(outcome(&all, "revocation/introspect-states"), "failed");
}

// 6: a precondition the server may refuse is not a warning.

#[tokio::test]
async fn client_credentials_refused_as_unauthorized_client_is_not_applicable() {
    for (answer, want) in [
        (error("unauthorized_client"), "skipped"),
        (error("invalid_scope"), "skipped"),
        (
            ResponseTemplate::new(200).set_body_json(tokens(3600, "read")),
            "warned",
        ),
    ] {
        let s = server().await;
        Mock::given(method("POST"))
            .and(body_string_contains("grant_type=client_credentials"))
            .respond_with(answer)
            .mount(&s)
            .await;
        let (_, all) = check(&s, "", "refresh/no-refresh-token-for-client-credentials");
        let r = scenario(&all, "refresh/no-refresh-token-for-client-credentials");
        assert_eq!(r["outcome"], want, "{r}");
        if want == "skipped" {
            assert!(
                r["skip_reason"]
                    .as_str()
                    .unwrap()
                    .starts_with("not applicable:"),
                "{r}"
            );
        }
    }
}

// 7: a server may grant another scope than asked if it says so; the
// original grant must survive; an extra scope is never granted.

/// A refresh asking for exactly this scope.
fn scope_is(want: &'static str) -> impl Fn(&Request) -> bool {
    move |r: &Request| {
        form_urlencoded::parse(&r.body).any(|(k, v)| k == "scope" && v == want)
            && form_urlencoded::parse(&r.body)
                .any(|(k, v)| k == "grant_type" && v == "refresh_token")
    }
}

async fn scope_server(
    narrowed: &str,
    full_again: ResponseTemplate,
    widened: ResponseTemplate,
) -> MockServer {
    let s = server().await;
    Mock::given(method("POST"))
        .and(body_string_contains("grant_type=password"))
        .respond_with(ResponseTemplate::new(200).set_body_json(tokens(3600, "openid read write")))
        .mount(&s)
        .await;
    // Asking for `read` only (the narrow scope).
    Mock::given(method("POST"))
        .and(scope_is("read"))
        .respond_with(ResponseTemplate::new(200).set_body_json(tokens(3600, narrowed)))
        .with_priority(1)
        .mount(&s)
        .await;
    Mock::given(method("POST"))
        .and(scope_is("openid read write email"))
        .respond_with(widened)
        .with_priority(1)
        .mount(&s)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(scope_is("openid read write"))
        .respond_with(full_again)
        .with_priority(2)
        .mount(&s)
        .await;
    s
}

#[tokio::test]
async fn scope_narrowing_and_widening_grade_must_and_should_apart() {
    let scopes = "scopes: {narrow: read, extra: email}\n";
    let ok = || ResponseTemplate::new(200).set_body_json(tokens(3600, "openid read write"));
    let cases = [
        // Narrows as asked, refuses widening: all good.
        ("read", ok(), error("invalid_scope"), "passed", "passed"),
        // Ignores the narrowing but says so; drops the extra scope silently.
        (
            "openid read write",
            ok(),
            ResponseTemplate::new(200).set_body_json(tokens(3600, "openid read write")),
            "warned",
            "warned",
        ),
        // Keeps the narrowed scope for good; grants the extra scope.
        (
            "read",
            error("invalid_scope"),
            ResponseTemplate::new(200).set_body_json(tokens(3600, "openid read write email")),
            "failed",
            "failed",
        ),
    ];
    for (narrowed, full_again, widened, narrow_want, widen_want) in cases {
        let s = scope_server(narrowed, full_again, widened).await;
        let (_, all) = check(&s, scopes, "scope/");
        assert_eq!(
            outcome(&all, "scope/narrow"),
            narrow_want,
            "narrowed to {narrowed}: {}",
            scenario(&all, "scope/narrow")
        );
        assert_eq!(
            outcome(&all, "scope/widen"),
            widen_want,
            "narrowed to {narrowed}: {}",
            scenario(&all, "scope/widen")
        );
    }
}

// 8: wrong premises.

/// True when a request names no client at all.
fn anonymous(r: &Request) -> bool {
    let body = String::from_utf8_lossy(&r.body);
    !r.headers.contains_key("authorization")
        && !body.contains("client_id=")
        && !r.url.as_str().contains("client_id=")
}

#[tokio::test]
async fn an_anonymous_grant_is_not_a_must_failure_and_makes_ca_query_inapplicable() {
    let s = server().await;
    Mock::given(method("POST"))
        .and(anonymous)
        .respond_with(ResponseTemplate::new(200).set_body_json(tokens(3600, "openid read write")))
        .with_priority(1)
        .mount(&s)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("client_id=app"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("www-authenticate", "Basic realm=\"x\"")
                .set_body_json(serde_json::json!({"error": "invalid_client"})),
        )
        .mount(&s)
        .await;
    let (_, all) = check(&s, "", "password/no-client-credentials");
    let r = scenario(&all, "password/no-client-credentials");
    assert_eq!(r["outcome"], "warned", "{r}");
    assert_eq!(r["finding"]["step"], "#2 password");
    let (_, all) = check(&s, "", "client-auth/credentials-in-query");
    let r = scenario(&all, "client-auth/credentials-in-query");
    assert_eq!(r["outcome"], "skipped", "{r}");
    assert!(
        r["skip_reason"]
            .as_str()
            .unwrap()
            .contains("without any client authentication")
    );
}

// 9: one defect, one finding.

#[tokio::test]
async fn empty_error_bodies_are_one_er_body_finding_and_the_refusals_pass() {
    let s = server().await;
    Mock::given(method("POST"))
        .and(body_string_contains("grant_type=password"))
        .respond_with(ResponseTemplate::new(200).set_body_json(tokens(3600, "openid read write")))
        .with_priority(1)
        .mount(&s)
        .await;
    // Every refresh is refused with an empty 400: the right refusal, in a
    // defective shape.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400))
        .mount(&s)
        .await;
    // Only the bogus-token checks run: their judge of ER-BODY is not among
    // them, so one result stands for it.
    let (code, all) = check(&s, "", "refresh/bogus");
    assert_eq!(code, 1);
    for id in [
        "refresh/bogus-flipped",
        "refresh/bogus-random",
        "refresh/bogus-truncated",
    ] {
        assert_eq!(outcome(&all, id), "passed", "{}", scenario(&all, id));
    }
    let judge = scenario(&all, "errors/er-body-seen-elsewhere");
    assert_eq!(judge["outcome"], "failed", "{judge}");
    assert_eq!(judge["covers"], serde_json::json!(["ER-BODY"]));
    // Three places: the finding's own (its actual names it), two more.
    let seen = judge["finding"]["seen_in"].as_array().unwrap();
    assert_eq!(seen.len(), 2, "{judge}");
    assert!(
        judge["finding"]["actual"]
            .as_str()
            .unwrap()
            .contains("(in refresh/bogus-")
    );
    assert!(
        seen.iter()
            .all(|p| p.as_str().unwrap().contains("an empty body")),
        "{seen:?}"
    );
    assert_eq!(
        all.iter().filter(|s| s["outcome"] == "failed").count(),
        1,
        "one defect, one finding: {all:?}"
    );
}

// 10: target mistakes are the target's, said before anything runs.

#[test]
fn validate_refuses_scopes_that_cannot_work() {
    for (scopes, message) in [
        (
            "scopes: {narrow: read, extra: write}\n",
            "`write` is in password_grant.scope",
        ),
        (
            "scopes: {narrow: read admin, extra: email}\n",
            "`admin` is not in it",
        ),
        (
            "scopes: {narrow: openid read write, extra: email}\n",
            "proper subset",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t.yaml");
        std::fs::write(
            &target,
            format!("name: t\ntoken_endpoint: http://127.0.0.1:9/token\n{BASE}{scopes}"),
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
            .args(["validate", "--target", target.to_str().unwrap()])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{scopes}: {err}");
        assert!(err.contains(message), "{scopes}: {err}");
        assert!(err.contains("t.yaml:9:"), "{scopes}: {err}");
    }
}

/// A wrong client secret in the target is the target's mistake: every check
/// that needed the client is blocked, naming it, and none fails.
#[test]
fn a_wrong_client_secret_blocks_the_checks_and_names_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/targets/mock-strict.yaml"
    ))
    .unwrap()
    .replace("secret: app-secret,", "secret: not-the-secret,");
    let target = dir.path().join("wrong.yaml");
    std::fs::write(&target, text).unwrap();
    let json = dir.path().join("r.json");
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args([
            "check",
            "--no-preflight",
            "--mock",
            "strict",
            "--target",
            target.to_str().unwrap(),
        ])
        .args(["--report", &format!("json={}", json.display())])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let s = &report["summary"];
    assert_eq!(
        (s["failed"].as_u64(), s["warned"].as_u64()),
        (Some(0), Some(0)),
        "{s}"
    );
    assert!(s["blocked"].as_u64().unwrap() >= 40, "{s}");
    for sc in report["scenarios"].as_array().unwrap() {
        if sc["outcome"] == "blocked" {
            let why = sc["blocked_by"]["why"].as_str().unwrap();
            assert!(why.contains("clients.primary"), "{}: {why}", sc["id"]);
        }
    }
}

/// Preflight: a wrong client secret stops the run before the suite, with
/// one message naming the key to check, exit 3, no report.
#[test]
fn a_wrong_client_secret_is_one_message_and_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/targets/mock-strict.yaml"
    ))
    .unwrap()
    .replace("secret: app-secret,", "secret: not-the-secret,");
    let target = dir.path().join("wrong.yaml");
    std::fs::write(&target, text).unwrap();
    let json = dir.path().join("r.json");
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args([
            "check",
            "--mock",
            "strict",
            "--target",
            target.to_str().unwrap(),
        ])
        .args(["--report", &format!("json={}", json.display())])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("the server refused the credentials of clients.primary (401 invalid_client)"),
        "{err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{err}"
    );
    assert!(!err.contains("not-the-secret"), "{err}");
    // Issue 22: a preflight failure wrote no report, and CI artifact steps
    // had nothing to show. Now: one error case with the reason.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("the report is written")).unwrap();
    assert_eq!(report["summary"]["exit_code"], 3);
    assert_eq!(report["summary"]["errored"], 1);
    assert_eq!(report["scenarios"].as_array().unwrap().len(), 1);
    assert_eq!(report["scenarios"][0]["id"], "preflight");
    let why = report["preflight_error"].as_str().unwrap();
    assert!(
        why.contains("clients.primary (401 invalid_client)"),
        "{why}"
    );
    assert!(
        !std::fs::read_to_string(&json)
            .unwrap()
            .contains("not-the-secret")
    );
}

fn check_mock_with(expected: &str, fault: Option<&str>) -> (i32, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("expected.yaml");
    std::fs::write(&file, expected).unwrap();
    let json = dir.path().join("r.json");
    let xml = dir.path().join("r.xml");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tokenprobe"));
    cmd.args(["check", "--mock", "strict", "--filter", "concurrency/race"])
        .args(["--expected-failures", file.to_str().unwrap()])
        .args(["--report", &format!("json={}", json.display())])
        .args(["--report", &format!("junit={}", xml.display())])
        .current_dir(dir.path());
    if let Some(f) = fault {
        cmd.args(["--fault", f]);
    }
    let out = cmd.output().unwrap();
    let report = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let text = format!(
        "{}{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&xml).unwrap()
    );
    (out.status.code().unwrap(), report, text)
}

/// Expected failures: a planted fault listed as expected is known (exit 0,
/// visible everywhere); the same list against a correct server names the
/// stale entry (exit 1); an entry past its date fails the run.
#[test]
fn expected_failures_are_known_stale_or_expired() {
    let list = "expected_failures:\n  - id: CC-RACE\n    reason: \"vendor ticket IAM-1234: fixed in 7.2\"\n";
    let (code, report, text) = check_mock_with(list, Some("race"));
    assert_eq!(code, 0, "{text}");
    let race = &report["scenarios"][0];
    assert_eq!(race["outcome"], "failed");
    assert_eq!(
        race["known_failure"],
        "vendor ticket IAM-1234: fixed in 7.2"
    );
    assert_eq!(report["summary"]["known"], 1);
    assert!(
        text.contains("(known failure: vendor ticket IAM-1234: fixed in 7.2)"),
        "{text}"
    );
    assert!(text.contains("type=\"known-failure\""), "{text}");

    let (code, report, text) = check_mock_with(list, None);
    assert_eq!(code, 1, "{text}");
    let problem = report["expectation_problems"][0].as_str().unwrap();
    assert!(
        problem.contains("`CC-RACE`") && problem.contains("no longer happens"),
        "{problem}"
    );
    assert!(text.contains("STALE"), "{text}");

    let expired = "expected_failures:\n  - {id: concurrency/race, reason: r, until: 2020-01-01}\n";
    let (code, report, _) = check_mock_with(expired, Some("race"));
    assert_eq!(code, 1);
    assert!(
        report["expectation_problems"][0]
            .as_str()
            .unwrap()
            .contains("expired on 2020-01-01")
    );
}

fn race_run(
    dir: &Path,
    name: &str,
    fault: bool,
    compare: Option<&Path>,
    fail_on: &str,
) -> (i32, String) {
    let json = dir.join(name);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tokenprobe"));
    cmd.args([
        "check",
        "--mock",
        "strict",
        "--filter",
        "concurrency/race",
        "--filter",
        "rotation/old",
    ])
    .args(["--report", &format!("json={}", json.display())])
    .args(["--fail-on", fail_on])
    .current_dir(dir);
    if fault {
        cmd.args(["--fault", "race"]);
    }
    if let Some(p) = compare {
        cmd.args(["--compare", p.to_str().unwrap()]);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// `--compare`: a failure of the previous run that is gone is reported as
/// fixed; with `--fail-on new` only new findings fail the run.
#[test]
fn compare_says_new_fixed_and_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _) = race_run(dir.path(), "before.json", true, None, "any");
    assert_eq!(code, 1, "the fault makes the race check fail");
    let before = dir.path().join("before.json");

    let (code, out) = race_run(dir.path(), "after.json", false, Some(&before), "any");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 new, 1 fixed, 0 unchanged"), "{out}");
    assert!(out.contains("FIXED concurrency/race"), "{out}");
    let after: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("after.json")).unwrap()).unwrap();
    assert_eq!(
        after["comparison"]["fixed"],
        serde_json::json!(["concurrency/race"])
    );

    // The same failure again: unchanged, so --fail-on new passes, any fails.
    let (code, out) = race_run(dir.path(), "again.json", true, Some(&before), "new");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no new findings since"), "{out}");
    let (code, _) = race_run(dir.path(), "again.json", true, Some(&before), "any");
    assert_eq!(code, 1);
    // New against a clean run.
    let clean = dir.path().join("after.json");
    let (code, out) = race_run(dir.path(), "new.json", true, Some(&clean), "new");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("NEW concurrency/race"), "{out}");
}
