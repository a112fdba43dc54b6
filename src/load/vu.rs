//! The virtual user and the state every user of a run shares: the hot
//! path of `tokenprobe load`, read top to bottom. The schedulers (goose's
//! closed model in `engine.rs`, the open model in `arrivals.rs`, the
//! sessions model in `sessions.rs`)
//! hand a user its turn; this file sends its requests with our own reqwest
//! client and records them in our own statistics.
//!
//! What a user does: log in once with the password grant, then refresh in a
//! loop with the refresh token the last answer returned. An `invalid_grant`
//! breaks the chain: counted, then a new login. A refresh whose answer was
//! lost in transport leaves the chain's state unknown: a new login, no
//! chain break (the transport error is counted). On a server declaring
//! rotation, a refresh without a new refresh token is a rotation violation,
//! and at `replay_rate` a user replays its previous (rotated) refresh token:
//! any success is a revocation failure under load.

use super::exchange::{Answer, Conn, RefreshTemplate, error_code, lean_send};
use super::profile::{LoadSettings, OnServerDown};
use super::stats::{Kind, Outcome, Stats};
use crate::oauth::http::{self, HttpOptions};
use crate::oauth::{Client, RequestError, TokenRequest, WireRequest};
use crate::secret::Secret;
use crate::target::{Login, ReuseDetection, Rotation, Target};
use crate::wire::grant;
use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;

/// Logins refused for their credentials in a row before the run stops, to
/// protect the accounts (identity providers lock them).
pub const CREDENTIALS_REFUSED_LIMIT: u32 = 5;

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

/// Why a run stopped before its run time was over.
#[derive(Debug, Clone, PartialEq)]
pub enum StopReason {
    /// Ctrl-C or SIGTERM (the signal's number).
    Interrupted(i32),
    /// Logins refused for their credentials [`CREDENTIALS_REFUSED_LIMIT`]
    /// times in a row.
    CredentialsRefused,
    /// `failures` requests in a row got no answer at all, the first `at`
    /// into the run (`--max-transport-failures`; `--on-server-down wait`
    /// rides it out instead).
    ServerDown {
        at: Duration,
        failures: u32,
        class: String,
    },
}

impl StopReason {
    /// One line for people: `the server stopped answering at 00:02.1 (…)`.
    pub fn describe(&self) -> String {
        match self {
            StopReason::Interrupted(sig) => {
                format!("interrupted by {}", crate::interrupt::name(*sig))
            }
            StopReason::CredentialsRefused => format!(
                "credentials refused: stopped to protect the accounts ({CREDENTIALS_REFUSED_LIMIT} logins in a row refused with invalid_client or invalid_grant)"
            ),
            StopReason::ServerDown {
                at,
                failures,
                class,
            } => format!(
                "the server stopped answering at {} ({failures} requests in a row without an answer, the last: {class}); --on-server-down wait rides an outage out",
                clock(*at)
            ),
        }
    }

    /// The process exit code of a run stopped so.
    pub fn exit_code(&self) -> i32 {
        match self {
            StopReason::Interrupted(sig) => crate::interrupt::exit_code(*sig),
            StopReason::CredentialsRefused | StopReason::ServerDown { .. } => {
                crate::exit::TARGET_UNREACHABLE
            }
        }
    }
}

/// `00:02.1`: minutes and seconds into the run.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs_f64();
    format!("{:02}:{:04.1}", (s / 60.0).floor() as u64, s % 60.0)
}

/// Transport failures (no HTTP answer) that count towards the breaker:
/// the server's side of the wire, not the generator's own limits.
fn server_silent(class: &str) -> bool {
    !matches!(class, "too-many-open-files" | "request")
}

/// The violations counted under load.
#[derive(Clone, Copy)]
enum Violation {
    ChainBreaks,
    ReplayAccepted,
    DuplicateTokens,
    RotationViolations,
}

impl Violation {
    fn as_str(self) -> &'static str {
        match self {
            Violation::ChainBreaks => "chain_breaks",
            Violation::ReplayAccepted => "replay_accepted",
            Violation::DuplicateTokens => "duplicate_tokens",
            Violation::RotationViolations => "rotation_violations",
        }
    }
}

/// What the progress line shows, read without blocking the request path.
#[derive(Debug, Default, Clone, Copy)]
pub struct Live {
    pub requests: u64,
    pub failures: u64,
    pub chain_breaks: u64,
    pub dropped: u64,
    /// Requests in the last full second, and their p99 (µs).
    pub last_second: u64,
    pub p99_us: u64,
    pub active: u64,
}

/// RS256 DPoP keys made for a run, shared round robin by the users.
const RSA_DPOP_KEYS: usize = 8;

/// Most token fingerprints kept for the duplicate check (bounded memory:
/// 16 bytes each); beyond it new tokens are not checked.
const MAX_FINGERPRINTS: usize = 20_000_000;

/// What every user of one run shares.
pub struct Shared {
    /// One HTTP client per runtime (`slot`), so that each runtime's
    /// connections are driven by that runtime and its pool is its own: no
    /// request waits on another thread.
    clients: Vec<reqwest::Client>,
    /// The refresh request with everything but the token built once.
    refresh_template: Option<RefreshTemplate>,
    /// Refreshes go on each user's own connection (the closed model).
    direct: bool,
    pub(super) target: Arc<Target>,
    http: HttpOptions,
    pub(super) settings: LoadSettings,
    /// Statistics, one per runtime, merged at the end.
    pub stats: Vec<Mutex<Stats>>,
    seen: Vec<Mutex<HashSet<u64>>>,
    hasher: RandomState,
    started: Instant,
    /// Closed model: when the first user started (goose's run time runs
    /// from the end of the ramp that begins then).
    users_began: std::sync::OnceLock<Instant>,
    next_slot: Mutex<Instant>,
    rotating: bool,
    probes: bool,
    family_revocation: bool,
    /// Logins refused for their credentials in a row (`invalid_client`,
    /// `invalid_grant`): past [`CREDENTIALS_REFUSED_LIMIT`] the run stops.
    refused_logins: std::sync::atomic::AtomicU32,
    /// Requests in a row, over all users, that got no answer; when the
    /// first of them was sent (µs into the run).
    silent: std::sync::atomic::AtomicU32,
    silent_since_us: std::sync::atomic::AtomicU64,
    /// Set once, by whatever stops the run early; `stopped_tx` wakes the
    /// schedulers waiting for their next due time.
    stop: std::sync::OnceLock<StopReason>,
    stopped_tx: tokio::sync::watch::Sender<bool>,
    /// Users started (closed model) or iterations in flight (open model).
    pub(super) active: std::sync::atomic::AtomicU64,
    /// Live metrics, when `--metrics-listen` serves them.
    pub(super) metrics: Option<Arc<super::metrics::Metrics>>,
    /// DPoP: the server's nonce, once it gave one.
    dpop_nonce: Mutex<Option<String>>,
    /// DPoP with RS256: a few keys the users share (an RSA key takes about
    /// a hundred times longer to make than an EC one).
    rsa_keys: Vec<crate::dpop::DpopKey>,
    /// The primary client, the accounts users log in as (the target's
    /// primary user, or `--users-file`), and where their requests go.
    client_creds: Client,
    accounts: Vec<(String, Secret)>,
    next_account: std::sync::atomic::AtomicUsize,
    endpoint: Url,
    /// `--tokens-file`: refresh tokens issued elsewhere, each starting one
    /// session; no login is ever sent.
    tokens: Option<Mutex<std::vec::IntoIter<Secret>>>,
}

/// Why a run cannot start. Nothing has been sent when this is raised.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Missing(&'static str),
    #[error(transparent)]
    Request(#[from] RequestError),
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
        let endpoint = target
            .token_endpoint
            .clone()
            .ok_or(SetupError::Missing("the target has no token endpoint"))?;
        let client_creds = target
            .client("primary")
            .cloned()
            .ok_or(SetupError::Missing("the target has no client `primary`"))?;
        let user = target
            .user("primary")
            .map(|u| (u.username.clone(), u.password.clone()))
            .ok_or(SetupError::Missing(
                "the target has no user `primary` (load logs in as it)",
            ))?;

        assert!(!clients.is_empty(), "one client per runtime");
        let shared = Shared {
            clients,
            refresh_template: None,
            direct: false,
            target: Arc::new(target),
            http,
            settings,
            stats: (0..threads.max(1))
                .map(|_| Mutex::new(Stats::default()))
                .collect(),
            seen: (0..64).map(|_| Mutex::new(HashSet::new())).collect(),
            hasher: RandomState::new(),
            started: Instant::now(),
            users_began: std::sync::OnceLock::new(),
            next_slot: Mutex::new(Instant::now()),
            rotating,
            probes,
            family_revocation,
            refused_logins: std::sync::atomic::AtomicU32::new(0),
            silent: std::sync::atomic::AtomicU32::new(0),
            silent_since_us: std::sync::atomic::AtomicU64::new(0),
            stop: std::sync::OnceLock::new(),
            stopped_tx: tokio::sync::watch::channel(false).0,
            active: std::sync::atomic::AtomicU64::new(0),
            metrics: None,
            dpop_nonce: Mutex::new(None),
            rsa_keys: Vec::new(),
            client_creds,
            accounts: vec![user],
            next_account: std::sync::atomic::AtomicUsize::new(0),
            endpoint,
            tokens: None,
        };
        shared.token_request(None, 0)?;
        shared.token_request(Some("probe"), 0)?;
        let mut shared = shared;
        if shared.client_creds.dpop.is_none() {
            let mark = Some(RefreshTemplate::MARK);
            if let (Ok(one), Ok(two)) =
                (shared.token_request(mark, 0), shared.token_request(mark, 0))
            {
                shared.refresh_template = RefreshTemplate::new(&one, &two, &shared.http);
            }
        }
        // The direct path is the closed and open models': their users and
        // pooled chains are bounded by the connections; the sessions model
        // holds far more sessions than connections.
        shared.direct = shared.settings.sessions.is_none()
            && shared.settings.connection == super::profile::Connection::KeepAlive
            && shared
                .refresh_template
                .as_ref()
                .is_some_and(|t| t.direct.is_some());
        if shared.client_creds.dpop == Some(crate::dpop::DpopAlg::RS256) {
            shared.rsa_keys = (0..RSA_DPOP_KEYS)
                .filter_map(|_| crate::dpop::DpopKey::generate(crate::dpop::DpopAlg::RS256).ok())
                .collect();
        }
        Ok(shared)
    }

    /// `self` logging in as these accounts (each user, chain or session
    /// takes the next, round robin).
    pub fn with_accounts(mut self, accounts: Vec<(String, Secret)>) -> Shared {
        if !accounts.is_empty() {
            self.accounts = accounts;
        }
        self
    }

    /// `self` starting its sessions from these refresh tokens (one each,
    /// in order), never logging in.
    pub fn with_tokens(mut self, tokens: Vec<Secret>) -> Shared {
        self.tokens = Some(Mutex::new(tokens.into_iter()));
        self
    }

    /// How many accounts users log in as.
    pub fn accounts(&self) -> usize {
        self.accounts.len()
    }

    /// A new user, chain or session recording into `slot`, with the next
    /// account.
    pub(super) fn new_vu(&self, slot: usize) -> Vu {
        let i = self
            .next_account
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Vu {
            slot,
            account: i % self.accounts.len(),
            dpop: match self.client_creds.dpop {
                Some(crate::dpop::DpopAlg::RS256) if !self.rsa_keys.is_empty() => {
                    Some(Box::new(self.rsa_keys[i % self.rsa_keys.len()].clone()))
                }
                Some(alg) => crate::dpop::DpopKey::generate(alg).ok().map(Box::new),
                None => None,
            },
            ..Vu::default()
        }
    }

    /// `self` feeding live metrics.
    pub fn with_metrics(mut self, metrics: Arc<super::metrics::Metrics>) -> Shared {
        self.metrics = Some(metrics);
        self
    }

    /// Users started or iterations in flight, now.
    pub fn active_now(&self) -> u64 {
        self.active.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stops the run early (the first reason is kept): no further request
    /// is sent, and the schedulers end.
    pub fn stop(&self, why: StopReason) {
        if self.stop.set(why.clone()).is_ok() {
            goose::trigger_killswitch(&why.describe());
            self.stopped_tx.send_replace(true);
        }
    }

    /// A user's turn once the run is stopping: nothing is sent. goose is
    /// told again (it clears its switch when its run starts, which a
    /// signal may have beaten), and the user yields a while: one that
    /// returned at once would spin and starve the runtime that has to end
    /// the run.
    async fn idle_while_stopping(&self) {
        if let Some(why) = self.stopped() {
            goose::trigger_killswitch(&why.describe());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    /// Resolves once the run is stopping.
    pub async fn wait_stop(&self) {
        let mut rx = self.stopped_tx.subscribe();
        let _ = rx.wait_for(|stopped| *stopped).await;
    }

    /// How long what is in flight may take to finish once the schedule is
    /// over: a few request timeouts, [`crate::interrupt::GRACE`] at most
    /// after a signal.
    pub(super) fn drain_time(&self) -> Duration {
        match self.stopped() {
            Some(StopReason::Interrupted(_)) => crate::interrupt::GRACE,
            _ => self.http.request_timeout * 4 + Duration::from_secs(1),
        }
    }

    /// Why the run stopped early, if it did.
    pub fn stopped(&self) -> Option<&StopReason> {
        self.stop.get()
    }

    /// True once the run is stopping: nothing more is sent.
    pub fn stopping(&self) -> bool {
        self.stop.get().is_some()
    }

    /// Time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// When the run started.
    pub(super) fn started(&self) -> Instant {
        self.started
    }

    /// Requests so far, and p99 of the last full second, read without
    /// waiting for a lock the request path holds (a busy runtime is skipped
    /// and shows next time).
    pub fn live(&self) -> Live {
        let mut live = Live::default();
        let second = self.started.elapsed().as_secs();
        for s in &self.stats {
            let Ok(s) = s.try_lock() else { continue };
            live.requests += s.requests;
            live.failures += s.failures;
            live.chain_breaks += s.violations.chain_breaks;
            live.dropped += s.dropped;
            let step = s.timeline.step_s;
            if let Some(b) = second
                .checked_sub(1)
                .and_then(|last| s.timeline.buckets.get((last / step) as usize))
            {
                live.last_second += b.total() / step;
                live.p99_us = live.p99_us.max(b.latency.value_at_quantile(0.99));
            }
        }
        live.active = self.active.load(std::sync::atomic::Ordering::Relaxed);
        live
    }

    /// All runtimes' statistics together.
    pub fn merged(&self) -> Stats {
        let mut all = Stats::default();
        for s in &self.stats {
            all.merge(&s.lock().unwrap_or_else(|p| p.into_inner()));
        }
        all
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

    /// Closed model: a user starts (the first one starts the clock of
    /// [`Shared::closed_end`]).
    pub(super) fn user_started(&self) {
        self.users_began.get_or_init(Instant::now);
    }

    /// Closed model: when goose ends the run (the ramp from the first
    /// user's start, then the run time in whole seconds, as goose is
    /// told), or a little after. None in the other models, which end by
    /// their own schedule.
    fn closed_end(&self) -> Option<Instant> {
        let s = &self.settings;
        if s.arrival.is_some() || s.sessions.is_some() {
            return None;
        }
        let began = *self.users_began.get()?;
        Some(began + s.ramp_of(s.users) + s.closed_run_time())
    }

    /// Waits for a slot under the rate cap; false when the run ends (or
    /// stops) first, and then nothing may be sent: a slot after the end
    /// would hold the run past its time (goose waits for the user).
    async fn pace(&self) -> bool {
        let Some(rate) = self.settings.rate else {
            return true;
        };
        let interval = Duration::from_secs_f64(1.0 / rate);
        let slot = {
            let mut next = self.next_slot.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + interval;
            slot
        };
        let end = self.closed_end();
        let wake = end.map_or(slot, |end| slot.min(end));
        tokio::select! {
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {}
            _ = self.wait_stop() => return false,
        }
        end.is_none_or(|end| slot < end)
    }

    /// Counts a token by its fingerprint; true when it was seen before.
    fn seen_before(&self, h: u64) -> bool {
        let shard = &self.seen[(h as usize) % self.seen.len()];
        let mut set = shard.lock().unwrap_or_else(|p| p.into_inner());
        if set.len() >= MAX_FINGERPRINTS / self.seen.len() {
            return set.contains(&h);
        }
        !set.insert(h)
    }

    /// A token request of the primary client, built by the request layer
    /// exactly as `check` builds it: the password grant with the primary
    /// user (`account`), or a refresh of `refresh_token`.
    pub fn token_request(
        &self,
        refresh_token: Option<&str>,
        account: usize,
    ) -> Result<WireRequest, RequestError> {
        let request = match refresh_token {
            Some(t) => TokenRequest::new(grant::REFRESH_TOKEN, &self.client_creds, &self.endpoint)
                .param("refresh_token", t),
            None => {
                let mut r = TokenRequest::new(grant::PASSWORD, &self.client_creds, &self.endpoint)
                    .user(
                        &self.accounts[account % self.accounts.len()].0,
                        self.accounts[account % self.accounts.len()].1.expose(),
                        self.target.password_grant.user_credentials,
                    );
                if let Some(scope) = self
                    .target
                    .password_grant
                    .scope
                    .as_deref()
                    .filter(|s| !s.is_empty())
                {
                    r = r.param("scope", scope);
                }
                r
            }
        };
        Ok(request.build()?.post(self.endpoint.clone()))
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
        if !self.pace().await {
            return (Outcome::Transport(NOT_SENT.into()), None);
        }
        let at = self.started.elapsed();
        let began = began.unwrap_or_else(Instant::now);
        let result = match dpop {
            None => lean_send(wire.to_reqwest(&self.clients[slot])).await,
            Some(key) => self.send_with_proof(slot, &wire, key).await,
        };
        self.answered(slot, kind, result, began, at, due).await
    }

    /// A refresh of `token` from the template: the URL, the headers and
    /// the form around the token built once (see [`RefreshTemplate`]).
    #[allow(clippy::too_many_arguments)]
    async fn send_refresh(
        &self,
        slot: usize,
        account: usize,
        token: &str,
        due: Option<Instant>,
        dpop: Option<&crate::dpop::DpopKey>,
        conn: Option<&mut Option<Box<Conn>>>,
    ) -> (Outcome, Option<Answer>) {
        let Some(t) = self.refresh_template.as_ref().filter(|_| dpop.is_none()) else {
            return self
                .send(slot, account, Kind::Refresh, Some(token), due, dpop)
                .await;
        };
        if !self.pace().await {
            return (Outcome::Transport(NOT_SENT.into()), None);
        }
        let began = Instant::now();
        let at = began.saturating_duration_since(self.started);
        let mut opened = None;
        let result = match (&t.direct, conn) {
            (Some(d), Some(conn)) => d.send(conn, t, token, &self.http, &mut opened).await,
            // reqwest's future is large: boxed, so that the direct path's
            // future (moved per request) does not carry it.
            _ => Box::pin(lean_send(t.request(&self.clients[slot], token))).await,
        };
        // A connection opened on the way is recorded apart, and its set-up
        // is not the request's latency.
        let began = match opened {
            Some(how) => {
                self.record_connect(slot, how);
                began + how.took
            }
            None => began,
        };
        self.answered(slot, Kind::Refresh, result, began, at, due)
            .await
    }

    /// A DPoP request: a proof per try, its signing timed, and once more
    /// with the server's nonce when it demands one (RFC 9449 §8).
    async fn send_with_proof(
        &self,
        slot: usize,
        wire: &WireRequest,
        key: &crate::dpop::DpopKey,
    ) -> Result<(u16, bytes::Bytes), http::TransportError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let t = Instant::now();
            let nonce = self
                .dpop_nonce
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            let signed = wire.clone().with_dpop(key, nonce.as_deref());
            self.stats[slot]
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .record_proof(t.elapsed());
            let Ok(signed) = signed else {
                return Err(http::TransportError::new(
                    crate::verdict::ErrorClass::Request,
                    "request",
                ));
            };
            let r = http::send(
                signed.to_reqwest(&self.clients[slot]),
                self.http.request_timeout,
            )
            .await?;
            match crate::oauth::request::dpop_nonce_demanded(&r) {
                Some(n) if tries == 1 => {
                    *self.dpop_nonce.lock().unwrap_or_else(|p| p.into_inner()) = Some(n);
                }
                _ => return Ok((r.status, bytes::Bytes::from(r.body))),
            }
        }
    }

    /// An answer (or its absence) classified and recorded.
    async fn answered(
        &self,
        slot: usize,
        kind: Kind,
        result: Result<(u16, bytes::Bytes), http::TransportError>,
        began: Instant,
        at: Duration,
        due: Option<Instant>,
    ) -> (Outcome, Option<Answer>) {
        let took = began.elapsed();
        let (outcome, answer) = match result {
            Ok((status, body)) if (200..300).contains(&status) => {
                (Outcome::Ok, Answer::read(&body, &self.hasher))
            }
            Ok((status, body)) => (Outcome::Status(status, error_code(&body)), None),
            Err(e) => (Outcome::Transport(e.class.to_string()), None),
        };
        self.record(slot, kind, took, at, due, &outcome).await;
        (outcome, answer)
    }

    /// Records one answer (or its absence), feeds the live metrics and the
    /// transport breaker.
    async fn record(
        &self,
        slot: usize,
        kind: Kind,
        took: Duration,
        at: Duration,
        due: Option<Instant>,
        outcome: &Outcome,
    ) {
        {
            let active = self.active.load(std::sync::atomic::Ordering::Relaxed);
            let mut stats = self.stats[slot].lock().unwrap_or_else(|p| p.into_inner());
            let failed = stats.record(kind, took, at, outcome);
            stats.active(at, active);
            if let Some(due) = due
                && !failed
            {
                // Started early (within the timer's tick) or late: measured
                // from the later of its start and its due time.
                stats.record_corrected(kind, due.elapsed().max(took));
            }
        }
        if let Some(m) = &self.metrics {
            m.observe(kind, outcome, took);
        }
        self.breaker(outcome, at).await;
    }

    /// A login the target's way other than the password grant: the code
    /// flow through the server's pages (its hops counted), or a fresh JWT
    /// user assertion. Its latency runs from the first request to the
    /// token response. A login that stops before its token request is
    /// recorded as a failed login: a refusal by the authorization endpoint
    /// or a page the recipe cannot complete counts toward the credentials
    /// breaker; no answer, toward the transport breaker.
    async fn login_other(&self, vu: &Vu, due: Option<Instant>) -> (Outcome, Option<Answer>) {
        use crate::oauth::login::{self, Prepared, StartError, Who, code::FrontChannelError};
        let account = &self.accounts[vu.account % self.accounts.len()];
        let who = Who {
            client: &self.client_creds,
            username: &account.0,
            password: account.1.expose(),
            user_credentials: self.target.password_grant.user_credentials,
            token_endpoint: &self.endpoint,
            scope: self.target.login_scope.as_deref(),
            issuer: self.target.issuer.as_deref(),
        };
        let began = Instant::now();
        let at = began.saturating_duration_since(self.started);
        // A redactor of its own: the hops are dropped with it (load shows
        // none), and one shared by every login would grow with each.
        let redactor = crate::redact::Redactor::new();
        let prepared = login::prepare(
            &self.target.login,
            &who,
            &self.clients[vu.slot],
            self.http.request_timeout,
            &redactor,
        )
        .await;
        let hops = match &prepared {
            Ok(Prepared::Request { front: Some(f), .. }) => f.hops.len(),
            Err(StartError::FrontChannel(e)) => e.hops().len(),
            Err(StartError::Refused { front, .. }) => front.hops.len(),
            _ => 0,
        };
        if hops > 0 {
            let mut stats = self.stats[vu.slot]
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            stats.login_hops += hops as u64;
            // The hops are requests too: the request count says what the
            // server served.
            stats.requests += hops as u64;
        }
        let outcome = match prepared {
            Ok(Prepared::Request { wire, .. }) => {
                return self
                    .send_wire(
                        vu.slot,
                        Kind::Login,
                        wire,
                        due,
                        vu.dpop.as_deref(),
                        Some(began),
                    )
                    .await;
            }
            Ok(Prepared::Response(_)) => Outcome::Transport("login".into()),
            Err(StartError::FrontChannel(FrontChannelError::Transport { error, .. })) => {
                Outcome::Transport(error.class.to_string())
            }
            Err(StartError::Refused { error, .. }) => Outcome::Status(400, Some(error)),
            Err(_) => Outcome::Status(400, Some("login_failed".into())),
        };
        self.record(vu.slot, Kind::Login, began.elapsed(), at, due, &outcome)
            .await;
        (outcome, None)
    }

    /// `--tokens-file`: the next refresh token starts this session; none
    /// left, and the user idles until the run ends.
    async fn login_from_file(&self, vu: &mut Vu) -> bool {
        let Some(tokens) = &self.tokens else {
            return false;
        };
        let next = tokens.lock().unwrap_or_else(|p| p.into_inner()).next();
        vu.previous = None;
        vu.expires_in = None;
        match next {
            Some(t) => {
                vu.refresh = Some(t.expose().to_string());
                if !vu.started {
                    vu.started = true;
                    self.stats[vu.slot]
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .started += 1;
                }
            }
            None => {
                vu.refresh = None;
                tokio::select! {
                    _ = self.wait_stop() => {}
                    _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                }
            }
        }
        true
    }

    /// Counts requests in a row that got no answer, over all users: past
    /// `max_transport_failures` the run stops (the server went away), or,
    /// with `--on-server-down wait`, each user backs off exponentially. A
    /// transport failure can come back at once (connection refused, no
    /// descriptor left): the runtime always gets a turn, so that the run's
    /// own timers fire and it ends on time.
    async fn breaker(&self, outcome: &Outcome, at: Duration) {
        use std::sync::atomic::Ordering::Relaxed;
        let Outcome::Transport(class) = outcome else {
            self.silent.store(0, Relaxed);
            return;
        };
        if !server_silent(class) {
            // The generator's own limit: back off, the server is not to blame.
            tokio::time::sleep(Duration::from_millis(20)).await;
            return;
        }
        let n = self.silent.fetch_add(1, Relaxed) + 1;
        if n == 1 {
            self.silent_since_us.store(at.as_micros() as u64, Relaxed);
        }
        match self.settings.on_server_down {
            OnServerDown::Stop if n >= self.settings.max_transport_failures => {
                self.stop(StopReason::ServerDown {
                    at: Duration::from_micros(self.silent_since_us.load(Relaxed)),
                    failures: n,
                    class: class.clone(),
                });
                tokio::task::yield_now().await;
            }
            OnServerDown::Stop => tokio::task::yield_now().await,
            OnServerDown::Wait => {
                // 10 ms, doubling with the streak, at most a second.
                let backoff = Duration::from_millis(10 << n.min(7)).min(Duration::from_secs(1));
                tokio::time::sleep(backoff).await;
            }
        }
    }

    /// Counts the duplicates among an answer's tokens. `sent` is the
    /// refresh token of the request: getting it back is a matter of
    /// rotation (counted there), not a new issue.
    fn note_tokens(&self, slot: usize, a: &Answer, sent: Option<&str>) {
        let mut dups = 0;
        if let Some(h) = a.access_fingerprint
            && sent.is_none_or(|t| self.hasher.hash_one(t) != h)
            && self.seen_before(h)
        {
            dups += 1;
        }
        if let Some(t) = a.refresh_token.as_deref()
            && Some(t) != sent
            && self.seen_before(self.hasher.hash_one(t))
        {
            dups += 1;
        }
        if dups > 0 {
            self.violation(slot, Violation::DuplicateTokens, dups);
        }
    }

    /// Counts `n` violations (statistics, and live metrics when served).
    fn violation(&self, slot: usize, v: Violation, n: u64) {
        {
            let mut stats = self.stats[slot].lock().unwrap_or_else(|p| p.into_inner());
            let s = &mut stats.violations;
            *match v {
                Violation::ChainBreaks => &mut s.chain_breaks,
                Violation::ReplayAccepted => &mut s.replay_accepted,
                Violation::DuplicateTokens => &mut s.duplicate_tokens,
                Violation::RotationViolations => &mut s.rotation_violations,
            } += n;
        }
        if let Some(m) = &self.metrics {
            m.violation(v.as_str(), n);
        }
    }

    /// The open model's warm-up is over on runtime `slot`: what it sent
    /// so far was warm-up.
    pub(super) fn warmed_up(&self, slot: usize) {
        let mut stats = self.stats[slot].lock().unwrap_or_else(|p| p.into_inner());
        stats.warm_up = stats.requests;
    }

    /// An iteration of the open model, due at `due`, is started.
    pub(super) fn scheduled(&self, slot: usize, due: tokio::time::Instant) {
        let at = due.into_std().saturating_duration_since(self.started);
        self.stats[slot]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .scheduled(at, true);
    }

    /// `n` iterations of the open model, due by `now`, are dropped.
    pub(super) fn dropped(&self, slot: usize, now: tokio::time::Instant, n: u64) {
        if n == 0 {
            return;
        }
        let at = now.into_std().saturating_duration_since(self.started);
        self.stats[slot]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .dropped_many(at, n);
        if let Some(m) = &self.metrics {
            m.dropped(n);
        }
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
        if let (true, Some(d)) = (
            self.direct && vu.refresh.is_some(),
            self.refresh_template
                .as_ref()
                .and_then(|t| t.direct.as_ref()),
        ) && let Some(how) = d.open(&mut vu.conn.0, &self.http).await
        {
            self.record_connect(vu.slot, how);
        }
    }

    /// A connection the hot path opened, recorded apart from requests.
    fn record_connect(&self, slot: usize, how: super::exchange::Opened) {
        self.stats[slot]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record_connect(how.took, how.tls_resumed);
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

    /// The password grant; the new chain's refresh token.
    pub(super) async fn login(&self, vu: &mut Vu) {
        if self.stopping() {
            return self.idle_while_stopping().await;
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
        use std::sync::atomic::Ordering::Relaxed;
        match &outcome {
            Outcome::Status(_, Some(code))
                if code == "invalid_client"
                    || code == "invalid_grant"
                    || code == "access_denied"
                    || code == "login_failed" =>
            {
                let n = self.refused_logins.fetch_add(1, Relaxed) + 1;
                if n >= CREDENTIALS_REFUSED_LIMIT {
                    self.stop(StopReason::CredentialsRefused);
                }
            }
            Outcome::Ok => self.refused_logins.store(0, Relaxed),
            _ => {}
        }
        if outcome == Outcome::Ok && !vu.started {
            vu.started = true;
            self.stats[vu.slot]
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .started += 1;
        }
        if outcome == Outcome::Ok
            && let Some(a) = json
        {
            self.note_tokens(vu.slot, &a, None);
            vu.expires_in = a.expires_in;
            vu.refresh = a.refresh_token;
        }
    }

    /// One refresh, following rotation; a replay probe now and then. The
    /// rare paths (a login, the probes) are boxed: the future of the common
    /// one stays small, and it is moved into a box per request (goose's
    /// transactions are boxed futures).
    pub(super) async fn refresh(&self, vu: &mut Vu) {
        if self.stopping() {
            return self.idle_while_stopping().await;
        }
        let Some(current) = vu.refresh.clone() else {
            return Box::pin(self.login(vu)).await;
        };
        let (outcome, answer) = self
            .send_refresh(
                vu.slot,
                vu.account,
                &current,
                vu.due.take(),
                vu.dpop.as_deref(),
                self.direct.then_some(&mut vu.conn.0),
            )
            .await;
        match (&outcome, answer) {
            (Outcome::Ok, Some(a)) => {
                self.note_tokens(vu.slot, &a, Some(&current));
                vu.expires_in = a.expires_in;
                match a.refresh_token {
                    Some(n) if n != current => {
                        vu.previous = Some(current);
                        vu.refresh = Some(n);
                    }
                    _ => {
                        if self.rotating {
                            self.violation(vu.slot, Violation::RotationViolations, 1);
                        }
                    }
                }
            }
            // Any refusal ends the chain (counted by its code); only
            // invalid_grant is a chain break: a token the server disowned.
            (Outcome::Status(status, code), _) if (400..500).contains(status) => {
                if code.as_deref() == Some("invalid_grant") {
                    self.violation(vu.slot, Violation::ChainBreaks, 1);
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
        let one = || {
            self.send(
                vu.slot,
                vu.account,
                Kind::Replay,
                Some(&current),
                None,
                vu.dpop.as_deref(),
            )
        };
        let (a, b) = futures::join!(one(), one());
        let winners: Vec<Answer> = [a, b]
            .into_iter()
            .filter_map(|(o, j)| (o == Outcome::Ok).then_some(j).flatten())
            .collect();
        // One successor handed to both is an idempotent answer (the
        // definition check's races use): one issue, no violation.
        let successors =
            crate::oauth::replay::successors(winners.iter().map(|w| w.refresh_token.as_deref()));
        for j in winners.iter().take(successors.max(1)) {
            self.note_tokens(vu.slot, j, Some(&current));
        }
        if successors > 1 {
            self.violation(vu.slot, Violation::ReplayAccepted, 1);
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
            .send(
                vu.slot,
                vu.account,
                Kind::Replay,
                Some(&old),
                None,
                vu.dpop.as_deref(),
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
                self.violation(vu.slot, Violation::ReplayAccepted, 1);
                if let Some(a) = json {
                    self.note_tokens(vu.slot, &a, Some(&old));
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
