//! The error that ends a command: what went wrong, shown once at the edge,
//! and the exit code it stands for (the codes are `crate::exit`'s).
//!
//! Modules below keep their own typed errors (a [`Diagnostic`] for a file
//! the user wrote, `load::profile::ProfileError`, …); this is where they
//! meet, so that the exit code is chosen by the kind of failure and not by
//! whoever happens to print it.
//!
//! May use: `diag`, `exit`.

use crate::diag::{Diagnostic, Diagnostics};
use crate::exit;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file the user wrote, located at its line and field.
    #[error("{0}")]
    File(Diagnostic),
    /// Several such problems, all reported at once.
    #[error("{0}")]
    Files(Diagnostics),
    /// Flags or input the user can fix (exit 2).
    #[error("error: {0}")]
    Input(String),
    /// The target could not be reached, or refused its credentials (exit 3).
    #[error("error: {0}")]
    Unreachable(String),
    /// Ours: a bug, or an I/O failure writing a report (exit 70).
    #[error("error: {0}")]
    Internal(String),
}

impl Error {
    /// The process exit code this failure stands for.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::File(_) | Error::Files(_) | Error::Input(_) => exit::INVALID_INPUT,
            Error::Unreachable(_) => exit::TARGET_UNREACHABLE,
            Error::Internal(_) => exit::INTERNAL,
        }
    }
}

/// A flag's or a field's value that does not parse: the text given and
/// what to give instead. The `FromStr` of every typed flag value returns it,
/// so clap shows `invalid value '…' for '--flag': `…`: what to give`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{given}`: {want}")]
pub struct BadValue {
    pub given: String,
    pub want: String,
}

impl BadValue {
    pub fn new(given: impl Into<String>, want: impl Into<String>) -> BadValue {
        BadValue {
            given: given.into(),
            want: want.into(),
        }
    }

    /// Whether the advice mentions `text` (for tests and callers that
    /// branch on the kind of mistake).
    pub fn contains(&self, text: &str) -> bool {
        self.want.contains(text) || self.given.contains(text)
    }
}

impl From<Diagnostic> for Error {
    fn from(d: Diagnostic) -> Error {
        Error::File(d)
    }
}

impl From<Diagnostics> for Error {
    fn from(d: Diagnostics) -> Error {
        Error::Files(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_names_its_exit_code_and_prints_once() {
        let cases = [
            (Error::Input("--rate x".into()), exit::INVALID_INPUT),
            (
                Error::Unreachable("refused".into()),
                exit::TARGET_UNREACHABLE,
            ),
            (Error::Internal("disk full".into()), exit::INTERNAL),
        ];
        for (e, code) in cases {
            assert_eq!(e.exit_code(), code);
            assert!(e.to_string().starts_with("error: "), "{e}");
            assert!(!e.to_string().starts_with("error: error"), "{e}");
        }
    }
}
