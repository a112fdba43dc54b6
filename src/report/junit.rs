//! JUnit XML for CI test views, built with `quick-junit` as nextest does.
//!
//! Layout: one `<testsuite>` per top-level scenario folder (the id's first
//! segment: `rotation/old-refused` → `rotation`; ids without a folder go to
//! `tokenprobe`), sorted by name. CI views (GitLab, Jenkins, GitHub test
//! reporters) then group the cases by area of the spec, which reads better
//! than one flat list of 200 cases. Each scenario is one `<testcase>`: name =
//! scenario id, classname = `folder.level` (Jenkins shows it as package
//! `folder`, class `level`), `file` = the scenario file.
//!
//! Outcomes map as hurl and nextest map them, failures and errors apart:
//! - failed → `<failure type="must|profile">`: the finding, the steps and the
//!   redacted exchange as text;
//! - errored → `<error type="CLASS">` (timeout, tls, connect…);
//! - warned → a passing case with property `outcome=warned` and the finding
//!   in `<system-out>`, so `--strict` is the only thing that turns a SHOULD
//!   into a red CI;
//! - skipped → `<skipped message="why">`;
//! - passed with an INFO observation → the note in `<system-out>`.

use super::{folder_of, labelled, single_line};
use crate::check::result::{Finding, Outcome, RunResult, ScenarioResult};
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use std::collections::BTreeMap;

/// The suite for scenarios whose id has no folder.
const ROOT_SUITE: &str = "tokenprobe";

/// The JUnit XML report of `run`.
pub fn render(run: &RunResult) -> String {
    let mut by_suite: BTreeMap<&str, Vec<&ScenarioResult>> = BTreeMap::new();
    for s in &run.scenarios {
        by_suite
            .entry(folder_of(&s.id).unwrap_or(ROOT_SUITE))
            .or_default()
            .push(s);
    }
    let mut report = Report::new("tokenprobe");
    report.set_time(run.duration);
    for (name, mut scenarios) in by_suite {
        scenarios.sort_by(|a, b| a.id.cmp(&b.id));
        let mut suite = TestSuite::new(name);
        suite.set_time(scenarios.iter().map(|s| s.duration).sum());
        suite.add_properties([
            Property::new("target", run.target.name.as_str()),
            Property::new("token_endpoint", run.target.token_endpoint.as_str()),
            Property::new("strict", run.strict.to_string()),
        ]);
        if let Some(note) = run.comparison.as_ref().and_then(|c| c.selection_note()) {
            suite.add_property(Property::new("comparison", note));
        }
        for n in &run.notes {
            suite.add_property(Property::new("note", n.as_str()));
        }
        suite.add_test_cases(scenarios.into_iter().map(test_case));
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .expect("serializing to a String does no I/O that can fail")
}

fn test_case(s: &ScenarioResult) -> TestCase {
    // A known failure is marked so that CI dashboards do not count it as new.
    if let Some(reason) = &s.known {
        let mut st = TestCaseStatus::skipped();
        st.set_message(single_line(&format!(
            "known failure ({reason}): {}",
            s.outcome.message()
        )))
        .set_type("known-failure");
        let mut case = TestCase::new(s.id.as_str(), st);
        let folder = folder_of(&s.id).unwrap_or(ROOT_SUITE);
        case.set_classname(format!("{folder}.{}", s.level.as_str()))
            .set_time(s.duration);
        case.extra
            .insert("file".into(), s.file.to_string_lossy().as_ref().into());
        case.add_property(Property::new("outcome", "known"));
        return case;
    }
    let status = match &s.outcome {
        Outcome::Passed { .. } | Outcome::Warned(_) => TestCaseStatus::success(),
        Outcome::Failed(f) => {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
            st.set_message(single_line(&s.outcome.message()))
                .set_type(s.level.as_str())
                .set_description(finding_text(f, s));
            st
        }
        Outcome::Errored { class, .. } => {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
            st.set_message(single_line(&s.outcome.message()))
                .set_type(class.as_str())
                .set_description(with_steps(s.outcome.message(), s));
            st
        }
        Outcome::Skipped { why } => {
            let mut st = TestCaseStatus::skipped();
            st.set_message(single_line(why));
            st
        }
        Outcome::Blocked { .. } => {
            let mut st = TestCaseStatus::skipped();
            st.set_message(single_line(&s.outcome.message()))
                .set_type("blocked");
            st
        }
        // One failing case per root cause: the others point at it.
        Outcome::SameCause { .. } => {
            let mut st = TestCaseStatus::skipped();
            st.set_message(single_line(&s.outcome.message()))
                .set_type("same-cause");
            st
        }
    };
    let mut case = TestCase::new(s.id.as_str(), status);
    let folder = folder_of(&s.id).unwrap_or(ROOT_SUITE);
    case.set_classname(format!("{folder}.{}", s.level.as_str()))
        .set_time(s.duration);
    case.extra
        .insert("file".into(), s.file.to_string_lossy().as_ref().into());
    match &s.outcome {
        Outcome::Warned(f) => {
            case.add_property(Property::new("outcome", "warned"));
            case.set_system_out(format!(
                "WARNING: a SHOULD expectation did not hold (fails the run only with --strict)\n\n{}\n",
                finding_text(f, s)
            ));
        }
        Outcome::Passed { note: Some(note) } => {
            case.set_system_out(format!("{}: {note}\n", s.level.as_str().to_uppercase()));
        }
        _ => {}
    }
    case
}

/// Expected vs actual, the steps, and the exchange that broke the check.
fn finding_text(f: &Finding, s: &ScenarioResult) -> String {
    let mut text = String::new();
    for c in super::clauses(s) {
        text.push_str(&c);
        text.push('\n');
    }
    text.push_str(&format!(
        "step `{}`: {}\n{}",
        f.step,
        f.subject,
        labelled(&[("expected", &f.expected), ("actual", &f.actual)])
    ));
    for m in super::more_lines(f) {
        text.push('\n');
        text.push_str(&m);
    }
    text = with_steps(text, s);
    let all = f.all_exchanges();
    if !all.is_empty() {
        text.push_str(if all.len() == 1 {
            "\n\nexchange (redacted):\n"
        } else {
            "\n\nexchanges (redacted, one per distinct answer):\n"
        });
        text.push_str(&super::render_exchanges(&all));
    }
    text
}

fn with_steps(mut text: String, s: &ScenarioResult) -> String {
    if !s.steps.is_empty() {
        text.push_str("\n\nsteps:");
        for step in &s.steps {
            text.push_str(&format!("\n  {}: {}", step.name, step.summary));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(render(&fixture::run()));
    }

    fn parse(xml: &str) -> Report {
        Report::deserialize_from_str(xml).expect("well-formed JUnit")
    }

    fn case<'a>(r: &'a Report, id: &str) -> &'a TestCase {
        r.test_suites
            .iter()
            .flat_map(|s| &s.test_cases)
            .find(|c| c.name.as_str() == id)
            .unwrap_or_else(|| panic!("no testcase {id}"))
    }

    fn kind(c: &TestCase) -> (&'static str, Option<&str>) {
        match &c.status {
            TestCaseStatus::Success { .. } => ("success", None),
            TestCaseStatus::NonSuccess { kind, ty, .. } => (
                match kind {
                    NonSuccessKind::Failure => "failure",
                    NonSuccessKind::Error => "error",
                },
                ty.as_deref(),
            ),
            TestCaseStatus::Skipped { .. } => ("skipped", None),
        }
    }

    #[test]
    fn failures_and_errors_are_kept_apart() {
        let xml = render(&fixture::run());
        let r = parse(&xml);
        assert_eq!(
            kind(case(&r, "rotation/old-refused")),
            ("failure", Some("must"))
        );
        assert_eq!(
            kind(case(&r, "rotation/mode")),
            ("failure", Some("profile"))
        );
        assert_eq!(
            kind(case(&r, "concurrency/race")),
            ("error", Some("timeout"))
        );
        assert_eq!(kind(case(&r, "smoke")), ("error", Some("connect")));
        assert_eq!(kind(case(&r, "errors/description")), ("success", None));
        assert_eq!(kind(case(&r, "reuse/family-revoked")), ("skipped", None));
        assert_eq!(kind(case(&r, "scope/narrow")), ("skipped", None));
        assert_eq!((r.tests, r.failures, r.errors, r.skipped), (9, 2, 2, 2));
        assert!(
            xml.contains("<error message=\"connect: connection refused\" type=\"connect\">"),
            "{xml}"
        );
    }

    #[test]
    fn one_suite_per_folder_sorted_with_cases_sorted() {
        let r = parse(&render(&fixture::run()));
        let suites: Vec<(&str, Vec<&str>)> = r
            .test_suites
            .iter()
            .map(|s| {
                let cases = s.test_cases.iter().map(|c| c.name.as_str()).collect();
                (s.name.as_str(), cases)
            })
            .collect();
        assert_eq!(
            suites,
            [
                ("concurrency", vec!["concurrency/race"]),
                ("errors", vec!["errors/description"]),
                ("format", vec!["format/body", "format/extras"]),
                ("reuse", vec!["reuse/family-revoked"]),
                ("rotation", vec!["rotation/mode", "rotation/old-refused"]),
                ("scope", vec!["scope/narrow"]),
                ("tokenprobe", vec!["smoke"]),
            ]
        );
        let c = case(&r, "rotation/old-refused");
        assert_eq!(c.classname.as_deref(), Some("rotation.must"));
    }

    #[test]
    fn a_failure_carries_expected_actual_and_the_redacted_exchange() {
        let r = parse(&render(&fixture::run()));
        let TestCaseStatus::NonSuccess {
            message,
            description,
            ..
        } = &case(&r, "rotation/old-refused").status
        else {
            panic!("not a failure");
        };
        assert_eq!(
            message.as_deref(),
            Some("step `reuse-old`: status: expected 400, got 200 (+1 more)")
        );
        let text = description.as_deref().unwrap();
        assert!(
            text.contains(
                "also (must): step `reuse-old`: body.access_token: expected absent, got at#ea54da"
            ),
            "{text}"
        );
        assert!(text.contains("expected: 400\nactual:   200"), "{text}");
        assert!(text.contains("> POST https://auth.example.test/oauth2/token"));
        assert!(
            text.contains("<   \"refresh_token\": \"rt#93a89b\","),
            "{text}"
        );
    }

    #[test]
    fn a_warning_passes_with_a_note_and_a_property() {
        let r = parse(&render(&fixture::run()));
        let c = case(&r, "errors/description");
        assert_eq!(
            c.properties,
            [Property::new("outcome", "warned")],
            "{:?}",
            c.properties
        );
        let out = c.system_out.as_deref().unwrap();
        assert!(
            out.starts_with("WARNING: a SHOULD expectation did not hold"),
            "{out}"
        );
        assert!(
            out.contains("\nstep `step1`: body.error_description\n"),
            "{out}"
        );
    }
}
