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

/// `5s`, `1m 30s`, `refresh_token_ttl + 1s`, `access_token_ttl - 5s`,
/// `0.5 * refresh_token_ttl` (a factor from 0 to 10 before a declared
/// lifetime).
pub fn parse_wait(text: &str) -> Result<WaitExpr, String> {
    let mut terms = Vec::new();
    let mut sign = 1.0f64;
    let normalized = text.replace('+', " + ");
    let mut pending = String::new();
    let flush =
        |pending: &mut String, sign: f64, terms: &mut Vec<(f64, WaitTerm)>| -> Result<(), String> {
            let t = pending.trim();
            if t.is_empty() {
                return Ok(());
            }
            let (factor, t) = match t.split_once('*') {
                Some((f, name)) => {
                    let f: f64 = f.trim().parse().map_err(|_| {
                        format!(
                            "`{}` is not a factor: write e.g. `0.5 * refresh_token_ttl`",
                            f.trim()
                        )
                    })?;
                    if !(0.0..=10.0).contains(&f) {
                        return Err(format!("the factor {f} is not between 0 and 10"));
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
                    format!(
                        "`{t}` is not a duration ({e}) nor one of {}{hint}",
                        WaitTerm::NAMES.join(", ")
                    )
                })?),
            };
            if factor != 1.0 && matches!(term, WaitTerm::Fixed(_)) {
                return Err(format!(
                    "a factor goes before a declared lifetime ({}), not before `{t}`",
                    WaitTerm::NAMES.join(", ")
                ));
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
        return Err("empty wait: write e.g. `5s` or `refresh_token_ttl + 1s`".into());
    }
    Ok(WaitExpr {
        terms,
        text: text.to_string(),
    })
}
