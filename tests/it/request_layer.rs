//! The request layer: `check` and `load` send the same token requests for
//! every client-authentication method and user-credential placement, keys
//! are checked when a target loads, and nothing leaves unauthenticated.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::path::{Path, PathBuf};
use std::process::Command;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "a-client-secret-long-enough-for-hs256";
const KEY: &str = include_str!("../../fixtures/keys/client-jwt-key.pem");
const PUBLIC_KEY: &str = include_str!("../../fixtures/keys/client-jwt-key.pub.pem");

const SCENARIO: &str = "id: layer/login-refresh\ntitle: a login and a refresh\nlevel: info\ncovers: [PW-OK]\nsteps:\n  - name: login\n    grant: password\n  - name: refresh\n    grant: refresh_token\n    refresh_token: \"{{ login.refresh_token }}\"\n";

fn tokenprobe(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn write_target(dir: &Path, uri: &str, auth: &str, placement: &str) -> PathBuf {
    std::fs::write(dir.join("key.pem"), KEY).unwrap();
    let extra = match auth {
        "private_key_jwt" => ", key_file: key.pem, alg: RS256, kid: k1",
        "none" => "",
        _ => ", secret: \"${env:LAYER_SECRET}\"",
    };
    let path = dir.join("t.yaml");
    std::fs::write(
        &path,
        format!(
            "name: layer\nbase_url: {uri}\ntoken_endpoint: /token\nclients:\n  primary: {{ id: app, auth: {auth}{extra} }}\nusers:\n  primary: {{ username: alice, password: alice-pw }}\npassword_grant: {{ user_credentials: {placement}, scope: \"openid offline\" }}\nbehaviour: {{ rotation: static }}\n"
        ),
    )
    .unwrap();
    path
}

/// A token endpoint that answers every POST with the same tokens.
async fn token_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "at-0123456789abcdef0123456789abcdef",
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": "rt-0123456789abcdef0123456789abcdef",
        })))
        .mount(&server)
        .await;
    Mock::given(method("HEAD"))
        .respond_with(ResponseTemplate::new(405))
        .mount(&server)
        .await;
    server
}

/// A captured token request, comparable across tools: headers that are the
/// request layer's to set, form parameters in order, and the assertion
/// (different `jti` each time) verified then left out.
#[derive(Debug, PartialEq)]
struct Shape {
    authorization: Option<String>,
    content_type: Option<String>,
    accept: Option<String>,
    params: Vec<(String, String)>,
    query: Option<String>,
}

fn shape(r: &wiremock::Request, auth: &str, audience: &str) -> Shape {
    let header = |n: &str| r.headers.get(n).map(|v| v.to_str().unwrap().to_string());
    let mut params: Vec<(String, String)> = form_urlencoded::parse(&r.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if let Some(i) = params.iter().position(|(k, _)| k == "client_assertion") {
        let (_, jwt) = params.remove(i);
        let (key, alg) = match auth {
            "client_secret_jwt" => (
                DecodingKey::from_secret(SECRET.as_bytes()),
                Algorithm::HS256,
            ),
            _ => (
                DecodingKey::from_rsa_pem(PUBLIC_KEY.as_bytes()).unwrap(),
                Algorithm::RS256,
            ),
        };
        let mut v = Validation::new(alg);
        v.set_audience(&[audience]);
        v.set_issuer(&["app"]);
        v.sub = Some("app".into());
        let data = jsonwebtoken::decode::<serde_json::Value>(&jwt, &key, &v)
            .unwrap_or_else(|e| panic!("{auth}: the assertion does not verify: {e}"));
        assert!(data.claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
        params.push(("client_assertion".into(), "<verified>".into()));
    }
    Shape {
        authorization: header("authorization"),
        content_type: header("content-type"),
        accept: header("accept"),
        params,
        query: r.url.query().map(str::to_string),
    }
}

fn grant_of(r: &wiremock::Request) -> String {
    form_urlencoded::parse(&r.body)
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The first password and the first refresh request a tool sent.
async fn first_two(server: &MockServer, auth: &str) -> (Shape, Shape) {
    let received = server.received_requests().await.unwrap();
    let posts: Vec<&wiremock::Request> = received
        .iter()
        .filter(|r| r.method == wiremock::http::Method::POST)
        .collect();
    let login = posts
        .iter()
        .find(|r| grant_of(r) == "password")
        .expect("a password request");
    let refresh = posts
        .iter()
        .find(|r| grant_of(r) == "refresh_token")
        .expect("a refresh request");
    let audience = format!("{}/token", server.uri());
    (
        shape(login, auth, &audience),
        shape(refresh, auth, &audience),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_and_load_send_identical_token_requests() {
    let methods = [
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "private_key_jwt",
        "none",
    ];
    let placements = ["form", "basic_header"];
    for auth in methods {
        for placement in placements {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("s.yaml"), SCENARIO).unwrap();
            let check_server = token_server().await;
            let target = write_target(dir.path(), &check_server.uri(), auth, placement);
            let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
                .args(["check", "--target", target.to_str().unwrap(), "s.yaml"])
                .args(["--report", "json=r.json"])
                .env("LAYER_SECRET", SECRET)
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "{auth}/{placement}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let from_check = first_two(&check_server, auth).await;

            let load_server = token_server().await;
            let target = write_target(dir.path(), &load_server.uri(), auth, placement);
            let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
                .args(["load", "--target", target.to_str().unwrap()])
                .args(["--users", "1", "--run-time", "1s", "--rate", "20"])
                .args(["--report", "json=l.json"])
                .env("LAYER_SECRET", SECRET)
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{auth}/{placement}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let from_load = first_two(&load_server, auth).await;

            assert_eq!(from_check.0, from_load.0, "{auth}/{placement}: password");
            assert_eq!(from_check.1, from_load.1, "{auth}/{placement}: refresh");
            // The placement is what the target says: the user in a Basic
            // header moves a Basic client into the body, never drops it.
            let login = &from_check.0;
            let has = |k: &str| login.params.iter().any(|(n, _)| n == k);
            match (auth, placement) {
                (_, "basic_header") => {
                    assert!(
                        login
                            .authorization
                            .as_deref()
                            .unwrap()
                            .starts_with("Basic ")
                    );
                    assert!(!has("password"));
                    if auth != "none" {
                        assert!(
                            has("client_secret") || has("client_assertion"),
                            "{auth}: the client authenticates in the body"
                        );
                    }
                }
                ("client_secret_basic", "form") => assert!(login.authorization.is_some()),
                (_, "form") => assert!(has("password") && login.authorization.is_none()),
                _ => unreachable!(),
            }
        }
    }
}

#[test]
fn validate_refuses_keys_that_cannot_sign() {
    let cases = [
        (
            "a key_file that is not a key",
            "    key_file: notakey.pem\n    alg: RS256\n",
            "key_file",
            "holds no RSA private key",
        ),
        (
            "an RSA key with ES256",
            "    key_file: key.pem\n    alg: ES256\n",
            "key_file",
            "holds no EC private key",
        ),
        (
            "HS256 on private_key_jwt",
            "    key_file: key.pem\n    alg: HS256\n",
            "alg",
            "does not fit private_key_jwt",
        ),
    ];
    for (what, client, key, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key.pem"), KEY).unwrap();
        std::fs::write(dir.path().join("notakey.pem"), "hello\n").unwrap();
        let text = format!(
            "name: keys\ntoken_endpoint: http://127.0.0.1:9/token\nclients:\n  primary:\n    id: app\n    auth: private_key_jwt\n{client}users:\n  primary: {{ username: a, password: b }}\n"
        );
        std::fs::write(dir.path().join("t.yaml"), &text).unwrap();
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with(&format!("{key}:")))
            .unwrap()
            + 1;
        let out = tokenprobe(&["validate", "--target", "t.yaml"], dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        assert!(stderr.contains(message), "{what}: {stderr}");
        assert!(
            stderr.contains(&format!("t.yaml:{line}:")),
            "{what}: no t.yaml:{line}: in {stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_with_an_unusable_key_sends_nothing() {
    let server = token_server().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("key.pem"),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let text = format!(
        "name: keys\nbase_url: {}\ntoken_endpoint: /token\nclients:\n  primary: {{ id: app, auth: private_key_jwt, key_file: key.pem }}\nusers:\n  primary: {{ username: a, password: b }}\n",
        server.uri()
    );
    std::fs::write(dir.path().join("t.yaml"), text).unwrap();
    let out = tokenprobe(
        &[
            "load",
            "--target",
            "t.yaml",
            "--users",
            "2",
            "--run-time",
            "1s",
        ],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("key_file"));
    assert!(server.received_requests().await.unwrap().is_empty());
}
