//! Loading and checking scenario files: from [`ScenarioFile`] (what people
//! write) to [`Scenario`] (what the runner executes). Every problem found is
//! a [`Diagnostic`] with a location; nothing runs while any selected file is
//! invalid.
//!
//! The pipeline, one file per job:
//! - `files`: finding the files and loading them, every problem gathered;
//! - this file: the scenario as a whole (its id, level, `covers`, which
//!   step's expectation blames which id) and its templates' references;
//! - `steps`: each step, its one action and the rules between its keys;
//! - `expectations`: what a step expects of its answers;
//! - `references`: what a template may name, with hints for near misses;
//! - `wait`: wait expressions;
//! - `compiled`: the result, what the runner executes.

use super::model::*;
use super::template::{Reference, Template, TemplateError};
use super::values::{Count, JsonType, MatcherSpec, Statuses, Strings};
use crate::diag::{Diagnostic, Diagnostics, did_you_mean};
use crate::target::UserCredentials;
use crate::verdict::Level;
use crate::yaml::Source;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `grant: login`: the session starts the way the target says (its
/// `login` block: the password grant, the authorization-code flow, a JWT
/// user assertion or a command).
pub const LOGIN: &str = "login";

/// `grant: any`: whatever grant the target offers for a token request
/// (see [`Vehicle`]).
pub const ANY: &str = "any";

mod compiled;
mod expectations;
mod files;
mod references;
mod steps;
mod wait;

pub use compiled::*;
pub use files::*;
use references::*;
pub use wait::*;

struct Compiler<'a> {
    source: &'a Source,
    /// The scenario's catalogue ids (what it judges).
    covers: Vec<String>,
    errors: Vec<Diagnostic>,
    /// Names of the steps seen so far.
    names: Vec<String>,
    needs: Needs,
}

impl Compiler<'_> {
    fn compile(mut self, f: ScenarioFile) -> Result<Scenario, Vec<Diagnostic>> {
        let valid_id = !f.id.is_empty()
            && f.id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_/.".contains(c));
        if !valid_id {
            self.err_path(
                "id",
                format!(
                    "scenario id `{}` must be lowercase letters, digits, `-`, `_`, `/` or `.`",
                    f.id
                ),
            );
        }
        for (i, id) in f.covers.iter().enumerate() {
            if crate::catalogue::get(id).is_none() {
                let all = crate::catalogue::entries();
                let ids = all.iter().map(|e| e.id.as_str());
                let mut d = self.source.error_at_path(
                    &format!("covers[{i}]"),
                    format!("`{id}` is not a catalogue id (docs/CONFORMANCE.md)"),
                );
                if d.line.is_none() {
                    d = self.source.error_at_text("covers", id, d.message.clone());
                }
                if let Some(close) = did_you_mean(id, ids) {
                    d = d.with_help(format!("did you mean `{close}`?"));
                }
                self.errors.push(d);
            }
        }
        if f.steps.is_empty() {
            self.err_path("steps", "a scenario needs at least one step".to_string());
        }
        for c in &f.requires.clients {
            self.needs.clients.insert(c.clone());
        }
        for u in &f.requires.users {
            self.needs.users.insert(u.clone());
        }
        for s in &f.requires.scopes {
            self.needs.scopes.insert(s.clone());
        }
        for (i, field) in f.requires.declared.iter().enumerate() {
            if !crate::target::BEHAVIOUR_FIELDS.contains(&field.as_str()) {
                let mut d = self.source.error_at_text(
                    &format!("requires.declared[{i}]"),
                    field,
                    format!("`{field}` is not a behaviour field"),
                );
                if let Some(close) = did_you_mean(field, crate::target::BEHAVIOUR_FIELDS) {
                    d = d.with_help(format!("did you mean `{close}`?"));
                }
                self.errors.push(d);
            }
        }
        let mut steps = Vec::new();
        for (i, step) in f.steps.iter().enumerate() {
            let compiled = if step.grant.as_deref() == Some(ANY) {
                self.any_step(i, step)
            } else {
                self.step(i, step)
            };
            if let Some(s) = compiled {
                steps.push(s);
            }
        }
        self.blame(&f.covers, &mut steps);
        if let Some(r) = f.rounds
            && !(1..=20).contains(&r)
        {
            self.err_path("rounds", format!("{r} rounds: give 1 to 20"));
        }
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        let line = crate::yaml::locate_path(&self.source.text, "id").map_or(1, |(l, _)| l);
        Ok(Scenario {
            id: f.id,
            title: f.title,
            level: f.level,
            covers: f.covers,
            tags: f.tags,
            description: f.description,
            observation: f.observation,
            requires: f.requires,
            rounds: f.rounds.unwrap_or(1),
            steps,
            file: self.source.path.clone(),
            line,
            needs: self.needs,
        })
    }

    /// Which ids each expectation judges: the one its `judges` names (an
    /// id of `covers`), else every covered id that no expectation names.
    fn blame(&mut self, covers: &[String], steps: &mut [Step]) {
        let mut claimed: Vec<String> = Vec::new();
        let mut stray: Vec<(usize, String)> = Vec::new();
        for (i, top) in steps.iter().enumerate() {
            top.each(&mut |st| {
                let named = st
                    .expect
                    .iter()
                    .chain(&st.expect_any)
                    .flat_map(|e| e.judges.iter())
                    .chain(st.expect_set.iter().flat_map(|e| e.judges.iter()));
                for id in named {
                    if !covers.contains(id) {
                        if !stray.iter().any(|(j, x)| *j == i && x == id) {
                            stray.push((i, id.clone()));
                        }
                    } else if !claimed.contains(id) {
                        claimed.push(id.clone());
                    }
                }
            });
        }
        for (i, id) in stray {
            self.err_path(
                &format!("steps[{i}]"),
                format!(
                    "`judges: {id}` names an id this scenario does not cover ({})",
                    covers.join(", ")
                ),
            );
        }
        if claimed.is_empty() {
            return;
        }
        let rest: Vec<String> = covers
            .iter()
            .filter(|c| !claimed.contains(c))
            .cloned()
            .collect();
        for top in steps.iter_mut() {
            top.each_mut(&mut |st| {
                for e in st.expect.iter_mut().chain(st.expect_any.iter_mut()) {
                    if e.judges.is_empty() {
                        e.judges = rest.clone();
                    }
                }
                for e in st.expect_set.iter_mut() {
                    if e.judges.is_empty() {
                        e.judges = rest.clone();
                    }
                }
            });
        }
    }

    fn err_path(&mut self, path: &str, message: String) {
        self.errors.push(self.source.error_at_path(path, message));
    }

    fn template(&mut self, path: &str, text: &str) -> Option<Template> {
        match Template::parse(text) {
            Ok(t) => {
                for r in t.references() {
                    self.reference(path, r);
                }
                Some(t)
            }
            Err(TemplateError {
                message,
                snippet,
                help,
            }) => {
                let mut d =
                    self.source
                        .error_at_text(path, &snippet, format!("template: {message}"));
                d.help = help;
                self.errors.push(d);
                None
            }
        }
    }

    /// Checks a reference's whole path against the target model (or an
    /// earlier step), so that a typo is a load error, not a run-time one.
    fn reference(&mut self, path: &str, r: &Reference) {
        let segments: Vec<&str> = r.path.iter().map(String::as_str).collect();
        let root = segments[0];
        let problem = if BUILTIN_ROOTS.contains(&root) {
            match segments.as_slice() {
                ["scopes", name] => {
                    self.needs.scopes.insert(name.to_string());
                    None
                }
                ["clients", name, _] => {
                    self.needs.clients.insert(name.to_string());
                    None
                }
                ["users", name, _] => {
                    self.needs.users.insert(name.to_string());
                    None
                }
                _ => None,
            }
            .or_else(|| builtin_path_problem(&segments))
        } else if !self.names.iter().any(|n| n == root) {
            let mut known: Vec<&str> = self.names.iter().map(String::as_str).collect();
            known.extend(BUILTIN_ROOTS);
            Some((
                format!("refers to `{root}`, which is not an earlier step"),
                Some(match did_you_mean(root, known.iter().copied()) {
                    Some(c) => format!("did you mean `{c}`?"),
                    None => format!(
                        "earlier steps: {}",
                        if self.names.is_empty() {
                            "none".into()
                        } else {
                            self.names.join(", ")
                        }
                    ),
                }),
            ))
        } else {
            step_path_problem(&segments)
        };
        if let Some((message, help)) = problem {
            let mut d = self.source.error_at_text(
                path,
                &r.text,
                format!("`{{{{ {} }}}}` {message}", r.text),
            );
            d.help = help;
            self.errors.push(d);
        }
    }

    fn opt_template(&mut self, path: String, v: &Option<String>) -> Option<Template> {
        v.as_ref().and_then(|t| self.template(&path, t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(text: &str) -> Result<Scenario, Vec<Diagnostic>> {
        let src = Source::from_str(Path::new("s.yaml"), text).unwrap();
        load_source(&src)
    }

    const HEAD: &str = "id: t/x\ntitle: T\nlevel: must\ncovers: [ROT-OLD]\n";

    #[test]
    fn a_raced_revocation_and_a_conditional_step_are_checked() {
        let ok = compile(&format!(
            "{HEAD}steps:\n  - name: login\n    grant: password\n  - name: race\n    grant: refresh_token\n    refresh_token: \"{{{{ login.refresh_token }}}}\"\n    parallel: 3\n    with_revoke: \"{{{{ login.refresh_token }}}}\"\n  - only_if: race.refresh_token\n    grant: refresh_token\n    refresh_token: \"{{{{ race.refresh_token }}}}\"\n"
        ))
        .unwrap();
        assert!(ok.steps[1].with_revoke.is_some());
        assert_eq!(
            ok.steps[2].only_if,
            Some(("race".to_string(), "refresh_token".to_string()))
        );
        let d = compile(&format!(
            "{HEAD}steps:\n  - name: login\n    grant: password\n    with_revoke: x\n  - only_if: later.refresh_token\n    grant: password\n"
        ))
        .unwrap_err();
        let text: Vec<String> = d.iter().map(|d| d.to_string()).collect();
        assert!(
            text.iter().any(|t| t.contains("`with_revoke` races")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t.contains("naming an earlier step")),
            "{text:?}"
        );
    }

    #[test]
    fn template_paths_are_checked_against_the_target_model() {
        let cases = [
            ("{{ behaviour.acess_token_ttl_s }}", "access_token_ttl_s"),
            ("{{ clients.primary.secert }}", "secret"),
            ("{{ users.primary.pasword }}", "password"),
            ("{{ target.isuer }}", "issuer"),
            ("{{ password_grant.scop }}", "scope"),
        ];
        for (template, close) in cases {
            let d = compile(&format!(
                "{HEAD}steps:\n  - grant: password\n    scope: \"{template}\"\n"
            ))
            .unwrap_err();
            assert_eq!(d.len(), 1, "{template}: {d:?}");
            assert_eq!(d[0].line, Some(7), "{template}");
            assert_eq!(
                d[0].help.as_deref(),
                Some(format!("did you mean `{close}`?").as_str()),
                "{template}: {}",
                d[0].message
            );
        }
        for ok in [
            "{{ behaviour.access_token_ttl_s }}",
            "{{ clients.secondary.id }}",
            "{{ scopes.narrow }}",
            "{{ random }}",
        ] {
            compile(&format!(
                "{HEAD}steps:\n  - grant: password\n    scope: \"{ok}\"\n"
            ))
            .unwrap_or_else(|d| panic!("{ok}: {d:?}"));
        }
        let d = compile(&format!(
            "{HEAD}steps:\n  - name: a\n    grant: password\n  - grant: password\n    scope: \"{{{{ a.claims }}}} {{{{ a.x.y.z }}}}\"\n"
        ))
        .unwrap_err();
        assert!(d[0].message.contains("wrong shape"), "{}", d[0].message);
    }

    #[test]
    fn every_error_of_a_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "{HEAD}steps:\n  - grant: password\n    parallel: 1\n  - wait: 5 parsecs\n  - grant: password\n    scope: \"{{{{ behaviour.nope }}}}\"\n"
        );
        std::fs::write(dir.path().join("s.yaml"), text).unwrap();
        let all = load(&[dir.path().to_path_buf()]).unwrap_err().0;
        assert_eq!(all.len(), 3, "{all:?}");
        let lines: Vec<Option<usize>> = all.iter().map(|d| d.line).collect();
        assert_eq!(lines, [Some(7), Some(8), Some(10)]);
    }

    #[test]
    fn unnamed_steps_are_named_after_what_they_do() {
        let s = compile(&format!(
            "{HEAD}steps:\n  - grant: password\n  - wait: 1s\n  - grant: refresh_token\n    refresh_token: x\n    parallel: 4\n"
        ))
        .unwrap();
        let names: Vec<&str> = s.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["#1 password", "#2 wait", "#3 refresh_token ×4"]);
    }

    #[test]
    fn scenarios_that_move_time_say_so() {
        // They run alone when the server's clock is shared (run.rs).
        let plain = compile(&format!("{HEAD}steps:\n  - grant: password\n")).unwrap();
        assert!(!plain.waits());
        let waiting = compile(&format!("{HEAD}steps:\n  - wait: 5s\n")).unwrap();
        assert!(waiting.waits());
        let chain = compile(&format!(
            "{HEAD}steps:\n  - grant: refresh_token\n    refresh_token: x\n    chain: {{ every: 5s, until: 1m }}\n"
        ))
        .unwrap();
        assert!(chain.waits());
    }

    #[test]
    fn a_valid_scenario_compiles() {
        let s = compile(&format!(
            "{HEAD}steps:\n  - name: login\n    grant: password\n  - grant: refresh_token\n    client: secondary\n    refresh_token: \"{{{{ login.refresh_token }}}}\"\n    expect: {{status: 400, error: invalid_grant}}\n  - wait: refresh_token_ttl + 1s\n"
        ))
        .unwrap();
        assert_eq!(s.steps.len(), 3);
        assert_eq!(s.line, 1);
        assert!(s.needs.clients.contains("secondary"));
        assert!(s.needs.users.contains("primary"));
        assert!(matches!(s.steps[2].action, Action::Wait(_)));
    }

    #[test]
    fn references_to_unknown_steps_are_located() {
        let errs = compile(&format!(
            "{HEAD}steps:\n  - name: login\n    grant: password\n  - grant: refresh_token\n    refresh_token: \"{{{{ lgin.refresh_token }}}}\"\n"
        ))
        .unwrap_err();
        assert_eq!(errs[0].line, Some(9));
        assert!(
            errs[0]
                .message
                .contains("`lgin`, which is not an earlier step"),
            "{}",
            errs[0].message
        );
        assert_eq!(errs[0].help.as_deref(), Some("did you mean `login`?"));
    }

    #[test]
    fn step_shape_errors() {
        let errs = compile(&format!(
            "{HEAD}steps:\n  - name: a\n    grant: password\n    wait: 1s\n"
        ))
        .unwrap_err();
        assert!(errs[0].message.contains("more than one action"));
        assert_eq!(errs[0].line, Some(6));
        let errs = compile(&format!(
            "{HEAD}steps:\n  - grant: password\n    parallel: 1\n"
        ))
        .unwrap_err();
        assert!(errs[0].message.contains("between 2 and 200"));
        let errs = compile(&format!("{HEAD}steps:\n  - wait: 5 parsecs\n")).unwrap_err();
        assert!(
            errs[0].message.contains("not a duration"),
            "{}",
            errs[0].message
        );
    }

    #[test]
    fn unknown_catalogue_ids_are_refused() {
        let errs = compile(
            "id: t/x\ntitle: T\nlevel: must\ncovers: [ROT-OLDD]\nsteps:\n  - grant: password\n",
        )
        .unwrap_err();
        assert!(errs[0].message.contains("`ROT-OLDD` is not a catalogue id"));
        assert_eq!(errs[0].help.as_deref(), Some("did you mean `ROT-OLD`?"));
        assert_eq!(errs[0].line, Some(4));
    }

    #[test]
    fn wait_expressions() {
        let w = parse_wait("refresh_token_ttl + 1s").unwrap();
        assert_eq!(
            w.terms,
            vec![
                (1.0, WaitTerm::RefreshTokenTtl),
                (1.0, WaitTerm::Fixed(Duration::from_secs(1)))
            ]
        );
        let w = parse_wait("1m 30s").unwrap();
        assert_eq!(
            w.terms,
            vec![(1.0, WaitTerm::Fixed(Duration::from_secs(90)))]
        );
        let w = parse_wait("0.75 * refresh_token_ttl - 2s").unwrap();
        assert_eq!(
            w.terms,
            vec![
                (0.75, WaitTerm::RefreshTokenTtl),
                (-1.0, WaitTerm::Fixed(Duration::from_secs(2)))
            ]
        );
        assert!(
            parse_wait("2 * 5s")
                .unwrap_err()
                .to_string()
                .contains("before a declared lifetime")
        );
        assert!(
            parse_wait("x * grace_period")
                .unwrap_err()
                .to_string()
                .contains("not a factor")
        );
        assert!(
            parse_wait("refresh_ttl")
                .unwrap_err()
                .to_string()
                .contains("did you mean `refresh_token_ttl`")
        );
    }
}
