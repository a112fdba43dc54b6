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
    /// A login the target's way (`login.grant`: the password grant, the
    /// code flow through its pages, a JWT user assertion), and re-login
    /// after a broken chain. Its latency is the whole login's.
    Login,
    /// A refresh with the latest refresh token.
    Refresh,
    /// A replay of an already rotated refresh token (a probe).
    Replay,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Login, Kind::Refresh, Kind::Replay];

    /// The kind named `name` (`refresh`).
    pub fn named(name: &str) -> Option<Kind> {
        // `password` was the login's name before other logins existed.
        if name == "password" {
            return Some(Kind::Login);
        }
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Login => "login",
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

/// Most buckets a timeline holds: past it, buckets double in width (two
/// neighbours merged), so a timeline's memory does not grow with run time
/// (600 buckets: 1 s each up to 10 minutes, 256 s each at 24 hours).
pub const MAX_BUCKETS: usize = 600;

/// Most distinct error codes a bucket keeps apart; the rest are `other`.
const MAX_CODES_PER_BUCKET: usize = 8;

/// A coarse latency histogram for a bucket (also how reports carry each
/// timeline entry's, so that merged timelines stay exact) of the timeline: one significant
/// digit (about 6 % resolution), ≈4 KB, enough for a chart.
pub fn coarse_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 1).expect("valid bounds")
}

/// One bucket of the run's timeline: `Timeline::step_s` seconds.
#[derive(Debug, Clone)]
pub struct Bucket {
    /// Requests by kind (index: `Kind as usize`).
    pub requests: [u64; 3],
    pub errors: u64,
    /// Failures by OAuth error code (at most a few, the rest `other`).
    pub errors_by_code: BTreeMap<String, u64>,
    pub latency: Histogram<u64>,
    /// Most users (closed model) or iterations in flight (open model) seen.
    pub active: u64,
    /// Iterations that were due and could not start (open model).
    pub dropped: u64,
}

impl Default for Bucket {
    fn default() -> Bucket {
        Bucket {
            requests: [0; 3],
            errors: 0,
            errors_by_code: BTreeMap::new(),
            latency: coarse_histogram(),
            active: 0,
            dropped: 0,
        }
    }
}

impl Bucket {
    pub fn total(&self) -> u64 {
        self.requests.iter().sum()
    }

    /// Adds another interval of the same run.
    pub fn add(&mut self, o: &Bucket) {
        self.add_with(o, false);
    }

    /// Adds `o`; the active gauges are added (`sum_active`: two shards'
    /// users at once) or their highest kept (one run's intervals).
    fn add_with(&mut self, o: &Bucket, sum_active: bool) {
        for (a, b) in self.requests.iter_mut().zip(o.requests) {
            *a += b;
        }
        self.errors += o.errors;
        for (code, n) in &o.errors_by_code {
            self.count_code(code, *n);
        }
        let _ = self.latency.add(&o.latency);
        self.active = if sum_active {
            self.active + o.active
        } else {
            self.active.max(o.active)
        };
        self.dropped += o.dropped;
    }

    fn count_code(&mut self, code: &str, n: u64) {
        let key = if self.errors_by_code.contains_key(code)
            || self.errors_by_code.len() < MAX_CODES_PER_BUCKET
        {
            code
        } else {
            "other"
        };
        *self.errors_by_code.entry(key.to_string()).or_default() += n;
    }
}

/// The run over time, in at most [`MAX_BUCKETS`] buckets of `step_s`
/// seconds each.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub step_s: u64,
    pub buckets: Vec<Bucket>,
}

impl Default for Timeline {
    fn default() -> Timeline {
        Timeline {
            step_s: 1,
            buckets: Vec::new(),
        }
    }
}

impl Timeline {
    /// The bucket that holds second `at` of the run (made, and the buckets
    /// widened, as needed).
    pub fn at(&mut self, at: Duration) -> &mut Bucket {
        let second = at.as_secs();
        while second / self.step_s >= MAX_BUCKETS as u64 {
            self.widen();
        }
        let i = (second / self.step_s) as usize;
        if self.buckets.len() <= i {
            self.buckets.resize_with(i + 1, Bucket::default);
        }
        &mut self.buckets[i]
    }

    /// Doubles the bucket width: neighbours merged.
    fn widen(&mut self) {
        let old = std::mem::take(&mut self.buckets);
        let mut it = old.into_iter();
        while let Some(mut a) = it.next() {
            if let Some(b) = it.next() {
                a.add(&b);
            }
            self.buckets.push(a);
        }
        self.step_s *= 2;
    }

    /// Adds `other` (widened to the coarser of the two steps).
    pub fn merge(&mut self, other: &Timeline) {
        self.merge_with(other, false);
    }

    /// Adds another shard's timeline: as `merge`, the active gauges summed.
    pub fn merge_shard(&mut self, other: &Timeline) {
        self.merge_with(other, true);
    }

    fn merge_with(&mut self, other: &Timeline, sum_active: bool) {
        let mut other = other.clone();
        while self.step_s < other.step_s {
            self.widen();
        }
        while other.step_s < self.step_s {
            other.widen();
        }
        if self.buckets.len() < other.buckets.len() {
            self.buckets
                .resize_with(other.buckets.len(), Bucket::default);
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            mine.add_with(theirs, sum_active);
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

impl Outcome {
    /// Whether it counts as a failure of a request of `kind`: a replay probe
    /// refused is what it should get (an expected refusal), not a failure.
    pub fn failed(&self, kind: Kind) -> bool {
        match self {
            Outcome::Ok => false,
            Outcome::Status(..) => kind != Kind::Replay,
            Outcome::Transport(_) => true,
        }
    }
}

/// Failures kept as exchanges, per runtime and in a report.
pub const MAX_SAMPLES: usize = 20;

/// A failed request of a load run, as it went and came back: every secret
/// a fingerprint, as in every report.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct FailureSample {
    /// Seconds into the run it was sent.
    pub at_s: f64,
    /// `login`, `refresh` or `replay`.
    pub kind: String,
    /// `400 invalid_grant`, or the transport failure (`timeout`, `reset`).
    pub outcome: String,
    pub exchange: crate::oauth::record::Exchange,
}

/// Everything a run measured.
#[derive(Debug, Clone)]
pub struct Stats {
    /// The first failures of the run, each as its exchange, redacted
    /// (at most [`MAX_SAMPLES`]): what `--report har=PATH` shows.
    pub samples: Vec<FailureSample>,
    pub latency: BTreeMap<Kind, Histogram<u64>>,
    /// Open model: latency from each iteration's intended start (corrected
    /// for coordinated omission); empty in the closed model.
    pub corrected: BTreeMap<Kind, Histogram<u64>>,
    pub requests: u64,
    pub failures: u64,
    /// Failures by kind (a replay's refusal is not one).
    pub failures_by_kind: BTreeMap<Kind, u64>,
    /// Open model: iterations due, and those that could not start because
    /// `max_in_flight` were running.
    pub scheduled: u64,
    pub dropped: u64,
    /// Open model: requests sent before the schedule began (warm-up).
    pub warm_up: u64,
    /// Refreshes that succeeded: a run with none exits non-zero.
    pub refresh_ok: u64,
    /// Logins that succeeded (sessions started, chains begun).
    pub logins_ok: u64,
    /// Users, chains or sessions that logged in at least once.
    pub started: u64,
    /// Requests of the logins' front channels (pages, redirects), beside
    /// their token requests: what the code flow costs the server.
    pub login_hops: u64,
    /// Replay probes refused, as they should be: answers, not failures.
    pub expected_refusals: u64,
    /// Failures by OAuth `error` code (`-` when the answer had none).
    pub by_code: BTreeMap<String, u64>,
    /// Answers by HTTP status; transport failures as `transport:CLASS`.
    pub by_status: BTreeMap<String, u64>,
    pub violations: Violations,
    pub timeline: Timeline,
    /// DPoP: time to sign each proof (empty without DPoP).
    pub proof: Histogram<u64>,
    /// Connections the hot path opened: the time from connect to ready
    /// (TCP, and the TLS handshake on HTTPS), apart from the requests.
    pub connect: Histogram<u64>,
    /// Of those over TLS: full handshakes, and resumed ones (a session
    /// ticket or id of an earlier connection).
    pub tls_full: u64,
    pub tls_resumed: u64,
}

impl Default for Stats {
    fn default() -> Stats {
        Stats {
            samples: Vec::new(),
            latency: Kind::ALL.iter().map(|k| (*k, histogram())).collect(),
            corrected: BTreeMap::new(),
            requests: 0,
            failures: 0,
            failures_by_kind: BTreeMap::new(),
            scheduled: 0,
            dropped: 0,
            warm_up: 0,
            refresh_ok: 0,
            logins_ok: 0,
            started: 0,
            login_hops: 0,
            expected_refusals: 0,
            by_code: BTreeMap::new(),
            by_status: BTreeMap::new(),
            violations: Violations::default(),
            timeline: Timeline::default(),
            proof: histogram(),
            connect: histogram(),
            tls_full: 0,
            tls_resumed: 0,
        }
    }
}

impl Stats {
    /// Records one request of `kind` that took `elapsed`, `at` seconds into
    /// the run. A replay probe's expected refusal is not a failure.
    ///
    /// Only answers that count as answered enter the latency histograms: a
    /// failure (an unexpected refusal, or no answer at all: a refused
    /// connect takes microseconds) is counted by its class instead, so that
    /// it cannot pull the percentiles down. Returns whether it failed.
    pub fn record(
        &mut self,
        kind: Kind,
        elapsed: Duration,
        at: Duration,
        outcome: &Outcome,
    ) -> bool {
        let us = (elapsed.as_micros() as u64).clamp(1, 3_600_000_000);
        self.requests += 1;
        if kind == Kind::Refresh && *outcome == Outcome::Ok {
            self.refresh_ok += 1;
        }
        if kind == Kind::Login && *outcome == Outcome::Ok {
            self.logins_ok += 1;
        }
        let failed = outcome.failed(kind);
        if kind == Kind::Replay && matches!(outcome, Outcome::Status(..)) {
            self.expected_refusals += 1;
        }
        if !failed && let Some(h) = self.latency.get_mut(&kind) {
            h.saturating_record(us);
        }
        let status = match outcome {
            Outcome::Ok => "2xx".to_string(),
            Outcome::Status(s, _) => s.to_string(),
            Outcome::Transport(class) => format!("transport:{class}"),
        };
        *self.by_status.entry(status).or_default() += 1;
        let bucket = self.timeline.at(at);
        bucket.requests[kind as usize] += 1;
        if !failed {
            bucket.latency.saturating_record(us);
        }
        if failed {
            let code = match outcome {
                Outcome::Status(_, Some(code)) => code.clone(),
                Outcome::Status(_, None) => "-".to_string(),
                Outcome::Transport(class) => format!("transport:{class}"),
                Outcome::Ok => unreachable!("not a failure"),
            };
            bucket.errors += 1;
            bucket.count_code(&code, 1);
            self.failures += 1;
            *self.failures_by_kind.entry(kind).or_default() += 1;
            *self.by_code.entry(code).or_default() += 1;
        }
        failed
    }

    /// Records the time a DPoP proof took to sign.
    /// Records a connection the hot path opened in `took`; over TLS,
    /// whether its handshake resumed an earlier session.
    pub fn record_connect(&mut self, took: Duration, tls_resumed: Option<bool>) {
        let us = (took.as_micros() as u64).clamp(1, 3_600_000_000);
        self.connect.saturating_record(us);
        match tls_resumed {
            Some(true) => self.tls_resumed += 1,
            Some(false) => self.tls_full += 1,
            None => {}
        }
    }

    pub fn record_proof(&mut self, took: Duration) {
        let us = (took.as_micros() as u64).clamp(1, 3_600_000_000);
        self.proof.saturating_record(us);
    }

    /// Records an open-model iteration's latency from its intended start.
    pub fn record_corrected(&mut self, kind: Kind, from_intended: Duration) {
        let us = (from_intended.as_micros() as u64).clamp(1, 3_600_000_000);
        self.corrected
            .entry(kind)
            .or_insert_with(histogram)
            .saturating_record(us);
    }

    /// An iteration was due at `at`; `started` false when it was dropped.
    pub fn scheduled(&mut self, at: Duration, started: bool) {
        self.scheduled += 1;
        if !started {
            self.dropped += 1;
            self.timeline.at(at).dropped += 1;
        }
    }

    /// `n` iterations due by `at` were dropped.
    pub fn dropped_many(&mut self, at: Duration, n: u64) {
        if n == 0 {
            return;
        }
        self.scheduled += n;
        self.dropped += n;
        self.timeline.at(at).dropped += n;
    }

    /// Notes how many users (or iterations) were active at `at`.
    pub fn active(&mut self, at: Duration, n: u64) {
        let b = self.timeline.at(at);
        b.active = b.active.max(n);
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
        for (k, h) in &other.corrected {
            self.corrected
                .entry(*k)
                .or_insert_with(histogram)
                .add(h)
                .expect("histograms with the same bounds");
        }
        self.requests += other.requests;
        self.failures += other.failures;
        for (k, v) in &other.failures_by_kind {
            *self.failures_by_kind.entry(*k).or_default() += v;
        }
        self.scheduled += other.scheduled;
        self.dropped += other.dropped;
        self.warm_up += other.warm_up;
        self.refresh_ok += other.refresh_ok;
        self.logins_ok += other.logins_ok;
        self.started += other.started;
        self.login_hops += other.login_hops;
        self.expected_refusals += other.expected_refusals;
        for (k, v) in &other.by_code {
            *self.by_code.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.by_status {
            *self.by_status.entry(k.clone()).or_default() += v;
        }
        self.violations.merge(&other.violations);
        self.timeline.merge(&other.timeline);
        let _ = self.proof.add(&other.proof);
        let _ = self.connect.add(&other.connect);
        self.tls_full += other.tls_full;
        self.tls_resumed += other.tls_resumed;
        self.samples.extend(other.samples.iter().cloned());
        self.samples.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        self.samples.truncate(MAX_SAMPLES);
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
        s.record(Kind::Login, ms(2), ms(0), &Outcome::Ok);
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
        assert_eq!(s.timeline.buckets.len(), 3);
        assert_eq!(s.timeline.buckets[1].total(), 2);
        assert_eq!(s.timeline.buckets[1].errors, 1);
        assert_eq!(s.failures_by_kind[&Kind::Refresh], 2);
        // Issue 22: failures never enter the latency histograms (a refused
        // connect takes microseconds); the replay's expected refusal does,
        // and is counted as such.
        assert_eq!(s.latency[&Kind::Refresh].len(), 1);
        assert_eq!(s.latency[&Kind::Replay].len(), 1);
        assert_eq!(s.expected_refusals, 1);
        assert_eq!(s.logins_ok, 1);
        assert_eq!(s.timeline.buckets[1].latency.len(), 1);
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
        assert_eq!(a.timeline.buckets.len(), whole.timeline.buckets.len());
        assert_eq!(a.failures_by_kind, whole.failures_by_kind);
        assert_eq!(
            a.all_latency().value_at_quantile(0.99),
            whole.all_latency().value_at_quantile(0.99)
        );
    }

    /// A day-long run on a fake clock (the `at` of each record): the
    /// timeline stays within its bucket budget, nothing is lost, and the
    /// memory it holds is that of a ten-minute run.
    #[test]
    fn a_long_run_keeps_a_bounded_timeline() {
        let mut s = Stats::default();
        let day = 24 * 3600u64;
        let mut n = 0u64;
        let mut at = 0u64;
        while at < day {
            let outcome = if at.is_multiple_of(97) {
                Outcome::Status(400, Some(format!("code{}", at % 13)))
            } else {
                Outcome::Ok
            };
            s.record(Kind::Refresh, ms(3), Duration::from_secs(at), &outcome);
            n += 1;
            at += 7;
            if at == 600 {
                assert_eq!(s.timeline.step_s, 1, "one-second buckets for 10 minutes");
            }
        }
        assert!(
            s.timeline.buckets.len() <= MAX_BUCKETS,
            "{}",
            s.timeline.buckets.len()
        );
        assert_eq!(s.timeline.step_s, 256);
        let total: u64 = s.timeline.buckets.iter().map(Bucket::total).sum();
        assert_eq!(total, n);
        let errors: u64 = s.timeline.buckets.iter().map(|b| b.errors).sum();
        assert_eq!(errors, s.failures);
        assert!(
            s.timeline
                .buckets
                .iter()
                .all(|b| b.errors_by_code.len() <= MAX_CODES_PER_BUCKET + 1)
        );
    }

    #[test]
    fn timelines_of_different_steps_merge() {
        let (mut short, mut long) = (Stats::default(), Stats::default());
        short.record(Kind::Refresh, ms(1), Duration::from_secs(5), &Outcome::Ok);
        long.record(Kind::Refresh, ms(1), Duration::from_secs(5), &Outcome::Ok);
        long.record(
            Kind::Refresh,
            ms(1),
            Duration::from_secs(3000),
            &Outcome::Ok,
        );
        short.merge(&long);
        assert_eq!(short.timeline.step_s, long.timeline.step_s);
        assert_eq!(short.timeline.buckets[0].total(), 2);
        let total: u64 = short.timeline.buckets.iter().map(Bucket::total).sum();
        assert_eq!(total, 3);
    }

    #[test]
    fn dropped_and_corrected_are_counted() {
        let mut s = Stats::default();
        s.scheduled(ms(10), true);
        s.scheduled(ms(20), false);
        s.record_corrected(Kind::Refresh, ms(40));
        let mut t = Stats::default();
        t.scheduled(ms(1500), false);
        s.merge(&t);
        assert_eq!((s.scheduled, s.dropped), (3, 2));
        assert_eq!(s.timeline.buckets[0].dropped, 1);
        assert_eq!(s.timeline.buckets[1].dropped, 1);
        assert_eq!(s.corrected[&Kind::Refresh].len(), 1);
    }
}
