//! User enumeration by timing (PW-BADCRED's SHOULD, RFC 6819 §4.4.3.6),
//! measured without a canary account.
//!
//! The probe sends, in pairs, a login with an unknown user and a login
//! with the step's user and a wrong password, alternating which goes first
//! so that drift on the way falls on both alike. After at most
//! `reset_every` wrong passwords in a row it logs the user in with the right
//! one: lockout counters (Keycloak, WSO2, Active Directory) restart on a
//! successful login, so an account never sees more wrong passwords in a row
//! than `reset_every`, far below common thresholds. An answer `429`, or one
//! carrying `Retry-After`, stops the probe: a server that throttles is not
//! fed more failures. A correct login refused midway stops it too, and says
//! so.
//!
//! The judgement is statistical: the two samples are compared by the
//! Mann-Whitney U test (two-sided, normal approximation with a tie
//! correction) and Cliff's δ as the effect size. A finding needs all of: a
//! large effect (|δ| ≥ 0.8), confidence (p < 0.01) and a difference of
//! medians above `min_difference_ms`. The report always gives the medians,
//! δ and p, so a reader can weigh a near miss.

use super::exec::{Runner, Stop, Trace, answer};
use super::expect::Mismatch;
use super::result::StepRecord;
use crate::scenario::compile::{GrantRequest, Step};
use crate::scenario::model::TimingProbe;
use crate::scenario::template::Template;
use std::time::Instant;

/// Two latency samples compared.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Median of the first sample and of the second, in ms.
    pub medians: (f64, f64),
    /// Cliff's δ: P(second > first) − P(second < first), in [-1, 1].
    pub delta: f64,
    /// Two-sided p-value of the Mann-Whitney U test.
    pub p: f64,
}

impl Comparison {
    pub fn new(first: &[f64], second: &[f64]) -> Comparison {
        Comparison {
            medians: (median(first), median(second)),
            delta: cliffs_delta(first, second),
            p: mann_whitney_p(first, second),
        }
    }

    /// A large effect, shown with confidence, and big enough to matter.
    pub fn tells_apart(&self, min_difference_ms: f64) -> bool {
        self.delta.abs() >= 0.8
            && self.p < 0.01
            && (self.medians.1 - self.medians.0).abs() > min_difference_ms
    }

    pub fn describe(&self, first: &str, second: &str, n: usize) -> String {
        format!(
            "{first}: median {:.1} ms; {second}: median {:.1} ms ({n} each); Cliff's δ = {:.2}, p {} (Mann-Whitney U)",
            self.medians.0,
            self.medians.1,
            self.delta,
            if self.p < 0.001 {
                "< 0.001".to_string()
            } else {
                format!("= {:.3}", self.p)
            }
        )
    }
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn cliffs_delta(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let mut more = 0i64;
    for x in a {
        for y in b {
            more += match y.total_cmp(x) {
                std::cmp::Ordering::Greater => 1,
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
            };
        }
    }
    more as f64 / (a.len() * b.len()) as f64
}

/// Two-sided p-value of the Mann-Whitney U test, by the normal
/// approximation with ties corrected (fine from about 8 per sample).
fn mann_whitney_p(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    if a.is_empty() || b.is_empty() {
        return 1.0;
    }
    // Ranks over the pooled sample, ties given their mean rank.
    let mut pooled: Vec<(f64, bool)> = a
        .iter()
        .map(|&x| (x, true))
        .chain(b.iter().map(|&y| (y, false)))
        .collect();
    pooled.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = pooled.len();
    let (mut rank_a, mut ties) = (0.0, 0.0);
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && pooled[j + 1].0 == pooled[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        rank_a += rank * pooled[i..=j].iter().filter(|p| p.1).count() as f64;
        i = j + 1;
    }
    let u = rank_a - n1 * (n1 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let total = n1 + n2;
    let var = n1 * n2 / 12.0 * ((total + 1.0) - ties / (total * (total - 1.0)));
    if var <= 0.0 {
        return 1.0;
    }
    let z = ((u - mean).abs() - 0.5).max(0.0) / var.sqrt();
    (2.0 * (1.0 - normal_cdf(z))).clamp(0.0, 1.0)
}

/// Φ(z), from the complementary error function (Abramowitz-Stegun 7.1.26,
/// error below 1.5e-7).
fn normal_cdf(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    let erf = if x >= 0.0 { erf } else { -erf };
    0.5 * (1.0 + erf)
}

/// Which login of the probe.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Unknown,
    Wrong,
    Right,
}

impl Runner {
    /// The probe of a `timing_probe` step (module docs).
    pub(super) async fn timing_probe(
        &self,
        step: &Step,
        g: &GrantRequest,
        probe: &TimingProbe,
        ctx: &mut super::context::Context<'_>,
        trace: &mut Trace<'_>,
    ) -> Result<(), Stop> {
        let random = Template::parse("{{ random }}").expect("a valid template");
        let unknown = GrantRequest {
            username: Some(random.clone()),
            password: Some(random.clone()),
            ..g.clone()
        };
        let wrong = GrantRequest {
            password: Some(random),
            ..g.clone()
        };
        // The premise: the user signs in. It also restarts any lockout
        // counter other scenarios left behind.
        if let Probed::Unexpected(refused) =
            self.probe_login(step, g, Kind::Right, ctx, trace).await?
        {
            return Err(Stop::Skip(format!(
                "not applicable: the password grant does not sign this user in ({refused}); there is no known user to time"
            )));
        }
        let (mut unknown_ms, mut wrong_ms) = (Vec::new(), Vec::new());
        let mut wrong_in_a_row = 0;
        for i in 0..probe.samples {
            let order = if i % 2 == 0 {
                [Kind::Unknown, Kind::Wrong]
            } else {
                [Kind::Wrong, Kind::Unknown]
            };
            for kind in order {
                let (req, into) = match kind {
                    Kind::Unknown => (&unknown, &mut unknown_ms),
                    _ => (&wrong, &mut wrong_ms),
                };
                match self.probe_login(step, req, kind, ctx, trace).await? {
                    Probed::Took(ms) => into.push(ms),
                    Probed::Unexpected(got) => return Err(unexpected(step, kind, &got)),
                }
            }
            wrong_in_a_row += 1;
            if wrong_in_a_row >= probe.reset_every {
                if let Probed::Unexpected(got) =
                    self.probe_login(step, g, Kind::Right, ctx, trace).await?
                {
                    return Err(unexpected(step, Kind::Right, &got));
                }
                wrong_in_a_row = 0;
            }
        }
        let c = Comparison::new(&unknown_ms, &wrong_ms);
        let summary = c.describe("unknown user", "wrong password", unknown_ms.len());
        trace.records.push(StepRecord {
            name: step.name.clone(),
            summary: summary.clone(),
            exchange: None,
        });
        if c.tells_apart(probe.min_difference_ms) {
            let m = Mismatch::new(
                "login latency (a measurement)",
                format!(
                    "an unknown user and a wrong password answered alike in time: no difference of medians over {} ms with a large effect (|δ| ≥ 0.8) at p < 0.01",
                    probe.min_difference_ms
                ),
                format!("{summary}: the answers tell existing users apart by their timing"),
            );
            return Err(self.finding(step, m, None));
        }
        Ok(())
    }

    /// One login of the probe: its latency in ms when it got what its kind
    /// must get (a refusal for the wrong ones, tokens for the right one),
    /// else the answer it got. A throttling answer stops the probe.
    async fn probe_login(
        &self,
        step: &Step,
        g: &GrantRequest,
        kind: Kind,
        ctx: &mut super::context::Context<'_>,
        trace: &mut Trace<'_>,
    ) -> Result<Probed, Stop> {
        let wire = super::request::grant_request(g, ctx).map_err(|e| Stop::build(step, e))?;
        let started = Instant::now();
        let sent = self.send(&wire).await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let r = match sent.response {
            Ok(r) => r,
            Err(e) => return Err(Stop::transport(step, e)),
        };
        let what = match kind {
            Kind::Unknown => "an unknown user",
            Kind::Wrong => "a wrong password",
            Kind::Right => "the right password",
        };
        if r.status == 429 || r.header("retry-after").is_some() {
            trace.records.push(self.step_record(
                step,
                format!("{what}: {}", answer(&r)),
                sent.record,
            ));
            return Err(Stop::Skip(format!(
                "not applicable: the server throttles failed logins ({}{}); the probe stopped rather than feed its lockout",
                answer(&r),
                r.header("retry-after")
                    .map(|s| format!(", Retry-After: {s}"))
                    .unwrap_or_default()
            )));
        }
        let ok = match kind {
            Kind::Right => {
                (200..300).contains(&r.status) && super::expect::error_code(&r).is_none()
            }
            // How a refusal is shaped is ER-STATUS's business: an `error`
            // member under a 200 refuses as well.
            _ => (400..500).contains(&r.status) || super::expect::error_code(&r).is_some(),
        };
        if !ok {
            trace.records.push(self.step_record(
                step,
                format!("{what}: {}", answer(&r)),
                sent.record,
            ));
            return Ok(Probed::Unexpected(answer(&r)));
        }
        Ok(Probed::Took(ms))
    }
}

/// What one login of the probe got: the time it took, or an answer its
/// kind must not get (shown as `400 invalid_grant`).
enum Probed {
    Took(f64),
    Unexpected(String),
}

/// A login midway that did not get what its kind must get.
fn unexpected(step: &Step, kind: Kind, got: &str) -> Stop {
    Stop::Blocked {
        step: step.name.clone(),
        by: match kind {
            Kind::Right => format!(
                "the right password was refused between wrong ones ({got}): the account may be throttled or locked; the probe stopped"
            ),
            Kind::Unknown => format!(
                "an unknown user was not refused ({got}): PW-BADCRED's MUST judges that; nothing to time"
            ),
            Kind::Wrong => format!(
                "a wrong password was not refused ({got}): PW-BADCRED's MUST judges that; nothing to time"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_samples_show_no_difference() {
        let a = [1.0, 1.2, 0.9, 1.1, 1.0, 1.3, 0.8, 1.2, 1.1, 1.0];
        let c = Comparison::new(&a, &a);
        assert_eq!(c.delta, 0.0);
        assert!(c.p > 0.9, "{c:?}");
        assert!(!c.tells_apart(5.0));
    }

    #[test]
    fn a_slow_wrong_password_is_told_apart() {
        let unknown: Vec<f64> = (0..12).map(|i| 1.0 + f64::from(i % 4) * 0.3).collect();
        let wrong: Vec<f64> = unknown.iter().map(|x| x + 25.0).collect();
        let c = Comparison::new(&unknown, &wrong);
        assert_eq!(c.delta, 1.0);
        assert!(c.p < 0.001, "{c:?}");
        assert!(c.tells_apart(5.0));
        // The same effect under the reporting floor is not reported.
        assert!(!c.tells_apart(30.0));
        assert!(
            c.describe("unknown user", "wrong password", 12)
                .contains("Cliff's δ = 1.00, p < 0.001")
        );
    }

    #[test]
    fn overlapping_noise_is_not_confident() {
        let a = [1.0, 5.0, 2.0, 8.0, 3.0, 1.5, 9.0, 2.5];
        let b = [2.0, 6.0, 1.0, 9.5, 3.5, 1.2, 7.0, 4.0];
        let c = Comparison::new(&a, &b);
        assert!(c.p > 0.1, "{c:?}");
        assert!(!c.tells_apart(0.0));
    }

    #[test]
    fn the_p_value_matches_a_known_case() {
        // 8 against 8, fully separated: exact two-sided p = 2/C(16,8) ≈
        // 0.00016; the normal approximation gives about 0.0009.
        let a: Vec<f64> = (0..8).map(f64::from).collect();
        let b: Vec<f64> = (10..18).map(f64::from).collect();
        let p = mann_whitney_p(&a, &b);
        assert!((0.0001..0.002).contains(&p), "{p}");
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
    }
}
