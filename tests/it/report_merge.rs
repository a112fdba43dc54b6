//! A distributed run on one machine: a mock server, two `load --shard`
//! processes against it, their JSON reports merged by `report merge`. The
//! merged counts are the sums, the merged percentiles those of the shards'
//! histograms added by hand, a threshold only the whole breaches exits 5,
//! and sets that are not one run are refused with exit 2.

use super::mock_support::MockProcess;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tokenprobe"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1");
    c
}

fn mock() -> MockProcess {
    MockProcess::start()
}

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n{}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn histogram(r: &serde_json::Value, kind: &str) -> hdrhistogram::Histogram<u64> {
    tokenprobe::load::result::decode(r["histograms"][kind].as_str().unwrap()).unwrap()
}

#[test]
fn two_shards_merge_exactly_and_bad_sets_are_refused() {
    let m = mock();
    let dir = tempfile::tempdir().unwrap();
    let shard = |i: usize| {
        let out = dir.path().join(format!("shard{i}.json"));
        let child = bin()
            .args(["load", "--target"])
            .arg(&m.target)
            .args(["--users", "4", "--ramp", "0s", "--run-time", "2s"])
            .args(["--shard", &format!("{i}/2")])
            .args(["--threshold", "p99<10s"])
            .arg("--report")
            .arg(format!("json={}", out.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        (child, out)
    };
    let runs = [shard(0), shard(1)];
    let mut paths = Vec::new();
    for (child, out) in runs {
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert!(
            text(&o).contains("2 users"),
            "each shard runs half: {}",
            text(&o)
        );
        paths.push(out);
    }
    let (a, b) = (report(&paths[0]), report(&paths[1]));
    assert_eq!(a["shard"]["index"], 0);
    assert_eq!(b["shard"]["count"], 2);
    assert_eq!(a["settings"]["users"], 4, "the whole run's settings");
    assert_eq!(
        a["thresholds"].as_array().unwrap().len(),
        0,
        "a shard's thresholds wait for the merge"
    );
    let n = |r: &serde_json::Value, p: &str| r.pointer(p).and_then(|v| v.as_u64()).unwrap();
    let (ra, rb) = (n(&a, "/totals/requests"), n(&b, "/totals/requests"));

    // Merged, with a threshold only the whole breaches.
    let merged = dir.path().join("merged.json");
    let o = bin()
        .args(["report", "merge"])
        .args(&paths)
        .args(["--threshold", &format!("requests<{}", ra.max(rb) + 1)])
        .arg("--report")
        .arg(format!("json={}", merged.display()))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    let r = report(&merged);
    assert_eq!(n(&r, "/totals/requests"), ra + rb);
    assert_eq!(
        n(&r, "/totals/failures"),
        n(&a, "/totals/failures") + n(&b, "/totals/failures")
    );
    for kind in ["login", "refresh"] {
        let mut by_hand = histogram(&a, kind);
        by_hand.add(histogram(&b, kind)).unwrap();
        let l = &r["latency_us"][kind];
        assert_eq!(n(l, "/count"), by_hand.len(), "{kind}");
        for (q, name) in [(0.5, "p50"), (0.99, "p99"), (0.999, "p999")] {
            assert_eq!(
                n(l, &format!("/{name}")),
                by_hand.value_at_quantile(q),
                "{kind} {name}"
            );
        }
        assert_eq!(n(l, "/max"), by_hand.max());
    }
    let timeline: u64 = r["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(timeline, ra + rb);
    assert_eq!(r["shards"].as_array().unwrap().len(), 2);

    // A missing shard, and a set from two targets: exit 2, and why.
    let o = bin()
        .args(["report", "merge"])
        .arg(&paths[0])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("shard 1 of 2 missing"), "{}", text(&o));
    let mut elsewhere = b.clone();
    elsewhere["token_endpoint"] = "http://127.0.0.1:9/token".into();
    let other = dir.path().join("other.json");
    std::fs::write(&other, serde_json::to_vec(&elsewhere).unwrap()).unwrap();
    let o = bin()
        .args(["report", "merge"])
        .arg(&paths[0])
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("different targets"), "{}", text(&o));
}

/// `--shards N` takes its index from JOB_COMPLETION_INDEX (a Kubernetes
/// Indexed Job), and says so when it is missing.
#[test]
fn the_shard_index_comes_from_the_indexed_job() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let o = bin()
        .args([
            "load",
            "--mock",
            "strict",
            "--users",
            "2",
            "--run-time",
            "1s",
        ])
        .args(["--shards", "2", "--report"])
        .arg(format!("json={}", out.display()))
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("JOB_COMPLETION_INDEX"), "{}", text(&o));
    let o = bin()
        .args([
            "load",
            "--mock",
            "strict",
            "--users",
            "2",
            "--ramp",
            "0s",
            "--run-time",
            "1s",
        ])
        .args(["--shards", "2", "--report"])
        .arg(format!("json={}", out.display()))
        .env("JOB_COMPLETION_INDEX", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("shard 1/2: 1 users"), "{}", text(&o));
    assert_eq!(report(&out)["shard"]["index"], 1);
}
