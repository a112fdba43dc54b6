//! Waits: `5s`, `refresh_token_ttl + 1s`, `0.5 * refresh_token_ttl`.

use super::*;

/// A duration, possibly relative to what the target declares: a sum of
/// terms, each with its factor (`-1` for `- 10s`, `0.75` for
/// `0.75 * refresh_token_ttl`).
#[derive(Debug, Clone, PartialEq)]
pub struct WaitExpr {
    pub terms: Vec<(f64, WaitTerm)>,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitTerm {
    Fixed(Duration),
    AccessTokenTtl,
    RefreshTokenTtl,
    GracePeriod,
    RefreshTokenMaxLifetime,
    /// `timing.expires_in_tolerance_s`: waits that must outlast rounding.
    ExpiresInTolerance,
}

impl WaitTerm {
    /// The target key a term reads.
    pub fn name(self) -> &'static str {
        match self {
            WaitTerm::Fixed(_) => "fixed duration",
            WaitTerm::AccessTokenTtl => "behaviour.access_token_ttl_s",
            WaitTerm::RefreshTokenTtl => "behaviour.refresh_token_ttl_s",
            WaitTerm::GracePeriod => "behaviour.grace_period_s",
            WaitTerm::RefreshTokenMaxLifetime => "behaviour.refresh_token_max_lifetime_s",
            WaitTerm::ExpiresInTolerance => "timing.expires_in_tolerance_s",
        }
    }

    pub const NAMES: [&'static str; 5] = [
        "access_token_ttl",
        "refresh_token_ttl",
        "grace_period",
        "refresh_token_max_lifetime",
        "expires_in_tolerance",
    ];
}

/// What a wait's text gets wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WaitSyntax {
    #[error("`{0}` is not a factor: write e.g. `0.5 * refresh_token_ttl`")]
    Factor(String),
    #[error("the factor {0} is not between 0 and 10")]
    FactorRange(f64),
    #[error("`{term}` is not a duration ({why}) nor one of {names}{hint}", names = WaitTerm::NAMES.join(", "))]
    Term {
        term: String,
        why: String,
        hint: String,
    },
    #[error("a factor goes before a declared lifetime ({names}), not before `{0}`", names = WaitTerm::NAMES.join(", "))]
    FactorOnFixed(String),
    #[error("empty wait: write e.g. `5s` or `refresh_token_ttl + 1s`")]
    Empty,
}

/// `5s`, `1m 30s`, `refresh_token_ttl + 1s`, `access_token_ttl - 5s`,
/// `0.5 * refresh_token_ttl` (a factor from 0 to 10 before a declared
/// lifetime).
pub fn parse_wait(text: &str) -> Result<WaitExpr, WaitSyntax> {
    let mut terms = Vec::new();
    let mut sign = 1.0f64;
    let normalized = text.replace('+', " + ");
    let mut pending = String::new();
    let flush = |pending: &mut String,
                 sign: f64,
                 terms: &mut Vec<(f64, WaitTerm)>|
     -> Result<(), WaitSyntax> {
        let t = pending.trim();
        if t.is_empty() {
            return Ok(());
        }
        let (factor, t) = match t.split_once('*') {
            Some((f, name)) => {
                let f: f64 = f
                    .trim()
                    .parse()
                    .map_err(|_| WaitSyntax::Factor(f.trim().to_string()))?;
                if !(0.0..=10.0).contains(&f) {
                    return Err(WaitSyntax::FactorRange(f));
                }
                (f, name.trim())
            }
            None => (1.0, t),
        };
        let term = match t {
            "access_token_ttl" => WaitTerm::AccessTokenTtl,
            "refresh_token_ttl" => WaitTerm::RefreshTokenTtl,
            "grace_period" => WaitTerm::GracePeriod,
            "refresh_token_max_lifetime" => WaitTerm::RefreshTokenMaxLifetime,
            "expires_in_tolerance" => WaitTerm::ExpiresInTolerance,
            _ => WaitTerm::Fixed(humantime::parse_duration(t).map_err(|e| {
                let hint = did_you_mean(t, WaitTerm::NAMES)
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                WaitSyntax::Term {
                    term: t.to_string(),
                    why: e.to_string(),
                    hint,
                }
            })?),
        };
        if factor != 1.0 && matches!(term, WaitTerm::Fixed(_)) {
            return Err(WaitSyntax::FactorOnFixed(t.to_string()));
        }
        terms.push((sign * factor, term));
        pending.clear();
        Ok(())
    };
    for word in normalized.split_whitespace() {
        match word {
            "+" | "-" => {
                flush(&mut pending, sign, &mut terms)?;
                sign = if word == "+" { 1.0 } else { -1.0 };
            }
            w => {
                if !pending.is_empty() {
                    pending.push(' ');
                }
                pending.push_str(w);
            }
        }
    }
    flush(&mut pending, sign, &mut terms)?;
    if terms.is_empty() {
        return Err(WaitSyntax::Empty);
    }
    Ok(WaitExpr {
        terms,
        text: text.to_string(),
    })
}
