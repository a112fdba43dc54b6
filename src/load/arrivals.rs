//! The open workload model (`--arrival-rate`): iterations start on a fixed
//! schedule whatever the server does, so that a slow server cannot lower
//! the load it is offered and hide its own latency (coordinated omission).
//!
//! goose schedules users, not arrivals (its users have asked for a request
//! rate since 2020, goose #87), so this model has its own scheduler, on the
//! same runtimes, statistics and request path as the closed one. Semantics
//! are k6's `constant-arrival-rate`: an iteration due while
//! `max_in_flight` iterations are running is not sent but counted as
//! dropped; each iteration takes an idle token chain from a pool (a new one,
//! starting with a login, when none is idle), so the number of chains is
//! bounded by `max_in_flight`. Every iteration's first request is measured
//! twice: from when it was sent, and from when it was due.

use super::profile::Stage;
use super::vu::{Shared, Vu};
use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// When iterations are due: a rate that holds, or ramps linearly stage by
/// stage (and holds the last stage's target past the stages). `N(t)` is
/// the number of iterations due by `t` (the rate's integral); iteration
/// `n` is due at the first `t` where `N(t) >= n`.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// (start time, start rate, end rate, duration) of each piece, in
    /// seconds; the last piece lasts for ever.
    pieces: Vec<(f64, f64, f64, f64)>,
    /// N at the start of each piece.
    before: Vec<f64>,
}

impl Schedule {
    /// `rate` iterations a second, then the `stages`; everything scaled by
    /// `share` (a runtime's share of the schedule).
    pub fn new(rate: f64, stages: &[Stage], share: f64) -> Schedule {
        let mut pieces = Vec::new();
        let (mut t, mut from) = (0.0, rate * share);
        for s in stages {
            let d = s.duration.as_secs_f64();
            pieces.push((t, from, s.target * share, d));
            t += d;
            from = s.target * share;
        }
        pieces.push((t, from, from, f64::INFINITY));
        let mut before = Vec::with_capacity(pieces.len());
        let mut n = 0.0;
        for &(_, a, b, d) in &pieces {
            before.push(n);
            if d.is_finite() {
                n += (a + b) / 2.0 * d;
            }
        }
        Schedule { pieces, before }
    }

    /// N(t): iterations due by `t` seconds (a real number).
    pub fn due_by(&self, t: f64) -> f64 {
        for (i, &(start, a, b, d)) in self.pieces.iter().enumerate().rev() {
            if t >= start {
                let x = (t - start).min(d);
                let slope = if d.is_finite() { (b - a) / d } else { 0.0 };
                return self.before[i] + a * x + slope * x * x / 2.0;
            }
        }
        0.0
    }

    /// When iteration `n` is due, in seconds; `None` if never (a rate of 0
    /// for ever).
    pub fn due_at(&self, n: u64) -> Option<f64> {
        let m = n as f64;
        let i = self.before.iter().rposition(|b| *b <= m).unwrap_or(0);
        // The piece where N reaches m (a piece that adds nothing is skipped).
        for j in i..self.pieces.len() {
            let (start, a, b, d) = self.pieces[j];
            let left = m - self.before[j];
            let slope = if d.is_finite() { (b - a) / d } else { 0.0 };
            let x = if slope.abs() < 1e-12 {
                if a <= 0.0 {
                    if d.is_finite() {
                        continue;
                    }
                    return (left <= 0.0).then_some(start);
                }
                left / a
            } else {
                // a x + slope x² / 2 = left
                let disc = a * a + 2.0 * slope * left;
                if disc < 0.0 {
                    continue;
                }
                (disc.sqrt() - a) / slope
            };
            if x <= d + 1e-9 {
                return Some(start + x.max(0.0));
            }
        }
        None
    }
}

/// Runs runtime `slot`'s share of the schedule, at most `max_in_flight`
/// at once, until the run time is over (or the run
/// is stopped); then waits for the iterations in flight, each bounded by
/// the request timeout.
///
/// Iteration `n` is due at `start + schedule.due_at(n)`. While no slot is free the
/// loop waits for one (it does no work per missed iteration); when one
/// frees, it starts the latest iteration due and every earlier one that
/// came due meanwhile is counted as dropped at once, so an overloaded
/// schedule costs nothing per drop.
pub(super) async fn run(
    shared: Arc<Shared>,
    slot: usize,
    schedule: Schedule,
    max_in_flight: usize,
) -> Result<(), String> {
    let start = Instant::from_std(shared.started());
    let run_time = shared.settings.run_time;
    let end = start + run_time;
    // Iterations due before the end: N(end), rounded up.
    let total = (schedule.due_by(run_time.as_secs_f64()) - 1e-9)
        .ceil()
        .max(0.0) as u64;
    let due_at = |n: u64| {
        start
            + Duration::from_secs_f64(
                schedule
                    .due_at(n)
                    .unwrap_or(f64::MAX)
                    .min(run_time.as_secs_f64()),
            )
    };
    let permits = Arc::new(Semaphore::new(max_in_flight));
    let chains: Arc<Mutex<VecDeque<Vu>>> = Arc::new(Mutex::new(VecDeque::new()));
    let record = |at: Instant, sent: u64, dropped: u64| {
        let at = at.into_std().saturating_duration_since(shared.started());
        let mut stats = shared.stats[slot].lock().unwrap_or_else(|p| p.into_inner());
        for _ in 0..sent {
            stats.scheduled(at, true);
        }
        stats.dropped_many(at, dropped);
        drop(stats);
        if let Some(m) = &shared.metrics
            && dropped > 0
        {
            m.dropped(dropped);
        }
    };
    let stopped = shared.wait_stop();
    let over = tokio::time::sleep_until(end);
    tokio::pin!(stopped, over);
    let mut n = 0u64;
    while n < total && !shared.stopping() {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                let waited = tokio::select! {
                    biased;
                    _ = &mut stopped => break,
                    p = permits.clone().acquire_owned() => p.ok(),
                    _ = &mut over => None,
                };
                // Everything that came due while every slot was taken is
                // dropped, but the latest: the freed slot starts it now
                // (measured from when it was due).
                let now = Instant::now();
                let p = match waited {
                    Some(p) if now < end => p,
                    _ => {
                        record(now, 0, total - n);
                        break;
                    }
                };
                let due_by_now =
                    (schedule.due_by((now - start).as_secs_f64()).floor() as u64 + 1).min(total);
                if due_by_now > n + 1 {
                    record(now, 0, due_by_now - n - 1);
                    n = due_by_now - 1;
                }
                if n >= total {
                    break;
                }
                p
            }
        };
        let due = due_at(n);
        // A wait shorter than the timer's resolution (1 ms, rounded up)
        // would make the schedule late: start now, a little early.
        if due > Instant::now() + Duration::from_micros(500) {
            tokio::select! {
                biased;
                _ = &mut stopped => break,
                _ = tokio::time::sleep_until(due) => {}
            }
        }
        record(due, 1, 0);
        n += 1;
        let (shared, chains) = (shared.clone(), chains.clone());
        tokio::spawn(async move {
            let idle = chains.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
            let mut vu = idle.unwrap_or_else(|| shared.new_vu(slot));
            shared.active.fetch_add(1, Relaxed);
            shared.iteration(&mut vu, due.into_std()).await;
            shared.active.fetch_sub(1, Relaxed);
            chains
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push_back(vu);
            drop(permit);
        });
    }
    // The iterations in flight finish (an iteration is at most a few
    // requests, each with its timeout); past that bound they are abandoned.
    let drain = shared.drain_time();
    let all = u32::try_from(max_in_flight).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(drain, permits.acquire_many(all)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(target: f64, secs: u64) -> Stage {
        Stage {
            target,
            duration: Duration::from_secs(secs),
        }
    }

    #[test]
    fn a_constant_rate_is_n_over_rate() {
        let s = Schedule::new(100.0, &[], 1.0);
        assert_eq!(s.due_by(2.0), 200.0);
        assert_eq!(s.due_at(0), Some(0.0));
        assert!((s.due_at(150).unwrap() - 1.5).abs() < 1e-9);
        let half = Schedule::new(100.0, &[], 0.5);
        assert_eq!(half.due_by(2.0), 100.0);
    }

    /// 0 → 100/s over 10 s (500 iterations), then 100/s for 5 s (500 more),
    /// then down to 0 over 10 s (500 more).
    #[test]
    fn stages_ramp_linearly_and_due_times_invert_the_count() {
        let s = Schedule::new(
            0.0,
            &[stage(100.0, 10), stage(100.0, 5), stage(0.0, 10)],
            1.0,
        );
        assert!((s.due_by(10.0) - 500.0).abs() < 1e-9);
        assert!((s.due_by(15.0) - 1000.0).abs() < 1e-9);
        assert!((s.due_by(25.0) - 1500.0).abs() < 1e-9);
        assert!(
            (s.due_by(99.0) - 1500.0).abs() < 1e-9,
            "0/s after the stages"
        );
        for n in [1u64, 7, 499, 500, 501, 999, 1200, 1499] {
            let t = s.due_at(n).unwrap();
            assert!((s.due_by(t) - n as f64).abs() < 1e-6, "{n}: t={t}");
        }
        // Halfway up the ramp, a quarter of its iterations: N(5) = 125.
        assert!((s.due_at(125).unwrap() - 5.0).abs() < 1e-9);
        assert_eq!(s.due_at(1501), None, "never: the rate stays 0");
    }
}
