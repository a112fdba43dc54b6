//! What `tokenprobe check` prints: one line per scenario as it finishes, its
//! details on request, and a summary at the end.
//!
//! The layout follows nextest's: a right-aligned status word of fixed width,
//! the duration in brackets, the id; reasons and details indented under the
//! id. The summary repeats every scenario that failed, errored or warned, so
//! at 200 scenarios the ones that matter are on the last screen.
//!
//! Functions return text without a trailing newline (empty when there is
//! nothing to say); the caller prints it. Colors come from [`Style`].

use super::{exchange, human_duration, single_line, verdict};
use crate::check::result::{Level, Outcome, OutcomeKind, RunResult, ScenarioResult};
use anstyle::{AnsiColor, Effects};

/// Where detail lines start: under the scenario id.
const INDENT: &str = "                ";
/// A reason on the scenario line is cut here; `details` has it whole.
const REASON_MAX: usize = 160;

/// Whether to color the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    color: bool,
}

impl Style {
    pub fn plain() -> Style {
        Style { color: false }
    }

    pub fn colored() -> Style {
        Style { color: true }
    }

    /// Colored when stdout is a terminal that takes colors, honouring
    /// `NO_COLOR` and `CLICOLOR_FORCE` (anstream's rules).
    pub fn for_stdout() -> Style {
        let choice = anstream::AutoStream::choice(&std::io::stdout());
        Style {
            color: choice != anstream::ColorChoice::Never,
        }
    }

    pub fn is_colored(self) -> bool {
        self.color
    }

    fn paint(self, style: anstyle::Style, text: &str) -> String {
        if self.color && !text.is_empty() {
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    }

    fn dim(self, text: &str) -> String {
        self.paint(anstyle::Style::new().effects(Effects::DIMMED), text)
    }

    fn bold(self, text: &str) -> String {
        self.paint(anstyle::Style::new().bold(), text)
    }

    fn fg(self, color: AnsiColor, text: &str) -> String {
        self.paint(color.on_default(), text)
    }
}

/// Whether a result is a finding the quiet terminal still shows: failed,
/// warned, errored or blocked (known failures too, marked KNOWN).
pub fn is_finding(s: &ScenarioResult) -> bool {
    matches!(
        s.outcome.kind(),
        OutcomeKind::Failed | OutcomeKind::Warned | OutcomeKind::Errored | OutcomeKind::Blocked
    )
}

/// The skipped scenarios as one line per reason, with their count and
/// ids (`-v` lists them one by one instead).
pub fn skips_by_reason(skipped: &[(String, String)], style: &Style) -> Vec<String> {
    let mut by_reason: Vec<(&str, Vec<&str>)> = Vec::new();
    for (why, id) in skipped {
        match by_reason.iter_mut().find(|(w, _)| *w == why) {
            Some((_, ids)) => ids.push(id),
            None => by_reason.push((why, vec![id])),
        }
    }
    by_reason.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
    by_reason
        .into_iter()
        .map(|(why, mut ids)| {
            ids.sort();
            let n = ids.len();
            let shown: Vec<&str> = ids.iter().take(4).copied().collect();
            let more = if n > 4 {
                format!(" and {} more", n - 4)
            } else {
                String::new()
            };
            format!(
                "{} {} {why}\n{INDENT}{}",
                status(OutcomeKind::Skipped, *style),
                style.dim(&format!("[{n:>5}× ]")),
                style.dim(&format!("{}{more} (-v lists them)", shown.join(", ")))
            )
        })
        .collect()
}

/// The status word, padded to five columns before coloring.
fn status(kind: OutcomeKind, style: Style) -> String {
    let (word, color) = match kind {
        OutcomeKind::Passed => ("PASS", AnsiColor::Green),
        OutcomeKind::Failed => ("FAIL", AnsiColor::Red),
        OutcomeKind::Warned => ("WARN", AnsiColor::Yellow),
        OutcomeKind::Skipped => ("SKIP", AnsiColor::Cyan),
        OutcomeKind::Blocked => ("BLOCK", AnsiColor::Cyan),
        OutcomeKind::SameCause => ("SAME", AnsiColor::Cyan),
        OutcomeKind::Errored => ("ERROR", AnsiColor::Magenta),
    };
    style.paint(color.on_default().bold(), &format!("{word:>5}"))
}

/// ` (should)` for every level but MUST, which is the norm.
fn level_tag(level: Level, style: Style) -> String {
    if level == Level::Must {
        String::new()
    } else {
        format!(" {}", style.dim(&format!("({})", level.as_str())))
    }
}

/// One line per scenario, and for anything but a plain pass a second line
/// with the reason (an INFO scenario's observation, dimmed):
///
/// ```text
///  FAIL [  123ms] rotation/old-refused
///                 step `reuse-old`: status: expected 400, got 200
/// ```
pub fn scenario_line(s: &ScenarioResult, style: &Style) -> String {
    let style = *style;
    let kind = s.outcome.kind();
    let id = if kind == OutcomeKind::Passed {
        s.id.clone()
    } else {
        style.bold(&s.id)
    };
    let known = match &s.known {
        Some(reason) => format!(" {}", style.dim(&format!("(known failure: {reason})"))),
        None => String::new(),
    };
    let word = if s.known.is_some() {
        style.paint(AnsiColor::Cyan.on_default().bold(), "KNOWN")
    } else {
        status(kind, style)
    };
    let mut line = format!(
        "{} {} {id}{}{known}",
        word,
        style.dim(&format!("[{:>7}]", human_duration(s.duration))),
        level_tag(s.level, style)
    );
    let reason = one_line(&s.outcome.message(), REASON_MAX);
    if !reason.is_empty() {
        let reason = match kind {
            OutcomeKind::Passed => style.dim(&format!("note: {reason}")),
            OutcomeKind::Skipped | OutcomeKind::Blocked | OutcomeKind::SameCause => {
                style.dim(&reason)
            }
            _ => reason,
        };
        line.push('\n');
        line.push_str(INDENT);
        line.push_str(&reason);
    }
    line
}

/// Clause texts wrap at this many columns (after the indent): a clause is
/// read whole, never cut where the useful part starts.
const WRAP_AT: usize = 100;

/// `s` in lines of at most `width` characters, broken between words.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push(line);
    }
    out
}

/// Newlines folded to `⏎`, cut at `max` characters with `…`.
fn one_line(s: &str, max: usize) -> String {
    let s = single_line(s);
    if s.chars().count() <= max {
        s
    } else {
        let mut cut: String = s.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}

/// The detail under a scenario line, for what the one-line reason cannot
/// hold. At `verbosity` 0: a finding's expected and actual values (an
/// error's detail) only when the reason line had to fold or cut them; at ≥ 1
/// always, then the steps; at ≥ 2 every redacted exchange too. Empty when
/// there is nothing more to say.
pub fn details(s: &ScenarioResult, verbosity: u8, style: &Style) -> String {
    let style = *style;
    let message = s.outcome.message();
    let reason_fits = !message.contains(['\n', '\r']) && message.chars().count() <= REASON_MAX;
    let show_values = verbosity >= 1 || !reason_fits;
    let mut lines: Vec<String> = Vec::new();
    let mut finding_exchanges = Vec::new();
    match &s.outcome {
        Outcome::Failed(f) | Outcome::Warned(f) => {
            // Every finding explains itself: the clause it holds the
            // server to, and all that did not hold.
            for c in super::clauses(s) {
                for l in wrap(&single_line(&c), WRAP_AT) {
                    lines.push(style.dim(&l));
                }
            }
            // The other places a defect was seen: a few here, all in the
            // reports (and here at -v).
            let more = super::more_lines(f);
            let shown = if verbosity >= 1 { more.len() } else { 5 };
            for m in more.iter().take(shown) {
                lines.push(one_line(m, REASON_MAX * 2));
            }
            if more.len() > shown {
                lines.push(style.dim(&format!(
                    "… and {} more (-v, or the reports)",
                    more.len() - shown
                )));
            }
            if show_values {
                push_value(
                    &mut lines,
                    &style.fg(AnsiColor::Green, "expected:"),
                    &f.expected,
                );
                push_value(
                    &mut lines,
                    &style.fg(AnsiColor::Red, "actual:  "),
                    &f.actual,
                );
            }
            finding_exchanges = f.all_exchanges();
        }
        Outcome::Errored { detail, .. } if show_values => {
            push_value(
                &mut lines,
                &style.fg(AnsiColor::Magenta, "detail:  "),
                detail,
            );
        }
        _ => {}
    }
    if verbosity >= 1 && !s.steps.is_empty() {
        lines.push(style.dim("steps:"));
        for step in &s.steps {
            lines.push(format!("  {}: {}", style.bold(&step.name), step.summary));
            if verbosity >= 2
                && let Some(e) = &step.exchange
            {
                lines.extend(exchange::render(e).lines().map(|l| format!("    {l}")));
            }
        }
    }
    // -v: the exchange that broke the check, redacted; -vv: every step's.
    // A race's distinct answers all show.
    let shown: Vec<_> = finding_exchanges
        .into_iter()
        .filter(|e| verbosity == 1 || !s.steps.iter().any(|st| st.exchange.as_ref() == Some(*e)))
        .collect();
    if verbosity >= 1 && !shown.is_empty() {
        lines.push(style.dim(if shown.len() == 1 {
            "exchange:"
        } else {
            "exchanges (one per distinct answer):"
        }));
        lines.extend(
            super::render_exchanges(&shown)
                .lines()
                .map(|l| format!("    {l}")),
        );
    }
    lines
        .iter()
        .map(|l| format!("{INDENT}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `expected: 400`, with any further lines of the value aligned under it.
fn push_value(lines: &mut Vec<String>, label: &str, value: &str) {
    let mut value_lines = value.lines();
    let first = value_lines.next().unwrap_or("");
    lines.push(format!("{label} {first}"));
    lines.extend(value_lines.map(|l| format!("          {l}")));
}

/// The end of a run: counts and duration, each scenario that failed, errored
/// or warned again (worst first), and the verdict with its exit code.
pub fn summary(run: &RunResult, style: &Style) -> String {
    let style = *style;
    let c = run.counts();
    let count = |n: usize, what: &str, color: AnsiColor| {
        let text = format!("{n} {what}");
        if n == 0 {
            text
        } else {
            style.paint(color.on_default().bold(), &text)
        }
    };
    let mut lines = vec![
        style.dim(&"─".repeat(60)),
        format!(
            "{} {} {} scenario{} against {}: {}, {}, {}, {}, {}, {}",
            style.bold("TOTAL"),
            style.dim(&format!("[{:>7}]", human_duration(run.duration))),
            c.total(),
            if c.total() == 1 { "" } else { "s" },
            style.bold(&run.target.name),
            count(c.passed, "passed", AnsiColor::Green),
            count(c.failed, "failed", AnsiColor::Red),
            count(c.warned, "warned", AnsiColor::Yellow),
            count(c.skipped, "skipped", AnsiColor::Cyan),
            count(c.blocked, "blocked", AnsiColor::Cyan),
            count(c.errored, "errored", AnsiColor::Magenta),
        ),
    ];
    if c.same_cause > 0 {
        lines[1].push_str(&format!(", {} same cause", c.same_cause));
    }
    if c.known > 0 {
        lines[1].push_str(&format!(", {} known", c.known));
    }
    let mut notable: Vec<&ScenarioResult> = run
        .scenarios
        .iter()
        .filter(|s| {
            matches!(
                s.outcome.kind(),
                OutcomeKind::Failed | OutcomeKind::Errored | OutcomeKind::Warned
            )
        })
        .collect();
    notable.sort_by(|a, b| {
        let rank = |k| match k {
            OutcomeKind::Failed => 0,
            OutcomeKind::Errored => 1,
            _ => 2,
        };
        (rank(a.outcome.kind()), &a.id).cmp(&(rank(b.outcome.kind()), &b.id))
    });
    for s in notable {
        let known = match &s.known {
            Some(reason) => format!(" {}", style.dim(&format!("(known failure: {reason})"))),
            None => String::new(),
        };
        let word = if s.known.is_some() {
            style.paint(AnsiColor::Cyan.on_default().bold(), "KNOWN")
        } else {
            status(s.outcome.kind(), style)
        };
        lines.push(format!(
            "{} {}{}{known}",
            word,
            s.id,
            level_tag(s.level, style)
        ));
    }
    if let Some(cmp) = &run.comparison {
        lines.push(format!(
            "compared with {}: {} new, {} fixed, {} unchanged, {} known",
            cmp.previous,
            cmp.new.len(),
            cmp.fixed.len(),
            cmp.unchanged.len(),
            cmp.known.len()
        ));
        if let Some(note) = cmp.selection_note() {
            lines.push(format!(
                "{} {note}",
                style.paint(AnsiColor::Yellow.on_default().bold(), " NOTE")
            ));
        }
        for id in &cmp.new {
            lines.push(format!(
                "{} {id}",
                style.paint(AnsiColor::Red.on_default().bold(), "  NEW")
            ));
        }
        for n in &cmp.not_compared {
            lines.push(format!("{} {n}", style.dim("  N/C")));
        }
        for id in &cmp.fixed {
            lines.push(format!(
                "{} {id}",
                style.paint(AnsiColor::Green.on_default().bold(), "FIXED")
            ));
        }
    }
    for p in &run.expectation_problems {
        lines.push(format!(
            "{} {p}",
            style.paint(AnsiColor::Red.on_default().bold(), "STALE")
        ));
    }
    for n in &run.notes {
        lines.push(format!(
            "{} {n}",
            style.paint(AnsiColor::Yellow.on_default().bold(), " NOTE")
        ));
    }
    let v = verdict(run);
    let head = if v.passed {
        style.paint(AnsiColor::Green.on_default().bold(), "PASSED")
    } else {
        style.paint(AnsiColor::Red.on_default().bold(), "FAILED")
    };
    lines.push(format!("{head} (exit code {}): {}", v.exit_code, v.why));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;

    fn all_lines(run: &RunResult, verbosity: u8, style: Style) -> String {
        let mut scenarios: Vec<&ScenarioResult> = run.scenarios.iter().collect();
        scenarios.sort_by(|a, b| a.id.cmp(&b.id));
        let mut out = String::new();
        for s in scenarios {
            out.push_str(&scenario_line(s, &style));
            out.push('\n');
            let d = details(s, verbosity, &style);
            if !d.is_empty() {
                out.push_str(&d);
                out.push('\n');
            }
        }
        out.push_str(&summary(run, &style));
        out.push('\n');
        out
    }

    #[test]
    fn snapshot_plain() {
        insta::assert_snapshot!(all_lines(&fixture::run(), 0, Style::plain()));
    }

    #[test]
    fn snapshot_plain_vv() {
        insta::assert_snapshot!(all_lines(&fixture::run(), 2, Style::plain()));
    }

    #[test]
    fn snapshot_colored() {
        // Escape codes made visible, so that the snapshot shows which word
        // gets which color.
        let text = all_lines(&fixture::passing_run(), 0, Style::colored()).replace('\x1b', "␛");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn plain_has_no_escape_codes_and_colored_has_them() {
        let run = fixture::run();
        assert!(!all_lines(&run, 2, Style::plain()).contains('\x1b'));
        assert!(all_lines(&run, 2, Style::colored()).contains('\x1b'));
    }

    #[test]
    fn status_words_have_one_width() {
        for s in &fixture::run().scenarios {
            let line = scenario_line(s, &Style::plain());
            assert_eq!(line.find('[').unwrap(), 6, "{line}");
            assert_eq!(
                line.lines().next().unwrap().find(&s.id).unwrap(),
                INDENT.len()
            );
        }
    }

    #[test]
    fn verbosity_adds_steps_then_exchanges() {
        let run = fixture::run();
        let s = run
            .scenarios
            .iter()
            .find(|s| s.id == "rotation/old-refused")
            .unwrap();
        let v0 = details(s, 0, &Style::plain());
        let v1 = details(s, 1, &Style::plain());
        let v2 = details(s, 2, &Style::plain());
        // At verbosity 0: the clause and every other expectation that did
        // not hold; values only when the reason line had to cut them.
        assert_eq!(
            v0,
            format!(
                "{INDENT}OLD-REFUSED\n{INDENT}also (must): step `reuse-old`: body.access_token: expected absent, got at#ea54da"
            )
        );
        assert!(
            v1.contains("expected: 400\n") && v1.contains("actual:   200\n"),
            "{v1}"
        );
        assert!(
            v1.contains("  rotate: POST /token (refresh_token) → 200 in 40ms"),
            "{v1}"
        );
        // -v: the exchange that broke the check, and only that one.
        assert_eq!(v1.matches("> POST").count(), 1, "{v1}");
        // The finding's exchange is the last step's: shown once.
        assert_eq!(v2.matches("> POST").count(), 1, "{v2}");
    }

    #[test]
    fn values_the_reason_line_folds_are_shown_whole_at_verbosity_0() {
        let run = fixture::run();
        let s = run
            .scenarios
            .iter()
            .find(|s| s.id == "errors/description")
            .unwrap();
        let v0 = details(s, 0, &Style::plain());
        let want = format!("{INDENT}actual:   \"bad | token\n{INDENT}          see <docs>\"");
        assert!(v0.ends_with(&want), "{v0}");
    }

    #[test]
    fn a_long_reason_is_cut_on_the_line_but_whole_in_details() {
        let mut s = fixture::run().scenarios[0].clone();
        let long = "y".repeat(500);
        if let Outcome::Failed(f) = &mut s.outcome {
            f.actual = long.clone();
        }
        let line = scenario_line(&s, &Style::plain());
        let reason = line.lines().nth(1).unwrap().trim_start();
        assert_eq!(reason.chars().count(), REASON_MAX);
        assert!(reason.ends_with('…'));
        assert!(details(&s, 0, &Style::plain()).contains(&long));
    }
}
