//! Reports of a conformance run: pure functions of [`RunResult`] (already
//! redacted), and one writer that puts them on disk atomically.

use crate::check::result::{Outcome, RunResult, ScenarioResult};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Junit,
    Json,
    Markdown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportOutput {
    pub format: ReportFormat,
    pub path: PathBuf,
}

impl std::str::FromStr for ReportOutput {
    type Err = String;
    /// `junit=PATH`, `json=PATH`, `markdown=PATH`.
    fn from_str(s: &str) -> Result<ReportOutput, String> {
        let (f, p) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}`: write FORMAT=PATH (formats: junit, json, markdown)"))?;
        let format = match f {
            "junit" => ReportFormat::Junit,
            "json" => ReportFormat::Json,
            "markdown" | "md" => ReportFormat::Markdown,
            other => {
                return Err(format!(
                    "unknown report format `{other}` (formats: junit, json, markdown)"
                ));
            }
        };
        if p.is_empty() {
            return Err(format!("`{s}`: the path is empty"));
        }
        Ok(ReportOutput {
            format,
            path: PathBuf::from(p),
        })
    }
}

pub fn default_outputs(dir: &Path) -> Vec<ReportOutput> {
    vec![
        ReportOutput {
            format: ReportFormat::Junit,
            path: dir.join("junit.xml"),
        },
        ReportOutput {
            format: ReportFormat::Json,
            path: dir.join("report.json"),
        },
        ReportOutput {
            format: ReportFormat::Markdown,
            path: dir.join("summary.md"),
        },
    ]
}

#[derive(Debug, thiserror::Error)]
#[error("cannot write report {path}: {source}")]
pub struct ReportError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

pub fn render(run: &RunResult, format: ReportFormat) -> String {
    match format {
        ReportFormat::Junit => junit(run),
        ReportFormat::Json => json(run),
        ReportFormat::Markdown => markdown(run),
    }
}

/// Writes each report through a temporary file in the same folder and a
/// rename, so that a reader never sees half a report.
pub fn write_all(run: &RunResult, outputs: &[ReportOutput]) -> Result<Vec<PathBuf>, ReportError> {
    let mut written = Vec::new();
    for o in outputs {
        let err = |source| ReportError {
            path: o.path.clone(),
            source,
        };
        let dir = o
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(err)?;
        let tmp = dir.join(format!(
            ".{}.tmp",
            o.path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("report")
        ));
        std::fs::write(&tmp, render(run, o.format)).map_err(err)?;
        std::fs::rename(&tmp, &o.path).map_err(err)?;
        written.push(o.path.clone());
    }
    Ok(written)
}

/// The JSON report, version 1: the run result with a summary.
pub fn json(run: &RunResult) -> String {
    let c = run.counts();
    let scenarios: Vec<serde_json::Value> = run
        .scenarios
        .iter()
        .map(|s| {
            let mut v = serde_json::to_value(s).unwrap_or_default();
            v["message"] = serde_json::Value::String(s.outcome.message());
            v
        })
        .collect();
    let doc = serde_json::json!({
        "schema_version": 1,
        "tool": {"name": "tokenprobe", "version": env!("CARGO_PKG_VERSION")},
        "target": run.target,
        "started_at": run.started_at,
        "duration_ms": run.duration.as_millis() as u64,
        "strict": run.strict,
        "summary": {
            "passed": c.passed, "failed": c.failed, "warned": c.warned,
            "skipped": c.skipped, "errored": c.errored, "total": c.total(),
            "exit_code": run.exit_code(),
        },
        "scenarios": scenarios,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

fn exchange_text(s: &ScenarioResult) -> String {
    match &s.outcome {
        Outcome::Failed(f) | Outcome::Warned(f) => f
            .exchange
            .as_ref()
            .map(|e| serde_json::to_string_pretty(e).unwrap_or_default())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// JUnit XML: one testcase per scenario; failures and errors kept apart.
pub fn junit(run: &RunResult) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("tokenprobe");
    let mut suite = TestSuite::new("conformance");
    for s in &run.scenarios {
        let status = match &s.outcome {
            Outcome::Passed { .. } | Outcome::Warned(_) => TestCaseStatus::success(),
            Outcome::Failed(_) => {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                st.set_message(s.outcome.message());
                st.set_type(s.level.as_str());
                st.set_description(exchange_text(s));
                st
            }
            Outcome::Errored { class, .. } => {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
                st.set_message(s.outcome.message());
                st.set_type(class.as_str());
                st
            }
            Outcome::Skipped { why } => {
                let mut st = TestCaseStatus::skipped();
                st.set_message(why.as_str());
                st
            }
        };
        let mut case = TestCase::new(s.id.as_str(), status);
        case.set_classname(format!("tokenprobe.{}", s.level.as_str()));
        case.set_time(s.duration);
        if let Outcome::Warned(_) = &s.outcome {
            case.set_system_out(format!("WARNING (SHOULD): {}", s.outcome.message()));
        }
        suite.add_test_case(case);
    }
    report.add_test_suite(suite);
    report.to_string().unwrap_or_default()
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// A Markdown summary for CI job pages.
pub fn markdown(run: &RunResult) -> String {
    let c = run.counts();
    let verdict = if run.exit_code() == 0 {
        "✅ passed"
    } else {
        "❌ failed"
    };
    let mut out = format!(
        "# tokenprobe: {}\n\n**{verdict}** — {} passed, {} failed, {} warned, {} skipped, {} errored ({} scenarios, {:.1}s)\n\nTarget: `{}` ({})\n\n",
        md_cell(&run.target.name),
        c.passed,
        c.failed,
        c.warned,
        c.skipped,
        c.errored,
        c.total(),
        run.duration.as_secs_f64(),
        md_cell(&run.target.token_endpoint),
        md_cell(&run.target.source)
    );
    let others: Vec<&ScenarioResult> = run
        .scenarios
        .iter()
        .filter(|s| !matches!(s.outcome, Outcome::Passed { .. }))
        .collect();
    if !others.is_empty() {
        out.push_str("| scenario | level | outcome | message |\n|---|---|---|---|\n");
        for s in &others {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                s.id,
                s.level.as_str(),
                s.outcome.kind().as_str(),
                md_cell(&s.outcome.message())
            ));
        }
        out.push('\n');
    }
    for s in run
        .scenarios
        .iter()
        .filter(|s| matches!(s.outcome, Outcome::Failed(_) | Outcome::Warned(_)))
    {
        out.push_str(&format!(
            "<details><summary><code>{}</code>: {}</summary>\n\n```json\n{}\n```\n\n</details>\n\n",
            s.id,
            md_cell(&s.title),
            exchange_text(s)
        ));
    }
    let passed: Vec<String> = run
        .scenarios
        .iter()
        .filter(|s| matches!(s.outcome, Outcome::Passed { .. }))
        .map(|s| format!("`{}`", s.id))
        .collect();
    if !passed.is_empty() {
        out.push_str(&format!("Passed: {}\n", passed.join(", ")));
    }
    out
}
