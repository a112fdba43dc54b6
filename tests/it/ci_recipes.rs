//! docs/ci.md stays true: its YAML examples parse, and every `tokenprobe`
//! command they hold runs against the embedded mock (the target replaced by
//! `--mock strict`), with the expected-failures file the page shows.

use std::process::Command;

/// The fenced YAML blocks of docs/ci.md, in order.
fn yaml_blocks() -> Vec<String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/ci.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```yaml") => current = Some(String::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

/// Every string in a YAML value that starts a tokenprobe command.
fn commands(v: &serde_yaml::Value, out: &mut Vec<String>) {
    match v {
        serde_yaml::Value::String(s) => {
            for line in s.lines() {
                if line.trim_start().starts_with("tokenprobe ") {
                    out.push(line.trim().to_string());
                }
            }
        }
        serde_yaml::Value::Sequence(items) => items.iter().for_each(|i| commands(i, out)),
        serde_yaml::Value::Mapping(m) => m.values().for_each(|i| commands(i, out)),
        _ => {}
    }
}

#[test]
fn the_ci_recipes_parse_and_their_commands_run_against_the_mock() {
    let blocks = yaml_blocks();
    assert_eq!(
        blocks.len(),
        3,
        "expected-failures, GitHub Actions, GitLab CI"
    );
    let parsed: Vec<serde_yaml::Value> = blocks
        .iter()
        .map(|b| serde_yaml::from_str(b).unwrap_or_else(|e| panic!("{e}\n{b}")))
        .collect();
    assert!(
        parsed[1]["jobs"]["tokenprobe"]["steps"].is_sequence(),
        "a GitHub Actions job"
    );
    assert!(
        parsed[2]["oauth-conformance"]["script"].is_sequence(),
        "a GitLab CI job"
    );
    assert!(
        parsed[2]["oauth-conformance"]["artifacts"]["reports"]["junit"].is_string(),
        "GitLab reads the JUnit report"
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("ci")).unwrap();
    std::fs::write(dir.path().join("ci/expected-failures.yaml"), &blocks[0]).unwrap();
    let mut all = Vec::new();
    for p in &parsed[1..] {
        commands(p, &mut all);
    }
    // Each job has its command with the last green report and without.
    assert_eq!(all.len(), 4, "{all:?}");
    assert_eq!(
        all.iter()
            .filter(|c| c.contains("--compare last/report.json"))
            .count(),
        2
    );
    // A last green run to compare with.
    std::fs::create_dir_all(dir.path().join("last")).unwrap();
    let green = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(["check", "--mock", "strict", "--fault", "race"])
        .args(["--expected-failures", "ci/expected-failures.yaml"])
        .args(["--report", "json=last/report.json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(green.status.code(), Some(0));
    for cmd in all {
        let cmd = cmd.replace("--target \"$TOKENPROBE_TARGET\"", "--mock strict");
        let args: Vec<&str> = cmd.split_whitespace().skip(1).collect();
        // The planted race is the failure the file expects.
        let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
            .args(&args)
            .args(["--fault", "race"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{cmd}\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("known failure: IAM-1234"), "{stdout}");
        if cmd.contains("--compare") {
            assert!(stdout.contains("0 new, 0 fixed"), "{stdout}");
        }
        for f in ["junit.xml", "summary.md", "report.html", "report.json"] {
            assert!(dir.path().join("reports").join(f).is_file(), "{f}");
        }
    }
}
