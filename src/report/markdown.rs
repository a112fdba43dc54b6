//! A Markdown job summary for CI pages (GitHub's `$GITHUB_STEP_SUMMARY`,
//! GitLab and Gitea render the same GFM subset).
//!
//! It reads top-down at any size: the verdict in one line, counts per level,
//! one table row per scenario that did not pass (worst first), then each
//! finding's detail folded in `<details>`, and the passed ids folded last.
//! Exchanges are dropped from the details once the page nears GitHub's
//! 1 MiB summary limit; `report.json` always has them all.

use super::{folder_of, human_duration, labelled, single_line, verdict};
use crate::check::result::{Level, Outcome, OutcomeKind, RunResult, ScenarioResult};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Past this size, details keep their findings but drop their exchanges.
const EXCHANGE_BUDGET: usize = 512 * 1024;
/// Past this size, the remaining details are left out (GitHub refuses a step
/// summary over 1 MiB).
const DETAILS_BUDGET: usize = 900 * 1024;

/// The Markdown summary of `run`.
pub fn render(run: &RunResult) -> String {
    let mut scenarios: Vec<&ScenarioResult> = run.scenarios.iter().collect();
    scenarios.sort_by(|a, b| a.id.cmp(&b.id));
    let mut out = String::new();
    header(&mut out, run);
    counts(&mut out, &scenarios);
    // Findings first, then known failures, then (collapsed) the skips.
    let mut not_passed: Vec<&ScenarioResult> = scenarios
        .iter()
        .copied()
        .filter(|s| {
            !matches!(s.outcome.kind(), OutcomeKind::Passed | OutcomeKind::Skipped)
                && s.known.is_none()
        })
        .collect();
    // New findings (since --compare's report) on top.
    let new: Vec<&str> = run
        .comparison
        .as_ref()
        .map(|c| c.new.iter().map(String::as_str).collect())
        .unwrap_or_default();
    not_passed.sort_by_key(|s| (!new.contains(&s.id.as_str()), severity(s.outcome.kind())));
    problems(&mut out, run);
    if let Some(cmp) = &run.comparison {
        let ids = |v: &[String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.iter().map(|i| code(i)).collect::<Vec<_>>().join(", ")
            }
        };
        let _ = writeln!(
            out,
            "### Since {}\n\n- 🆕 new: {}\n- ✅ fixed: {}\n- unchanged: {}\n- known (expected failures): {}\n",
            code(&cmp.previous),
            ids(&cmp.new),
            ids(&cmp.fixed),
            cmp.unchanged.len(),
            ids(&cmp.known)
        );
        if let Some(note) = cmp.selection_note() {
            let _ = writeln!(out, "⚠️ {}\n", text(&note));
        }
        for n in &cmp.not_compared {
            let _ = writeln!(out, "- not compared: {}", text(n));
        }
        if !cmp.not_compared.is_empty() {
            out.push('\n');
        }
    }
    if !not_passed.is_empty() {
        not_passed_table(&mut out, &not_passed, &new);
    }
    known_table(&mut out, &scenarios);
    skipped_list(&mut out, &scenarios);
    if !not_passed.is_empty() {
        let _ = writeln!(out, "### Details\n");
        let with_details: Vec<&&ScenarioResult> = not_passed
            .iter()
            .filter(|s| s.outcome.kind() != OutcomeKind::Skipped)
            .collect();
        for (i, s) in with_details.iter().enumerate() {
            if out.len() > DETAILS_BUDGET {
                let _ = writeln!(
                    out,
                    "… and {} more, left out to keep this page under 1 MiB; see `report.json`.\n",
                    with_details.len() - i
                );
                break;
            }
            details(&mut out, s);
        }
    }
    observations(&mut out, &scenarios);
    passed_list(&mut out, &scenarios);
    out
}

fn header(out: &mut String, run: &RunResult) {
    let v = verdict(run);
    let (mark, word) = if v.passed {
        ("✅", "Passed")
    } else {
        ("❌", "Failed")
    };
    let c = run.counts();
    let _ = writeln!(out, "## tokenprobe: {}\n", text(&run.target.name));
    let _ = writeln!(
        out,
        "{mark} **{word}** (exit code {}): {}. {} scenarios in {}.\n",
        v.exit_code,
        text(&v.why),
        c.total(),
        human_duration(run.duration)
    );
    let _ = writeln!(
        out,
        "Target {} from {} · started {} · strict: {}\n",
        code(&run.target.token_endpoint),
        code(&run.target.source),
        text(&run.started_at),
        if run.strict { "yes" } else { "no" }
    );
}

/// Worst first: what failed the run, then what could not run, then advice.
fn severity(k: OutcomeKind) -> u8 {
    match k {
        OutcomeKind::Failed => 0,
        OutcomeKind::Errored => 1,
        OutcomeKind::Warned => 2,
        OutcomeKind::Blocked => 3,
        OutcomeKind::SameCause => 4,
        OutcomeKind::Skipped => 5,
        OutcomeKind::Passed => 6,
    }
}

fn mark(k: OutcomeKind) -> &'static str {
    match k {
        OutcomeKind::Passed => "✅",
        OutcomeKind::Failed => "❌",
        OutcomeKind::Warned => "⚠️",
        OutcomeKind::Skipped => "⏭️",
        OutcomeKind::Blocked => "⛔",
        OutcomeKind::SameCause => "🔗",
        OutcomeKind::Errored => "💥",
    }
}

const KINDS: [OutcomeKind; 7] = [
    OutcomeKind::Passed,
    OutcomeKind::Failed,
    OutcomeKind::Warned,
    OutcomeKind::Skipped,
    OutcomeKind::Blocked,
    OutcomeKind::SameCause,
    OutcomeKind::Errored,
];

/// One row per level that has scenarios, and a total row.
fn counts(out: &mut String, scenarios: &[&ScenarioResult]) {
    // A known failure has a column of its own: every count here agrees
    // with the findings listed below and with the other reports.
    let mut rows: BTreeMap<Level, [usize; 8]> = BTreeMap::new();
    let mut total = [0; 8];
    for s in scenarios {
        let i = match s.known {
            Some(_) => 7,
            None => KINDS
                .iter()
                .position(|k| *k == s.outcome.kind())
                .unwrap_or(0),
        };
        rows.entry(s.level).or_default()[i] += 1;
        total[i] += 1;
    }
    out.push_str(
        "| level | passed | failed | warned | skipped | blocked | same cause | errored | known | total |\n",
    );
    out.push_str("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (level, n) in &rows {
        let cells: Vec<String> = n.iter().map(usize::to_string).collect();
        let sum: usize = n.iter().sum();
        let _ = writeln!(
            out,
            "| {} | {} | {sum} |",
            level.as_str(),
            cells.join(" | ")
        );
    }
    let cells: Vec<String> = total.iter().map(|n| format!("**{n}**")).collect();
    let sum: usize = total.iter().sum();
    let _ = writeln!(out, "| **all** | {} | **{sum}** |\n", cells.join(" | "));
}

/// Entries of the expected-failures file that fail the run.
fn problems(out: &mut String, run: &RunResult) {
    if !run.notes.is_empty() {
        let _ = writeln!(out, "### Notes on the run\n");
        for n in &run.notes {
            let _ = writeln!(out, "- {}", text(n));
        }
        out.push('\n');
    }
    if run.expectation_problems.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Expected-failures file\n");
    for p in &run.expectation_problems {
        let _ = writeln!(out, "- ❌ {}", text(p));
    }
    out.push('\n');
}

/// Failures listed as expected: visible, not failing.
fn known_table(out: &mut String, scenarios: &[&ScenarioResult]) {
    let known: Vec<&&ScenarioResult> = scenarios.iter().filter(|s| s.known.is_some()).collect();
    if known.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Known failures ({})\n", known.len());
    out.push_str("| scenario | level | reason | message |\n|---|---|---|---|\n");
    for s in known {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            cell(&code(&s.id)),
            s.level.as_str(),
            cell(&text(s.known.as_deref().unwrap_or_default())),
            cell(&text(&s.outcome.message()))
        );
    }
    out.push('\n');
}

/// The skipped scenarios, grouped by reason, collapsed.
fn skipped_list(out: &mut String, scenarios: &[&ScenarioResult]) {
    let mut by_reason: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for s in scenarios {
        if let Outcome::Skipped { why } = &s.outcome {
            by_reason.entry(why.clone()).or_default().push(&s.id);
        }
    }
    if by_reason.is_empty() {
        return;
    }
    let n: usize = by_reason.values().map(Vec::len).sum();
    let _ = writeln!(
        out,
        "<details>\n<summary>Skipped ({n}), by reason</summary>\n"
    );
    for (why, ids) in by_reason {
        let ids: Vec<String> = ids.iter().map(|i| code(i)).collect();
        let _ = writeln!(out, "- {}: {}", text(&why), ids.join(", "));
    }
    out.push_str("\n</details>\n\n");
}

fn not_passed_table(out: &mut String, not_passed: &[&ScenarioResult], new: &[&str]) {
    // Rows folded into another's finding are listed, not counted again.
    let same = not_passed
        .iter()
        .filter(|s| s.known.is_none() && s.outcome.kind() == OutcomeKind::SameCause)
        .count();
    if same > 0 {
        let _ = writeln!(
            out,
            "### Findings ({}, and {same} with the same cause)\n",
            not_passed.len() - same
        );
    } else {
        let _ = writeln!(out, "### Findings ({})\n", not_passed.len());
    }
    out.push_str("| scenario | level | outcome | clause | message |\n|---|---|---|---|---|\n");
    for s in not_passed {
        let k = s.outcome.kind();
        let _ = writeln!(
            out,
            "| {} | {} | {} {} | {} | {} |",
            cell(&format!(
                "{}{}",
                if new.contains(&s.id.as_str()) {
                    "🆕 "
                } else {
                    ""
                },
                code(&s.id)
            )),
            s.level.as_str(),
            mark(k),
            k.as_str(),
            cell(&text(&super::clauses(s).join("; "))),
            cell(&text(&s.outcome.message()))
        );
    }
    out.push('\n');
}

fn details(out: &mut String, s: &ScenarioResult) {
    let k = s.outcome.kind();
    let _ = writeln!(
        out,
        "<details>\n<summary>{} <code>{}</code> {}: {}</summary>\n",
        mark(k),
        html(&s.id),
        k.as_str(),
        html(&s.title)
    );
    let _ = writeln!(
        out,
        "{}, level {}\n",
        code(&format!("{}:{}", s.file.display(), s.line)),
        s.level.as_str()
    );
    let (body, exchange) = match &s.outcome {
        Outcome::Failed(f) | Outcome::Warned(f) => {
            let clauses = super::clauses(s).join("\n");
            let more = super::more_lines(f).join("\n");
            let mut rows = vec![("clause", clauses.as_str())];
            rows.extend([
                ("step", f.step.as_str()),
                ("subject", f.subject.as_str()),
                ("expected", f.expected.as_str()),
                ("actual", f.actual.as_str()),
            ]);
            if !more.is_empty() {
                rows.push(("more", more.as_str()));
            }
            (labelled(&rows), f.all_exchanges())
        }
        Outcome::Blocked { step, by } => {
            (labelled(&[("blocked by", step), ("why", by)]), Vec::new())
        }
        Outcome::SameCause { root, step, detail } => (
            labelled(&[("same cause as", root), ("step", step), ("answer", detail)]),
            Vec::new(),
        ),
        Outcome::Errored {
            step,
            class,
            detail,
        } => {
            let mut rows = Vec::new();
            if let Some(step) = step {
                rows.push(("step", step.as_str()));
            }
            rows.push(("class", class.as_str()));
            rows.push(("detail", detail.as_str()));
            (labelled(&rows), Vec::new())
        }
        Outcome::Passed { .. } | Outcome::Skipped { .. } => (String::new(), Vec::new()),
    };
    fenced(out, &body);
    if !s.steps.is_empty() {
        let steps: Vec<String> = s
            .steps
            .iter()
            .map(|st| format!("{}: {}", st.name, st.summary))
            .collect();
        out.push_str("Steps:\n\n");
        fenced(out, &steps.join("\n"));
    }
    if !exchange.is_empty() {
        if out.len() < EXCHANGE_BUDGET {
            out.push_str(if exchange.len() == 1 {
                "Exchange (redacted):\n\n"
            } else {
                "Exchanges (redacted, one per distinct answer):\n\n"
            });
            fenced(out, &super::render_exchanges(&exchange));
        } else {
            out.push_str("Exchange omitted to keep this page small; see `report.json`.\n\n");
        }
    }
    out.push_str("</details>\n\n");
}

/// INFO scenarios that passed with something to say.
fn observations(out: &mut String, scenarios: &[&ScenarioResult]) {
    let notes: Vec<(&ScenarioResult, &str)> = scenarios
        .iter()
        .filter_map(|s| match &s.outcome {
            Outcome::Passed { note: Some(n) } if !n.is_empty() => Some((*s, n.as_str())),
            _ => None,
        })
        .collect();
    if notes.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Observations ({})\n", notes.len());
    out.push_str("| scenario | note |\n|---|---|\n");
    for (s, note) in notes {
        let _ = writeln!(out, "| {} | {} |", cell(&code(&s.id)), cell(&text(note)));
    }
    out.push('\n');
}

/// The passed ids, folded, one line per folder.
fn passed_list(out: &mut String, scenarios: &[&ScenarioResult]) {
    let mut by_folder: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for s in scenarios
        .iter()
        .filter(|s| s.outcome.kind() == OutcomeKind::Passed)
    {
        by_folder
            .entry(folder_of(&s.id).unwrap_or("(top level)"))
            .or_default()
            .push(&s.id);
    }
    let n: usize = by_folder.values().map(Vec::len).sum();
    if n == 0 {
        return;
    }
    let _ = writeln!(out, "<details>\n<summary>✅ {n} passed</summary>\n");
    for (folder, ids) in by_folder {
        let ids: Vec<String> = ids.iter().map(|id| code(id)).collect();
        let _ = writeln!(
            out,
            "- **{}** ({}): {}",
            text(folder),
            ids.len(),
            ids.join(", ")
        );
    }
    out.push_str("\n</details>\n");
}

/// Text for HTML contexts (`<summary>`, `<code>`).
fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Prose from the run (messages, names): HTML-escaped so that `<docs>` shows
/// instead of vanishing, on one line.
fn text(s: &str) -> String {
    single_line(&html(s))
}

/// An inline code span that survives backticks and newlines in `s`.
fn code(s: &str) -> String {
    let s = single_line(s);
    let fence = "`".repeat(longest_run(&s, '`') + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// A table cell: `|` escaped (GFM unescapes it even inside code spans).
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// A fenced block longer than any backtick run inside it.
fn fenced(out: &mut String, body: &str) {
    let fence = "`".repeat(longest_run(body, '`').max(2) + 1);
    let _ = writeln!(out, "{fence}text\n{body}\n{fence}\n");
}

fn longest_run(s: &str, c: char) -> usize {
    s.split(|x| x != c).map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;
    use crate::check::result::{Finding, Outcome};

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(render(&fixture::run()));
    }

    #[test]
    fn snapshot_of_a_passing_run() {
        insta::assert_snapshot!(render(&fixture::passing_run()));
    }

    #[test]
    fn pipes_and_newlines_cannot_break_a_table_row() {
        let md = render(&fixture::run());
        let row = md
            .lines()
            .find(|l| l.starts_with("| `errors/description`"))
            .expect("a row for the warning");
        assert!(row.contains(r"bad \| token ⏎ see &lt;docs&gt;"), "{row}");
        // Five cells: six unescaped pipes.
        let unescaped = row.replace(r"\|", "");
        assert_eq!(unescaped.matches('|').count(), 6, "{row}");
    }

    #[test]
    fn cells_escape_pipes_in_and_out_of_code() {
        assert_eq!(cell(&code("a|b")), r"`a\|b`");
        assert_eq!(cell(&text("x | y\nz")), r"x \| y ⏎ z");
        assert_eq!(code("say `hi`"), "`` say `hi` ``");
        assert_eq!(code("`x`"), "`` `x` ``");
    }

    #[test]
    fn a_body_with_a_fence_cannot_close_the_block() {
        let mut out = String::new();
        fenced(&mut out, "```\nnot the end");
        assert_eq!(out, "````text\n```\nnot the end\n````\n\n");
    }

    #[test]
    fn non_passed_rows_come_worst_first_then_by_id() {
        let md = render(&fixture::run());
        let ids: Vec<&str> = md
            .lines()
            .filter(|l| l.starts_with("| `"))
            .take_while(|l| !l.contains("passed"))
            .filter_map(|l| l.split('`').nth(1))
            .collect();
        assert_eq!(
            &ids[..6],
            [
                "rotation/mode",
                "rotation/old-refused",
                "concurrency/race",
                "smoke",
                "errors/description",
                "scope/narrow",
            ]
        );
        // Skips are not findings: a collapsed list, grouped by reason.
        assert!(
            md.contains("<summary>Skipped (1), by reason</summary>\n\n- requires rotation: rotate; the target declares static: `reuse/family-revoked`"),
            "{md}"
        );
    }

    fn with_bulk_failures(n: usize, body_len: usize) -> RunResult {
        let mut run = fixture::run();
        let template = run
            .scenarios
            .iter()
            .find(|s| s.id == "rotation/old-refused")
            .unwrap()
            .clone();
        for i in 0..n {
            let mut s = template.clone();
            s.id = format!("bulk/case-{i:04}");
            if let Outcome::Failed(Finding {
                exchange: Some(e), ..
            }) = &mut s.outcome
                && let Some(r) = &mut e.response
            {
                r.body = "x".repeat(body_len);
            }
            run.scenarios.push(s);
        }
        run
    }

    #[test]
    fn hundreds_of_large_failures_stay_under_githubs_limit() {
        let md = render(&with_bulk_failures(300, 8 * 1024));
        assert!(md.len() < 1024 * 1024, "{} bytes", md.len());
        assert!(md.contains("Exchange omitted to keep this page small"));
        assert!(!md.contains("more, left out"));
        // Every failure still has its row and its details.
        assert_eq!(md.matches("| `bulk/case-").count(), 300);
        assert_eq!(md.matches("<code>bulk/case-").count(), 300);
    }

    #[test]
    fn thousands_of_failures_keep_their_rows_but_not_all_details() {
        let md = render(&with_bulk_failures(3000, 0));
        assert!(md.len() < 1024 * 1024, "{} bytes", md.len());
        assert_eq!(md.matches("| `bulk/case-").count(), 3000);
        assert!(md.contains("more, left out to keep this page under 1 MiB"));
    }
}
