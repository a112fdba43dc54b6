//! Tests of `profile`.

use super::*;

#[test]
fn shipped_profiles_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/load");
    for name in [
        "refresh-storm.yaml",
        "login-and-refresh.yaml",
        "ci-gate.yaml",
    ] {
        let s = LoadSettings::from_file(&dir.join(name)).unwrap_or_else(|d| panic!("{d}"));
        assert!(s.users >= 1 && !s.run_time.is_zero(), "{name}");
    }
}

#[test]
fn errors_name_the_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.yaml");
    std::fs::write(&path, "users: 10\nrun_time: soon\n").unwrap();
    let d = LoadSettings::from_file(&path).unwrap_err().to_string();
    assert!(d.contains("p.yaml:2:"), "{d}");
    assert!(d.contains("soon"), "{d}");
    std::fs::write(&path, "users: 10\nthresholds:\n  - p99<250\n").unwrap();
    let d = LoadSettings::from_file(&path).unwrap_err().to_string();
    assert!(d.contains("p.yaml:3:"), "{d}");
    assert!(d.contains("needs a unit"), "{d}");
    std::fs::write(&path, "users: 10\nrampp: 5s\n").unwrap();
    let d = LoadSettings::from_file(&path).unwrap_err().to_string();
    assert!(d.contains("ramp"), "{d}");
}

#[test]
fn a_ramp_spreads_the_users_of_whoever_sets_them_last() {
    let profile = LoadProfile {
        users: Some(10),
        ramp: Some("10s".into()),
        ..LoadProfile::default()
    };
    let from_file = LoadSettings::default().apply(&profile, None).unwrap();
    assert_eq!(from_file.increase_rate(), 1.0);
    let flags = LoadProfile {
        users: Some(1000),
        ..LoadProfile::default()
    };
    let both = from_file.apply(&flags, None).unwrap();
    assert_eq!(both.increase_rate(), 100.0);
    let at_once = LoadProfile {
        ramp: Some("0s".into()),
        ..LoadProfile::default()
    };
    let s = both.apply(&at_once, None).unwrap();
    // All 1000 within a millisecond, not over a second.
    assert_eq!(s.increase_rate(), 1_000_000.0);
}

#[test]
fn stages_set_the_run_time_and_the_open_model() {
    let p = LoadProfile {
        stages: vec!["10s:100".parse().unwrap(), "5s:0".parse().unwrap()],
        max_in_flight: Some(7),
        ..LoadProfile::default()
    };
    let s = LoadSettings::default().apply(&p, None).unwrap();
    assert_eq!(s.run_time, Duration::from_secs(15));
    assert_eq!(s.stages.len(), 2);
    assert_eq!(s.arrival.map(|a| a.max_in_flight), Some(7));
    let both = LoadProfile {
        run_time: Some("1m".into()),
        ..p
    };
    let e = LoadSettings::default().apply(&both, None).unwrap_err();
    assert!(e.to_string().contains("not both"), "{e}");
    assert!("10s".parse::<StageDoc>().is_err());
}

#[test]
fn shards_split_the_run_exactly() {
    for (total, count) in [(10, 3), (1, 1), (7, 7), (1000, 8), (5, 2)] {
        let shards: Vec<Shard> = (0..count).map(|i| Shard::new(i, count).unwrap()).collect();
        let parts: usize = shards.iter().map(|s| s.part(total)).sum();
        assert_eq!(parts, total);
        let mut covered: Vec<usize> = shards.iter().flat_map(|s| s.slice(total)).collect();
        covered.sort();
        assert_eq!(
            covered,
            (0..total).collect::<Vec<_>>(),
            "disjoint, covering"
        );
    }
    assert!("4/4".parse::<Shard>().is_err());
    assert!("1/0".parse::<Shard>().is_err());
    let base = LoadSettings {
        users: 10,
        rate: Some(100.0),
        ..LoadSettings::default()
    };
    let s = base.for_shard(Shard::new(1, 4).unwrap()).unwrap();
    assert_eq!(s.users, 3);
    assert_eq!(s.rate, Some(25.0));
    assert_eq!(s.increase_rate(), 25.0);
    let open = LoadProfile {
        arrival_rate: Some(400.0),
        max_in_flight: Some(10),
        ..LoadProfile::default()
    };
    let o = LoadSettings::default().apply(&open, None).unwrap();
    let s = o.for_shard(Shard::new(0, 4).unwrap()).unwrap();
    assert_eq!(
        s.arrival.map(|a| (a.rate, a.max_in_flight)),
        Some((100.0, 3))
    );
    let few = LoadSettings {
        users: 2,
        ..LoadSettings::default()
    };
    assert!(few.for_shard(Shard::new(2, 3).unwrap()).is_err());
}

#[test]
fn mix_flag_parses() {
    assert_eq!(
        "refresh=9,password=1".parse::<Mix>(),
        Ok(Mix {
            refresh: 9,
            password: 1
        })
    );
    assert!("refresh=0".parse::<Mix>().is_err());
    assert!("refrsh=1".parse::<Mix>().is_err());
}
