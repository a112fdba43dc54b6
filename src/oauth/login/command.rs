//! A login no script can do (SSO, MFA, a hardware key): a program of the
//! user's that prints an RFC 6749 §5.1 token response on stdout. It runs
//! with a timeout; when it fails, its stderr says why (redacted). Its
//! stdout is never shown: it holds tokens.

use crate::redact::Redactor;
use std::time::Duration;

/// The target's command (`login:` with `grant: command`).
#[derive(Debug, Clone)]
pub struct CommandLogin {
    /// The program and its arguments (no shell).
    pub argv: Vec<String>,
    pub timeout: Duration,
}

/// Most stdout or stderr kept from the program.
const MAX_OUTPUT: usize = 1024 * 1024;

/// Runs the command; its token response (a JSON object with at least
/// `access_token`), or why not.
pub async fn run(c: &CommandLogin, redactor: &Redactor) -> Result<serde_json::Value, String> {
    let Some((program, args)) = c.argv.split_first() else {
        return Err("login.command is empty".into());
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let child = cmd
        .spawn()
        .map_err(|e| format!("login.command `{program}` cannot start: {e}"))?;
    let out = match tokio::time::timeout(c.timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return Err(format!("login.command `{program}`: {e}")),
        Err(_) => {
            return Err(format!(
                "login.command `{program}` did not finish within {} s (login.timeout_s)",
                c.timeout.as_secs()
            ));
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr[..out.stderr.len().min(MAX_OUTPUT)]);
    let stderr = redactor.redact(stderr.trim());
    if !out.status.success() {
        return Err(format!(
            "login.command `{program}` failed ({}){}",
            out.status,
            if stderr.is_empty() {
                String::new()
            } else {
                format!(": {stderr}")
            }
        ));
    }
    let stdout = &out.stdout[..out.stdout.len().min(MAX_OUTPUT)];
    let json: serde_json::Value = serde_json::from_slice(stdout).map_err(|e| {
        format!("login.command `{program}` printed no JSON token response on stdout ({e})")
    })?;
    redactor.add_json(&json);
    if json.get("access_token").and_then(|t| t.as_str()).is_none() {
        return Err(format!(
            "login.command `{program}` printed JSON without an `access_token` (RFC 6749 §5.1)"
        ));
    }
    Ok(json)
}
