use super::*;
use crate::report::fixture;
use serde_json::Value;
use std::path::PathBuf;

fn schema_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas/report.schema.json")
}

#[test]
fn snapshot() {
    insta::with_settings!({snapshot_path => "../snapshots", filters => vec![
        (r#""version": "[^"]*""#, r#""version": "[version]""#),
    ]}, {
        insta::assert_snapshot!(render(&fixture::run()));
    });
}

#[test]
fn the_rendered_report_parses_back_into_the_document() {
    let run = fixture::run();
    let parsed: Report = serde_json::from_str(&render(&run)).unwrap();
    assert_eq!(parsed, Report::from_run(&run));
}

#[test]
fn scenarios_are_sorted_by_id_and_carry_the_detail_of_their_outcome() {
    let run = fixture::run();
    let doc: Report = serde_json::from_str(&render(&run)).unwrap();
    let ids: Vec<&str> = doc.scenarios.iter().map(|s| s.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    assert_ne!(
        run.scenarios
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>(),
        ids,
        "the fixture should be out of order for this test to mean something"
    );
    for s in &doc.scenarios {
        let has = (
            s.finding.is_some(),
            s.skip_reason.is_some(),
            s.error.is_some(),
        );
        let want = match s.outcome {
            Outcome::Passed => (false, false, false),
            Outcome::Failed | Outcome::Warned => (true, false, false),
            Outcome::Skipped | Outcome::Blocked | Outcome::SameCause => {
                (false, s.outcome == Outcome::Skipped, false)
            }
            Outcome::Errored => (false, false, true),
        };
        assert_eq!(has, want, "{}", s.id);
    }
    let s = &doc.summary;
    assert_eq!(
        (
            s.passed, s.failed, s.warned, s.skipped, s.blocked, s.errored, s.total
        ),
        (2, 2, 1, 1, 1, 2, 9)
    );
    assert_eq!(s.exit_code, crate::exit::CHECK_FAILED);
    assert_eq!(doc.schema_version, 1);
    assert_eq!(doc.tool.name, "tokenprobe");
}

#[test]
fn optional_members_are_absent_rather_than_null() {
    let v: Value = serde_json::from_str(&render(&fixture::run())).unwrap();
    let passed = v["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "format/body")
        .unwrap();
    for key in ["finding", "skip_reason", "error"] {
        assert!(passed.get(key).is_none(), "{key} in {passed}");
    }
    let errored = v["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "concurrency/race")
        .unwrap();
    assert_eq!(errored["error"]["class"], "timeout");
    assert!(errored["steps"][0]["exchange"].get("response").is_none());
}

#[test]
fn the_checked_in_schema_is_current() {
    let fresh = schema();
    let path = schema_path();
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == fresh,
        "{} is stale: the report types in src/report/json.rs changed.\n\
         Regenerate it with `UPDATE_SCHEMAS=1 cargo test --lib report::json`, \
         review the diff, and bump SCHEMA_VERSION if the change is incompatible.",
        path.display()
    );
}

#[test]
fn the_rendered_report_validates_against_the_schema() {
    let schema: Value = serde_json::from_str(&schema()).unwrap();
    let doc: Value = serde_json::from_str(&render(&fixture::run())).unwrap();
    let errors = validate(&schema, &schema, &doc, "$");
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn the_schema_check_rejects_a_broken_report() {
    let schema: Value = serde_json::from_str(&schema()).unwrap();
    let mut doc: Value = serde_json::from_str(&render(&fixture::run())).unwrap();
    doc["scenarios"][0]["outcome"] = "exploded".into();
    doc["summary"].as_object_mut().unwrap().remove("total");
    doc["scenarios"][1]["line"] = "one".into();
    let errors = validate(&schema, &schema, &doc, "$");
    assert_eq!(
        errors,
        [
            "$.scenarios[0].outcome: \"exploded\" matches no alternative of oneOf",
            "$.scenarios[1].line: \"one\" is not of type integer",
            "$.summary: missing required member `total`",
        ],
    );
}

/// A deliberately small JSON Schema checker: `$ref` into `$defs`, `anyOf`,
/// `oneOf`, `type`, `enum`, `const`, `required`, `properties`, `items`.
/// Enough for the shapes schemars generates for the report types.
fn validate(root: &Value, schema: &Value, v: &Value, at: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/");
        let target = &root["$defs"][name];
        assert!(!target.is_null(), "unresolved {r}");
        errors.extend(validate(root, target, v, at));
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alts) = schema.get(key).and_then(Value::as_array) {
            let passing = alts
                .iter()
                .filter(|a| validate(root, a, v, at).is_empty())
                .count();
            let ok = if key == "oneOf" {
                passing == 1
            } else {
                passing >= 1
            };
            if !ok {
                errors.push(format!("{at}: {v} matches no alternative of {key}"));
            }
        }
    }
    if let Some(ty) = schema.get("type") {
        let types: Vec<&str> = match ty {
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            t => t.as_str().into_iter().collect(),
        };
        let matches = |t: &str| match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => panic!("unknown type {t}"),
        };
        if !types.iter().any(|t| matches(t)) {
            errors.push(format!("{at}: {v} is not of type {}", types.join(" or ")));
            return errors;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(v)
    {
        errors.push(format!("{at}: {v} is not one of the allowed values"));
    }
    if let Some(c) = schema.get("const")
        && c != v
    {
        errors.push(format!("{at}: {v} is not {c}"));
    }
    if let Some(obj) = v.as_object() {
        for req in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !obj.contains_key(req) {
                errors.push(format!("{at}: missing required member `{req}`"));
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, child) in obj {
                match props.get(k) {
                    Some(s) => errors.extend(validate(root, s, child, &format!("{at}.{k}"))),
                    None => errors.push(format!("{at}: member `{k}` is not in the schema")),
                }
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, child) in arr.iter().enumerate() {
            errors.extend(validate(root, items, child, &format!("{at}[{i}]")));
        }
    }
    errors.sort();
    errors
}
