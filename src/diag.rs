//! Diagnostics about input files: `file:line:column`, the offending line with
//! a caret, and a hint ("did you mean …?"). One renderer, used by every loader
//! (scenarios, targets, load profiles).
//!
//! May use: nothing else of the crate.

use std::fmt;
use std::path::{Path, PathBuf};

/// An error in an input file, located as precisely as the loader could.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line and column; `None` when the error concerns the whole file.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    pub help: Option<String>,
    /// The text of the offending line, for the caret display.
    pub source_line: Option<String>,
}

impl Diagnostic {
    /// A diagnostic about the whole file.
    pub fn file(file: &Path, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.to_path_buf(),
            line: None,
            column: None,
            message: message.into(),
            help: None,
            source_line: None,
        }
    }

    /// A diagnostic at a position of `text` (the file's content).
    pub fn at(
        file: &Path,
        text: &str,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Diagnostic {
        let source_line = text
            .lines()
            .nth(line.saturating_sub(1))
            .map(|l| l.trim_end_matches('\r').to_string());
        Diagnostic {
            file: file.to_path_buf(),
            line: Some(line),
            column: Some(column.max(1)),
            message: message.into(),
            help: None,
            source_line,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// `file:line:column` (or just `file`).
    pub fn location(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}", self.file.display()),
            (Some(l), None) => format!("{}:{l}", self.file.display()),
            _ => self.file.display().to_string(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        write!(f, "  --> {}", self.location())?;
        if let (Some(line), Some(text)) = (self.line, &self.source_line) {
            // Long or binary lines are cut to a window around the column so
            // that a diagnostic stays readable.
            let column = self.column.unwrap_or(1);
            let skip = column.saturating_sub(80);
            let mut shown: String = text.chars().skip(skip).take(160).collect();
            let column = if skip > 0 {
                shown.insert(0, '…');
                column - skip + 1
            } else {
                column
            };
            let gutter = line.to_string().len();
            write!(f, "\n{:gutter$} |", "")?;
            write!(f, "\n{line} | {shown}")?;
            if column <= shown.chars().count() + 1 {
                write!(f, "\n{:gutter$} | {:>col$}", "", "^", col = column)?;
            }
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// The closest of `candidates` to `word`, if it is close enough to be a
/// plausible typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Several diagnostics, from one or many files, reported together.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_line_and_caret() {
        let text = "id: x\nsteps:\n  - grnt: password\n";
        let d = Diagnostic::at(Path::new("s.yaml"), text, 3, 5, "unknown field `grnt`")
            .with_help("did you mean `grant`?");
        let shown = d.to_string();
        assert_eq!(
            shown,
            "error: unknown field `grnt`\n  --> s.yaml:3:5\n  |\n3 |   - grnt: password\n  |     ^\n  = help: did you mean `grant`?"
        );
    }

    #[test]
    fn suggests_only_close_names() {
        assert_eq!(
            did_you_mean("grnt", ["grant", "wait", "name"]),
            Some("grant")
        );
        assert_eq!(did_you_mean("zzzz", ["grant", "wait"]), None);
    }
}
