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
use tokio::time::{Instant, MissedTickBehavior};

/// Runs runtime `slot`'s share of the schedule: `rate` iterations a second,
/// at most `max_in_flight` at once, until the run time is over (or the run
/// is stopped); then waits for the iterations in flight, each bounded by
/// the request timeout.
pub(super) async fn run(
    shared: Arc<Shared>,
    slot: usize,
    rate: f64,
    max_in_flight: usize,
) -> Result<(), String> {
    let period = Duration::from_secs_f64(1.0 / rate.max(1e-3));
    let start = Instant::from_std(shared.started());
    let end = start + shared.settings().run_time;
    let permits = Arc::new(Semaphore::new(max_in_flight));
    let chains: Arc<Mutex<VecDeque<Vu>>> = Arc::new(Mutex::new(VecDeque::new()));
    // Burst: ticks missed while the runtime was busy fire at once, each
    // with the time it was due, so the schedule is kept, not stretched.
    let mut ticker = tokio::time::interval_at(start, period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);
    loop {
        let due = tokio::select! {
            // Ticks first: every iteration due before the end is counted
            // (sent or dropped), even when the runtime is behind.
            biased;
            due = ticker.tick() => due,
            _ = tokio::time::sleep_until(end) => break,
            _ = &mut interrupt => {
                goose::trigger_killswitch("SIGINT received");
                break;
            }
        };
        if due >= end || goose::is_killswitch_triggered() {
            break;
        }
        let at = due.into_std().saturating_duration_since(shared.started());
        let permit = permits.clone().try_acquire_owned().ok();
        shared.stats[slot]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .scheduled(at, permit.is_some());
        let Some(permit) = permit else { continue };
        let (shared, chains) = (shared.clone(), chains.clone());
        tokio::spawn(async move {
            let idle = chains.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
            let mut vu = idle.unwrap_or_else(|| Vu::new(slot));
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
