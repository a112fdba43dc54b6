//! The conformance report as one self-contained HTML file (no external
//! assets, works offline, attachable to a release): the verdict, the
//! findings first with their clauses and each redacted exchange in a
//! collapsible block, known failures, blocked checks, a summary by area and
//! level, the skips grouped by reason, what passed.

use super::{clauses, folder_of, more_lines, verdict};
use crate::check::result::{Outcome, OutcomeKind, RunResult, ScenarioResult};
use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::markup::escape as esc;

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{padding:18px 28px;color:#fff}
header.pass{background:#1f7a3d}header.fail{background:#b3261e}
header h1{margin:0 0 4px;font-size:20px}header p{margin:2px 0;opacity:.92}
main{padding:8px 28px 40px;max-width:1200px}
h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #d6dae1;padding-bottom:4px}
table{border-collapse:collapse;background:#fff;margin:6px 0}
th,td{border:1px solid #d6dae1;padding:4px 9px;text-align:left;vertical-align:top}
th{background:#eef0f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
details{background:#fff;border:1px solid #d6dae1;border-radius:6px;margin:8px 0;padding:6px 12px}
details>summary{cursor:pointer;font-weight:600}
details details{background:#fafbfc;margin:6px 0}
pre{background:#0f1720;color:#e6edf3;padding:10px;border-radius:4px;overflow:auto;font-size:12.5px;white-space:pre-wrap;word-break:break-all}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;margin-right:6px}
.failed{background:#b3261e}.errored{background:#7b1fa2}.warned{background:#b26a00}.blocked{background:#546e7a}.same_cause{background:#546e7a}
.skipped{background:#607d8b}.passed{background:#1f7a3d}.known{background:#455a64}.new{background:#d32f2f}.fixed{background:#2e7d32}
.clause{color:#4a5568;margin:4px 0}.kv td:first-child{font-weight:600;white-space:nowrap}
ul{margin:4px 0 4px 20px;padding:0}
";

/// The HTML report of `run`.
pub fn render(run: &RunResult) -> String {
    let v = verdict(run);
    let c = run.counts();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>tokenprobe: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&run.target.name)
    );
    let _ = write!(
        out,
        "<header class=\"{}\">\n<h1>tokenprobe: {} — {}</h1>\n<p>{} (exit code {})</p>\n<p>Target <code>{}</code> from <code>{}</code> · started {} · {} scenarios in {} · strict: {} · tokenprobe {}</p>\n</header>\n<main>\n",
        if v.passed { "pass" } else { "fail" },
        esc(&run.target.name),
        if v.passed { "passed" } else { "failed" },
        esc(&v.why),
        v.exit_code,
        esc(&run.target.token_endpoint),
        esc(&run.target.source),
        esc(&run.started_at),
        c.total(),
        esc(&super::human_duration(run.duration)),
        if run.strict { "yes" } else { "no" },
        env!("CARGO_PKG_VERSION"),
    );
    let mut scenarios: Vec<&ScenarioResult> = run.scenarios.iter().collect();
    scenarios.sort_by(|a, b| a.id.cmp(&b.id));
    problems_and_comparison(&mut out, run);
    let new: Vec<&str> = run
        .comparison
        .as_ref()
        .map(|c| c.new.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let findings: Vec<&&ScenarioResult> = scenarios
        .iter()
        .filter(|s| {
            s.known.is_none()
                && matches!(
                    s.outcome.kind(),
                    OutcomeKind::Failed | OutcomeKind::Warned | OutcomeKind::Errored
                )
        })
        .collect();
    let _ = writeln!(out, "<h2>Findings ({})</h2>", findings.len());
    if findings.is_empty() {
        out.push_str("<p>None.</p>\n");
    }
    let mut ordered = findings.clone();
    ordered.sort_by_key(|s| (!new.contains(&s.id.as_str()), rank(s.outcome.kind())));
    for s in ordered {
        scenario_block(&mut out, s, new.contains(&s.id.as_str()), true);
    }
    let known: Vec<&&ScenarioResult> = scenarios.iter().filter(|s| s.known.is_some()).collect();
    if !known.is_empty() {
        let _ = writeln!(out, "<h2>Known failures ({})</h2>", known.len());
        for s in known {
            scenario_block(&mut out, s, false, false);
        }
    }
    for (kind, heading) in [
        (OutcomeKind::SameCause, "Same cause as a finding"),
        (OutcomeKind::Blocked, "Blocked"),
    ] {
        let listed: Vec<&&ScenarioResult> = scenarios
            .iter()
            .filter(|s| s.known.is_none() && s.outcome.kind() == kind)
            .collect();
        if listed.is_empty() {
            continue;
        }
        let _ = writeln!(out, "<h2>{heading} ({})</h2>\n<ul>", listed.len());
        for s in listed {
            let _ = writeln!(
                out,
                "<li><code>{}</code>: {}</li>",
                esc(&s.id),
                esc(&s.outcome.message())
            );
        }
        out.push_str("</ul>\n");
    }
    summary(&mut out, &scenarios);
    skipped(&mut out, &scenarios);
    passed(&mut out, &scenarios);
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn rank(k: OutcomeKind) -> u8 {
    match k {
        OutcomeKind::Failed => 0,
        OutcomeKind::Errored => 1,
        _ => 2,
    }
}

fn problems_and_comparison(out: &mut String, run: &RunResult) {
    if !run.notes.is_empty() {
        out.push_str("<h2>Notes on the run</h2>\n<ul>\n");
        for n in &run.notes {
            let _ = writeln!(out, "<li>{}</li>", esc(n));
        }
        out.push_str("</ul>\n");
    }
    if !run.expectation_problems.is_empty() {
        out.push_str("<h2>Expected-failures file</h2>\n<ul>\n");
        for p in &run.expectation_problems {
            let _ = writeln!(
                out,
                "<li><span class=\"badge failed\">stale</span>{}</li>",
                esc(p)
            );
        }
        out.push_str("</ul>\n");
    }
    if let Some(c) = &run.comparison {
        let list = |ids: &[String]| {
            if ids.is_empty() {
                "none".to_string()
            } else {
                ids.iter()
                    .map(|i| format!("<code>{}</code>", esc(i)))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let _ = writeln!(
            out,
            "<h2>Since <code>{}</code></h2>\n<ul>\n<li><span class=\"badge new\">new</span>{}</li>\n<li><span class=\"badge fixed\">fixed</span>{}</li>\n<li>unchanged: {}</li>\n<li><span class=\"badge known\">known</span>{}</li>\n</ul>",
            esc(&c.previous),
            list(&c.new),
            list(&c.fixed),
            c.unchanged.len(),
            list(&c.known)
        );
        if let Some(note) = c.selection_note() {
            let _ = writeln!(out, "<p class=\"note\">{}</p>", esc(&note));
        }
        if !c.not_compared.is_empty() {
            out.push_str("<ul>\n");
            for n in &c.not_compared {
                let _ = writeln!(out, "<li>not compared: {}</li>", esc(n));
            }
            out.push_str("</ul>\n");
        }
    }
}

const KINDS: [(OutcomeKind, &str); 7] = [
    (OutcomeKind::Passed, "passed"),
    (OutcomeKind::Failed, "failed"),
    (OutcomeKind::Warned, "warned"),
    (OutcomeKind::Errored, "errored"),
    (OutcomeKind::Blocked, "blocked"),
    (OutcomeKind::SameCause, "same cause"),
    (OutcomeKind::Skipped, "skipped"),
];

/// Counts by area (the id's folder) and by level.
fn summary(out: &mut String, scenarios: &[&ScenarioResult]) {
    let mut by_area: BTreeMap<String, [usize; 8]> = BTreeMap::new();
    let mut by_level: BTreeMap<String, [usize; 8]> = BTreeMap::new();
    for s in scenarios {
        let i = if s.known.is_some() {
            7
        } else {
            KINDS
                .iter()
                .position(|(k, _)| *k == s.outcome.kind())
                .unwrap_or(0)
        };
        by_area
            .entry(folder_of(&s.id).unwrap_or("(top)").to_string())
            .or_default()[i] += 1;
        by_level.entry(s.level.as_str().to_string()).or_default()[i] += 1;
    }
    for (title, rows) in [("area", by_area), ("level", by_level)] {
        let _ = write!(out, "<h2>By {title}</h2>\n<table>\n<tr><th>{title}</th>");
        for (_, name) in KINDS {
            let _ = write!(out, "<th>{name}</th>");
        }
        out.push_str("<th>known</th><th>total</th></tr>\n");
        for (name, n) in rows {
            let _ = write!(out, "<tr><td>{}</td>", esc(&name));
            for v in n {
                let _ = write!(out, "<td class=\"n\">{v}</td>");
            }
            let _ = writeln!(out, "<td class=\"n\">{}</td></tr>", n.iter().sum::<usize>());
        }
        out.push_str("</table>\n");
    }
}

/// One finding (or known failure): clauses, what was expected and what
/// came back, the rest that did not hold, the steps, the exchange.
fn scenario_block(out: &mut String, s: &ScenarioResult, new: bool, open: bool) {
    let kind = s.outcome.kind().as_str();
    let mut marks = format!("<span class=\"badge {kind}\">{kind}</span>");
    if s.known.is_some() {
        marks.push_str("<span class=\"badge known\">known</span>");
    }
    if new {
        marks.push_str("<span class=\"badge new\">new</span>");
    }
    let _ = writeln!(
        out,
        "<details{}>\n<summary>{marks}<code>{}</code> ({}) — {}</summary>",
        if open { " open" } else { "" },
        esc(&s.id),
        s.level.as_str(),
        esc(&s.title)
    );
    if let Some(reason) = &s.known {
        let _ = writeln!(out, "<p>Expected: {}</p>", esc(reason));
    }
    for c in clauses(s) {
        let _ = writeln!(out, "<p class=\"clause\">{}</p>", esc(&c));
    }
    out.push_str("<table class=\"kv\">\n");
    let row = |out: &mut String, k: &str, v: &str| {
        let _ = writeln!(out, "<tr><td>{k}</td><td><code>{}</code></td></tr>", esc(v));
    };
    row(out, "file", &format!("{}:{}", s.file.display(), s.line));
    let mut exchange_shown = Vec::new();
    match &s.outcome {
        Outcome::Failed(f) | Outcome::Warned(f) => {
            row(out, "step", &f.step);
            row(out, "subject", &f.subject);
            row(out, "expected", &f.expected);
            row(out, "actual", &f.actual);
            exchange_shown = f.all_exchanges();
            out.push_str("</table>\n");
            let more = more_lines(f);
            if !more.is_empty() {
                out.push_str("<ul>\n");
                for m in more {
                    let _ = writeln!(out, "<li>{}</li>", esc(&m));
                }
                out.push_str("</ul>\n");
            }
        }
        Outcome::Errored {
            step,
            class,
            detail,
        } => {
            if let Some(step) = step {
                row(out, "step", step);
            }
            row(out, "class", class.as_str());
            row(out, "detail", detail);
            out.push_str("</table>\n");
        }
        _ => {
            row(out, "message", &s.outcome.message());
            out.push_str("</table>\n");
        }
    }
    if !s.steps.is_empty() {
        out.push_str("<details>\n<summary>Steps</summary>\n<ol>\n");
        for st in &s.steps {
            let _ = writeln!(
                out,
                "<li><code>{}</code>: {}</li>",
                esc(&st.name),
                esc(&st.summary)
            );
        }
        out.push_str("</ol>\n</details>\n");
    }
    if !exchange_shown.is_empty() {
        let _ = writeln!(
            out,
            "<details>\n<summary>{}</summary>\n<pre>{}</pre>\n</details>",
            if exchange_shown.len() == 1 {
                "Exchange (redacted)"
            } else {
                "Exchanges (redacted, one per distinct answer)"
            },
            esc(&super::render_exchanges(&exchange_shown))
        );
    }
    out.push_str("</details>\n");
}

fn skipped(out: &mut String, scenarios: &[&ScenarioResult]) {
    let mut by_reason: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for s in scenarios {
        if let Outcome::Skipped { why } = &s.outcome {
            by_reason.entry(why).or_default().push(&s.id);
        }
    }
    if by_reason.is_empty() {
        return;
    }
    let n: usize = by_reason.values().map(Vec::len).sum();
    let _ = writeln!(
        out,
        "<h2>Skipped ({n})</h2>\n<details>\n<summary>{} reasons</summary>\n<ul>",
        by_reason.len()
    );
    for (why, ids) in by_reason {
        let ids: Vec<String> = ids
            .iter()
            .map(|i| format!("<code>{}</code>", esc(i)))
            .collect();
        let _ = writeln!(out, "<li>{}: {}</li>", esc(why), ids.join(", "));
    }
    out.push_str("</ul>\n</details>\n");
}

fn passed(out: &mut String, scenarios: &[&ScenarioResult]) {
    let passed: Vec<&&ScenarioResult> = scenarios
        .iter()
        .filter(|s| s.known.is_none() && s.outcome.kind() == OutcomeKind::Passed)
        .collect();
    if passed.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<h2>Passed ({})</h2>\n<details>\n<summary>the checks that held</summary>\n<ul>",
        passed.len()
    );
    for s in passed {
        let note = match &s.outcome {
            Outcome::Passed { note: Some(n) } if !n.is_empty() => format!(" — {}", esc(n)),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "<li><code>{}</code> ({}) {}{note}</li>",
            esc(&s.id),
            s.level.as_str(),
            esc(&s.title)
        );
    }
    out.push_str("</ul>\n</details>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn the_page_is_self_contained_and_escapes_what_it_shows() {
        let html = render(&fixture::run());
        // No external asset of any kind.
        for needle in ["src=", "href=", "@import", "url(", "<script"] {
            assert!(!html.contains(needle), "{needle} in the page");
        }
        // The fixture's values with markup characters arrive escaped.
        assert!(html.contains("see &lt;docs&gt;"), "escaping");
        assert!(!html.contains("<docs>"));
        // Findings first, then blocked, then the collapsed skips.
        let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("{s} missing"));
        assert!(at("<h2>Findings (5)</h2>") < at("<h2>Blocked (1)</h2>"));
        assert!(at("<h2>Blocked (1)</h2>") < at("<h2>Skipped (1)</h2>"));
        assert!(html.contains("ROT-OLD") || html.contains("OLD-REFUSED"));
        assert!(html.contains("<summary>Exchange (redacted)</summary>"));
        assert!(html.contains("rt#93a89b"), "fingerprints, not tokens");
        well_formed(&html);
    }

    /// Every element but the void ones is closed, in order.
    fn well_formed(html: &str) {
        let tag = regex::Regex::new(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*>").unwrap();
        let void = ["meta", "br", "hr", "img", "input", "link"];
        let mut stack: Vec<String> = Vec::new();
        for c in tag.captures_iter(html) {
            let name = c[2].to_ascii_lowercase();
            if void.contains(&name.as_str()) {
                continue;
            }
            if &c[1] == "/" {
                let open = stack.pop();
                assert_eq!(
                    open.as_deref(),
                    Some(name.as_str()),
                    "</{name}> closes {open:?}"
                );
            } else {
                stack.push(name);
            }
        }
        assert!(stack.is_empty(), "left open: {stack:?}");
    }
}
