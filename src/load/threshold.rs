//! Threshold expressions evaluated after a load run: `p99<250ms`,
//! `p50<=10ms`, `error_rate<0.1%`, `rps>1000`, `replay_accepted==0`.
//! Any breach makes the run exit with [`crate::exit::THRESHOLD_BREACHED`].

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
    pub metric: Metric,
    pub op: Op,
    /// In the metric's unit: microseconds, a fraction, requests/s, a count.
    pub value: f64,
}

/// The values a run produced, in the units thresholds compare.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// (quantile, microseconds)
    pub latency: Vec<(f64, f64)>,
    pub error_rate: f64,
    pub rps: f64,
    pub requests: f64,
    pub failures: f64,
    pub chain_breaks: f64,
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
}

const NAMES: [&str; 14] = [
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
];

impl std::str::FromStr for Threshold {
    type Err = String;
    fn from_str(text: &str) -> Result<Threshold, String> {
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
            .ok_or_else(|| format!("`{text}`: no comparison (<, <=, >, >=, ==)"))?;
        let name = t[..at].trim();
        let value = t[at + op_text.len()..].trim();
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
            other => {
                let hint = crate::diag::did_you_mean(other, NAMES)
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                return Err(format!(
                    "`{text}`: unknown metric `{other}`{hint}; metrics: p50 p90 p95 p99 p999 max error_rate rps requests failures chain_breaks replay_accepted duplicate_tokens rotation_violations"
                ));
            }
        };
        let value = match metric {
            Metric::Latency(_) => {
                let d = humantime::parse_duration(value).map_err(|_| {
                    format!(
                        "`{text}`: a latency needs a unit, e.g. `250ms`, `1.5s` is written `1500ms`"
                    )
                })?;
                d.as_secs_f64() * 1e6
            }
            Metric::ErrorRate => match value.strip_suffix('%') {
                Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
                None => value.parse::<f64>(),
            }
            .map_err(|_| {
                format!("`{text}`: an error rate is a fraction or a percentage (`0.1%`)")
            })?,
            _ => value
                .parse::<f64>()
                .map_err(|_| format!("`{text}`: `{value}` is not a number"))?,
        };
        if !value.is_finite() || value < 0.0 {
            return Err(format!("`{text}`: the value must be a number of 0 or more"));
        }
        Ok(Threshold {
            text: t.to_string(),
            metric,
            op,
            value,
        })
    }
}

impl Threshold {
    /// Compares with what the run measured.
    pub fn judge(&self, o: &Observed) -> Verdict {
        let actual = match self.metric {
            Metric::Latency(q) => o
                .latency
                .iter()
                .find(|(x, _)| (*x - q).abs() < 1e-9)
                .map_or(0.0, |(_, v)| *v),
            Metric::ErrorRate => o.error_rate,
            Metric::Rps => o.rps,
            Metric::Requests => o.requests,
            Metric::Failures => o.failures,
            Metric::ChainBreaks => o.chain_breaks,
            Metric::ReplayAccepted => o.replay_accepted,
            Metric::DuplicateTokens => o.duplicate_tokens,
            Metric::RotationViolations => o.rotation_violations,
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
        Observed {
            latency: vec![(0.5, 4_000.0), (0.99, 212_000.0), (1.0, 900_000.0)],
            error_rate: 0.0004,
            rps: 1500.0,
            replay_accepted: 0.0,
            chain_breaks: 3.0,
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
            ("replay_accepted==0", true, "0"),
            ("chain_breaks==0", false, "3"),
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
        ] {
            let e = text.parse::<Threshold>().unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
