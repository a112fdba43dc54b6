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
            "--no-preflight",
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
    assert_eq!(
        s["message"],
        "step `#3 refresh_token`: status: expected 400, got 200 (+1 more)"
    );
    // Every expectation that did not hold is listed, not only the first.
    assert_eq!(s["finding"]["also"][0]["subject"], "error", "{s}");
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
async fn a_refused_setup_step_blocks_the_scenario_and_names_the_step() {
    let server = scripted_server().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(serde_json::json!({"error": "invalid_request"})),
        )
        .mount(&server)
        .await;
    let (code, report) = check_against(&server, "refresh/bogus-random");
    // Not a finding of RB-BOGUS, and not a pass either.
    assert_eq!(code, 1);
    let s = &report["scenarios"][0];
    assert_eq!(s["outcome"], "blocked", "{s}");
    assert_eq!(s["blocked_by"]["step"], "login");
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .starts_with("blocked by step `login`: the server refused it with 400 invalid_request"),
        "{s}"
    );
    assert!(s.get("finding").is_none());
}

/// Answers every grant with tokens made by `make` from a request counter.
struct Issuing<F: Fn(u64) -> String + Send + Sync>(std::sync::atomic::AtomicU64, F);

impl<F: Fn(u64) -> String + Send + Sync> wiremock::Respond for Issuing<F> {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let t = (self.1)(n);
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": format!("a{t}"), "token_type": "Bearer",
            "expires_in": 3600, "refresh_token": format!("r{t}")
        }))
    }
}

async fn issuing(make: impl Fn(u64) -> String + Send + Sync + 'static) -> MockServer {
    let server = scripted_server().await;
    Mock::given(method("POST"))
        .respond_with(Issuing(std::sync::atomic::AtomicU64::new(0), make))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn sequential_tokens_fail_rb_entropy_with_the_estimate() {
    let server = issuing(|n| format!("tok-2026-11-22-{:06}", 4100 + n)).await;
    let (code, report) = check_against(&server, "refresh/token-entropy");
    assert_eq!(code, 1);
    let must = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "refresh/token-entropy")
        .unwrap();
    assert_eq!(must["outcome"], "failed");
    let message = must["message"].as_str().unwrap();
    assert!(
        message.contains("at least 128 bits of entropy"),
        "{message}"
    );
    assert!(message.contains("positions vary"), "{message}");
}

/// A uuid4 carries 122 random bits: six short of RFC 6749 §10.10's 128,
/// and the finding says so exactly, naming the shape.
#[tokio::test]
async fn uuid4_tokens_fail_rb_entropy_at_exactly_122_bits() {
    let server = issuing(|_| {
        use rand::RngCore;
        let mut b = [0u8; 16];
        rand::rng().fill_bytes(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    })
    .await;
    let (code, report) = check_against(&server, "refresh/token-entropy");
    assert_eq!(code, 1);
    let message = report["scenarios"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("122 bits (UUID version 4, RFC 9562 §5.4"),
        "{message}"
    );
    assert!(!message.contains("about"), "{message}");
}

#[tokio::test]
async fn a_token_issued_twice_fails_rb_entropy() {
    // Random-looking, but every token comes twice.
    let server = issuing(|n| format!("{:064x}", (n / 2).wrapping_mul(0x9e37_79b9_7f4a_7c15))).await;
    let (code, report) = check_against(&server, "refresh/token-entropy");
    assert_eq!(code, 1);
    let message = report["scenarios"][0]["message"].as_str().unwrap();
    assert!(message.contains("every token distinct"), "{message}");
}

#[tokio::test]
async fn random_tokens_pass_rb_entropy() {
    let server = issuing(|_| {
        use rand::RngCore;
        let mut b = [0u8; 32];
        rand::rng().fill_bytes(&mut b);
        b.iter().map(|x| format!("{x:02x}")).collect()
    })
    .await;
    let (code, report) = check_against(&server, "refresh/token-entropy");
    assert_eq!(code, 0, "{report}");
}

/// A server whose id_tokens carry the kid of its JWKS key but are signed
/// with another key: ID-VALID must fail on the signature.
#[tokio::test]
async fn an_id_token_signed_by_another_key_fails_id_valid() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    // A real JWKS: the one the tokenprobe mock publishes (its RS256 key:
    // the forged token has the right algorithm, only the key is wrong).
    let mock = tokenprobe::mock::MockServer::start(
        tokenprobe::mock::MockConfig {
            id_token_alg: tokenprobe::mock::IdTokenAlg::RS256,
            ..tokenprobe::mock::MockConfig::strict()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let jwks: serde_json::Value = reqwest::get(mock.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    mock.shutdown().await;

    let server = scripted_server().await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks))
        .mount(&server)
        .await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(tokenprobe::mock::KEY_ID.to_string());
    let other_key =
        EncodingKey::from_rsa_pem(tokenprobe::mock::CLIENT_JWT_PRIVATE_KEY.as_bytes()).unwrap();
    let id_token = jsonwebtoken::encode(
        &header,
        &serde_json::json!({"iss": server.uri(), "sub": "alice", "aud": "app", "iat": now, "exp": now + 600}),
        &other_key,
    )
    .unwrap();
    let mut body = token_body("rt-0123456789-abcdef");
    body["id_token"] = serde_json::json!(id_token);
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.yaml");
    std::fs::write(
        &target,
        format!(
            "name: scripted\ntoken_endpoint: {0}/token\njwks_uri: {0}/jwks\nclients:\n  primary: {{id: app, secret: app-secret-123}}\nusers:\n  primary: {{username: alice, password: alice-pass-1}}\nbehaviour: {{rotation: rotate, id_token_on_refresh: true}}\n",
            server.uri()
        ),
    )
    .unwrap();
    let (code, report) = check(&target, "id-token/valid", dir.path());
    assert_eq!(code, 1);
    let s = &report["scenarios"][0];
    assert_eq!(s["outcome"], "failed", "{s}");
    let message = s["message"].as_str().unwrap();
    assert!(message.contains("id_token signature"), "{message}");
    assert!(message.contains("InvalidSignature"), "{message}");
    // The password grant's id_token is verified too, whatever the target
    // declares about refreshes.
    let p = &report["scenarios"][1];
    assert_eq!(p["id"], "id-token/valid-password");
    assert_eq!(p["outcome"], "failed", "{p}");
}

#[tokio::test]
async fn a_grant_that_drops_a_scope_silently_fails_sc_echo() {
    let server = scripted_server().await;
    // 200 to everything, never a `scope` member.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("rt-0123456789-abcdef")))
        .mount(&server)
        .await;
    let (code, report) = check_against(&server, "scope/echo-when-different");
    assert_eq!(code, 1);
    let s = &report["scenarios"][0];
    assert_eq!(s["outcome"], "failed", "{s}");
    let message = s["message"].as_str().unwrap();
    assert!(message.contains("one of 2 alternatives"), "{message}");
    assert!(message.contains("body.scope"), "{message}");
}

/// The race across addresses: against the mock on every local address
/// (`[::]`, dual stack) by the name `localhost`. Where `localhost` has two
/// answering addresses (127.0.0.1 and ::1) the race runs across both and
/// a check-then-act race flips it to failed; where it has one, the check is
/// not applicable and says which address it found. An endpoint given as an
/// address is never raced across.
#[test]
fn the_race_across_addresses_runs_where_the_name_has_several() {
    use std::io::BufRead;
    let run = |fault: Option<&str>| -> (i32, serde_json::Value) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tokenprobe"));
        cmd.args(["mock", "--listen", "[::]:0"]);
        if let Some(f) = fault {
            cmd.args(["--fault", f]);
        }
        let mut mock = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(mock.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let mut parts = line.split_whitespace();
        let url = parts.next().unwrap().to_string();
        let target = std::fs::read_to_string(parts.next().unwrap()).unwrap();
        let port = url.rsplit(':').next().unwrap().to_string();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.yaml");
        std::fs::write(
            &path,
            target.replace(&url, &format!("http://localhost:{port}")),
        )
        .unwrap();
        let result = check(&path, "concurrency/race-across-addresses", dir.path());
        let _ = mock.kill();
        let _ = mock.wait();
        result
    };
    let (code, report) = run(None);
    let s = &report["scenarios"][0];
    match s["outcome"].as_str() {
        Some("passed") => {
            assert_eq!(code, 0);
            let (code, report) = run(Some("race"));
            assert_eq!(code, 1, "{report}");
            assert_eq!(report["scenarios"][0]["outcome"], "failed");
        }
        Some("skipped") => {
            let why = s["message"].as_str().unwrap_or_default().to_string() + &s.to_string();
            assert!(why.contains("localhost resolves to"), "{why}");
            assert!(why.contains("nothing to race across"), "{why}");
        }
        other => panic!("{other:?}: {s}"),
    }
}

/// Every DPoP check flips against a server that ignores DPoP proofs: it
/// answers every token request with a Bearer token, whatever proof came (or
/// none). Against the mock with `--dpop required` the same checks pass
/// (tests/it/fault_matrix.rs runs that configuration clean).
#[tokio::test]
async fn every_dpop_check_fails_on_a_server_that_ignores_proofs() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "at-0123456789abcdef0123", "token_type": "Bearer",
            "expires_in": 3600, "refresh_token": "rt-0123456789abcdef0123"
        })))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.yaml");
    std::fs::write(
        &target,
        format!(
            "name: ignores dpop\ntoken_endpoint: {}/token\nclients:\n  primary: {{id: app, secret: app-secret-123, dpop: {{alg: EdDSA, binds_refresh_tokens: true}}}}\nusers:\n  primary: {{username: alice, password: alice-pass-1}}\nbehaviour: {{rotation: static}}\n",
            server.uri()
        ),
    )
    .unwrap();
    let (code, report) = check(&target, "dpop/*", dir.path());
    assert_eq!(code, 1, "{report}");
    let outcome = |id: &str| {
        report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .map(|s| s["outcome"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("{id} did not run: {report}"))
    };
    for (id, want) in [
        ("dpop/token-type", "failed"),
        ("dpop/bound-without-proof", "failed"),
        ("dpop/bound-other-key", "failed"),
        ("dpop/wrong-method", "failed"),
        ("dpop/wrong-uri", "failed"),
        ("dpop/replayed-proof", "warned"),
        ("dpop/stale-proof", "warned"),
    ] {
        assert_eq!(outcome(id), want, "{id}");
    }
    // A target declaring that the server demands nonces, which it does not.
    std::fs::write(
        &target,
        std::fs::read_to_string(&target).unwrap().replace(
            "binds_refresh_tokens: true",
            "binds_refresh_tokens: true, nonce: true",
        ),
    )
    .unwrap();
    let (code, report) = check(&target, "dpop/nonce", dir.path());
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["scenarios"][0]["outcome"], "failed", "{report}");
    // The proofs were there and well formed: the server could have checked.
    let received = server.received_requests().await.unwrap();
    let with_proof = received
        .iter()
        .filter(|r| r.headers.get("dpop").is_some())
        .count();
    assert!(with_proof >= 6, "{with_proof} requests carried a proof");
}

/// The timing probe against a server whose right password `alice-pass-1`
/// gets tokens and whose other logins get `refusal`.
async fn login_server(refusal: ResponseTemplate) -> MockServer {
    let server = scripted_server().await;
    Mock::given(method("POST"))
        .and(body_string_contains("password=alice-pass-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "a1", "token_type": "Bearer", "expires_in": 3600,
            "refresh_token": "r1"
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(refusal)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn the_timing_probe_stops_at_the_first_throttling_answer() {
    let server = login_server(
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "30")
            .set_body_json(serde_json::json!({"error": "invalid_grant"})),
    )
    .await;
    let (_, report) = check_against(&server, "password/enumeration-timing");
    let s = &report["scenarios"][0];
    assert_eq!(s["outcome"], "skipped", "{s}");
    let why = s["message"].as_str().unwrap();
    assert!(why.contains("the server throttles failed logins"), "{why}");
    assert!(why.contains("Retry-After: 30"), "{why}");
    // The premise login, then one wrong login: nothing after the 429.
    let posts = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method == wiremock::http::Method::POST)
        .count();
    assert_eq!(posts, 2);
}

#[tokio::test]
async fn the_timing_probe_is_not_applicable_when_the_user_cannot_sign_in() {
    let server = scripted_server().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(serde_json::json!({"error": "unsupported_grant_type"})),
        )
        .mount(&server)
        .await;
    let (_, report) = check_against(&server, "password/enumeration-timing");
    let s = &report["scenarios"][0];
    assert_eq!(s["outcome"], "skipped", "{s}");
    let why = s["message"].as_str().unwrap();
    assert!(
        why.contains("does not sign this user in (400 unsupported_grant_type"),
        "{why}"
    );
}

#[tokio::test]
async fn the_timing_probe_keeps_the_account_signed_in_between_wrong_passwords() {
    let server = login_server(
        ResponseTemplate::new(400).set_body_json(serde_json::json!({"error": "invalid_grant"})),
    )
    .await;
    let (_, report) = check_against(&server, "password/enumeration-timing");
    let s = &report["scenarios"][0];
    assert_eq!(s["outcome"], "passed", "{s}");
    // Never more than two wrong passwords for alice without a right one.
    let (mut wrong_in_a_row, mut wrong) = (0, 0);
    for r in server.received_requests().await.unwrap() {
        let body = String::from_utf8_lossy(&r.body).to_string();
        if !body.contains("username=alice") {
            continue;
        }
        if body.contains("password=alice-pass-1") {
            wrong_in_a_row = 0;
        } else {
            wrong_in_a_row += 1;
            wrong += 1;
            assert!(wrong_in_a_row <= 2, "three wrong passwords in a row");
        }
    }
    assert_eq!(wrong, 12, "one wrong password per pair");
}

/// One discovery document without `grant_types_supported` is one CA-META
/// finding, however many of its checks read it.
#[tokio::test]
async fn a_document_found_wanting_twice_is_one_finding() {
    let server = login_server(
        ResponseTemplate::new(400).set_body_json(serde_json::json!({"error": "invalid_grant"})),
    )
    .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "issuer": server.uri(),
            "token_endpoint": format!("{}/token", server.uri()),
            "token_endpoint_auth_methods_supported": ["client_secret_basic"]
        })))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let target = target_for(&server, dir.path());
    let mut text = std::fs::read_to_string(&target).unwrap();
    text.push_str(&format!(
        "discovery: {}/.well-known/openid-configuration\n",
        server.uri()
    ));
    std::fs::write(&target, text).unwrap();
    let (_, report) = check(&target, "metadata/discovery", dir.path());
    let scenarios = report["scenarios"].as_array().unwrap();
    let outcomes: Vec<(&str, &str)> = scenarios
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("metadata/discovery", "warned"),
            ("metadata/discovery-password-grant", "same_cause")
        ],
        "{report}"
    );
    let root = &scenarios[0]["finding"];
    assert!(
        root["seen_in"][0]
            .as_str()
            .unwrap()
            .starts_with("metadata/discovery-password-grant, step"),
        "{root}"
    );
    assert_eq!(scenarios[1]["same_cause"]["root"], "metadata/discovery");
}
