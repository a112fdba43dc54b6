//! `--users-file`: the accounts a load run logs in as, so that the load is
//! spread over many users as on a real identity server (and no single
//! account is locked or throttled). A CSV file of `username,password`
//! records, read with the `csv` crate (quoted fields, commas and quotes in
//! passwords); a first record `username,password` is a header; empty lines
//! and lines starting with `#` are skipped.
//!
//! An error names the file and the line, never the line's text: it holds a
//! password.

use crate::diag::Diagnostic;
use crate::secret::Secret;
use std::path::Path;

/// Most accounts accepted.
pub const MAX_ACCOUNTS: usize = 1_000_000;

/// The accounts of `path`, in file order.
pub fn read(path: &Path) -> Result<Vec<(String, Secret)>, Diagnostic> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Diagnostic::file(path, format!("cannot read the users file: {e}")))?;
    let at = |line: u64, message: String| {
        let mut d = Diagnostic::file(path, message);
        d.line = Some(line as usize);
        d
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::Fields)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            at(line, format!("not a CSV record ({})", e.kind_name()))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        if i == 0 && record.get(0) == Some("username") && record.get(1) == Some("password") {
            continue;
        }
        if record.len() != 2 {
            return Err(at(
                line,
                format!(
                    "{} fields: write username,password (quote a password that holds a comma)",
                    record.len()
                ),
            ));
        }
        let (user, password) = (&record[0], &record[1]);
        if user.is_empty() || password.is_empty() {
            return Err(at(line, "an empty username or password".into()));
        }
        if out.len() == MAX_ACCOUNTS {
            return Err(at(line, format!("more than {MAX_ACCOUNTS} accounts")));
        }
        out.push((user.to_string(), Secret::new(password)));
    }
    if out.is_empty() {
        return Err(Diagnostic::file(path, "no account in the users file"));
    }
    Ok(out)
}

trait KindName {
    fn kind_name(&self) -> &'static str;
}

impl KindName for csv::Error {
    fn kind_name(&self) -> &'static str {
        match self.kind() {
            csv::ErrorKind::Utf8 { .. } => "not UTF-8",
            csv::ErrorKind::UnequalLengths { .. } => "unequal lengths",
            _ => "malformed",
        }
    }
}

/// `--tokens-file`: refresh tokens issued elsewhere (by a browser login,
/// an SSO or MFA flow no script can do), one per line; empty lines and
/// lines starting with `#` are skipped. Each starts one session. An error
/// names the line, never its text.
pub fn read_tokens(path: &Path) -> Result<Vec<Secret>, Diagnostic> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Diagnostic::file(path, format!("cannot read the tokens file: {e}")))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if t.contains(char::is_whitespace) || !t.chars().all(|c| c.is_ascii_graphic()) {
            let mut d = Diagnostic::file(
                path,
                "not a refresh token: one token per line, printable ASCII without spaces (RFC 6749 Appendix A.17)",
            );
            d.line = Some(i + 1);
            return Err(d);
        }
        if out.len() == MAX_ACCOUNTS {
            let mut d = Diagnostic::file(path, format!("more than {MAX_ACCOUNTS} tokens"));
            d.line = Some(i + 1);
            return Err(d);
        }
        out.push(Secret::new(t));
    }
    if out.is_empty() {
        return Err(Diagnostic::file(
            path,
            "no refresh token in the file (one per line)",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn accounts_are_read_with_quotes_comments_and_a_header() {
        let (_d, p) =
            file("username,password\n# staff\nalice,alice-pass-1\n\n\"bob\",\"pa,ss\"\"word\"\n");
        let a = read(&p).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].0, "alice");
        assert_eq!(a[1].0, "bob");
        assert_eq!(a[1].1.expose(), "pa,ss\"word");
    }

    #[test]
    fn errors_name_the_line_and_never_show_the_password() {
        let (_d, p) = file("alice,alice-pass-1\nbob,secret-of-bob,extra\n");
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("users.csv:2"), "{e}");
        assert!(e.contains("3 fields"), "{e}");
        assert!(!e.contains("secret-of-bob"), "{e}");
        let (_d, p) = file("# nobody\n");
        assert!(read(&p).unwrap_err().to_string().contains("no account"));
    }
}
