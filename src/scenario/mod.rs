//! Scenarios: the file format (`model`, `values`), templates, and loading +
//! validation into the checked form the runner executes (`compile`); the
//! built-in suite, compiled into the binary by `build.rs`. No network and no
//! HTTP client here.
//!
//! May use: `target`, `oauth`, `catalogue`, `verdict`, `wire`, `diag`, `yaml`.

pub mod catalogue_file;
pub mod compile;
pub mod model;
pub mod template;
pub mod values;

pub use compile::{Scenario, load};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

use crate::diag::{Diagnostic, Diagnostics};
use crate::yaml::Source;
use std::path::{Path, PathBuf};

/// The scenario files compiled into the binary (load profiles under
/// `scenarios/load/` are not scenarios and are left out).
pub fn builtin_files() -> impl Iterator<Item = (&'static str, &'static str)> {
    embedded::EMBEDDED
        .iter()
        .copied()
        .filter(|(path, _)| !path.starts_with("scenarios/load/"))
}

/// The built-in load profiles: (name, path in the checkout, text).
pub fn builtin_load_profiles() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    embedded::EMBEDDED.iter().filter_map(|(path, text)| {
        let name = path.strip_prefix("scenarios/load/")?;
        let name = name
            .strip_suffix(".yaml")
            .or_else(|| name.strip_suffix(".yml"))?;
        Some((name, *path, *text))
    })
}

/// Every file of the built-in suite, load profiles included (for export).
pub fn builtin_all() -> &'static [(&'static str, &'static str)] {
    embedded::EMBEDDED
}

/// Where a run's scenarios came from, for the run header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuiteSource {
    /// The suite compiled into the binary.
    Builtin,
    /// The built-in suite and these folders or files.
    Extended(Vec<PathBuf>),
    /// Only these folders or files (the built-in suite replaced).
    Replaced(Vec<PathBuf>),
}

impl std::fmt::Display for SuiteSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |p: &[PathBuf]| {
            p.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            SuiteSource::Builtin => f.write_str("built-in suite"),
            SuiteSource::Extended(p) => write!(f, "built-in suite + {}", list(p)),
            SuiteSource::Replaced(p) => write!(f, "{} (instead of the built-in suite)", list(p)),
        }
    }
}

/// The suite of a run: `paths` replace the built-in scenarios, `extra`
/// extend them (or the paths). Every problem of every file is reported.
pub fn load_suite(
    paths: &[PathBuf],
    extra: &[PathBuf],
) -> Result<(Vec<Scenario>, SuiteSource), Diagnostics> {
    let (mut scenarios, mut errors, source) = if paths.is_empty() {
        let (s, e) = compile_builtin();
        let source = if extra.is_empty() {
            SuiteSource::Builtin
        } else {
            SuiteSource::Extended(extra.to_vec())
        };
        (s, e, source)
    } else {
        let mut all: Vec<PathBuf> = paths.to_vec();
        all.extend(extra.iter().cloned());
        match load(&all) {
            Ok(s) => return Ok((s, SuiteSource::Replaced(all))),
            Err(d) => return Err(d),
        }
    };
    if !extra.is_empty() {
        match load(extra) {
            Ok(s) => scenarios.extend(s),
            Err(d) => errors.extend(d.0),
        }
    }
    compile::check_unique(&scenarios, &mut errors);
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    scenarios.sort_by(|a, b| a.id.cmp(&b.id));
    Ok((scenarios, source))
}

fn compile_builtin() -> (Vec<Scenario>, Vec<Diagnostic>) {
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for (path, text) in builtin_files() {
        match Source::from_str(Path::new(path), text) {
            Ok(source) => match compile::load_source(&source) {
                Ok(s) => scenarios.push(s),
                Err(all) => errors.extend(all),
            },
            Err(d) => errors.push(d),
        }
    }
    (scenarios, errors)
}
