//! Issue 22: what a CI pipeline is told is true. Ctrl-C and SIGTERM stop
//! `check` and `load` with 130 / 143 and reports marked interrupted; a
//! server that dies mid-load stops the run (exit 3) instead of being
//! hammered; a short sessions run is not called a failure; built-in load
//! profiles work from any folder.
//!
//! Every wait here is on something the child prints or on its exit, bounded
//! by a deadline: none stands in for synchronisation.

use std::io::{BufRead, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

fn tokenprobe() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tokenprobe"));
    c.env("NO_COLOR", "1");
    c
}

/// The lines a child writes to `stream`, as they come.
fn lines(stream: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stream)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    rx
}

/// Waits (at most `within`) for a line containing `needle`; every line
/// seen, for the message when it never comes.
fn wait_for(rx: &Receiver<String>, needle: &str, within: Duration) -> Vec<String> {
    let end = Instant::now() + within;
    let mut seen = Vec::new();
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                let hit = line.contains(needle);
                seen.push(line);
                if hit {
                    return seen;
                }
            }
            Err(_) => break,
        }
    }
    panic!("no line with {needle:?} within {within:?}: {seen:#?}");
}

fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name}");
}

/// The exit code, waited for at most `within`.
fn exit_within(child: &mut Child, within: Duration) -> Option<i32> {
    let end = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > end {
            let _ = child.kill();
            panic!("still running {within:?} after the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A token endpoint that answers HEAD (the reachability check) at once and
/// never answers anything else: every scenario hangs in its first request.
fn stalling_server() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buf = [0u8; 4096];
                let mut held = Vec::new();
                loop {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => held.extend_from_slice(&buf[..n]),
                    }
                    if held.starts_with(b"HEAD") && held.windows(4).any(|w| w == b"\r\n\r\n") {
                        let _ = stream.write_all(
                            b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n",
                        );
                        held.clear();
                    }
                }
            });
        }
    });
    addr
}

fn stalling_target(dir: &std::path::Path) -> std::path::PathBuf {
    let addr = stalling_server();
    let target = dir.join("target.yaml");
    std::fs::write(
        &target,
        format!(
            "name: stalls\ntoken_endpoint: http://{addr}/token\nclients:\n  primary: {{ id: app, secret: s }}\nusers:\n  primary: {{ username: u, password: p }}\ntiming: {{ request_timeout_s: 60 }}\n"
        ),
    )
    .unwrap();
    target
}

fn interrupted_check(signal_name: &str, code: i32) {
    let dir = tempfile::tempdir().unwrap();
    let target = stalling_target(dir.path());
    let json = dir.path().join("r.json");
    let xml = dir.path().join("r.xml");
    let mut child = tokenprobe()
        .args(["check", "--no-preflight", "--target"])
        .arg(&target)
        .arg("--report")
        .arg(format!("json={}", json.display()))
        .arg("--report")
        .arg(format!("junit={}", xml.display()))
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = lines(child.stdout.take().unwrap());
    // The run has started (its header), and its scenarios hang.
    wait_for(&out, "tokenprobe check:", Duration::from_secs(30));
    let sent = Instant::now();
    signal(&child, signal_name);
    assert_eq!(exit_within(&mut child, Duration::from_secs(15)), Some(code));
    assert!(
        sent.elapsed() < Duration::from_secs(10),
        "stopped {:?} after the signal",
        sent.elapsed()
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["interrupted"], signal_name_full(signal_name));
    assert_eq!(report["summary"]["exit_code"], code);
    let skipped: Vec<&str> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["skip_reason"].as_str())
        .filter(|w| w.starts_with("interrupted by"))
        .collect();
    assert!(!skipped.is_empty(), "{report}");
    let junit = std::fs::read_to_string(&xml).unwrap();
    assert!(
        junit.contains("<skipped message=\"interrupted by"),
        "JUnit marks unfinished scenarios skipped, with the reason"
    );
}

fn signal_name_full(short: &str) -> String {
    format!("SIG{short}")
}

/// Issue 22: Ctrl-C was ignored by `check` (it ran on for 54 s, exit 0).
#[test]
fn ctrl_c_stops_check_writes_the_reports_and_exits_130() {
    interrupted_check("INT", 130);
}

/// Issue 22: SIGTERM killed `check` with no report written.
#[test]
fn sigterm_stops_check_writes_the_reports_and_exits_143() {
    interrupted_check("TERM", 143);
}

/// A second Ctrl-C exits at once, with the same code.
#[test]
fn a_second_ctrl_c_exits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let target = stalling_target(dir.path());
    let mut child = tokenprobe()
        .args(["check", "--no-preflight", "--target"])
        .arg(&target)
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = lines(child.stdout.take().unwrap());
    let err = lines(child.stderr.take().unwrap());
    wait_for(&out, "tokenprobe check:", Duration::from_secs(30));
    signal(&child, "INT");
    wait_for(&err, "SIGINT: stopping", Duration::from_secs(10));
    signal(&child, "INT");
    assert_eq!(exit_within(&mut child, Duration::from_secs(10)), Some(130));
}

fn load_report(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("the report is written")).unwrap()
}

/// Issue 22: an interrupted `load` exited 0, and a cancelled job looked green.
#[test]
fn an_interrupted_load_exits_130_and_says_so_in_its_reports() {
    interrupted_load(&[]);
}

#[test]
fn an_interrupted_load_over_tls_exits_130() {
    interrupted_load(&["--tls", "self-signed"]);
}

fn interrupted_load(shape: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("load.json");
    let mut child = tokenprobe()
        .args([
            "load",
            "--mock",
            "strict",
            "--users",
            "2",
            "--run-time",
            "60s",
        ])
        .args(shape)
        .arg("--report")
        .arg(format!("json={}", json.display()))
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = lines(child.stderr.take().unwrap());
    wait_for(&err, "tokenprobe load:", Duration::from_secs(30));
    signal(&child, "INT");
    assert_eq!(exit_within(&mut child, Duration::from_secs(15)), Some(130));
    let r = load_report(&json);
    assert_eq!(r["interrupted"], true);
    assert!(
        r["stopped"].as_str().unwrap().contains("SIGINT"),
        "{}",
        r["stopped"]
    );
    assert!(r["totals"]["duration_s"].as_f64().unwrap() < 30.0);
}

/// A `tokenprobe mock` process (with `flags`, e.g. `--tls self-signed`):
/// its target file, and the child to kill.
fn mock_process(dir: &std::path::Path, flags: &[&str]) -> (Child, String) {
    let mut mock = tokenprobe()
        .args(["mock", "--listen", "127.0.0.1:0"])
        .args(flags)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = lines(mock.stdout.take().unwrap());
    let first = wait_for(&out, "://127.0.0.1:", Duration::from_secs(30));
    let line = first.last().unwrap().clone();
    let target = line.split_whitespace().nth(1).unwrap().to_string();
    (mock, target)
}

/// Issue 22: a server that died mid-load got about 50,000 logins in 5 s,
/// the run exited 0, and the refused connects went into the latency
/// histogram.
#[test]
fn a_server_that_dies_mid_load_stops_the_run_with_exit_3() {
    server_dies_mid_load(&[]);
}

#[test]
fn a_tls_server_that_dies_mid_load_stops_the_run_with_exit_3() {
    server_dies_mid_load(&["--tls", "self-signed"]);
}

fn server_dies_mid_load(shape: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let (mut mock, target) = mock_process(dir.path(), shape);
    let json = dir.path().join("load.json");
    let mut child = tokenprobe()
        .args([
            "load",
            "--target",
            &target,
            "--users",
            "8",
            "--ramp",
            "0s",
            "--run-time",
            "60s",
        ])
        .arg("--report")
        .arg(format!("json={}", json.display()))
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = lines(child.stderr.take().unwrap());
    wait_for(&err, "tokenprobe load:", Duration::from_secs(30));
    mock.kill().unwrap();
    let _ = mock.wait();
    let code = exit_within(&mut child, Duration::from_secs(20));
    let rest: Vec<String> = err.try_iter().collect();
    assert_eq!(code, Some(3), "{rest:#?}");
    assert!(
        rest.iter()
            .any(|l| l.contains("the server stopped answering at")),
        "{rest:#?}"
    );
    let r = load_report(&json);
    let stopped = r["stopped"].as_str().unwrap();
    assert!(stopped.contains("stopped answering at 00:"), "{stopped}");
    // Bounded: the breaker trips after 20 answers that never came (a
    // request or two in flight per user may add to it), never thousands.
    let silent: u64 = r["errors"]["by_status"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("transport:"))
        .map(|(_, v)| v.as_u64().unwrap())
        .sum();
    assert!((20..=60).contains(&silent), "{silent} transport failures");
    // Failed requests are counted by class, never timed.
    let timed: u64 = r["latency_us"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "all")
        .map(|(_, l)| l["count"].as_u64().unwrap())
        .sum();
    let requests = r["totals"]["requests"].as_u64().unwrap();
    assert_eq!(timed + silent, requests, "{r}");
}

/// Successful refreshes so far, from the run's live metrics (plain HTTP).
fn refreshes_served(metrics: &str) -> u64 {
    let addr = metrics
        .trim_start_matches("http://")
        .trim_end_matches("/metrics");
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.lines()
        .filter(|l| l.starts_with(r#"tokenprobe_requests_total{kind="refresh",status="2xx""#))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// `--on-server-down wait` rides an outage out: it backs off and ends on
/// time instead of stopping, and the error-rate gate judges the run.
#[test]
fn on_server_down_wait_backs_off_and_ends_on_time() {
    server_down_wait(&[]);
}

#[test]
fn over_tls_on_server_down_wait_backs_off_and_ends_on_time() {
    server_down_wait(&["--tls", "self-signed"]);
}

fn server_down_wait(shape: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let (mut mock, target) = mock_process(dir.path(), shape);
    let json = dir.path().join("load.json");
    let mut child = tokenprobe()
        .args([
            "load",
            "--target",
            &target,
            "--users",
            "4",
            "--ramp",
            "0s",
            "--run-time",
            "3s",
        ])
        .args([
            "--on-server-down",
            "wait",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .arg("--report")
        .arg(format!("json={}", json.display()))
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = lines(child.stderr.take().unwrap());
    let seen = wait_for(&err, "metrics: http://", Duration::from_secs(30));
    let metrics = seen
        .last()
        .unwrap()
        .trim_start_matches("metrics: ")
        .to_string();
    // The outage comes once the server has answered refreshes.
    let until = Instant::now() + Duration::from_secs(20);
    while refreshes_served(&metrics) == 0 {
        assert!(Instant::now() < until, "no refresh served");
        std::thread::sleep(Duration::from_millis(20));
    }
    mock.kill().unwrap();
    let _ = mock.wait();
    let code = exit_within(&mut child, Duration::from_secs(30));
    let r = load_report(&json);
    assert!(r["stopped"].is_null(), "{}", r["stopped"]);
    // More than 5 % failed: the default gate fails it (exit 5), not the
    // breaker (exit 3).
    assert_eq!(code, Some(5), "{r}");
    let gate = r["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["default"] == true)
        .expect("the default error-rate gate");
    assert_eq!(gate["passed"], false);
    assert!(r["totals"]["logins"].as_u64().unwrap() > 0, "{r}");
    // Backed off: each of 4 users tries at most a few dozen times in 3 s.
    let silent: u64 = r["errors"]["by_status"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("transport:"))
        .map(|(_, v)| v.as_u64().unwrap())
        .sum();
    assert!((1..=200).contains(&silent), "{silent} transport failures");
}

/// Issue 22: `load --sessions 100000 --run-time 20s` logged 2,000 sessions
/// in, no refresh was due yet, and it exited 3 saying the figures measured
/// failures.
#[test]
fn a_sessions_run_too_short_for_a_refresh_warns_and_passes() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("load.json");
    let out = tokenprobe()
        .args([
            "load",
            "--mock",
            "strict",
            "--sessions",
            "40",
            "--run-time",
            "2s",
        ])
        .arg("--report")
        .arg(format!("json={}", json.display()))
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("warning: no refresh came due"), "{err}");
    assert!(err.contains("--time-scale"), "{err}");
    let r = load_report(&json);
    assert_eq!(r["settings"]["sessions"], 40);
    assert_eq!(r["totals"]["started"], 40, "{}", r["totals"]);
    assert!(r["totals"]["login_rate"].as_f64().unwrap() > 0.0);
    let md = tokenprobe()
        .args([
            "load",
            "--mock",
            "strict",
            "--sessions",
            "4",
            "--run-time",
            "1s",
        ])
        .args(["--report", "markdown=/dev/stdout"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.contains("4 of 4 sessions logged in"), "{md}");
}

/// Issue 22: `--profile scenarios/load/ci-gate.yaml` worked only in a
/// checkout; `scenarios export` left the profiles out.
#[test]
fn built_in_load_profiles_work_by_name_from_any_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = tokenprobe()
        .args(["load", "--mock", "strict", "--profile", "ci-gate"])
        .args(["--users", "2", "--ramp", "0s", "--run-time", "1s"])
        .args(["--report", "json=load.json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("no such file") && dir.path().join("load.json").exists(),
        "{err}"
    );
    let wrong = tokenprobe()
        .args(["load", "--mock", "strict", "--profile", "ci-gat"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("did you mean `ci-gate`?"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    let export = dir.path().join("suite");
    let out = tokenprobe()
        .args(["scenarios", "export"])
        .arg(&export)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(export.join("scenarios/load/ci-gate.yaml").is_file());
}

/// Issue 22: `validate` passed `grant: pasword` and `{{ login.refresh_tokn }}`
/// (the run then showed a vendor-looking `unsupported_grant_type`), and a
/// file with four mistakes took four rounds.
#[test]
fn validate_reports_every_mistake_of_a_file_with_suggestions() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.yaml");
    std::fs::write(
        &file,
        "id: mine/typos\ntitle: t\nlevel: must\ncovers: [RB-BOGU]\nstpes: []\nsteps:\n  - name: login\n    grant: pasword\n  - grant: refresh_token\n    refresh_token: \"{{ login.refresh_tokn }}\"\n    expect: { status: 200, eror: invalid_grant }\n",
    )
    .unwrap();
    let out = tokenprobe().arg("validate").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for (what, hint) in [
        ("unknown field `stpes`", "did you mean `steps`?"),
        ("unknown field `eror`", "did you mean `error`?"),
        (
            "`grant: pasword` is not a grant type",
            "did you mean `password`?",
        ),
        (
            "names `refresh_tokn`, which no response holds",
            "did you mean `refresh_token`?",
        ),
        (
            "`RB-BOGU` is not a catalogue id",
            "did you mean `RB-BOGUS`?",
        ),
    ] {
        assert!(err.contains(what), "{what}: {err}");
        assert!(err.contains(hint), "{hint}: {err}");
    }
    assert_eq!(err.matches("error:").count(), 5, "{err}");
    assert!(err.contains("mine.yaml:8:12"), "grant located: {err}");
}

/// Issue 22: a mistyped expected-failure id (`RB-BOGU`) waived nothing, and
/// nothing said so.
#[test]
fn an_expected_failure_naming_nothing_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("expected.yaml");
    std::fs::write(
        &file,
        "expected_failures:\n  - id: RB-BOGU\n    reason: ticket 1\n",
    )
    .unwrap();
    let out = tokenprobe()
        .args(["check", "--mock", "strict", "--expected-failures"])
        .arg(&file)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`RB-BOGU` names no scenario"), "{err}");
    assert!(err.contains("did you mean `RB-BOGUS`?"), "{err}");
    assert!(err.contains("expected.yaml:2:"), "{err}");
}

/// Issue 22: `--compare` reported waived failures as "fixed" while the run
/// printed them as known.
#[test]
fn compare_shows_waived_failures_as_known_not_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str], json: &str| {
        tokenprobe()
            .args([
                "check",
                "--mock",
                "strict",
                "--fault",
                "race",
                "--filter",
                "concurrency/race",
            ])
            .args(extra)
            .args(["--report", &format!("json={json}")])
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let first = run(&[], "before.json");
    assert_eq!(first.status.code(), Some(1));
    std::fs::write(
        dir.path().join("expected.yaml"),
        "expected_failures:\n  - id: CC-RACE\n    reason: vendor ticket 7\n",
    )
    .unwrap();
    let second = run(
        &[
            "--expected-failures",
            "expected.yaml",
            "--compare",
            "before.json",
        ],
        "after.json",
    );
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert_eq!(second.status.code(), Some(0), "{stdout}");
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("after.json")).unwrap()).unwrap();
    let cmp = &r["comparison"];
    assert!(cmp["fixed"].as_array().unwrap().is_empty(), "{cmp}");
    assert!(
        cmp["known"]
            .as_array()
            .unwrap()
            .iter()
            .any(|id| id == "concurrency/race"),
        "{cmp}"
    );
    assert!(stdout.contains("0 fixed"), "{stdout}");
}

/// Issue 22: the `init` scaffold wrote `scope: ""`, and a correct server
/// failed scope/omitted and rotation/scope-kept. The scaffold, filled with
/// the right credentials, gives no failure on the strict mock.
#[test]
fn the_init_scaffold_filled_in_gives_no_failure_on_the_strict_mock() {
    let dir = tempfile::tempdir().unwrap();
    let (mut mock, target) = mock_process(dir.path(), &[]);
    let text = std::fs::read_to_string(&target).unwrap();
    let base = text
        .lines()
        .find_map(|l| l.strip_prefix("base_url: "))
        .expect("the mock's base_url")
        .trim()
        .to_string();
    let out = tokenprobe()
        .args(["init", "--discovery"])
        .arg(format!("{base}/.well-known/openid-configuration"))
        .args(["-o", "target.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let scaffold = std::fs::read_to_string(dir.path().join("target.yaml")).unwrap();
    assert!(!scaffold.contains("scope: \"\""), "{scaffold}");
    let out = tokenprobe()
        .args([
            "check",
            "--target",
            "target.yaml",
            "--report",
            "json=r.json",
        ])
        .env("TOKENPROBE_CLIENT_ID", "app")
        .env("TOKENPROBE_CLIENT_SECRET", "app-secret")
        .env("TOKENPROBE_USERNAME", "alice")
        .env("TOKENPROBE_PASSWORD", "alice-pass-1")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let _ = mock.kill();
    let _ = mock.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(r["summary"]["failed"], 0, "{stdout}");
    assert_eq!(r["summary"]["errored"], 0, "{stdout}");
    assert!(r["summary"]["passed"].as_u64().unwrap() >= 30, "{stdout}");
    assert_eq!(out.status.code(), Some(0), "{stdout}");
}

/// A rate-capped user whose next slot falls after the run's end sends
/// nothing more and lets the run end on time (it used to wait for the slot,
/// and goose waited for it).
#[test]
fn a_slot_after_the_end_holds_nothing_up() {
    let dir = tempfile::tempdir().unwrap();
    let (mut mock, target) = mock_process(dir.path(), &[]);
    let json = dir.path().join("load.json");
    // 0.7 requests a second: slots at 0, 1.43 (the logins), 2.86 (a
    // refresh) and 4.29 s; the run is 3 s.
    let mut child = tokenprobe()
        .args(["load", "--target", &target, "--users", "2", "--ramp", "0s"])
        .args(["--run-time", "3s", "--rate", "0.7"])
        .arg("--report")
        .arg(format!("json={}", json.display()))
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let code = exit_within(&mut child, Duration::from_secs(30));
    mock.kill().unwrap();
    let _ = mock.wait();
    let r = load_report(&json);
    assert_eq!(code, Some(0), "{r}");
    let took = r["totals"]["duration_s"].as_f64().unwrap();
    assert!(took < 4.0, "the run took {took} s for a 3 s run time");
    assert_eq!(r["totals"]["requests"], 3, "slots before the end: {r}");
    assert_eq!(r["totals"]["failures"], 0, "{r}");
}

/// Issue 32: the gate is never wrong. A finding judged from places met in
/// other scenarios is not FIXED by a run that did not run them; a finding
/// of a scenario the previous run never ran is not NEW; two runs over
/// different selections say so.
#[test]
fn fixed_needs_the_evidence_and_new_needs_the_scenario_to_have_run_before() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.json");
    let out = tokenprobe()
        .args([
            "check",
            "--mock",
            "strict",
            "--fault",
            "errors_as_200",
            "--report",
        ])
        .arg(format!("json={}", full.display()))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // The fault gone, only errors/* selected: errors/status-and-body passes,
    // but its finding listed places in client-auth/… and password/…,
    // which did not run now.
    let out = tokenprobe()
        .args([
            "check",
            "--mock",
            "strict",
            "--filter",
            "errors/*",
            "--compare",
        ])
        .arg(&full)
        .args(["--report"])
        .arg(format!("json={}", dir.path().join("now.json").display()))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("FIXED errors/status-and-body"), "{stdout}");
    assert!(stdout.contains("N/C errors/status-and-body"), "{stdout}");
    assert!(stdout.contains("covered different scenarios"), "{stdout}");
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("now.json")).unwrap()).unwrap();
    assert!(
        r["comparison"]["fixed"]
            .as_array()
            .is_none_or(|f| f.is_empty()),
        "{r}"
    );
    assert!(
        !r["comparison"]["only_before"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // A small previous run: what it did not run is not NEW now.
    let small = dir.path().join("small.json");
    tokenprobe()
        .args([
            "check",
            "--mock",
            "strict",
            "--filter",
            "refresh/ok",
            "--report",
        ])
        .arg(format!("json={}", small.display()))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let out = tokenprobe()
        .args(["check", "--mock", "strict", "--fault", "race", "--compare"])
        .arg(&small)
        .args(["--fail-on", "new"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("NEW concurrency/race"), "{stdout}");
    assert!(stdout.contains("N/C concurrency/race"), "{stdout}");
    assert_eq!(out.status.code(), Some(0), "{stdout}");
}
