//! The scenario file format, as written by people: what `serde` reads from a
//! scenario YAML file. `compile.rs` turns it into the checked form the runner
//! executes. Nothing here knows about HTTP.

/// The request layer's vocabulary, as scenarios write it.
pub use crate::oauth::auth::AssertionDefect;
pub use crate::oauth::request::{ClientAuth as AuthOverride, Encoding, HttpMethod};
use crate::verdict::Level;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::values::{Matcher, Statuses, Strings, UniqueMap};

/// One conformance scenario: a titled sequence of steps with expectations.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Unique, stable id, e.g. `rotation/old-token-refused`.
    pub id: String,
    /// One line saying what is checked.
    pub title: String,
    /// How much a failure weighs: must, should, info or profile.
    pub level: Level,
    /// Catalogue ids (CONFORMANCE.md) this scenario checks.
    #[serde(default)]
    pub covers: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Why the check matters, or why a profile may legitimately differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What the target must declare or offer; unmet → skipped with the reason.
    #[serde(default)]
    pub requires: Requires,
    /// Shown when an INFO scenario's expectations hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observation: Option<String>,
    /// Run the steps this many times (1-20), each round from a fresh
    /// start: a race that a defect wins only now and then is tried
    /// several times, and a failure says in how many rounds it showed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds: Option<u32>,
    pub steps: Vec<StepFile>,
}

/// Conditions on the target. Every field is optional; all given must hold.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Requires {
    /// `behaviour.rotation` must be this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<crate::target::Rotation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reuse_detection: Option<crate::target::ReuseDetection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_expiry: Option<crate::target::RefreshExpiry>,
    /// true: a grace period > 0 is declared; false: none is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<bool>,
    /// true: the primary client uses DPoP (`clients.primary.dpop`) and the
    /// server binds its refresh tokens to the key (`binds_refresh_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_bound: Option<bool>,
    /// true: the primary client uses DPoP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop: Option<bool>,
    /// true: the target declares that the server demands a DPoP nonce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_nonce: Option<bool>,
    /// The target signs in this way (`login.grant`): the checks of the
    /// authorization-code flow need `authorization_code`, those of user
    /// assertions `jwt_bearer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<crate::wire::LoginGrant>,
    /// true: the target defines a public client (`clients.public`, `auth:
    /// none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_client: Option<bool>,
    /// true: the target declares that the server tracks user-assertion
    /// `jti`s (`login.tracks_jti`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracks_assertion_jti: Option<bool>,
    /// true: every login signs the user in to this server afresh (the
    /// password grant or the code flow; not a `login.command`, which may
    /// reuse an old session, nor a JWT user assertion, with which the user
    /// signed in to the client, not here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fresh_login: Option<bool>,
    /// `behaviour.grace_returns` must be this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_returns: Option<crate::wire::GraceReturns>,
    /// `behaviour.grace_reuse_limit` must be this number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_reuse_limit: Option<u32>,
    /// true: a grace reuse limit is declared; false: none is (any number
    /// of replays inside the grace period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_reuse_limited: Option<bool>,
    /// true: an absolute maximum refresh-token lifetime is declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_max_lifetime: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_on_refresh: Option<bool>,
    /// The password grant issues a refresh token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_issued: Option<bool>,
    /// Named clients that the target must define (`secondary`, `password_denied`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<String>,
    /// Named users that the target must define.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// The primary client authenticates with one of these methods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_auth: Vec<crate::target::AuthMethod>,
    /// How the password grant carries the user's credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_credentials: Option<crate::target::UserCredentials>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<bool>,
    /// true: the target declares `introspection.refresh_tokens: true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspects_refresh_tokens: Option<bool>,
    /// The target offers clock control (or its lifetimes fit in `max_wait_s`;
    /// `wait` steps check that themselves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_control: Option<bool>,
    /// Named scopes that the target must define under `scopes`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// `behaviour` fields the target must declare (`access_token_ttl_s`, …),
    /// for scenarios whose templates read them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub declared: Vec<String>,
}

/// One step. Exactly one action: `grant`, `wait`, `revoke`, `introspect` or `get`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepFile {
    /// Later steps refer to this step's response as `{{ NAME.member }}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,

    /// A token request with this `grant_type` (password, refresh_token,
    /// client_credentials, or any other string, sent verbatim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
    /// Let time pass: `5s`, `refresh_token_ttl + 1s`, `access_token_ttl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<String>,
    /// RFC 7009: revoke this token (a template such as `{{ login.refresh_token }}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke: Option<String>,
    /// RFC 7662: introspect this token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspect: Option<String>,
    /// The authorization-code flow's front channel alone (RFC 6749 §4.1.1
    /// to §4.1.2): the authorization request through the server's login
    /// and consent pages to the redirect. Its answer holds the redirect's
    /// `code`, `state`, `iss` (or `error`), and `state_echoed`,
    /// `sent_state`, `nonce`, `code_verifier`, `code_challenge`,
    /// `redirect_uri`, `hops`, `authenticated_at`; a later step exchanges
    /// the code (`grant: authorization_code` with `params`). `client`,
    /// `user`, `scope` and `params` apply to the authorization request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorize: Option<AuthorizeFile>,
    /// GET a document the server publishes: `discovery` (the target's
    /// `discovery` URL, else the issuer's `/.well-known/openid-configuration`)
    /// or `jwks`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get: Option<Document>,

    /// Which client of the target (default `primary`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// Which user of the target, for the password grant (default `primary`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Override the client's authentication method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthOverride>,
    /// Send a defective client assertion (JWT client authentication only),
    /// to check that the server refuses it (RFC 7523 §3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assertion: Option<AssertionDefect>,
    /// A JWT-bearer grant's user assertion, made from the target's `login`
    /// (a `jwt_bearer` login): `valid`, or a defect RFC 7523 §3 says the
    /// server must refuse: `expired`, `wrong_audience`, `unknown_key`,
    /// `bad_signature`, `replayed` (sent twice, the second judged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_assertion: Option<UserAssertionUse>,
    /// The DPoP proof of a client that uses DPoP (RFC 9449): `proof` (the
    /// default), `none`, `no_nonce` (without the server's nonce, and not
    /// retried with it), or a defective one: `other_key`, `replay` (the
    /// scenario's previous proof again), `wrong_htm`, `wrong_htu`,
    /// `stale_iat` (ten minutes old).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop: Option<DpopUse>,
    /// Override how the password grant sends the user's credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_credentials: Option<crate::target::UserCredentials>,
    /// `scope` parameter (template). Password grants default to the target's
    /// `password_grant.scope`; other grants send none unless given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// With `grant: authorization_code`: exchange the code of this earlier
    /// `authorize` step, sending its `code`, `redirect_uri` and (when a
    /// challenge was sent) `code_verifier`; `params` and `omit` change them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// Override the user's name or password (templates; `{{ random }}` gives a fresh value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Override the client's id or secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Extra or replaced form parameters (templates).
    #[serde(default, skip_serializing_if = "UniqueMap::is_empty")]
    pub params: UniqueMap<String>,
    /// Parameters to leave out (`grant_type`, `username`, `scope`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub omit: Vec<String>,
    /// Parameters to send twice (RFC 6749 §3.2 says they must be refused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub duplicate: Vec<String>,
    /// HTTP method (default POST).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<HttpMethod>,
    /// Where the parameters go: `form` body (default), `json` body, or `query` string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Encoding>,
    /// Extra headers (templates); they replace built ones of the same name.
    #[serde(default, skip_serializing_if = "UniqueMap::is_empty")]
    pub headers: UniqueMap<String>,
    /// A raw body sent verbatim instead of the encoded parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// `token_type_hint` for revoke and introspect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type_hint: Option<String>,

    /// Send this many identical copies of the request, released together on
    /// pre-opened connections (2-200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel: Option<u32>,
    /// With `parallel`: spread the copies over every address the token
    /// endpoint's host resolves to (one connection pool each); skipped, with
    /// the reason, when fewer than two of them answer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub across_addresses: bool,
    /// With a `parallel` refresh: a revocation of this token (by the same
    /// client, hinted `refresh_token`) released together with the copies:
    /// a refresh racing a revocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_revoke: Option<String>,
    /// Run this step only when an earlier capture holds this member
    /// (`race.refresh_token`); else it is skipped, and says so (a race
    /// whose refresh lost leaves nothing to try).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_if: Option<String>,

    /// Expectations on the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
    /// Alternatives: the step passes when one of them holds (`expect` must
    /// hold as well when both are given).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect_any: Vec<Expect>,
    /// Expectations over the set of responses of a `parallel` step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect_set: Vec<SetExpectation>,
    /// Repeat a refresh, following rotation: wait `every`, refresh with the
    /// latest refresh token, until `until` has passed; every refresh before
    /// that must succeed, and `expect` judges the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<ChainFile>,
    /// Quality of the tokens issued by a `parallel` step: all distinct,
    /// printable, and at least this much estimated entropy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenQuality>,
    /// A step the check starts from (a login): when the server refuses it,
    /// the scenario is *blocked* by it, not failed under its ids. Default:
    /// an unmodified password or client_credentials grant expecting success,
    /// in a scenario that does not judge that grant itself (PW-*, RB-CC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<bool>,
    /// Answers that the RFC allows and that make the check meaningless for
    /// this server (`unauthorized_client` for a grant the client may not
    /// use): the scenario is skipped with the reason, never failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_applicable_if: Vec<NotApplicable>,
    /// For a `wait` step: the wait must end before this declared lifetime
    /// (`refresh_token_ttl`) runs out, or the scenario is skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
    /// Send the request this many times, one after another (2-50), each
    /// judged by `expect`, and keep the median latency (a measurement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<u32>,
    /// Compare this repeated step's median latency with an earlier one's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<TimingCompare>,
    /// A password grant measured as a user-enumeration probe: an unknown
    /// user against this step's user with a wrong password, interleaved,
    /// the account kept unlocked by a correct login after every few wrong
    /// passwords (see `src/check/timing.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing_probe: Option<TimingProbe>,
}

/// How a user-enumeration timing probe runs and when it reports.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimingProbe {
    /// Pairs measured (an unknown user and a wrong password each): 6-30.
    pub samples: u32,
    /// A correct login after at most this many wrong passwords in a row
    /// (1-3): common lockout thresholds (3-10) are never reached.
    #[serde(default = "default_reset_every")]
    pub reset_every: u32,
    /// Differences of the medians below this many milliseconds are never
    /// reported, however significant.
    pub min_difference_ms: f64,
}

fn default_reset_every() -> u32 {
    2
}

/// A latency comparison between two repeated steps (a measurement, not a
/// proof: loopback and a quiet server make it meaningful).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimingCompare {
    /// The earlier repeated step whose median this one should be close to.
    pub like: String,
    /// The larger median may be at most this many times the smaller.
    pub max_ratio: f64,
    /// Differences below this many milliseconds are never reported.
    pub min_difference_ms: f64,
}

/// A response that makes the check not applicable, and why.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotApplicable {
    /// The response that says so (status, error…).
    pub when: Expect,
    /// Why the check does not apply, for the report.
    pub reason: String,
}

/// A chain of refreshes spread over time (`refresh_token_max_lifetime`
/// checks).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChainFile {
    /// Wait before each refresh: `refresh_token_ttl - 60s`.
    pub every: String,
    /// Stop once this much time has passed: `refresh_token_max_lifetime + 1s`.
    pub until: String,
}

/// Checks over a sample of issued tokens (RFC 6749 §10.10).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenQuality {
    /// Response members sampled (default: access_token and refresh_token).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// Estimated entropy each token must have, in bits (128: MUST, 160: SHOULD).
    pub min_bits: u32,
}

/// A document a `get` step fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Document {
    Discovery,
    Jwks,
}

/// Expectations on one response.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `200`, `[400, 401]`, `4xx`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Statuses>,
    /// The OAuth `error` code (one, or a list of acceptable ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Strings>,
    /// Matchers on members of the JSON body.
    #[serde(default, skip_serializing_if = "UniqueMap::is_empty")]
    pub body: UniqueMap<Matcher>,
    /// Matchers on response headers (names are case-insensitive).
    #[serde(default, skip_serializing_if = "UniqueMap::is_empty")]
    pub headers: UniqueMap<Matcher>,
    /// Matchers on the claims of the response's id_token (decoded, not verified).
    #[serde(default, skip_serializing_if = "UniqueMap::is_empty")]
    pub id_token: UniqueMap<Matcher>,
    /// true: the response's id_token verifies against the target's JWKS
    /// (signature, `aud` = the client, `iss` when declared, `exp`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub id_token_valid: bool,
    /// The weight of these expectations when it differs from the
    /// scenario's: `should` inside a MUST scenario grades a SHOULD part of
    /// the requirement (a warning, and the scenario goes on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// The one id of `covers` these expectations judge, when the scenario
    /// covers several: a failure here names only it (the other
    /// expectations judge the ids no expectation names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judges: Option<String>,
}

/// What an `authorize` step does besides the target's flow.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeFile {
    /// `S256`, `plain` or `none`: the challenge sent (default: the
    /// target's `login.pkce`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkce: Option<crate::target::Pkce>,
}

/// The user assertion a grant step sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserAssertionUse {
    Valid,
    Expired,
    WrongAudience,
    UnknownKey,
    BadSignature,
    Replayed,
}

/// Which DPoP proof a grant step sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DpopUse {
    Proof,
    /// A fresh proof without the server's nonce, not retried with it.
    NoNonce,
    None,
    OtherKey,
    Replay,
    WrongHtm,
    WrongHtu,
    StaleIat,
}

/// An expectation over the responses of a `parallel` step: how many of them
/// match the filter.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetExpectation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Statuses>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Strings>,
    /// `1`, `0`, `">= 1"`, `"<= 1"`, `"1..3"`, or `all`.
    pub count: super::values::Count,
    /// When the count is wrong, is that a MUST failure (default) or could it
    /// only be a SHOULD? Inherits the scenario's level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinct: Option<String>,
    /// The one id of `covers` this count judges (see `Expect::judges`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judges: Option<String>,
    /// Count the different values of this member among the matching
    /// answers, not the answers: the same successor handed out twice (an
    /// idempotent answer to a retried request) is one successor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count_by: Option<String>,
}
