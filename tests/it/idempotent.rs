//! Issue 32: `check` and `load` agree on what a server may answer to
//! copies of one refresh: the successor handed out again (an idempotent
//! answer) is one successor, allowed, in both (`oauth::replay` is the one
//! definition). The mock holds each rotating refresh 200 ms and gives the
//! copies that come meanwhile its successor.

use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn check_and_load_agree_that_an_idempotent_answer_is_one_successor() {
    let (code, out) = run(&[
        "check",
        "--mock",
        "strict",
        "--single-flight-ms",
        "200",
        "--filter",
        "concurrency/race",
        "-v",
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("20×200"),
        "the copies all got the successor: {out}"
    );
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("load.json");
    let (code, out) = run(&[
        "load",
        "--mock",
        "strict",
        "--single-flight-ms",
        "200",
        "--replay-rate",
        "0.5",
        "--users",
        "4",
        "--run-time",
        "3s",
        "--ramp",
        "0s",
        "--report",
        &format!("json={}", json.display()),
    ]);
    assert_eq!(code, Some(0), "{out}");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert!(
        r["latency_us"]["replay"]["count"].as_u64().unwrap_or(0) > 0,
        "double spends and replays were sent: {out}"
    );
    for v in ["replay_accepted", "duplicate_tokens", "chain_breaks"] {
        assert_eq!(r["violations"][v], 0, "{v}: {out}");
    }
}
