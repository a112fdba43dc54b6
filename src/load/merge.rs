//! `tokenprobe report merge`: the reports of a distributed run's shards
//! (`load --shard I/N`) added up exactly. Percentiles cannot be averaged,
//! but HDR histograms add: every report carries its histograms (per kind,
//! and per timeline entry), so the merged percentiles are those of one run
//! that had sent every shard's requests. Counts, error maps and violations
//! are summed; timelines are aligned on wall-clock seconds (each shard's
//! `started_at`); thresholds are judged over the merged run.
//!
//! A set is refused, with the reason, when its reports come from different
//! targets, settings or versions, or when a shard is missing or given
//! twice.

use super::result::{self as report, LoadReport, RunInfo, SCHEMA_VERSION, ShardRow, decode};
use super::stats::{Bucket, Kind, Stats, Timeline, Violations};
use super::threshold::Threshold;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Why a set of reports cannot be merged.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MergeError(pub String);

fn refuse(message: String) -> MergeError {
    MergeError(message)
}

fn parse_time(r: &LoadReport, path: &std::path::Path) -> Result<time::OffsetDateTime, MergeError> {
    time::OffsetDateTime::parse(
        &r.started_at,
        &time::format_description::well_known::Rfc3339,
    )
    .map_err(|e| {
        refuse(format!(
            "{}: started_at `{}` is not an RFC 3339 time ({e})",
            path.display(),
            r.started_at
        ))
    })
}

/// A report's statistics back, its timeline shifted by `offset_s` seconds.
fn stats_of(r: &LoadReport, path: &std::path::Path, offset_s: u64) -> Result<Stats, MergeError> {
    let bad = |what: &str| refuse(format!("{}: {what} cannot be read", path.display()));
    let mut s = Stats {
        // A shard's failures, on the merged run's clock.
        samples: r
            .failure_samples
            .iter()
            .map(|f| super::stats::FailureSample {
                at_s: f.at_s + offset_s as f64,
                ..f.clone()
            })
            .collect(),
        ..Stats::default()
    };
    for (name, text) in &r.histograms {
        let kind = Kind::named(name).ok_or_else(|| bad(&format!("histogram `{name}`")))?;
        s.latency.insert(
            kind,
            decode(text).ok_or_else(|| bad(&format!("histogram `{name}`")))?,
        );
    }
    for (name, text) in r.histograms_corrected.iter().flatten() {
        let kind = Kind::named(name).ok_or_else(|| bad(&format!("histogram `{name}`")))?;
        s.corrected.insert(
            kind,
            decode(text).ok_or_else(|| bad(&format!("histogram `{name}`")))?,
        );
    }
    if let Some(c) = &r.connections {
        s.connect = decode(&c.setup_histogram).ok_or_else(|| bad("connections.setup_histogram"))?;
        s.tls_full = c.tls_full;
        s.tls_resumed = c.tls_resumed;
    }
    s.requests = r.totals.requests;
    s.failures = r.totals.failures;
    s.scheduled = r.totals.scheduled.unwrap_or(0);
    s.dropped = r.totals.dropped.unwrap_or(0);
    s.warm_up = r.totals.warm_up.unwrap_or(0);
    s.logins_ok = r.totals.logins;
    s.started = r.totals.started;
    s.login_hops = r.totals.login_hops;
    s.expected_refusals = r.totals.expected_refusals;
    for (name, n) in &r.errors.by_kind {
        let kind = Kind::named(name).ok_or_else(|| bad(&format!("errors.by_kind `{name}`")))?;
        s.failures_by_kind.insert(kind, *n);
    }
    s.by_code = r.errors.by_code.clone();
    s.by_status = r.errors.by_status.clone();
    s.violations = Violations {
        chain_breaks: r.violations.chain_breaks,
        replay_accepted: r.violations.replay_accepted,
        duplicate_tokens: r.violations.duplicate_tokens,
        rotation_violations: r.violations.rotation_violations,
    };
    let step = r.timeline_step_s.max(1);
    let mut timeline = Timeline {
        step_s: step,
        buckets: Vec::new(),
    };
    for e in &r.timeline {
        let i = ((offset_s + e.second) / step) as usize;
        if timeline.buckets.len() <= i {
            timeline.buckets.resize_with(i + 1, Bucket::default);
        }
        let mut b = Bucket {
            errors: e.errors,
            errors_by_code: e.errors_by_code.clone(),
            active: e.active,
            dropped: e.dropped,
            latency: if e.hdr.is_empty() {
                super::stats::coarse_histogram()
            } else {
                decode(&e.hdr).ok_or_else(|| bad("a timeline histogram"))?
            },
            ..Bucket::default()
        };
        for (name, n) in &e.by_kind {
            let kind = Kind::named(name).ok_or_else(|| bad(&format!("timeline kind `{name}`")))?;
            b.requests[kind as usize] = *n;
        }
        // Two entries of one shard in one interval: one run's.
        timeline.buckets[i].add(&b);
    }
    s.timeline = timeline;
    Ok(s)
}

/// Merges the shards' reports (`(path, report)`); `thresholds`: judged
/// over the merged run (the shards' own when `None`).
pub fn merge(
    reports: &[(PathBuf, LoadReport)],
    thresholds: Option<Vec<Threshold>>,
) -> Result<LoadReport, MergeError> {
    let (first_path, first) = reports
        .first()
        .ok_or_else(|| refuse("no report to merge".into()))?;
    for (path, r) in reports {
        if r.schema_version != SCHEMA_VERSION {
            return Err(refuse(format!(
                "{}: schema version {}, this tokenprobe merges version {SCHEMA_VERSION}",
                path.display(),
                r.schema_version
            )));
        }
        if r.tool != first.tool {
            return Err(refuse(format!(
                "{} was written by {}, {} by {}: merge reports of one version",
                first_path.display(),
                first.tool,
                path.display(),
                r.tool
            )));
        }
        if (&r.target, &r.token_endpoint) != (&first.target, &first.token_endpoint) {
            return Err(refuse(format!(
                "reports from different targets: {} ran against {} ({}), {} against {} ({})",
                first_path.display(),
                first.target,
                first.token_endpoint,
                path.display(),
                r.target,
                r.token_endpoint
            )));
        }
        if r.settings != first.settings {
            return Err(refuse(format!(
                "{} and {} ran with different settings: merge the shards of one run",
                first_path.display(),
                path.display()
            )));
        }
        if !r.shards.is_empty() {
            return Err(refuse(format!(
                "{} is already a merged report",
                path.display()
            )));
        }
    }
    // Every shard exactly once.
    let count = match first.shard {
        Some(s) => s.count,
        None if reports.len() == 1 => 1,
        None => {
            return Err(refuse(format!(
                "{} is not a shard's report (run with --shard I/N or --shards N)",
                first_path.display()
            )));
        }
    };
    let mut seen: BTreeMap<usize, &PathBuf> = BTreeMap::new();
    for (path, r) in reports {
        let Some(s) = r
            .shard
            .or((count == 1).then_some(super::profile::Shard { index: 0, count: 1 }))
        else {
            return Err(refuse(format!(
                "{} is not a shard's report (run with --shard I/N or --shards N)",
                path.display()
            )));
        };
        if s.count != count {
            return Err(refuse(format!(
                "{} is shard {} of {}, {} of {count}: merge the shards of one run",
                path.display(),
                s.index,
                s.count,
                first_path.display()
            )));
        }
        if let Some(other) = seen.insert(s.index, path) {
            return Err(refuse(format!(
                "shard {} of {count} given twice: {} and {}",
                s.index,
                other.display(),
                path.display()
            )));
        }
    }
    let missing: Vec<String> = (0..count)
        .filter(|i| !seen.contains_key(i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(refuse(format!(
            "shard{} {} of {count} missing: every shard's report is needed for exact figures",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        )));
    }
    // Wall-clock alignment.
    let starts: Vec<time::OffsetDateTime> = reports
        .iter()
        .map(|(p, r)| parse_time(r, p))
        .collect::<Result<_, _>>()?;
    let base = starts.iter().min().copied().unwrap_or(starts[0]);
    let end = reports
        .iter()
        .zip(&starts)
        .map(|((_, r), s)| *s + time::Duration::seconds_f64(r.totals.duration_s))
        .max()
        .unwrap_or(base);
    let mut merged = Stats::default();
    let mut rows = Vec::new();
    let mut not_probed = BTreeMap::new();
    for ((path, r), start) in reports.iter().zip(&starts) {
        let offset = (*start - base).whole_seconds().max(0) as u64;
        let s = stats_of(r, path, offset)?;
        let timeline = s.timeline.clone();
        let mut without = s;
        without.timeline = Timeline::default();
        merged.merge(&without);
        merged.timeline.merge_shard(&timeline);
        not_probed.extend(r.violations.not_probed.clone());
        rows.push(ShardRow {
            index: r.shard.map_or(0, |s| s.index),
            started_at: r.started_at.clone(),
            duration_s: r.totals.duration_s,
            requests: r.totals.requests,
            failures: r.totals.failures,
            rps: r.totals.rps,
            p99_us: r.latency_us.get("all").map_or(0, |l| l.p99),
        });
    }
    rows.sort_by_key(|r| r.index);
    let thresholds = match thresholds {
        Some(t) => super::threshold::with_default_gate(t, first.settings.max_error_rate),
        None => first
            .settings
            .thresholds
            .iter()
            .map(|t| {
                t.parse::<Threshold>()
                    .map_err(|e| refuse(format!("{}: {e}", first_path.display())))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|t| super::threshold::with_default_gate(t, first.settings.max_error_rate))?,
    };
    let info = RunInfo {
        interrupted: reports.iter().any(|(_, r)| r.interrupted),
        stopped: reports.iter().find_map(|(_, r)| r.stopped.clone()),
        target: first.target.clone(),
        token_endpoint: first.token_endpoint.clone(),
        started_at: base
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        duration_s: (end - base).as_seconds_f64(),
        settings: first.settings.clone(),
        not_probed,
    };
    let mut doc = report::build(&merged, info, &thresholds);
    doc.shards = rows;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::profile::Shard;
    use crate::load::result::SettingsDoc;
    use crate::load::stats::Outcome;
    use std::time::Duration;

    fn settings() -> SettingsDoc {
        SettingsDoc::closed(4, 3.0, vec!["requests<700".into()])
    }

    fn report(stats: &Stats, shard: usize, started_at: &str) -> LoadReport {
        let info = RunInfo {
            interrupted: false,
            stopped: None,
            target: "t".into(),
            token_endpoint: "http://127.0.0.1:1/token".into(),
            started_at: started_at.into(),
            duration_s: 3.0,
            settings: settings(),
            not_probed: BTreeMap::new(),
        };
        let mut r = report::build(stats, info, &[]);
        r.shard = Some(Shard {
            index: shard,
            count: 2,
        });
        r
    }

    /// Two shards' reports merged equal one run fed every request: the same
    /// percentiles per kind, counts, codes and (shifted by the second shard's
    /// later start) timeline; a threshold only the whole breaches is
    /// breached.
    #[test]
    fn merged_reports_equal_one_run_of_everything() {
        let (mut a, mut b, mut whole) = (Stats::default(), Stats::default(), Stats::default());
        for i in 0..1000u64 {
            let kind = if i % 10 == 0 {
                Kind::Login
            } else {
                Kind::Refresh
            };
            let outcome = if i % 97 == 0 {
                Outcome::Status(400, Some("invalid_grant".into()))
            } else {
                Outcome::Ok
            };
            let took = Duration::from_micros(100 + (i * 7919) % 20_000);
            let at = Duration::from_millis(i * 2);
            if i % 3 == 0 {
                // Shard 1 started one second after shard 0.
                b.record(kind, took, at, &outcome);
                whole.record(kind, took, at + Duration::from_secs(1), &outcome);
            } else {
                a.record(kind, took, at, &outcome);
                whole.record(kind, took, at, &outcome);
            }
        }
        let reports = vec![
            (
                PathBuf::from("a.json"),
                report(&a, 0, "2026-11-30T10:00:00.250Z"),
            ),
            (
                PathBuf::from("b.json"),
                report(&b, 1, "2026-11-30T10:00:01.250Z"),
            ),
        ];
        assert!(a.requests < 700 && b.requests < 700, "each shard passes");
        let merged = merge(&reports, None).unwrap();
        let one = report(&whole, 0, "2026-11-30T10:00:00.250Z");
        assert_eq!(merged.totals.requests, 1000);
        assert_eq!(merged.totals.failures, a.failures + b.failures);
        assert_eq!(merged.latency_us, one.latency_us, "exact percentiles");
        assert_eq!(merged.histograms, one.histograms);
        assert_eq!(merged.errors, one.errors);
        let counts = |r: &LoadReport| r.timeline.iter().map(|s| s.requests).collect::<Vec<_>>();
        assert_eq!(counts(&merged), counts(&one));
        let p99 = |r: &LoadReport| r.timeline.iter().map(|s| s.p99_us).collect::<Vec<_>>();
        assert_eq!(p99(&merged), p99(&one), "timeline percentiles exact too");
        assert_eq!(merged.shards.len(), 2);
        assert!(
            (merged.totals.duration_s - 4.0).abs() < 1e-6,
            "{}",
            merged.totals.duration_s
        );
        assert_eq!(merged.thresholds.len(), 1);
        assert!(
            !merged.thresholds[0].passed,
            "requests<700 breached by the whole"
        );
    }

    #[test]
    fn sets_that_are_not_one_run_are_refused() {
        let s = Stats::default();
        let a = (
            PathBuf::from("a.json"),
            report(&s, 0, "2026-11-30T10:00:00Z"),
        );
        let b = (
            PathBuf::from("b.json"),
            report(&s, 1, "2026-11-30T10:00:00Z"),
        );
        let e = merge(std::slice::from_ref(&a), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("shard 1 of 2 missing"), "{e}");
        let e = merge(&[a.clone(), a.clone()], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("given twice"), "{e}");
        let mut other = b.clone();
        other.1.target = "elsewhere".into();
        let e = merge(&[a.clone(), other], None).unwrap_err().to_string();
        assert!(e.contains("different targets"), "{e}");
        let mut other = b.clone();
        other.1.settings.users = 8;
        let e = merge(&[a.clone(), other], None).unwrap_err().to_string();
        assert!(e.contains("different settings"), "{e}");
        let mut other = b;
        other.1.shard = None;
        let e = merge(&[a, other], None).unwrap_err().to_string();
        assert!(e.contains("not a shard"), "{e}");
    }
}
