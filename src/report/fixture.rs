//! A small hand-built run for the renderers' tests: every outcome kind and
//! every level, with fixed durations and timestamp so snapshots are stable.
//! Scenarios are deliberately out of id order: renderers must sort.

use crate::check::result::{
    ErrorClass, Exchange, Finding, Level, Observed, Outcome, RequestRecord, ResponseRecord,
    RunResult, ScenarioResult, StepRecord, TargetSummary,
};
use std::path::PathBuf;
use std::time::Duration;

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn refresh_request(token: &str) -> RequestRecord {
    RequestRecord {
        method: "POST".into(),
        url: "https://auth.example.test/oauth2/token".into(),
        headers: headers(&[
            ("Authorization", "Basic cred#fba2da"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ]),
        body: Some(format!("grant_type=refresh_token&refresh_token={token}")),
    }
}

fn json_response(status: u16, body: &str, elapsed_ms: u64) -> ResponseRecord {
    ResponseRecord {
        status,
        headers: headers(&[
            ("content-type", "application/json"),
            ("cache-control", "no-store"),
        ]),
        body: body.into(),
        truncated: false,
        elapsed_ms,
    }
}

/// The refused-old-token exchange: the target accepted a rotated-out token.
pub fn old_token_exchange() -> Exchange {
    Exchange {
        request: refresh_request("rt%233f9a1c"),
        response: Some(json_response(
            200,
            "{\n  \"access_token\": \"at#ea54da\",\n  \"refresh_token\": \"rt#93a89b\",\n  \"token_type\": \"Bearer\"\n}",
            41,
        )),
    }
}

fn scenario(id: &str, level: Level, outcome: Outcome, ms: u64) -> ScenarioResult {
    let folder = id.split_once('/').map_or("", |(f, _)| f);
    ScenarioResult {
        id: id.into(),
        title: format!("Title of {id}"),
        level,
        covers: vec![id.rsplit('/').next().unwrap_or(id).to_uppercase()],
        tags: if folder.is_empty() {
            vec![]
        } else {
            vec![folder.into()]
        },
        file: PathBuf::from(format!("scenarios/{id}.yaml")),
        line: 1,
        outcome,
        duration: Duration::from_millis(ms),
        steps: vec![],
        attributed: Vec::new(),
        known: None,
    }
}

pub fn run() -> RunResult {
    let mut old_refused = scenario(
        "rotation/old-refused",
        Level::Must,
        Outcome::Failed(Finding {
            step: "reuse-old".into(),
            subject: "status".into(),
            expected: "400".into(),
            actual: "200".into(),
            exchange: Some(old_token_exchange()),
            exchanges: Vec::new(),
            also: vec![Observed {
                step: "reuse-old".into(),
                subject: "body.access_token".into(),
                expected: "absent".into(),
                actual: "at#ea54da".into(),
                level: Level::Must,
            }],
            seen_in: Vec::new(),
            judges: Vec::new(),
        }),
        123,
    );
    old_refused.title = "After rotation, the previous refresh token is refused".into();
    old_refused.steps = vec![
        StepRecord {
            name: "login".into(),
            summary: "POST /token (password) → 200 in 38ms".into(),
            exchange: None,
        },
        StepRecord {
            name: "rotate".into(),
            summary: "POST /token (refresh_token) → 200 in 40ms".into(),
            exchange: None,
        },
        StepRecord {
            name: "reuse-old".into(),
            summary: "POST /token (refresh_token) → 200 in 41ms".into(),
            exchange: Some(old_token_exchange()),
        },
    ];

    let mut description = scenario(
        "errors/description",
        Level::Should,
        Outcome::Warned(Finding {
            step: "step1".into(),
            subject: "body.error_description".into(),
            expected: "ASCII without `\"` or `\\`".into(),
            actual: "\"bad | token\nsee <docs>\"".into(),
            exchange: Some(Exchange {
                request: refresh_request("rt%23000000"),
                response: Some(ResponseRecord {
                    truncated: true,
                    ..json_response(
                        400,
                        "{\"error\":\"invalid_grant\",\"error_description\":\"bad | token\\nsee <docs>\"",
                        7,
                    )
                }),
            }),
            exchanges: Vec::new(),
            also: Vec::new(),
            seen_in: Vec::new(),
            judges: Vec::new(),
        }),
        9,
    );
    description.steps = vec![StepRecord {
        name: "step1".into(),
        summary: "POST /token (refresh_token) → 400 invalid_grant in 7ms".into(),
        exchange: None,
    }];

    let mut race = scenario(
        "concurrency/race",
        Level::Should,
        Outcome::Errored {
            step: Some("parallel-refresh".into()),
            class: ErrorClass::Timeout,
            detail: "no response within 10s".into(),
        },
        10_004,
    );
    race.steps = vec![StepRecord {
        name: "parallel-refresh".into(),
        summary: "2 × POST /token (refresh_token) → timeout after 10000ms".into(),
        exchange: Some(Exchange {
            request: refresh_request("rt%23c0ffee"),
            response: None,
        }),
    }];

    let scenarios = vec![
        old_refused,
        scenario(
            "format/body",
            Level::Must,
            Outcome::Passed { note: None },
            12,
        ),
        description,
        scenario(
            "format/extras",
            Level::Info,
            Outcome::Passed {
                note: Some("vendor member `id` present (EmpowerID style)".into()),
            },
            15,
        ),
        scenario(
            "rotation/mode",
            Level::Profile,
            Outcome::Failed(Finding {
                step: "refresh×3".into(),
                subject: "rotation".into(),
                expected: "rotate (declared)".into(),
                actual: "static".into(),
                exchange: None,
                exchanges: Vec::new(),
                also: Vec::new(),
                seen_in: Vec::new(),
                judges: Vec::new(),
            }),
            1_530,
        ),
        race,
        scenario(
            "reuse/family-revoked",
            Level::Must,
            Outcome::Skipped {
                why: "requires rotation: rotate; the target declares static".into(),
            },
            0,
        ),
        scenario(
            "scope/narrow",
            Level::Must,
            Outcome::Blocked {
                step: "#1 password".into(),
                by: "the server refused it with 401 invalid_client (this check starts from that step; its own property was not tried)".into(),
            },
            3,
        ),
        scenario(
            "smoke",
            Level::Must,
            Outcome::Errored {
                step: None,
                class: ErrorClass::Connect,
                detail: "connection refused".into(),
            },
            2,
        ),
    ];

    RunResult {
        target: TargetSummary {
            name: "example-idp".into(),
            token_endpoint: "https://auth.example.test/oauth2/token".into(),
            source: "targets/example.yaml".into(),
        },
        scenarios,
        duration: Duration::from_millis(11_734),
        started_at: "2026-11-22T12:05:03Z".into(),
        strict: false,
        expectation_problems: Vec::new(),
        comparison: None,
        fail_on_new: false,
        preflight_error: None,
        notes: Vec::new(),
        interrupted: None,
    }
}

/// A run where everything passed, with one warning.
pub fn passing_run() -> RunResult {
    let mut run = run();
    run.scenarios
        .retain(|s| matches!(s.outcome, Outcome::Passed { .. } | Outcome::Warned(_)));
    run
}
