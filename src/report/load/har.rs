//! The HAR (HTTP Archive 1.2) of a load run's sampled failures: the first
//! failed requests, each as it went and came back, secrets as
//! fingerprints, for a browser's network panel. One page, the run; the
//! entries in the order they were sent, each commented with when and how
//! it failed. A run without failures gives an archive without entries.

use crate::load::result::LoadReport;
use serde_json::json;

/// The HAR document of `doc`'s failure samples.
pub fn render(doc: &LoadReport) -> String {
    let started = if doc.started_at.is_empty() {
        "1970-01-01T00:00:00Z"
    } else {
        doc.started_at.as_str()
    };
    let page = "load";
    let entries: Vec<_> = doc
        .failure_samples
        .iter()
        .map(|s| {
            let comment = format!("{:.3} s into the run, {}: {}", s.at_s, s.kind, s.outcome);
            crate::report::har::entry(started, page, &comment, &s.exchange)
        })
        .collect();
    let har = json!({
        "log": {
            "version": "1.2",
            "creator": { "name": "tokenprobe", "version": env!("CARGO_PKG_VERSION") },
            "pages": [{
                "startedDateTime": started,
                "id": page,
                "title": format!("tokenprobe load against {}: {} failures of {} requests, the first {} here", doc.target, doc.totals.failures, doc.totals.requests, entries.len()),
                "pageTimings": {},
            }],
            "entries": entries,
            "comment": format!("tokenprobe load against {} ({}): sampled failures; secrets are fingerprints", doc.target, doc.token_endpoint),
        }
    });
    serde_json::to_string_pretty(&har).unwrap_or_default() + "\n"
}
