//! The sessions model (`--sessions N`): the traffic an identity server sees
//! from real clients. N token families are held at once; each logs in
//! (the sessions start spread over the ramp) and then refreshes when its
//! access token has less than `refresh_before` left, at the `expires_in` the
//! server answered, both scaled by `time_scale` so that a short run sees
//! many refreshes. keycloak-benchmark's users asked for exactly this (many
//! sessions, each refreshing when 60 s are left).
//!
//! One scheduler per runtime holds its share of the sessions in a heap by
//! due time. A due session waits for one of `max_in_flight` slots (nothing
//! is dropped: a client refreshes late rather than not at all), and its
//! lateness shows in the latency measured from when it was due. A session
//! whose chain ended (refused, or an answer lost) logs in again at its next
//! turn.

use super::vu::{Shared, Vu};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// When a session whose chain ended tries again (server time, scaled).
const RETRY_S: f64 = 1.0;

/// The sessions of one runtime: who is due when, who is at rest, who is
/// alive.
struct Book {
    heap: BinaryHeap<Reverse<(Instant, usize)>>,
    sessions: Vec<Option<Vu>>,
    alive: Vec<bool>,
}

impl Book {
    /// Session `i` back from its turn: due again after `wait`. The number of
    /// live sessions is the active gauge.
    fn put_back(&mut self, shared: &Shared, i: usize, vu: Vu, wait: Duration) {
        if vu.alive() != self.alive[i] {
            self.alive[i] = vu.alive();
            if self.alive[i] {
                shared.control.active.fetch_add(1, Relaxed);
            } else {
                shared.control.active.fetch_sub(1, Relaxed);
            }
        }
        self.heap.push(Reverse((Instant::now() + wait, i)));
        self.sessions[i] = Some(vu);
    }
}

/// Runs runtime `slot`'s `count` sessions, started evenly over `ramp`,
/// until the run time (counted from the start, ramp included) is over.
pub(super) async fn run(
    shared: Arc<Shared>,
    slot: usize,
    count: usize,
    ramp: Duration,
    max_in_flight: usize,
) -> Result<(), super::vu::EngineError> {
    let model = shared
        .settings
        .sessions
        .ok_or(super::vu::EngineError::Settings(
            "the sessions model needs a number of sessions",
        ))?;
    let start = Instant::from_std(shared.control.started());
    let end = start + shared.settings.run_time;
    let default_ttl = shared.default_access_ttl_s();
    let scale = model.time_scale;
    let wait_for = |vu: &Vu| -> Duration {
        let server_s = if vu.alive() {
            let ttl = vu.expires_in.unwrap_or(default_ttl) as f64;
            (ttl - model.refresh_before.as_secs_f64()).max(1.0)
        } else {
            RETRY_S
        };
        Duration::from_secs_f64((server_s * scale).max(0.01))
    };
    let mut book = Book {
        heap: (0..count)
            .map(|i| {
                let at = start + ramp.mul_f64(i as f64 / count.max(1) as f64);
                Reverse((at, i))
            })
            .collect(),
        sessions: (0..count).map(|_| Some(shared.new_vu(slot))).collect(),
        alive: vec![false; count],
    };
    let (done, mut returned) = tokio::sync::mpsc::unbounded_channel::<(usize, Vu)>();
    let permits = Arc::new(Semaphore::new(max_in_flight));
    let stopped = shared.control.wait_stop();
    let over = tokio::time::sleep_until(end);
    tokio::pin!(stopped, over);
    loop {
        if shared.control.stopping() {
            break;
        }
        let next = book.heap.peek().map(|Reverse((at, _))| *at);
        tokio::select! {
            biased;
            _ = &mut stopped => break,
            _ = &mut over => break,
            Some((i, vu)) = returned.recv() => {
                let wait = wait_for(&vu);
                book.put_back(&shared, i, vu, wait);
                continue;
            }
            _ = tokio::time::sleep_until(next.unwrap_or(end)), if next.is_some() => {}
        }
        let Some(Reverse((due, i))) = book.heap.pop() else {
            continue;
        };
        // A slot: the session waits for one (never dropped); sessions
        // coming back meanwhile are put back.
        let permit = loop {
            tokio::select! {
                biased;
                _ = &mut over => break None,
                _ = &mut stopped => break None,
                p = permits.clone().acquire_owned() => break p.ok(),
                Some((j, vu)) = returned.recv() => {
                    let wait = wait_for(&vu);
                    book.put_back(&shared, j, vu, wait);
                }
            }
        };
        let Some(permit) = permit else { break };
        let Some(mut vu) = book.sessions[i].take() else {
            continue;
        };
        let (shared, done) = (shared.clone(), done.clone());
        tokio::spawn(async move {
            shared.session_turn(&mut vu, due.into_std()).await;
            let _ = done.send((i, vu));
            drop(permit);
        });
    }
    // The refreshes in flight finish, each bounded by the request timeout.
    let drain = shared.control.drain_time();
    let all = u32::try_from(max_in_flight).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(drain, permits.acquire_many(all)).await;
    Ok(())
}
