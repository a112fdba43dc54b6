//! Secrets out of every output: a [`Redactor`] knows every secret of a run
//! by where it came from (the target's passwords, client secrets and keys,
//! a login form's password field, every token the server issued, a login's
//! codes, verifiers, hidden fields and cookies), never by its shape.
//!
//! Two passes use it:
//! - **structure**: where a value sits in a form field, a header or a JSON
//!   member, [`Redactor::structural`] replaces it whole when it is a known
//!   secret, at any length (a five-letter password too). The records of
//!   exchanges (`oauth::record`) go through it first;
//! - **free text** ([`Redactor::redact`]): the last line of defence for
//!   prose that quotes the wire. A secret of six characters or more is
//!   replaced wherever it stands; a shorter one only where it stands alone
//!   (not inside a longer word), so that a four-letter password does not
//!   shred ordinary words; one or two characters are left to structure.
//!
//! Values the server or a page hands out that are secret only sometimes
//! (hidden fields, cookies) are *observed*: structure hides them where they
//! sit, free text only when they are long, and never when they equal a
//! value known to be public (the scope, the redirect URI, a client id).
//!
//! May use: `secret`.

use crate::secret::{Secret, fingerprint, secret_kind};
use base64::Engine;
use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

/// Values at least this long are replaced anywhere in free text.
const ANYWHERE_LEN: usize = 6;
/// Shorter values (down to this) are replaced in free text only where they
/// stand alone; below it, only by structure.
const BOUNDED_LEN: usize = 3;

#[derive(Default)]
struct Known {
    /// Free-text shapes (value, fingerprint, bounded), longest first.
    text: Vec<(String, String, bool)>,
    /// Exact values known to be secret (configured, issued), for structure.
    exact: HashMap<String, String>,
    /// Values known to be public: never registered as observed secrets.
    public: HashSet<String>,
}

#[derive(Default)]
pub struct Redactor {
    known: RwLock<Known>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let k = self.read();
        write!(
            f,
            "Redactor({} secrets, {} public values)",
            k.exact.len(),
            k.public.len()
        )
    }
}

impl Redactor {
    pub fn new() -> Redactor {
        Redactor::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Known> {
        self.known.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Known> {
        self.known.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a value that is secret by where it came from (a configured
    /// credential, an issued token, a code), under a kind prefix (`rt`,
    /// `pw`, …): replaced by structure at any length, in free text by the
    /// rules of the module.
    pub fn add(&self, kind: &str, value: &str) {
        if value.is_empty() {
            return;
        }
        let fp = fingerprint(kind, value);
        let mut k = self.write();
        k.exact.entry(value.to_string()).or_insert(fp.clone());
        if value.len() >= BOUNDED_LEN {
            for shape in shapes(value) {
                push_text(&mut k.text, shape, &fp);
            }
        }
    }

    /// Registers a value a page or a server handed out that is secret
    /// where it sits (a hidden field, a cookie) but may be an ordinary word
    /// (`true`, `en`): free text replaces it only when it is long and not a
    /// known public value.
    pub fn add_observed(&self, kind: &str, value: &str) {
        if value.len() < ANYWHERE_LEN {
            return;
        }
        let mut k = self.write();
        if k.public.contains(value) {
            return;
        }
        let fp = fingerprint(kind, value);
        for shape in shapes(value) {
            push_text(&mut k.text, shape, &fp);
        }
    }

    /// Declares a value public (a scope, a redirect URI, a client id): an
    /// observed value equal to it is not treated as a secret.
    pub fn add_public(&self, value: &str) {
        if !value.is_empty() {
            self.write().public.insert(value.to_string());
        }
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

    /// The fingerprint of `value` when it is, whole, a known secret: for a
    /// value that sits in a structure (a form field, a header, a member).
    pub fn structural(&self, value: &str) -> Option<String> {
        self.read().exact.get(value).cloned()
    }

    /// `value` as a structure may show it: its fingerprint when it is a
    /// known secret, else the value with free-text redaction.
    pub fn field(&self, value: &str) -> String {
        match self.structural(value) {
            Some(fp) => fp,
            None => self.redact(value),
        }
    }

    /// Replaces every known secret in `text` by its fingerprint.
    pub fn redact(&self, text: &str) -> String {
        let known = self.read();
        let mut out = text.to_string();
        for (value, fp, bounded) in known.text.iter() {
            if !out.contains(value.as_str()) {
                continue;
            }
            out = if *bounded {
                replace_standing_alone(&out, value, fp)
            } else {
                out.replace(value.as_str(), fp)
            };
        }
        out
    }

    /// A JSON body with secret members (by name, or by a known secret
    /// value) replaced by fingerprints, then the whole text redacted.
    pub fn redact_json(&self, value: &serde_json::Value) -> String {
        let mut v = value.clone();
        self.redact_members(&mut v);
        let text = serde_json::to_string_pretty(&v).unwrap_or_default();
        self.redact(&text)
    }

    fn redact_members(&self, v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, item) in map.iter_mut() {
                    match (secret_kind(k), item.as_str()) {
                        (Some(kind), Some(s)) => {
                            *item = serde_json::Value::String(fingerprint(kind, s))
                        }
                        (None, Some(s)) => {
                            if let Some(fp) = self.structural(s) {
                                *item = serde_json::Value::String(fp);
                            }
                        }
                        _ => self.redact_members(item),
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for item in items.iter_mut() {
                    match item.as_str().and_then(|s| self.structural(s)) {
                        Some(fp) => *item = serde_json::Value::String(fp),
                        None => self.redact_members(item),
                    }
                }
            }
            _ => {}
        }
    }
}

/// The shapes a value takes on the wire: as it is, form-encoded, and
/// percent-encoded (a query string's `%20` where a form has `+`).
fn shapes(value: &str) -> Vec<String> {
    let mut out = vec![value.to_string()];
    let form: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let percent = form.replace('+', "%20");
    for s in [form, percent] {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn push_text(text: &mut Vec<(String, String, bool)>, shape: String, fp: &str) {
    if text.iter().any(|(v, _, _)| *v == shape) {
        return;
    }
    let bounded = shape.len() < ANYWHERE_LEN;
    text.push((shape, fp.to_string(), bounded));
    text.sort_by_key(|(v, _, _)| std::cmp::Reverse(v.len()));
}

/// `text` with each occurrence of `value` that does not stand inside a
/// longer word (letters or digits on either side) replaced by `fp`.
fn replace_standing_alone(text: &str, value: &str, fp: &str) -> String {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric());
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(value) {
        let before = if i > 0 {
            rest[..i].chars().last()
        } else {
            out.chars().last()
        };
        let after = rest[i + value.len()..].chars().next();
        out.push_str(&rest[..i]);
        if word(before) || word(after) {
            out.push_str(value);
        } else {
            out.push_str(fp);
        }
        rest = &rest[i + value.len()..];
    }
    out.push_str(rest);
    out
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

    #[test]
    fn a_short_secret_is_hidden_where_it_stands_alone_and_by_structure() {
        let r = Redactor::new();
        r.add("pw", "Qz7x9");
        let fp = fingerprint("pw", "Qz7x9");
        // Alone in prose, in a query, in a form body.
        assert_eq!(r.redact("password Qz7x9."), format!("password {fp}."));
        assert_eq!(
            r.redact("UserName=alice&Password=Qz7x9&x=1"),
            format!("UserName=alice&Password={fp}&x=1")
        );
        // Inside a longer word it is left alone: no shredded words.
        assert_eq!(r.redact("xQz7x9y"), "xQz7x9y");
        // By structure, whole values at any length.
        r.add("pw", "ab");
        assert_eq!(r.structural("ab"), Some(fingerprint("pw", "ab")));
        assert_eq!(r.structural("abc"), None);
        assert_eq!(r.redact("ab cd"), "ab cd", "two letters: structure only");
        let json = serde_json::json!({"note": "ab", "list": ["ab", "x"]});
        let out = r.redact_json(&json);
        assert!(!out.contains("\"ab\""), "{out}");
        assert!(out.contains("\"x\""), "{out}");
    }

    #[test]
    fn observed_values_spare_short_words_and_public_values() {
        let r = Redactor::new();
        r.add_public("openid offline_access");
        r.add_observed("hf", "true");
        r.add_observed("hf", "openid offline_access");
        r.add_observed("hf", "session-key-123");
        let out = r.redact(r#"{"active": true, "scope": "openid offline_access"} session-key-123"#);
        assert_eq!(
            out,
            format!(
                r#"{{"active": true, "scope": "openid offline_access"}} {}"#,
                fingerprint("hf", "session-key-123")
            )
        );
        assert_eq!(r.structural("session-key-123"), None, "observed, not exact");
    }

    #[test]
    fn debug_shows_no_value() {
        let r = Redactor::new();
        r.add("pw", "hunter2");
        assert!(!format!("{r:?}").contains("hunter2"));
    }
}
