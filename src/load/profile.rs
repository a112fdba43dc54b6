//! Load profiles (`scenarios/load/*.yaml`): how many virtual users, how fast
//! they start, for how long, at what rate, with which mix of requests, how
//! often they probe with a replay, and the thresholds that decide the exit
//! code. Read through `crate::yaml` like every other file; flags override
//! each field ([`LoadSettings::apply`]).

use super::threshold::Threshold;
use crate::diag::Diagnostic;
use crate::error::BadValue;
use crate::yaml::Source;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// The file format.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadProfile {
    /// What the profile is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Virtual users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<usize>,
    /// Time over which all users start (`30s`); or `increase_rate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramp: Option<String>,
    /// Users started per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub increase_rate: Option<f64>,
    /// How long the run lasts once every user has started (`60s`, `5m`);
    /// the ramp comes first. With `arrival_rate`: the whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_time: Option<String>,
    /// Requests per second over all users, at most (`0`: no cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Open model: iterations started per second whatever the server does
    /// (instead of users in a loop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival_rate: Option<f64>,
    /// Open model: stages that ramp the arrival rate linearly from the one
    /// before (or from `arrival_rate`, else 0) to their `target` over their
    /// `duration` (k6's ramping-arrival-rate). They set the run time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageDoc>,
    /// Open model: most iterations running at once; one due beyond it is
    /// dropped (and counted). Default 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<usize>,
    /// Sessions model: this many token families held at once, each
    /// refreshing when its access token nears expiry (instead of users in a
    /// loop or an arrival rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<usize>,
    /// Sessions model: refresh when this much of the access token's life is
    /// left (`60s`, the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_before: Option<String>,
    /// Sessions model: the server's lifetimes scaled by this factor, so that
    /// a short run sees many refreshes (`0.01`: an hour-long token refreshes
    /// after 36 s, less `refresh_before` scaled alike). Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_scale: Option<f64>,
    /// `keep-alive` (the default: connections are reused) or `per-request`
    /// (a new connection for every request, as many real clients do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<Connection>,
    /// Relative weights of what a user does in its loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mix: Option<Mix>,
    /// Fraction of refreshes followed by a replay of the previous (rotated)
    /// refresh token: 0.01 = 1 %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_rate: Option<f64>,
    /// Thresholds: `p99<250ms`, `error_rate<0.1%`, `rps>1000`,
    /// `replay_accepted==0`…
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<String>,
}

/// One stage of the open model, as written.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StageDoc {
    /// Iterations a second at the end of the stage.
    pub target: f64,
    /// How long the stage lasts (`30s`).
    pub duration: String,
}

impl std::str::FromStr for StageDoc {
    type Err = BadValue;
    /// `30s:200` (duration:target).
    fn from_str(s: &str) -> Result<StageDoc, BadValue> {
        let (d, t) = s
            .split_once(':')
            .ok_or_else(|| BadValue::new(s, "write DURATION:RATE, e.g. 30s:200"))?;
        let target = t
            .trim()
            .trim_end_matches("/s")
            .parse::<f64>()
            .map_err(|_| BadValue::new(s, format!("`{t}` is not a rate")))?;
        Ok(StageDoc {
            target,
            duration: d.trim().to_string(),
        })
    }
}

/// One stage of the open model, resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    pub target: f64,
    pub duration: Duration,
}

/// Weights of the loop's actions.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mix {
    #[serde(default)]
    pub refresh: u32,
    /// A fresh password grant (the user's chain restarts).
    #[serde(default)]
    pub password: u32,
}

impl Default for Mix {
    fn default() -> Mix {
        Mix {
            refresh: 1,
            password: 0,
        }
    }
}

impl std::str::FromStr for Mix {
    type Err = BadValue;
    /// `refresh=9,password=1`.
    fn from_str(s: &str) -> Result<Mix, BadValue> {
        let mut mix = Mix {
            refresh: 0,
            password: 0,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| BadValue::new(part, "write NAME=WEIGHT, e.g. refresh=9,login=1"))?;
            let v: u32 = v
                .trim()
                .parse()
                .map_err(|_| BadValue::new(part, "the weight must be a whole number"))?;
            match k.trim() {
                "refresh" => mix.refresh = v,
                "login" | "password" => mix.password = v,
                other => {
                    return Err(BadValue::new(
                        other,
                        "an unknown mix entry (refresh, login)",
                    ));
                }
            }
        }
        if mix.refresh + mix.password == 0 {
            return Err(BadValue::new(s, "the mix needs a weight above 0"));
        }
        Ok(mix)
    }
}

/// A profile resolved with its defaults: what the engine runs.
#[derive(Debug, Clone)]
pub struct LoadSettings {
    pub users: usize,
    /// How the users start: kept as given, so that a ramp from a profile
    /// spreads the users a flag sets (`--users 1000` over the profile's
    /// `ramp: 10s` is 100 users a second, not the profile's count over 10 s).
    pub start: Start,
    pub run_time: Duration,
    /// Requests per second over all users; `None`: no cap.
    pub rate: Option<f64>,
    pub mix: Mix,
    pub replay_rate: f64,
    pub thresholds: Vec<Threshold>,
    /// The open model, when an arrival rate is given.
    pub arrival: Option<Arrival>,
    /// Open model: the arrival rate's stages (empty: constant).
    pub stages: Vec<Stage>,
    /// The sessions model, when a number of sessions is given.
    pub sessions: Option<SessionsModel>,
    pub connection: Connection,
    /// Requests in a row without an answer that stop the run.
    pub max_transport_failures: u32,
    pub on_server_down: OnServerDown,
    /// Above this fraction of failed requests the run fails, thresholds or
    /// not (`None`: no such gate).
    pub max_error_rate: Option<f64>,
}

/// What a run does when requests stop getting answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OnServerDown {
    /// Stop after `--max-transport-failures` in a row, exit 3.
    #[default]
    Stop,
    /// Back off exponentially (up to a second between tries) and go on.
    Wait,
}

/// Requests in a row without an answer before a run stops (the default
/// of `--max-transport-failures`).
pub const DEFAULT_MAX_TRANSPORT_FAILURES: u32 = 20;

/// The error rate above which a run fails even without thresholds (the
/// default of `--max-error-rate`): 5 %.
pub const DEFAULT_MAX_ERROR_RATE: f64 = 0.05;

/// How connections are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Connection {
    #[default]
    KeepAlive,
    PerRequest,
}

impl std::str::FromStr for Connection {
    type Err = BadValue;
    fn from_str(s: &str) -> Result<Connection, BadValue> {
        match s {
            "keep-alive" => Ok(Connection::KeepAlive),
            "per-request" => Ok(Connection::PerRequest),
            other => Err(BadValue::new(other, "give keep-alive or per-request")),
        }
    }
}

impl Connection {
    pub fn as_str(self) -> &'static str {
        match self {
            Connection::KeepAlive => "keep-alive",
            Connection::PerRequest => "per-request",
        }
    }
}

/// The sessions model: token families refreshing near their expiry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SessionsModel {
    pub count: usize,
    pub refresh_before: Duration,
    pub time_scale: f64,
    /// Most refreshes in flight at once; a session due while they run
    /// waits (and its lateness shows in the latency from due).
    pub max_in_flight: usize,
}

/// Most sessions accepted.
pub const MAX_SESSIONS: usize = 1_000_000;

/// The open model's schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arrival {
    /// Iterations started per second.
    pub rate: f64,
    /// Most iterations running at once.
    pub max_in_flight: usize,
}

/// Default bound on iterations in flight in the open model.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 100;

/// How the users start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Start {
    /// All users over this time (zero: at once).
    Ramp(Duration),
    /// This many users a second.
    Rate(f64),
}

impl LoadSettings {
    /// Users started per second.
    pub fn increase_rate(&self) -> f64 {
        self.increase_rate_of(self.users)
    }

    /// The closed model's run time as goose takes it: whole seconds, at
    /// least one.
    pub fn closed_run_time(&self) -> Duration {
        Duration::from_secs(self.run_time.as_secs().max(1))
    }

    /// Time over which `n` users (or sessions) start.
    pub fn ramp_of(&self, n: usize) -> Duration {
        match self.start {
            Start::Ramp(d) => d,
            Start::Rate(r) => Duration::from_secs_f64(n as f64 / r.max(1e-3)),
        }
    }

    /// Started per second when `n` users (or sessions) start.
    pub fn increase_rate_of(&self, n: usize) -> f64 {
        match self.start {
            Start::Rate(r) => r,
            // All at once: within a millisecond (goose starts users at a
            // rate, so `n` a second would take a second).
            Start::Ramp(d) if d.is_zero() => (n as f64 * 1000.0).max(1000.0),
            Start::Ramp(d) => (n as f64 / d.as_secs_f64()).max(0.001),
        }
    }
}

/// A run's place among the shards of a distributed run: `index` of
/// `count` (0-based, as Kubernetes' `JOB_COMPLETION_INDEX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = BadValue;
    /// `0/4`.
    fn from_str(s: &str) -> Result<Shard, BadValue> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| BadValue::new(s, "write INDEX/COUNT, e.g. 0/4 (0-based)"))?;
        let index: usize = i
            .trim()
            .parse()
            .map_err(|_| BadValue::new(s, format!("`{i}` is not an index")))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| BadValue::new(s, format!("`{n}` is not a count")))?;
        Shard::new(index, count).map_err(|e| BadValue::new(s, e.to_string()))
    }
}

/// A shard that cannot be: out of range, or with nothing to run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShardError {
    #[error("{0} shards: give 1 to {max}", max = Shard::MAX)]
    Count(usize),
    #[error("shard {index} of {count}: the index counts from 0 to {last}", last = count - 1)]
    Index { index: usize, count: usize },
    #[error("{total} {what} for {count} shards: shard {index} would have none", count = shard.count, index = shard.index)]
    Empty {
        total: usize,
        what: &'static str,
        shard: Shard,
    },
}

impl Shard {
    /// Most shards of one run.
    pub const MAX: usize = 1000;

    pub fn new(index: usize, count: usize) -> Result<Shard, ShardError> {
        if count == 0 || count > Shard::MAX {
            return Err(ShardError::Count(count));
        }
        if index >= count {
            return Err(ShardError::Index { index, count });
        }
        Ok(Shard { index, count })
    }

    /// This shard's part of `total` (the parts add up to `total` exactly).
    pub fn part(self, total: usize) -> usize {
        total / self.count + usize::from(self.index < total % self.count)
    }

    /// This shard's slice of `0..total`: disjoint, in order, covering it.
    pub fn slice(self, total: usize) -> std::ops::Range<usize> {
        let start = (0..self.index)
            .map(|i| Shard { index: i, ..self }.part(total))
            .sum::<usize>();
        start..start + self.part(total)
    }
}

impl LoadSettings {
    /// The settings one shard runs: its part of the users, sessions and
    /// in-flight bounds, and its fraction of every rate (start rate, request
    /// cap, arrival rate and stages); ramps and run time unchanged, so that
    /// the shards together are the whole run.
    pub fn for_shard(&self, shard: Shard) -> Result<LoadSettings, ShardError> {
        let n = shard.count as f64;
        let mut s = self.clone();
        let part = |total: usize, what: &'static str| {
            let p = shard.part(total);
            if p == 0 {
                Err(ShardError::Empty { total, what, shard })
            } else {
                Ok(p)
            }
        };
        match (&mut s.arrival, &mut s.sessions) {
            (Some(a), _) => {
                a.rate /= n;
                a.max_in_flight = part(a.max_in_flight, "iterations in flight")?;
                for st in &mut s.stages {
                    st.target /= n;
                }
            }
            (None, Some(m)) => {
                m.count = part(m.count, "sessions")?;
                m.max_in_flight = shard.part(m.max_in_flight).max(1);
            }
            (None, None) => s.users = part(self.users, "users")?,
        }
        if let Start::Rate(r) = s.start {
            s.start = Start::Rate(r / n);
        }
        s.rate = s.rate.map(|r| r / n);
        Ok(s)
    }
}

/// Longest run accepted (a bound on every loop).
pub const MAX_RUN_TIME: Duration = Duration::from_secs(24 * 3600);
/// Most virtual users accepted.
pub const MAX_USERS: usize = 100_000;

impl Default for LoadSettings {
    fn default() -> LoadSettings {
        LoadSettings {
            users: 10,
            start: Start::Rate(100.0),
            run_time: Duration::from_secs(10),
            rate: None,
            mix: Mix::default(),
            replay_rate: 0.0,
            thresholds: Vec::new(),
            arrival: None,
            stages: Vec::new(),
            sessions: None,
            connection: Connection::KeepAlive,
            max_transport_failures: DEFAULT_MAX_TRANSPORT_FAILURES,
            on_server_down: OnServerDown::Stop,
            max_error_rate: Some(DEFAULT_MAX_ERROR_RATE),
        }
    }
}

impl LoadSettings {
    /// Most requests in flight at once: one per user, or per iteration or
    /// session in flight (each holds a connection while it waits).
    pub fn most_in_flight(&self) -> usize {
        match (self.arrival, self.sessions) {
            (Some(a), _) => a.max_in_flight,
            (None, Some(s)) => s.count.min(s.max_in_flight),
            (None, None) => self.users,
        }
    }

    /// Reads a profile file.
    pub fn from_file(path: &Path) -> Result<LoadSettings, Diagnostic> {
        LoadSettings::from_source(&Source::read(path)?)
    }

    /// Reads a profile's text (a built-in one, a file read already).
    pub fn from_source(source: &Source) -> Result<LoadSettings, Diagnostic> {
        let p: LoadProfile = crate::yaml::parse(source)?;
        LoadSettings::default().apply(&p, Some(source))
    }

    /// `self` with the fields `p` sets; errors are located in `source` when
    /// given (a file), else name the flag.
    pub fn apply(
        mut self,
        p: &LoadProfile,
        source: Option<&Source>,
    ) -> Result<LoadSettings, Diagnostic> {
        let err = |field: &str, message: String| match source {
            Some(s) => s.error_at_path(field, message),
            None => Diagnostic::file(
                Path::new("command line"),
                format!("--{}: {message}", field.replace('_', "-")),
            ),
        };
        let duration = |field: &str, text: &str| {
            humantime::parse_duration(text)
                .map_err(|e| err(field, format!("`{text}` is not a duration ({e})")))
        };
        if let Some(u) = p.users {
            if u == 0 || u > MAX_USERS {
                return Err(err("users", format!("{u} users: give 1 to {MAX_USERS}")));
            }
            self.users = u;
        }
        if let Some(t) = &p.run_time {
            let d = duration("run_time", t)?;
            if d.is_zero() || d > MAX_RUN_TIME {
                return Err(err(
                    "run_time",
                    format!("`{t}`: give more than 0 and at most 24h"),
                ));
            }
            self.run_time = d;
        }
        match (&p.ramp, p.increase_rate) {
            (Some(_), Some(_)) => {
                return Err(err(
                    "ramp",
                    "give `ramp` or `increase_rate`, not both".into(),
                ));
            }
            (Some(r), None) => {
                let d = duration("ramp", r)?;
                if d > MAX_RUN_TIME {
                    return Err(err("ramp", format!("`{r}`: give at most 24h")));
                }
                self.start = Start::Ramp(d);
            }
            (None, Some(rate)) => {
                if !(rate > 0.0 && rate.is_finite()) {
                    return Err(err(
                        "increase_rate",
                        format!("{rate}: give users per second above 0"),
                    ));
                }
                self.start = Start::Rate(rate);
            }
            (None, None) => {}
        }
        if let Some(rate) = p.rate {
            if !(rate >= 0.0 && rate.is_finite()) {
                return Err(err(
                    "rate",
                    format!("{rate}: give requests per second, 0 for no cap"),
                ));
            }
            self.rate = (rate > 0.0).then_some(rate);
        }
        if let Some(r) = p.arrival_rate {
            if !(r > 0.0 && r.is_finite() && r <= 1_000_000.0) {
                return Err(err(
                    "arrival_rate",
                    format!("{r}: give iterations per second, above 0 and at most 1000000"),
                ));
            }
            let max_in_flight = self
                .arrival
                .map_or(DEFAULT_MAX_IN_FLIGHT, |a| a.max_in_flight);
            self.arrival = Some(Arrival {
                rate: r,
                max_in_flight,
            });
        }
        if !p.stages.is_empty() {
            if p.run_time.is_some() {
                return Err(err(
                    "stages",
                    "stages set the run time: give `stages` or `run_time`, not both".into(),
                ));
            }
            let mut stages = Vec::new();
            for (i, st) in p.stages.iter().enumerate() {
                let field = format!("stages[{i}]");
                let d = duration(&field, &st.duration)?;
                if d.is_zero() || !(st.target >= 0.0 && st.target <= 1_000_000.0) {
                    return Err(err(
                        &field,
                        format!(
                            "`{}:{}`: a duration above 0 and a rate from 0 to 1000000",
                            st.duration, st.target
                        ),
                    ));
                }
                stages.push(Stage {
                    target: st.target,
                    duration: d,
                });
            }
            let total: Duration = stages.iter().map(|s| s.duration).sum();
            if total > MAX_RUN_TIME {
                return Err(err("stages", "the stages last more than 24h".into()));
            }
            self.run_time = total;
            self.stages = stages;
            if self.arrival.is_none() {
                self.arrival = Some(Arrival {
                    rate: 0.0,
                    max_in_flight: DEFAULT_MAX_IN_FLIGHT,
                });
            }
        }
        if let Some(n) = p.sessions {
            if n == 0 || n > MAX_SESSIONS {
                return Err(err("sessions", format!("{n}: give 1 to {MAX_SESSIONS}")));
            }
            let base = self.sessions.unwrap_or(SessionsModel {
                count: n,
                refresh_before: Duration::from_secs(60),
                time_scale: 1.0,
                max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            });
            self.sessions = Some(SessionsModel { count: n, ..base });
        }
        if p.refresh_before.is_some() || p.time_scale.is_some() {
            let Some(model) = self.sessions.as_mut() else {
                let field = if p.refresh_before.is_some() {
                    "refresh_before"
                } else {
                    "time_scale"
                };
                return Err(err(
                    field,
                    "shapes the sessions model: give a number of sessions too".into(),
                ));
            };
            if let Some(t) = &p.refresh_before {
                model.refresh_before = duration("refresh_before", t)?;
            }
            if let Some(f) = p.time_scale {
                if !(f > 0.0 && f <= 1.0) {
                    return Err(err(
                        "time_scale",
                        format!("{f}: give a factor above 0 and at most 1"),
                    ));
                }
                model.time_scale = f;
            }
        }
        if self.sessions.is_some() && self.arrival.is_some() {
            return Err(err(
                "sessions",
                "give sessions or an arrival rate, not both".into(),
            ));
        }
        if let Some(m) = p.max_in_flight {
            if m == 0 || m > MAX_USERS {
                return Err(err("max_in_flight", format!("{m}: give 1 to {MAX_USERS}")));
            }
            match (&mut self.arrival, &mut self.sessions) {
                (Some(a), _) => a.max_in_flight = m,
                (None, Some(s)) => s.max_in_flight = m,
                (None, None) => {
                    return Err(err(
                        "max_in_flight",
                        "bounds the open or the sessions model: give an arrival rate or a number of sessions too".into(),
                    ));
                }
            }
        }
        if let Some(c) = p.connection {
            self.connection = c;
        }
        if let Some(m) = p.mix {
            if m.refresh + m.password == 0 {
                return Err(err("mix", "the mix needs a weight above 0".into()));
            }
            self.mix = m;
        }
        if let Some(r) = p.replay_rate {
            if !(0.0..=1.0).contains(&r) {
                return Err(err(
                    "replay_rate",
                    format!("{r}: give a fraction from 0 to 1"),
                ));
            }
            self.replay_rate = r;
        }
        for (i, t) in p.thresholds.iter().enumerate() {
            let parsed = t
                .parse::<Threshold>()
                .map_err(|e| err(&format!("thresholds[{i}]"), e.to_string()))?;
            self.thresholds.push(parsed);
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests;
