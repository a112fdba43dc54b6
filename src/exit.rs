//! Every exit code tokenprobe uses, in one place. The README's table is a copy
//! of this list.

/// The run passed (warnings allowed unless `--strict`).
pub const OK: i32 = 0;
/// A MUST or PROFILE check failed (or a SHOULD with `--strict`), or a check
/// could not be completed (Errored: timeout, reset, TLS…) while the target was
/// reachable.
pub const CHECK_FAILED: i32 = 1;
/// Invalid input: a scenario, target or profile file, or the command line.
pub const INVALID_INPUT: i32 = 2;
/// The target could not be reached (connection refused, DNS, TLS, timeout).
pub const TARGET_UNREACHABLE: i32 = 3;
/// The selection (paths, tags, filter) matched no scenario.
pub const NOTHING_SELECTED: i32 = 4;
/// A load run breached one of its thresholds.
pub const THRESHOLD_BREACHED: i32 = 5;
/// An internal error (a bug in tokenprobe, or an I/O failure writing reports).
pub const INTERNAL: i32 = 70;

/// The documented table, for `--help` and the README test.
pub const TABLE: &[(i32, &str)] = &[
    (
        OK,
        "every selected check passed (warnings allowed unless --strict)",
    ),
    (
        CHECK_FAILED,
        "a MUST or PROFILE check failed or errored, or a SHOULD failed with --strict",
    ),
    (
        INVALID_INPUT,
        "invalid scenario, target or profile file, or bad flags",
    ),
    (TARGET_UNREACHABLE, "the target could not be reached"),
    (NOTHING_SELECTED, "the selection matched no scenario"),
    (THRESHOLD_BREACHED, "a load threshold was breached"),
    (
        INTERNAL,
        "internal error or I/O failure (e.g. a report could not be written)",
    ),
];
