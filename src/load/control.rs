//! Run control: when the run started, whether it is stopping and why, the
//! pace under a rate cap, and the two breakers (requests in a row without
//! an answer; logins refused for their credentials). A user asks it before
//! it sends and tells it what came back; it knows nothing of tokens.

use super::profile::{LoadSettings, OnServerDown};
use super::stats::Outcome;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Logins refused for their credentials in a row before the run stops, to
/// protect the accounts (identity providers lock them).
pub const CREDENTIALS_REFUSED_LIMIT: u32 = 5;

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

/// When the run began and ends, and whether it may go on.
pub struct Control {
    started: Instant,
    /// Closed model: when the first user started (goose's run time runs
    /// from the end of the ramp that begins then), and how long from then
    /// goose runs. None in the other models, which end by their schedule.
    users_began: OnceLock<Instant>,
    closed_for: Option<Duration>,
    /// `--rate`: the next free slot.
    rate: Option<f64>,
    next_slot: Mutex<Instant>,
    on_server_down: OnServerDown,
    max_transport_failures: u32,
    request_timeout: Duration,
    /// Logins refused for their credentials in a row (`invalid_client`,
    /// `invalid_grant`): past [`CREDENTIALS_REFUSED_LIMIT`] the run stops.
    refused_logins: AtomicU32,
    /// Requests in a row, over all users, that got no answer; when the
    /// first of them was sent (µs into the run).
    silent: AtomicU32,
    silent_since_us: AtomicU64,
    /// Set once, by whatever stops the run early; `stopped_tx` wakes the
    /// schedulers waiting for their next due time.
    stop: OnceLock<StopReason>,
    stopped_tx: tokio::sync::watch::Sender<bool>,
    /// Users started (closed model) or iterations in flight (open model).
    pub active: AtomicU64,
}

impl Control {
    pub fn new(s: &LoadSettings, request_timeout: Duration) -> Control {
        let closed = s.arrival.is_none() && s.sessions.is_none();
        Control {
            started: Instant::now(),
            users_began: OnceLock::new(),
            closed_for: closed.then(|| s.ramp_of(s.users) + s.closed_run_time()),
            rate: s.rate,
            next_slot: Mutex::new(Instant::now()),
            on_server_down: s.on_server_down,
            max_transport_failures: s.max_transport_failures,
            request_timeout,
            refused_logins: AtomicU32::new(0),
            silent: AtomicU32::new(0),
            silent_since_us: AtomicU64::new(0),
            stop: OnceLock::new(),
            stopped_tx: tokio::sync::watch::channel(false).0,
            active: AtomicU64::new(0),
        }
    }

    /// Users started or iterations in flight, now.
    pub fn active_now(&self) -> u64 {
        self.active.load(Relaxed)
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
    pub(super) async fn idle_while_stopping(&self) {
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
            _ => self.request_timeout * 4 + Duration::from_secs(1),
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
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Closed model: a user starts (the first one starts the clock of
    /// [`Control::closed_end`]).
    pub(super) fn user_started(&self) {
        self.users_began.get_or_init(Instant::now);
    }

    /// Closed model: when goose ends the run (the ramp from the first
    /// user's start, then the run time in whole seconds, as goose is
    /// told), or a little after.
    fn closed_end(&self) -> Option<Instant> {
        Some(*self.users_began.get()? + self.closed_for?)
    }

    /// Waits for a slot under the rate cap; false when the run ends (or
    /// stops) first, and then nothing may be sent: a slot after the end
    /// would hold the run past its time (goose waits for the user).
    pub(super) async fn pace(&self) -> bool {
        let Some(rate) = self.rate else {
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

    /// Counts requests in a row that got no answer, over all users: past
    /// `max_transport_failures` the run stops (the server went away), or,
    /// with `--on-server-down wait`, each user backs off exponentially. A
    /// transport failure can come back at once (connection refused, no
    /// descriptor left): the runtime always gets a turn, so that the run's
    /// own timers fire and it ends on time.
    pub(super) async fn breaker(&self, outcome: &Outcome, at: Duration) {
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
        match self.on_server_down {
            OnServerDown::Stop if n >= self.max_transport_failures => {
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

    /// A login's outcome: refusals of its credentials in a row stop the
    /// run at [`CREDENTIALS_REFUSED_LIMIT`] (load never hammers a server
    /// with credentials it refused); a success resets the count.
    pub(super) fn login_answered(&self, outcome: &Outcome) {
        match outcome {
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
    }
}
