//! A whole conformance run: discovery, a reachability check, scenarios in
//! parallel (`-j`), results sorted by id.

use super::exec::Runner;
use super::result::{ErrorClass, RunResult, ScenarioResult, TargetSummary};
use crate::oauth::http::{self, HttpOptions, TransportError};
use crate::redact::Redactor;
use crate::scenario::Scenario;
use crate::target::Target;
use futures::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
pub async fn prepare(
    target: &mut Target,
    client: &reqwest::Client,
    opts: &HttpOptions,
) -> Result<(), TransportError> {
    if let Some(url) = target.discovery.clone() {
        let r = http::send(client.get(url.clone()), opts.request_timeout).await?;
        let doc: crate::wire::Discovery = r
            .json()
            .and_then(|j| serde_json::from_value(j).ok())
            .ok_or_else(|| {
                TransportError::new(
                    ErrorClass::Protocol,
                    format!("{url}: not a discovery document (HTTP {})", r.status),
                )
            })?;
        let parse = |s: &str| url::Url::parse(s).ok();
        if target.token_endpoint.is_none() {
            target.token_endpoint = parse(&doc.token_endpoint);
        }
        if target.revocation_endpoint.is_none() {
            target.revocation_endpoint = doc.revocation_endpoint.as_deref().and_then(parse);
        }
        if target.introspection_endpoint.is_none() {
            target.introspection_endpoint = doc.introspection_endpoint.as_deref().and_then(parse);
        }
        if target.jwks_uri.is_none() {
            target.jwks_uri = doc.jwks_uri.as_deref().and_then(parse);
        }
        if target.issuer.is_none() {
            target.issuer = doc.issuer;
        }
    }
    let endpoint = target.token_endpoint.clone().ok_or_else(|| {
        TransportError::new(
            ErrorClass::Protocol,
            "no token endpoint (neither declared nor discovered)",
        )
    })?;
    match http::send(client.head(endpoint), opts.request_timeout).await {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.class,
                ErrorClass::Connect | ErrorClass::Dns | ErrorClass::Tls
            ) =>
        {
            Err(e)
        }
        Err(_) => Ok(()),
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
    let summary = TargetSummary {
        name: target.name.clone(),
        token_endpoint: target
            .token_endpoint
            .as_ref()
            .map(|u| u.to_string())
            .unwrap_or_default(),
        source: target.source.clone(),
    };
    let runner = Arc::new(Runner {
        target: Arc::new(target),
        client,
        http,
        redactor,
        jwks: tokio::sync::OnceCell::new(),
    });
    // Moving a shared server clock forward would expire the tokens of the
    // scenarios running beside it: with clock control, scenarios that wait
    // run alone, one after another, once the others are done.
    let (alone, together): (Vec<Scenario>, Vec<Scenario>) = scenarios
        .into_iter()
        .partition(|s| runner.target.clock_control.is_some() && s.waits());
    let mut results: Vec<ScenarioResult> = Vec::new();
    for (batch, jobs) in [(together, opts.jobs.max(1)), (alone, 1)] {
        let done: Vec<ScenarioResult> = futures::stream::iter(batch)
            .map(|s| {
                let runner = runner.clone();
                async move {
                    let meta = s.clone();
                    match tokio::spawn(async move { runner.run(&s).await }).await {
                        Ok(r) => r,
                        Err(e) => crashed(&meta, &e),
                    }
                }
            })
            .buffer_unordered(jobs)
            .inspect(|r| on_result(r))
            .collect()
            .await;
        results.extend(done);
    }
    results.sort_by(|a, b| a.id.cmp(&b.id));
    RunResult {
        target: summary,
        scenarios: results,
        duration: started.elapsed(),
        started_at,
        strict: opts.strict,
    }
}

/// The result of a scenario whose task panicked: reported, not lost.
fn crashed(s: &Scenario, e: &tokio::task::JoinError) -> ScenarioResult {
    ScenarioResult {
        id: s.id.clone(),
        title: s.title.clone(),
        level: s.level,
        covers: s.covers.clone(),
        tags: s.tags.clone(),
        file: s.file.clone(),
        line: s.line,
        outcome: super::result::Outcome::Errored {
            step: None,
            class: ErrorClass::Internal,
            detail: format!("internal error (please report it): the scenario's task failed: {e}"),
        },
        duration: Duration::ZERO,
        steps: Vec::new(),
    }
}
