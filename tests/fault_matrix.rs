//! The proof that the suite catches real defects: for every planted fault
//! of the mock, the suite fails, and among the failures is a MUST or
//! PROFILE scenario covering the catalogue id that the fault violates.
//!
//! The whole matrix (fault → failing and warning scenarios) is an insta
//! snapshot, so a change that weakens detection shows up in review.

use std::process::Command;

/// Each fault, the profile it is planted on, and the catalogue id it violates.
const FAULTS: [(&str, &str, &str); 10] = [
    ("rotation_keeps_old", "strict", "ROT-OLD"),
    ("no_family_revoke", "strict", "RU-FAMILY"),
    ("same_refresh_token", "strict", "ROT-MODE"),
    ("cross_client", "strict", "CA-BINDING"),
    ("scope_widen", "strict", "SC-WIDEN"),
    ("expired_refresh_accepted", "strict", "EXP-RT"),
    ("race", "strict", "CC-RACE"),
    ("errors_as_200", "strict", "ER-STATUS"),
    ("no_store_missing", "wso2", "RF-CACHE"),
    ("id_token_sub_changes", "idcs", "ID-SAME"),
];

struct Verdicts {
    exit: Option<i32>,
    /// (id, level, outcome, covers) of every scenario that did not pass or skip.
    flagged: Vec<(String, String, String, Vec<String>)>,
}

fn run(profile: &str, fault: Option<&str>) -> Verdicts {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tokenprobe"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .args(["check", "--mock", profile, "--report"])
        .arg(format!("json={}", json.display()));
    if let Some(f) = fault {
        cmd.args(["--fault", f]);
    }
    let out = cmd.output().expect("run tokenprobe");
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&json).unwrap_or_else(|e| panic!("no report for {fault:?}: {e}")),
    )
    .unwrap();
    let flagged = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| !matches!(s["outcome"].as_str(), Some("passed" | "skipped")))
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["level"].as_str().unwrap().to_string(),
                s["outcome"].as_str().unwrap().to_string(),
                s["covers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    Verdicts {
        exit: out.status.code(),
        flagged,
    }
}

#[test]
fn every_planted_fault_is_caught_by_a_must_or_profile_check() {
    let mut matrix = String::new();
    for (fault, profile, violated) in FAULTS {
        // The same profile without the fault is clean: what fails below is
        // the fault's doing.
        let v = run(profile, Some(fault));
        assert_eq!(v.exit, Some(1), "{fault}: the suite must fail");
        let caught = v.flagged.iter().any(|(_, level, outcome, covers)| {
            outcome == "failed"
                && (level == "must" || level == "profile")
                && covers.iter().any(|c| c == violated)
        });
        assert!(
            caught,
            "{fault} on {profile}: no failing MUST/PROFILE scenario covers {violated}: {:?}",
            v.flagged
        );
        matrix.push_str(&format!("{fault} ({profile}, violates {violated}):\n"));
        for (id, level, outcome, _) in &v.flagged {
            matrix.push_str(&format!("  {outcome:<7} {level:<7} {id}\n"));
        }
    }
    insta::assert_snapshot!("fault_matrix", matrix);
}

#[test]
fn the_profiles_used_by_the_matrix_are_clean_without_faults() {
    for profile in ["strict", "wso2", "idcs"] {
        let v = run(profile, None);
        assert_eq!(v.exit, Some(0), "{profile}: {:?}", v.flagged);
        assert!(v.flagged.is_empty(), "{profile}: {:?}", v.flagged);
    }
}
