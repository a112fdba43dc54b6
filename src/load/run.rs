//! One load run from a [`LoadPlan`] and a target: the endpoints discovery
//! fills, the loopback rule, the clients, one preflight login, the wait for
//! `--start-at`, the engine, and the report with its verdict. The command
//! line parses flags into a plan and prints what this returns.

use super::engine::{self, StopReason};
use super::plan::LoadPlan;
use super::result::{self, LoadReport, RunInfo};
use super::stats::{Kind, Stats};
use super::vu::{Live, Shared};
use crate::error::Error;
use crate::exit;
use crate::target::{Login, Target};
use std::sync::Arc;
use std::time::Duration;

/// How a run that produced a report ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every threshold held.
    Passed,
    /// A threshold was breached, or a regression against the baseline.
    Breached,
    /// Stopped before its time (signal, refused credentials, server down).
    Stopped(StopReason),
    /// Nothing it measures worked: the figures measure failures. Only
    /// transport failures (no answer at all) when `transport_only`.
    NothingMeasured { transport_only: bool },
    /// The engine itself failed (a thread could not start, or panicked).
    Failed(String),
}

impl Outcome {
    /// The process exit code of a run that ended so.
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Passed => exit::OK,
            Outcome::Breached => exit::THRESHOLD_BREACHED,
            Outcome::Stopped(why) => why.exit_code(),
            Outcome::NothingMeasured {
                transport_only: true,
            } => exit::TARGET_UNREACHABLE,
            Outcome::NothingMeasured { .. } => exit::CHECK_FAILED,
            Outcome::Failed(_) => exit::INTERNAL,
        }
    }
}

/// A run's report and how it ended.
pub struct Finished {
    pub report: LoadReport,
    pub outcome: Outcome,
}

/// What a run tells the person watching it, as it happens.
pub trait Observer: Sync {
    /// A line: the run's first line, a warning, an error.
    fn line(&self, text: &str);
    /// The run's live figures, about once a second while it lasts, and
    /// `None` once when it is over.
    fn live(&self, _now: Option<(&Live, Duration)>) {}
}

/// Runs `plan` against `target`. `rt` runs what happens before the load
/// (discovery, the preflight login); `observer` hears what is meant for
/// people. An `Err` means nothing was sent beyond the preflight; a run
/// that started always ends in a report.
pub fn run(
    plan: LoadPlan,
    mut target: Target,
    rt: &tokio::runtime::Runtime,
    observer: &dyn Observer,
) -> Result<Finished, Error> {
    let say = |text: &str| observer.line(text);
    let say: &dyn Fn(&str) = &say;
    // The endpoints the target leaves to discovery, as `check` fills them.
    let http = target.http_options(plan.insecure, plan.cacert.as_deref());
    let probe =
        crate::oauth::http::build_client(&http, 1).map_err(|e| Error::Input(e.to_string()))?;
    rt.block_on(crate::target::discover(&mut target, &probe, &http))
        .map_err(|e| Error::Unreachable(e.to_string()))?;
    loopback_only(&target, plan.allow_remote)?;
    let http = target.http_options(plan.insecure, plan.cacert.as_deref());
    let connections = plan.connections();
    // One kept-alive connection per user or iteration in flight (a smaller
    // pool would close connections after each request and measure
    // connection set-up); one client per load runtime, each driving its
    // own connections.
    let pool = match plan.settings.connection {
        super::profile::Connection::KeepAlive => connections.max(8),
        super::profile::Connection::PerRequest => 0,
    };
    let client =
        crate::oauth::http::build_client(&http, pool).map_err(|e| Error::Input(e.to_string()))?;
    let runtime_clients = (0..plan.threads)
        .map(|_| crate::oauth::http::build_client(&http, pool))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Input(e.to_string()))?;
    descriptors(connections, say);
    // A login command is a process per login: never under load.
    if matches!(target.login, Login::Command(_)) && plan.tokens.is_none() {
        return Err(Error::Input(format!(
            "{}: login.grant: command cannot start sessions under load (a process per login): run it once per session and pass the refresh tokens with --tokens-file",
            target.source
        )));
    }
    // One login (and one refresh) before any traffic: a server that refuses
    // the target's credentials, or cannot be reached, gets nothing more.
    // Sessions from a tokens file send no login, not even this one.
    let redactor = target.redactor();
    for s in plan.tokens.iter().flatten() {
        redactor.add_secret("rt", s);
    }
    if plan.tokens.is_none() {
        rt.block_on(crate::check::preflight::run(
            &target, &client, &http, &redactor,
        ))
        .map_err(|e| {
            Error::Unreachable(format!(
                "{}\n  (no load was sent)",
                redactor.redact(&e.to_string())
            ))
        })?;
    }
    for (_, password) in &plan.accounts {
        redactor.add_secret("pw", password);
    }
    let name = target.name.clone();
    let endpoint = target
        .token_endpoint
        .as_ref()
        .map(|u| u.to_string())
        .unwrap_or_default();
    // Every kind of request is built once before the run: a target whose
    // requests cannot be built (an assertion that cannot be signed) stops
    // here, and nothing without client authentication is ever sent.
    let metrics = plan
        .metrics_listen
        .map(|_| Arc::new(super::metrics::Metrics::new()));
    let shared = Shared::new(
        runtime_clients,
        target,
        http,
        plan.settings.clone(),
        plan.threads,
    )
    .map_err(|e| Error::Input(e.to_string()))?
    .with_accounts(plan.accounts.clone());
    let shared = match plan.tokens.clone() {
        Some(t) => shared.with_tokens(t),
        None => shared,
    };
    let shared = Arc::new(match &metrics {
        Some(m) => shared.with_metrics(m.clone()),
        None => shared,
    });
    // Live metrics on a thread of their own, until the run is over.
    let _endpoint = match (plan.metrics_listen, &metrics) {
        (Some(addr), Some(m)) => {
            let (m, s) = (m.clone(), shared.clone());
            let e = super::metrics::serve(addr, Arc::new(move || m.render(s.control.active_now())))
                .map_err(|e| Error::Input(format!("--metrics-listen {addr}: {e}")))?;
            say(&format!("metrics: http://{}/metrics", e.addr));
            Some(e)
        }
        _ => None,
    };
    wait_for_start(&plan, say);
    // The wall-clock time of the run's clock start: shards' timelines are
    // aligned on it.
    let started_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    say(&format!(
        "tokenprobe load: {}{} on {} thread{}, {} against {} ({}){}",
        plan.shard.map_or(String::new(), |s| format!(
            "shard {}/{}: ",
            s.index, s.count
        )),
        plan.describe(),
        plan.threads,
        if plan.threads == 1 { "" } else { "s" },
        humantime::format_duration(plan.settings.run_time),
        name,
        endpoint,
        if shared.probes() {
            format!(", replay probes at {}", plan.settings.replay_rate)
        } else {
            String::new()
        }
    ));
    {
        let shared = shared.clone();
        crate::interrupt::on_signal(move || {
            if let Some(signal) = crate::interrupt::received() {
                shared.control.stop(StopReason::Interrupted(signal));
            }
        });
    }
    let done = std::sync::atomic::AtomicBool::new(false);
    let ran = std::thread::scope(|scope| {
        scope.spawn(|| progress(&shared, &done, observer));
        let ran = engine::run(shared.clone(), plan.threads);
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        ran
    });
    let duration_s = shared.control.elapsed().as_secs_f64();
    let stats = shared.recorder.merged();
    let stopped = shared.control.stopped().cloned();
    let info = RunInfo {
        not_probed: shared.not_probed(),
        interrupted: matches!(stopped, Some(StopReason::Interrupted(_))),
        stopped: stopped.as_ref().map(StopReason::describe),
        target: name,
        token_endpoint: endpoint,
        started_at,
        duration_s,
        settings: plan.settings_doc(),
    };
    // A shard's thresholds are judged by `report merge` over all shards.
    let judged = if plan.shard.is_some() {
        Vec::new()
    } else {
        super::threshold::with_default_gate(
            plan.settings.thresholds.clone(),
            plan.settings.max_error_rate,
        )
    };
    let mut report = result::build(&stats, info, &judged);
    report.shard = plan.shard;
    if let Some((path, base, tolerance)) = &plan.baseline {
        for difference in result::incomparable(&report, base) {
            say(&format!(
                "warning: --baseline {}: {difference}: the comparison may not mean much",
                path.display()
            ));
        }
        report.regressions = result::regressions(&report, base, *tolerance);
    }
    let outcome = if let Err(e) = ran {
        Outcome::Failed(e.to_string())
    } else if let Some(why) = stopped {
        Outcome::Stopped(why)
    } else if let Some(outcome) = nothing_measured(&plan, &stats, say) {
        outcome
    } else if report.thresholds.iter().any(|t| !t.passed) || !report.regressions.is_empty() {
        Outcome::Breached
    } else {
        Outcome::Passed
    };
    match &outcome {
        Outcome::Failed(e) => say(&format!("error: {e}")),
        Outcome::Stopped(why @ StopReason::Interrupted(_)) => say(&format!(
            "{}: the run stopped early; reports cover what ran",
            why.describe()
        )),
        Outcome::Stopped(why) => say(&format!(
            "error: {}; reports cover what ran",
            why.describe()
        )),
        _ => {}
    }
    Ok(Finished { report, outcome })
}

/// Load traffic goes to loopback only, unless the user says otherwise.
fn loopback_only(target: &Target, allow_remote: bool) -> Result<(), Error> {
    let Some(url) = &target.token_endpoint else {
        return Err(Error::Input(format!(
            "{}: the target has no token endpoint (declare token_endpoint, or discovery)",
            target.source
        )));
    };
    let local = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    if local || allow_remote {
        Ok(())
    } else {
        Err(Error::Input(format!(
            "{url} is not on loopback: load only servers you run; pass --allow-remote if this one is yours"
        )))
    }
}

/// One socket per connection (and an in-process mock's as many again):
/// raises the soft descriptor limit to the hard one, and says when it is
/// short.
fn descriptors(connections: usize, say: &dyn Fn(&str)) {
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0);
    let need = connections as u64 * 2 + 64;
    if limit > 0 && need > limit {
        say(&format!(
            "warning: {connections} connections need up to {need} file descriptors and this process may open {limit}: expect too-many-open-files errors; raise `ulimit -n` (the hard limit) or use fewer users (or a lower --max-in-flight)"
        ));
    }
}

/// Every shard starts together: waits for `--start-at` (at most a day,
/// checked when it was parsed).
fn wait_for_start(plan: &LoadPlan, say: &dyn Fn(&str)) {
    let Some(start) = &plan.start_at else {
        return;
    };
    let wait = start.at - time::OffsetDateTime::now_utc();
    if wait.is_positive() {
        say(&format!("waiting {wait:.0} for --start-at {}", start.text));
        std::thread::sleep(wait.unsigned_abs());
    } else {
        say(&format!(
            "warning: --start-at {} has passed ({:.1} ago): starting now",
            start.text, -wait
        ));
    }
}

/// A run in which nothing it measures worked is not a result: the outcome
/// that says so, or `None`. A sessions-model run too short for any refresh
/// to come due measured logins only: a warning with the way out, not a
/// failure.
fn nothing_measured(plan: &LoadPlan, stats: &Stats, say: &dyn Fn(&str)) -> Option<Outcome> {
    let settings = &plan.settings;
    if settings.mix.refresh == 0 || stats.refresh_ok > 0 {
        return None;
    }
    let refreshes_sent = stats.latency[&Kind::Refresh].len()
        + stats
            .failures_by_kind
            .get(&Kind::Refresh)
            .copied()
            .unwrap_or(0);
    if let Some(model) = settings.sessions
        && refreshes_sent == 0
        && stats.logins_ok > 0
    {
        say(&format!(
            "warning: no refresh came due in {}: {} of {} sessions logged in, and their access tokens outlive the run; \
             give --time-scale (e.g. --time-scale {}) or a longer --run-time to see refreshes",
            humantime::format_duration(settings.run_time),
            stats.started,
            model.count,
            suggested_scale(settings.run_time)
        ));
        return None;
    }
    let transport_only = stats
        .by_status
        .keys()
        .all(|k| k.starts_with("transport:") || k == "2xx");
    say(&format!(
        "error: no refresh succeeded in {} requests ({}): the figures measure failures, not the server",
        stats.requests,
        stats
            .by_status
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    Some(Outcome::NothingMeasured { transport_only })
}

/// A `--time-scale` that brings a refresh of an hour-long token into a
/// third of the run.
fn suggested_scale(run_time: Duration) -> String {
    let run = run_time.as_secs_f64().max(1.0);
    format!("{:.1e}", (run / 3.0 / 3600.0).clamp(1e-4, 1.0))
}

/// The live figures a second to the observer until `done`, then `None`.
fn progress(shared: &Shared, done: &std::sync::atomic::AtomicBool, observer: &dyn Observer) {
    let mut ticks = 0u32;
    while !done.load(std::sync::atomic::Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        ticks += 1;
        if ticks.is_multiple_of(10) {
            observer.live(Some((
                &shared.recorder.live(shared.control.active_now()),
                shared.control.elapsed(),
            )));
        }
    }
    observer.live(None);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_ending_has_its_exit_code() {
        assert_eq!(Outcome::Passed.exit_code(), exit::OK);
        assert_eq!(Outcome::Breached.exit_code(), exit::THRESHOLD_BREACHED);
        assert_eq!(
            Outcome::Stopped(StopReason::CredentialsRefused).exit_code(),
            exit::TARGET_UNREACHABLE
        );
        assert_eq!(
            Outcome::NothingMeasured {
                transport_only: true
            }
            .exit_code(),
            exit::TARGET_UNREACHABLE
        );
        assert_eq!(
            Outcome::NothingMeasured {
                transport_only: false
            }
            .exit_code(),
            exit::CHECK_FAILED
        );
        assert_eq!(Outcome::Failed("x".into()).exit_code(), exit::INTERNAL);
    }

    #[test]
    fn the_suggested_scale_brings_an_hour_into_a_third_of_the_run() {
        assert_eq!(suggested_scale(Duration::from_secs(36)), "3.3e-3");
        assert_eq!(suggested_scale(Duration::from_secs(1)), "1.0e-4");
    }
}
