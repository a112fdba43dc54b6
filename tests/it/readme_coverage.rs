//! The README and the book say what the binary says: the coverage table
//! (docs/checks.md) is the one `tokenprobe list --coverage --format
//! markdown` prints, nothing in the catalogue is left uncovered, the counts
//! of ids and scenarios in the README are the binary's, the command list
//! (docs/commands.md) names every subcommand and every flag of `check`,
//! `load`, `mock` and `fuzz`, and every relative link of the README and the
//! book resolves (issue 22: the counts were stale and `report merge` was
//! missing; issue 34: the README became a front door to a book).

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
    doc("README.md")
}

fn doc(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

#[test]
fn readme_coverage_table_is_current_and_complete() {
    let table = tokenprobe(&["list", "--coverage", "--format", "markdown"]);
    assert!(!table.contains("not covered"), "{table}");
    assert!(
        doc("docs/checks.md").contains(&table),
        "docs/checks.md's coverage table is stale: paste the output of \
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
    let page = doc("docs/commands.md");
    let commands = page
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
        "docs/commands.md's Commands section lacks: {missing:?}"
    );
}

/// Every relative link (`[text](path)`, anchors aside) of the README and
/// of every page of the book names a file that exists; every page of the
/// book is in its SUMMARY.md; the README stays a front door (≤ 250 lines).
#[test]
fn every_link_of_the_readme_and_the_book_resolves() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let link = regex::Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    let mut pages = vec![root.join("README.md")];
    for e in std::fs::read_dir(root.join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            pages.push(p);
        }
    }
    let mut broken = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        for c in link.captures_iter(&text) {
            let target = &c[1];
            if target.contains("://") || target.starts_with('#') || target.starts_with("mailto:") {
                continue;
            }
            let file = target.split('#').next().unwrap();
            if !page.parent().unwrap().join(file).exists() {
                broken.push(format!("{}: {target}", page.display()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links that resolve to nothing: {broken:?}"
    );
    let summary = doc("docs/SUMMARY.md");
    for page in &pages {
        let name = page.file_name().unwrap().to_str().unwrap();
        if page.parent().unwrap().ends_with("docs") && name != "SUMMARY.md" {
            assert!(
                summary.contains(&format!("({name})")),
                "{name} is not in docs/SUMMARY.md"
            );
        }
    }
    let lines = readme().lines().count();
    assert!(
        lines <= 250,
        "the README is {lines} lines: keep it a front door"
    );
}

/// docs/checks.md's table of scenarios per login: what `list --target`
/// says for the strict mock's target under each login, counted.
#[test]
fn per_login_counts_are_the_binarys() {
    let mut rows = Vec::new();
    for login in ["password", "authorization_code", "jwt_bearer"] {
        let mock = crate::mock_support::MockProcess::start_with(&["--login", login]);
        let target = mock.target.to_string_lossy().to_string();
        let listed: Vec<serde_json::Value> = serde_json::from_str(&tokenprobe(&[
            "list", "--target", &target, "--format", "json",
        ]))
        .unwrap();
        let reasons: Vec<&str> = listed
            .iter()
            .filter_map(|s| s["skipped"].as_str())
            .collect();
        let for_login = reasons
            .iter()
            .filter(|r| {
                r.contains("it needs a login by")
                    || r.contains("it sends the password grant")
                    || r.contains("with a JWT user assertion")
            })
            .count();
        rows.push(format!(
            "| `{login}` | {} | {for_login} | {} |",
            listed.len() - reasons.len(),
            reasons.len() - for_login
        ));
    }
    let table = rows.join("\n");
    assert!(
        doc("docs/checks.md").contains(&table),
        "docs/checks.md's scenarios per login are stale: write\n{table}"
    );
}
