//! What a load run measures: latency histograms per request kind (HDR,
//! microseconds), counts by OAuth error code and by HTTP status, the
//! correctness violations, and a per-second timeline.
//!
//! [`Stats`] is mergeable: each runtime (thread, and later process or
//! machine) keeps its own and [`Stats::merge`] adds them up, histograms
//! included, so percentiles stay exact over the whole run.

use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::time::Duration;

/// The kinds of request a virtual user sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// The password grant (login, and re-login after a broken chain).
    Password,
    /// A refresh with the latest refresh token.
    Refresh,
    /// A replay of an already rotated refresh token (a probe).
    Replay,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Password, Kind::Refresh, Kind::Replay];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Password => "password",
            Kind::Refresh => "refresh",
            Kind::Replay => "replay",
        }
    }
}

/// Latencies up to an hour, 3 significant digits.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// Correctness under load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations {
    /// Refreshes refused with `invalid_grant`: the user's chain broke and it
    /// logged in again.
    pub chain_breaks: u64,
    /// Replays of a rotated refresh token that succeeded (on a server that
    /// declares rotation).
    pub replay_accepted: u64,
    /// Tokens issued more than once during the run.
    pub duplicate_tokens: u64,
    /// Refreshes that returned no new refresh token on a server that
    /// declares rotation.
    pub rotation_violations: u64,
}

impl Violations {
    fn merge(&mut self, o: &Violations) {
        self.chain_breaks += o.chain_breaks;
        self.replay_accepted += o.replay_accepted;
        self.duplicate_tokens += o.duplicate_tokens;
        self.rotation_violations += o.rotation_violations;
    }
}

/// One second of the run.
#[derive(Debug, Clone)]
pub struct Second {
    pub requests: u64,
    pub errors: u64,
    pub latency: Histogram<u64>,
}

impl Default for Second {
    fn default() -> Second {
        Second {
            requests: 0,
            errors: 0,
            latency: Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("valid bounds"),
        }
    }
}

/// How one request ended, as the statistics see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer.
    Ok,
    /// An HTTP answer other than 2xx, with its OAuth `error` if any.
    Status(u16, Option<String>),
    /// No HTTP answer: the transport failure's class (`timeout`, …).
    Transport(String),
}

/// Everything a run measured.
#[derive(Debug, Clone)]
pub struct Stats {
    pub latency: BTreeMap<Kind, Histogram<u64>>,
    pub requests: u64,
    pub failures: u64,
    /// Refreshes that succeeded: a run with none exits non-zero.
    pub refresh_ok: u64,
    /// Failures by OAuth `error` code (`-` when the answer had none).
    pub by_code: BTreeMap<String, u64>,
    /// Answers by HTTP status; transport failures as `transport:CLASS`.
    pub by_status: BTreeMap<String, u64>,
    pub violations: Violations,
    pub timeline: Vec<Second>,
}

impl Default for Stats {
    fn default() -> Stats {
        Stats {
            latency: Kind::ALL.iter().map(|k| (*k, histogram())).collect(),
            requests: 0,
            failures: 0,
            refresh_ok: 0,
            by_code: BTreeMap::new(),
            by_status: BTreeMap::new(),
            violations: Violations::default(),
            timeline: Vec::new(),
        }
    }
}

impl Stats {
    /// Records one request of `kind` that took `elapsed`, `at` seconds into
    /// the run. A replay probe's expected refusal is not a failure.
    pub fn record(&mut self, kind: Kind, elapsed: Duration, at: Duration, outcome: &Outcome) {
        let us = (elapsed.as_micros() as u64).clamp(1, 3_600_000_000);
        if let Some(h) = self.latency.get_mut(&kind) {
            h.saturating_record(us);
        }
        self.requests += 1;
        if kind == Kind::Refresh && *outcome == Outcome::Ok {
            self.refresh_ok += 1;
        }
        let failed = match outcome {
            Outcome::Ok => false,
            Outcome::Status(..) | Outcome::Transport(_) => kind != Kind::Replay,
        };
        let status = match outcome {
            Outcome::Ok => "2xx".to_string(),
            Outcome::Status(s, _) => s.to_string(),
            Outcome::Transport(class) => format!("transport:{class}"),
        };
        *self.by_status.entry(status).or_default() += 1;
        if failed {
            self.failures += 1;
            let code = match outcome {
                Outcome::Status(_, Some(code)) => code.clone(),
                Outcome::Status(_, None) => "-".to_string(),
                Outcome::Transport(class) => format!("transport:{class}"),
                Outcome::Ok => unreachable!("not a failure"),
            };
            *self.by_code.entry(code).or_default() += 1;
        }
        let second = at.as_secs() as usize;
        if self.timeline.len() <= second {
            self.timeline.resize_with(second + 1, Second::default);
        }
        let s = &mut self.timeline[second];
        s.requests += 1;
        if failed {
            s.errors += 1;
        }
        s.latency.saturating_record(us);
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Stats) {
        for (k, h) in &other.latency {
            self.latency
                .entry(*k)
                .or_insert_with(histogram)
                .add(h)
                .expect("histograms with the same bounds");
        }
        self.requests += other.requests;
        self.failures += other.failures;
        self.refresh_ok += other.refresh_ok;
        for (k, v) in &other.by_code {
            *self.by_code.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.by_status {
            *self.by_status.entry(k.clone()).or_default() += v;
        }
        self.violations.merge(&other.violations);
        if self.timeline.len() < other.timeline.len() {
            self.timeline
                .resize_with(other.timeline.len(), Second::default);
        }
        for (mine, theirs) in self.timeline.iter_mut().zip(&other.timeline) {
            mine.requests += theirs.requests;
            mine.errors += theirs.errors;
            let _ = mine.latency.add(&theirs.latency);
        }
    }

    /// All request kinds' latencies together.
    pub fn all_latency(&self) -> Histogram<u64> {
        let mut all = histogram();
        for h in self.latency.values() {
            let _ = all.add(h);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn counts_add_up_and_replay_refusals_are_not_failures() {
        let mut s = Stats::default();
        s.record(Kind::Password, ms(2), ms(0), &Outcome::Ok);
        s.record(Kind::Refresh, ms(1), ms(10), &Outcome::Ok);
        s.record(
            Kind::Refresh,
            ms(1),
            ms(1100),
            &Outcome::Status(400, Some("invalid_grant".into())),
        );
        s.record(
            Kind::Replay,
            ms(1),
            ms(1200),
            &Outcome::Status(400, Some("invalid_grant".into())),
        );
        s.record(
            Kind::Refresh,
            ms(5),
            ms(2500),
            &Outcome::Transport("timeout".into()),
        );
        assert_eq!(s.requests, 5);
        assert_eq!(s.failures, 2);
        assert_eq!(s.by_code["invalid_grant"], 1);
        assert_eq!(s.by_code["transport:timeout"], 1);
        assert_eq!(s.by_status["400"], 2);
        assert_eq!(s.by_status["2xx"], 2);
        assert_eq!(s.timeline.len(), 3);
        assert_eq!(s.timeline[1].requests, 2);
        assert_eq!(s.timeline[1].errors, 1);
        assert_eq!(s.latency[&Kind::Refresh].len(), 3);
    }

    #[test]
    fn merged_stats_equal_one_stats_fed_everything() {
        let outcomes = [
            Outcome::Ok,
            Outcome::Status(429, None),
            Outcome::Ok,
            Outcome::Transport("connect".into()),
        ];
        let (mut a, mut b, mut whole) = (Stats::default(), Stats::default(), Stats::default());
        for (i, o) in outcomes.iter().cycle().take(400).enumerate() {
            let (kind, took, at) = (Kind::ALL[i % 3], ms(i as u64 % 37 + 1), ms(i as u64 * 13));
            whole.record(kind, took, at, o);
            if i % 2 == 0 { &mut a } else { &mut b }.record(kind, took, at, o);
        }
        a.violations.chain_breaks = 2;
        b.violations.chain_breaks = 3;
        whole.violations.chain_breaks = 5;
        a.merge(&b);
        assert_eq!(a.requests, whole.requests);
        assert_eq!(a.failures, whole.failures);
        assert_eq!(a.by_code, whole.by_code);
        assert_eq!(a.by_status, whole.by_status);
        assert_eq!(a.violations, whole.violations);
        for k in Kind::ALL {
            assert_eq!(a.latency[&k], whole.latency[&k]);
        }
        assert_eq!(a.timeline.len(), whole.timeline.len());
        assert_eq!(
            a.all_latency().value_at_quantile(0.99),
            whole.all_latency().value_at_quantile(0.99)
        );
    }
}
