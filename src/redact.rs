//! The last line of defence for secrets in output: every text a report or
//! the terminal shows passes through a [`Redactor`], which knows every
//! configured secret and every token seen on the wire and replaces each by
//! its fingerprint (also in the base64 and form-encoded shapes that Basic
//! authentication and form bodies give them).
//!
//! May use: `secret`.

use crate::secret::{Secret, fingerprint, secret_kind};
use base64::Engine;
use std::sync::RwLock;

/// Values shorter than this are not replaced in free text (a four-letter
/// secret would otherwise shred ordinary words); structural redaction still
/// hides them.
const MIN_LEN: usize = 6;

#[derive(Debug, Default)]
pub struct Redactor {
    /// (value, fingerprint), longest first.
    known: RwLock<Vec<(String, String)>>,
}

impl Redactor {
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// Registers a secret under a kind prefix (`rt`, `pw`, …).
    pub fn add(&self, kind: &str, value: &str) {
        if value.len() < MIN_LEN {
            return;
        }
        let fp = fingerprint(kind, value);
        let mut shapes = vec![value.to_string()];
        let encoded: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
        if encoded != value {
            shapes.push(encoded);
        }
        let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
        for shape in shapes {
            if !known.iter().any(|(v, _)| *v == shape) {
                known.push((shape, fp.clone()));
            }
        }
        known.sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
    }

    pub fn add_secret(&self, kind: &str, secret: &Secret) {
        self.add(kind, secret.expose());
    }

    /// Registers the Authorization header value for `user:password` so that
    /// its base64 form is hidden too.
    pub fn add_basic(&self, user: &str, password: &str) {
        let raw = format!("{user}:{password}");
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw.as_bytes());
        self.add("basic", &b64);
    }

    /// Registers every secret-bearing member of a JSON token response.
    pub fn add_json(&self, value: &serde_json::Value) {
        if let serde_json::Value::Object(map) = value {
            for (k, v) in map {
                if let (Some(kind), Some(s)) = (secret_kind(k), v.as_str()) {
                    self.add(kind, s);
                }
            }
        }
    }

    /// Replaces every known secret in `text` by its fingerprint.
    pub fn redact(&self, text: &str) -> String {
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        for (value, fp) in known.iter() {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), fp);
            }
        }
        out
    }

    /// A JSON body with secret members replaced by fingerprints, then the
    /// whole text redacted.
    pub fn redact_json(&self, value: &serde_json::Value) -> String {
        let mut v = value.clone();
        redact_members(&mut v);
        let text = serde_json::to_string_pretty(&v).unwrap_or_default();
        self.redact(&text)
    }
}

fn redact_members(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                match (secret_kind(k), item.as_str()) {
                    (Some(kind), Some(s)) => {
                        *item = serde_json::Value::String(fingerprint(kind, s))
                    }
                    _ => redact_members(item),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_members),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_registered_values_and_their_encodings() {
        let r = Redactor::new();
        r.add("cs", "s3cr3t&value");
        r.add_basic("app", "s3cr3t&value");
        let text = "body client_secret=s3cr3t%26value raw s3cr3t&value header Basic YXBwOnMzY3IzdCZ2YWx1ZQ==";
        let out = r.redact(text);
        assert!(!out.contains("s3cr3t"), "{out}");
        assert!(!out.contains("YXBwOnMzY3IzdCZ2YWx1ZQ=="), "{out}");
        assert!(out.contains(&fingerprint("cs", "s3cr3t&value")));
    }

    #[test]
    fn json_members_become_fingerprints() {
        let r = Redactor::new();
        let body = serde_json::json!({"access_token": "abc", "refresh_token": "rt-value-123", "scope": "read"});
        r.add_json(&body);
        let out = r.redact_json(&body);
        assert!(
            !out.contains("rt-value-123") && !out.contains("\"abc\""),
            "{out}"
        );
        assert!(out.contains("\"read\""));
        assert!(r.redact("replayed rt-value-123").contains("rt#"));
    }
}
