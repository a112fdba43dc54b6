//! The README says what the binary says: the coverage table is the one
//! `tokenprobe list --coverage --format markdown` prints, nothing in the
//! catalogue is left uncovered, the counts of ids and scenarios are the
//! binary's, and the command list names every subcommand and every flag of
//! `check`, `load` and `mock` (issue 22: the counts were stale and `report
//! merge` was missing).

use std::process::Command;

fn tokenprobe(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

#[test]
fn readme_coverage_table_is_current_and_complete() {
    let table = tokenprobe(&["list", "--coverage", "--format", "markdown"]);
    assert!(!table.contains("not covered"), "{table}");
    assert!(
        readme().contains(&table),
        "README.md's coverage table is stale: paste the output of \
         `tokenprobe list --coverage --format markdown`"
    );
}

/// `<!-- counts -->` … sentence: the numbers are the binary's.
#[test]
fn readme_counts_are_the_binarys() {
    let ids: Vec<serde_json::Value> =
        serde_json::from_str(&tokenprobe(&["list", "--coverage", "--format", "json"])).unwrap();
    let all: Vec<serde_json::Value> = serde_json::from_str(&tokenprobe(&[
        "list",
        "--format",
        "json",
        "--tag",
        "intrusive",
    ]))
    .unwrap();
    let default: Vec<serde_json::Value> =
        serde_json::from_str(&tokenprobe(&["list", "--format", "json"])).unwrap();
    let expected = format!(
        "{} catalogue ids, {} scenarios ({} run by default, {} opt-in with `--tag intrusive`)",
        ids.len(),
        default.len() + all.len(),
        default.len(),
        all.len()
    );
    assert!(
        readme().contains(&expected),
        "README.md's counts are stale: write `{expected}`"
    );
}

/// The subcommands `--help` lists (`report merge` as two words).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // A wrapped description goes on further indented.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// `--long` flags of a `--help` text.
fn flags(help: &str) -> Vec<String> {
    let mut out: Vec<String> = help
        .split_whitespace()
        .map(|w| w.trim_start_matches(['`', '(', '[']))
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| {
            w.split(['=', '[', '`', '\'', ',', '.', ')', ':', ';'])
                .next()
                .unwrap_or("")
                .to_string()
        })
        .filter(|f| !["--help", "--version", "--"].contains(&f.as_str()))
        .collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn readme_commands_name_every_subcommand_and_flag() {
    let readme = readme();
    let commands = readme
        .split("## Commands")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a Commands section");
    let top = tokenprobe(&["--help"]);
    let mut missing = Vec::new();
    for sub in subcommands(&top) {
        let nested = subcommands(&tokenprobe(&[&sub, "--help"]));
        let names: Vec<String> = if nested.is_empty() {
            vec![format!("tokenprobe {sub}")]
        } else {
            nested
                .iter()
                .map(|n| format!("tokenprobe {sub} {n}"))
                .collect()
        };
        for n in names {
            if !commands.contains(&n) {
                missing.push(n);
            }
        }
    }
    for sub in ["check", "load", "mock"] {
        for f in flags(&tokenprobe(&[sub, "--help"])) {
            if !commands.contains(&f) {
                missing.push(format!("{sub} {f}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "README.md's Commands section lacks: {missing:?}"
    );
}
