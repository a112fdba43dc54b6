//! Loading and checking scenario files: from [`ScenarioFile`] (what people
//! write) to [`Scenario`] (what the runner executes). Every problem found is
//! a [`Diagnostic`] with a location; nothing runs while any selected file is
//! invalid.

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

/// Template roots that are not step names.
pub const BUILTIN_ROOTS: [&str; 7] = [
    "random",
    "behaviour",
    "scopes",
    "clients",
    "users",
    "target",
    "password_grant",
];

/// What each built-in root offers: `(root, fields)`; `clients` and
/// `users` take a name before the field, `scopes` only a name.
const BUILTIN_FIELDS: [(&str, &[&str]); 4] = [
    ("clients", &["id", "auth", "secret"]),
    ("users", &["username", "password"]),
    ("target", &["token_endpoint", "issuer"]),
    ("password_grant", &["scope"]),
];

/// Why a path under a built-in root cannot resolve, with a hint.
fn builtin_path_problem(p: &[&str]) -> Option<(String, Option<String>)> {
    let field_of = |root: &str| {
        BUILTIN_FIELDS
            .iter()
            .find(|(r, _)| *r == root)
            .map_or(&[][..], |(_, f)| *f)
    };
    let unknown = |what: String, field: &str, known: &[&str]| {
        Some((
            format!("{what}: `{field}` is not one of {}", known.join(", ")),
            did_you_mean(field, known.iter().copied()).map(|c| format!("did you mean `{c}`?")),
        ))
    };
    let shape = |want: &str| Some((format!("has the wrong shape: write `{want}`"), None));
    match p {
        ["random"] => None,
        ["random", ..] => shape("random"),
        ["scopes", _] => None,
        ["scopes", ..] => shape("scopes.NAME"),
        ["behaviour", field] => {
            if crate::target::BEHAVIOUR_FIELDS.contains(field) {
                None
            } else {
                unknown("behaviour".into(), field, &crate::target::BEHAVIOUR_FIELDS)
            }
        }
        ["behaviour", ..] => shape("behaviour.FIELD"),
        [root @ ("clients" | "users"), name, field] => {
            let known = field_of(root);
            if known.contains(field) {
                None
            } else {
                unknown(format!("{root}.{name}"), field, known)
            }
        }
        ["clients", ..] => shape("clients.NAME.id|auth|secret"),
        ["users", ..] => shape("users.NAME.username|password"),
        [root @ ("target" | "password_grant"), field] => {
            let known = field_of(root);
            if known.contains(field) {
                None
            } else {
                unknown(root.to_string(), field, known)
            }
        }
        [root, ..] => shape(&format!("{root}.{}", field_of(root).join("|"))),
        [] => None,
    }
}

/// The name of a step its author did not name: its position and what it
/// does (`#2 refresh_token`, `#3 wait`), so that reports say which step.
fn default_step_name(i: usize, s: &StepFile) -> String {
    let what = if let Some(g) = &s.grant {
        match s.parallel {
            Some(n) => format!("{g} ×{n}"),
            None => g.clone(),
        }
    } else if s.wait.is_some() {
        "wait".into()
    } else if s.revoke.is_some() {
        "revoke".into()
    } else if s.introspect.is_some() {
        "introspect".into()
    } else if let Some(doc) = s.get {
        match doc {
            Document::Discovery => "get discovery".into(),
            Document::Jwks => "get jwks".into(),
        }
    } else if s.authorize.is_some() {
        "authorize".into()
    } else {
        "step".into()
    };
    format!("#{} {what}", i + 1)
}

/// Members a response may hold (RFC 6749 §5.1 and §5.2, RFC 7662 §2.2,
/// RFC 8693, OpenID Connect), the capture's `status`, and what an
/// authorization step captures: a name close to one of them but not it is
/// a typo (`refresh_tokn`), which would render as nothing at run time.
pub const KNOWN_MEMBERS: [&str; 35] = [
    "access_token",
    "granted_scope",
    "token_type",
    "expires_in",
    "refresh_token",
    "refresh_token_expires_in",
    "scope",
    "id_token",
    "error",
    "error_description",
    "error_uri",
    "issued_token_type",
    "active",
    "client_id",
    "username",
    "exp",
    "iat",
    "nbf",
    "sub",
    "aud",
    "iss",
    "jti",
    "status",
    "code",
    "state",
    "sent_state",
    "nonce",
    "code_verifier",
    "redirect_uri",
    "authorization_request",
    "hops",
    "state_echoed",
    "iss_matches",
    "code_challenge",
    "authenticated_at",
];

/// Why a path under a step name cannot resolve.
fn step_path_problem(p: &[&str]) -> Option<(String, Option<String>)> {
    match p {
        [_, member] if !KNOWN_MEMBERS.contains(member) => {
            did_you_mean(member, KNOWN_MEMBERS).map(|close| {
                (
                    format!("names `{member}`, which no response holds"),
                    Some(format!("did you mean `{close}`?")),
                )
            })
        }
        [_, _] | [_, "header", _] | [_, "claims", _] => None,
        [step, ..] => Some((
            format!(
                "has the wrong shape: write `{step}.MEMBER`, `{step}.status`, `{step}.header.NAME` or `{step}.claims.CLAIM`"
            ),
            None,
        )),
        [] => None,
    }
}

/// A checked scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub id: String,
    pub title: String,
    pub level: Level,
    pub covers: Vec<String>,
    pub tags: Vec<String>,
    pub description: Option<String>,
    pub observation: Option<String>,
    pub requires: Requires,
    /// How many times the steps run (each round from a fresh start).
    pub rounds: u32,
    pub steps: Vec<Step>,
    pub file: PathBuf,
    pub line: usize,
    /// Clients, users and scopes of the target that the steps use.
    pub needs: Needs,
}

impl Scenario {
    /// True when a step lets time pass.
    pub fn waits(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s.action, Action::Wait(_)) || s.chain.is_some())
    }

    /// Whether the scenario times the server: it then runs alone, on a
    /// quiet server, and its wrong passwords meet no other scenario's
    /// logins of the same account.
    pub fn measures(&self) -> bool {
        self.steps.iter().any(|s| s.timing_probe.is_some())
    }
}

#[derive(Debug, Clone, Default)]
pub struct Needs {
    pub clients: BTreeSet<String>,
    pub users: BTreeSet<String>,
    pub scopes: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub action: Action,
    pub expect: Option<ExpectC>,
    /// One of these must hold.
    pub expect_any: Vec<ExpectC>,
    pub expect_set: Vec<SetExpectationC>,
    /// Token-quality checks over a parallel step's responses.
    pub tokens: Option<TokenQuality>,
    /// A refresh repeated over time (`every`, `until`).
    pub chain: Option<(WaitExpr, WaitExpr)>,
    /// 1 for an ordinary request.
    pub parallel: u32,
    /// A revocation released together with a parallel refresh.
    pub with_revoke: Option<TokenOp>,
    /// Copies spread over every address of the endpoint's host.
    pub across_addresses: bool,
    /// (step name, member): run only when that capture holds the member.
    pub only_if: Option<(String, String)>,
    /// A refusal of this step blocks the scenario (see `StepFile::setup`).
    pub setup: bool,
    /// Responses that make the scenario not applicable, with the reason.
    pub not_applicable_if: Vec<(ExpectC, String)>,
    /// A `wait` that must end before this declared lifetime runs out.
    pub within: Option<WaitTerm>,
    /// The request authenticates its client exactly as the target says (no
    /// override of method, id, secret or assertion): an `invalid_client`
    /// answer then says the target's credentials are refused.
    pub own_client: bool,
    /// 1 for an ordinary request; more for a repeated (measured) one.
    pub repeat: u32,
    pub timing: Option<TimingCompare>,
    pub timing_probe: Option<super::model::TimingProbe>,
}

#[derive(Debug, Clone)]
pub enum Action {
    Grant(Box<GrantRequest>),
    Wait(WaitExpr),
    Revoke(TokenOp),
    Introspect(TokenOp),
    Get(Document),
    Authorize(Box<AuthorizeStep>),
}

/// An `authorize` step: the front channel of the code flow.
#[derive(Debug, Clone)]
pub struct AuthorizeStep {
    pub client: String,
    pub user: String,
    pub scope: Option<Template>,
    pub params: Vec<(String, Template)>,
    pub pkce: Option<crate::target::Pkce>,
}

#[derive(Debug, Clone)]
pub struct GrantRequest {
    pub grant_type: String,
    pub client: String,
    pub user: String,
    pub auth: Option<AuthOverride>,
    pub assertion: Option<AssertionDefect>,
    pub user_credentials: Option<UserCredentials>,
    pub scope: Option<Template>,
    pub refresh_token: Option<Template>,
    pub username: Option<Template>,
    pub password: Option<Template>,
    pub client_id: Option<Template>,
    pub client_secret: Option<Template>,
    pub params: Vec<(String, Template)>,
    pub omit: Vec<String>,
    pub duplicate: Vec<String>,
    pub method: HttpMethod,
    pub encoding: Encoding,
    pub headers: Vec<(String, Template)>,
    pub body: Option<Template>,
    /// Which DPoP proof (when the client uses DPoP, or a defect is asked).
    pub dpop: Option<super::model::DpopUse>,
    /// A JWT-bearer grant's user assertion.
    pub user_assertion: Option<super::model::UserAssertionUse>,
    /// The earlier `authorize` step whose code this grant exchanges.
    pub exchange: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TokenOp {
    pub token: Template,
    pub client: String,
    pub auth: Option<AuthOverride>,
    pub token_type_hint: Option<String>,
}

/// A duration, possibly relative to what the target declares: a sum of
/// terms, each with its factor (`-1` for `- 10s`, `0.75` for
/// `0.75 * refresh_token_ttl`).
#[derive(Debug, Clone, PartialEq)]
pub struct WaitExpr {
    pub terms: Vec<(f64, WaitTerm)>,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitTerm {
    Fixed(Duration),
    AccessTokenTtl,
    RefreshTokenTtl,
    GracePeriod,
    RefreshTokenMaxLifetime,
    /// `timing.expires_in_tolerance_s`: waits that must outlast rounding.
    ExpiresInTolerance,
}

impl WaitTerm {
    /// The target key a term reads.
    pub fn name(self) -> &'static str {
        match self {
            WaitTerm::Fixed(_) => "fixed duration",
            WaitTerm::AccessTokenTtl => "behaviour.access_token_ttl_s",
            WaitTerm::RefreshTokenTtl => "behaviour.refresh_token_ttl_s",
            WaitTerm::GracePeriod => "behaviour.grace_period_s",
            WaitTerm::RefreshTokenMaxLifetime => "behaviour.refresh_token_max_lifetime_s",
            WaitTerm::ExpiresInTolerance => "timing.expires_in_tolerance_s",
        }
    }

    pub const NAMES: [&'static str; 5] = [
        "access_token_ttl",
        "refresh_token_ttl",
        "grace_period",
        "refresh_token_max_lifetime",
        "expires_in_tolerance",
    ];
}

/// A value in a matcher: literal JSON, or a template for strings.
#[derive(Debug, Clone)]
pub enum TValue {
    Json(serde_json::Value),
    Template(Template),
}

#[derive(Debug, Clone, Default)]
pub struct MatcherC {
    pub present: Option<bool>,
    pub optional: bool,
    pub equals: Option<TValue>,
    pub not_equals: Option<TValue>,
    pub equals_ignore_case: Option<Template>,
    pub one_of: Option<Vec<TValue>>,
    pub regex: Option<regex::Regex>,
    pub contains: Option<Template>,
    pub same_words: Option<Template>,
    pub json_type: Option<JsonType>,
    pub min: Option<TValue>,
    pub max: Option<TValue>,
    pub lifetime: Option<TValue>,
    pub lacks_word: Option<Template>,
    /// Another member of the same object, and how many seconds apart.
    pub near: Option<(String, f64)>,
    /// A Unix time about this many seconds from now.
    pub expires_after: Option<TValue>,
    pub level: Option<Level>,
}

#[derive(Debug, Clone, Default)]
pub struct ExpectC {
    pub status: Option<Statuses>,
    pub error: Option<Strings>,
    pub body: Vec<(String, MatcherC)>,
    pub headers: Vec<(String, MatcherC)>,
    pub id_token: Vec<(String, MatcherC)>,
    pub id_token_valid: bool,
    /// Set when it differs from the scenario's level.
    pub level: Option<Level>,
    /// The ids a failure here is a finding of (empty: all the scenario
    /// covers).
    pub judges: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct SetExpectationC {
    pub status: Option<Statuses>,
    pub error: Option<Strings>,
    pub count: Count,
    pub distinct: Option<String>,
    /// As [`ExpectC::judges`].
    pub judges: Vec<String>,
    /// Count distinct values of this member, not answers.
    pub count_by: Option<String>,
}

/// Collects the scenario files under `paths` (files or folders, recursively,
/// `*.yaml` / `*.yml`, sorted). A folder named `load` holds load profiles and
/// is skipped.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Diagnostics> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut files, &mut errors);
        } else if p.is_file() {
            files.push(p.clone());
        } else {
            errors.push(Diagnostic::file(p, "no such file or folder"));
        }
    }
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<Diagnostic>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(Diagnostic::file(dir, format!("cannot read folder: {e}")));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if path.file_name().is_some_and(|n| n == "load") {
                continue;
            }
            walk(&path, files, errors);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml")
            && path.file_name().is_none_or(|n| n != "catalogue.yaml")
        {
            files.push(path);
        }
    }
}

/// Loads and checks every scenario under `paths`; all problems are reported
/// together.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Scenario>, Diagnostics> {
    let files = discover(paths)?;
    let mut scenarios: Vec<Scenario> = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match Source::read(&file) {
            Ok(source) => match load_source(&source) {
                Ok(s) => scenarios.push(s),
                Err(all) => errors.extend(all),
            },
            Err(d) => errors.push(d),
        }
    }
    check_unique(&scenarios, &mut errors);
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    scenarios.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(scenarios)
}

/// Two scenarios with one id are an error, naming both places.
pub fn check_unique(scenarios: &[Scenario], errors: &mut Vec<Diagnostic>) {
    let mut seen: std::collections::HashMap<String, (PathBuf, usize)> = Default::default();
    for s in scenarios {
        if let Some((file, line)) = seen.get(&s.id) {
            errors.push(
                Diagnostic::file(&s.file, format!("duplicate scenario id `{}`", s.id))
                    .with_help(format!("also used at {}:{line}", file.display())),
            );
            if let Some(last) = errors.last_mut() {
                last.line = Some(s.line);
            }
        } else {
            seen.insert(s.id.clone(), (s.file.clone(), s.line));
        }
    }
}

/// Parses and checks one scenario file. Returns every problem found in it
/// (the first is the most important).
pub fn load_source(source: &Source) -> Result<Scenario, Vec<Diagnostic>> {
    // Every problem at once: the file's own (keys, types, values), then
    // what the compiler finds in what could be read.
    let (file, mut errors) = crate::yaml::parse_all::<ScenarioFile>(source);
    let Some(file) = file else {
        return Err(errors);
    };
    let compiled = Compiler {
        source,
        covers: file.covers.clone(),
        errors: Vec::new(),
        names: Vec::new(),
        needs: Needs::default(),
    }
    .compile(file);
    match compiled {
        Ok(s) if errors.is_empty() => Ok(s),
        Ok(_) => Err(errors),
        Err(more) => {
            errors.extend(more);
            Err(errors)
        }
    }
}

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
            if let Some(s) = self.step(i, step) {
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
        for (i, st) in steps.iter().enumerate() {
            let named = st
                .expect
                .iter()
                .chain(&st.expect_any)
                .flat_map(|e| e.judges.iter())
                .chain(st.expect_set.iter().flat_map(|e| e.judges.iter()));
            for id in named {
                if !covers.contains(id) {
                    self.err_path(
                        &format!("steps[{i}]"),
                        format!(
                            "`judges: {id}` names an id this scenario does not cover ({})",
                            covers.join(", ")
                        ),
                    );
                } else if !claimed.contains(id) {
                    claimed.push(id.clone());
                }
            }
        }
        if claimed.is_empty() {
            return;
        }
        let rest: Vec<String> = covers
            .iter()
            .filter(|c| !claimed.contains(c))
            .cloned()
            .collect();
        for st in steps.iter_mut() {
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

    /// One step: its name, its one action, the rules that tie its keys
    /// together, its expectations.
    fn step(&mut self, i: usize, s: &StepFile) -> Option<Step> {
        let path = format!("steps[{i}]");
        let name = s.name.clone().unwrap_or_else(|| default_step_name(i, s));
        self.step_name(&path, s);
        if !self.one_action(i, &path, s) {
            return None;
        }
        self.step_rules(&path, s);
        let chain = self.chain(&path, s);
        let action = self.action(&path, s)?;
        let (expect, expect_any, expect_set) = self.expectations(&path, s);
        let not_applicable_if = s
            .not_applicable_if
            .iter()
            .enumerate()
            .map(|(j, n)| {
                let e = self.expect(&format!("{path}.not_applicable_if[{j}].when"), &n.when);
                (e, n.reason.clone())
            })
            .collect();
        let within = self.within(&path, s);
        let with_revoke = self.with_revoke(&path, s);
        self.across_addresses(&path, s);
        let only_if = self.only_if(&path, s);
        let setup = s.setup.unwrap_or_else(|| self.is_setup(s, expect.as_ref()));
        // Not for the checks that judge client authentication itself.
        let judges_client = self
            .covers
            .iter()
            .any(|c| c.starts_with("CA-") || c == "PW-CLIENT");
        let own_client = !judges_client
            && (s.grant.is_some() || s.revoke.is_some() || s.introspect.is_some())
            && s.auth.is_none()
            && s.assertion.is_none()
            && s.client_id.is_none()
            && s.client_secret.is_none()
            && !s.omit.iter().any(|o| {
                [
                    "client_id",
                    "client_secret",
                    "client_assertion",
                    "authorization",
                ]
                .contains(&o.to_ascii_lowercase().as_str())
            })
            && !s
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("authorization"));
        if s.name.is_some() {
            self.names.push(name.clone());
        }
        Some(Step {
            name,
            action,
            expect,
            expect_any,
            expect_set,
            tokens: s.tokens.clone(),
            chain,
            parallel: s.parallel.unwrap_or(1),
            with_revoke,
            across_addresses: s.across_addresses,
            only_if,
            setup,
            not_applicable_if,
            within,
            own_client,
            repeat: s.repeat.unwrap_or(1),
            timing: s.timing.clone(),
            timing_probe: s.timing_probe.clone(),
        })
    }

    /// `with_revoke`: only beside a `parallel` refresh.
    fn with_revoke(&mut self, path: &str, s: &StepFile) -> Option<TokenOp> {
        let text = s.with_revoke.as_deref()?;
        if s.parallel.is_none() || s.grant.as_deref() != Some(crate::wire::grant::REFRESH_TOKEN) {
            self.err_path(
                &format!("{path}.with_revoke"),
                "`with_revoke` races a revocation against a `parallel` refresh: it needs `grant: refresh_token` and `parallel`".into(),
            );
            return None;
        }
        let token = self.template(&format!("{path}.with_revoke"), text)?;
        Some(TokenOp {
            token,
            client: s.client.clone().unwrap_or_else(|| "primary".into()),
            auth: None,
            token_type_hint: Some("refresh_token".into()),
        })
    }

    /// `across_addresses` spreads the copies of a `parallel` step.
    fn across_addresses(&mut self, path: &str, s: &StepFile) {
        if s.across_addresses && s.parallel.is_none() {
            self.err_path(
                &format!("{path}.across_addresses"),
                "`across_addresses` spreads the copies of a `parallel` step: give `parallel` too"
                    .into(),
            );
        }
    }

    /// `only_if: STEP.MEMBER`, naming an earlier step.
    fn only_if(&mut self, path: &str, s: &StepFile) -> Option<(String, String)> {
        let text = s.only_if.as_deref()?;
        match text.split_once('.') {
            Some((step, member)) if self.names.iter().any(|n| n == step) && !member.is_empty() => {
                Some((step.to_string(), member.to_string()))
            }
            _ => {
                self.err_path(
                    &format!("{path}.only_if"),
                    format!(
                        "`{text}`: write STEP.MEMBER, naming an earlier step (`race.refresh_token`)"
                    ),
                );
                None
            }
        }
    }

    /// The default for `setup`: an unmodified login expecting success, in
    /// a scenario that does not judge that grant itself.
    fn is_setup(&self, s: &StepFile, expect: Option<&ExpectC>) -> bool {
        let Some(grant) = s.grant.as_deref() else {
            return false;
        };
        let judged_prefix = match grant {
            crate::wire::grant::PASSWORD => "PW-",
            crate::wire::grant::CLIENT_CREDENTIALS => "RB-CC",
            // A login is never what a check judges.
            LOGIN => "\0",
            _ => return false,
        };
        // A login by another client than the primary one is what the
        // scenario is about (reserved characters, a denied client).
        let primary = s.client.as_deref().is_none_or(|c| c == "primary");
        let plain = primary
            && s.scope.is_none()
            && s.expect_any.is_empty()
            && s.auth.is_none()
            && s.assertion.is_none()
            && s.user_credentials.is_none()
            && s.username.is_none()
            && s.password.is_none()
            && s.client_id.is_none()
            && s.client_secret.is_none()
            && s.params.is_empty()
            && s.omit.is_empty()
            && s.duplicate.is_empty()
            && s.method.is_none()
            && s.encoding.is_none()
            && s.headers.is_empty()
            && s.body.is_none()
            && s.parallel.is_none();
        let expects_success = expect
            .and_then(|e| e.status.as_ref())
            .is_none_or(|st| st.0.iter().all(|p| p.matches(200) || p.matches(201)));
        plain && expects_success && !self.covers.iter().any(|c| c.starts_with(judged_prefix))
    }

    fn within(&mut self, path: &str, s: &StepFile) -> Option<WaitTerm> {
        let text = s.within.as_ref()?;
        if s.wait.is_none() {
            self.err_path(
                &format!("{path}.within"),
                "`within` goes with `wait`".into(),
            );
            return None;
        }
        match parse_wait(text)
            .ok()
            .and_then(|w| match w.terms.as_slice() {
                [(f, t)] if *f == 1.0 && !matches!(t, WaitTerm::Fixed(_)) => Some(*t),
                _ => None,
            }) {
            Some(t) => Some(t),
            None => {
                self.err_path(
                    &format!("{path}.within"),
                    format!(
                        "`within: {text}` must name one declared lifetime: {}",
                        WaitTerm::NAMES.join(", ")
                    ),
                );
                None
            }
        }
    }

    fn step_name(&mut self, path: &str, s: &StepFile) {
        if let Some(n) = &s.name {
            let ok = n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                && n.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
            if !ok {
                self.err_path(&format!("{path}.name"), format!("step name `{n}` must start with a letter and hold only letters, digits, `_` or `-`"));
            } else if BUILTIN_ROOTS.contains(&n.as_str()) {
                self.err_path(
                    &format!("{path}.name"),
                    format!("`{n}` is reserved; choose another step name"),
                );
            } else if self.names.contains(n) {
                self.err_path(
                    &format!("{path}.name"),
                    format!("a step named `{n}` already exists"),
                );
            }
        }
    }

    fn one_action(&mut self, i: usize, path: &str, s: &StepFile) -> bool {
        let actions = [
            s.grant.is_some(),
            s.wait.is_some(),
            s.revoke.is_some(),
            s.introspect.is_some(),
            s.get.is_some(),
            s.authorize.is_some(),
        ];
        let count = actions.iter().filter(|a| **a).count();
        if count != 1 {
            let what = if count == 0 {
                "has no action"
            } else {
                "has more than one action"
            };
            self.err_path(
                path,
                format!(
                    "step {} {what}: give exactly one of `grant`, `wait`, `revoke`, `introspect`, `get`, `authorize`",
                    i + 1
                ),
            );
            return false;
        }
        true
    }

    /// Keys that only make sense together (`parallel` with `grant`, …).
    fn step_rules(&mut self, path: &str, s: &StepFile) {
        if let Some(p) = &s.timing_probe {
            let alone = s.repeat.is_none() && s.parallel.is_none() && s.chain.is_none();
            if s.grant.as_deref() != Some("password") || !alone {
                self.err_path(
                    &format!("{path}.timing_probe"),
                    "`timing_probe` goes with `grant: password` (not `repeat`, `parallel` or `chain`)".into(),
                );
            }
            if !(6..=30).contains(&p.samples) || !(1..=3).contains(&p.reset_every) {
                self.err_path(
                    &format!("{path}.timing_probe"),
                    "`samples` is between 6 and 30, `reset_every` between 1 and 3".into(),
                );
            }
            if p.min_difference_ms < 0.0 {
                self.err_path(
                    &format!("{path}.timing_probe.min_difference_ms"),
                    "`min_difference_ms` is not negative".into(),
                );
            }
        }
        if let Some(n) = s.repeat
            && (s.grant.is_none()
                || s.parallel.is_some()
                || s.chain.is_some()
                || !(2..=50).contains(&n))
        {
            self.err_path(
                &format!("{path}.repeat"),
                "`repeat` goes with `grant` (not `parallel` or `chain`) and must be between 2 and 50".into(),
            );
        }
        if let Some(t) = &s.timing {
            if s.repeat.is_none() {
                self.err_path(
                    &format!("{path}.timing"),
                    "`timing` compares repeated steps: give this step `repeat`".into(),
                );
            }
            if !self.names.contains(&t.like) {
                self.err_path(
                    &format!("{path}.timing.like"),
                    format!("`{}` is not an earlier named step", t.like),
                );
            }
            if !(t.max_ratio >= 1.0 && t.min_difference_ms >= 0.0) {
                self.err_path(
                    &format!("{path}.timing"),
                    "`max_ratio` is at least 1 and `min_difference_ms` not negative".into(),
                );
            }
        }
        let parallel = s.parallel.unwrap_or(1);
        if s.parallel.is_some() && (s.grant.is_none() || !(2..=200).contains(&parallel)) {
            self.err_path(
                &format!("{path}.parallel"),
                "`parallel` goes with `grant` and must be between 2 and 200".into(),
            );
        }
        if s.assertion.is_some() && s.grant.is_none() {
            self.err_path(
                &format!("{path}.assertion"),
                "`assertion` goes with `grant`".into(),
            );
        }
        if s.assertion == Some(AssertionDefect::Replayed) && s.parallel.is_some() {
            self.err_path(
                &format!("{path}.assertion"),
                "`assertion: replayed` sends the request twice in a row; it cannot go with `parallel`".into(),
            );
        }
        if s.tokens.is_some() && s.parallel.is_none() {
            self.err_path(
                &format!("{path}.tokens"),
                "`tokens` samples the responses of a `parallel` step (use 16 or more)".into(),
            );
        }
        if !s.expect_set.is_empty() && s.parallel.is_none() {
            self.err_path(
                &format!("{path}.expect_set"),
                "`expect_set` needs `parallel`".into(),
            );
        }
    }

    fn chain(&mut self, path: &str, s: &StepFile) -> Option<(WaitExpr, WaitExpr)> {
        match &s.chain {
            Some(c) => {
                if s.grant.as_deref() != Some(crate::wire::grant::REFRESH_TOKEN)
                    || s.parallel.is_some()
                {
                    self.err_path(
                        &format!("{path}.chain"),
                        "`chain` goes with `grant: refresh_token` (and not with `parallel`)".into(),
                    );
                }
                let mut parse = |field: &str, text: &str| match parse_wait(text) {
                    Ok(w) => Some(w),
                    Err(e) => {
                        self.err_path(&format!("{path}.chain.{field}"), e);
                        None
                    }
                };
                match (parse("every", &c.every), parse("until", &c.until)) {
                    (Some(every), Some(until)) => Some((every, until)),
                    _ => None,
                }
            }
            None => None,
        }
    }

    fn action(&mut self, path: &str, s: &StepFile) -> Option<Action> {
        Some(if let Some(grant) = &s.grant {
            Action::Grant(Box::new(self.grant(path, grant, s)))
        } else if let Some(wait) = &s.wait {
            if s.expect.is_some() {
                self.err_path(
                    &format!("{path}.expect"),
                    "a `wait` step has no response to expect anything of".into(),
                );
            }
            match parse_wait(wait) {
                Ok(w) => Action::Wait(w),
                Err(m) => {
                    self.err_path(&format!("{path}.wait"), m);
                    return None;
                }
            }
        } else if let Some(doc) = s.get {
            Action::Get(doc)
        } else if let Some(a) = &s.authorize {
            let client = s.client.clone().unwrap_or_else(|| "primary".into());
            let user = s.user.clone().unwrap_or_else(|| "primary".into());
            self.needs.clients.insert(client.clone());
            self.needs.users.insert(user.clone());
            let mut params = Vec::new();
            for (k, v) in s.params.iter() {
                if let Some(t) = self.template(&format!("{path}.params.{k}"), v) {
                    params.push((k.clone(), t));
                }
            }
            Action::Authorize(Box::new(AuthorizeStep {
                client,
                user,
                scope: self.opt_template(format!("{path}.scope"), &s.scope),
                params,
                pkce: a.pkce,
            }))
        } else {
            let (key, token) = match (&s.revoke, &s.introspect) {
                (Some(t), _) => ("revoke", t),
                (_, Some(t)) => ("introspect", t),
                _ => unreachable!("one action is present"),
            };
            let token = self.template(&format!("{path}.{key}"), token)?;
            let client = s.client.clone().unwrap_or_else(|| "primary".into());
            self.needs.clients.insert(client.clone());
            let op = TokenOp {
                token,
                client,
                auth: s.auth,
                token_type_hint: s.token_type_hint.clone(),
            };
            if key == "revoke" {
                Action::Revoke(op)
            } else {
                Action::Introspect(op)
            }
        })
    }

    #[allow(clippy::type_complexity)]
    fn expectations(
        &mut self,
        path: &str,
        s: &StepFile,
    ) -> (Option<ExpectC>, Vec<ExpectC>, Vec<SetExpectationC>) {
        let expect = s
            .expect
            .as_ref()
            .map(|e| self.expect(&format!("{path}.expect"), e));
        let expect_any = s
            .expect_any
            .iter()
            .enumerate()
            .map(|(i, e)| self.expect(&format!("{path}.expect_any[{i}]"), e))
            .collect();
        if !s.expect_any.is_empty()
            && (s.parallel.is_some() || s.chain.is_some() || s.wait.is_some())
        {
            self.err_path(
                &format!("{path}.expect_any"),
                "`expect_any` goes with a single request (not `parallel`, `chain` or `wait`)"
                    .into(),
            );
        }
        let expect_set = s
            .expect_set
            .iter()
            .map(|e| SetExpectationC {
                status: e.status.clone(),
                error: e.error.clone(),
                count: e.count,
                distinct: e.distinct.clone(),
                judges: e.judges.iter().cloned().collect(),
                count_by: e.count_by.clone(),
            })
            .collect();
        (expect, expect_any, expect_set)
    }

    /// A grant value is a registered name or an absolute URI (RFC 6749
    /// §4.5); anything else is a typo that the server would answer with
    /// `unsupported_grant_type`, looking like its defect.
    fn grant_value(&mut self, path: &str, grant: &str) {
        use crate::wire::grant;
        const IETF: &str = "urn:ietf:params:oauth:grant-type:";
        if grant::NAMED.contains(&grant) || grant::URIS.contains(&grant) || grant == LOGIN {
            return;
        }
        // Another URI is an extension grant, unless it claims the IETF's
        // namespace, where every grant is registered.
        let close = if grant.contains(':') {
            if !grant.starts_with(IETF) {
                return;
            }
            did_you_mean(grant, grant::URIS)
        } else {
            did_you_mean(
                grant,
                grant::NAMED.iter().copied().chain(std::iter::once(LOGIN)),
            )
        };
        let mut d = self.source.error_at_text(
            &format!("{path}.grant"),
            grant,
            format!("`grant: {grant}` is not a grant type"),
        );
        d.help = Some(match close {
            Some(c) => format!("did you mean `{c}`?"),
            None => format!(
                "give {}, `login` (the target's own way to sign in) or an absolute URI for an extension grant (RFC 6749 §4.5)",
                grant::NAMED.join(", ")
            ),
        });
        self.errors.push(d);
    }

    fn grant(&mut self, path: &str, grant: &str, s: &StepFile) -> GrantRequest {
        self.grant_value(path, grant);
        let client = s.client.clone().unwrap_or_else(|| "primary".into());
        let user = s.user.clone().unwrap_or_else(|| "primary".into());
        self.needs.clients.insert(client.clone());
        if grant == crate::wire::grant::PASSWORD || grant == LOGIN || s.user_assertion.is_some() {
            self.needs.users.insert(user.clone());
        }
        let mut params = Vec::new();
        for (k, v) in s.params.iter() {
            if let Some(t) = self.template(&format!("{path}.params.{k}"), v) {
                params.push((k.clone(), t));
            }
        }
        let mut headers = Vec::new();
        for (k, v) in s.headers.iter() {
            if let Some(t) = self.template(&format!("{path}.headers.{k}"), v) {
                headers.push((k.clone(), t));
            }
        }
        GrantRequest {
            grant_type: grant.to_string(),
            client,
            user,
            auth: s.auth,
            assertion: s.assertion,
            user_credentials: s.user_credentials,
            scope: self.opt_template(format!("{path}.scope"), &s.scope),
            refresh_token: self.opt_template(format!("{path}.refresh_token"), &s.refresh_token),
            username: self.opt_template(format!("{path}.username"), &s.username),
            password: self.opt_template(format!("{path}.password"), &s.password),
            client_id: self.opt_template(format!("{path}.client_id"), &s.client_id),
            client_secret: self.opt_template(format!("{path}.client_secret"), &s.client_secret),
            params,
            omit: s.omit.clone(),
            duplicate: s.duplicate.clone(),
            method: s.method.unwrap_or(HttpMethod::Post),
            encoding: s.encoding.unwrap_or(Encoding::Form),
            headers,
            body: self.opt_template(format!("{path}.body"), &s.body),
            dpop: s.dpop,
            user_assertion: s.user_assertion,
            exchange: s.exchange.as_ref().and_then(|name| {
                if grant != crate::wire::grant::AUTHORIZATION_CODE {
                    self.err_path(
                        &format!("{path}.exchange"),
                        "`exchange` goes with `grant: authorization_code`".to_string(),
                    );
                    None
                } else if !self.names.iter().any(|n| n == name) {
                    self.err_path(
                        &format!("{path}.exchange"),
                        format!("`{name}` is not an earlier step"),
                    );
                    None
                } else {
                    Some(name.clone())
                }
            }),
        }
    }

    fn expect(&mut self, path: &str, e: &Expect) -> ExpectC {
        let mut out = ExpectC {
            status: e.status.clone(),
            error: e.error.clone(),
            id_token_valid: e.id_token_valid,
            level: e.level,
            judges: e.judges.iter().cloned().collect(),
            ..Default::default()
        };
        for (k, m) in e.body.iter() {
            let c = self.matcher(&format!("{path}.body.{k}"), &m.0);
            out.body.push((k.clone(), c));
        }
        for (k, m) in e.headers.iter() {
            let c = self.matcher(&format!("{path}.headers.{k}"), &m.0);
            out.headers.push((k.to_ascii_lowercase(), c));
        }
        for (k, m) in e.id_token.iter() {
            let c = self.matcher(&format!("{path}.id_token.{k}"), &m.0);
            out.id_token.push((k.clone(), c));
        }
        out
    }

    fn tvalue(&mut self, path: &str, v: &serde_json::Value) -> Option<TValue> {
        match v {
            serde_json::Value::String(s) => self.template(path, s).map(TValue::Template),
            other => Some(TValue::Json(other.clone())),
        }
    }

    fn matcher(&mut self, path: &str, m: &MatcherSpec) -> MatcherC {
        let regex = m.regex.as_ref().and_then(|r| match regex::Regex::new(r) {
            Ok(r) => Some(r),
            Err(e) => {
                // The regex crate explains on several lines; its last says why.
                let text = e.to_string();
                let why = text
                    .lines()
                    .last()
                    .unwrap_or(&text)
                    .trim_start_matches("error: ");
                let d = self.source.error_at_text(
                    &format!("{path}.regex"),
                    r,
                    format!("invalid regular expression `{r}`: {why}"),
                );
                self.errors.push(d);
                None
            }
        });
        if m.within_s.is_some() && m.near.is_none() {
            self.err_path(
                &format!("{path}.within_s"),
                "`within_s` goes with `near: MEMBER`".to_string(),
            );
        }
        if m.optional && m.present.is_some() {
            self.err_path(
                &format!("{path}.optional"),
                "`optional` and `present` contradict each other: keep one".to_string(),
            );
        }
        MatcherC {
            present: m.present,
            optional: m.optional,
            equals: m.equals.as_ref().and_then(|v| self.tvalue(path, v)),
            not_equals: m.not_equals.as_ref().and_then(|v| self.tvalue(path, v)),
            equals_ignore_case: m
                .equals_ignore_case
                .as_ref()
                .and_then(|v| self.template(path, v)),
            one_of: m
                .one_of
                .as_ref()
                .map(|vs| vs.iter().filter_map(|v| self.tvalue(path, v)).collect()),
            regex,
            contains: m.contains.as_ref().and_then(|v| self.template(path, v)),
            same_words: m.same_words.as_ref().and_then(|v| self.template(path, v)),
            json_type: m.json_type,
            min: m.min.as_ref().and_then(|v| self.tvalue(path, v)),
            max: m.max.as_ref().and_then(|v| self.tvalue(path, v)),
            lifetime: m.lifetime.as_ref().and_then(|v| self.tvalue(path, v)),
            lacks_word: m.lacks_word.as_ref().and_then(|t| self.template(path, t)),
            expires_after: m.expires_after.as_ref().and_then(|v| self.tvalue(path, v)),
            near: m
                .near
                .clone()
                .map(|n| (n, m.within_s.unwrap_or(300) as f64)),
            level: m.level,
        }
    }
}

/// `5s`, `1m 30s`, `refresh_token_ttl + 1s`, `access_token_ttl - 5s`,
/// `0.5 * refresh_token_ttl` (a factor from 0 to 10 before a declared
/// lifetime).
pub fn parse_wait(text: &str) -> Result<WaitExpr, String> {
    let mut terms = Vec::new();
    let mut sign = 1.0f64;
    let normalized = text.replace('+', " + ");
    let mut pending = String::new();
    let flush =
        |pending: &mut String, sign: f64, terms: &mut Vec<(f64, WaitTerm)>| -> Result<(), String> {
            let t = pending.trim();
            if t.is_empty() {
                return Ok(());
            }
            let (factor, t) = match t.split_once('*') {
                Some((f, name)) => {
                    let f: f64 = f.trim().parse().map_err(|_| {
                        format!(
                            "`{}` is not a factor: write e.g. `0.5 * refresh_token_ttl`",
                            f.trim()
                        )
                    })?;
                    if !(0.0..=10.0).contains(&f) {
                        return Err(format!("the factor {f} is not between 0 and 10"));
                    }
                    (f, name.trim())
                }
                None => (1.0, t),
            };
            let term = match t {
                "access_token_ttl" => WaitTerm::AccessTokenTtl,
                "refresh_token_ttl" => WaitTerm::RefreshTokenTtl,
                "grace_period" => WaitTerm::GracePeriod,
                "refresh_token_max_lifetime" => WaitTerm::RefreshTokenMaxLifetime,
                "expires_in_tolerance" => WaitTerm::ExpiresInTolerance,
                _ => WaitTerm::Fixed(humantime::parse_duration(t).map_err(|e| {
                    let hint = did_you_mean(t, WaitTerm::NAMES)
                        .map(|c| format!(" (did you mean `{c}`?)"))
                        .unwrap_or_default();
                    format!(
                        "`{t}` is not a duration ({e}) nor one of {}{hint}",
                        WaitTerm::NAMES.join(", ")
                    )
                })?),
            };
            if factor != 1.0 && matches!(term, WaitTerm::Fixed(_)) {
                return Err(format!(
                    "a factor goes before a declared lifetime ({}), not before `{t}`",
                    WaitTerm::NAMES.join(", ")
                ));
            }
            terms.push((sign * factor, term));
            pending.clear();
            Ok(())
        };
    for word in normalized.split_whitespace() {
        match word {
            "+" | "-" => {
                flush(&mut pending, sign, &mut terms)?;
                sign = if word == "+" { 1.0 } else { -1.0 };
            }
            w => {
                if !pending.is_empty() {
                    pending.push(' ');
                }
                pending.push_str(w);
            }
        }
    }
    flush(&mut pending, sign, &mut terms)?;
    if terms.is_empty() {
        return Err("empty wait: write e.g. `5s` or `refresh_token_ttl + 1s`".into());
    }
    Ok(WaitExpr {
        terms,
        text: text.to_string(),
    })
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
                .contains("before a declared lifetime")
        );
        assert!(
            parse_wait("x * grace_period")
                .unwrap_err()
                .contains("not a factor")
        );
        assert!(
            parse_wait("refresh_ttl")
                .unwrap_err()
                .contains("did you mean `refresh_token_ttl`")
        );
    }
}
