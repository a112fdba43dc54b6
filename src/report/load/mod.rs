//! Reports of a load run: renderers of one [`crate::load::result::LoadReport`]
//! (the JSON document is its serialization): the Markdown summary, the
//! HTML page with its SVG charts, the terminal summary, and the HAR of its
//! sampled failures; and
//! [`Output`], where `--report FORMAT=PATH` sends each.

pub mod har;
pub mod html;
pub mod markdown;
pub mod terminal;

use crate::error::BadValue;
use crate::load::result::LoadReport;
use std::path::{Path, PathBuf};

/// A load report's formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Markdown,
    Html,
    Har,
}

/// `--report FORMAT=PATH` of `load` and `report merge`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub format: Format,
    pub path: PathBuf,
}

impl std::str::FromStr for Output {
    type Err = BadValue;
    fn from_str(a: &str) -> Result<Output, BadValue> {
        let (f, p) = a
            .split_once('=')
            .filter(|(_, p)| !p.is_empty())
            .ok_or_else(|| BadValue::new(a, "write FORMAT=PATH (json, markdown, html, har)"))?;
        let format = match f {
            "json" => Format::Json,
            "markdown" | "md" => Format::Markdown,
            "html" => Format::Html,
            "har" => Format::Har,
            other => {
                return Err(BadValue::new(
                    a,
                    format!("unknown format `{other}` (json, markdown, html, har)"),
                ));
            }
        };
        Ok(Output {
            format,
            path: PathBuf::from(p),
        })
    }
}

impl Output {
    /// The reports asked for, else [`Output::defaults`] in `dir`.
    pub fn or_defaults(asked: &[Output], dir: &Path) -> Vec<Output> {
        match asked.is_empty() {
            true => Output::defaults(dir),
            false => asked.to_vec(),
        }
    }

    /// What is written when no `--report` is given: every format in `dir`.
    pub fn defaults(dir: &Path) -> Vec<Output> {
        [
            (Format::Json, "report.json"),
            (Format::Markdown, "summary.md"),
            (Format::Html, "report.html"),
        ]
        .into_iter()
        .map(|(format, name)| Output {
            format,
            path: dir.join(name),
        })
        .collect()
    }

    /// Writes `doc` in this output's format, whole or not at all.
    pub fn write(&self, doc: &LoadReport) -> Result<(), crate::error::Error> {
        let body = match self.format {
            Format::Json => serde_json::to_string_pretty(doc).unwrap_or_default() + "\n",
            Format::Markdown => markdown::page(doc),
            Format::Html => html::page(doc),
            Format::Har => har::render(doc),
        };
        crate::report::write_atomically(&self.path, body.as_bytes())
            .map_err(|e| crate::error::Error::Internal(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_arguments_parse_or_list_the_formats() {
        let o: Output = "md=out/s.md".parse().unwrap();
        assert_eq!(
            (o.format, o.path),
            (Format::Markdown, PathBuf::from("out/s.md"))
        );
        assert!(
            "pdf=x"
                .parse::<Output>()
                .unwrap_err()
                .contains("json, markdown, html, har")
        );
        assert!(
            "json="
                .parse::<Output>()
                .unwrap_err()
                .contains("FORMAT=PATH")
        );
        assert_eq!(Output::defaults(Path::new("r")).len(), 3);
    }
}
