//! The README's coverage table is the one `tokenprobe list --coverage
//! --format markdown` prints for the checked-in scenarios, and nothing in
//! the catalogue is left uncovered.

#[test]
fn readme_coverage_table_is_current_and_complete() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(["list", "--coverage", "--format", "markdown"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(!table.contains("not covered"), "{table}");
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains(&table),
        "README.md's coverage table is stale: paste the output of \
         `tokenprobe list --coverage --format markdown`"
    );
}
