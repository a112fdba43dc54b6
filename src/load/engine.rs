//! The load engine: goose, embedded as a library, schedules the virtual
//! users of the closed model (start rate, run time, Ctrl-C), and [`run`]
//! starts one current-thread runtime per `threads`, each with a share of
//! the users and the model's scheduler ([`super::arrivals`],
//! [`super::sessions`], or goose here). What a user does is in
//! [`super::vu`].
//!
//! Why not goose's request path and metrics: goose groups errors by status
//! line, and its per-request metrics cost more than the request itself on
//! a fast server; we need OAuth error codes, token fingerprints and HDR
//! histograms anyway. So goose runs with its metrics off, on a current-thread
//! tokio runtime (measured about twice the throughput of the multi-thread
//! one for this workload), one runtime per `threads`, each a share of the
//! users, with mergeable statistics.

use super::vu::{Shared, Vu};
use goose::prelude::*;
use std::sync::Arc;

pub use super::vu::{EngineError, StopReason};

/// Runs the attack: `threads` OS threads, each a current-thread runtime
/// with its own goose attack and a share of the users. Returns when the
/// run time is over or Ctrl-C was pressed.
pub fn run(shared: Arc<Shared>, threads: usize) -> Result<(), EngineError> {
    let threads = threads.clamp(1, shared.settings.most_in_flight().max(1));
    let handles: Vec<std::thread::JoinHandle<Result<(), EngineError>>> = (0..threads)
        .map(|i| {
            let shared = shared.clone();
            let users = share(shared.settings.users, threads, i);
            std::thread::Builder::new()
                .name(format!("load-{i}"))
                .spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(EngineError::Runtime)?;
                    match (shared.settings.arrival, shared.settings.sessions) {
                        (Some(a), _) => rt.block_on(super::arrivals::run(
                            shared.clone(),
                            i,
                            super::arrivals::Schedule::new(
                                a.rate,
                                &shared.settings.stages,
                                1.0 / threads as f64,
                            ),
                            share(a.max_in_flight, threads, i).max(1),
                        )),
                        (None, Some(s)) => rt.block_on(super::sessions::run(
                            shared.clone(),
                            i,
                            share(s.count, threads, i),
                            shared.settings.ramp_of(s.count),
                            share(s.max_in_flight, threads, i).max(1),
                        )),
                        (None, None) => rt.block_on(attack(shared, i, users, threads)),
                    }
                })
                .map_err(EngineError::Thread)
        })
        .collect::<Result<_, _>>()?;
    let mut first_error = None;
    for h in handles {
        match h.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => first_error = first_error.or(Some(e)),
            Err(_) => first_error = first_error.or(Some(EngineError::Panicked)),
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Users of runtime `i` of `n`.
pub(super) fn share(users: usize, n: usize, i: usize) -> usize {
    users / n + usize::from(i < users % n)
}

async fn attack(
    shared: Arc<Shared>,
    slot: usize,
    users: usize,
    threads: usize,
) -> Result<(), EngineError> {
    let s = &shared.settings;
    let host = shared
        .target
        .token_endpoint
        .as_ref()
        .map(|u| u.origin().ascii_serialization())
        .ok_or(EngineError::Settings("the target has no token endpoint"))?;
    let mut config = goose::config::GooseConfiguration::default();
    config.host = Some(host);
    config.users = Some(users);
    config.increase_rate = Some(format!(
        "{}",
        (s.increase_rate() / threads as f64).max(0.001)
    ));
    config.run_time = Some(format!("{}s", s.closed_run_time().as_secs()));
    config.no_metrics = true;
    config.no_print_metrics = true;
    config.no_error_summary = true;
    config.no_telnet = true;
    config.quiet = 1;

    let start = {
        let shared = shared.clone();
        Transaction::new(Arc::new(move |user: &mut GooseUser| {
            let shared = shared.clone();
            Box::pin(async move {
                shared.control.user_started();
                let mut vu = shared.new_vu(slot);
                shared
                    .control
                    .active
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                shared.login(&mut vu).await;
                user.set_session_data(vu);
                Ok(())
            })
        }))
        .set_on_start()
    };
    let refresh = {
        let shared = shared.clone();
        Transaction::new(Arc::new(move |user: &mut GooseUser| {
            let shared = shared.clone();
            Box::pin(async move {
                if let Some(vu) = user.get_session_data_mut::<Vu>() {
                    shared.refresh(vu).await;
                }
                Ok(())
            })
        }))
    };
    let password = {
        let shared = shared.clone();
        Transaction::new(Arc::new(move |user: &mut GooseUser| {
            let shared = shared.clone();
            Box::pin(async move {
                if let Some(vu) = user.get_session_data_mut::<Vu>() {
                    shared.login(vu).await;
                }
                Ok(())
            })
        }))
    };
    let mut scenario = Scenario::new("oauth").register_transaction(start);
    if s.mix.refresh > 0 {
        scenario = scenario.register_transaction(
            refresh
                .set_weight(s.mix.refresh as usize)
                .map_err(|e| EngineError::Goose(e.to_string()))?,
        );
    }
    if s.mix.password > 0 {
        scenario = scenario.register_transaction(
            password
                .set_weight(s.mix.password as usize)
                .map_err(|e| EngineError::Goose(e.to_string()))?,
        );
    }
    // Users never send through goose's client (they use ours), so one
    // shared client instead of one per user: with 10,000 users that is the
    // difference between megabytes and a gigabyte.
    GooseAttack::initialize_with_config(config)
        .map_err(|e| EngineError::Goose(e.to_string()))?
        .set_client_builder_without_cookies(
            goose::client::GooseClientBuilder::new().without_cookies(),
        )
        .map_err(|e| EngineError::Goose(e.to_string()))?
        .register_scenario(scenario)
        .execute()
        .await
        .map(|_| ())
        .map_err(|e| EngineError::Goose(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_shared_out_exactly() {
        for (users, n) in [(10, 3), (1, 1), (7, 7), (100, 8)] {
            let total: usize = (0..n).map(|i| share(users, n, i)).sum();
            assert_eq!(total, users);
        }
    }
}
