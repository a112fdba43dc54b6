//! Tests of `result`.

use super::*;

#[test]
fn checked_in_schema_is_current() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/load-report.schema.json");
    let want = format!("{}\n", serde_json::to_string_pretty(&schema()).unwrap());
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is stale: UPDATE_SCHEMAS=1 cargo test --lib load::result",
        path.display()
    );
}

#[test]
fn histograms_round_trip_and_thresholds_are_judged() {
    let r = sample();
    let h = decode(&r.histograms["refresh"]).unwrap();
    assert_eq!(h.len(), r.latency_us["refresh"].count);
    assert_eq!(r.totals.requests, 1000);
    assert_eq!(r.thresholds.len(), 2);
    assert!(r.thresholds[0].passed);
    assert!(!r.thresholds[1].passed);
    let json = serde_json::to_value(&r).unwrap();
    let back: LoadReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, r);
}

#[test]
fn a_baseline_of_another_target_or_load_is_named() {
    let base = sample();
    let mut now = base.clone();
    assert!(incomparable(&now, &base).is_empty());
    now.target = "elsewhere".into();
    now.settings.users += 1;
    let d = incomparable(&now, &base);
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(d[0].starts_with("another target: elsewhere"), "{d:?}");
    assert!(d[1].contains("users"), "{d:?}");
}

#[test]
fn regressions_are_flagged_beyond_the_tolerance() {
    let base = sample();
    let mut now = base.clone();
    assert!(regressions(&now, &base, 0.1).is_empty());
    now.totals.rps = base.totals.rps * 0.5;
    now.latency_us.get_mut("all").unwrap().p99 = base.latency_us["all"].p99 * 2;
    now.violations.replay_accepted = 3;
    let r = regressions(&now, &base, 0.1);
    assert_eq!(r.len(), 3, "{r:?}");
}
