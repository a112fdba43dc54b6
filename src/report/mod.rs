//! Reports of a conformance run.
//!
//! Every renderer here is a pure function of one [`RunResult`]: it formats,
//! it never re-runs, fetches or reads anything. The run result is redacted
//! before it gets here (tokens only as fingerprints such as `rt#3f9a1c`), and
//! the renderers add nothing but the tool's own name and version, so a report
//! cannot carry a secret the result does not.
//!
//! - [`json`]: the versioned machine-readable report, with its JSON Schema
//!   (checked in as `schemas/report.schema.json`);
//! - [`junit`]: JUnit XML for CI test views, failures and errors kept apart;
//! - [`markdown`]: a job summary for CI pages (`$GITHUB_STEP_SUMMARY`);
//! - [`terminal`]: the lines `tokenprobe check` prints while it runs.
//!
//! [`write_all`] is the one function here that touches the disk: it writes
//! the file reports, each through a temporary file and a rename.
//!
//! May use: `check`, `load`, `oauth`, `catalogue`, `verdict`, `secret`, `error`, `exit`, `interrupt`, `markup`.

pub mod har;
pub mod html;
pub mod json;
pub mod junit;
pub mod load;
pub mod markdown;
pub mod terminal;

mod exchange;
mod write;

#[cfg(test)]
mod fixture;

pub use write::{ReportError, write_all, write_atomically};

use crate::check::result::{Finding, RunResult, ScenarioResult};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The clause behind each catalogue id a scenario covers, in one line:
/// `ROT-OLD · MUST when rotating · after the grace period, …`.
pub fn clauses(s: &ScenarioResult) -> Vec<String> {
    // A finding names the ids its expectation judges, not every id the
    // scenario covers (the others held, or were not tried).
    let judged = match &s.outcome {
        crate::check::result::Outcome::Failed(f) | crate::check::result::Outcome::Warned(f)
            if !f.judges.is_empty() =>
        {
            &f.judges
        }
        _ => &s.covers,
    };
    judged
        .iter()
        .map(|id| match crate::catalogue::get(id) {
            Some(e) => format!("{id} · {} · {}", e.level, e.text),
            None => id.clone(),
        })
        .collect()
}

/// What a finding says beyond its first mismatch: the other expectations
/// that did not hold, and the other places the same defect was seen.
pub fn more_lines(f: &Finding) -> Vec<String> {
    let mut out: Vec<String> = f
        .also
        .iter()
        .map(|o| {
            format!(
                "also ({}): step `{}`: {}: expected {}, got {}",
                o.level.as_str(),
                o.step,
                o.subject,
                o.expected,
                o.actual
            )
        })
        .collect();
    out.extend(f.seen_in.iter().map(|p| format!("seen in: {p}")));
    out
}

/// A report written to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportFormat {
    Junit,
    Json,
    Markdown,
    Html,
    /// HTTP Archive 1.2: every exchange, for a browser's network panel.
    Har,
}

impl ReportFormat {
    /// Every format, in the order the CLI documents them.
    pub const ALL: [ReportFormat; 5] = [
        ReportFormat::Junit,
        ReportFormat::Json,
        ReportFormat::Markdown,
        ReportFormat::Html,
        ReportFormat::Har,
    ];

    /// The name used on the command line (`--report junit=PATH`).
    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Junit => "junit",
            ReportFormat::Json => "json",
            ReportFormat::Markdown => "markdown",
            ReportFormat::Html => "html",
            ReportFormat::Har => "har",
        }
    }

    /// Renders `run` in this format.
    pub fn render(self, run: &RunResult) -> String {
        match self {
            ReportFormat::Junit => junit::render(run),
            ReportFormat::Json => json::render(run),
            ReportFormat::Markdown => markdown::render(run),
            ReportFormat::Html => html::render(run),
            ReportFormat::Har => har::render(run),
        }
    }
}

impl fmt::Display for ReportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Renders `run` in `format` (the same as [`ReportFormat::render`]).
pub fn render(run: &RunResult, format: ReportFormat) -> String {
    format.render(run)
}

/// A bad `--report` argument; the message lists the formats.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseReportError {
    #[error("unknown report format `{0}` (formats: {formats})", formats = format_list())]
    UnknownFormat(String),
    #[error("`{0}`: write FORMAT=PATH, e.g. junit=reports/junit.xml (formats: {formats})", formats = format_list())]
    MissingPath(String),
}

fn format_list() -> String {
    ReportFormat::ALL.map(ReportFormat::as_str).join(", ")
}

impl FromStr for ReportFormat {
    type Err = ParseReportError;

    /// `junit`, `json`, `markdown` (or `md`), in any case.
    fn from_str(s: &str) -> Result<ReportFormat, ParseReportError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "junit" => Ok(ReportFormat::Junit),
            "json" => Ok(ReportFormat::Json),
            "markdown" | "md" => Ok(ReportFormat::Markdown),
            "html" => Ok(ReportFormat::Html),
            "har" => Ok(ReportFormat::Har),
            _ => Err(ParseReportError::UnknownFormat(s.to_owned())),
        }
    }
}

/// Where one report goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportOutput {
    pub format: ReportFormat,
    pub path: PathBuf,
}

impl FromStr for ReportOutput {
    type Err = ParseReportError;

    /// The CLI syntax `FORMAT=PATH`, e.g. `junit=reports/junit.xml`. The path
    /// is everything after the first `=`, so it may itself contain `=`.
    fn from_str(s: &str) -> Result<ReportOutput, ParseReportError> {
        let (format, path) = s
            .split_once('=')
            .ok_or_else(|| ParseReportError::MissingPath(s.to_owned()))?;
        let format = format.parse()?;
        if path.is_empty() {
            return Err(ParseReportError::MissingPath(s.to_owned()));
        }
        Ok(ReportOutput {
            format,
            path: PathBuf::from(path),
        })
    }
}

/// The reports written when the command line names none: `dir/junit.xml`,
/// `dir/report.json` and `dir/summary.md`.
pub fn default_outputs(dir: &Path) -> Vec<ReportOutput> {
    [
        (ReportFormat::Junit, "junit.xml"),
        (ReportFormat::Json, "report.json"),
        (ReportFormat::Markdown, "summary.md"),
        (ReportFormat::Html, "report.html"),
    ]
    .into_iter()
    .map(|(format, name)| ReportOutput {
        format,
        path: dir.join(name),
    })
    .collect()
}

/// `rotation/old-refused` → `rotation`; an id without a folder → `None`.
pub(crate) fn folder_of(id: &str) -> Option<&str> {
    id.split_once('/').map(|(folder, _)| folder)
}

/// `s` on one line: each line break becomes ` ⏎ `, so that a folded value
/// still shows where its lines were.
pub(crate) fn single_line(s: &str) -> String {
    s.trim().replace("\r\n", "\n").replace(['\n', '\r'], " ⏎ ")
}

/// `label: value` lines, values aligned, their further lines too.
pub(crate) fn labelled(rows: &[(&str, &str)]) -> String {
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0) + 2;
    let mut lines = Vec::new();
    for (label, value) in rows {
        let mut value_lines = value.lines();
        let head = format!("{label}:");
        let first = format!("{head:<width$}{}", value_lines.next().unwrap_or(""));
        lines.push(first.trim_end().to_owned());
        lines.extend(value_lines.map(|l| format!("{:width$}{l}", "")));
    }
    lines.join("\n")
}

/// The verdict of a run in words, shared by the terminal and Markdown.
pub(crate) struct Verdict {
    pub passed: bool,
    pub exit_code: i32,
    /// Why the run passed or failed, e.g. `2 failed, 1 errored`.
    pub why: String,
}

pub(crate) fn verdict(run: &RunResult) -> Verdict {
    let c = run.counts();
    let exit_code = run.exit_code();
    let passed = exit_code == crate::exit::OK;
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let why = if let Some(signal) = run.interrupted {
        format!(
            "interrupted by {}: {} ran to the end, {} not (skipped, saying so)",
            crate::interrupt::name(signal),
            plural(c.total() - interrupted_count(run), "scenario", "scenarios"),
            interrupted_count(run)
        )
    } else if let Some(why) = &run.preflight_error {
        format!("no check ran: {why}")
    } else if passed
        && run.fail_on_new
        && let Some(cmp) = &run.comparison
    {
        format!(
            "no new findings since {} ({} unchanged, {} fixed, {} known; --fail-on new)",
            cmp.previous,
            cmp.unchanged.len(),
            cmp.fixed.len(),
            cmp.known.len()
        )
    } else if !passed
        && run.fail_on_new
        && let Some(cmp) = &run.comparison
        && !cmp.new.is_empty()
    {
        format!(
            "{} since {} (--fail-on new): {}",
            plural(cmp.new.len(), "new finding", "new findings"),
            cmp.previous,
            cmp.new.join(", ")
        )
    } else if passed {
        match (c.warned, c.passed) {
            (0, _) if c.known > 0 => format!(
                "every check that ran passed but {} (expected)",
                plural(c.known, "known failure", "known failures")
            ),
            (0, 0) => "no check ran to completion".to_owned(),
            (0, _) => "every check that ran passed".to_owned(),
            (w, _) => format!(
                "passed with {}; --strict would fail",
                plural(w, "SHOULD warning", "SHOULD warnings")
            ),
        }
    } else {
        let mut reasons = Vec::new();
        if c.failed > 0 {
            reasons.push(format!("{} failed", plural(c.failed, "check", "checks")));
        }
        if c.errored > 0 {
            reasons.push(format!("{} errored", plural(c.errored, "check", "checks")));
        }
        if c.blocked > 0 {
            reasons.push(format!(
                "{} blocked by a refused setup step",
                plural(c.blocked, "check", "checks")
            ));
        }
        if c.same_cause > 0 {
            reasons.push(format!(
                "{} the same cause as a finding (counted once)",
                plural(c.same_cause, "check with", "checks with")
            ));
        }
        if !run.expectation_problems.is_empty() {
            reasons.push(format!(
                "{} in the expected-failures file",
                plural(
                    run.expectation_problems.len(),
                    "stale or expired entry",
                    "stale or expired entries"
                )
            ));
        }
        if run.strict && c.warned > 0 {
            reasons.push(format!(
                "{} under --strict",
                plural(c.warned, "SHOULD warning", "SHOULD warnings")
            ));
        }
        reasons.join(", ")
    };
    Verdict {
        passed,
        exit_code,
        why,
    }
}

/// Scenarios a signal stopped or kept from starting.
fn interrupted_count(run: &RunResult) -> usize {
    run.scenarios
        .iter()
        .filter(|s| matches!(&s.outcome, crate::check::result::Outcome::Skipped { why } if why.starts_with("interrupted by")))
        .count()
}

/// `0ms`, `123ms`, `11.73s`, `2m03s`: short, and exact enough for people.
pub(crate) fn human_duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms < 1_000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.2}s", d.as_secs_f64())
    } else {
        let s = d.as_secs();
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// Several exchanges rendered one after another (a race's distinct
/// answers), each headed by its place in the set.
pub fn render_exchanges(all: &[&crate::check::result::Exchange]) -> String {
    match all {
        [one] => exchange::render(one),
        many => many
            .iter()
            .enumerate()
            .map(|(i, e)| {
                format!(
                    "# distinct answer {} of {} shown\n{}",
                    i + 1,
                    many.len(),
                    exchange::render(e)
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_format_equals_path() {
        let o: ReportOutput = "junit=out/a=b.xml".parse().unwrap();
        assert_eq!(o.format, ReportFormat::Junit);
        assert_eq!(o.path, PathBuf::from("out/a=b.xml"));
        let o: ReportOutput = "MD=summary.md".parse().unwrap();
        assert_eq!(o.format, ReportFormat::Markdown);
        for f in ReportFormat::ALL {
            assert_eq!(f.as_str().parse::<ReportFormat>().unwrap(), f);
        }
    }

    #[test]
    fn bad_report_arguments_list_the_formats() {
        let e = "pdf=r.pdf".parse::<ReportOutput>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown report format `pdf` (formats: junit, json, markdown, html, har)"
        );
        let e = "junit".parse::<ReportOutput>().unwrap_err();
        assert!(e.to_string().contains("write FORMAT=PATH"), "{e}");
        assert!(e.to_string().contains("junit, json, markdown"), "{e}");
        let e = "json=".parse::<ReportOutput>().unwrap_err();
        assert_eq!(e, ParseReportError::MissingPath("json=".into()));
    }

    #[test]
    fn durations_read_short() {
        use std::time::Duration;
        let cases = [
            (0, "0ms"),
            (999, "999ms"),
            (11_734, "11.73s"),
            (123_456, "2m03s"),
        ];
        for (ms, want) in cases {
            assert_eq!(human_duration(Duration::from_millis(ms)), want);
        }
    }

    #[test]
    fn labelled_values_align_with_their_further_lines() {
        assert_eq!(
            labelled(&[("expected", "400"), ("actual", "a\nb"), ("why", "")]),
            "expected: 400\nactual:   a\n          b\nwhy:"
        );
    }

    #[test]
    fn the_verdict_says_why() {
        let run = fixture::run();
        let v = verdict(&run);
        assert!(!v.passed);
        assert_eq!(v.exit_code, 1);
        assert_eq!(
            v.why,
            "2 checks failed, 2 checks errored, 1 check blocked by a refused setup step"
        );
        let mut run = fixture::passing_run();
        let v = verdict(&run);
        assert!(v.passed);
        assert_eq!(v.why, "passed with 1 SHOULD warning; --strict would fail");
        run.strict = true;
        let v = verdict(&run);
        assert!(!v.passed);
        assert_eq!(v.why, "1 SHOULD warning under --strict");
    }

    #[test]
    fn default_outputs_name_the_four_files() {
        let outs = default_outputs(Path::new("reports/latest"));
        let pairs: Vec<(ReportFormat, &Path)> =
            outs.iter().map(|o| (o.format, o.path.as_path())).collect();
        assert_eq!(
            pairs,
            [
                (ReportFormat::Junit, Path::new("reports/latest/junit.xml")),
                (ReportFormat::Json, Path::new("reports/latest/report.json")),
                (
                    ReportFormat::Markdown,
                    Path::new("reports/latest/summary.md")
                ),
                (ReportFormat::Html, Path::new("reports/latest/report.html")),
            ]
        );
    }
}
