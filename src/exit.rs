//! Every exit code tokenprobe uses, in one place. The README's table is a copy
//! of this list.
//!
//! May use: nothing else of the crate.

/// The run passed (warnings allowed unless `--strict`).
pub const OK: i32 = 0;
/// A MUST or PROFILE check failed (or a SHOULD with `--strict`), or a check
/// could not be completed (Errored: timeout, reset, TLS…) while the target was
/// reachable.
pub const CHECK_FAILED: i32 = 1;
/// Invalid input: a scenario, target or profile file, or the command line.
pub const INVALID_INPUT: i32 = 2;
/// The target could not be reached (connection refused, DNS, TLS, timeout),
/// stopped answering during a load run, or refused its credentials there.
pub const TARGET_UNREACHABLE: i32 = 3;
/// The selection (paths, tags, filter) matched no scenario.
pub const NOTHING_SELECTED: i32 = 4;
/// A load run breached one of its thresholds.
pub const THRESHOLD_BREACHED: i32 = 5;
/// An internal error (a bug in tokenprobe, or an I/O failure writing reports).
pub const INTERNAL: i32 = 70;
/// Stopped by SIGINT (Ctrl-C): the reports cover what ran (128 + 2).
pub const INTERRUPTED: i32 = 130;
/// Stopped by SIGTERM: the reports cover what ran (128 + 15).
pub const TERMINATED: i32 = 143;

/// The documented table: `tokenprobe --help` prints it, and a test keeps
/// the README's table equal to it.
pub const TABLE: &[(i32, &str)] = &[
    (
        OK,
        "every selected check passed (warnings allowed unless `--strict`)",
    ),
    (
        CHECK_FAILED,
        "a MUST or PROFILE check failed or errored, or a SHOULD failed with `--strict`",
    ),
    (
        INVALID_INPUT,
        "invalid scenario or target file, or bad flags (file:line:column is printed)",
    ),
    (
        TARGET_UNREACHABLE,
        "the target could not be reached, or stopped answering during a load run, or refused the load's credentials",
    ),
    (NOTHING_SELECTED, "the selection matched no scenario"),
    (
        THRESHOLD_BREACHED,
        "a load threshold was breached, or a regression against `--baseline`",
    ),
    (INTERNAL, "internal error, or a report could not be written"),
    (
        INTERRUPTED,
        "stopped by Ctrl-C (SIGINT): the reports, marked interrupted, cover what ran",
    ),
    (
        TERMINATED,
        "stopped by SIGTERM: the reports, marked interrupted, cover what ran",
    ),
];

/// The table as `--help` shows it.
pub fn help_text() -> String {
    let mut out = String::from("Exit codes:\n");
    for (code, meaning) in TABLE {
        out.push_str(&format!("  {code:>3}  {}\n", meaning.replace('`', "")));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_documented_table_is_this_table() {
        let doc = include_str!("../docs/commands.md");
        let section = doc
            .split("## Exit codes")
            .nth(1)
            .expect("docs/commands.md has an exit-code section");
        let rows: Vec<(i32, String)> = section
            .lines()
            .skip_while(|l| !l.starts_with("| 0 "))
            .take_while(|l| l.starts_with('|'))
            .map(|l| {
                let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
                (cells[0].parse().unwrap(), cells[1].to_string())
            })
            .collect();
        let table: Vec<(i32, String)> = super::TABLE
            .iter()
            .map(|(c, m)| (*c, m.to_string()))
            .collect();
        assert_eq!(rows, table);
    }
}
