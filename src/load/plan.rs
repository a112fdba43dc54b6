//! What a load run is asked to do, as a caller (the command line, a test)
//! hands it over: the settings of the whole run and of this shard, the
//! accounts or refresh tokens to start sessions from, the baseline to
//! compare with, and the run's limits. Everything that reads a file or
//! can be refused is done here, before anything is sent.
//!
//! The typed values of the command line's flags live here too
//! ([`PerSecond`], [`Share`], [`StartAt`]), so that clap rejects a bad one
//! with the flag's name before the run starts.

use super::profile::{LoadSettings, OnServerDown, Shard};
use super::result::{LoadReport, SettingsDoc};
use crate::error::{BadValue, Error};
use crate::secret::Secret;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A load run, ready to start: built by [`LoadPlan::new`] and its `with_`
/// methods, run by [`super::run::run`].
pub struct LoadPlan {
    /// The whole run's settings (what reports record).
    pub whole: LoadSettings,
    /// This shard's part of them (the whole when there are no shards).
    pub settings: LoadSettings,
    pub shard: Option<Shard>,
    /// Runtimes (OS threads), each with a share of the users.
    pub threads: usize,
    pub start_at: Option<StartAt>,
    /// This shard's accounts (`--users-file`), and how many the file holds.
    pub accounts: Vec<(String, Secret)>,
    pub accounts_total: usize,
    /// Refresh tokens issued elsewhere (`--tokens-file`): no login at all.
    pub tokens: Option<Vec<Secret>>,
    /// An earlier report to compare with, its path, and the tolerance.
    pub baseline: Option<(PathBuf, LoadReport, f64)>,
    pub metrics_listen: Option<SocketAddr>,
    /// Load a target that is not on loopback.
    pub allow_remote: bool,
    pub insecure: bool,
    pub cacert: Option<PathBuf>,
}

impl LoadPlan {
    /// The plan for `whole` (run as `shard` of it when given).
    pub fn new(whole: LoadSettings, shard: Option<Shard>, threads: usize) -> Result<Self, Error> {
        let settings = match shard {
            Some(sh) => whole
                .for_shard(sh)
                .map_err(|e| Error::Input(e.to_string()))?,
            None => whole.clone(),
        };
        Ok(LoadPlan {
            whole,
            settings,
            shard,
            threads: threads.clamp(1, 64),
            start_at: None,
            accounts: Vec::new(),
            accounts_total: 1,
            tokens: None,
            baseline: None,
            metrics_listen: None,
            allow_remote: false,
            insecure: false,
            cacert: None,
        })
    }

    /// Users log in as the accounts of this CSV file (this shard's slice).
    pub fn with_users_file(mut self, path: &Path) -> Result<Self, Error> {
        let all = super::accounts::read(path)?;
        self.accounts_total = all.len();
        self.accounts = match self.shard {
            Some(sh) => {
                let slice = sh.slice(all.len());
                if slice.is_empty() {
                    return Err(Error::Input(format!(
                        "{}: {} accounts for {} shards: shard {} would have none",
                        path.display(),
                        all.len(),
                        sh.count,
                        sh.index
                    )));
                }
                all[slice].to_vec()
            }
            None => all,
        };
        Ok(self)
    }

    /// Sessions start from the refresh tokens of this file (this shard's
    /// slice), with no login traffic.
    pub fn with_tokens_file(mut self, path: &Path) -> Result<Self, Error> {
        let all = super::accounts::read_tokens(path)?;
        let mine = match self.shard {
            Some(sh) => all[sh.slice(all.len())].to_vec(),
            None => all,
        };
        if mine.is_empty() {
            return Err(Error::Input(format!(
                "{}: too few tokens for the shards: this shard would have none",
                path.display()
            )));
        }
        self.tokens = Some(mine);
        Ok(self)
    }

    /// Compare the run with an earlier JSON report.
    pub fn with_baseline(mut self, path: &Path, tolerance: f64) -> Result<Self, Error> {
        let doc = std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            .map_err(|e| Error::Input(format!("baseline {}: {e}", path.display())))?;
        self.baseline = Some((path.to_path_buf(), doc, tolerance));
        Ok(self)
    }

    /// Connections the run holds at once: one per user, or per iteration
    /// or session in flight.
    pub fn connections(&self) -> usize {
        self.settings.most_in_flight()
    }

    /// The model in words, for the run's first line.
    pub fn describe(&self) -> String {
        let s = &self.settings;
        match (s.arrival, s.sessions) {
            (Some(a), _) if !s.stages.is_empty() => format!(
                "iterations from {}/s through stages {} (at most {} in flight)",
                a.rate,
                stages(s).join(" "),
                a.max_in_flight
            ),
            (Some(a), _) => format!(
                "{} iterations/s (at most {} in flight)",
                a.rate, a.max_in_flight
            ),
            (None, Some(m)) => format!(
                "{} sessions refreshing {} before expiry{} (at most {} in flight)",
                m.count,
                humantime::format_duration(m.refresh_before),
                if m.time_scale < 1.0 {
                    format!(", lifetimes scaled by {}", m.time_scale)
                } else {
                    String::new()
                },
                m.max_in_flight
            ),
            (None, None) => format!("{} users", s.users),
        }
    }

    /// The whole run's settings as reports record them (a shard records
    /// the whole's, and its identity beside them).
    pub fn settings_doc(&self) -> SettingsDoc {
        let s = &self.whole;
        SettingsDoc {
            model: match (s.arrival, s.sessions) {
                (Some(_), _) => "open",
                (None, Some(_)) => "sessions",
                (None, None) => "closed",
            }
            .into(),
            arrival_rate: s.arrival.map(|a| a.rate),
            stages: stages(s),
            max_in_flight: s
                .arrival
                .map(|a| a.max_in_flight)
                .or(s.sessions.map(|m| m.max_in_flight)),
            sessions: s.sessions.map(|m| m.count),
            refresh_before_s: s.sessions.map(|m| m.refresh_before.as_secs_f64()),
            time_scale: s.sessions.map(|m| m.time_scale),
            connection: s.connection.as_str().into(),
            accounts: self.accounts_total,
            users: s.users,
            increase_rate: s.increase_rate(),
            run_time_s: s.run_time.as_secs_f64(),
            rate: s.rate,
            mix_refresh: s.mix.refresh,
            mix_password: s.mix.password,
            replay_rate: s.replay_rate,
            threads: self.threads,
            thresholds: s.thresholds.iter().map(|t| t.text.clone()).collect(),
            max_error_rate: s.max_error_rate,
            max_transport_failures: Some(s.max_transport_failures),
            on_server_down: Some(
                match s.on_server_down {
                    OnServerDown::Stop => "stop",
                    OnServerDown::Wait => "wait",
                }
                .into(),
            ),
        }
    }
}

fn stages(s: &LoadSettings) -> Vec<String> {
    s.stages
        .iter()
        .map(|st| format!("{}:{}", humantime::format_duration(st.duration), st.target))
        .collect()
}

/// `--profile NAME|FILE`: a file when one is there, else a built-in
/// profile of that name (so that `--profile ci-gate` works from any folder).
pub fn profile_settings(p: &Path) -> Result<LoadSettings, Error> {
    if p.exists() {
        return Ok(LoadSettings::from_file(p)?);
    }
    let wanted = p.to_string_lossy();
    let wanted = wanted
        .trim_start_matches("scenarios/load/")
        .trim_end_matches(".yaml")
        .trim_end_matches(".yml");
    let builtin: Vec<_> = crate::scenario::builtin_load_profiles().collect();
    match builtin.iter().find(|(name, ..)| *name == wanted) {
        Some((_, path, text)) => {
            let source = crate::yaml::Source::from_str(Path::new(path), text)?;
            Ok(LoadSettings::from_source(&source)?)
        }
        None => {
            let names: Vec<&str> = builtin.iter().map(|(n, ..)| *n).collect();
            let hint = crate::diag::did_you_mean(wanted, names.iter().copied())
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            Err(Error::Input(format!(
                "--profile {}: no such file, and no built-in profile of that name{hint}; the built-in ones: {}",
                p.display(),
                names.join(", ")
            )))
        }
    }
}

/// The shard of `count` this process runs, its index read from
/// `JOB_COMPLETION_INDEX` (a Kubernetes Indexed Job sets it).
pub fn shard_from_env(count: usize) -> Result<Shard, Error> {
    let index = std::env::var("JOB_COMPLETION_INDEX").map_err(|_| {
        Error::Input(format!(
            "--shards {count}: JOB_COMPLETION_INDEX is not set (a Kubernetes Indexed Job sets it; else give --shard I/{count})"
        ))
    })?;
    let index: usize = index.trim().parse().map_err(|_| {
        Error::Input(format!(
            "JOB_COMPLETION_INDEX `{index}` is not a shard index"
        ))
    })?;
    Shard::new(index, count).map_err(|e| Error::Input(e.to_string()))
}

/// A rate: `500` or `500/s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerSecond(pub f64);

impl std::str::FromStr for PerSecond {
    type Err = BadValue;
    fn from_str(s: &str) -> Result<Self, BadValue> {
        match s.trim().trim_end_matches("/s").trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => Ok(PerSecond(v)),
            _ => Err(BadValue::new(
                s,
                "give a number per second above 0, e.g. 500 or 500/s",
            )),
        }
    }
}

/// A share of requests: `5%` or `0.05`, from 0 to 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Share(pub f64);

impl std::str::FromStr for Share {
    type Err = BadValue;
    fn from_str(s: &str) -> Result<Self, BadValue> {
        let v = match s.trim().strip_suffix('%') {
            Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
            None => s.trim().parse::<f64>(),
        }
        .map_err(|_| BadValue::new(s, "give a share of requests, e.g. 5% or 0.05"))?;
        if !(0.0..=1.0).contains(&v) {
            return Err(BadValue::new(s, "give a share between 0% and 100%"));
        }
        Ok(Share(v))
    }
}

/// `--start-at`: when the traffic starts (RFC 3339, at most a day ahead),
/// and the text it was given as.
#[derive(Debug, Clone, PartialEq)]
pub struct StartAt {
    pub at: time::OffsetDateTime,
    pub text: String,
}

impl std::str::FromStr for StartAt {
    type Err = BadValue;
    fn from_str(text: &str) -> Result<Self, BadValue> {
        let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .map_err(|e| BadValue::new(text, format!("not an RFC 3339 time ({e})")))?;
        if at - time::OffsetDateTime::now_utc() > time::Duration::days(1) {
            return Err(BadValue::new(text, "more than a day ahead"));
        }
        Ok(StartAt {
            at,
            text: text.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_values_parse_or_say_what_to_give() {
        assert_eq!("500/s".parse::<PerSecond>(), Ok(PerSecond(500.0)));
        assert_eq!(" 20 ".parse::<PerSecond>(), Ok(PerSecond(20.0)));
        assert!("fast".parse::<PerSecond>().unwrap_err().contains("500/s"));
        assert!("0".parse::<PerSecond>().is_err());
        assert_eq!("5%".parse::<Share>(), Ok(Share(0.05)));
        assert_eq!("0.25".parse::<Share>(), Ok(Share(0.25)));
        assert!("120%".parse::<Share>().unwrap_err().contains("between"));
        assert!("2026-13-01T00:00:00Z".parse::<StartAt>().is_err());
        let far = (time::OffsetDateTime::now_utc() + time::Duration::days(3))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        assert!(far.parse::<StartAt>().unwrap_err().contains("a day"));
    }

    #[test]
    fn a_shard_without_accounts_is_refused_before_the_run() {
        let dir = std::env::temp_dir().join(format!("tp-plan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let csv = dir.join("users.csv");
        std::fs::write(&csv, "alice,pw-a\n").unwrap();
        let settings = LoadSettings {
            users: 4,
            ..LoadSettings::default()
        };
        let shard = Shard::new(1, 2).unwrap();
        let e = LoadPlan::new(settings.clone(), Some(shard), 1)
            .unwrap()
            .with_users_file(&csv)
            .err()
            .expect("shard 1 of 2 over one account");
        assert!(e.to_string().contains("would have none"), "{e}");
        assert_eq!(e.exit_code(), crate::exit::INVALID_INPUT);
        let plan = LoadPlan::new(settings, None, 1)
            .unwrap()
            .with_users_file(&csv)
            .unwrap();
        assert_eq!((plan.accounts.len(), plan.accounts_total), (1, 1));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
