//! `tokenprobe check`: scenarios and the target loaded, the target
//! prepared (discovery, reachability, preflight login), the scenarios run,
//! the results printed and written.
//!
//! Every way the run can end writes the requested reports: a preflight
//! that stops it (one error case with the reason, exit 3), Ctrl-C or
//! SIGTERM (the scenarios it stopped skipped with the reason, exit 130 or
//! 143), or the run itself.

use super::CheckArgs;
use crate::check::result::{ErrorClass, Outcome, RunResult, ScenarioResult, TargetSummary};
use crate::check::run::{self, RunOptions};
use crate::exit;
use crate::redact::Redactor;
use crate::report;
use crate::scenario::Scenario;
use crate::target::Target;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub fn check(args: CheckArgs) -> i32 {
    crate::interrupt::install();
    if args.knobs.any() && args.mock.is_none() && args.target.is_some() {
        eprintln!("error: mock flags (--fault, --rotation, --config, --tls…) need --mock PROFILE");
        return exit::INVALID_INPUT;
    }
    let (scenarios, suite) = match super::load_scenarios(&args.paths, &args.extra) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let previous = match &args.compare {
        Some(p) => match std::fs::read(p)
            .map_err(|e| e.to_string())
            .and_then(|b| {
                serde_json::from_slice::<serde_json::Value>(&b).map_err(|e| e.to_string())
            })
            .and_then(|v| crate::check::compare::read_previous(&v).map_err(|e| e.to_string()))
        {
            Ok(ids) => Some((p.display().to_string(), ids)),
            Err(e) => {
                eprintln!("error: --compare {}: {e}", p.display());
                return exit::INVALID_INPUT;
            }
        },
        None => None,
    };
    // Waivers name scenarios of the whole suite (not only the selected
    // ones) or catalogue ids.
    let catalogue = crate::catalogue::entries();
    let known_ids: Vec<&str> = scenarios
        .iter()
        .map(|s| s.id.as_str())
        .chain(catalogue.iter().map(|e| e.id.as_str()))
        .collect();
    let expected = match args
        .expected_failures
        .as_deref()
        .map(|p| crate::check::expected::Expected::load(p, &known_ids))
        .transpose()
    {
        Ok(e) => e,
        Err(d) => {
            eprintln!("{d}");
            return exit::INVALID_INPUT;
        }
    };
    let scenarios = match super::select_or_explain(scenarios, &args.select) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let outputs = if args.report.is_empty() {
        report::default_outputs(&PathBuf::from("reports/latest"))
    } else {
        args.report.clone()
    };
    let opts = RunOptions {
        jobs: args
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        strict: args.strict,
        insecure: args.insecure,
        ca_file: args.cacert.clone(),
    };
    let rt = super::runtime();
    rt.block_on(async {
        let (mut target, mock) = match (&args.target, args.mock) {
            (Some(path), None) => match Target::load(path) {
                Ok(t) => (t, None),
                Err(d) => {
                    eprintln!("{d}");
                    return exit::INVALID_INPUT;
                }
            },
            (path, profile) => match super::start_mock(profile, &args.knobs, path.as_deref()).await
            {
                Ok(started) => (started.target, Some(started.server)),
                Err(code) => return code,
            },
        };
        let redactor = Arc::new(target.redactor());
        let http = target.http_options(opts.insecure, opts.ca_file.as_deref());
        let client = match crate::oauth::http::build_client(&http, 64) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::INVALID_INPUT;
            }
        };
        // Discovery, reachability and the preflight login: a signal stops
        // them too, and whatever stops the run here is written down.
        let prepared = tokio::select! {
            r = prepare(&mut target, &client, &http, &redactor, args.no_preflight) => r,
            signal = crate::interrupt::wait() => Err(Early::Interrupted(signal)),
        };
        if let Err(early) = prepared {
            if let Some(m) = mock {
                m.shutdown().await;
            }
            let result = not_run(&target, &scenarios, &early, &opts);
            if let Early::Unreachable(why) = &early {
                eprintln!("error: {why}");
                if !args.no_preflight && why.contains("preflight") {
                    eprintln!("  (nothing else was run; --no-preflight runs the suite anyway)");
                }
            }
            return finish(&result, &outputs);
        }
        say!(
            "tokenprobe check: {} scenario{} ({suite}) against {} ({})",
            scenarios.len(),
            if scenarios.len() == 1 { "" } else { "s" },
            target.name,
            target
                .token_endpoint
                .as_ref()
                .map(|u| u.as_str())
                .unwrap_or("")
        );
        let verbose = args.verbose;
        let quiet = args.quiet;
        // Skips are told once per reason at the end, unless -v lists them.
        let skipped: std::sync::Mutex<Vec<(String, String)>> = Default::default();
        // A progress line on stderr when it is a terminal (hidden otherwise);
        // result lines are printed above it.
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(scenarios.len() as u64),
            indicatif::ProgressDrawTarget::stderr(),
        );
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} scenarios {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        let mut result = run::run(target, client, http, redactor, scenarios, &opts, |r| {
            let mut shown = r.clone();
            if let Some(e) = &expected {
                shown.known = e.reason_for(r);
            }
            match &shown.outcome {
                Outcome::Skipped { why } if verbose == 0 => skipped
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((why.clone(), shown.id.clone())),
                _ if quiet && !report::terminal::is_finding(&shown) => {}
                _ => bar.suspend(|| print_line(&shown, verbose)),
            }
            bar.inc(1);
        })
        .await;
        if let Some(e) = &expected {
            e.apply(&mut result, time::OffsetDateTime::now_utc().date());
        }
        if let Some((path, before)) = &previous {
            result.comparison = Some(crate::check::compare::compare(&result, path, before));
            result.fail_on_new = args.fail_on == "new";
        }
        bar.finish_and_clear();
        if !quiet {
            let skipped = skipped.into_inner().unwrap_or_else(|p| p.into_inner());
            let style = report::terminal::Style::for_stdout();
            for line in report::terminal::skips_by_reason(&skipped, &style) {
                say!("{line}");
            }
        }
        if let Some(m) = mock {
            m.shutdown().await;
        }
        finish(&result, &outputs)
    })
}

/// Why the scenarios did not run.
enum Early {
    /// The target could not be reached, or its preflight login was refused.
    Unreachable(String),
    Interrupted(i32),
}

/// Discovery, the reachability check and (unless `no_preflight`) the
/// preflight login.
async fn prepare(
    target: &mut Target,
    client: &reqwest::Client,
    http: &crate::oauth::http::HttpOptions,
    redactor: &Redactor,
    no_preflight: bool,
) -> Result<(), Early> {
    if let Err(e) = run::prepare(target, client, http).await {
        return Err(Early::Unreachable(redactor.redact(&e.to_string())));
    }
    if no_preflight {
        return Ok(());
    }
    match crate::check::preflight::run(target, client, http, redactor).await {
        Ok(Some(p)) => {
            match &p.refresh {
                Some(crate::check::preflight::RefreshSeen::Refused(refused)) => eprintln!(
                    "note: preflight {}: the refresh checks will say why",
                    redactor.redact(refused)
                ),
                None if target.behaviour.refresh_token_issued => eprintln!(
                    "note: the preflight login ({}) brought no refresh token, so the checks that start from one will be blocked: ask for the scope that brings one (offline_access on most OpenID providers) in {}, with consent where the server wants it (login.params: {{ prompt: consent }}); or declare behaviour.refresh_token_issued: false",
                    target.login.grant(),
                    if target.login.grant() == crate::wire::LoginGrant::Password {
                        "password_grant.scope"
                    } else {
                        "login.scope"
                    }
                ),
                _ => {}
            }
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => Err(Early::Unreachable(redactor.redact(&e.to_string()))),
    }
}

/// The run that never started: one error case naming why (the target), or
/// every scenario skipped by the signal.
fn not_run(target: &Target, scenarios: &[Scenario], early: &Early, opts: &RunOptions) -> RunResult {
    let (results, preflight_error, interrupted) = match early {
        Early::Unreachable(why) => (
            vec![ScenarioResult {
                file: PathBuf::from(target.source.clone()),
                ..ScenarioResult::gathered(
                    "preflight",
                    "The target is reachable and its credentials are accepted",
                    Outcome::Errored {
                        step: None,
                        class: ErrorClass::Connect,
                        detail: why.clone(),
                    },
                )
            }],
            Some(why.clone()),
            None,
        ),
        Early::Interrupted(signal) => (
            scenarios
                .iter()
                .map(|s| {
                    ScenarioResult::of(
                        s,
                        Outcome::Skipped {
                            why: format!(
                                "interrupted by {} before it started",
                                crate::interrupt::name(*signal)
                            ),
                        },
                    )
                })
                .collect(),
            None,
            Some(*signal),
        ),
    };
    RunResult {
        target: TargetSummary::of(target),
        scenarios: results,
        duration: Duration::ZERO,
        started_at: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        strict: opts.strict,
        expectation_problems: Vec::new(),
        comparison: None,
        fail_on_new: false,
        interrupted,
        preflight_error,
        notes: Vec::new(),
    }
}

/// Prints the summary, writes the reports; the run's exit code.
fn finish(result: &RunResult, outputs: &[report::ReportOutput]) -> i32 {
    say!(
        "\n{}",
        report::terminal::summary(result, &report::terminal::Style::for_stdout())
    );
    match report::write_all(result, outputs) {
        Ok(paths) => {
            for p in paths {
                say!("report: {}", p.display());
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INTERNAL;
        }
    }
    result.exit_code()
}

fn print_line(r: &ScenarioResult, verbose: u8) {
    let style = report::terminal::Style::for_stdout();
    say!("{}", report::terminal::scenario_line(r, &style));
    let details = report::terminal::details(r, verbose, &style);
    if !details.is_empty() {
        say!("{details}");
    }
}
