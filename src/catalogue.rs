//! The catalogue of checks (docs/CONFORMANCE.md, embedded at build time).
//! Scenarios cite its ids in `covers`; `tokenprobe list --coverage` compares
//! the suite with it.
//!
//! May use: nothing else of the crate.

use std::sync::LazyLock;

const TEXT: &str = include_str!("../docs/CONFORMANCE.md");

/// One catalogue line: `- ID · LEVEL · source: how to test`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    /// As written: `MUST`, `SHOULD`, `MUST when rotating`, `PROFILE (EmpowerID style)`…
    pub level: String,
    /// The rest of the line.
    pub text: String,
    /// The `##` heading it stands under.
    pub section: String,
    /// The word of its clause the level stands on ("MUST", "REQUIRED",
    /// "capability"…), from the catalogue's "Levels and the words of their
    /// clauses" table; empty for a user's own ids.
    pub word: String,
}

static ENTRIES: LazyLock<Vec<Entry>> = LazyLock::new(|| parse(TEXT));

/// Ids a user declared for their own scenarios (`--catalogue FILE`, or a
/// `catalogue.yaml` beside them); they live as long as the process.
static USER: std::sync::RwLock<Vec<&'static Entry>> = std::sync::RwLock::new(Vec::new());

/// Every entry: the catalogue's, then the user's.
pub fn entries() -> Vec<&'static Entry> {
    let user = USER.read().unwrap_or_else(|p| p.into_inner());
    ENTRIES.iter().chain(user.iter().copied()).collect()
}

pub fn get(id: &str) -> Option<&'static Entry> {
    ENTRIES.iter().find(|e| e.id == id).or_else(|| {
        let user = USER.read().unwrap_or_else(|p| p.into_inner());
        user.iter().copied().find(|e| e.id == id)
    })
}

/// An id a user's catalogue file gives that is already taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is already a catalogue id: choose your own")]
pub struct TakenId(pub String);

/// Adds a user's own catalogue ids; an id of the catalogue, or one already
/// added, is refused.
pub fn add_user(entries: Vec<Entry>) -> Result<(), TakenId> {
    let mut user = USER.write().unwrap_or_else(|p| p.into_inner());
    for e in entries {
        if ENTRIES.iter().any(|b| b.id == e.id) || user.iter().any(|u| u.id == e.id) {
            return Err(TakenId(e.id));
        }
        user.push(Box::leak(Box::new(e)));
    }
    Ok(())
}

/// One catalogue id and the scenarios that cite it.
#[derive(Debug, Clone)]
pub struct Coverage {
    pub entry: &'static Entry,
    pub scenarios: Vec<String>,
}

/// Every catalogue entry, in catalogue order, with the ids of the scenarios
/// whose `covers` name it; `cited` is each scenario's id and `covers`.
pub fn coverage(cited: &[(&str, &[String])]) -> Vec<Coverage> {
    entries()
        .into_iter()
        .map(|entry| {
            let mut ids: Vec<String> = cited
                .iter()
                .filter(|(_, covers)| covers.iter().any(|c| c == &entry.id))
                .map(|(id, _)| id.to_string())
                .collect();
            ids.sort();
            Coverage {
                entry,
                scenarios: ids,
            }
        })
        .collect()
}

/// The coverage table as Markdown (the README shows it).
pub fn coverage_markdown(rows: &[Coverage]) -> String {
    let mut out = String::from("| id | level | word | scenarios |\n| --- | --- | --- | --- |\n");
    for r in rows {
        let scenarios = if r.scenarios.is_empty() {
            "**not covered**".to_string()
        } else {
            r.scenarios
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.entry.id,
            r.entry.level.replace('|', "\\|"),
            r.entry.word.replace('|', "\\|"),
            scenarios
        ));
    }
    out
}

fn parse(text: &str) -> Vec<Entry> {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            section = h.trim().to_string();
            continue;
        }
        let Some(item) = line.strip_prefix("- ") else {
            continue;
        };
        let mut fields = item.splitn(3, " · ");
        let (Some(id), Some(level)) = (fields.next(), fields.next()) else {
            continue;
        };
        let id = id.trim();
        let is_id = id.contains('-')
            && id
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
        if !is_id {
            continue;
        }
        let (level, text) = match fields.next() {
            Some(rest) => (level.trim().to_string(), rest.trim().to_string()),
            // `- ID · LEVEL: text` (no source field)
            None => match split_outside_backticks(level) {
                Some((l, t)) => (l.trim().to_string(), t.trim().to_string()),
                None => (level.trim().to_string(), String::new()),
            },
        };
        out.push(Entry {
            id: id.to_string(),
            level,
            text,
            section: section.clone(),
            word: String::new(),
        });
    }
    for (id, _, word, _) in words(text) {
        if let Some(e) = out.iter_mut().find(|e| e.id == id) {
            e.word = word;
        }
    }
    out
}

/// The heading of the table of levels against their clauses' words.
const WORDS: &str = "Levels and the words of their clauses";

/// The rows of the [`WORDS`] table: id, level, word, clause.
fn words(text: &str) -> Vec<(String, String, String, String)> {
    let mut inside = false;
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            inside = h.trim() == WORDS;
            continue;
        }
        let Some(row) = line.strip_prefix("| ").filter(|_| inside) else {
            continue;
        };
        let cells: Vec<&str> = row.trim_end_matches('|').splitn(4, " | ").collect();
        if let [id, level, word, clause] = cells[..] {
            if id == "id" || id.starts_with("---") {
                continue;
            }
            rows.push((
                id.trim().to_string(),
                level.trim().to_string(),
                word.trim().to_string(),
                clause.trim().to_string(),
            ));
        }
    }
    rows
}

/// Splits at the first `": "` that is not inside backticks.
fn split_outside_backticks(s: &str) -> Option<(&str, &str)> {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '`' => quoted = !quoted,
            ':' if !quoted && s[i..].starts_with(": ") => return Some((&s[..i], &s[i + 2..])),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalogue_parses() {
        let ids: Vec<&str> = entries().iter().map(|e| e.id.as_str()).collect();
        assert!(ids.len() >= 60, "{}", ids.len());
        for id in ["PW-OK", "ROT-OLD", "CC-RACE", "BF-SECRET", "RF-CACHE"] {
            assert!(ids.contains(&id), "{id} missing");
        }
        assert_eq!(get("PW-OK").unwrap().level, "MUST");
        assert_eq!(get("PW-OK").unwrap().section, "Password grant (§4.3)");
        assert_eq!(
            get("RU-FAMILY").unwrap().level,
            "SHOULD for confidential clients (PROFILE `reuse_detection: family`)"
        );
    }

    /// Whether `word`, the keyword of a clause, carries `level`: a MUST
    /// stands on a MUST, MUST NOT, REQUIRED, SHALL or a definition, with
    /// no qualifier; a SHOULD also on SHOULD, RECOMMENDED, a capability, or
    /// a qualified MUST ("MUST (the client's)": a rule for the client;
    /// "(unobservable alternative)"; "(the window's width is the server's)").
    fn fits(level: &str, word: &str) -> bool {
        let has = |w: &str| word.split([',', ' ', '(']).any(|t| t == w);
        let keyword = has("MUST") || has("REQUIRED") || has("SHALL") || has("definition");
        let strong = keyword && !word.contains('(');
        let should = keyword || has("SHOULD") || has("RECOMMENDED") || has("capability");
        match level.split([' ', '/']).next().unwrap_or_default() {
            "MUST" => strong,
            "SHOULD" => should,
            "PROFILE" | "INFO" => true,
            _ => false,
        }
    }

    /// The audit of levels against their clauses (issue 20): every id has a
    /// row in the table, at the level it is graded, and the word its clause
    /// uses carries that level.
    #[test]
    fn every_level_stands_on_its_clauses_word() {
        let rows = words(TEXT);
        for e in parse(TEXT) {
            let row = rows.iter().find(|r| r.0 == e.id);
            let Some((_, level, word, clause)) = row else {
                panic!("{} has no row in \"{WORDS}\"", e.id);
            };
            assert_eq!(level, &e.level, "{}: the table's level", e.id);
            assert_eq!(word, &e.word, "{}", e.id);
            assert!(!clause.is_empty(), "{}: no clause", e.id);
            assert!(fits(&e.level, word), "{}: {} on \"{word}\"", e.id, e.level);
        }
        for (id, ..) in &rows {
            assert!(
                get(id).is_some(),
                "the table names {id}, not a catalogue id"
            );
        }
    }

    #[test]
    fn a_level_above_its_clauses_word_is_caught() {
        assert!(!fits("MUST", "MAY"));
        assert!(!fits("MUST", "MUST (the client's)"));
        assert!(!fits("MUST when rotating", "capability"));
        assert!(!fits("SHOULD", "MAY"));
        assert!(!fits("SHOULD", "none"));
        assert!(fits("MUST", "MUST NOT"));
        assert!(fits("MUST/SHOULD", "MUST, SHOULD"));
        assert!(fits("SHOULD", "MUST (the client's)"));
        assert!(fits("PROFILE", "MAY"));
    }

    /// The copy in docs/ must follow the shared original when it is present
    /// (CI clones the project with `shared/` beside it).
    #[test]
    fn the_live_catalogue_extends_the_original() {
        // docs/CONFORMANCE.md is the live catalogue: it may refine a line
        // and add checks, never drop an id of the original.
        let shared =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/CONFORMANCE.md");
        if let Ok(original) = std::fs::read_to_string(&shared) {
            let live = parse(TEXT);
            for e in parse(&original) {
                let kept = live.iter().find(|l| l.id == e.id);
                assert!(
                    kept.is_some(),
                    "{} of {} is missing from docs/CONFORMANCE.md",
                    e.id,
                    shared.display()
                );
                assert_eq!(kept.unwrap().section, e.section, "{}", e.id);
            }
        }
    }
}
