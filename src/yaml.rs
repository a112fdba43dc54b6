//! The one place that reads YAML.
//!
//! Scenario files, target files, load profiles and mock configurations all go
//! through [`load`], so that replacing `serde_yaml` (deprecated upstream) by a
//! maintained fork is a change to this file alone. Besides parsing it guards
//! against hostile input (size cap, binary data, alias bombs and deep nesting
//! are refused by the parser's own limits) and turns every error into a
//! [`Diagnostic`] with `file:line:column`.
//!
//! May use: `diag`.

use crate::diag::{Diagnostic, did_you_mean};
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// Input files larger than this are refused before parsing.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Flow collections (`[`, `{`) nested deeper than this are refused before
/// parsing: the parser's time grows with the square of their depth (200,000
/// levels, 400 KB, took two minutes), and no real file comes near it.
pub const MAX_FLOW_DEPTH: usize = 1000;

/// A file's text, kept for locating later (semantic) errors.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

impl Source {
    /// Reads `path`, refusing files that are too large, empty, or not text.
    pub fn read(path: &Path) -> Result<Source, Diagnostic> {
        use std::io::Read;
        let file = std::fs::File::open(path)
            .map_err(|e| Diagnostic::file(path, format!("cannot read file: {e}")))?;
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Diagnostic::file(path, format!("cannot read file: {e}")))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(Diagnostic::file(
                path,
                format!("file is larger than {} KiB", MAX_FILE_BYTES / 1024),
            ));
        }
        Source::from_bytes(path, bytes)
    }

    /// Text given in memory (embedded files, tests).
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Source, Diagnostic> {
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                let valid = std::str::from_utf8(valid).unwrap_or_default();
                let line = valid.matches('\n').count() + 1;
                let column = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                let mut d = Diagnostic::file(path, "file is not UTF-8 text (binary data?)");
                d.line = Some(line);
                d.column = Some(column);
                return Err(d);
            }
        };
        if text.trim().is_empty() {
            return Err(Diagnostic::file(path, "file is empty"));
        }
        if let Some(index) = too_deep(&text) {
            let (line, column) = line_col(&text, index);
            return Err(Diagnostic::at(
                path,
                &text,
                line,
                column,
                format!("nesting too deep: more than {MAX_FLOW_DEPTH} levels of [ or {{"),
            ));
        }
        if let Some(index) = text.find('\0') {
            let (line, column) = line_col(&text, index);
            return Err(Diagnostic::at(
                path,
                &text,
                line,
                column,
                "file contains NUL bytes (binary data?)",
            ));
        }
        Ok(Source {
            path: path.to_path_buf(),
            text,
        })
    }

    pub fn from_str(path: &Path, text: &str) -> Result<Source, Diagnostic> {
        Source::from_bytes(path, text.as_bytes().to_vec())
    }

    /// A diagnostic at a dotted path (`steps[2].expect`), located in the text
    /// when the path can be followed in block-style YAML, else at the file.
    pub fn error_at_path(&self, path: &str, message: impl Into<String>) -> Diagnostic {
        match locate_path(&self.text, path) {
            Some((line, column)) => Diagnostic::at(&self.path, &self.text, line, column, message),
            None => Diagnostic::file(&self.path, message),
        }
    }

    /// A diagnostic at the first occurrence of `needle` at or after the line
    /// that `path` leads to.
    pub fn error_at_text(
        &self,
        path: &str,
        needle: &str,
        message: impl Into<String>,
    ) -> Diagnostic {
        let from = locate_path(&self.text, path).map_or(0, |(l, _)| l - 1);
        let offset: usize = self
            .text
            .split_inclusive('\n')
            .take(from)
            .map(str::len)
            .sum();
        match self.text[offset..].find(needle) {
            Some(i) => {
                let (line, column) = line_col(&self.text, offset + i);
                Diagnostic::at(&self.path, &self.text, line, column, message)
            }
            None => self.error_at_path(path, message),
        }
    }
}

/// The offset where flow collections nest deeper than [`MAX_FLOW_DEPTH`],
/// outside quoted scalars and comments (a linear scan).
fn too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut comment = false;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if comment {
            comment = b != b'\n';
        } else if let Some(q) = quote {
            if q == b'"' && b == b'\\' {
                i += 1;
            } else if b == q {
                quote = None;
            }
        } else {
            match b {
                b'"' | b'\'' => quote = Some(b),
                b'#' if i == 0 || bytes[i - 1].is_ascii_whitespace() => comment = true,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return Some(i);
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// Parses the whole source as one `T`.
pub fn parse<T: DeserializeOwned>(source: &Source) -> Result<T, Diagnostic> {
    serde_yaml::from_str::<T>(&source.text).map_err(|e| to_diagnostic(source, &e))
}

/// Most problems reported for one file.
pub const MAX_DIAGNOSTICS: usize = 20;

/// Parses the whole source as one `T`, reporting every problem of the file
/// rather than the first alone: after each one the offending node is mended
/// in a copy of the document (an unknown key removed, an unknown value
/// replaced by an allowed one, a value of the wrong type by a neutral one
/// of the right type) and the copy is read again, up to
/// [`MAX_DIAGNOSTICS`]. Paths do not move (nothing is removed from a list),
/// so every diagnostic is located in the original text.
///
/// Returns the value read from the mended copy when there is one (so that
/// a loader can go on and find its own, semantic problems too), and every
/// diagnostic; no diagnostic means the file itself was valid.
pub fn parse_all<T: DeserializeOwned>(source: &Source) -> (Option<T>, Vec<Diagnostic>) {
    let mut error = match serde_yaml::from_str::<T>(&source.text) {
        Ok(t) => return (Some(t), Vec::new()),
        Err(e) => e,
    };
    let mut diagnostics = vec![to_diagnostic(source, &error)];
    // A syntax error (or an alias bomb, a duplicate key) leaves no
    // document to mend.
    let Ok(mut doc) = serde_yaml::from_str::<serde_yaml::Value>(&source.text) else {
        return (None, diagnostics);
    };
    while diagnostics.len() < MAX_DIAGNOSTICS {
        let text = error.to_string();
        let without_location = match text.rfind(" at line ") {
            Some(i) => &text[..i],
            None => text.as_str(),
        };
        let (path, message) = split_path(without_location);
        if !mend(&mut doc, path, message) {
            return (None, diagnostics);
        }
        let Ok(again) = serde_yaml::to_string(&doc) else {
            return (None, diagnostics);
        };
        match serde_yaml::from_str::<T>(&again) {
            Ok(t) => return (Some(t), diagnostics),
            Err(e) => {
                // Located by its path in the original text: the mended
                // copy's line numbers are its own.
                let d = located_by_path(source, &e);
                if diagnostics.iter().any(|x| x.message == d.message) {
                    return (None, diagnostics);
                }
                diagnostics.push(d);
                error = e;
            }
        }
    }
    (None, diagnostics)
}

/// Mends the node `path` names so that `message` no longer applies; false
/// when it cannot.
fn mend(doc: &mut serde_yaml::Value, path: &str, message: &str) -> bool {
    use serde_yaml::Value;
    let Some(segments) = segments(path) else {
        return false;
    };
    let mut node = doc;
    for s in &segments {
        node = match (s, node) {
            (Segment::Key(k), Value::Mapping(m)) => match m.get_mut(*k) {
                Some(v) => v,
                None => return false,
            },
            (Segment::Index(i), Value::Sequence(seq)) => match seq.get_mut(*i) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    // Serde names the problem; the mend follows it.
    if let Some(name) = between(message, "unknown field `", "`") {
        return match node {
            Value::Mapping(m) => m.remove(name).is_some(),
            _ => false,
        };
    }
    if path.is_empty() {
        return false;
    }
    if message.starts_with("unknown variant") {
        let Some(first) = expected_names(message).into_iter().next() else {
            return false;
        };
        // A tagged enum (`!name`) or a plain string.
        *node = Value::String(first);
        return true;
    }
    if message.starts_with("invalid type") || message.starts_with("invalid value") {
        let expected = message.rsplit("expected ").next().unwrap_or("");
        *node = if expected.contains("bool") {
            Value::Bool(false)
        } else if [
            "integer", "u8", "u16", "u32", "u64", "usize", "i32", "i64", "f64", "f32", "number",
        ]
        .iter()
        .any(|t| expected.contains(t))
        {
            Value::Number(1.into())
        } else if expected.contains("sequence") || expected.contains("list") {
            Value::Sequence(Vec::new())
        } else if expected.contains("map") || expected.contains("struct") {
            Value::Mapping(Default::default())
        } else if expected.contains("string") {
            Value::String(String::new())
        } else {
            return false;
        };
        return true;
    }
    false
}

/// Renders `value` as YAML (generated target files).
pub fn to_string<T: serde::Serialize>(value: &T) -> Result<String, serde_yaml::Error> {
    serde_yaml::to_string(value)
}

fn to_diagnostic(source: &Source, error: &serde_yaml::Error) -> Diagnostic {
    diagnostic(
        source,
        error,
        error.location().map(|l| (l.line(), l.column())),
    )
}

/// A diagnostic for an error met reading a mended copy of `source`: where
/// its path leads in the original text.
fn located_by_path(source: &Source, error: &serde_yaml::Error) -> Diagnostic {
    let text = error.to_string();
    let without_location = match text.rfind(" at line ") {
        Some(i) => &text[..i],
        None => text.as_str(),
    };
    let (path, _) = split_path(without_location);
    diagnostic(source, error, locate_path(&source.text, path))
}

fn diagnostic(
    source: &Source,
    error: &serde_yaml::Error,
    location: Option<(usize, usize)>,
) -> Diagnostic {
    let full = error.to_string();
    // serde_yaml renders "PATH: MESSAGE at line L column C"; take it apart.
    let without_location = match full.rfind(" at line ") {
        Some(i) if full[i..].contains(" column ") => &full[..i],
        _ => full.as_str(),
    };
    let (path, message) = split_path(without_location);
    let mut message = message.to_string();
    let mut help = None;
    if message == "repetition limit exceeded" {
        message = "too many alias expansions (YAML alias bomb?)".into();
    } else if message.starts_with("recursion limit exceeded") {
        message = "nesting too deep".into();
    }

    let mut location = location;
    if message.contains("cannot start any token")
        && let Some((line, column)) = location
        && source
            .text
            .lines()
            .nth(line.saturating_sub(1))
            .and_then(|l| l.chars().nth(column.saturating_sub(1)))
            == Some('\t')
    {
        help = Some("YAML indents with spaces, not tabs".into());
    }
    if let Some(name) = between(&message, "unknown field `", "`") {
        let candidates = expected_names(&message);
        if let Some(close) = did_you_mean(name, candidates.iter().map(String::as_str)) {
            help = Some(format!("did you mean `{close}`?"));
        } else if !candidates.is_empty() {
            help = Some(format!("expected one of: {}", candidates.join(", ")));
        }
        let key_path = join_path(path, name);
        if let Some(found) = locate_path(&source.text, &key_path) {
            location = Some(found);
        }
        message = format!("unknown field `{name}`");
    } else if let Some(name) = between(&message, "unknown variant `", "`") {
        let candidates = expected_names(&message);
        if let Some(close) = did_you_mean(name, candidates.iter().map(String::as_str)) {
            help = Some(format!("did you mean `{close}`?"));
        } else if !candidates.is_empty() {
            help = Some(format!("expected one of: {}", candidates.join(", ")));
        }
        message = format!("unknown value `{name}`");
    } else if let Some(name) = between(&message, "duplicate field `", "`") {
        if let Some(found) = locate_nth_key(&source.text, path, name, 2) {
            location = Some(found);
        }
    } else if let Some(name) = between(&message, "missing field `", "`") {
        if let Some(found) = locate_path(&source.text, path) {
            location = Some(found);
        }
        message = format!("missing field `{name}`");
    }
    if message.contains("tab character") {
        help = Some("YAML indentation must use spaces, not tabs".into());
    }
    let message = if path.is_empty() {
        message
    } else {
        format!("{path}: {message}")
    };
    let mut d = match location {
        Some((line, column)) => Diagnostic::at(&source.path, &source.text, line, column, message),
        None => Diagnostic::file(&source.path, message),
    };
    d.help = help;
    d
}

/// serde_yaml prefixes messages with the path of the failing node, when not
/// at the root: `steps[0].grant: invalid type: …`.
fn split_path(s: &str) -> (&str, &str) {
    if let Some(i) = s.find(": ") {
        let head = &s[..i];
        let is_path = !head.is_empty()
            && !head.contains(' ')
            && head
                .chars()
                .all(|c| c.is_alphanumeric() || "_-.[]".contains(c));
        if is_path {
            return (head, &s[i + 2..]);
        }
    }
    ("", s)
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)?;
    Some(&s[i..i + j])
}

/// The names listed after "expected" in a serde message.
fn expected_names(message: &str) -> Vec<String> {
    let Some(i) = message.find("expected") else {
        return Vec::new();
    };
    message[i..]
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn join_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(path: &str) -> Option<Vec<Segment<'_>>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let end = stripped.find(']')?;
            out.push(Segment::Index(stripped[..end].parse().ok()?));
            rest = &stripped[end + 1..];
        }
    }
    Some(out)
}

/// Follows a dotted path (`steps[2].expect.status`) through block-style YAML
/// and returns the 1-based line and column of the node it names. Flow style
/// (`{a: 1}`) is not followed: the caller falls back to a coarser location.
pub fn locate_path(text: &str, path: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut cursor = 0usize; // first line to search
    let mut min_indent = 0usize; // the node's content is indented at least this much
    let mut found = (1usize, 1usize);
    let mut end = lines.len();
    for segment in segments(path)? {
        match segment {
            Segment::Key(key) => {
                let (line, column) = find_key(&lines[..end], cursor, min_indent, key)?;
                found = (line + 1, column + 1);
                cursor = line;
                min_indent = column + 1;
                end = block_end(&lines, line, column);
            }
            Segment::Index(index) => {
                let (line, column) =
                    find_item(&lines[..end], cursor, min_indent.saturating_sub(1), index)?;
                found = (line + 1, column + 1);
                cursor = line;
                min_indent = column + 1;
                end = block_end(&lines, line, column);
            }
        }
    }
    Some(found)
}

/// Where the line's content starts, after indentation and any `- ` markers.
fn content_start(line: &str) -> usize {
    let mut i = 0;
    let bytes = line.as_bytes();
    loop {
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if i + 1 < bytes.len() && bytes[i] == b'-' && bytes[i + 1] == b' ' {
            i += 2;
            continue;
        }
        return i;
    }
}

fn is_meaningful(line: &str) -> bool {
    let t = line.trim_start();
    !t.is_empty() && !t.starts_with('#')
}

fn find_key(lines: &[&str], from: usize, min_indent: usize, key: &str) -> Option<(usize, usize)> {
    for (i, line) in lines.iter().enumerate().skip(from) {
        if !is_meaningful(line) {
            continue;
        }
        let start = content_start(line);
        if start < min_indent && i > from {
            // Left the parent block.
            let indent = line.len() - line.trim_start().len();
            if indent < min_indent.saturating_sub(2) {
                return None;
            }
        }
        let rest = &line[start..];
        let rest = rest.trim_start_matches(['"', '\'']);
        if let Some(after) = rest.strip_prefix(key) {
            let after = after.trim_start_matches(['"', '\'']);
            if after.starts_with(':') && start >= min_indent.saturating_sub(2) {
                return Some((i, start));
            }
        }
    }
    None
}

fn find_item(
    lines: &[&str],
    from: usize,
    min_indent: usize,
    index: usize,
) -> Option<(usize, usize)> {
    let mut seen = 0usize;
    let mut item_indent = None;
    for (i, line) in lines.iter().enumerate().skip(from + 1) {
        if !is_meaningful(line) {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let is_item = line.trim_start().starts_with("- ") || line.trim() == "-";
        match item_indent {
            None if is_item && indent >= min_indent.saturating_sub(1) => item_indent = Some(indent),
            None => return None,
            Some(_) => {}
        }
        let want = item_indent?;
        if indent < want {
            return None;
        }
        if indent == want && is_item {
            if seen == index {
                return Some((i, indent + 2));
            }
            seen += 1;
        } else if indent == want {
            return None;
        }
    }
    None
}

/// The first line after `line` whose indentation is at most `column`'s
/// parent level: the end of the block that starts at `line`.
fn block_end(lines: &[&str], line: usize, column: usize) -> usize {
    let own_indent = lines[line].len() - lines[line].trim_start().len();
    for (i, l) in lines.iter().enumerate().skip(line + 1) {
        if !is_meaningful(l) {
            continue;
        }
        let indent = l.len() - l.trim_start().len();
        let starts_item = l.trim_start().starts_with("- ");
        if indent < own_indent || (indent == own_indent && (column == own_indent || starts_item)) {
            return i;
        }
        if indent <= own_indent && column > own_indent && !starts_item {
            return i;
        }
    }
    lines.len()
}

/// The `nth` (1-based) occurrence of `key:` inside the block at `path`.
fn locate_nth_key(text: &str, path: &str, key: &str, nth: usize) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let (from, min_indent) = if path.is_empty() {
        (0, 0)
    } else {
        let (l, c) = locate_path(text, path)?;
        (l - 1, c)
    };
    let mut seen = 0;
    let mut cursor = from;
    while let Some((line, column)) = find_key(&lines, cursor, min_indent, key) {
        seen += 1;
        if seen == nth {
            return Some((line + 1, column + 1));
        }
        cursor = line + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        id: String,
        #[serde(default)]
        steps: Vec<Step>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Step {
        grant: Option<String>,
        wait: Option<String>,
        expect: Option<Expect>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Expect {
        status: Option<u16>,
    }

    fn err(text: &str) -> Diagnostic {
        let src = Source::from_str(Path::new("t.yaml"), text).unwrap();
        parse::<Doc>(&src).unwrap_err()
    }

    #[test]
    fn unknown_field_is_located_with_a_suggestion() {
        let d = err("id: x\nsteps:\n  - grant: password\n  - grnt: password\n");
        assert_eq!(d.message, "steps[1]: unknown field `grnt`");
        assert_eq!((d.line, d.column), (Some(4), Some(5)));
        assert_eq!(d.help.as_deref(), Some("did you mean `grant`?"));
    }

    #[test]
    fn unknown_root_field_is_located_on_its_line() {
        let d = err("id: x\nsteps: []\nstpes: []\n");
        assert_eq!((d.line, d.column), (Some(3), Some(1)));
        assert_eq!(d.help.as_deref(), Some("did you mean `steps`?"));
    }

    #[test]
    fn duplicate_field_points_at_the_second_occurrence() {
        let d = err("id: x\nsteps: []\nid: y\n");
        assert!(d.message.contains("duplicate field `id`"), "{}", d.message);
        assert_eq!(d.line, Some(3));
    }

    #[test]
    fn wrong_type_and_tabs_and_emptiness_are_reported() {
        let d = err("id: x\nsteps:\n  - expect:\n      status: many\n");
        assert_eq!(d.line, Some(4));
        assert!(
            d.message
                .starts_with("steps[0].expect.status: invalid type"),
            "{}",
            d.message
        );
        let d = err("id: x\n\tsteps: []\n");
        assert_eq!(
            d.help.as_deref(),
            Some("YAML indentation must use spaces, not tabs")
        );
        let e = Source::from_str(Path::new("t.yaml"), "  \n").unwrap_err();
        assert_eq!(e.message, "file is empty");
        let e = Source::from_bytes(Path::new("t.yaml"), b"id: \xff\xfe".to_vec()).unwrap_err();
        assert!(e.message.contains("not UTF-8"));
    }

    #[test]
    fn alias_bombs_and_deep_nesting_are_refused() {
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            bomb.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let src = Source::from_str(Path::new("t.yaml"), &bomb).unwrap();
        let d = parse::<serde_yaml::Value>(&src).unwrap_err();
        assert!(d.message.contains("alias"), "{}", d.message);
        // Deeper than MAX_FLOW_DEPTH: refused before parsing, located.
        let deep = format!("a: {}", "[".repeat(10_000));
        let d = Source::from_str(Path::new("t.yaml"), &deep).unwrap_err();
        assert!(d.message.contains("nesting too deep"), "{}", d.message);
        assert_eq!((d.line, d.column), (Some(1), Some(4 + MAX_FLOW_DEPTH)));
        // Brackets in quotes and comments do not count.
        let quoted = format!("a: \"{}\" # {}\n", "[".repeat(2000), "{".repeat(2000));
        assert!(Source::from_str(Path::new("t.yaml"), &quoted).is_ok());
        // Under the cap, the parser's own recursion limit still holds.
        let deep = format!("a: {}", "[".repeat(500));
        let src = Source::from_str(Path::new("t.yaml"), &deep).unwrap();
        let d = parse::<serde_yaml::Value>(&src).unwrap_err();
        assert!(d.message.contains("nesting too deep"), "{}", d.message);
    }

    /// Issue 22: a file with four mistakes took four rounds.
    #[test]
    fn every_problem_of_a_file_is_reported_at_once() {
        let text = "id: x\nstepz: []\nsteps:\n  - grnt: password\n  - expect:\n      status: many\n  - wait: 1s\n    expct: {}\n";
        let src = Source::from_str(Path::new("t.yaml"), text).unwrap();
        let (value, all) = parse_all::<Doc>(&src);
        let shown: Vec<(String, Option<usize>)> =
            all.iter().map(|d| (d.message.clone(), d.line)).collect();
        assert_eq!(all.len(), 4, "{shown:?}");
        assert_eq!(all[0].line, Some(2));
        assert!(
            all[1].message.starts_with("steps[0]: unknown field `grnt`"),
            "{shown:?}"
        );
        assert_eq!(all[1].line, Some(4));
        assert!(
            all[2]
                .message
                .starts_with("steps[1].expect.status: invalid type"),
            "{shown:?}"
        );
        assert_eq!(all[2].line, Some(6));
        assert_eq!(all[3].line, Some(8));
        assert!(value.is_some(), "the mended document reads");
        // A valid file: its value, no diagnostic.
        let ok = Source::from_str(Path::new("t.yaml"), "id: x\n").unwrap();
        let (v, none) = parse_all::<Doc>(&ok);
        assert!(v.is_some() && none.is_empty());
        // A syntax error: one diagnostic, nothing to mend.
        let bad = Source::from_str(Path::new("t.yaml"), "id: [x\n").unwrap();
        let (v, one) = parse_all::<Doc>(&bad);
        assert!(v.is_none() && one.len() == 1);
    }

    #[test]
    fn paths_are_followed_through_block_yaml() {
        let text = "id: x\nsteps:\n  - name: a\n    grant: password\n  # comment\n  - name: b\n    expect:\n      status: 200\n";
        assert_eq!(locate_path(text, "steps"), Some((2, 1)));
        assert_eq!(locate_path(text, "steps[0]"), Some((3, 5)));
        assert_eq!(locate_path(text, "steps[1]"), Some((6, 5)));
        assert_eq!(locate_path(text, "steps[1].expect.status"), Some((8, 7)));
        assert_eq!(locate_path(text, "steps[0].expect"), None);
        assert_eq!(locate_path(text, "steps[2]"), None);
    }
}
