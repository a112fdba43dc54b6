//! A user's own catalogue ids (`--catalogue FILE`, or `catalogue.yaml`
//! beside their scenarios), so that their scenarios can cite them in
//! `covers` and reports and coverage show them:
//!
//! ```yaml
//! catalogue:
//!   - { id: ACME-SCOPE-1, level: MUST, text: "ACME §4: the admin scope needs MFA" }
//! ```

use crate::catalogue::Entry;
use crate::diag::Diagnostic;
use crate::yaml::Source;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogueFile {
    pub catalogue: Vec<CatalogueEntry>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogueEntry {
    /// Upper-case letters, digits and `-`, with at least one `-` (`ACME-SCOPE-1`).
    pub id: String,
    /// `MUST`, `SHOULD`, `INFO`, `PROFILE`, or words of your own.
    pub level: String,
    /// The source and the requirement in one line.
    pub text: String,
}

/// Reads a catalogue file and registers its ids.
pub fn load(path: &Path) -> Result<usize, Diagnostic> {
    let source = Source::read(path)?;
    let file: CatalogueFile = crate::yaml::parse(&source)?;
    let mut entries = Vec::new();
    for (i, e) in file.catalogue.iter().enumerate() {
        let ok = e.id.contains('-')
            && e.id
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            return Err(source.error_at_path(
                &format!("catalogue[{i}].id"),
                format!(
                    "`{}`: a catalogue id is upper-case letters, digits and `-`, with a `-`",
                    e.id
                ),
            ));
        }
        entries.push(Entry {
            id: e.id.clone(),
            level: e.level.clone(),
            text: e.text.clone(),
            section: format!("{}", path.display()),
            word: String::new(),
        });
    }
    let n = entries.len();
    crate::catalogue::add_user(entries)
        .map_err(|taken| source.error_at_text("catalogue", &taken.0, taken.to_string()))?;
    Ok(n)
}
