//! The HAR (HTTP Archive 1.2) export of a run: every exchange the run kept,
//! login hops included, redacted as every other report is, in the format a
//! browser's network panel imports (Chromium: Network ▸ Import HAR file).
//!
//! One page per scenario (its id), one entry per exchange in the order the
//! steps ran; the step's name and summary go in the entry's `comment`.
//! Exchanges carry their time taken, not when they started: every entry
//! starts at the run's start (HAR requires a date; the order is the
//! entries').

use crate::check::result::{Outcome, RunResult, ScenarioResult};
use crate::oauth::record::{Exchange, RequestRecord, ResponseRecord};
use serde_json::{Value, json};

/// The HAR document of `run`.
pub fn render(run: &RunResult) -> String {
    let started = if run.started_at.is_empty() {
        "1970-01-01T00:00:00Z".to_string()
    } else {
        run.started_at.clone()
    };
    let mut pages = Vec::new();
    let mut entries = Vec::new();
    let mut scenarios: Vec<&ScenarioResult> = run.scenarios.iter().collect();
    scenarios.sort_by(|a, b| a.id.cmp(&b.id));
    for s in scenarios {
        let mut mine: Vec<(String, &Exchange)> = s
            .steps
            .iter()
            .filter_map(|st| {
                st.exchange
                    .as_ref()
                    .map(|x| (format!("{}: {}", st.name, st.summary), x))
            })
            .collect();
        // A finding's exchanges that no step kept (a race's answers).
        if let Outcome::Failed(f) | Outcome::Warned(f) = &s.outcome {
            for x in f.all_exchanges() {
                if !mine.iter().any(|(_, m)| *m == x) {
                    mine.push((format!("finding: {}", f.subject), x));
                }
            }
        }
        if mine.is_empty() {
            continue;
        }
        pages.push(json!({
            "startedDateTime": started,
            "id": s.id,
            "title": format!("{} ({})", s.id, s.outcome.kind().as_str()),
            "pageTimings": {},
        }));
        for (comment, x) in mine {
            entries.push(entry(&started, &s.id, &comment, x));
        }
    }
    let doc = json!({
        "log": {
            "version": "1.2",
            "creator": { "name": "tokenprobe", "version": env!("CARGO_PKG_VERSION") },
            "pages": pages,
            "entries": entries,
            "comment": format!("tokenprobe check against {} ({}): secrets are fingerprints", run.target.name, run.target.token_endpoint),
        }
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

fn headers(h: &[(String, String)]) -> Vec<Value> {
    h.iter()
        .map(|(k, v)| json!({ "name": k, "value": v }))
        .collect()
}

fn query(url: &str) -> Vec<Value> {
    url::Url::parse(url)
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| json!({ "name": k, "value": v }))
                .collect()
        })
        .unwrap_or_default()
}

fn request(r: &RequestRecord) -> Value {
    let mut out = json!({
        "method": r.method,
        "url": r.url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": headers(&r.headers),
        "queryString": query(&r.url),
        "headersSize": -1,
        "bodySize": r.body.as_ref().map_or(0, |b| b.len() as i64),
    });
    if let Some(body) = &r.body {
        let mime = r
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| "application/x-www-form-urlencoded".into());
        out["postData"] = json!({ "mimeType": mime, "text": body });
    }
    out
}

fn response(r: Option<&ResponseRecord>) -> Value {
    let Some(r) = r else {
        // No answer came (a timeout, a reset): HAR's way to say so.
        return json!({
            "status": 0,
            "statusText": "",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [],
            "content": { "size": 0, "mimeType": "x-unknown" },
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
            "_error": "no answer",
        });
    };
    let mime = r
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let location = r
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("location"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    json!({
        "status": r.status,
        "statusText": "",
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": headers(&r.headers),
        "content": { "size": r.body.len(), "mimeType": mime, "text": r.body },
        "redirectURL": location,
        "headersSize": -1,
        "bodySize": r.body.len(),
    })
}

pub(crate) fn entry(started: &str, page: &str, comment: &str, x: &Exchange) -> Value {
    let time = x.response.as_ref().map_or(0, |r| r.elapsed_ms);
    json!({
        "pageref": page,
        "startedDateTime": started,
        "time": time,
        "request": request(&x.request),
        "response": response(x.response.as_ref()),
        "cache": {},
        "timings": { "send": 0, "wait": time, "receive": 0 },
        "comment": comment,
    })
}
