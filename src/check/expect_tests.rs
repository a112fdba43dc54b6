//! Every kind of expectation, each shown to pass on a response that meets it
//! and to fail, with a message naming what was expected, on one that does
//! not. Expectations are compiled from scenario text, as users write them.

use super::*;
use crate::oauth::http::HttpResponse;
use crate::scenario::compile::{Action, Scenario};
use crate::target::Target;
use crate::yaml::Source;
use std::path::Path;
use std::time::Duration;

fn target() -> Target {
    let text = "name: t\ntoken_endpoint: http://127.0.0.1:1/token\nclients:\n  primary: {id: app, secret: s}\nusers:\n  primary: {username: alice, password: p}\nscopes: {narrow: read}\nbehaviour: {access_token_ttl_s: 3600}\npassword_grant: {scope: read write}\n";
    Target::from_source(
        &Source::from_str(Path::new("t.yaml"), text).unwrap(),
        &|_| None,
    )
    .unwrap()
}

fn scenario(expect: &str) -> Scenario {
    let text = format!(
        "id: t/x\ntitle: T\nlevel: must\ncovers: [PW-OK]\nsteps:\n  - grant: password\n    expect:\n{}",
        expect
            .lines()
            .map(|l| format!("      {l}\n"))
            .collect::<String>()
    );
    crate::scenario::compile::load_source(&Source::from_str(Path::new("s.yaml"), &text).unwrap())
        .unwrap_or_else(|e| panic!("{e:?}\n{text}"))
}

fn response(status: u16, headers: &[(&str, &str)], body: serde_json::Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: serde_json::to_vec(&body).unwrap(),
        truncated: false,
        elapsed: Duration::from_millis(1),
    }
}

/// Checks `expect` (YAML under `expect:`) against `r`.
fn judge(expect: &str, r: &HttpResponse) -> Result<(), Mismatch> {
    let s = scenario(expect);
    let e = s.steps[0].expect.as_ref().unwrap();
    let t = target();
    let ctx = Context::new(&t);
    check(e, r, &ctx)
}

fn ok_body() -> serde_json::Value {
    serde_json::json!({
        "access_token": "at-1", "token_type": "bearer", "expires_in": 3600,
        "refresh_token": "rt-1", "scope": "write read", "id_token": null,
        "list": ["a", "b"]
    })
}

/// (expectation, a response meeting it, a response failing it, text the
/// failure must show).
fn cases() -> Vec<(&'static str, HttpResponse, HttpResponse, &'static str)> {
    let ok = || {
        response(
            200,
            &[
                ("Content-Type", "application/json"),
                ("Cache-Control", "no-store"),
            ],
            ok_body(),
        )
    };
    let with = |k: &str, v: serde_json::Value| {
        let mut b = ok_body();
        b[k] = v;
        response(200, &[("Content-Type", "application/json")], b)
    };
    let without = |k: &str| {
        let mut b = ok_body();
        b.as_object_mut().unwrap().remove(k);
        response(200, &[], b)
    };
    let error = |status: u16, code: &str| response(status, &[], serde_json::json!({"error": code}));
    vec![
        (
            "status: 200",
            ok(),
            error(400, "invalid_grant"),
            "expected 200, got 400 (invalid_grant)",
        ),
        (
            "status: [400, 401]",
            error(401, "invalid_client"),
            ok(),
            "got 200",
        ),
        ("status: 4xx", error(429, "slow_down"), ok(), "4xx"),
        (
            "{status: 400, error: invalid_grant}",
            error(400, "invalid_grant"),
            error(400, "invalid_request"),
            "invalid_request",
        ),
        (
            "error: [invalid_client, invalid_request]",
            error(400, "invalid_request"),
            error(400, "invalid_grant"),
            "invalid_grant",
        ),
        (
            "body: {refresh_token: present}",
            ok(),
            without("refresh_token"),
            "present",
        ),
        (
            "body: {refresh_token: absent}",
            without("refresh_token"),
            ok(),
            "absent",
        ),
        (
            "body: {id_token: null}",
            ok(),
            with("id_token", "x".into()),
            "null",
        ),
        (
            "body: {access_token: {equals: at-1}}",
            ok(),
            with("access_token", "at-2".into()),
            "got at#",
        ),
        (
            "body: {refresh_token: {not_equals: rt-0}}",
            ok(),
            with("refresh_token", "rt-0".into()),
            "other than",
        ),
        (
            "body: {token_type: {equals_ignore_case: Bearer}}",
            ok(),
            with("token_type", "mac".into()),
            "mac",
        ),
        (
            "body: {token_type: {one_of: [bearer, Bearer]}}",
            ok(),
            with("token_type", "mac".into()),
            "one of",
        ),
        (
            "body: {access_token: {regex: '^at-[0-9]+$'}}",
            ok(),
            with("access_token", "xx".into()),
            "a match for",
        ),
        (
            "body: {scope: {contains: write}}",
            ok(),
            with("scope", "read".into()),
            "containing",
        ),
        (
            "body: {list: {contains: b}}",
            ok(),
            with("list", serde_json::json!(["a", "c"])),
            "containing",
        ),
        (
            "body: {scope: {same_words: '{{ password_grant.scope }}'}}",
            ok(),
            with("scope", "read".into()),
            "read",
        ),
        (
            "body: {expires_in: {type: integer}}",
            ok(),
            with("expires_in", "3600".into()),
            "type integer",
        ),
        (
            "body: {expires_in: {min: 1, max: '{{ behaviour.access_token_ttl_s }}'}}",
            ok(),
            with("expires_in", 7200.into()),
            "7200",
        ),
        (
            "body: {expires_in: {min: 1}}",
            ok(),
            with("expires_in", 0.into()),
            "0",
        ),
        (
            "body: {scope: {optional: true, same_words: read write}}",
            without("scope"),
            with("scope", "read".into()),
            "read",
        ),
        (
            "headers: {cache-control: {contains: NO-STORE}}",
            ok(),
            response(200, &[], ok_body()),
            "absent",
        ),
        (
            "headers: {content-type: {contains: application/json}}",
            ok(),
            response(200, &[("Content-Type", "text/html")], ok_body()),
            "text/html",
        ),
    ]
}

#[test]
fn every_expectation_kind_passes_and_fails_as_it_should() {
    for (expect, meets, fails, shows) in cases() {
        if let Err(m) = judge(expect, &meets) {
            panic!("`{expect}` should hold: {m:?}");
        }
        match judge(expect, &fails) {
            Ok(()) => panic!("`{expect}` should fail"),
            Err(m) => {
                let text = format!("{}: expected {}, got {}", m.subject, m.expected, m.actual);
                assert!(text.contains(shows), "`{expect}`: {text}");
            }
        }
    }
}

#[test]
fn id_token_claims_are_matched_decoded() {
    use base64::Engine;
    let jwt = |sub: &str| {
        let enc = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&v).unwrap())
        };
        format!(
            "{}.{}.sig",
            enc(serde_json::json!({"alg": "RS256"})),
            enc(serde_json::json!({"sub": sub, "iss": "https://as"}))
        )
    };
    let r = |sub: &str| {
        let mut b = ok_body();
        b["id_token"] = jwt(sub).into();
        response(200, &[], b)
    };
    let expect = "id_token: {sub: {equals: alice}, nonce: absent}";
    assert!(judge(expect, &r("alice")).is_ok());
    let m = judge(expect, &r("mallory")).unwrap_err();
    assert!(m.subject.contains("sub"), "{m:?}");
}

#[test]
fn set_counts_hold_and_fail() {
    let text = "id: t/x\ntitle: T\nlevel: must\ncovers: [CC-RACE]\nsteps:\n  - grant: password\n    parallel: 4\n    expect_set:\n      - { status: 200, count: 1 }\n      - { status: 400, error: invalid_grant, count: \">= 2\" }\n      - { status: 5xx, count: 0 }\n";
    let s = crate::scenario::compile::load_source(
        &Source::from_str(Path::new("s.yaml"), text).unwrap(),
    )
    .unwrap();
    assert!(matches!(s.steps[0].action, Action::Grant(_)));
    let sets = &s.steps[0].expect_set;
    let ok = || Some(response(200, &[], ok_body()));
    let bad = || {
        Some(response(
            400,
            &[],
            serde_json::json!({"error": "invalid_grant"}),
        ))
    };
    assert!(check_set(sets, &[ok(), bad(), bad(), bad()], false).is_ok());
    let m = check_set(sets, &[ok(), ok(), bad(), bad()], false).unwrap_err();
    assert!(m.expected.contains("exactly 1"), "{m:?}");
    let m = check_set(
        sets,
        &[
            ok(),
            bad(),
            bad(),
            Some(response(503, &[], serde_json::json!({}))),
        ],
        false,
    )
    .unwrap_err();
    assert!(
        m.subject.contains("5xx") || m.expected.contains('0'),
        "{m:?}"
    );
    // A copy without an answer could have been anything: where it could
    // tip the count, the set is no evidence (an error, never a finding);
    // where the answers already break it, they are.
    let m = check_set(sets, &[ok(), bad(), bad(), None], false).unwrap_err();
    assert_eq!(m.defect, Defect::NoAnswer, "{m:?}");
    let m = check_set(sets, &[ok(), ok(), bad(), None], false).unwrap_err();
    assert_eq!(m.defect, Defect::Property, "{m:?}");
    // A check of the refusal itself counts a refusal with another code as
    // the refusal, and hands the code on (ER-CODE).
    let other = || {
        Some(response(
            400,
            &[],
            serde_json::json!({"error": "invalid_request"}),
        ))
    };
    assert!(check_set(sets, &[ok(), other(), other(), bad()], false).is_err());
    let wrong = check_set(sets, &[ok(), other(), other(), bad()], true).unwrap();
    assert_eq!(wrong.len(), 1, "{wrong:?}");
    assert_eq!(wrong[0].1, "`invalid_request`");
}
