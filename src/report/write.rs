//! Putting reports on disk: the only I/O in `report`.
//!
//! Each report is rendered in memory, written to a temporary file in the
//! folder of its destination and renamed over it, so a CI job that reads
//! `junit.xml` sees either the previous report or the whole new one, never
//! half of one.

use super::ReportOutput;
use crate::check::result::RunResult;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A report that could not be written; every variant names the report's path.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write report {}: cannot create its folder {}: {source}", path.display(), dir.display())]
    CreateDir {
        path: PathBuf,
        dir: PathBuf,
        source: io::Error,
    },
    #[error("cannot write report {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot write report {}: cannot move the new file into place: {source}", path.display())]
    Replace { path: PathBuf, source: io::Error },
}

impl ReportError {
    /// The report that was not written.
    pub fn path(&self) -> &Path {
        match self {
            ReportError::CreateDir { path, .. }
            | ReportError::Write { path, .. }
            | ReportError::Replace { path, .. } => path,
        }
    }
}

/// Writes each report in `outputs`, creating missing folders, and returns the
/// paths written, in order. Stops at the first report that cannot be
/// written; the ones before it are in place.
pub fn write_all(run: &RunResult, outputs: &[ReportOutput]) -> Result<Vec<PathBuf>, ReportError> {
    let mut written = Vec::with_capacity(outputs.len());
    for output in outputs {
        write_atomically(&output.path, output.format.render(run).as_bytes())?;
        written.push(output.path.clone());
    }
    Ok(written)
}

/// Writes `contents` to a temporary file beside `path`, then renames it over
/// `path`: a reader sees the old file or the new one, never half of one.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), ReportError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).map_err(|source| ReportError::CreateDir {
        path: path.to_owned(),
        dir: dir.to_owned(),
        source,
    })?;
    let tmp = dir.join(temp_name(path));
    let written = fs::File::create_new(&tmp).and_then(|mut f| {
        f.write_all(contents)?;
        f.sync_all()
    });
    if let Err(source) = written {
        let _ = fs::remove_file(&tmp);
        return Err(ReportError::Write {
            path: path.to_owned(),
            source,
        });
    }
    fs::rename(&tmp, path).map_err(|source| {
        let _ = fs::remove_file(&tmp);
        ReportError::Replace {
            path: path.to_owned(),
            source,
        }
    })
}

/// `.junit.xml.<pid>-<n>.tmp`: hidden, and unique among concurrent writers.
fn temp_name(path: &Path) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".to_owned());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!(".{name}.{}-{n}.tmp", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::super::{ReportFormat, default_outputs, fixture};
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_every_report_creating_folders_and_leaving_no_temp_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("reports/latest");
        let run = fixture::run();
        let outputs = default_outputs(&dir);
        let written = write_all(&run, &outputs).unwrap();
        assert_eq!(
            written,
            outputs.iter().map(|o| o.path.clone()).collect::<Vec<_>>()
        );
        assert_eq!(
            entries(&dir),
            ["junit.xml", "report.html", "report.json", "summary.md"]
        );
        for o in &outputs {
            assert_eq!(fs::read_to_string(&o.path).unwrap(), o.format.render(&run));
        }
    }

    #[test]
    fn replaces_a_longer_previous_report_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("report.json");
        fs::write(&path, "x".repeat(1 << 20)).unwrap();
        let run = fixture::run();
        let out = ReportOutput {
            format: ReportFormat::Json,
            path: path.clone(),
        };
        write_all(&run, &[out]).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            super::super::json::render(&run)
        );
        assert_eq!(entries(tmp.path()), ["report.json"]);
    }

    #[test]
    fn a_path_under_a_regular_file_is_an_error_naming_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("plain-file");
        fs::write(&file, "not a folder").unwrap();
        let path = file.join("sub/junit.xml");
        let out = ReportOutput {
            format: ReportFormat::Junit,
            path: path.clone(),
        };
        let err = write_all(&fixture::run(), &[out]).unwrap_err();
        assert!(matches!(err, ReportError::CreateDir { .. }), "{err:?}");
        assert_eq!(err.path(), path);
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("cannot write report {}", path.display())),
            "{msg}"
        );
        assert_eq!(fs::read_to_string(&file).unwrap(), "not a folder");
    }

    #[test]
    fn a_failed_replace_keeps_what_was_there_and_cleans_up() {
        // A folder where the report should go: the rename cannot replace it.
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("summary.md");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep"), "kept").unwrap();
        let out = ReportOutput {
            format: ReportFormat::Markdown,
            path: path.clone(),
        };
        let err = write_all(&fixture::run(), &[out]).unwrap_err();
        assert!(matches!(err, ReportError::Replace { .. }), "{err:?}");
        assert_eq!(err.path(), path);
        assert_eq!(fs::read_to_string(path.join("keep")).unwrap(), "kept");
        assert_eq!(entries(tmp.path()), ["summary.md"], "temp file left behind");
    }

    #[test]
    fn stops_at_the_first_failure_after_writing_the_earlier_reports() {
        let tmp = tempfile::tempdir().unwrap();
        let blocker = tmp.path().join("blocker");
        fs::write(&blocker, "").unwrap();
        let good = tmp.path().join("ok/junit.xml");
        let outputs = [
            ReportOutput {
                format: ReportFormat::Junit,
                path: good.clone(),
            },
            ReportOutput {
                format: ReportFormat::Json,
                path: blocker.join("report.json"),
            },
        ];
        let err = write_all(&fixture::run(), &outputs).unwrap_err();
        assert_eq!(err.path(), blocker.join("report.json"));
        assert!(good.is_file());
    }
}
