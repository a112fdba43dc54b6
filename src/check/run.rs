//! A whole conformance run: discovery, a reachability check, scenarios in
//! parallel (`-j`), results sorted by id.

use super::exec::Runner;
use super::result::{
    Attributed, ErrorClass, Finding, Outcome, RunResult, ScenarioResult, TargetSummary,
};
use crate::oauth::http::{self, HttpOptions, TransportError};
use crate::redact::Redactor;
use crate::scenario::Scenario;
use crate::target::Target;
use futures::StreamExt;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub jobs: usize,
    pub strict: bool,
    pub insecure: bool,
    pub ca_file: Option<std::path::PathBuf>,
}

/// Fills endpoints from the discovery document, then checks that the token
/// endpoint can be reached. Only a failure to reach it (connect, DNS, TLS)
/// is an error here (exit code 3): a server that is reached but answers
/// badly (slowly, garbage, resets) is what the scenarios are there to
/// report, each with its classified reason.
/// Why a run cannot start: the server cannot be reached, or the target
/// file says something the server contradicts (the user's to fix: exit 3,
/// naming the key, never a finding of the server's).
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("target unreachable: {0}")]
    Unreachable(#[from] TransportError),
    #[error("{0}")]
    Target(String),
}

pub async fn prepare(
    target: &mut Target,
    client: &reqwest::Client,
    opts: &HttpOptions,
) -> Result<(), PrepareError> {
    crate::target::discover(target, client, opts)
        .await
        .map_err(|e| match e {
            crate::target::DiscoveryError::Transport { error, .. } => {
                PrepareError::Unreachable(error)
            }
            other => PrepareError::Target(other.to_string()),
        })?;
    let endpoint = target.token_endpoint.clone().ok_or_else(|| {
        PrepareError::Target("no token endpoint (neither declared nor discovered)".into())
    })?;
    match http::send(client.head(endpoint), opts.request_timeout).await {
        Err(e)
            if matches!(
                e.class,
                ErrorClass::Connect | ErrorClass::Dns | ErrorClass::Tls
            ) =>
        {
            return Err(e.into());
        }
        _ => {}
    }
    if let Some(jwks) = target.jwks_uri.clone() {
        check_jwks(target, client, opts, &jwks).await?;
    }
    Ok(())
}

/// The key set the id_token checks verify against answers with keys: a
/// wrong `jwks_uri` is the target's mistake, not a signature failure of
/// every id_token.
async fn check_jwks(
    target: &Target,
    client: &reqwest::Client,
    opts: &HttpOptions,
    jwks: &url::Url,
) -> Result<(), PrepareError> {
    let whose = if target.discovery.is_some() {
        "jwks_uri (declared, or from discovery)"
    } else {
        "jwks_uri"
    };
    let r = http::send(client.get(jwks.clone()), opts.request_timeout)
        .await
        .map_err(|e| {
            PrepareError::Target(format!(
                "{whose} {jwks} cannot be fetched ({e}): check it in {}",
                target.source
            ))
        })?;
    let keys = r
        .json()
        .and_then(|j| j.get("keys").and_then(|k| k.as_array()).map(Vec::len));
    match keys {
        Some(n) if (200..300).contains(&r.status) && n > 0 => Ok(()),
        _ => Err(PrepareError::Target(format!(
            "{whose} {jwks} answered {} without a key set (RFC 7517 §5: a JSON object with `keys`): check it in {}",
            r.status, target.source
        ))),
    }
}

/// Runs the scenarios; `on_result` sees each result as it completes (for
/// progress), the returned run holds them sorted by id.
pub async fn run(
    target: Target,
    client: reqwest::Client,
    http: HttpOptions,
    redactor: Arc<Redactor>,
    scenarios: Vec<Scenario>,
    opts: &RunOptions,
    on_result: impl Fn(&ScenarioResult),
) -> RunResult {
    let started = Instant::now();
    let started_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let summary = TargetSummary::of(&target);
    let pace = Arc::new(super::pace::Pace::new(opts.jobs, http.request_timeout));
    let runner = Arc::new(Runner {
        target: Arc::new(target),
        client,
        http,
        redactor,
        jwks: tokio::sync::OnceCell::new(),
        pace: pace.clone(),
    });
    // Moving a shared server clock forward would expire the tokens of the
    // scenarios running beside it: with clock control, scenarios that wait
    // run alone, one after another, once the others are done. So do
    // measurements of latency, which other traffic would blur.
    let (alone, together): (Vec<Scenario>, Vec<Scenario>) = scenarios
        .into_iter()
        .partition(|s| s.measures() || (runner.target.clock_control.is_some() && s.waits()));
    let mut results: Vec<ScenarioResult> = Vec::new();
    for (batch, jobs) in [(together, opts.jobs.max(1)), (alone, 1)] {
        let done: Vec<ScenarioResult> = futures::stream::iter(batch)
            .map(|s| {
                let runner = runner.clone();
                async move {
                    let meta = s.clone();
                    // After Ctrl-C or SIGTERM nothing new starts, and what
                    // runs is cancelled: no request goes out any more.
                    if let Some(signal) = crate::interrupt::received() {
                        return interrupted(&meta, signal, false);
                    }
                    let mut task = tokio::spawn(async move {
                        let _place = runner.pace.scenario().await;
                        runner.run(&s).await
                    });
                    tokio::select! {
                        r = &mut task => match r {
                            Ok(r) => r,
                            Err(e) => crashed(&meta, &e),
                        },
                        signal = crate::interrupt::wait() => {
                            task.abort();
                            interrupted(&meta, signal, true)
                        }
                    }
                }
            })
            .buffer_unordered(jobs)
            // The judges of ER-BODY / ER-STATUS are shown once every
            // scenario has run: defects met elsewhere are folded into them.
            .inspect(|r| {
                if !judges_attributed(r) && !super::causes::may_fold(r) {
                    on_result(r)
                }
            })
            .collect()
            .await;
        results.extend(done);
    }
    // Failures on a wrong `error` wait too: the same answer elsewhere
    // makes them one finding.
    let waiting: Vec<String> = results
        .iter()
        .filter(|r| judges_attributed(r) || super::causes::may_fold(r))
        .map(|r| r.id.clone())
        .collect();
    attribute(&mut results);
    super::causes::fold_same_answers(&mut results);
    for r in results
        .iter()
        .filter(|r| judges_attributed(r) || waiting.contains(&r.id))
    {
        on_result(r);
    }
    results.sort_by(|a, b| a.id.cmp(&b.id));
    RunResult {
        interrupted: crate::interrupt::received(),
        target: summary,
        scenarios: results,
        duration: started.elapsed(),
        started_at,
        strict: opts.strict,
        expectation_problems: Vec::new(),
        comparison: None,
        fail_on_new: false,
        preflight_error: None,
        notes: pace.advice().into_iter().collect(),
    }
}

/// The result of a scenario that a signal stopped (`running`) or kept from
/// starting: skipped, with the reason (JUnit shows it as skipped).
fn interrupted(s: &Scenario, signal: i32, running: bool) -> ScenarioResult {
    let why = format!(
        "interrupted by {}{}",
        crate::interrupt::name(signal),
        if running {
            " while it ran: cancelled"
        } else {
            " before it started"
        }
    );
    ScenarioResult {
        outcome: Outcome::Skipped { why },
        ..unfinished(s)
    }
}

/// A result for `s` that holds no steps yet.
fn unfinished(s: &Scenario) -> ScenarioResult {
    ScenarioResult::of(s, Outcome::Skipped { why: String::new() })
}

/// The result of a scenario whose task panicked: reported, not lost.
fn crashed(s: &Scenario, e: &tokio::task::JoinError) -> ScenarioResult {
    ScenarioResult {
        outcome: Outcome::Errored {
            step: None,
            class: ErrorClass::Internal,
            detail: format!("internal error (please report it): the scenario's task failed: {e}"),
        },
        ..unfinished(s)
    }
}

/// The catalogue ids that format defects seen elsewhere are judged under.
const ATTRIBUTED_IDS: [&str; 6] = [
    "ER-BODY",
    "ER-STATUS",
    "ER-NO5XX",
    "ER-CODE",
    "RI-ERR",
    "RV-ERR",
];

fn judges_attributed(r: &ScenarioResult) -> bool {
    r.covers
        .iter()
        .any(|c| ATTRIBUTED_IDS.contains(&c.as_str()))
}

/// The finding a judge of attributed defects shows: the first place it
/// was seen, and every place in `seen_in`.
fn first_seen(seen: &[(String, Attributed)], places: Vec<String>) -> Finding {
    let (sid, a) = &seen[0];
    let mut f = Finding::new(
        &a.step,
        a.subject.clone(),
        a.expected.clone(),
        format!("{} (in {sid})", a.actual),
    );
    f.exchange = a.exchange.clone();
    // The first place is the finding itself: the others are "more".
    f.seen_in = places.into_iter().skip(1).collect();
    f
}

/// Folds the format defects that scenarios met into the scenario that
/// judges their id, once, with every place they were seen. When no such
/// scenario ran, one result stands for the id.
fn attribute(results: &mut Vec<ScenarioResult>) {
    for id in ATTRIBUTED_IDS {
        let mut seen: Vec<(String, Attributed)> = Vec::new();
        for r in results.iter_mut() {
            let (mine, others): (Vec<Attributed>, Vec<Attributed>) =
                std::mem::take(&mut r.attributed)
                    .into_iter()
                    .partition(|a| a.id == id);
            r.attributed = others;
            seen.extend(mine.into_iter().map(|a| (r.id.clone(), a)));
        }
        if seen.is_empty() {
            continue;
        }
        let places: Vec<String> = seen
            .iter()
            .map(|(sid, a)| {
                format!(
                    "{sid}, step `{}`: {}: expected {}, got {}",
                    a.step, a.subject, a.expected, a.actual
                )
            })
            .collect();
        if id == "ER-CODE" {
            fold_codes(results, seen);
            continue;
        }
        // The dedicated error-format checks (`errors/…`) judge first.
        let judge = results
            .iter_mut()
            .filter(|r| r.covers.iter().any(|c| c == id))
            .filter(|r| !matches!(r.outcome, Outcome::Skipped { .. } | Outcome::Blocked { .. }))
            .min_by_key(|r| (!r.id.starts_with("errors/"), r.id.clone()));
        match judge {
            Some(r) => match &mut r.outcome {
                Outcome::Failed(f) => f.seen_in.extend(places),
                Outcome::Errored { .. } => {}
                other => {
                    *other = Outcome::Failed(first_seen(&seen, places));
                }
            },
            None => {
                let f = first_seen(&seen, places);
                let entry = crate::catalogue::get(id);
                results.push(ScenarioResult {
                    covers: vec![id.to_string()],
                    tags: vec!["errors".into()],
                    ..ScenarioResult::gathered(
                        &format!("errors/{}-seen-elsewhere", id.to_ascii_lowercase()),
                        &format!(
                            "{id}: error responses as other scenarios met them ({})",
                            entry.map_or("", |e| e.text.as_str())
                        ),
                        Outcome::Failed(f),
                    )
                });
            }
        }
    }
}

/// ER-CODE: each wrong code (one answer, such as `invalid_request` for a
/// dead refresh token) is one finding. Its places fold into the first
/// failure with the same answer, the check of ER-CODE first, then the one
/// whose property is the code (RB-BOGUS, …); a wrong code no such check
/// failed on makes the check of ER-CODE fail with it, or stands alone.
fn fold_codes(results: &mut Vec<ScenarioResult>, seen: Vec<(String, Attributed)>) {
    let mut groups: Vec<(String, Vec<(String, Attributed)>)> = Vec::new();
    for (sid, a) in seen {
        match groups.iter_mut().find(|(actual, _)| *actual == a.actual) {
            Some((_, g)) => g.push((sid, a)),
            None => groups.push((a.actual.clone(), vec![(sid, a)])),
        }
    }
    for (n, (actual, group)) in groups.into_iter().enumerate() {
        let places: Vec<String> = group
            .iter()
            .map(|(sid, a)| {
                format!(
                    "{sid}, step `{}`: {}: expected {}, got {} (the refusal held)",
                    a.step, a.subject, a.expected, a.actual
                )
            })
            .collect();
        let same_answer = |r: &ScenarioResult| matches!(&r.outcome, Outcome::Failed(f) if f.subject == "error" && f.actual.starts_with(&actual));
        let root = results
            .iter_mut()
            .filter(|r| same_answer(r))
            .min_by_key(|r| (!r.covers.iter().any(|c| c == "ER-CODE"), r.id.clone()));
        if let Some(r) = root {
            if let Outcome::Failed(f) = &mut r.outcome {
                f.seen_in.extend(places);
            }
            continue;
        }
        let judge = results
            .iter_mut()
            .filter(|r| r.covers.iter().any(|c| c == "ER-CODE"))
            .find(|r| matches!(r.outcome, Outcome::Passed { .. }));
        if let Some(r) = judge {
            r.outcome = Outcome::Failed(first_seen(&group, places));
            continue;
        }
        let entry = crate::catalogue::get("ER-CODE");
        let id = if n == 0 {
            "errors/er-code-seen-elsewhere".to_string()
        } else {
            format!("errors/er-code-seen-elsewhere-{}", n + 1)
        };
        let title = format!(
            "ER-CODE: refusals as other scenarios met them ({})",
            entry.map_or("", |e| e.text.as_str())
        );
        results.push(ScenarioResult {
            covers: vec!["ER-CODE".into()],
            tags: vec!["errors".into()],
            ..ScenarioResult::gathered(&id, &title, Outcome::Failed(first_seen(&group, places)))
        });
    }
}
