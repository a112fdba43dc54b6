//! Threshold expressions evaluated after a load run: `p99<250ms`,
//! `p50<=10ms`, `error_rate<0.1%`, `rps>1000`, `replay_accepted==0`,
//! `dropped==0`; latency, rate and count metrics also per request kind
//! (`refresh.p99<50ms`, `password.error_rate<0.01`).
//! Any breach makes the run exit with [`crate::exit::THRESHOLD_BREACHED`].
//! A threshold on something the run did not measure (a violation whose
//! probe was off, a kind that sent nothing) is reported "not probed", not
//! passed on a zero.

use crate::error::BadValue;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// A latency quantile over all requests, in microseconds (`p50` … `p999`, `max`).
    Latency(f64),
    ErrorRate,
    Rps,
    Requests,
    Failures,
    ChainBreaks,
    ReplayAccepted,
    DuplicateTokens,
    RotationViolations,
    Dropped,
}

impl Metric {
    /// Metrics that exist per request kind.
    fn per_kind(self) -> bool {
        matches!(
            self,
            Metric::Latency(_)
                | Metric::ErrorRate
                | Metric::Rps
                | Metric::Requests
                | Metric::Failures
        )
    }

    /// The violation's name in `Observed::not_probed`.
    fn violation(self) -> Option<&'static str> {
        match self {
            Metric::ChainBreaks => Some("chain_breaks"),
            Metric::ReplayAccepted => Some("replay_accepted"),
            Metric::DuplicateTokens => Some("duplicate_tokens"),
            Metric::RotationViolations => Some("rotation_violations"),
            Metric::Dropped => Some("dropped"),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

/// One parsed threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub text: String,
    /// `refresh`, `password` or `replay`; `None`: all requests.
    pub kind: Option<String>,
    pub metric: Metric,
    pub op: Op,
    /// In the metric's unit: microseconds, a fraction, requests/s, a count.
    pub value: f64,
    /// The gate every run has unless told otherwise (`--max-error-rate`),
    /// not one the user gave.
    pub default: bool,
}

/// `thresholds` and, unless they hold an `error_rate` over all requests
/// already, the default gate `error_rate<MAX` (`--max-error-rate`; `None`:
/// no gate): a run whose requests mostly fail does not pass for want of a
/// threshold.
pub fn with_default_gate(
    mut thresholds: Vec<Threshold>,
    max_error_rate: Option<f64>,
) -> Vec<Threshold> {
    let given = thresholds
        .iter()
        .any(|t| t.metric == Metric::ErrorRate && t.kind.is_none());
    if let (Some(max), false) = (max_error_rate, given) {
        thresholds.push(Threshold {
            text: format!("error_rate<{}%", max * 100.0),
            kind: None,
            metric: Metric::ErrorRate,
            op: Op::Lt,
            value: max,
            default: true,
        });
    }
    thresholds
}

/// The figures a run produced for a set of requests (all, or one kind).
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// (quantile, microseconds)
    pub latency: Vec<(f64, f64)>,
    pub error_rate: f64,
    pub rps: f64,
    pub requests: f64,
    pub failures: f64,
}

/// The values a run produced, in the units thresholds compare.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// All requests.
    pub all: Figures,
    /// Per kind that sent at least one request.
    pub kinds: std::collections::BTreeMap<String, Figures>,
    pub chain_breaks: f64,
    pub dropped: f64,
    /// Violations (and `dropped`) the run could not see, with why.
    pub not_probed: std::collections::BTreeMap<String, String>,
    pub replay_accepted: f64,
    pub duplicate_tokens: f64,
    pub rotation_violations: f64,
}

/// A threshold after the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Verdict {
    pub threshold: String,
    /// The measured value, as the threshold writes it (`212ms`, `0.04%`).
    pub observed: String,
    pub passed: bool,
    /// Why the run could not measure it (then it is neither passed nor
    /// breached: `passed` stays true so that it does not fail the gate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_probed: Option<String>,
    /// The default error-rate gate (`--max-error-rate`), not a threshold
    /// the user gave.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
}

const NAMES: [&str; 15] = [
    "p50",
    "p90",
    "p95",
    "p99",
    "p999",
    "max",
    "error_rate",
    "rps",
    "requests",
    "failures",
    "chain_breaks",
    "replay_accepted",
    "duplicate_tokens",
    "rotation_violations",
    "dropped",
];

const KINDS: [&str; 4] = ["login", "password", "refresh", "replay"];

impl std::str::FromStr for Threshold {
    type Err = BadValue;
    fn from_str(text: &str) -> Result<Threshold, BadValue> {
        let t = text.trim();
        let ops = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("<", Op::Lt),
            (">", Op::Gt),
        ];
        let (at, op_text, op) = ops
            .iter()
            .filter_map(|(s, op)| t.find(s).map(|i| (i, *s, *op)))
            .min_by_key(|(i, s, _)| (*i, usize::MAX - s.len()))
            .ok_or_else(|| BadValue::new(text, "no comparison (<, <=, >, >=, ==)"))?;
        let full = t[..at].trim();
        let value = t[at + op_text.len()..].trim();
        if value.starts_with(['<', '>', '=', '!']) {
            return Err(BadValue::new(
                text,
                format!(
                    "one comparison, then a value: `{full}{op_text}{}`",
                    value.trim_start_matches(['<', '>', '=', '!'])
                ),
            ));
        }
        let (kind, name) = match full.split_once('.') {
            Some((k, n)) => {
                if !KINDS.contains(&k) {
                    let hint = crate::diag::did_you_mean(k, KINDS)
                        .map(|c| format!(" (did you mean `{c}`?)"))
                        .unwrap_or_default();
                    return Err(BadValue::new(
                        text,
                        format!("unknown request kind `{k}`{hint}; kinds: login refresh replay"),
                    ));
                }
                // `password` named the login before there were others.
                let k = if k == "password" { "login" } else { k };
                (Some(k.to_string()), n)
            }
            None => (None, full),
        };
        let metric = match name {
            "p50" => Metric::Latency(0.5),
            "p90" => Metric::Latency(0.9),
            "p95" => Metric::Latency(0.95),
            "p99" => Metric::Latency(0.99),
            "p999" => Metric::Latency(0.999),
            "max" => Metric::Latency(1.0),
            "error_rate" => Metric::ErrorRate,
            "rps" => Metric::Rps,
            "requests" => Metric::Requests,
            "failures" => Metric::Failures,
            "chain_breaks" => Metric::ChainBreaks,
            "replay_accepted" => Metric::ReplayAccepted,
            "duplicate_tokens" => Metric::DuplicateTokens,
            "rotation_violations" => Metric::RotationViolations,
            "dropped" => Metric::Dropped,
            other => {
                let hint = crate::diag::did_you_mean(other, NAMES)
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                return Err(BadValue::new(
                    text,
                    format!(
                        "unknown metric `{other}`{hint}; metrics: p50 p90 p95 p99 p999 max error_rate rps requests failures chain_breaks replay_accepted duplicate_tokens rotation_violations dropped (the first seven also per kind: refresh.p99)"
                    ),
                ));
            }
        };
        if kind.is_some() && !metric.per_kind() {
            return Err(BadValue::new(
                text,
                format!("`{name}` is counted over the whole run, not per kind; write `{name}`"),
            ));
        }
        let value = match metric {
            Metric::Latency(_) => {
                let d = humantime::parse_duration(value).map_err(|_| {
                    BadValue::new(
                        text,
                        "a latency needs a unit, e.g. `250ms`, `1.5s` is written `1500ms`",
                    )
                })?;
                d.as_secs_f64() * 1e6
            }
            Metric::ErrorRate => match value.strip_suffix('%') {
                Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
                None => value.parse::<f64>(),
            }
            .map_err(|_| {
                BadValue::new(text, "an error rate is a fraction or a percentage (`0.1%`)")
            })?,
            _ => value
                .parse::<f64>()
                .map_err(|_| BadValue::new(text, format!("`{value}` is not a number")))?,
        };
        if !value.is_finite() || value < 0.0 {
            return Err(BadValue::new(
                text,
                "the value must be a number of 0 or more",
            ));
        }
        Ok(Threshold {
            text: t.to_string(),
            kind,
            metric,
            op,
            value,
            default: false,
        })
    }
}

impl Threshold {
    /// Compares with what the run measured.
    pub fn judge(&self, o: &Observed) -> Verdict {
        let not_probed = |why: String| Verdict {
            threshold: self.text.clone(),
            observed: "not probed".into(),
            passed: true,
            not_probed: Some(why),
            default: self.default,
        };
        if let Some(why) = self.metric.violation().and_then(|v| o.not_probed.get(v)) {
            return not_probed(why.clone());
        }
        let figures = match &self.kind {
            None => &o.all,
            Some(k) => match o.kinds.get(k) {
                Some(f) => f,
                None => return not_probed(format!("the run sent no {k} request")),
            },
        };
        let actual = match self.metric {
            Metric::Latency(q) => figures
                .latency
                .iter()
                .find(|(x, _)| (*x - q).abs() < 1e-9)
                .map_or(0.0, |(_, v)| *v),
            Metric::ErrorRate => figures.error_rate,
            Metric::Rps => figures.rps,
            Metric::Requests => figures.requests,
            Metric::Failures => figures.failures,
            Metric::ChainBreaks => o.chain_breaks,
            Metric::ReplayAccepted => o.replay_accepted,
            Metric::DuplicateTokens => o.duplicate_tokens,
            Metric::RotationViolations => o.rotation_violations,
            Metric::Dropped => o.dropped,
        };
        let passed = match self.op {
            Op::Lt => actual < self.value,
            Op::Le => actual <= self.value,
            Op::Gt => actual > self.value,
            Op::Ge => actual >= self.value,
            Op::Eq => (actual - self.value).abs() < 1e-9,
        };
        let observed = match self.metric {
            Metric::Latency(_) => format!("{:.2}ms", actual / 1000.0),
            Metric::ErrorRate => format!("{:.3}%", actual * 100.0),
            Metric::Rps => format!("{actual:.1}"),
            _ => format!("{actual:.0}"),
        };
        Verdict {
            threshold: self.text.clone(),
            observed,
            passed,
            not_probed: None,
            default: self.default,
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The quantiles every report shows (and latency thresholds may name).
pub const QUANTILES: [(f64, &str); 6] = [
    (0.5, "p50"),
    (0.9, "p90"),
    (0.95, "p95"),
    (0.99, "p99"),
    (0.999, "p999"),
    (1.0, "max"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn observed() -> Observed {
        let all = Figures {
            latency: vec![(0.5, 4_000.0), (0.99, 212_000.0), (1.0, 900_000.0)],
            error_rate: 0.0004,
            rps: 1500.0,
            ..Figures::default()
        };
        let refresh = Figures {
            latency: vec![(0.5, 2_000.0), (0.99, 40_000.0), (1.0, 90_000.0)],
            error_rate: 0.0,
            rps: 1400.0,
            ..Figures::default()
        };
        Observed {
            all,
            kinds: [("refresh".to_string(), refresh)].into_iter().collect(),
            replay_accepted: 0.0,
            chain_breaks: 3.0,
            not_probed: [(
                "replay_accepted".to_string(),
                "no replay probes ran".to_string(),
            )]
            .into_iter()
            .collect(),
            ..Observed::default()
        }
    }

    #[test]
    fn thresholds_parse_and_judge() {
        let cases = [
            ("p99<250ms", true, "212.00ms"),
            ("p99 < 200ms", false, "212.00ms"),
            ("p50<=4ms", true, "4.00ms"),
            ("max<1s", true, "900.00ms"),
            ("error_rate<0.1%", true, "0.040%"),
            ("error_rate<0.0001", false, "0.040%"),
            ("rps>1000", true, "1500.0"),
            ("rps>=2000", false, "1500.0"),
            ("replay_accepted==0", true, "not probed"),
            ("chain_breaks==0", false, "3"),
            ("refresh.p99<50ms", true, "40.00ms"),
            ("refresh.p99<30ms", false, "40.00ms"),
            ("refresh.rps>1450", false, "1400.0"),
            ("password.error_rate<0.01", true, "not probed"),
        ];
        for (text, passed, shown) in cases {
            let t: Threshold = text.parse().unwrap_or_else(|e| panic!("{e}"));
            let v = t.judge(&observed());
            assert_eq!(v.passed, passed, "{text}");
            assert_eq!(v.observed, shown, "{text}");
        }
    }

    #[test]
    fn bad_thresholds_say_why() {
        for (text, says) in [
            ("p99<250", "unit"),
            ("p98<250ms", "unknown metric"),
            ("chain_break==0", "did you mean `chain_breaks`"),
            ("rps 10", "no comparison"),
            ("error_rate<lots", "percentage"),
            ("refrsh.p99<1ms", "did you mean `refresh`"),
            ("refresh.chain_breaks==0", "whole run"),
            // Issue 22: it blamed the unit.
            ("p99<<250", "one comparison, then a value: `p99<250`"),
            ("p99<=>250ms", "one comparison"),
        ] {
            let e = text.parse::<Threshold>().unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn the_default_error_gate_applies_unless_an_error_rate_is_given() {
        let gated = with_default_gate(vec!["p99<1s".parse().unwrap()], Some(0.05));
        assert_eq!(gated.len(), 2);
        assert!(gated[1].default && gated[1].text == "error_rate<5%");
        let mut o = observed();
        o.all.error_rate = 0.2;
        assert!(!gated[1].judge(&o).passed);
        let own = with_default_gate(vec!["error_rate<50%".parse().unwrap()], Some(0.05));
        assert_eq!(own.len(), 1, "the user's own error_rate replaces the gate");
        let per_kind =
            with_default_gate(vec!["refresh.error_rate<1%".parse().unwrap()], Some(0.05));
        assert_eq!(per_kind.len(), 2, "a per-kind rate is not the whole run's");
        assert_eq!(with_default_gate(Vec::new(), None).len(), 0);
    }
}
