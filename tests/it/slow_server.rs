//! Issue 32: a slow server gets no false verdict on its first run. The
//! mock takes 0.6 s of a two-worker pool for every client authentication
//! (as PBKDF2 would); `init`'s scaffold, run with every default (the
//! request timeout, the parallelism), ends with nothing failed and nothing
//! errored: requests cut short are tried again alone, the run slows down
//! by itself, and the note says which setting to change.

use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_init_scaffold_passes_against_a_slow_server_with_the_defaults() {
    let cfg = tokenprobe::mock::MockConfig {
        client_auth_cost_ms: 600,
        client_auth_workers: 2,
        ..tokenprobe::mock::MockConfig::strict()
    };
    let mock = tokenprobe::mock::MockServer::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let discovery = format!("{}/.well-known/openid-configuration", mock.base_url());
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        let bin = env!("CARGO_BIN_EXE_tokenprobe");
        let init = Command::new(bin)
            .args(["init", "--discovery", &discovery])
            .current_dir(&d)
            .output()
            .unwrap();
        assert_eq!(init.status.code(), Some(0));
        Command::new(bin)
            .args([
                "check",
                "--target",
                "target.yaml",
                "--report",
                "json=r.json",
            ])
            .envs([
                ("TOKENPROBE_CLIENT_ID", "app"),
                ("TOKENPROBE_CLIENT_SECRET", "app-secret"),
                ("TOKENPROBE_USERNAME", "alice"),
                ("TOKENPROBE_PASSWORD", "alice-pass-1"),
            ])
            .current_dir(&d)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    let s = &r["summary"];
    assert_eq!(
        (
            s["failed"].as_u64(),
            s["errored"].as_u64(),
            s["blocked"].as_u64()
        ),
        (Some(0), Some(0), Some(0)),
        "{stdout}"
    );
    assert!(s["passed"].as_u64().unwrap() > 40, "{stdout}");
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let notes = r["notes"].to_string();
    assert!(notes.contains("timing.request_timeout_s"), "{notes}");
    mock.shutdown().await;
}
