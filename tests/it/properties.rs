//! Property tests: the scenario parser and the expectation evaluator never
//! panic, whatever they are given, and a refused scenario is always refused
//! with a location. A bounded slice runs in CI; `PROPTEST_CASES=100000
//! cargo test --test properties` runs a longer one.

use proptest::prelude::*;
use std::path::Path;
use tokenprobe::check::context::Context;
use tokenprobe::check::expect;
use tokenprobe::oauth::http::HttpResponse;
use tokenprobe::scenario::compile::load_source;
use tokenprobe::target::Target;
use tokenprobe::yaml::Source;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(256),
        ..ProptestConfig::default()
    }
}

/// Scenario-shaped text: real keys and values, shuffled and broken.
fn scenario_text() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "id",
        "title",
        "level",
        "covers",
        "tags",
        "steps",
        "requires",
        "grant",
        "expect",
        "status",
        "body",
        "refresh_token",
        "wait",
        "parallel",
        "expect_set",
        "count",
        "scope",
        "chain",
        "tokens",
        "assertion",
        "get",
        "expect_any",
        "name",
        "auth",
        "params",
        "optional",
    ]);
    let value = prop::sample::select(vec![
        "must",
        "password",
        "refresh_token",
        "200",
        "[400, 401]",
        "4xx",
        "present",
        "absent",
        "\"{{ login.refresh_token }}\"",
        "\"{{ random | flip }}\"",
        "{ status: 200 }",
        "[ROT-OLD]",
        "refresh_token_ttl + 1s",
        "5s",
        "-",
        "null",
        "~",
        "&a x",
        "*a",
        "{",
        "[",
        "\"",
        "'",
        "20",
        "{ every: 5s, until: 1m }",
        "{ min_bits: 128 }",
        "discovery",
        "bad_signature",
    ]);
    let line = (0usize..4, key, value)
        .prop_map(|(indent, k, v)| format!("{}{k}: {v}", "  ".repeat(indent)));
    let item = prop_oneof![
        line,
        "[ -~\t]{0,30}".prop_map(|s| s),
        Just("  - grant: password".to_string()),
        Just("steps:".to_string()),
    ];
    proptest::collection::vec(item, 1..25).prop_map(|lines| {
        format!(
            "id: p/x\ntitle: T\nlevel: must\ncovers: [PW-OK]\n{}\n",
            lines.join("\n")
        )
    })
}

fn target() -> Target {
    let text = "name: t\ntoken_endpoint: http://127.0.0.1:1/token\nclients:\n  primary: {id: app, secret: s}\nusers:\n  primary: {username: alice, password: p}\n";
    Target::from_source(
        &Source::from_str(Path::new("t.yaml"), text).unwrap(),
        &|_| None,
    )
    .unwrap()
}

fn json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        "\\PC{0,20}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(
                prop::sample::select(vec![
                    "access_token",
                    "refresh_token",
                    "scope",
                    "expires_in",
                    "error",
                    "id_token",
                    "token_type",
                    "x"
                ]),
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(
                m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_scenario_parser_never_panics_and_locates_its_errors(text in scenario_text()) {
        let source = Source::from_str(Path::new("p.yaml"), &text);
        if let Ok(source) = source
            && let Err(diagnostics) = load_source(&source)
        {
            prop_assert!(!diagnostics.is_empty());
            for d in diagnostics {
                prop_assert!(d.to_string().contains("p.yaml"), "{}", d);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_reader(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(source) = Source::from_bytes(Path::new("b.yaml"), bytes) {
            let _ = load_source(&source);
        }
    }

    #[test]
    fn expectations_never_panic_on_any_response(
        body in json(),
        status in 100u16..600,
        raw in proptest::collection::vec(any::<u8>(), 0..64),
        as_json in any::<bool>(),
    ) {
        let text = "id: p/x\ntitle: T\nlevel: must\ncovers: [PW-OK]\nsteps:\n  - grant: password\n    expect:\n      status: [200, 4xx]\n      error: [invalid_grant]\n      headers: { content-type: { contains: json } }\n      body:\n        access_token: { type: string, regex: '^[A-Za-z0-9]+$', not_equals: x }\n        expires_in: { type: integer, min: 1, max: 100 }\n        scope: { optional: true, same_words: read write }\n        token_type: { equals_ignore_case: bearer }\n        id_token: { one_of: [null, 1, a] }\n        refresh_token: { contains: a }\n      id_token: { sub: { equals: alice }, nonce: absent }\n";
        let scenario = load_source(&Source::from_str(Path::new("s.yaml"), text).unwrap()).unwrap();
        let expectation = scenario.steps[0].expect.as_ref().unwrap();
        let t = target();
        let ctx = Context::new(&t);
        let response = HttpResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: if as_json { serde_json::to_vec(&body).unwrap() } else { raw },
            truncated: false,
            elapsed: std::time::Duration::ZERO,
        };
        let _ = expect::check(expectation, &response, &ctx);
    }

    /// A server with localised messages: a shown value is cut to 200
    /// characters, never inside a multi-byte one (it used to panic).
    #[test]
    fn long_non_ascii_values_are_shown_without_panicking(
        text in "[a-zé漢🙂 ]{210,400}",
        nested in any::<bool>(),
    ) {
        let spec = "id: p/y\ntitle: T\nlevel: must\ncovers: [PW-OK]\nsteps:\n  - grant: password\n    expect:\n      body:\n        access_token: { type: string }\n        error: { equals: x }\n";
        let scenario = load_source(&Source::from_str(Path::new("s.yaml"), spec).unwrap()).unwrap();
        let expectation = scenario.steps[0].expect.as_ref().unwrap();
        let value = if nested {
            serde_json::json!({ "access_token": [text.clone(), { "d": text.clone() }], "error": "x" })
        } else {
            serde_json::json!({ "access_token": { "message": text.clone() }, "error": "x" })
        };
        let t = target();
        let ctx = Context::new(&t);
        let response = HttpResponse {
            status: 400,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(&value).unwrap(),
            truncated: false,
            elapsed: std::time::Duration::ZERO,
        };
        let m = expect::check(expectation, &response, &ctx).unwrap_err();
        prop_assert!(m.actual.chars().count() <= 260, "{}", m.actual);
        prop_assert!(m.actual.contains('…'), "{}", m.actual);
    }
}
