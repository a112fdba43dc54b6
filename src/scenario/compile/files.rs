//! Finding scenario files and loading them, every problem gathered.

use super::*;

/// Collects the scenario files under `paths` (files or folders, recursively,
/// `*.yaml` / `*.yml`, sorted). A folder named `load` holds load profiles and
/// is skipped.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Diagnostics> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut files, &mut errors);
        } else if p.is_file() {
            files.push(p.clone());
        } else {
            errors.push(Diagnostic::file(p, "no such file or folder"));
        }
    }
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<Diagnostic>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(Diagnostic::file(dir, format!("cannot read folder: {e}")));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if path.file_name().is_some_and(|n| n == "load") {
                continue;
            }
            walk(&path, files, errors);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml")
            && path.file_name().is_none_or(|n| n != "catalogue.yaml")
        {
            files.push(path);
        }
    }
}

/// Loads and checks every scenario under `paths`; all problems are reported
/// together.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Scenario>, Diagnostics> {
    let files = discover(paths)?;
    let mut scenarios: Vec<Scenario> = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match Source::read(&file) {
            Ok(source) => match load_source(&source) {
                Ok(s) => scenarios.push(s),
                Err(all) => errors.extend(all),
            },
            Err(d) => errors.push(d),
        }
    }
    check_unique(&scenarios, &mut errors);
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    scenarios.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(scenarios)
}

/// Two scenarios with one id are an error, naming both places.
pub fn check_unique(scenarios: &[Scenario], errors: &mut Vec<Diagnostic>) {
    let mut seen: std::collections::HashMap<String, (PathBuf, usize)> = Default::default();
    for s in scenarios {
        if let Some((file, line)) = seen.get(&s.id) {
            errors.push(
                Diagnostic::file(&s.file, format!("duplicate scenario id `{}`", s.id))
                    .with_help(format!("also used at {}:{line}", file.display())),
            );
            if let Some(last) = errors.last_mut() {
                last.line = Some(s.line);
            }
        } else {
            seen.insert(s.id.clone(), (s.file.clone(), s.line));
        }
    }
}

/// Parses and checks one scenario file. Returns every problem found in it
/// (the first is the most important).
pub fn load_source(source: &Source) -> Result<Scenario, Vec<Diagnostic>> {
    // Every problem at once: the file's own (keys, types, values), then
    // what the compiler finds in what could be read.
    let (file, mut errors) = crate::yaml::parse_all::<ScenarioFile>(source);
    let Some(file) = file else {
        return Err(errors);
    };
    let compiled = Compiler {
        source,
        covers: file.covers.clone(),
        errors: Vec::new(),
        names: Vec::new(),
        needs: Needs::default(),
    }
    .compile(file);
    match compiled {
        Ok(s) if errors.is_empty() => Ok(s),
        Ok(_) => Err(errors),
        Err(more) => {
            errors.extend(more);
            Err(errors)
        }
    }
}
