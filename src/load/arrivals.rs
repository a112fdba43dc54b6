//! The open workload model (`--arrival-rate`): iterations start on a fixed
//! schedule whatever the server does, so that a slow server cannot lower
//! the load it is offered and hide its own latency (coordinated omission).
//!
//! goose schedules users, not arrivals (its users have asked for a request
//! rate since 2020, goose #87), so this model has its own scheduler, on the
//! same runtimes, statistics and request path as the closed one. Semantics
//! are k6's `constant-arrival-rate`: an iteration due while
//! `max_in_flight` iterations are running is not sent but counted as
//! dropped. `max_in_flight` workers each own a token chain (started with a
//! login by the worker's first iteration), so the number of chains is
//! bounded by `max_in_flight`. Every iteration's first request is measured
//! twice: from when it was sent, and from when it was due.

use super::pace::Ticker;
use super::profile::Stage;
use super::vu::{Shared, Vu};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
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

/// The iterations of one runtime's share of the schedule, and who has
/// claimed which: iteration `n` is due at `start + due_at(n)`, and
/// `next` is the first that no worker has claimed yet.
struct Iterations {
    schedule: Schedule,
    start: Instant,
    run_time: Duration,
    /// Iterations due before the end of the run: N(end), rounded up.
    total: u64,
    next: AtomicU64,
}

/// What a free worker gets from [`Iterations::claim`].
enum Claim {
    /// Run iteration `n`, due at `due`; `dropped` earlier ones came due
    /// while every worker was busy, and nobody will run them.
    Run { due: Instant, dropped: u64 },
    /// The schedule is over; `dropped` iterations are left that nobody will
    /// run (the run ended while every worker was busy).
    Over { dropped: u64 },
}

impl Iterations {
    fn new(schedule: Schedule, start: Instant, run_time: Duration) -> Iterations {
        let total = (schedule.due_by(run_time.as_secs_f64()) - 1e-9)
            .ceil()
            .max(0.0) as u64;
        Iterations {
            schedule,
            start,
            run_time,
            total,
            next: AtomicU64::new(0),
        }
    }

    fn due_at(&self, n: u64) -> Instant {
        let at = self.schedule.due_at(n).unwrap_or(f64::MAX);
        self.start + Duration::from_secs_f64(at.min(self.run_time.as_secs_f64()))
    }

    /// The next iteration for a worker that is free at `now`. Every worker
    /// that is not running an iteration has claimed the next one that was
    /// not yet claimed, so an unclaimed iteration already due came due while
    /// every worker was busy: all of those are dropped but the latest, which
    /// this worker starts now (k6's `constant-arrival-rate`: an iteration
    /// due while `max_in_flight` are running is dropped).
    /// A worker's first claim drops nothing: until it was first polled it
    /// was free, not busy (the workers start one after the other).
    fn claim(&self, now: Instant, first: bool) -> Claim {
        let past_end = now >= self.start + self.run_time;
        let due_by_now = if past_end {
            self.total
        } else {
            let t = (now - self.start).as_secs_f64();
            (self.schedule.due_by(t).floor() as u64 + 1).min(self.total)
        };
        let mut n = self.next.load(Relaxed);
        loop {
            if n >= self.total {
                return Claim::Over { dropped: 0 };
            }
            if past_end {
                match self.next.compare_exchange(n, self.total, Relaxed, Relaxed) {
                    Ok(_) => {
                        return Claim::Over {
                            dropped: self.total - n,
                        };
                    }
                    Err(m) => n = m,
                }
                continue;
            }
            let latest = if first {
                n
            } else {
                n.max(due_by_now.saturating_sub(1))
            };
            match self.next.compare_exchange(n, latest + 1, Relaxed, Relaxed) {
                Ok(_) => {
                    return Claim::Run {
                        due: self.due_at(latest),
                        dropped: latest - n,
                    };
                }
                Err(m) => n = m,
            }
        }
    }
}

/// Runs runtime `slot`'s share of the schedule with `max_in_flight`
/// workers until the run time is over (or the run is stopped), then waits
/// for the iterations in flight, each bounded by the request timeout.
///
/// Each worker owns a token chain (started with a login by its first
/// iteration) and loops: claim the next iteration, sleep until it is due,
/// run it. Nothing is spawned or locked per iteration, and an overloaded
/// schedule costs nothing per drop: a worker that frees late drops every
/// iteration that came due meanwhile at once.
pub(super) async fn run(
    shared: Arc<Shared>,
    slot: usize,
    schedule: Schedule,
    max_in_flight: usize,
) -> Result<(), super::vu::EngineError> {
    // The chains the first WARM_UP of the schedule could need, readied
    // before it begins (the rest start with their worker's first iteration).
    let warm =
        ((schedule.due_by(WARM_UP.as_secs_f64()) - 1e-9).ceil() as usize).clamp(1, max_in_flight);
    let ready = futures::future::join_all((0..warm).map(|_| async {
        let mut vu = shared.new_vu(slot);
        shared.warm_up(&mut vu).await;
        vu
    }));
    let mut chains = tokio::select! {
        chains = ready => chains,
        _ = shared.control.wait_stop() => return Ok(()),
    };
    shared.recorder.warmed_up(slot);
    let start = Instant::now();
    let end = start + shared.settings.run_time;
    let iterations = Arc::new(Iterations::new(schedule, start, shared.settings.run_time));
    let ticker = Ticker::new();
    let driver = tokio::spawn(ticker.clone().drive());
    let workers: Vec<_> = (0..max_in_flight)
        .map(|_| {
            let w = Worker {
                shared: shared.clone(),
                slot,
                iterations: iterations.clone(),
                ticker: ticker.clone(),
                chain: chains.pop(),
            };
            tokio::spawn(w.run())
        })
        .collect();
    let aborts: Vec<_> = workers.iter().map(|w| w.abort_handle()).collect();
    let mut all = futures::future::join_all(workers);
    let _driver = AbortOnDrop(driver.abort_handle());
    tokio::select! {
        _ = &mut all => return Ok(()),
        _ = shared.control.wait_stop() => {}
        _ = tokio::time::sleep_until(end) => {}
    }
    // The iterations in flight finish (an iteration is at most a few
    // requests, each with its timeout); past that bound they are abandoned.
    let drain = shared.control.drain_time();
    if tokio::time::timeout(drain, &mut all).await.is_err() {
        aborts.iter().for_each(|a| a.abort());
    }
    Ok(())
}

/// How much of the schedule's start the warm-up readies chains for.
const WARM_UP: Duration = Duration::from_millis(10);

/// One worker of the open model: its token chain, and the iterations it
/// claims.
struct Worker {
    shared: Arc<Shared>,
    slot: usize,
    iterations: Arc<Iterations>,
    ticker: Arc<Ticker>,
    chain: Option<Vu>,
}

impl Worker {
    /// Claims iterations until the schedule is over or the run stops.
    async fn run(mut self) {
        let shared = &self.shared;
        let stopped = shared.control.wait_stop();
        tokio::pin!(stopped);
        let mut first = true;
        while !shared.control.stopping() {
            let now = Instant::now();
            let due = match self.iterations.claim(now, std::mem::take(&mut first)) {
                Claim::Run { due, dropped } => {
                    shared.recorder.dropped(self.slot, now, dropped);
                    due
                }
                Claim::Over { dropped } => {
                    shared.recorder.dropped(self.slot, now, dropped);
                    break;
                }
            };
            if due > now {
                tokio::select! {
                    biased;
                    _ = &mut stopped => break,
                    _ = self.ticker.until(due) => {}
                }
            }
            shared.recorder.scheduled(self.slot, due);
            let vu = self.chain.get_or_insert_with(|| shared.new_vu(self.slot));
            shared.control.active.fetch_add(1, Relaxed);
            shared.iteration(vu, due.into_std()).await;
            shared.control.active.fetch_sub(1, Relaxed);
        }
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
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

    /// 100/s for 10 s from `start`: iteration n is due at start + n × 10 ms.
    fn hundred_a_second(start: Instant) -> Iterations {
        Iterations::new(
            Schedule::new(100.0, &[], 1.0),
            start,
            Duration::from_secs(10),
        )
    }

    fn run_of(claim: Claim) -> (Instant, u64) {
        match claim {
            Claim::Run { due, dropped } => (due, dropped),
            Claim::Over { dropped } => panic!("over, {dropped} dropped"),
        }
    }

    #[test]
    fn a_free_worker_takes_the_next_iteration_and_a_late_one_drops_the_missed() {
        let start = Instant::now();
        let it = hundred_a_second(start);
        assert_eq!(it.total, 1000);
        let ms = Duration::from_millis;
        // Early: the next iteration, whenever it is due.
        assert_eq!(run_of(it.claim(start, false)), (start, 0));
        assert_eq!(run_of(it.claim(start, false)), (start + ms(10), 0));
        // A worker freed at 55 ms: 2, 3 and 4 came due while every worker
        // was busy; 5 (due at 50 ms) is the latest, run now, the rest dropped.
        assert_eq!(run_of(it.claim(start + ms(55), false)), (start + ms(50), 3));
        // A worker's first claim is never late: it was free until now.
        assert_eq!(run_of(it.claim(start + ms(95), true)), (start + ms(60), 0));
        // Past the end: the rest are dropped once, then there is nothing.
        match it.claim(start + Duration::from_secs(11), false) {
            Claim::Over { dropped } => assert_eq!(dropped, 1000 - 7),
            Claim::Run { .. } => panic!("ran past the end"),
        }
        assert!(matches!(
            it.claim(start + Duration::from_secs(11), false),
            Claim::Over { dropped: 0 }
        ));
    }
}
