//! The recorder: every answer (or its absence) into the statistics of its
//! runtime and the live metrics, the violations counted, and the duplicate
//! check on fixed-size fingerprints of the tokens issued.

use super::exchange::{Answer, Fingerprints, Opened};
use super::metrics::Metrics;
use super::stats::{Kind, Outcome, Stats};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most token fingerprints kept for the duplicate check (bounded memory:
/// 16 bytes each); beyond it new tokens are not checked.
const MAX_FINGERPRINTS: usize = 20_000_000;

/// The violations counted under load.
#[derive(Clone, Copy)]
pub(super) enum Violation {
    ChainBreaks,
    ReplayAccepted,
    DuplicateTokens,
    RotationViolations,
}

impl Violation {
    fn as_str(self) -> &'static str {
        match self {
            Violation::ChainBreaks => "chain_breaks",
            Violation::ReplayAccepted => "replay_accepted",
            Violation::DuplicateTokens => "duplicate_tokens",
            Violation::RotationViolations => "rotation_violations",
        }
    }
}

/// What the progress line shows, read without blocking the request path.
#[derive(Debug, Default, Clone, Copy)]
pub struct Live {
    pub requests: u64,
    pub failures: u64,
    pub chain_breaks: u64,
    pub dropped: u64,
    /// Requests in the last full second, and their p99 (µs).
    pub last_second: u64,
    pub p99_us: u64,
    pub active: u64,
}

pub struct Recorder {
    /// Statistics, one per runtime (`slot`), merged at the end.
    stats: Vec<Mutex<Stats>>,
    seen: Vec<Mutex<HashSet<u64, Fingerprints>>>,
    /// Fingerprints tokens (the duplicate check, the answer's reading).
    pub(super) hasher: Fingerprints,
    /// Live metrics, when `--metrics-listen` serves them.
    metrics: Option<Arc<Metrics>>,
    /// When the run started: the statistics' time line runs from it.
    started: Instant,
}

impl Recorder {
    pub fn new(runtimes: usize, started: Instant) -> Recorder {
        Recorder {
            stats: (0..runtimes.max(1))
                .map(|_| Mutex::new(Stats::default()))
                .collect(),
            seen: (0..64)
                .map(|_| Mutex::new(HashSet::with_hasher(Fingerprints::new())))
                .collect(),
            hasher: Fingerprints::new(),
            metrics: None,
            started,
        }
    }

    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Recorder {
        self.metrics = Some(metrics);
        self
    }

    fn stats(&self, slot: usize) -> std::sync::MutexGuard<'_, Stats> {
        self.stats[slot].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records one answer (or its absence) of `kind`, `took` long, sent
    /// `at` into the run, and feeds the live metrics; `due`: when the open
    /// model's iteration was due (its latency from then is recorded too).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn record(
        &self,
        slot: usize,
        kind: Kind,
        took: Duration,
        at: Duration,
        due: Option<Instant>,
        outcome: &Outcome,
        active: u64,
    ) {
        {
            let mut stats = self.stats(slot);
            let failed = stats.record(kind, took, at, outcome);
            stats.active(at, active);
            if let Some(due) = due
                && !failed
            {
                // Started early (within the timer's tick) or late: measured
                // from the later of its start and its due time.
                stats.record_corrected(kind, due.elapsed().max(took));
            }
        }
        if let Some(m) = &self.metrics {
            m.observe(kind, outcome, took);
        }
    }

    /// Whether runtime `slot` keeps another failure as its exchange.
    pub(super) fn wants_sample(&self, slot: usize) -> bool {
        self.stats(slot).samples.len() < super::stats::MAX_SAMPLES
    }

    /// Keeps a failure as its exchange (already redacted).
    pub(super) fn sample(&self, slot: usize, sample: super::stats::FailureSample) {
        let mut stats = self.stats(slot);
        if stats.samples.len() < super::stats::MAX_SAMPLES {
            stats.samples.push(sample);
        }
    }

    /// A connection the hot path opened, recorded apart from requests.
    pub(super) fn record_connect(&self, slot: usize, how: Opened) {
        self.stats(slot).record_connect(how.took, how.tls_resumed);
    }

    /// The time a DPoP proof took to sign.
    pub(super) fn record_proof(&self, slot: usize, took: Duration) {
        self.stats(slot).record_proof(took);
    }

    /// A user's first session began.
    pub(super) fn session_started(&self, slot: usize) {
        self.stats(slot).started += 1;
    }

    /// A login's pages: `hops` requests the server served before its token
    /// request.
    pub(super) fn login_hops(&self, slot: usize, hops: u64) {
        let mut stats = self.stats(slot);
        stats.login_hops += hops;
        stats.requests += hops;
    }

    /// Counts a token by its fingerprint; true when it was seen before.
    fn seen_before(&self, h: u64) -> bool {
        let shard = &self.seen[(h as usize) % self.seen.len()];
        let mut set = shard.lock().unwrap_or_else(|p| p.into_inner());
        if set.len() >= MAX_FINGERPRINTS / self.seen.len() {
            return set.contains(&h);
        }
        !set.insert(h)
    }

    /// Counts the duplicates among an answer's tokens. `sent` is the
    /// refresh token of the request: getting it back is a matter of
    /// rotation (counted there), not a new issue.
    pub(super) fn note_tokens(&self, slot: usize, a: &Answer, sent: Option<&str>) {
        let mut dups = 0;
        // The sent token is fingerprinted only when the access token's
        // fingerprint was seen before (rare): an access token equal to it
        // is no new issue.
        if let Some(h) = a.access_fingerprint
            && self.seen_before(h)
            && sent.is_none_or(|t| self.hasher.hash_one(t) != h)
        {
            dups += 1;
        }
        if let Some(t) = a.refresh_token.as_deref()
            && Some(t) != sent
            && self.seen_before(self.hasher.hash_one(t))
        {
            dups += 1;
        }
        if dups > 0 {
            self.violation(slot, Violation::DuplicateTokens, dups);
        }
    }

    /// Counts `n` violations (statistics, and live metrics when served).
    pub(super) fn violation(&self, slot: usize, v: Violation, n: u64) {
        {
            let mut stats = self.stats(slot);
            let s = &mut stats.violations;
            *match v {
                Violation::ChainBreaks => &mut s.chain_breaks,
                Violation::ReplayAccepted => &mut s.replay_accepted,
                Violation::DuplicateTokens => &mut s.duplicate_tokens,
                Violation::RotationViolations => &mut s.rotation_violations,
            } += n;
        }
        if let Some(m) = &self.metrics {
            m.violation(v.as_str(), n);
        }
    }

    /// The open model's warm-up is over on runtime `slot`: what it sent
    /// so far was warm-up.
    pub(super) fn warmed_up(&self, slot: usize) {
        let mut stats = self.stats(slot);
        stats.warm_up = stats.requests;
    }

    /// An iteration of the open model, due at `due`, is started.
    pub(super) fn scheduled(&self, slot: usize, due: tokio::time::Instant) {
        let at = due.into_std().saturating_duration_since(self.started);
        self.stats(slot).scheduled(at, true);
    }

    /// `n` iterations of the open model, due by `now`, are dropped.
    pub(super) fn dropped(&self, slot: usize, now: tokio::time::Instant, n: u64) {
        if n == 0 {
            return;
        }
        let at = now.into_std().saturating_duration_since(self.started);
        self.stats(slot).dropped_many(at, n);
        if let Some(m) = &self.metrics {
            m.dropped(n);
        }
    }

    /// Requests so far, and p99 of the last full second, read without
    /// waiting for a lock the request path holds (a busy runtime is skipped
    /// and shows next time).
    pub fn live(&self, active: u64) -> Live {
        let mut live = Live::default();
        let second = self.started.elapsed().as_secs();
        for s in &self.stats {
            let Ok(s) = s.try_lock() else { continue };
            live.requests += s.requests;
            live.failures += s.failures;
            live.chain_breaks += s.violations.chain_breaks;
            live.dropped += s.dropped;
            let step = s.timeline.step_s;
            if let Some(b) = second
                .checked_sub(1)
                .and_then(|last| s.timeline.buckets.get((last / step) as usize))
            {
                live.last_second += b.total() / step;
                live.p99_us = live.p99_us.max(b.latency.value_at_quantile(0.99));
            }
        }
        live.active = active;
        live
    }

    /// All runtimes' statistics together.
    pub fn merged(&self) -> Stats {
        let mut all = Stats::default();
        for s in &self.stats {
            all.merge(&s.lock().unwrap_or_else(|p| p.into_inner()));
        }
        all
    }
}
