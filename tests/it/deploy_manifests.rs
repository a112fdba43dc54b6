//! The Kubernetes manifests in `deploy/kubernetes/` and the `Dockerfile`,
//! checked without a cluster: every manifest deserializes into the typed
//! Kubernetes API objects (`k8s-openapi`), and the fields that make the
//! distributed run work are asserted (Indexed completion, parallelism =
//! completions = `--shards`, the report path per index, credentials from
//! the Secret, the merge step's command and its wait for every shard). The
//! target and profile in the ConfigMap load as tokenprobe reads them.
//!
//! The Dockerfile is linted (stages, the README's release build, non-root
//! user): this machine's container engine cannot pull base images (no
//! registry but crates.io, PyPI, Debian and npm), so the image is built only
//! with TOKENPROBE_DOCKER_BUILD=1, and the test says which it did.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Default)]
struct Manifests {
    jobs: BTreeMap<String, Job>,
    config_maps: BTreeMap<String, ConfigMap>,
    secrets: BTreeMap<String, Secret>,
    claims: BTreeMap<String, PersistentVolumeClaim>,
}

fn name(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    meta.name.clone().expect("every object is named")
}

fn manifests() -> Manifests {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes");
    let mut m = Manifests::default();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let value = serde_yaml::Value::deserialize(doc).unwrap();
            let kind = value["kind"].as_str().unwrap_or("").to_string();
            match kind.as_str() {
                "Job" => {
                    let j: Job = serde_yaml::from_value(value)
                        .unwrap_or_else(|e| panic!("{}: {kind}: {e}", file.display()));
                    m.jobs.insert(name(&j.metadata), j);
                }
                "ConfigMap" => {
                    let c: ConfigMap = serde_yaml::from_value(value)
                        .unwrap_or_else(|e| panic!("{}: {kind}: {e}", file.display()));
                    m.config_maps.insert(name(&c.metadata), c);
                }
                "Secret" => {
                    let s: Secret = serde_yaml::from_value(value)
                        .unwrap_or_else(|e| panic!("{}: {kind}: {e}", file.display()));
                    m.secrets.insert(name(&s.metadata), s);
                }
                "PersistentVolumeClaim" => {
                    let p: PersistentVolumeClaim = serde_yaml::from_value(value)
                        .unwrap_or_else(|e| panic!("{}: {kind}: {e}", file.display()));
                    m.claims.insert(name(&p.metadata), p);
                }
                other => panic!("{}: unexpected kind `{other}`", file.display()),
            }
        }
    }
    m
}

fn arg_after<'a>(args: &'a [String], flag: &str) -> &'a str {
    let i = args
        .iter()
        .position(|a| a == flag)
        .unwrap_or_else(|| panic!("{flag} in {args:?}"));
    &args[i + 1]
}

#[test]
fn the_manifests_run_every_shard_and_merge_them() {
    let m = manifests();
    let image = format!("tokenprobe:{}", env!("CARGO_PKG_VERSION"));

    // The shards: an Indexed Job, one pod per shard, all at once.
    let shards = &m.jobs["tokenprobe-shards"];
    let spec = shards.spec.as_ref().unwrap();
    assert_eq!(spec.completion_mode.as_deref(), Some("Indexed"));
    let n = spec.completions.expect("completions");
    assert_eq!(spec.parallelism, Some(n), "every shard runs at once");
    let pod = spec.template.spec.as_ref().unwrap();
    assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
    let c = &pod.containers[0];
    assert_eq!(c.image.as_deref(), Some(image.as_str()));
    let args = c.args.clone().unwrap();
    assert_eq!(args[0], "load");
    assert_eq!(arg_after(&args, "--shards"), n.to_string());
    assert_eq!(arg_after(&args, "--start-at"), "$(START_AT)");
    assert_eq!(
        arg_after(&args, "--report"),
        "json=/reports/shard-$(JOB_COMPLETION_INDEX).json"
    );
    // Credentials from the Secret, as environment variables.
    let secret_name = c.env_from.as_ref().unwrap()[0]
        .secret_ref
        .as_ref()
        .unwrap()
        .name
        .clone();
    let secret = &m.secrets[&secret_name];
    let creds = secret.string_data.as_ref().unwrap();
    // START_AT from the ConfigMap.
    let start = c
        .env
        .as_ref()
        .unwrap()
        .iter()
        .find(|e| e.name == "START_AT")
        .and_then(|e| e.value_from.as_ref()?.config_map_key_ref.clone())
        .expect("START_AT from the ConfigMap");
    let config = &m.config_maps[&start.name];
    let data = config.data.as_ref().unwrap();
    time::OffsetDateTime::parse(
        &data[&start.key],
        &time::format_description::well_known::Rfc3339,
    )
    .expect("START_AT is RFC 3339");
    // Reports on the claim both Jobs mount.
    let claim_of = |job: &Job| -> String {
        job.spec
            .as_ref()
            .unwrap()
            .template
            .spec
            .as_ref()
            .unwrap()
            .volumes
            .as_ref()
            .unwrap()
            .iter()
            .find_map(|v| {
                v.persistent_volume_claim
                    .as_ref()
                    .map(|p| p.claim_name.clone())
            })
            .expect("a reports volume")
    };
    assert!(m.claims.contains_key(&claim_of(shards)));

    // The merge: waits for all n reports, merges them, fails on thresholds.
    let merge = &m.jobs["tokenprobe-merge"];
    assert_eq!(claim_of(merge), claim_of(shards));
    let pod = merge.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
    let wait = pod.init_containers.as_ref().unwrap()[0]
        .command
        .clone()
        .unwrap()
        .join(" ");
    assert!(
        wait.contains(&format!("-ge {n} ]")),
        "waits for {n} reports: {wait}"
    );
    let merge_command = pod.containers[0].command.clone().unwrap().join(" ");
    assert!(
        merge_command.contains("tokenprobe report merge /reports/shard-*.json"),
        "{merge_command}"
    );
    assert_eq!(pod.containers[0].image.as_deref(), Some(image.as_str()));

    // The target and profile load as tokenprobe reads them, credentials
    // from the Secret's variables.
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.yaml");
    std::fs::write(&target, &data["target.yaml"]).unwrap();
    let profile = dir.path().join("profile.yaml");
    std::fs::write(&profile, &data["profile.yaml"]).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(["validate", "--target"])
        .arg(&target)
        .envs(creds.iter().filter(|(k, _)| k.starts_with("IDP_")))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let settings = tokenprobe::load::profile::LoadSettings::from_file(&profile)
        .unwrap_or_else(|d| panic!("{d}"));
    let sessions = settings.sessions.expect("the sessions model").count;
    assert!(sessions >= n as usize, "every shard has sessions");
    assert!(creds.contains_key("accounts.csv"));
}

#[test]
fn the_dockerfile_builds_the_readme_binary_as_a_non_root_user() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let stages: Vec<&&str> = lines.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(
        stages.len(),
        2,
        "a build stage and a slim runtime: {stages:?}"
    );
    assert!(stages[0].ends_with(" AS build"), "{stages:?}");
    assert!(lines.contains(&"RUN cargo build --release --locked"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains("cargo run --release -- check"),
        "the README builds the release profile too"
    );
    assert!(
        lines.contains(
            &"COPY --from=build /src/target/release/tokenprobe /usr/local/bin/tokenprobe"
        )
    );
    let user = lines
        .iter()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("USER");
    assert!(!user.starts_with('0') && user != "root", "{user}");
    assert!(lines.contains(&r#"ENTRYPOINT ["tokenprobe"]"#));
    let ignore = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    assert!(ignore.lines().any(|l| l.trim() == "target/"));
    let engine = std::process::Command::new("docker")
        .arg("info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if engine && std::env::var_os("TOKENPROBE_DOCKER_BUILD").is_some() {
        let tag = format!("tokenprobe:{}", env!("CARGO_PKG_VERSION"));
        let built = std::process::Command::new("docker")
            .args(["build", "-t", &tag, "."])
            .current_dir(root)
            .status()
            .unwrap();
        assert!(built.success(), "docker build");
        eprintln!("Dockerfile: built {tag}");
    } else {
        eprintln!(
            "Dockerfile: linted, not built ({}; TOKENPROBE_DOCKER_BUILD=1 builds it where base images can be pulled)",
            if engine {
                "a container engine is present but not asked to build"
            } else {
                "no container engine answers `docker info` here"
            }
        );
    }
}
