//! The virtual user: what one user of a run does, read top to bottom. The
//! schedulers (goose's closed model in `engine.rs`, the open model in
//! `arrivals.rs`, the sessions model in `sessions.rs`) hand a user its
//! turn; a request goes through the parts of [`Shared`] in one pass:
//! [`Control`] (may it go, and when: the stop, the rate cap), the
//! [`Sender`] (built, and sent on its transport), the [`Recorder`]
//! (statistics, violations, duplicates), then [`Control`] again (the
//! breakers). [`Accounts`] says where a session starts.
//!
//! What a user does: log in once, then refresh in a loop with the refresh
//! token the last answer returned. An `invalid_grant` breaks the chain:
//! counted, then a new login. A refresh whose answer was lost in transport
//! leaves the chain's state unknown: a new login, no chain break (the
//! transport error is counted). On a server declaring rotation, a refresh
//! without a new refresh token is a rotation violation, and at
//! `replay_rate` a user replays its previous (rotated) refresh token: any
//! success is a revocation failure under load.

use super::control::Control;
use super::exchange::{Answer, Conn, error_code};
use super::logins::{Accounts, Start};
use super::profile::LoadSettings;
use super::recorder::{Recorder, Violation};
use super::sender::{Sender, Sent};
use super::stats::{Kind, Outcome};
use crate::oauth::WireRequest;
use crate::oauth::http::HttpOptions;
use crate::secret::Secret;
use crate::target::{Login, ReuseDetection, Rotation, Target};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use super::control::{CREDENTIALS_REFUSED_LIMIT, StopReason, clock};
pub use super::recorder::Live;
pub use super::sender::SetupError;

/// What a request not sent because the run ended while it waited for its
/// slot under the rate cap returns (it is not recorded: nothing was sent).
const NOT_SENT: &str = "not sent: the run ended";

/// Why the engine could not run (the run's report still covers what ran).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot start a load thread's runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot start a load thread: {0}")]
    Thread(std::io::Error),
    #[error("a load thread panicked")]
    Panicked,
    /// goose refused the attack (its own message).
    #[error("load engine: {0}")]
    Goose(String),
    /// The settings lack what the model needs (a bug: they were checked).
    #[error("{0}")]
    Settings(&'static str),
}

/// The request an answer was to: built (a login, a probe through
/// reqwest), or a refresh of a token from the sender's template.
#[derive(Clone, Copy)]
enum Asked<'a> {
    Wire(&'a WireRequest),
    Refresh(&'a str),
}

/// What every user of one run shares, by job.
pub struct Shared {
    /// The stop, the pace, the breakers.
    pub control: Control,
    /// Statistics, violations and the duplicate check.
    pub recorder: Recorder,
    /// Requests built and sent.
    pub(super) sender: Sender,
    /// Where sessions start.
    pub(super) accounts: Accounts,
    pub(super) target: Arc<Target>,
    pub(super) settings: LoadSettings,
    rotating: bool,
    probes: bool,
    family_revocation: bool,
}

/// A virtual user's state between transactions (in the open model: one
/// token chain, taken by one iteration at a time).
#[derive(Clone, Default)]
pub(super) struct Vu {
    refresh: Option<String>,
    previous: Option<String>,
    /// xorshift state for the replay and mix draws.
    rng: u64,
    /// Which `Shared::stats` this user records into.
    pub(super) slot: usize,
    /// Which account it logs in as.
    account: usize,
    /// `expires_in` of the last access token issued to it.
    pub(super) expires_in: Option<u64>,
    /// DPoP: this user's key (the primary client declares `dpop`).
    /// (Behind a pointer: most users have none, and a million are held.)
    dpop: Option<Box<crate::dpop::DpopKey>>,
    /// Open model: when the current iteration was due; its first request
    /// records its latency from then as well.
    due: Option<Instant>,
    /// It has logged in at least once (counted in `Stats::started`).
    started: bool,
    /// Its own connection for refreshes on the direct path (closed model,
    /// plain HTTP, keep-alive): opened on first use, again after it closes.
    conn: ConnSlot,
}

/// A user's connection, if open; a copy of the user opens its own.
#[derive(Default)]
pub(super) struct ConnSlot(Option<Box<Conn>>);

impl Clone for ConnSlot {
    fn clone(&self) -> ConnSlot {
        ConnSlot(None)
    }
}

impl Vu {
    /// True while it holds a refresh token (a live session).
    pub(super) fn alive(&self) -> bool {
        self.refresh.is_some()
    }
}

impl Shared {
    /// Everything a run needs, checked before anything is sent: the token
    /// endpoint, the primary client and user, and that both kinds of request
    /// can be built (a client assertion that cannot be signed stops here).
    pub fn new(
        clients: Vec<reqwest::Client>,
        target: Target,
        http: HttpOptions,
        settings: LoadSettings,
        threads: usize,
    ) -> Result<Shared, SetupError> {
        let b = &target.behaviour;
        let rotating = b.rotation == Rotation::Rotate;
        let probes = rotating && b.grace_period_s == 0 && settings.replay_rate > 0.0;
        let family_revocation = b.reuse_detection == ReuseDetection::Family;
        let accounts = Accounts::primary(&target).ok_or(SetupError::Missing(
            "the target has no user `primary` (load logs in as it)",
        ))?;
        let control = Control::new(&settings, http.request_timeout);
        let sender = Sender::new(clients, &target, http, &settings, accounts.get(0))?;
        Ok(Shared {
            recorder: Recorder::new(threads, control.started()),
            control,
            sender,
            accounts,
            target: Arc::new(target),
            settings,
            rotating,
            probes,
            family_revocation,
        })
    }

    /// `self` logging in as these accounts (each user, chain or session
    /// takes the next, round robin).
    pub fn with_accounts(self, accounts: Vec<(String, Secret)>) -> Shared {
        Shared {
            accounts: self.accounts.replaced_by(accounts),
            ..self
        }
    }

    /// `self` starting its sessions from these refresh tokens (one each,
    /// in order), never logging in.
    pub fn with_tokens(self, tokens: Vec<Secret>) -> Shared {
        Shared {
            accounts: self.accounts.with_tokens(tokens),
            ..self
        }
    }

    /// `self` feeding live metrics.
    pub fn with_metrics(self, metrics: Arc<super::metrics::Metrics>) -> Shared {
        Shared {
            recorder: self.recorder.with_metrics(metrics),
            ..self
        }
    }

    /// How many accounts users log in as.
    pub fn accounts(&self) -> usize {
        self.accounts.len()
    }

    /// A token request as the sender builds it (the password grant of the
    /// primary user, or a refresh of `refresh_token`).
    pub fn token_request(
        &self,
        refresh_token: Option<&str>,
        account: usize,
    ) -> Result<WireRequest, crate::oauth::RequestError> {
        self.sender
            .token_request(refresh_token, self.accounts.get(account))
    }

    /// A new user, chain or session recording into `slot`, with the next
    /// account.
    pub(super) fn new_vu(&self, slot: usize) -> Vu {
        let i = self.accounts.take_next();
        Vu {
            slot,
            account: i % self.accounts.len(),
            dpop: self.sender.dpop_key(i),
            ..Vu::default()
        }
    }

    /// True when replay probes run (rotation declared, no grace period).
    pub fn probes(&self) -> bool {
        self.probes
    }

    /// The violations this run cannot see, and why: a zero there is not a
    /// pass.
    pub fn not_probed(&self) -> std::collections::BTreeMap<String, String> {
        let mut out = std::collections::BTreeMap::new();
        let b = &self.target.behaviour;
        let replay = if !self.rotating {
            Some(
                "the target does not declare rotation (behaviour.rotation), so a replayed refresh token may be valid",
            )
        } else if b.grace_period_s > 0 {
            Some(
                "the target declares a grace period (behaviour.grace_period_s): a replay within it may succeed",
            )
        } else if self.settings.replay_rate <= 0.0 {
            Some(
                "no replay probes were sent: --replay-rate is 0 (the default; --replay-rate 0.01 probes after 1% of refreshes)",
            )
        } else {
            None
        };
        if let Some(why) = replay {
            out.insert("replay_accepted".to_string(), why.to_string());
        }
        if !self.rotating {
            out.insert(
                "rotation_violations".to_string(),
                "the target does not declare rotation (behaviour.rotation)".to_string(),
            );
        }
        if self.settings.arrival.is_none() {
            out.insert(
                "dropped".to_string(),
                "closed model: users wait for answers, nothing is dropped (use --arrival-rate)"
                    .to_string(),
            );
        }
        out
    }

    /// Sends one token request and records it; `due`: when the open
    /// model's iteration was due (its latency from then is recorded too).
    async fn send(
        &self,
        slot: usize,
        account: usize,
        kind: Kind,
        refresh_token: Option<&str>,
        due: Option<Instant>,
        dpop: Option<&crate::dpop::DpopKey>,
    ) -> (Outcome, Option<Answer>) {
        // Every request is built before the pacing slot is taken; one that
        // cannot be built (checked before the run) is never sent.
        let wire = match self.token_request(refresh_token, account) {
            Ok(w) => w,
            Err(_) => return (Outcome::Transport("request".into()), None),
        };
        self.send_wire(slot, kind, wire, due, dpop, None).await
    }

    /// Sends one built token request and records it; `began`: when the
    /// work it ends began (a code flow's first page), else now.
    async fn send_wire(
        &self,
        slot: usize,
        kind: Kind,
        wire: WireRequest,
        due: Option<Instant>,
        dpop: Option<&crate::dpop::DpopKey>,
        began: Option<Instant>,
    ) -> (Outcome, Option<Answer>) {
        if !self.control.pace().await {
            return (Outcome::Transport(NOT_SENT.into()), None);
        }
        let at = self.control.elapsed();
        let began = began.unwrap_or_else(Instant::now);
        let proof = |took| self.recorder.record_proof(slot, took);
        let result = self.sender.send(slot, &wire, dpop, proof).await;
        self.answered(slot, kind, Asked::Wire(&wire), result, began, at, due)
            .await
    }

    /// A refresh of `token` (a probe's too: `kind`): from the sender's
    /// template, on the user's own connection where there is one (its
    /// set-up recorded apart, and not counted in the request's latency).
    #[allow(clippy::too_many_arguments)]
    async fn send_refresh(
        &self,
        kind: Kind,
        slot: usize,
        account: usize,
        token: &str,
        due: Option<Instant>,
        dpop: Option<&crate::dpop::DpopKey>,
        conn: Option<&mut Option<Box<Conn>>>,
    ) -> (Outcome, Option<Answer>) {
        if !self.sender.templated(dpop) {
            return self.send(slot, account, kind, Some(token), due, dpop).await;
        }
        if !self.control.pace().await {
            return (Outcome::Transport(NOT_SENT.into()), None);
        }
        let began = Instant::now();
        let at = began.saturating_duration_since(self.control.started());
        let mut opened = None;
        let result = self
            .sender
            .send_refresh(slot, token, conn, &mut opened)
            .await;
        let began = match opened {
            Some(how) => {
                self.recorder.record_connect(slot, how);
                began + how.took
            }
            None => began,
        };
        self.answered(slot, kind, Asked::Refresh(token), result, began, at, due)
            .await
    }

    /// An answer (or its absence) classified and recorded.
    #[allow(clippy::too_many_arguments)]
    async fn answered(
        &self,
        slot: usize,
        kind: Kind,
        asked: Asked<'_>,
        result: Sent,
        began: Instant,
        at: Duration,
        due: Option<Instant>,
    ) -> (Outcome, Option<Answer>) {
        let took = began.elapsed();
        let (outcome, answer) = match &result {
            Ok((status, body)) if (200..300).contains(status) => {
                (Outcome::Ok, Answer::read(body, &self.recorder.hasher))
            }
            Ok((status, body)) => (Outcome::Status(*status, error_code(body)), None),
            Err(e) => (Outcome::Transport(e.class.to_string()), None),
        };
        if outcome.failed(kind) && self.recorder.wants_sample(slot) {
            self.sample(slot, kind, asked, &result, &outcome, took, at);
        }
        self.record(slot, kind, took, at, due, &outcome).await;
        (outcome, answer)
    }

    /// A failure kept as its exchange (the first [`super::stats::MAX_SAMPLES`]
    /// of a runtime), redacted with the target's secrets and the token it
    /// sent: the rare path, so the request is built again here.
    #[allow(clippy::too_many_arguments)]
    fn sample(
        &self,
        slot: usize,
        kind: Kind,
        asked: Asked<'_>,
        result: &Sent,
        outcome: &Outcome,
        took: Duration,
        at: Duration,
    ) {
        let redactor = self.target.redactor();
        let rebuilt;
        let wire = match asked {
            Asked::Wire(w) => w,
            Asked::Refresh(token) => {
                redactor.add("rt", token);
                let Ok(w) = self.token_request(Some(token), 0) else {
                    return;
                };
                rebuilt = w;
                &rebuilt
            }
        };
        let response =
            result
                .as_ref()
                .ok()
                .map(|(status, body)| crate::oauth::http::HttpResponse {
                    status: *status,
                    headers: Vec::new(),
                    body: body.to_vec(),
                    truncated: false,
                    elapsed: took,
                });
        let exchange = crate::oauth::record::record(wire, response.as_ref(), &redactor);
        let outcome = match outcome {
            Outcome::Status(status, Some(code)) => format!("{status} {code}"),
            Outcome::Status(status, None) => status.to_string(),
            Outcome::Transport(class) => format!("no answer: {class}"),
            Outcome::Ok => "ok".to_string(),
        };
        self.recorder.sample(
            slot,
            super::stats::FailureSample {
                at_s: at.as_secs_f64(),
                kind: kind.as_str().to_string(),
                outcome,
                exchange,
            },
        );
    }

    /// Records one answer (or its absence), then lets the breaker judge it.
    async fn record(
        &self,
        slot: usize,
        kind: Kind,
        took: Duration,
        at: Duration,
        due: Option<Instant>,
        outcome: &Outcome,
    ) {
        let active = self.control.active_now();
        self.recorder
            .record(slot, kind, took, at, due, outcome, active);
        self.control.breaker(outcome, at).await;
    }

    /// A login the target's way other than the password grant (see
    /// [`super::logins::prepare_other`]). Its latency runs from the first
    /// request to the token response; its pages count as requests.
    async fn login_other(&self, vu: &Vu, due: Option<Instant>) -> (Outcome, Option<Answer>) {
        let began = Instant::now();
        let at = began.saturating_duration_since(self.control.started());
        let account = self.accounts.get(vu.account);
        let p = super::logins::prepare_other(&self.target, &self.sender, account, vu.slot).await;
        if p.hops > 0 {
            self.recorder.login_hops(vu.slot, p.hops as u64);
        }
        match p.request {
            Ok(wire) => {
                let dpop = vu.dpop.as_deref();
                self.send_wire(vu.slot, Kind::Login, wire, due, dpop, Some(began))
                    .await
            }
            Err(outcome) => {
                self.record(vu.slot, Kind::Login, began.elapsed(), at, due, &outcome)
                    .await;
                (outcome, None)
            }
        }
    }

    /// `--tokens-file`: the next refresh token starts this session; none
    /// left, and the user idles until the run ends. False when sessions
    /// start with a login.
    async fn login_from_file(&self, vu: &mut Vu) -> bool {
        let start = self.accounts.start();
        if matches!(start, Start::Login) {
            return false;
        }
        vu.previous = None;
        vu.expires_in = None;
        match start {
            Start::Token(t) => {
                vu.refresh = Some(t.expose().to_string());
                if !vu.started {
                    vu.started = true;
                    self.recorder.session_started(vu.slot);
                }
            }
            _ => {
                vu.refresh = None;
                tokio::select! {
                    _ = self.control.wait_stop() => {}
                    _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                }
            }
        }
        true
    }

    /// The access-token lifetime assumed when an answer has no
    /// `expires_in`: the target's declaration, else an hour.
    pub(super) fn default_access_ttl_s(&self) -> u64 {
        self.target
            .behaviour
            .access_token_ttl_s
            .filter(|t| *t > 0)
            .unwrap_or(3600)
    }

    /// A session's turn, due at `due`: a refresh while it holds a refresh
    /// token, else a login.
    pub(super) async fn session_turn(&self, vu: &mut Vu, due: Instant) {
        vu.due = Some(due);
        if vu.alive() {
            self.refresh(vu).await;
        } else {
            self.login(vu).await;
        }
        vu.due = None;
    }

    /// A worker of the open model readies its chain before the schedule
    /// begins: a login (counted as one, not as an iteration) and, on the
    /// direct path, its connection. Otherwise the first iterations would
    /// all be logins and connects at once, and the schedule would start
    /// with drops that only say the generator was warming up.
    pub(super) async fn warm_up(&self, vu: &mut Vu) {
        self.login(vu).await;
        if self.sender.direct
            && vu.refresh.is_some()
            && let Some(how) = self.sender.open(&mut vu.conn.0).await
        {
            self.recorder.record_connect(vu.slot, how);
        }
    }

    /// One iteration of the open model, due at `due`: a login when the
    /// chain has none (or the mix draws one), else a refresh.
    pub(super) async fn iteration(&self, vu: &mut Vu, due: Instant) {
        vu.due = Some(due);
        let mix = self.settings.mix;
        let password = vu.refresh.is_none()
            || (mix.password > 0
                && draw(&mut vu.rng) * f64::from(mix.refresh + mix.password)
                    < f64::from(mix.password));
        if password {
            self.login(vu).await;
        } else {
            self.refresh(vu).await;
        }
        vu.due = None;
    }

    /// A login the target's way (or the next token of `--tokens-file`);
    /// the new chain's refresh token.
    pub(super) async fn login(&self, vu: &mut Vu) {
        if self.control.stopping() {
            return self.control.idle_while_stopping().await;
        }
        if self.login_from_file(vu).await {
            return;
        }
        let due = vu.due.take();
        let (outcome, json) = match &self.target.login {
            Login::Password => {
                self.send(
                    vu.slot,
                    vu.account,
                    Kind::Login,
                    None,
                    due,
                    vu.dpop.as_deref(),
                )
                .await
            }
            _ => self.login_other(vu, due).await,
        };
        vu.previous = None;
        vu.refresh = None;
        self.control.login_answered(&outcome);
        if outcome == Outcome::Ok && !vu.started {
            vu.started = true;
            self.recorder.session_started(vu.slot);
        }
        if outcome == Outcome::Ok
            && let Some(a) = json
        {
            self.recorder.note_tokens(vu.slot, &a, None);
            vu.expires_in = a.expires_in;
            vu.refresh = a.refresh_token;
        }
    }

    /// One refresh, following rotation; a replay probe now and then. The
    /// rare paths (a login, the probes) are boxed: the future of the common
    /// one stays small, and it is moved into a box per request (goose's
    /// transactions are boxed futures).
    pub(super) async fn refresh(&self, vu: &mut Vu) {
        if self.control.stopping() {
            return self.control.idle_while_stopping().await;
        }
        let Some(current) = vu.refresh.clone() else {
            return Box::pin(self.login(vu)).await;
        };
        let (outcome, answer) = self
            .send_refresh(
                Kind::Refresh,
                vu.slot,
                vu.account,
                &current,
                vu.due.take(),
                vu.dpop.as_deref(),
                self.sender.direct.then_some(&mut vu.conn.0),
            )
            .await;
        match (&outcome, answer) {
            (Outcome::Ok, Some(a)) => {
                self.recorder.note_tokens(vu.slot, &a, Some(&current));
                vu.expires_in = a.expires_in;
                match a.refresh_token {
                    Some(n) if n != current => {
                        // The rotated token is kept only for a replay
                        // probe: a session at rest holds one token.
                        vu.previous = self.probes.then_some(current);
                        vu.refresh = Some(n);
                    }
                    _ => {
                        if self.rotating {
                            self.recorder
                                .violation(vu.slot, Violation::RotationViolations, 1);
                        }
                    }
                }
            }
            // Any refusal ends the chain (counted by its code); only
            // invalid_grant is a chain break: a token the server disowned.
            (Outcome::Status(status, code), _) if (400..500).contains(status) => {
                if code.as_deref() == Some("invalid_grant") {
                    self.recorder.violation(vu.slot, Violation::ChainBreaks, 1);
                }
                return Box::pin(self.login(vu)).await;
            }
            // The answer was lost: the server may have rotated the token or
            // not. Retrying it would count the server's correct refusal as a
            // chain break, so the chain starts anew (the error is counted).
            (Outcome::Transport(_), _) => {
                vu.refresh = None;
                vu.previous = None;
                return;
            }
            _ => {}
        }
        if self.probes && vu.previous.is_some() && draw(&mut vu.rng) < self.settings.replay_rate {
            Box::pin(self.double_spend(vu)).await;
            Box::pin(self.replay(vu)).await;
        }
    }

    /// Two refreshes of the current token at once: on a rotating server
    /// without grace exactly one may win (a check-then-act race lets both).
    async fn double_spend(&self, vu: &mut Vu) {
        let Some(current) = vu.refresh.clone() else {
            return;
        };
        // One copy on the user's own connection, the other on the
        // runtime's client: both sent at once, both on the hot path's
        // transports.
        let (slot, account, dpop) = (vu.slot, vu.account, vu.dpop.as_deref());
        let own = self.sender.direct.then_some(&mut vu.conn.0);
        let (a, b) = futures::join!(
            self.send_refresh(Kind::Replay, slot, account, &current, None, dpop, own),
            self.send_refresh(Kind::Replay, slot, account, &current, None, dpop, None),
        );
        let winners: Vec<Answer> = [a, b]
            .into_iter()
            .filter_map(|(o, j)| (o == Outcome::Ok).then_some(j).flatten())
            .collect();
        // One successor handed to both is an idempotent answer (the
        // definition check's races use): one issue, no violation.
        let successors =
            crate::oauth::replay::successors(winners.iter().map(|w| w.refresh_token.as_deref()));
        for j in winners.iter().take(successors.max(1)) {
            self.recorder.note_tokens(vu.slot, j, Some(&current));
        }
        if successors > 1 {
            self.recorder
                .violation(vu.slot, Violation::ReplayAccepted, 1);
        }
        match winners.first().and_then(|a| a.refresh_token.as_deref()) {
            Some(next) if next != current => {
                vu.previous = Some(current);
                vu.refresh = Some(next.to_string());
            }
            Some(_) => {}
            None => self.login(vu).await,
        }
    }

    /// Replays the previous, rotated refresh token.
    async fn replay(&self, vu: &mut Vu) {
        let Some(old) = vu.previous.take() else {
            return;
        };
        let (outcome, json) = self
            .send_refresh(
                Kind::Replay,
                vu.slot,
                vu.account,
                &old,
                None,
                vu.dpop.as_deref(),
                self.sender.direct.then_some(&mut vu.conn.0),
            )
            .await;
        let answer = match (&outcome, &json) {
            (Outcome::Ok, Some(a)) => Ok(a.refresh_token.as_deref()),
            (Outcome::Ok, None) => Ok(None),
            _ => Err(()),
        };
        use crate::oauth::replay::{Again, classify};
        match classify(vu.refresh.as_deref(), answer) {
            // The successor already issued, handed out again: idempotent.
            Again::SameSuccessor => {}
            Again::NewSuccessor => {
                self.recorder
                    .violation(vu.slot, Violation::ReplayAccepted, 1);
                if let Some(a) = json {
                    self.recorder.note_tokens(vu.slot, &a, Some(&old));
                }
            }
            // The replay revoked the family, as declared: start a new chain
            // (not a chain break: the server did what it said).
            Again::Refused if self.family_revocation => self.login(vu).await,
            Again::Refused => {}
        }
    }
}

/// A uniform draw in [0, 1) (xorshift64*).
fn draw(state: &mut u64) -> f64 {
    if *state == 0 {
        *state = RandomState::new().hash_one(Instant::now()) | 1;
    }
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_at_rest_is_small() {
        // A million sessions are held at once: a user's connection lives
        // behind a pointer, not inside it.
        let size = std::mem::size_of::<Vu>();
        assert!(size <= 160, "{size} bytes");
    }

    #[test]
    fn draws_are_uniform_enough() {
        let mut state = 0;
        let n = 100_000;
        let hits = (0..n).filter(|_| draw(&mut state) < 0.01).count();
        assert!((700..1300).contains(&hits), "{hits}");
    }
}
