//! One root cause, one finding (issue 20): a server that answers every
//! dead refresh token with the same wrong code shows one failure, listing
//! every place, and the checks that only met it on the way pass or point
//! at it; a server error is ER-NO5XX's, once, and blocks what it cut short.

use std::process::Command;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn report(args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let xml = dir.path().join("r.xml");
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .arg("check")
        .args(args)
        .arg("--report")
        .arg(format!("json={}", json.display()))
        .arg("--report")
        .arg(format!("junit={}", xml.display()))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let r = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    (out.status.code(), r, std::fs::read_to_string(&xml).unwrap())
}

fn scenario<'a>(r: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    r["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

#[test]
fn one_wrong_code_everywhere_is_one_finding() {
    let (code, r, junit) = report(&[
        "--mock",
        "strict",
        "--fault",
        "refresh_refused_as_invalid_request",
    ]);
    assert_eq!(code, Some(1));
    let failed: Vec<&str> = r["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["outcome"] == "failed")
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["errors/retired-refresh-token"], "{r}");
    let root = scenario(&r, "errors/retired-refresh-token");
    let seen: Vec<&str> = root["finding"]["seen_in"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for place in [
        "concurrency/race",
        "client-auth/binding",
        "rotation/old-refused",
        "refresh/bogus-random",
    ] {
        assert!(
            seen.iter().any(|s| s.starts_with(place)),
            "{place} not listed: {seen:#?}"
        );
    }
    // The checks whose property held pass; those whose property is the
    // code point at the one finding.
    for id in [
        "concurrency/race",
        "client-auth/binding",
        "rotation/old-refused",
    ] {
        assert_eq!(scenario(&r, id)["outcome"], "passed", "{id}");
    }
    let same = scenario(&r, "refresh/bogus-random");
    assert_eq!(same["outcome"], "same_cause");
    assert_eq!(same["same_cause"]["root"], "errors/retired-refresh-token");
    assert_eq!(r["summary"]["failed"], 1);
    assert_eq!(r["summary"]["same_cause"], 3);
    // JUnit: one failing case per root cause.
    assert_eq!(junit.matches("<failure").count(), 1, "{junit}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_error_is_judged_once_and_blocks_what_it_cut_short() {
    let server = MockServer::start().await;
    let tokens = r#"{"access_token":"at-0123456789abcdefghijklmnopqrstuvwxyz","token_type":"Bearer","expires_in":60,"refresh_token":"rt-0123456789abcdefghijklmnopqrstuvwxyz"}"#;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(500).set_body_string("oops"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("cache-control", "no-store")
                .set_body_raw(tokens, "application/json"),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.yaml");
    std::fs::write(
        &target,
        format!(
            "name: five hundred\nbase_url: {}\ntoken_endpoint: /token\nclients:\n  primary: {{ id: app, secret: s }}\nusers:\n  primary: {{ username: u, password: p }}\ntiming: {{ request_timeout_s: 2 }}\n",
            server.uri()
        ),
    )
    .unwrap();
    let target = target.display().to_string();
    let (_, r, _) = tokio::task::spawn_blocking(move || {
        report(&[
            "--target",
            &target,
            "--no-preflight",
            "--filter",
            "refresh/ok",
            "--filter",
            "rotation/new-works",
        ])
    })
    .await
    .unwrap();
    for id in ["refresh/ok", "rotation/new-works"] {
        let s = scenario(&r, id);
        assert_eq!(s["outcome"], "blocked", "{id}: {s}");
        assert!(
            s["blocked_by"]["why"]
                .as_str()
                .unwrap()
                .contains("ER-NO5XX"),
            "{id}: {s}"
        );
    }
    // One finding for the server error, listing both places.
    let five: Vec<&serde_json::Value> = r["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["outcome"] == "failed")
        .collect();
    assert_eq!(five.len(), 1, "{r}");
    assert!(
        five[0]["covers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "ER-NO5XX")
    );
    // Two places: the finding's own, and one more.
    let seen = five[0]["finding"]["seen_in"].as_array().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
}

#[test]
fn a_finding_names_the_id_its_expectation_judges() {
    // The race lets several refreshes win: CC-RACE's finding, not ER-NO5XX's
    // (the same scenario also counts 5xx answers, and there were none).
    let (_, r, _) = report(&["--mock", "strict", "--fault", "race"]);
    let race = scenario(&r, "concurrency/race");
    assert_eq!(race["outcome"], "failed");
    let ids: Vec<&str> = race["finding"]["clauses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["CC-RACE"], "{race}");
    // It carries its exchanges: one per distinct answer, so the two
    // winners show with their different refresh tokens.
    let f = &race["finding"];
    let mut winners: Vec<&str> = std::iter::once(&f["exchange"])
        .chain(f["exchanges"].as_array().unwrap())
        .filter(|x| x["response"]["status"] == 200)
        .map(|x| x["response"]["body"].as_str().unwrap())
        .collect();
    assert!(winners.len() >= 2, "{f}");
    winners.dedup();
    assert!(winners.len() >= 2, "the winners' bodies differ: {f}");
    // A Bearer challenge to a Basic client: ER-STATUS's, PW-CLIENT held.
    let (_, r, _) = report(&["--mock", "strict", "--fault", "bearer_challenge"]);
    let s = scenario(&r, "password/wrong-client-secret");
    let ids: Vec<&str> = s["finding"]["clauses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ER-STATUS"], "{s}");
}

#[test]
fn judges_must_name_a_covered_id() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    std::fs::write(
        &file,
        "id: t/x\ntitle: T\nlevel: must\ncovers: [RB-OK]\nsteps:\n  - grant: login\n    expect: { status: 200, judges: CC-RACE }\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(["validate"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("judges: CC-RACE") && err.contains("s.yaml"),
        "{err}"
    );
}

/// CC-RACE: the same successor handed to every copy of a raced refresh
/// (an idempotent answer) is one successor, not a race won twenty times.
#[tokio::test(flavor = "multi_thread")]
async fn an_idempotent_answer_to_a_race_is_one_successor() {
    let server = MockServer::start().await;
    let pair = r#"{"access_token":"at-next-0123456789abcdefghijklmnopqrstu","token_type":"Bearer","expires_in":60,"refresh_token":"rt-next-0123456789abcdefghijklmnopqrstu"}"#;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("cache-control", "no-store")
                .set_body_raw(pair, "application/json"),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.yaml");
    std::fs::write(
        &target,
        format!(
            "name: idempotent\nbase_url: {}\ntoken_endpoint: /token\nclients:\n  primary: {{ id: app, secret: s }}\nusers:\n  primary: {{ username: u, password: p }}\nbehaviour: {{ rotation: rotate, grace_period_s: 0 }}\ntiming: {{ request_timeout_s: 2 }}\n",
            server.uri()
        ),
    )
    .unwrap();
    let target = target.display().to_string();
    let (_, r, _) = tokio::task::spawn_blocking(move || {
        report(&[
            "--target",
            &target,
            "--no-preflight",
            "--filter",
            "concurrency/race",
        ])
    })
    .await
    .unwrap();
    let race = scenario(&r, "concurrency/race");
    assert_eq!(race["outcome"], "passed", "{race}");
}
