//! The layers read top to bottom: each top-level module's doc says which
//! modules it may use (`//! May use: …`), its code uses no other, and the
//! declared graph has no circle. Client authentication is built in
//! `src/oauth/` only.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Top-level module of a file under `src/` (`check` for `src/check/exec.rs`).
fn module_of(file: &Path) -> String {
    let rel = file.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// `crate::NAME` mentions in code (comments left out).
fn uses(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// The modules a module's doc allows: `None` for "every module".
fn declared(module: &str) -> Option<BTreeSet<String>> {
    let dir = src().join(module).join("mod.rs");
    let path = if dir.exists() {
        dir
    } else {
        src().join(format!("{module}.rs"))
    };
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text
        .lines()
        .take_while(|l| l.starts_with("//!"))
        .find_map(|l| l.strip_prefix("//! May use: "))
        .unwrap_or_else(|| panic!("{}: no `//! May use:` line", path.display()));
    if line.starts_with("every module") {
        return None;
    }
    Some(
        line.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect(),
    )
}

#[test]
fn imports_agree_with_the_declared_layers() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut actual: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let m = module_of(f);
        if m == "lib" || m == "main" {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        let used = actual.entry(m.clone()).or_default();
        used.extend(uses(&text).into_iter().filter(|u| *u != m));
    }
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for (m, used) in &actual {
        match declared(m) {
            Some(allowed) => {
                for u in used.difference(&allowed) {
                    wrong.push(format!("{m} uses {u}, which its doc does not allow"));
                }
                graph.insert(m.clone(), allowed);
            }
            None => {
                graph.insert(m.clone(), used.clone());
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // No circle in what the docs allow.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if done.contains(m) {
            return;
        }
        assert!(
            !path.iter().any(|p| p == m),
            "circle: {} -> {m}",
            path.join(" -> ")
        );
        path.push(m.to_string());
        for next in graph.get(m).into_iter().flatten() {
            visit(next, graph, path, done);
        }
        path.pop();
        done.insert(m.to_string());
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        visit(m, &graph, &mut Vec::new(), &mut done);
    }
}

#[test]
fn only_the_request_layer_builds_client_authentication() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let oauth = src().join("oauth");
    // The mock is the server: it signs its own id_tokens and its unit tests
    // forge assertions to attack it; it shares nothing but `wire` with us.
    let mock = src().join("mock");
    // DPoP proofs (RFC 9449) are signed by ephemeral keys that the client
    // and the mock share: proof of possession, not client authentication.
    let dpop = src().join("dpop.rs");
    let mut offenders = Vec::new();
    for f in files
        .iter()
        .filter(|f| !f.starts_with(&oauth) && !f.starts_with(&mock) && **f != dpop)
    {
        let text = std::fs::read_to_string(f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let builds = line.contains("client_basic(")
                || line.contains("basic_raw(")
                || line.contains("client_assertion(")
                || line.contains("EncodingKey::")
                || (line.contains("\"Authorization\"") && line.contains("push"));
            if builds {
                offenders.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

/// The modules a file of directory `dir` uses: `super::NAME` (a file of the
/// same directory) and `crate::DIR::NAME`, comments and the test modules'
/// `use super::*` left out. Names may hold digits (`h1`).
fn sibling_uses(text: &str, own: &str, crate_path: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        for prefix in ["super::".to_string(), format!("crate::{crate_path}::")] {
            for (at, _) in code.match_indices(&prefix) {
                // `super::super::x` is another directory's.
                if prefix == "super::" && code[..at].ends_with("super::") {
                    continue;
                }
                let rest = &code[at + prefix.len()..];
                let m: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if !m.is_empty() && m != "super" && m != own {
                    used.insert(m);
                }
            }
        }
    }
    used
}

/// A circle in `graph`, as the path around it, if there is one.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn back(
        graph: &BTreeMap<String, BTreeSet<String>>,
        from: &str,
        to: &str,
        seen: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> bool {
        for next in graph.get(from).into_iter().flatten() {
            path.push(next.clone());
            if next == to || (seen.insert(next.clone()) && back(graph, next, to, seen, path)) {
                return true;
            }
            path.pop();
        }
        false
    }
    graph.keys().find_map(|start| {
        let mut path = vec![start.clone()];
        back(graph, start, start, &mut BTreeSet::new(), &mut path).then_some(path)
    })
}

/// The file graph of one directory of `src/`.
fn directory_graph(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let crate_path = dir
        .strip_prefix(src())
        .unwrap()
        .to_string_lossy()
        .replace('/', "::");
    let mut graph = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.extension().is_none_or(|e| e != "rs") || name == "mod" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // The test modules at the end of a file are not its imports.
        let code = text.split("#[cfg(test)]").next().unwrap_or(&text);
        graph.insert(name.clone(), sibling_uses(code, &name, &crate_path));
    }
    // Only edges between files of this directory.
    let names: BTreeSet<String> = graph.keys().cloned().collect();
    for used in graph.values_mut() {
        used.retain(|u| names.contains(u));
    }
    graph
}

/// Issue 34: within every module directory (load, mock, check, oauth,
/// report, …) the files' imports run one way: no file reaches back into
/// one that uses it.
#[test]
fn the_files_of_each_module_import_one_way() {
    let mut dirs = vec![];
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            if e.path().is_dir() {
                out.push(e.path());
                walk(&e.path(), out);
            }
        }
    }
    walk(&src(), &mut dirs);
    assert!(dirs.iter().any(|d| d.ends_with("load")) && dirs.iter().any(|d| d.ends_with("mock")));
    for d in dirs {
        let graph = directory_graph(&d);
        if let Some(path) = circle(&graph) {
            panic!("an import circle in {}: {}", d.display(), path.join(" → "));
        }
    }
}

/// The test above finds a circle through a module whose name has a digit
/// (it once read `super::h1` as `h` and missed one).
#[test]
fn a_planted_circle_through_a_digit_is_found() {
    let mut graph = BTreeMap::new();
    graph.insert(
        "exchange".to_string(),
        sibling_uses("pub(super) use super::h1::Conn;", "exchange", "load"),
    );
    graph.insert(
        "h1".to_string(),
        sibling_uses("let at = super::exchange::find(buf);", "h1", "load"),
    );
    assert_eq!(graph["exchange"], BTreeSet::from(["h1".to_string()]));
    let found = circle(&graph).expect("the circle is found");
    assert!(found.contains(&"h1".to_string()), "{found:?}");
}

/// A file a newcomer can read: none over 800 lines, and the load command's
/// CLI only parses flags into a plan and prints what the library returns.
#[test]
fn files_stay_readable() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let lines = |p: &Path| std::fs::read_to_string(p).unwrap().lines().count();
    let long: Vec<String> = files
        .iter()
        .filter(|f| lines(f) > 800)
        .map(|f| format!("{}: {} lines", f.display(), lines(f)))
        .collect();
    assert!(long.is_empty(), "split these by job:\n{}", long.join("\n"));
    let cli_load = lines(&src().join("cli/load.rs"));
    assert!(cli_load < 300, "src/cli/load.rs: {cli_load} lines");
}

/// Errors below the CLI are typed: a `Result<_, String>` outside `src/cli`
/// is a message with no kind and no exit code.
#[test]
fn no_string_errors_below_the_cli() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut found = Vec::new();
    for f in files.iter().filter(|f| !f.starts_with(src().join("cli"))) {
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            let Some(at) = line.find("Result<") else {
                continue;
            };
            // `Result<…, String>` on one line, the generic's end before
            // any `;` or `{`.
            let rest = &line[at..];
            let end = rest.find([';', '{']).unwrap_or(rest.len());
            let sig = rest[..end].replace(' ', "");
            if sig.contains(",String>") {
                found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}
