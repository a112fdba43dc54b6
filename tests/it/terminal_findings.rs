//! Issue 32 item 8: the terminal shows findings first. Skips collapse to
//! one line per reason (`-v` lists them), `-q` shows findings and the
//! summary only, clause texts wrap instead of being cut, known failures
//! print as KNOWN, and the counts agree in every report.

use std::process::Command;

fn check(args: &[&str], _dir: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args([
            "check",
            "--mock",
            "strict",
            "--fault",
            "race",
            "--fault",
            "empty_error_body",
        ])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn findings_first_skips_collapsed_known_marked_counts_agree() {
    let dir = tempfile::tempdir().unwrap();
    let reports = |name: &str| {
        vec![
            "--report".to_string(),
            format!("json={}", dir.path().join(format!("{name}.json")).display()),
            "--report".to_string(),
            format!(
                "markdown={}",
                dir.path().join(format!("{name}.md")).display()
            ),
        ]
    };
    let args = reports("default");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = check(&args, dir.path());
    let per_scenario_skips = out
        .lines()
        .filter(|l| l.starts_with(" SKIP [") && l.contains("ms]"))
        .count();
    assert_eq!(per_scenario_skips, 0, "{out}");
    assert!(out.contains("(-v lists them)"), "{out}");
    assert!(
        !out.lines()
            .any(|l| l.trim_start().starts_with("ER-") && l.ends_with('…')),
        "clause texts wrap, never cut: {out}"
    );
    // -v lists every skipped scenario.
    let out_v = check(&["-v"], dir.path());
    assert!(
        out_v.lines().filter(|l| l.starts_with(" SKIP [")).count() > 10,
        "{out_v}"
    );
    // -q: findings and the summary only.
    let out_q = check(&["-q"], dir.path());
    assert!(
        !out_q
            .lines()
            .any(|l| l.starts_with(" PASS") || l.starts_with(" SKIP")),
        "{out_q}"
    );
    assert!(
        out_q.contains(" FAIL [") && out_q.contains("TOTAL"),
        "{out_q}"
    );
    // A known failure prints as KNOWN, not FAIL.
    let waivers = dir.path().join("known.yaml");
    std::fs::write(
        &waivers,
        "expected_failures:\n  - { id: concurrency/race, reason: ticket 1 }\n",
    )
    .unwrap();
    let args = [
        vec![
            "--expected-failures".to_string(),
            waivers.display().to_string(),
        ],
        reports("known"),
    ]
    .concat();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out_k = check(&args, dir.path());
    assert!(
        out_k.contains("KNOWN [") && out_k.contains("concurrency/race"),
        "{out_k}"
    );
    assert!(
        !out_k
            .lines()
            .any(|l| l.starts_with(" FAIL") && l.contains("concurrency/race")),
        "{out_k}"
    );
    // The Markdown's counts agree with the JSON summary.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("known.json")).unwrap()).unwrap();
    let md = std::fs::read_to_string(dir.path().join("known.md")).unwrap();
    let all = md.lines().find(|l| l.starts_with("| **all** |")).unwrap();
    let cells: Vec<&str> = all.split('|').map(str::trim).collect();
    // | **all** | passed | failed | warned | skipped | blocked | same | errored | known | total |
    assert_eq!(
        cells[3],
        format!("**{}**", json["summary"]["failed"]),
        "{all}"
    );
    assert_eq!(
        cells[9],
        format!("**{}**", json["summary"]["known"]),
        "{all}"
    );
}
