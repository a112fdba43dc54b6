//! What the runner executes: a checked scenario, its steps, their actions
//! and expectations, every template parsed and every reference resolved.

use super::*;

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
    pub timing_probe: Option<crate::scenario::model::TimingProbe>,
    /// More than 1: a sample of this many refreshes one after another,
    /// following rotation (`grant: any` riding on the refresh grant where
    /// the password grant would have sent them in parallel).
    pub sample: u32,
}

impl Step {
    /// This step and, for `grant: any`, the steps of both its forms.
    pub fn each_mut(&mut self, f: &mut impl FnMut(&mut Step)) {
        if let Action::Any(v) = &mut self.action {
            v.password.each_mut(f);
            for s in &mut v.refresh {
                s.each_mut(f);
            }
        }
        f(self);
    }

    /// This step and, for `grant: any`, the steps of both its forms.
    pub fn each(&self, f: &mut impl FnMut(&Step)) {
        if let Action::Any(v) = &self.action {
            v.password.each(f);
            for s in &v.refresh {
                s.each(f);
            }
        }
        f(self);
    }
}

/// `grant: any`: a check of how the token endpoint treats a request, not of
/// a grant, rides on any grant the target offers. Both forms are compiled;
/// the run picks one by the target.
#[derive(Debug, Clone)]
pub struct Vehicle {
    /// Where the target offers the password grant: the step as a password
    /// grant (the primary user's credentials).
    pub password: Step,
    /// Otherwise: a login of the target's own kind (a premise: its refusal
    /// blocks), then the step as a refresh of that session's token. A raw
    /// `body` needs no session: the step alone, as a refresh grant.
    pub refresh: Vec<Step>,
}

#[derive(Debug, Clone)]
pub enum Action {
    /// `grant: any`.
    Any(Box<Vehicle>),
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
    pub dpop: Option<crate::scenario::model::DpopUse>,
    /// A JWT-bearer grant's user assertion.
    pub user_assertion: Option<crate::scenario::model::UserAssertionUse>,
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

/// A value in a matcher: literal JSON, or a template for strings.
#[derive(Debug, Clone)]
pub enum TValue {
    Json(serde_json::Value),
    Template(Template),
}

#[derive(Debug, Clone, Default)]
pub struct MatcherC {
    /// What an absent member stands for.
    pub default: Option<serde_json::Value>,
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
