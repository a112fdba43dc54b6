//! Invalid and hostile input files are refused with exit 2 and a message
//! naming the file, line and field, quickly and in bounded memory. One
//! snapshot per file of fixtures/invalid (the message as a user sees it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn tokenprobe(args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("TOKENPROBE_TEST_UNSET_VARIABLE")
        .output()
        .unwrap();
    (out, started.elapsed())
}

/// The command that reads a file of this kind (by its name's prefix).
fn refuse(file: &str) -> (Output, Duration) {
    let path = format!("fixtures/invalid/{file}");
    match file.split('-').next().unwrap() {
        "scenario" => tokenprobe(&["validate", &path]),
        "target" => tokenprobe(&["validate", "scenarios/password/ok.yaml", "--target", &path]),
        "load" => tokenprobe(&["load", "--profile", &path]),
        "mock" => tokenprobe(&["mock", "--listen", "127.0.0.1:0", "--config", &path]),
        other => panic!("unknown kind `{other}` of {file}"),
    }
}

#[test]
fn every_invalid_fixture_is_refused_with_its_location() {
    let mut files: Vec<String> = std::fs::read_dir(root().join("fixtures/invalid"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 15);
    for file in files {
        let (out, took) = refuse(&file);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
        assert!(!stderr.contains("panicked"), "{file}: {stderr}");
        assert!(took < Duration::from_secs(10), "{file}: {took:?}");
        assert!(
            stderr.contains(&format!("fixtures/invalid/{file}")),
            "{file} is named: {stderr}"
        );
        insta::assert_snapshot!(file.trim_end_matches(".yaml").to_string(), stderr);
    }
}

fn generated(name: &str, text: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn deep_nesting_is_refused_quickly() {
    let depth = 200_000;
    let mut text = String::from("id: x\nsteps: ");
    text.push_str(&"[".repeat(depth));
    text.push_str(&"]".repeat(depth));
    let (_dir, path) = generated("deep.yaml", text.as_bytes());
    let (out, took) = tokenprobe(&["validate", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(stderr.contains("deep.yaml"), "{stderr}");
}

#[test]
fn tens_of_megabytes_are_refused_before_parsing() {
    let mut text = String::from("id: x\ntitle: ");
    text.push_str(&"a".repeat(30 << 20));
    let (_dir, path) = generated("huge.yaml", text.as_bytes());
    let (out, took) = tokenprobe(&["validate", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("larger than 1024 KiB"), "{stderr}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}
