//! The vocabulary of verdicts, shared by every layer: how much a check
//! weighs ([`Level`]) and why one could not be completed ([`ErrorClass`]).
//!
//! It lives apart so that the lower layers (`scenario`, `oauth`) can name
//! them without reaching up into `check`. Plain data; it uses nothing else
//! of the crate.
//!
//! May use: nothing else of the crate.

use serde::Serialize;

/// How much a failed check weighs (CONFORMANCE.md, "Levels").
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A failure fails the run.
    Must,
    /// A failure is a warning; fails the run only with `--strict`.
    Should,
    /// An observation; never fails.
    Info,
    /// Compared with what the target declares; a mismatch fails the run.
    Profile,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "must",
            Level::Should => "should",
            Level::Info => "info",
            Level::Profile => "profile",
        }
    }
}

/// Why a check could not be completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorClass {
    Connect,
    Dns,
    Timeout,
    Tls,
    ConnectionReset,
    /// This process ran out of file descriptors (EMFILE): ours, not the
    /// server's; raise `ulimit -n` or use fewer users.
    TooManyOpenFiles,
    BodyTooLarge,
    Protocol,
    /// A template or capture could not be resolved (a response lacked a member
    /// that a later step needs).
    MissingCapture,
    /// The target's clock-control endpoint failed.
    Clock,
    /// The request could not be built: a client assertion that cannot be
    /// signed, a client or user the target does not define.
    Request,
    Internal,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Connect => "connect",
            ErrorClass::Dns => "dns",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Tls => "tls",
            ErrorClass::ConnectionReset => "connection-reset",
            ErrorClass::TooManyOpenFiles => "too-many-open-files",
            ErrorClass::BodyTooLarge => "body-too-large",
            ErrorClass::Protocol => "protocol",
            ErrorClass::MissingCapture => "missing-capture",
            ErrorClass::Clock => "clock",
            ErrorClass::Request => "request",
            ErrorClass::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
