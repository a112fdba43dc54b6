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

use super::engine::{Shared, Vu};
use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Runs runtime `slot`'s share of the schedule: `rate` iterations a second,
/// at most `max_in_flight` at once, until the run time is over (or the run
/// is stopped); then waits for the iterations in flight, each bounded by
/// the request timeout.
///
/// Iteration `n` is due at `start + n / rate`. While no slot is free the
/// loop waits for one (it does no work per missed iteration); when one
/// frees, it starts the latest iteration due and every earlier one that
/// came due meanwhile is counted as dropped at once, so an overloaded
/// schedule costs nothing per drop.
pub(super) async fn run(
    shared: Arc<Shared>,
    slot: usize,
    rate: f64,
    max_in_flight: usize,
) -> Result<(), String> {
    let rate = rate.max(1e-3);
    let start = Instant::from_std(shared.started());
    let run_time = shared.settings().run_time;
    let end = start + run_time;
    // Iterations due before the end: n / rate < run_time.
    let total = ((run_time.as_secs_f64() * rate) - 1e-9).ceil().max(0.0) as u64;
    let due_at = |n: u64| start + Duration::from_secs_f64(n as f64 / rate);
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
    let interrupt = tokio::signal::ctrl_c();
    let over = tokio::time::sleep_until(end);
    tokio::pin!(interrupt, over);
    let mut n = 0u64;
    while n < total && !goose::is_killswitch_triggered() {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                let waited = tokio::select! {
                    biased;
                    _ = &mut interrupt => {
                        goose::trigger_killswitch("SIGINT received");
                        break;
                    }
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
                    (((now - start).as_secs_f64() * rate).floor() as u64 + 1).min(total);
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
                _ = &mut interrupt => {
                    goose::trigger_killswitch("SIGINT received");
                    break;
                }
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
    let drain = shared.request_timeout() * 4 + Duration::from_secs(1);
    let all = u32::try_from(max_in_flight).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(drain, permits.acquire_many(all)).await;
    Ok(())
}
