//! The JSON Schemas of scenario and target files are checked in under
//! `schemas/` (for editors and other tools); they must match what
//! `tokenprobe schema` prints. `UPDATE_SCHEMAS=1 cargo test --test
//! file_schemas` rewrites them. Every checked-in scenario and target file
//! is valid against them.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn checked_in_file_schemas_are_current() {
    for kind in ["scenario", "target", "expected-failures"] {
        let path = root().join(format!("schemas/{kind}.schema.json"));
        let want = tokenprobe::cli::schema_text(kind);
        if std::env::var_os("UPDATE_SCHEMAS").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} is stale: run UPDATE_SCHEMAS=1 cargo test --test it file_schemas",
            path.display()
        );
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "load") {
                yaml_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "yaml") {
            out.push(p);
        }
    }
}

#[test]
fn checked_in_files_are_valid_against_the_schemas() {
    for (kind, dir) in [("scenario", "scenarios"), ("target", "fixtures/targets")] {
        let schema: serde_json::Value =
            serde_json::from_str(&tokenprobe::cli::schema_text(kind)).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let mut files = Vec::new();
        yaml_files(&root().join(dir), &mut files);
        assert!(files.len() > 5, "{dir}");
        for f in files {
            let source = tokenprobe::yaml::Source::read(&f).unwrap();
            let value: serde_json::Value = tokenprobe::yaml::parse(&source).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{}: {errors:?}", f.display());
        }
    }
}
