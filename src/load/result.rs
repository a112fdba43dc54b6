//! The load report: one document ([`LoadReport`], versioned, its JSON
//! Schema checked in as `schemas/load-report.schema.json`), written as JSON
//! and rendered by [`super::markdown`] (a CI job summary) and
//! [`super::html`] (a self-contained page with SVG charts), which read it
//! and are not read by it. The JSON carries the HDR histograms (V2 serialization, base64) so
//! that runs can be merged and compared exactly.

use super::stats::{Kind, Stats};
use super::threshold::{Figures, Observed, QUANTILES, Threshold, Verdict};
use base64::Engine;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "tokenprobe load report")]
pub struct LoadReport {
    #[schemars(extend("const" = 2))]
    pub schema_version: u32,
    pub tool: String,
    pub target: String,
    pub token_endpoint: String,
    /// RFC 3339.
    pub started_at: String,
    /// The run was stopped early by a signal (Ctrl-C, SIGTERM) rather than
    /// by its run time.
    #[serde(default)]
    pub interrupted: bool,
    /// Why the run ended before its run time, when it did: a signal, the
    /// server no longer answering, refused credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// This report is one shard of a distributed run (`load --shard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<super::profile::Shard>,
    /// A merged report: one row per shard (`report merge`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardRow>,
    pub settings: SettingsDoc,
    pub totals: Totals,
    /// Per request kind (`password`, `refresh`, `replay`) and `all`, from
    /// the moment each request was sent.
    pub latency_us: BTreeMap<String, Latency>,
    /// Open model only: the same, from the moment each iteration was due.
    /// Iterations are sent on schedule whatever the server does (a server
    /// that falls behind shows as `totals.dropped`), so the difference from
    /// `latency_us` is the generator's own delay in sending (its timer's
    /// 1 ms resolution, a busy runtime): a large one means the figures
    /// measure the generator, not the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_us_corrected: Option<BTreeMap<String, Latency>>,
    /// DPoP: the time to sign each request's proof (µs), when proofs were
    /// sent: the generator's cost of sender-constrained tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_proof_us: Option<Latency>,
    /// The connections tokenprobe's own HTTP/1.1 path opened, when it
    /// carried the refreshes: how many, how long each took to be ready
    /// (TCP connect, and the TLS handshake on HTTPS), and how many TLS
    /// handshakes were full or resumed. Request latencies exclude it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<ConnectionsDoc>,
    pub errors: Errors,
    pub violations: ViolationsDoc,
    /// Seconds per timeline entry (1 up to 10 minutes, then wider: the
    /// timeline has at most 600 entries).
    pub timeline_step_s: u64,
    pub timeline: Vec<SecondDoc>,
    pub thresholds: Vec<Verdict>,
    /// Regressions against `--baseline`, if one was given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regressions: Vec<String>,
    /// The run's first failures, each as its exchange, secrets as
    /// fingerprints (at most 20; `--report har=PATH` exports them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failure_samples: Vec<super::stats::FailureSample>,
    /// HDR histograms per kind: V2 serialization, base64.
    pub histograms: BTreeMap<String, String>,
    /// Open model only: the histograms of `latency_us_corrected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histograms_corrected: Option<BTreeMap<String, String>>,
}

/// One shard of a merged report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ShardRow {
    pub index: usize,
    pub started_at: String,
    pub duration_s: f64,
    pub requests: u64,
    pub failures: u64,
    pub rps: f64,
    /// p99 of all its requests, µs.
    pub p99_us: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SettingsDoc {
    /// `closed` (users in a loop) or `open` (iterations at an arrival rate).
    pub model: String,
    /// Open model: iterations started per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival_rate: Option<f64>,
    /// Open model: the arrival rate's stages (`30s:200`: to 200/s over 30 s).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<String>,
    /// Open or sessions model: most iterations running at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<usize>,
    /// Sessions model: token families held at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<usize>,
    /// Sessions model: refresh when this much of the token's life is left
    /// (server time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_before_s: Option<f64>,
    /// Sessions model: the factor server lifetimes were scaled by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_scale: Option<f64>,
    /// `keep-alive` or `per-request`.
    #[serde(default = "keep_alive")]
    pub connection: String,
    /// Accounts logged in as (1: the target's primary user).
    #[serde(default = "one")]
    pub accounts: usize,
    pub users: usize,
    pub increase_rate: f64,
    pub run_time_s: f64,
    pub rate: Option<f64>,
    pub mix_refresh: u32,
    pub mix_password: u32,
    pub replay_rate: f64,
    pub threads: usize,
    /// The thresholds given (judged in `thresholds`; a shard's are judged
    /// by `report merge`).
    #[serde(default)]
    pub thresholds: Vec<String>,
    /// The default error-rate gate (`--max-error-rate`), judged unless the
    /// thresholds hold an `error_rate` of their own; absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_error_rate: Option<f64>,
    /// Requests in a row without an answer that stop the run
    /// (`--max-transport-failures`), and what a run does then
    /// (`--on-server-down`: `stop` or `wait`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_transport_failures: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_server_down: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Totals {
    pub requests: u64,
    pub failures: u64,
    /// Open model: iterations due over the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled: Option<u64>,
    /// Open model: iterations due while `max_in_flight` were running, not
    /// sent (k6's `dropped_iterations`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped: Option<u64>,
    /// Open model: requests sent before the schedule began, readying the
    /// chains its first iterations need (logins); with one request an
    /// iteration, `requests = warm_up + scheduled - dropped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_up: Option<u64>,
    pub rps: f64,
    pub duration_s: f64,
    pub error_rate: f64,
    /// Logins that succeeded, and how many a second over the run.
    #[serde(default)]
    pub logins: u64,
    #[serde(default)]
    pub login_rate: f64,
    /// Requests of the logins' front channels (the code flow's pages and
    /// redirects), beside their token requests; 0 for other logins.
    #[serde(default)]
    pub login_hops: u64,
    /// Users, chains or sessions that logged in at least once (against
    /// `settings.users` or `settings.sessions` asked for).
    #[serde(default)]
    pub started: u64,
    /// Replay probes refused, as a rotating server must: counted under
    /// `errors.by_status`, never as failures.
    #[serde(default)]
    pub expected_refusals: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Latency {
    pub count: u64,
    pub p50: u64,
    pub p90: u64,
    pub p95: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConnectionsDoc {
    pub opened: u64,
    /// TLS handshakes that were full (0 on plain HTTP).
    pub tls_full: u64,
    /// TLS handshakes that resumed an earlier session.
    pub tls_resumed: u64,
    /// Time from connect to ready, per connection (µs).
    pub setup_us: Latency,
    /// The same as an HDR histogram (V2 serialization, base64), for
    /// `report merge`.
    pub setup_histogram: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Errors {
    /// Failed requests by OAuth `error` code (`transport:CLASS` without an answer).
    pub by_code: BTreeMap<String, u64>,
    /// Failed requests by kind.
    #[serde(default)]
    pub by_kind: BTreeMap<String, u64>,
    /// All answers by HTTP status (`2xx` for successes).
    pub by_status: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ViolationsDoc {
    pub chain_breaks: u64,
    pub replay_accepted: u64,
    pub duplicate_tokens: u64,
    pub rotation_violations: u64,
    /// Violations this run could not see, and why (`replay_accepted`:
    /// no replay probes ran), so that a zero is not read as a pass.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub not_probed: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SecondDoc {
    /// Start of the entry, in seconds from the start of the run.
    pub second: u64,
    pub requests: u64,
    /// Requests by kind.
    pub by_kind: BTreeMap<String, u64>,
    pub errors: u64,
    /// Failures by code (a few codes; the rest `other`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors_by_code: BTreeMap<String, u64>,
    pub p50_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    /// Users (closed model) or iterations in flight (open model), at most.
    pub active: u64,
    /// Open model: iterations dropped.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped: u64,
    /// The entry's latency histogram (coarse: one significant digit; V2
    /// serialization, base64), so that shards' timelines merge exactly.
    #[serde(default)]
    pub hdr: String,
}

impl SettingsDoc {
    /// A closed-model run of `users`, for tests.
    #[cfg(test)]
    pub(crate) fn closed(users: usize, run_time_s: f64, thresholds: Vec<String>) -> SettingsDoc {
        SettingsDoc {
            model: "closed".into(),
            arrival_rate: None,
            stages: Vec::new(),
            max_in_flight: None,
            sessions: None,
            refresh_before_s: None,
            time_scale: None,
            connection: "keep-alive".into(),
            accounts: 1,
            users,
            increase_rate: users as f64,
            run_time_s,
            rate: None,
            mix_refresh: 1,
            mix_password: 0,
            replay_rate: 0.0,
            threads: 1,
            thresholds,
            max_error_rate: None,
            max_transport_failures: None,
            on_server_down: None,
        }
    }
}

fn keep_alive() -> String {
    "keep-alive".into()
}

fn one() -> usize {
    1
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn latency(h: &Histogram<u64>) -> Latency {
    Latency {
        count: h.len(),
        p50: h.value_at_quantile(0.5),
        p90: h.value_at_quantile(0.9),
        p95: h.value_at_quantile(0.95),
        p99: h.value_at_quantile(0.99),
        p999: h.value_at_quantile(0.999),
        max: h.max(),
        mean: (h.mean() * 10.0).round() / 10.0,
    }
}

fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    let _ = V2Serializer::new().serialize(h, &mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A histogram back from a report (for merging and comparing runs).
pub fn decode(text: &str) -> Option<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    Deserializer::new().deserialize(&mut bytes.as_slice()).ok()
}

fn figures(
    h: &Histogram<u64>,
    requests: u64,
    failures: u64,
    measured: u64,
    duration_s: f64,
) -> Figures {
    Figures {
        latency: QUANTILES
            .iter()
            .map(|(q, _)| (*q, h.value_at_quantile(*q) as f64))
            .collect(),
        error_rate: if measured == 0 {
            0.0
        } else {
            failures as f64 / measured as f64
        },
        rps: if duration_s > 0.0 {
            requests as f64 / duration_s
        } else {
            0.0
        },
        requests: requests as f64,
        failures: failures as f64,
    }
}

/// What the run produced, for thresholds. `not_probed`: the violations the
/// run could not see, with why.
pub fn observed(stats: &Stats, duration_s: f64, not_probed: &BTreeMap<String, String>) -> Observed {
    // A replay's refusal is its expected answer: replays are not in the
    // error rate's denominator.
    // Failures are not in the histograms (they are counted apart), so a
    // kind's requests are its histogram's count and its failures.
    let failures_of = |k: &Kind| stats.failures_by_kind.get(k).copied().unwrap_or(0);
    let measured: u64 = Kind::ALL
        .iter()
        .filter(|k| **k != Kind::Replay)
        .map(|k| stats.latency[k].len() + failures_of(k))
        .sum();
    let kinds = stats
        .latency
        .iter()
        .filter(|(k, h)| !h.is_empty() || failures_of(k) > 0)
        .map(|(k, h)| {
            let failures = failures_of(k);
            let sent = h.len() + failures;
            let denominator = if *k == Kind::Replay { 0 } else { sent };
            (
                k.as_str().to_string(),
                figures(h, sent, failures, denominator, duration_s),
            )
        })
        .collect();
    Observed {
        all: figures(
            &stats.all_latency(),
            stats.requests,
            stats.failures,
            measured,
            duration_s,
        ),
        kinds,
        chain_breaks: stats.violations.chain_breaks as f64,
        replay_accepted: stats.violations.replay_accepted as f64,
        duplicate_tokens: stats.violations.duplicate_tokens as f64,
        rotation_violations: stats.violations.rotation_violations as f64,
        dropped: stats.dropped as f64,
        not_probed: not_probed.clone(),
    }
}

/// Everything a report needs besides the statistics.
pub struct RunInfo {
    pub interrupted: bool,
    /// Why the run ended early, if it did.
    pub stopped: Option<String>,
    pub target: String,
    pub token_endpoint: String,
    pub started_at: String,
    pub duration_s: f64,
    pub settings: SettingsDoc,
    /// Violations the run could not see, and why.
    pub not_probed: BTreeMap<String, String>,
}

fn latencies(map: &BTreeMap<Kind, Histogram<u64>>) -> BTreeMap<String, Latency> {
    let mut out: BTreeMap<String, Latency> = map
        .iter()
        .filter(|(_, h)| !h.is_empty())
        .map(|(k, h)| (k.as_str().to_string(), latency(h)))
        .collect();
    let mut all = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds");
    for h in map.values() {
        let _ = all.add(h);
    }
    out.insert("all".into(), latency(&all));
    out
}

/// Builds the report.
pub fn build(stats: &Stats, info: RunInfo, thresholds: &[Threshold]) -> LoadReport {
    let o = observed(stats, info.duration_s, &info.not_probed);
    // Open and sessions models measure from when each turn was due.
    let open = info.settings.model != "closed";
    let arrivals = info.settings.model == "open";
    LoadReport {
        schema_version: SCHEMA_VERSION,
        tool: concat!("tokenprobe ", env!("CARGO_PKG_VERSION")).into(),
        target: info.target,
        token_endpoint: info.token_endpoint,
        started_at: info.started_at,
        interrupted: info.interrupted,
        stopped: info.stopped,
        shard: None,
        shards: Vec::new(),
        settings: info.settings,
        totals: Totals {
            requests: stats.requests,
            failures: stats.failures,
            scheduled: arrivals.then_some(stats.scheduled),
            dropped: arrivals.then_some(stats.dropped),
            warm_up: arrivals.then_some(stats.warm_up),
            rps: (o.all.rps * 10.0).round() / 10.0,
            duration_s: (info.duration_s * 1000.0).round() / 1000.0,
            error_rate: o.all.error_rate,
            logins: stats.logins_ok,
            login_rate: if info.duration_s > 0.0 {
                (stats.logins_ok as f64 / info.duration_s * 10.0).round() / 10.0
            } else {
                0.0
            },
            started: stats.started,
            login_hops: stats.login_hops,
            expected_refusals: stats.expected_refusals,
        },
        latency_us: latencies(&stats.latency),
        latency_us_corrected: open.then(|| latencies(&stats.corrected)),
        dpop_proof_us: (!stats.proof.is_empty()).then(|| latency(&stats.proof)),
        connections: (!stats.connect.is_empty()).then(|| ConnectionsDoc {
            opened: stats.connect.len(),
            tls_full: stats.tls_full,
            tls_resumed: stats.tls_resumed,
            setup_us: latency(&stats.connect),
            setup_histogram: encode(&stats.connect),
        }),
        errors: Errors {
            by_kind: stats
                .failures_by_kind
                .iter()
                .map(|(k, n)| (k.as_str().to_string(), *n))
                .collect(),
            by_code: stats.by_code.clone(),
            by_status: stats.by_status.clone(),
        },
        violations: ViolationsDoc {
            chain_breaks: stats.violations.chain_breaks,
            replay_accepted: stats.violations.replay_accepted,
            duplicate_tokens: stats.violations.duplicate_tokens,
            rotation_violations: stats.violations.rotation_violations,
            not_probed: info.not_probed,
        },
        timeline_step_s: stats.timeline.step_s,
        timeline: stats
            .timeline
            .buckets
            .iter()
            .enumerate()
            .map(|(i, b)| SecondDoc {
                second: i as u64 * stats.timeline.step_s,
                requests: b.total(),
                by_kind: Kind::ALL
                    .iter()
                    .filter(|k| b.requests[**k as usize] > 0)
                    .map(|k| (k.as_str().to_string(), b.requests[*k as usize]))
                    .collect(),
                errors: b.errors,
                errors_by_code: b.errors_by_code.clone(),
                p50_us: b.latency.value_at_quantile(0.5),
                p95_us: b.latency.value_at_quantile(0.95),
                p99_us: b.latency.value_at_quantile(0.99),
                active: b.active,
                dropped: b.dropped,
                hdr: encode(&b.latency),
            })
            .collect(),
        thresholds: thresholds.iter().map(|t| t.judge(&o)).collect(),
        regressions: Vec::new(),
        failure_samples: stats.samples.clone(),
        histograms: stats
            .latency
            .iter()
            .map(|(k, h)| (k.as_str().to_string(), encode(h)))
            .collect(),
        histograms_corrected: open.then(|| {
            stats
                .corrected
                .iter()
                .map(|(k, h)| (k.as_str().to_string(), encode(h)))
                .collect()
        }),
    }
}

/// Regressions of `now` against `base`: p99 (all) or error rate up by more
/// than `tolerance` (0.1 = 10 %), or throughput down by more than it, or a
/// violation count that was zero and is not.
/// What makes `base` a doubtful baseline for `now`: another target, model,
/// load or run time (each named with both values).
pub fn incomparable(now: &LoadReport, base: &LoadReport) -> Vec<String> {
    let mut out = Vec::new();
    if (&now.target, &now.token_endpoint) != (&base.target, &base.token_endpoint) {
        out.push(format!(
            "another target: {} ({}) now, {} ({}) in the baseline",
            now.target, now.token_endpoint, base.target, base.token_endpoint
        ));
    }
    let (a, b) = (&now.settings, &base.settings);
    let differs = |name: &str, x: String, y: String, out: &mut Vec<String>| {
        if x != y {
            out.push(format!(
                "other settings: {name} {x} now, {y} in the baseline"
            ));
        }
    };
    differs("model", a.model.clone(), b.model.clone(), &mut out);
    differs("users", a.users.to_string(), b.users.to_string(), &mut out);
    differs(
        "sessions",
        format!("{:?}", a.sessions),
        format!("{:?}", b.sessions),
        &mut out,
    );
    differs(
        "arrival rate",
        format!("{:?}", a.arrival_rate),
        format!("{:?}", b.arrival_rate),
        &mut out,
    );
    differs(
        "mix",
        format!("refresh={},password={}", a.mix_refresh, a.mix_password),
        format!("refresh={},password={}", b.mix_refresh, b.mix_password),
        &mut out,
    );
    differs(
        "threads",
        a.threads.to_string(),
        b.threads.to_string(),
        &mut out,
    );
    differs(
        "connection",
        a.connection.clone(),
        b.connection.clone(),
        &mut out,
    );
    out
}

pub fn regressions(now: &LoadReport, base: &LoadReport, tolerance: f64) -> Vec<String> {
    let mut out = Vec::new();
    if let (Some(a), Some(b)) = (now.latency_us.get("all"), base.latency_us.get("all"))
        && b.p99 > 0
        && a.p99 as f64 > b.p99 as f64 * (1.0 + tolerance)
    {
        out.push(format!(
            "p99 {} µs, baseline {} µs (+{:.0} %)",
            a.p99,
            b.p99,
            (a.p99 as f64 / b.p99 as f64 - 1.0) * 100.0
        ));
    }
    if base.totals.rps > 0.0 && now.totals.rps < base.totals.rps * (1.0 - tolerance) {
        out.push(format!(
            "{:.1} req/s, baseline {:.1} req/s (-{:.0} %)",
            now.totals.rps,
            base.totals.rps,
            (1.0 - now.totals.rps / base.totals.rps) * 100.0
        ));
    }
    if now.totals.error_rate > base.totals.error_rate * (1.0 + tolerance) + 1e-9 {
        out.push(format!(
            "error rate {:.3} %, baseline {:.3} %",
            now.totals.error_rate * 100.0,
            base.totals.error_rate * 100.0
        ));
    }
    let pairs = [
        (
            "chain_breaks",
            now.violations.chain_breaks,
            base.violations.chain_breaks,
        ),
        (
            "replay_accepted",
            now.violations.replay_accepted,
            base.violations.replay_accepted,
        ),
        (
            "duplicate_tokens",
            now.violations.duplicate_tokens,
            base.violations.duplicate_tokens,
        ),
        (
            "rotation_violations",
            now.violations.rotation_violations,
            base.violations.rotation_violations,
        ),
    ];
    for (name, a, b) in pairs {
        if b == 0 && a > 0 {
            out.push(format!("{name} {a}, baseline 0"));
        }
    }
    out
}

/// Who started and what was sent: `8 of 8 users logged in (1,105 logins,
/// 110.5/s); sent: refresh 20,000, login 1,105, replay 200`; a code flow's
/// pages and redirects as `login pages N`.
pub fn started_line(r: &LoadReport) -> String {
    let t = &r.totals;
    let st = &r.settings;
    let (asked, what) = match (st.model.as_str(), st.sessions) {
        ("sessions", Some(n)) => (n, "sessions"),
        ("open", _) => (0, "chains"),
        _ => (st.users, "users"),
    };
    let started = if asked > 0 {
        format!("{} of {asked} {what} logged in", t.started)
    } else {
        format!("{} {what} logged in", t.started)
    };
    let mut sent: Vec<String> = ["refresh", "login", "replay"]
        .iter()
        .filter_map(|k| {
            let n = r.latency_us.get(*k).map_or(0, |l| l.count)
                + r.errors.by_kind.get(*k).copied().unwrap_or(0);
            (n > 0).then(|| format!("{k} {n}"))
        })
        .collect();
    if t.login_hops > 0 {
        sent.push(format!("login pages {}", t.login_hops));
    }
    format!(
        "{started} ({} logins, {:.1}/s); sent: {}",
        t.logins,
        t.login_rate,
        if sent.is_empty() {
            "nothing".to_string()
        } else {
            sent.join(", ")
        }
    )
}

/// What a status count holds besides failures: replay probes that a
/// rotating server refused, as it must.
pub fn status_note(r: &LoadReport, status: &str) -> String {
    let refused = r.totals.expected_refusals;
    if refused == 0 || status == "2xx" || status.starts_with("transport:") {
        return String::new();
    }
    let failed: u64 = r.errors.by_kind.values().sum();
    let n = r.errors.by_status.get(status).copied().unwrap_or(0);
    if status.starts_with('4') && n > 0 {
        format!(
            " (of them up to {} expected: replays refused, not failures{})",
            refused.min(n),
            if failed == 0 {
                ""
            } else {
                "; the rest failures"
            }
        )
    } else {
        String::new()
    }
}

/// The JSON Schema of the report.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(LoadReport)).unwrap_or_default()
}

/// A small report for the renderers' tests.
#[cfg(test)]
pub(crate) fn sample() -> LoadReport {
    use crate::load::stats::Outcome;
    use std::time::Duration;
    {
        let mut s = Stats::default();
        for i in 0..1000u64 {
            let outcome = if i % 100 == 0 {
                Outcome::Status(400, Some("invalid_grant".into()))
            } else {
                Outcome::Ok
            };
            let kind = if i % 10 == 0 {
                Kind::Login
            } else {
                Kind::Refresh
            };
            s.record(
                kind,
                Duration::from_micros(200 + i % 50),
                Duration::from_millis(i * 2),
                &outcome,
            );
        }
        s.violations.chain_breaks = 10;
        let info = RunInfo {
            interrupted: false,
            stopped: None,
            target: "mock".into(),
            token_endpoint: "http://127.0.0.1:1/token".into(),
            started_at: "2026-11-22T00:00:00Z".into(),
            duration_s: 2.0,
            not_probed: BTreeMap::new(),
            settings: SettingsDoc::closed(2, 2.0, Vec::new()),
        };
        let t = [
            "p99<250ms".parse().unwrap(),
            "chain_breaks==0".parse().unwrap(),
        ];
        build(&s, info, &t)
    }
}

#[cfg(test)]
mod tests;
