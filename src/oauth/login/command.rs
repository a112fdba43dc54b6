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
pub async fn run(c: &CommandLogin, redactor: &Redactor) -> Result<serde_json::Value, CommandError> {
    let Some((program, args)) = c.argv.split_first() else {
        return Err(CommandError::Empty);
    };
    let program = program.clone();
    let mut cmd = tokio::process::Command::new(&program);
    cmd.args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| CommandError::Start(program.clone(), e))?;
    // Both streams are read at most MAX_OUTPUT bytes deep (more is a
    // mistake, not a token response), and the rest is drained unread so
    // that the program never blocks on a full pipe.
    let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(CommandError::NoPipes(program));
    };
    let run = async {
        let (stdout, stderr) = tokio::join!(read_bounded(out), read_bounded(err));
        let status = child.wait().await;
        (stdout, stderr, status)
    };
    let (stdout, stderr, status) = match tokio::time::timeout(c.timeout, run).await {
        Ok((o, e, Ok(status))) => (o, e, status),
        Ok((_, _, Err(e))) => return Err(CommandError::Wait(program, e)),
        Err(_) => return Err(CommandError::Timeout(program, c.timeout.as_secs())),
    };
    let (stdout, stdout_cut) = stdout;
    let (stderr, _) = stderr;
    let stderr = String::from_utf8_lossy(&stderr);
    let stderr = redactor.redact(stderr.trim());
    if !status.success() {
        let stderr = if stderr.is_empty() {
            String::new()
        } else {
            format!(": {stderr}")
        };
        return Err(CommandError::Failed(program, status, stderr));
    }
    if stdout_cut {
        return Err(CommandError::TooMuch(program));
    }
    let json: serde_json::Value =
        serde_json::from_slice(&stdout).map_err(|e| CommandError::NotJson(program.clone(), e))?;
    redactor.add_json(&json);
    if json.get("access_token").and_then(|t| t.as_str()).is_none() {
        return Err(CommandError::NoAccessToken(program));
    }
    Ok(json)
}

/// Why a login command gave no token response. The stderr a failure
/// carries has been through the redactor.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("login.command is empty")]
    Empty,
    #[error("login.command `{0}` cannot start: {1}")]
    Start(String, std::io::Error),
    #[error("login.command `{0}`: no output pipes")]
    NoPipes(String),
    #[error("login.command `{0}`: {1}")]
    Wait(String, std::io::Error),
    #[error("login.command `{0}` did not finish within {1} s (login.timeout_s)")]
    Timeout(String, u64),
    #[error("login.command `{0}` failed ({1}){2}")]
    Failed(String, std::process::ExitStatus, String),
    #[error(
        "login.command `{0}` printed more than {MAX_OUTPUT} bytes on stdout: a token response is far smaller"
    )]
    TooMuch(String),
    #[error("login.command `{0}` printed no JSON token response on stdout ({1})")]
    NotJson(String, serde_json::Error),
    #[error("login.command `{0}` printed JSON without an `access_token` (RFC 6749 §5.1)")]
    NoAccessToken(String),
}

/// At most [`MAX_OUTPUT`] bytes of `stream`, and whether there was more
/// (read and dropped to its end).
async fn read_bounded(mut stream: impl tokio::io::AsyncRead + Unpin) -> (Vec<u8>, bool) {
    use tokio::io::AsyncReadExt;
    let mut kept = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut cut = false;
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = MAX_OUTPUT - kept.len();
                if n > room {
                    cut = true;
                }
                kept.extend_from_slice(&chunk[..n.min(room)]);
            }
        }
    }
    (kept, cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn output_past_the_bound_is_refused_not_kept() {
        let c = CommandLogin {
            argv: vec![
                "sh".into(),
                "-c".into(),
                "head -c 3000000 /dev/zero | tr '\\0' 'a'".into(),
            ],
            timeout: Duration::from_secs(20),
        };
        let err = run(&c, &Redactor::new()).await.unwrap_err();
        assert!(matches!(err, CommandError::TooMuch(_)), "{err}");
        assert!(err.to_string().contains("more than"), "{err}");
        let ok = CommandLogin {
            argv: vec![
                "sh".into(),
                "-c".into(),
                r#"echo '{"access_token":"at-1","token_type":"Bearer"}'"#.into(),
            ],
            timeout: Duration::from_secs(20),
        };
        assert_eq!(
            run(&ok, &Redactor::new()).await.unwrap()["access_token"],
            "at-1"
        );
    }
}
