//! Templates: `{{ login.refresh_token }}`, `{{ random }}`,
//! `{{ login.access_token | flip }}`. Parsed when a scenario is loaded (so a
//! typo is a load error with a location), rendered by the runner against the
//! captures of earlier steps.

use std::fmt;

/// A parsed template: literal text and references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub parts: Vec<Part>,
    /// The source text, for messages.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Lit(String),
    Ref(Reference),
}

/// `root.path.to.value | filter | filter`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub path: Vec<String>,
    pub filters: Vec<Filter>,
    /// The text between the braces, trimmed.
    pub text: String,
}

/// Transformations applied to a referenced value, for malformed-token checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Drop the second half.
    Truncate,
    /// Change one character in the middle (a bit flip that stays printable).
    Flip,
    Upper,
    Lower,
    /// Standard base64.
    Base64,
    /// application/x-www-form-urlencoded escaping.
    Urlencode,
}

impl Filter {
    pub const NAMES: [&'static str; 6] =
        ["truncate", "flip", "upper", "lower", "base64", "urlencode"];

    fn parse(s: &str) -> Option<Filter> {
        Some(match s {
            "truncate" => Filter::Truncate,
            "flip" => Filter::Flip,
            "upper" => Filter::Upper,
            "lower" => Filter::Lower,
            "base64" => Filter::Base64,
            "urlencode" => Filter::Urlencode,
            _ => return None,
        })
    }

    pub fn apply(self, v: &str) -> String {
        use base64::Engine;
        match self {
            Filter::Truncate => v.chars().take(v.chars().count() / 2).collect(),
            Filter::Flip => {
                let mut chars: Vec<char> = v.chars().collect();
                if chars.is_empty() {
                    return "x".into();
                }
                let i = chars.len() / 2;
                chars[i] = match chars[i] {
                    'A' => 'B',
                    'a' => 'b',
                    '0' => '1',
                    _ => 'A',
                };
                chars.into_iter().collect()
            }
            Filter::Upper => v.to_ascii_uppercase(),
            Filter::Lower => v.to_ascii_lowercase(),
            Filter::Base64 => base64::engine::general_purpose::STANDARD.encode(v),
            Filter::Urlencode => form_urlencoded::byte_serialize(v.as_bytes()).collect(),
        }
    }
}

/// Why a template could not be parsed; `at` is the byte offset of the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub message: String,
    pub snippet: String,
    pub help: Option<String>,
}

impl Template {
    pub fn literal(s: &str) -> Template {
        Template {
            parts: vec![Part::Lit(s.to_string())],
            text: s.to_string(),
        }
    }

    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Lit(rest[..start].to_string()));
            }
            let Some(len) = rest[start..].find("}}") else {
                return Err(TemplateError {
                    message: "unclosed `{{`".into(),
                    snippet: rest[start..].chars().take(30).collect(),
                    help: Some("close it with `}}`".into()),
                });
            };
            let inner = rest[start + 2..start + len].trim();
            parts.push(Part::Ref(parse_reference(
                inner,
                &rest[start..start + len + 2],
            )?));
            rest = &rest[start + len + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_string()));
        }
        Ok(Template {
            parts,
            text: text.to_string(),
        })
    }

    pub fn references(&self) -> impl Iterator<Item = &Reference> {
        self.parts.iter().filter_map(|p| match p {
            Part::Ref(r) => Some(r),
            Part::Lit(_) => None,
        })
    }
}

fn parse_reference(inner: &str, whole: &str) -> Result<Reference, TemplateError> {
    let mut pieces = inner.split('|').map(str::trim);
    let path_text = pieces.next().unwrap_or_default();
    if path_text.is_empty() {
        return Err(TemplateError {
            message: "empty reference `{{ }}`".into(),
            snippet: whole.to_string(),
            help: None,
        });
    }
    let path: Vec<String> = path_text.split('.').map(str::to_string).collect();
    if path.iter().any(|p| {
        p.is_empty()
            || !p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    }) {
        return Err(TemplateError {
            message: format!(
                "`{path_text}` is not a reference (write name.member, e.g. login.refresh_token)"
            ),
            snippet: whole.to_string(),
            help: None,
        });
    }
    let mut filters = Vec::new();
    for f in pieces {
        match Filter::parse(f) {
            Some(f) => filters.push(f),
            None => {
                return Err(TemplateError {
                    message: format!("unknown filter `{f}`"),
                    snippet: whole.to_string(),
                    help: crate::diag::did_you_mean(f, Filter::NAMES)
                        .map(|s| format!("did you mean `{s}`?"))
                        .or_else(|| Some(format!("filters: {}", Filter::NAMES.join(", ")))),
                });
            }
        }
    }
    Ok(Reference {
        path,
        filters,
        text: inner.to_string(),
    })
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_literals_references_and_filters() {
        let t = Template::parse("Bearer {{ login.access_token | flip }}!").unwrap();
        assert_eq!(t.parts.len(), 3);
        let r = t.references().next().unwrap();
        assert_eq!(r.path, ["login", "access_token"]);
        assert_eq!(r.filters, [Filter::Flip]);
    }

    #[test]
    fn reports_bad_templates() {
        assert!(
            Template::parse("{{ login.x")
                .unwrap_err()
                .message
                .contains("unclosed")
        );
        let e = Template::parse("{{ login.x | flp }}").unwrap_err();
        assert_eq!(e.help.as_deref(), Some("did you mean `flip`?"));
        assert!(Template::parse("{{ }}").is_err());
        assert!(Template::parse("{{ a b }}").is_err());
    }

    #[test]
    fn filters_change_tokens_visibly() {
        let t = "abcdefgh";
        assert_eq!(Filter::Truncate.apply(t), "abcd");
        assert_ne!(Filter::Flip.apply(t), t);
        assert_eq!(Filter::Flip.apply(t).len(), t.len());
        assert_eq!(Filter::Urlencode.apply("a b&c"), "a+b%26c");
    }
}
