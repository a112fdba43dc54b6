//! Short load runs (2 s, a few users) against the in-process mock: counts
//! add up, each planted fault shows up as its violation, thresholds decide
//! the exit code, reports are written (even when every request fails) and
//! match their schema.

use std::path::Path;
use std::process::{Command, Output};

struct Run {
    out: Output,
    report: serde_json::Value,
}

fn load(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("load.json");
    let md = dir.path().join("load.md");
    let html = dir.path().join("load.html");
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .arg("load")
        .args(["--run-time", "2s", "--users", "4", "--ramp", "0s"])
        .args(args)
        .arg("--report")
        .arg(format!("json={}", json.display()))
        .arg("--report")
        .arg(format!("markdown={}", md.display()))
        .arg("--report")
        .arg(format!("html={}", html.display()))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let report = std::fs::read(&json)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null);
    if !report.is_null() {
        assert!(
            std::fs::read_to_string(&md)
                .unwrap()
                .contains("## tokenprobe load")
        );
        assert!(
            std::fs::read_to_string(&html)
                .unwrap()
                .starts_with("<!doctype html>")
        );
    }
    Run { out, report }
}

fn text(r: &Run) -> String {
    format!(
        "exit {:?}\n{}\n{}",
        r.out.status.code(),
        String::from_utf8_lossy(&r.out.stdout),
        String::from_utf8_lossy(&r.out.stderr)
    )
}

fn n(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

fn sum(v: &serde_json::Value) -> u64 {
    v.as_object().unwrap().values().map(n).sum()
}

fn assert_valid(report: &serde_json::Value) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/load-report.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(report).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn a_correct_mock_shows_no_violation_and_the_counts_add_up() {
    let r = load(&["--replay-rate", "0.2"]);
    assert_eq!(r.out.status.code(), Some(0), "{}", text(&r));
    assert_valid(&r.report);
    let t = &r.report["totals"];
    let requests = n(&t["requests"]);
    assert!(requests > 20, "{}", text(&r));
    // Every request has one status; every failure one code.
    assert_eq!(sum(&r.report["errors"]["by_status"]), requests);
    assert_eq!(sum(&r.report["errors"]["by_code"]), n(&t["failures"]));
    // Every request is in exactly one kind's histogram.
    let kinds: u64 = ["login", "refresh", "replay"]
        .iter()
        .filter_map(|k| r.report["latency_us"].get(*k))
        .map(|l| n(&l["count"]))
        .sum();
    assert_eq!(kinds, requests);
    assert_eq!(n(&r.report["latency_us"]["all"]["count"]), requests);
    assert!(
        n(&r.report["latency_us"]["replay"]["count"]) > 0,
        "probes ran"
    );
    for v in [
        "chain_breaks",
        "replay_accepted",
        "duplicate_tokens",
        "rotation_violations",
    ] {
        assert_eq!(n(&r.report["violations"][v]), 0, "{v}: {}", text(&r));
    }
    let timeline: u64 = r.report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| n(&s["requests"]))
        .sum();
    assert_eq!(timeline, requests);
}

/// Issue 33: HTTPS goes on the hot path too (tokenprobe's own HTTP/1.1
/// over rustls, a kept connection per user): the report counts the
/// connections and their handshakes apart from the requests, and the
/// run is as correct as over plain HTTP.
#[test]
fn https_refreshes_go_on_kept_tls_connections_counted_apart() {
    let r = load(&[
        "--mock",
        "strict",
        "--tls",
        "self-signed",
        "--replay-rate",
        "0.2",
    ]);
    assert_eq!(r.out.status.code(), Some(0), "{}", text(&r));
    assert_valid(&r.report);
    let refreshes = n(&r.report["latency_us"]["refresh"]["count"]);
    assert!(refreshes > 20, "{}", text(&r));
    let c = &r.report["connections"];
    let opened = n(&c["opened"]);
    // One connection per user (4), kept: far fewer than the refreshes.
    assert!((4..=8).contains(&opened), "{c}\n{}", text(&r));
    assert_eq!(n(&c["tls_full"]) + n(&c["tls_resumed"]), opened, "{c}");
    assert!(n(&c["setup_us"]["p50"]) > 0, "{c}");
    for v in ["chain_breaks", "replay_accepted", "duplicate_tokens"] {
        assert_eq!(n(&r.report["violations"][v]), 0, "{v}: {}", text(&r));
    }
    assert!(
        String::from_utf8_lossy(&r.out.stdout).contains("TLS: "),
        "{}",
        text(&r)
    );
}

/// Issue 33: `--connection per-request` over TLS opens a connection, with
/// its handshake, for every refresh: each is counted and timed apart from
/// the request, full or resumed, and the run is as correct as kept alive.
#[test]
fn per_request_connections_over_tls_count_every_handshake() {
    let r = load(&[
        "--mock",
        "strict",
        "--tls",
        "self-signed",
        "--connection",
        "per-request",
    ]);
    assert_eq!(r.out.status.code(), Some(0), "{}", text(&r));
    let refreshes = n(&r.report["latency_us"]["refresh"]["count"]);
    assert!(refreshes > 20, "{}", text(&r));
    let c = &r.report["connections"];
    let opened = n(&c["opened"]);
    // One connection per refresh (the users' logins go on reqwest's own).
    assert!(opened >= refreshes, "{c}\n{}", text(&r));
    assert!(opened <= refreshes + 8, "{c}\n{}", text(&r));
    assert_eq!(n(&c["tls_full"]) + n(&c["tls_resumed"]), opened, "{c}");
    assert!(
        n(&c["tls_resumed"]) > 0,
        "reconnects resume their session: {c}"
    );
    assert!(n(&c["setup_us"]["p50"]) > 0, "{c}");
    assert_eq!(n(&r.report["totals"]["failures"]), 0, "{}", text(&r));
    assert_eq!(
        n(&r.report["violations"]["chain_breaks"]),
        0,
        "{}",
        text(&r)
    );
}

#[test]
fn an_old_token_still_accepted_is_a_replay_accepted_and_breaches_its_threshold() {
    old_token_still_accepted(&[]);
}

#[test]
fn over_tls_an_old_token_still_accepted_is_a_replay_accepted() {
    old_token_still_accepted(&["--mock", "strict", "--tls", "self-signed"]);
}

fn old_token_still_accepted(shape: &[&str]) {
    let mut args = shape.to_vec();
    args.extend([
        "--fault",
        "rotation_keeps_old",
        "--replay-rate",
        "0.2",
        "--threshold",
        "replay_accepted==0",
    ]);
    let r = load(&args);
    assert_eq!(r.out.status.code(), Some(5), "{}", text(&r));
    assert!(
        n(&r.report["violations"]["replay_accepted"]) > 0,
        "{}",
        text(&r)
    );
    let t = &r.report["thresholds"][0];
    assert_eq!(t["threshold"], "replay_accepted==0");
    assert_eq!(t["passed"], false);
    assert!(String::from_utf8_lossy(&r.out.stdout).contains("BREACHED"));
}

#[test]
fn a_check_then_act_race_lets_two_concurrent_refreshes_win() {
    race_lets_two_win(&[]);
}

#[test]
fn over_tls_a_check_then_act_race_lets_two_concurrent_refreshes_win() {
    race_lets_two_win(&["--mock", "strict", "--tls", "self-signed"]);
}

fn race_lets_two_win(shape: &[&str]) {
    let mut args = shape.to_vec();
    args.extend(["--fault", "race", "--replay-rate", "0.3"]);
    let r = load(&args);
    assert_eq!(r.out.status.code(), Some(0), "{}", text(&r));
    assert!(
        n(&r.report["violations"]["replay_accepted"]) > 0,
        "{}",
        text(&r)
    );
}

#[test]
fn the_same_refresh_token_back_on_a_server_declared_rotating_is_the_targets_mistake() {
    // Issue 32: the preflight sees the same token back where the target
    // declares rotation: no load is sent, the key and the fix are named.
    let r = load(&["--fault", "same_refresh_token"]);
    assert_eq!(r.out.status.code(), Some(3), "{}", text(&r));
    let all = text(&r);
    assert!(
        all.contains("behaviour.rotation") && all.contains("rotation: static"),
        "{all}"
    );
    assert!(all.contains("no load was sent"), "{all}");
}

#[test]
fn thresholds_pass_and_fail_by_the_exit_code() {
    let r = load(&[
        "--threshold",
        "rps>1",
        "--threshold",
        "p99<60s",
        "--threshold",
        "error_rate<1%",
    ]);
    assert_eq!(r.out.status.code(), Some(0), "{}", text(&r));
    let r = load(&["--threshold", "rps>100000000"]);
    assert_eq!(r.out.status.code(), Some(5), "{}", text(&r));
}

#[test]
fn a_closed_port_is_unreachable_before_any_load() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.yaml");
    std::fs::write(
        &target,
        format!("name: closed\ntoken_endpoint: http://127.0.0.1:{port}/token\nclients:\n  primary: {{id: app, secret: s}}\nusers:\n  primary: {{username: u, password: p}}\ntiming: {{request_timeout_s: 1, connect_timeout_s: 1}}\n"),
    )
    .unwrap();
    let r = load(&["--target", target.to_str().unwrap()]);
    assert_eq!(r.out.status.code(), Some(3), "{}", text(&r));
    assert!(text(&r).contains("no load was sent"), "{}", text(&r));
    assert!(r.report.is_null(), "nothing ran, nothing is reported");
}

/// A scripted server: the first login and refresh succeed (the preflight),
/// then every login is refused for its credentials.
async fn refusing_after_preflight() -> wiremock::MockServer {
    use wiremock::matchers::{body_string_contains, method};
    use wiremock::{Mock, ResponseTemplate};
    let s = wiremock::MockServer::start().await;
    let tokens = serde_json::json!({"access_token": "at-0123456789abcdef", "token_type": "Bearer", "expires_in": 60, "refresh_token": "rt-0123456789abcdef"});
    for grant in ["grant_type=password", "grant_type=refresh_token"] {
        Mock::given(method("POST"))
            .and(body_string_contains(grant))
            .respond_with(ResponseTemplate::new(200).set_body_json(tokens.clone()))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&s)
            .await;
    }
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"error": "invalid_client"})),
        )
        .mount(&s)
        .await;
    s
}

fn target_for(uri: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let target = dir.join("t.yaml");
    std::fs::write(
        &target,
        // The scripted servers hand out one fixed token pair: no rotation.
        format!("name: scripted\ntoken_endpoint: {uri}/token\nclients:\n  primary: {{id: app, secret: s}}\nusers:\n  primary: {{username: u, password: p}}\nbehaviour: {{rotation: static}}\n"),
    )
    .unwrap();
    target
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_send_a_handful_of_logins_and_stop() {
    // Refused from the first request: the preflight stops it at one.
    let s = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(
            wiremock::ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"error": "invalid_client"})),
        )
        .mount(&s)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let r = load(&[
        "--target",
        target_for(&s.uri(), dir.path()).to_str().unwrap(),
    ]);
    assert_eq!(r.out.status.code(), Some(3), "{}", text(&r));
    assert!(text(&r).contains("clients.primary"), "{}", text(&r));
    assert_eq!(s.received_requests().await.unwrap().len(), 1);

    // Refused once the run started: the circuit breaker stops it after a
    // few refused logins, far from the thousands a second it used to send.
    let s = refusing_after_preflight().await;
    let r = load(&[
        "--target",
        target_for(&s.uri(), dir.path()).to_str().unwrap(),
    ]);
    assert_eq!(r.out.status.code(), Some(3), "{}", text(&r));
    assert!(
        text(&r).contains("stopped to protect the accounts"),
        "{}",
        text(&r)
    );
    let sent = s.received_requests().await.unwrap().len();
    assert!(sent <= 2 + 5 + 4, "{sent} requests: a handful at most");
}

#[test]
fn load_goes_to_loopback_only_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.yaml");
    std::fs::write(
        &target,
        "name: remote\ntoken_endpoint: https://idp.example.test/token\nclients:\n  primary: {id: app, secret: s}\n",
    )
    .unwrap();
    let r = load(&["--target", target.to_str().unwrap()]);
    assert_eq!(r.out.status.code(), Some(2), "{}", text(&r));
    assert!(text(&r).contains("not on loopback"), "{}", text(&r));
    assert!(r.report.is_null(), "nothing was sent, nothing written");
}

#[test]
fn bad_thresholds_and_profiles_are_refused_with_exit_2() {
    let r = load(&["--threshold", "p99<250"]);
    assert_eq!(r.out.status.code(), Some(2), "{}", text(&r));
    assert!(text(&r).contains("needs a unit"), "{}", text(&r));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.yaml");
    std::fs::write(&p, "users: 4\nrun_tme: 5s\n").unwrap();
    let r = load(&["--profile", p.to_str().unwrap()]);
    assert_eq!(r.out.status.code(), Some(2), "{}", text(&r));
    assert!(text(&r).contains("p.yaml:2"), "{}", text(&r));
}

#[test]
fn the_json_report_shape() {
    let r = load(&["--replay-rate", "0.2", "--threshold", "duplicate_tokens==0"]);
    assert_eq!(r.out.status.code(), Some(0), "{}", text(&r));
    insta::assert_json_snapshot!("load_report_shape", r.report, {
        ".started_at" => "[time]",
        ".token_endpoint" => "[url]",
        ".tool" => "[tool]",
        ".totals.requests" => "[n]",
        ".totals.failures" => "[n]",
        ".totals.rps" => "[n]",
        ".totals.duration_s" => "[n]",
        ".totals.error_rate" => "[n]",
        ".totals.expected_refusals" => "[n]",
        ".totals.logins" => "[n]",
        ".totals.login_rate" => "[n]",
        ".latency_us.*.count" => "[n]",
        ".latency_us.*.p50" => "[us]",
        ".latency_us.*.p90" => "[us]",
        ".latency_us.*.p95" => "[us]",
        ".latency_us.*.p99" => "[us]",
        ".latency_us.*.p999" => "[us]",
        ".latency_us.*.max" => "[us]",
        ".latency_us.*.mean" => "[us]",
        ".errors.by_status" => "[statuses]",
        ".timeline" => "[timeline]",
        ".histograms.login" => "[hdr]",
        ".histograms.refresh" => "[hdr]",
        ".histograms.replay" => "[hdr]",
        ".connections.opened" => "[n]",
        ".connections.setup_us.count" => "[n]",
        ".connections.setup_us.p50" => "[us]",
        ".connections.setup_us.p90" => "[us]",
        ".connections.setup_us.p95" => "[us]",
        ".connections.setup_us.p99" => "[us]",
        ".connections.setup_us.p999" => "[us]",
        ".connections.setup_us.max" => "[us]",
        ".connections.setup_us.mean" => "[us]",
        ".connections.setup_histogram" => "[hdr]",
    });
}

#[test]
fn two_runtimes_share_the_users_and_their_counts_merge() {
    let r = load(&["--threads", "2", "--replay-rate", "0.2"]);
    assert_eq!(r.out.status.code(), Some(0), "{}", text(&r));
    assert_eq!(r.report["settings"]["threads"], 2);
    assert_eq!(r.report["interrupted"], false);
    let requests = n(&r.report["totals"]["requests"]);
    assert!(requests > 20, "{}", text(&r));
    assert_eq!(sum(&r.report["errors"]["by_status"]), requests);
    // Every answered request is timed; failures are counted apart.
    assert_eq!(
        n(&r.report["latency_us"]["all"]["count"]) + n(&r.report["totals"]["failures"]),
        requests
    );
    for v in [
        "chain_breaks",
        "replay_accepted",
        "duplicate_tokens",
        "rotation_violations",
    ] {
        assert_eq!(n(&r.report["violations"][v]), 0, "{v}: {}", text(&r));
    }
}

/// With few file descriptors the run still ends on time, names the problem
/// (`transport:too-many-open-files`, ours, not the server's) and warns
/// before it starts. It used to spin for more than ten minutes.
#[test]
fn a_descriptor_limit_is_named_and_the_run_still_ends() {
    let script = format!(
        "ulimit -n 256 && exec {} load --mock strict --users 400 --ramp 0s --run-time 2s --report json=/dev/null",
        env!("CARGO_BIN_EXE_tokenprobe")
    );
    let mut child = Command::new("bash")
        .args(["-c", &script])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A guard against a hang, not a measurement: the run is 2 s long.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run did not end");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("raise `ulimit -n`"), "{all}");
    assert!(all.contains("transport:too-many-open-files="), "{all}");
}

/// A server that answers every request after 50 ms.
async fn slow_server(delay: std::time::Duration) -> wiremock::MockServer {
    let s = wiremock::MockServer::start().await;
    let tokens = serde_json::json!({"access_token": "at-0123456789abcdef", "token_type": "Bearer", "expires_in": 60, "refresh_token": "rt-0123456789abcdef"});
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(tokens)
                .set_delay(delay),
        )
        .mount(&s)
        .await;
    s
}

/// The open model against a server slower than the rate: 100 iterations a
/// second for 2 s, at most 2 in flight, 50 ms an answer. The schedule is
/// kept (200 due), the server serves at most 2 / 50 ms = 40 a second, the
/// rest is dropped and counted, and every sent iteration is measured from
/// when it was due as well as from when it was sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_arrival_rate_above_what_the_server_serves_is_kept_and_the_rest_dropped() {
    let s = slow_server(std::time::Duration::from_millis(50)).await;
    let dir = tempfile::tempdir().unwrap();
    let target = target_for(&s.uri(), dir.path());
    let r = load(&[
        "--target",
        target.to_str().unwrap(),
        "--arrival-rate",
        "100/s",
        "--max-in-flight",
        "2",
        "--threshold",
        "dropped==0",
    ]);
    assert_eq!(
        r.out.status.code(),
        Some(5),
        "dropped==0 breached: {}",
        text(&r)
    );
    assert_valid(&r.report);
    let t = &r.report["totals"];
    let (scheduled, dropped, requests) = (n(&t["scheduled"]), n(&t["dropped"]), n(&t["requests"]));
    assert_eq!(scheduled, 200, "100/s for 2 s: {}", text(&r));
    // One request per iteration (a login or a refresh): every due iteration
    // was either sent or dropped; one login readied the first chain before
    // the schedule began (a chain for each iteration due in its first 10 ms).
    assert_eq!(n(&t["warm_up"]), 1, "{}", text(&r));
    assert_eq!(requests, 1 + scheduled - dropped, "{}", text(&r));
    // Two in flight, 50 ms each: 40 a second at most (plus the two that
    // may still be in flight when the run ends).
    assert!(requests <= 1 + 2 * 40 + 2, "{requests}: {}", text(&r));
    assert!(requests >= 40, "{requests}: {}", text(&r));
    assert!(t["rps"].as_f64().unwrap() <= 42.0, "{}", text(&r));
    let timeline_dropped: u64 = r.report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.get("dropped").map_or(0, n))
        .sum();
    assert_eq!(timeline_dropped, dropped);
    let (sent, due) = (
        &r.report["latency_us"]["all"],
        &r.report["latency_us_corrected"]["all"],
    );
    assert_eq!(n(&due["count"]), requests - 1, "all but the warm-up");
    assert!(n(&sent["p50"]) >= 50_000, "{sent}");
    for q in ["p50", "p90", "p99", "max"] {
        assert!(n(&due[q]) >= n(&sent[q]), "{q}: due {due} sent {sent}");
    }
    assert_eq!(r.report["settings"]["model"], "open");
    assert!(text(&r).contains("dropped"), "{}", text(&r));
}

/// `--metrics-listen`: the run's counters are served while it goes. The
/// scrape happens mid-run (the run lasts 4 s; the first scrape that shows
/// refreshes ends the wait), and the values only grow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_metrics_are_served_during_the_run() {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args([
            "load",
            "--mock",
            "strict",
            "--users",
            "2",
            "--ramp",
            "0s",
            "--run-time",
            "4s",
            "--metrics-listen",
            "127.0.0.1:0",
            "--report",
            "json=/dev/null",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let url = loop {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the metrics address is printed");
        if let Some(u) = line.strip_prefix("metrics: ") {
            break u.to_string();
        }
    };
    let count = |text: &str| -> u64 {
        text.lines()
            .filter(|l| l.starts_with(r#"tokenprobe_requests_total{kind="refresh",status="2xx""#))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    };
    let client = reqwest::Client::new();
    let mut seen = Vec::new();
    let mut last = String::new();
    // Bounded: at most 40 scrapes, 100 ms apart, while the run goes.
    for _ in 0..40 {
        let r = client.get(&url).send().await.unwrap();
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/openmetrics-text")
        );
        let text = r.text().await.unwrap();
        assert!(text.ends_with("# EOF\n"), "{text}");
        seen.push(count(&text));
        last = text;
        // Two scrapes with refreshes, the second with more: the run is live.
        let latest = seen[seen.len() - 1];
        if seen.iter().any(|&v| v > 0 && v < latest) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "a counter only grows: {seen:?}"
    );
    let latest = seen[seen.len() - 1];
    assert!(seen.iter().any(|&v| v > 0 && v < latest), "{seen:?}");
    let active: u64 = last
        .lines()
        .find_map(|l| l.strip_prefix("tokenprobe_active "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!((1..=2).contains(&active), "users started: {last}");
    assert!(
        last.contains(r#"tokenprobe_request_duration_seconds_bucket{le="#),
        "{last}"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "scraped while the run was going"
    );
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

/// The sessions model: 6 sessions spread over 3 accounts of a users file,
/// each refreshing when 50 s of its 60 s token are left, lifetimes scaled
/// by 0.05: a refresh every 0.5 s. In 2 s that is one login and 3 or 4
/// refreshes a session, over new connections (`--connection per-request`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_refresh_near_expiry_as_every_account_of_the_users_file() {
    let s = slow_server(std::time::Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let target = target_for(&s.uri(), dir.path());
    let users = dir.path().join("users.csv");
    std::fs::write(&users, "username,password\nu1,p1\nu2,\"p,2\"\nu3,p3\n").unwrap();
    let r = load(&[
        "--target",
        target.to_str().unwrap(),
        "--sessions",
        "6",
        "--refresh-before",
        "50s",
        "--time-scale",
        "0.05",
        "--users-file",
        users.to_str().unwrap(),
        "--connection",
        "per-request",
    ]);
    assert_eq!(r.out.status.code(), Some(0), "{}", text(&r));
    assert_valid(&r.report);
    let settings = &r.report["settings"];
    assert_eq!(settings["model"], "sessions");
    assert_eq!(settings["accounts"], 3);
    assert_eq!(settings["connection"], "per-request");
    let logins = n(&r.report["latency_us"]["login"]["count"]);
    let refreshes = n(&r.report["latency_us"]["refresh"]["count"]);
    assert_eq!(logins, 6, "one login a session: {}", text(&r));
    assert!(
        // 3 or 4 on time; 2 when the machine is so busy that turns slip.
        (6 * 2..=6 * 4).contains(&refreshes),
        "{refreshes}: {}",
        text(&r)
    );
    assert_eq!(
        n(&r.report["latency_us_corrected"]["all"]["count"]),
        logins + refreshes
    );
    let most_active = r.report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| n(&b["active"]))
        .max();
    assert_eq!(most_active, Some(6), "six live sessions");
    // Every account logged in, twice (round robin), beside the preflight's.
    let bodies: Vec<String> = s
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .filter(|b| b.contains("grant_type=password"))
        .collect();
    for (user, times) in [("u1", 2), ("u2", 2), ("u3", 2)] {
        let seen = bodies
            .iter()
            .filter(|b| b.contains(&format!("username={user}&")))
            .count();
        assert_eq!(seen, times, "{user}: {bodies:?}");
    }
    assert!(
        bodies.iter().any(|b| b.contains("password=p%2C2")),
        "{bodies:?}"
    );
    assert!(!text(&r).contains("p,2"), "no password in the output");
}

/// DPoP under load: every user proves possession of its own key on every
/// request (the mock binds the tokens, demands a nonce and refuses a
/// replayed proof), nothing fails, and the proofs' signing cost is in the
/// report.
#[test]
fn dpop_proofs_under_load_are_accepted_and_their_cost_reported() {
    let r = load(&[
        "--mock",
        "strict",
        "--dpop",
        "required",
        "--dpop-nonce",
        "--replay-rate",
        "0.1",
    ]);
    assert_eq!(r.out.status.code(), Some(0), "{}", text(&r));
    assert_valid(&r.report);
    let requests = n(&r.report["totals"]["requests"]);
    assert!(requests > 20, "{}", text(&r));
    assert_eq!(n(&r.report["totals"]["failures"]), 0, "{}", text(&r));
    // One proof a request, plus one per user for the first nonce.
    let proofs = n(&r.report["dpop_proof_us"]["count"]);
    assert!(
        proofs >= requests && proofs <= requests + 8,
        "{proofs} proofs, {requests} requests"
    );
    assert!(n(&r.report["dpop_proof_us"]["p99"]) > 0);
    for v in ["chain_breaks", "replay_accepted", "duplicate_tokens"] {
        assert_eq!(n(&r.report["violations"][v]), 0, "{v}: {}", text(&r));
    }
    assert!(text(&r).contains("DPoP proofs:"), "{}", text(&r));
}

/// A token server on a loopback port that closes its connections: after
/// each answer (`Connection: close`), or when a kept-alive connection has
/// been idle for 50 ms (no header: the close waits unread in the client's
/// socket until it looks). With `tls`, over TLS 1.3 with a certificate of
/// its own, closing as a TLS server does: a `close_notify`, then the socket.
fn closing_server(after_each: bool, tls: bool) -> u16 {
    use std::io::{Read, Write};
    use tokio_rustls::rustls;
    let config = tls.then(|| {
        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        std::sync::Arc::new(
            rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![cert.cert.der().clone()], key)
                .unwrap(),
        )
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut n = 0u64;
        for stream in listener.incoming() {
            let Ok(tcp) = stream else { break };
            n += 1000;
            let base = n;
            let config = config.clone();
            std::thread::spawn(move || {
                // The handshake gets its time; then idle means idle.
                let mut tcp = tcp;
                let _ = tcp.set_read_timeout(Some(std::time::Duration::from_secs(5)));
                let mut stream: Box<dyn ReadWrite> = match config {
                    Some(c) => {
                        let mut conn = rustls::ServerConnection::new(c).unwrap();
                        while conn.is_handshaking() {
                            if conn.complete_io(&mut tcp).is_err() {
                                return;
                            }
                        }
                        Box::new(rustls::StreamOwned::new(conn, tcp))
                    }
                    None => Box::new(tcp),
                };
                let idle = std::time::Duration::from_millis(if after_each { 5000 } else { 50 });
                stream.idle_after(idle);
                let mut served = 0u64;
                'requests: loop {
                    let mut buf = [0u8; 8192];
                    let mut got = Vec::new();
                    // Headers and the body its Content-Length announces;
                    // idle too long (or the client gone): closed.
                    loop {
                        match stream.read(&mut buf) {
                            Ok(0) | Err(_) => break 'requests,
                            Ok(k) => got.extend_from_slice(&buf[..k]),
                        }
                        let text = String::from_utf8_lossy(&got).to_lowercase();
                        if let Some(end) = text.find("\r\n\r\n") {
                            let length = text
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            if got.len() >= end + 4 + length {
                                break;
                            }
                        }
                    }
                    served += 1;
                    let id = base + served;
                    let body = format!(
                        "{{\"access_token\":\"a{id}\",\"token_type\":\"Bearer\",\"expires_in\":3600,\"refresh_token\":\"r{id}\"}}"
                    );
                    let close = if after_each {
                        "Connection: close\r\n"
                    } else {
                        ""
                    };
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{close}\r\n{body}",
                        body.len()
                    );
                    let _ = stream.flush();
                    if after_each || served >= 10_000 {
                        break;
                    }
                }
                stream.close();
            });
        }
    });
    port
}

/// A server's side of a connection, plain or TLS.
trait ReadWrite: std::io::Read + std::io::Write + Send {
    /// Ends the connection as the server would (TLS: `close_notify` first).
    fn close(&mut self);
    /// A read waits at most `idle`.
    fn idle_after(&mut self, idle: std::time::Duration);
}

impl ReadWrite for std::net::TcpStream {
    fn close(&mut self) {
        let _ = self.shutdown(std::net::Shutdown::Both);
    }

    fn idle_after(&mut self, idle: std::time::Duration) {
        let _ = self.set_read_timeout(Some(idle));
    }
}

impl ReadWrite
    for tokio_rustls::rustls::StreamOwned<
        tokio_rustls::rustls::ServerConnection,
        std::net::TcpStream,
    >
{
    fn close(&mut self) {
        self.conn.send_close_notify();
        let _ = self.conn.complete_io(&mut self.sock);
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
    }

    fn idle_after(&mut self, idle: std::time::Duration) {
        let _ = self.sock.set_read_timeout(Some(idle));
    }
}

fn closing_target(dir: &Path, port: u16, tls: bool) -> std::path::PathBuf {
    let target = dir.join("t.yaml");
    let (scheme, tls) = match tls {
        true => ("https", "tls: {insecure: true}\n"),
        false => ("http", ""),
    };
    std::fs::write(
        &target,
        format!(
            "name: closing\ntoken_endpoint: {scheme}://127.0.0.1:{port}/token\n{tls}clients:\n  primary: {{id: app, secret: app-secret-123}}\nusers:\n  primary: {{username: alice, password: alice-pass-1}}\nbehaviour: {{rotation: rotate, grace_period_s: 0}}\n"
        ),
    )
    .unwrap();
    target
}

/// Every refresh after the first of a connection finds it closed by the
/// server's `Connection: close`: load opens it anew and counts no error.
#[test]
fn a_server_closing_every_connection_costs_no_errors() {
    closing_every_connection(false);
}

#[test]
fn a_tls_server_closing_every_connection_costs_no_errors() {
    closing_every_connection(true);
}

fn closing_every_connection(tls: bool) {
    let dir = tempfile::tempdir().unwrap();
    let target = closing_target(dir.path(), closing_server(true, tls), tls);
    let r = load(&["--target", target.to_str().unwrap()]);
    let t = &r.report["totals"];
    assert!(!t.is_null(), "{}", text(&r));
    assert!(t["requests"].as_u64().unwrap() > 20, "{}", text(&r));
    assert_eq!(t["failures"], 0, "{}", text(&r));
    assert_eq!(r.report["violations"]["chain_breaks"], 0, "{}", text(&r));
}

/// A kept-alive connection the server closes while it is idle (users
/// paced to 10 requests a second, the server closing after 50 ms): the
/// close is found before the next request is queued, and the connection
/// opened anew, with no error and no wait for the request timeout.
#[test]
fn a_connection_closed_while_idle_is_opened_anew() {
    closed_while_idle(false);
}

#[test]
fn a_tls_connection_closed_while_idle_is_opened_anew() {
    closed_while_idle(true);
}

fn closed_while_idle(tls: bool) {
    let dir = tempfile::tempdir().unwrap();
    let target = closing_target(dir.path(), closing_server(false, tls), tls);
    let r = load(&["--target", target.to_str().unwrap(), "--rate", "10"]);
    let t = &r.report["totals"];
    assert!(!t.is_null(), "{}", text(&r));
    assert!(t["requests"].as_u64().unwrap() >= 10, "{}", text(&r));
    assert_eq!(t["failures"], 0, "{}", text(&r));
    assert_eq!(r.report["violations"]["chain_breaks"], 0, "{}", text(&r));
}

/// A server that signs every login in with a token pair of its own and
/// refuses every refresh, echoing the token it refused in its description.
struct RefusingRefreshes(std::sync::atomic::AtomicU64);

impl wiremock::Respond for RefusingRefreshes {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let body = String::from_utf8_lossy(&request.body).to_string();
        let form: std::collections::HashMap<String, String> =
            form_urlencoded::parse(body.as_bytes())
                .into_owned()
                .collect();
        match form.get("refresh_token") {
            Some(rt) => wiremock::ResponseTemplate::new(400).set_body_json(serde_json::json!({
                "error": "invalid_grant",
                "error_description": format!("refresh token {rt} is unknown"),
            })),
            None => {
                let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
                    "access_token": format!("issued-access-{n:06}-abcdef"),
                    "token_type": "Bearer",
                    "expires_in": 60,
                    "refresh_token": format!("issued-refresh-{n:06}-abcdef"),
                }))
            }
        }
    }
}

/// Issue 34: `load --report har=PATH` exports the run's first failures as
/// an HTTP Archive: each request as sent and the answer that refused it,
/// with the client secret, a 5-character password and every issued token
/// as fingerprints, also where the server echoes one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_exports_its_first_failures_as_a_har_without_secrets() {
    let s = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(RefusingRefreshes(std::sync::atomic::AtomicU64::new(0)))
        .mount(&s)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.yaml");
    std::fs::write(
        &target,
        format!(
            "name: refusing\ntoken_endpoint: {}/token\nclients:\n  primary: {{id: app, secret: cs-Zq81kT0w}}\nusers:\n  primary: {{username: ann, password: pw5ch}}\nbehaviour: {{rotation: static}}\n",
            s.uri()
        ),
    )
    .unwrap();
    let har_path = dir.path().join("failures.har");
    let har_arg = format!("har={}", har_path.display());
    let target = target.to_str().unwrap().to_string();
    let r = tokio::task::spawn_blocking(move || load(&["--target", &target, "--report", &har_arg]))
        .await
        .unwrap();
    let samples = r.report["failure_samples"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!samples.is_empty(), "{}", text(&r));
    assert!(samples.len() <= 20, "{}", samples.len());
    let text_har = std::fs::read_to_string(&har_path).unwrap();
    let har: serde_json::Value = serde_json::from_str(&text_har).unwrap();
    let entries = har["log"]["entries"].as_array().unwrap();
    assert_eq!(har["log"]["version"], "1.2");
    assert_eq!(entries.len(), samples.len());
    for e in entries {
        assert_eq!(e["request"]["method"], "POST", "{e}");
        assert_eq!(e["response"]["status"], 400, "{e}");
        assert!(
            e["comment"].as_str().unwrap().contains("invalid_grant"),
            "{e}"
        );
        assert!(
            e["request"]["postData"]["text"]
                .as_str()
                .unwrap()
                .contains("refresh_token="),
            "{e}"
        );
    }
    for secret in ["cs-Zq81kT0w", "pw5ch", "issued-refresh-", "issued-access-"] {
        assert!(
            !text_har.contains(secret),
            "{secret} in the HAR:\n{text_har}"
        );
        let json = serde_json::to_string(&r.report).unwrap();
        assert!(!json.contains(secret), "{secret} in the JSON report");
    }
}
