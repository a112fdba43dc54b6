//! `tokenprobe load`: flags become a [`LoadPlan`] (clap parses every value
//! into its type), a target is loaded (a file, `--mock PROFILE`, or the
//! embedded mock), and [`crate::load::run::run`] does the rest; this file
//! prints what it returns and picks nothing but the exit code it names.

use super::CliError;
use super::mockenv::MockKnobs;
use crate::load::plan::{self, LoadPlan, PerSecond, Share, StartAt};
use crate::load::profile::{LoadProfile, LoadSettings, Mix, Shard};
use crate::load::result::LoadReport;
use crate::load::run;
use crate::mock::Profile;
use crate::report::load::Output;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    /// Target file; without it (and without --mock) the embedded strict mock.
    #[arg(long, help_heading = "Target")]
    pub target: Option<PathBuf>,
    /// Load an in-process mock of this profile.
    #[arg(long, value_parser = super::parse_profile_arg, value_name = "PROFILE", help_heading = "Target")]
    pub mock: Option<Profile>,
    /// Allow a target that is not on loopback (load only your own servers).
    #[arg(long, help_heading = "Target")]
    pub allow_remote: bool,
    /// Accept any TLS certificate.
    #[arg(short = 'k', long, help_heading = "Target")]
    pub insecure: bool,
    /// Trust only these CA certificates (PEM).
    #[arg(long, help_heading = "Target")]
    pub cacert: Option<PathBuf>,
    #[command(flatten, next_help_heading = "Mock (with --mock or no target)")]
    pub knobs: MockKnobs,

    /// A load profile: a built-in one by name (ci-gate, refresh-storm,
    /// login-and-refresh) or a file (scenarios/load/*.yaml); flags override it.
    #[arg(long, value_name = "NAME|FILE", help_heading = "Workload")]
    pub profile: Option<PathBuf>,
    /// Virtual users (default: the profile's, else 10).
    #[arg(long, help_heading = "Workload")]
    pub users: Option<usize>,
    /// Time over which all users start (`30s`).
    #[arg(long, conflicts_with = "increase_rate", value_parser = humantime::parse_duration, help_heading = "Workload")]
    pub ramp: Option<Duration>,
    /// Users started per second.
    #[arg(long, help_heading = "Workload")]
    pub increase_rate: Option<f64>,
    /// `60s`, `5m`: once every user has started (the ramp comes first), or
    /// in all with --arrival-rate.
    #[arg(long, value_parser = humantime::parse_duration, help_heading = "Workload")]
    pub run_time: Option<Duration>,
    /// At most this many requests per second over all users (`500` or `500/s`).
    #[arg(long, help_heading = "Workload")]
    pub rate: Option<PerSecond>,
    /// Open model: start this many iterations a second whatever the server
    /// does (`200` or `200/s`); latency is also measured from when each was
    /// due, and iterations that cannot start are counted as dropped.
    #[arg(long, value_name = "RATE", help_heading = "Workload")]
    pub arrival_rate: Option<PerSecond>,
    /// Open model: a stage ramping the arrival rate linearly to RATE over
    /// DURATION (`30s:200`, repeatable; the stages set the run time).
    #[arg(long, value_name = "DURATION:RATE", help_heading = "Workload")]
    pub stage: Vec<crate::load::profile::StageDoc>,
    /// Open or sessions model: most iterations (refreshes) running at once
    /// (default 100).
    #[arg(long, value_name = "N", help_heading = "Workload")]
    pub max_in_flight: Option<usize>,
    /// Sessions model: hold N token families, each refreshing when its
    /// access token nears expiry (see --refresh-before, --time-scale).
    #[arg(
        long,
        value_name = "N",
        conflicts_with = "arrival_rate",
        help_heading = "Workload"
    )]
    pub sessions: Option<usize>,
    /// Sessions model: refresh when this much of the access token's life is
    /// left (default 60s).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, help_heading = "Workload")]
    pub refresh_before: Option<Duration>,
    /// Sessions model: scale the server's lifetimes by this factor for short
    /// runs (0.01: a 3600 s token is refreshed after 35.4 s with the default
    /// --refresh-before).
    #[arg(long, value_name = "FACTOR", help_heading = "Workload")]
    pub time_scale: Option<f64>,
    /// keep-alive (default) or per-request (a new connection for each
    /// request, as many real clients do).
    #[arg(long, value_name = "MODE", help_heading = "Workload")]
    pub connection: Option<crate::load::profile::Connection>,
    /// `refresh=9,password=1`.
    #[arg(long, help_heading = "Workload")]
    pub mix: Option<Mix>,
    /// Fraction of refreshes followed by a replay of the rotated token.
    #[arg(long, help_heading = "Workload")]
    pub replay_rate: Option<f64>,
    /// Runtimes (threads), each with a share of the users.
    #[arg(long, default_value_t = 1, help_heading = "Workload")]
    pub threads: usize,

    /// Log in as the accounts of this CSV file (`username,password` per
    /// line), spread over the users, chains or sessions, instead of the
    /// target's primary user alone.
    #[arg(long, value_name = "CSV", help_heading = "Sessions")]
    pub users_file: Option<PathBuf>,
    /// Start each session from a refresh token of this file (one per line,
    /// issued elsewhere: a browser, SSO or MFA login), with no login
    /// traffic at all; a session whose chain breaks takes the next token.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "users_file",
        help_heading = "Sessions"
    )]
    pub tokens_file: Option<PathBuf>,

    /// `p99<250ms`, `error_rate<0.1%`, `rps>1000`, `replay_accepted==0` (repeatable).
    #[arg(long, help_heading = "Verdict")]
    pub threshold: Vec<String>,
    /// Fail the run (exit 5) when more than this share of requests fail,
    /// thresholds or not: `5%` (the default), `0.01`, `100%` for no such gate.
    /// An `error_rate` threshold of your own replaces it.
    #[arg(long, value_name = "RATE", help_heading = "Verdict")]
    pub max_error_rate: Option<Share>,
    /// Requests in a row, over all users, without an answer (refused
    /// connects, resets, timeouts) before the run stops and exits 3 (default 20).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), help_heading = "Verdict")]
    pub max_transport_failures: Option<u32>,
    /// When the server stops answering: `stop` after
    /// --max-transport-failures (exit 3), or `wait`: back off exponentially
    /// (up to a second) and ride the outage out.
    #[arg(long, value_enum, value_name = "stop|wait", help_heading = "Verdict")]
    pub on_server_down: Option<crate::load::profile::OnServerDown>,
    /// An earlier JSON report to compare with.
    #[arg(long, value_name = "FILE", help_heading = "Verdict")]
    pub baseline: Option<PathBuf>,
    /// Relative change beyond which a difference from the baseline is a regression.
    #[arg(long, default_value_t = 0.1, help_heading = "Verdict")]
    pub baseline_tolerance: f64,

    /// FORMAT=PATH: json, markdown, html, har (the first failures as an HTTP Archive); default reports/load/{report.json,summary.md,report.html}.
    #[arg(long, help_heading = "Output")]
    pub report: Vec<Output>,
    /// Serve live metrics (OpenMetrics text at http://ADDR/metrics) during
    /// the run, e.g. 127.0.0.1:9464 (port 0: any free port, printed).
    #[arg(long, value_name = "ADDR", help_heading = "Output")]
    pub metrics_listen: Option<std::net::SocketAddr>,

    /// Run shard INDEX of COUNT (`0/4`): its part of the users, sessions
    /// and rates, and its slice of --users-file; `report merge` adds the
    /// shards' reports up.
    #[arg(
        long,
        value_name = "I/N",
        conflicts_with = "shards",
        help_heading = "Distributed"
    )]
    pub shard: Option<Shard>,
    /// Run one of N shards, its index read from JOB_COMPLETION_INDEX (a
    /// Kubernetes Indexed Job).
    #[arg(long, value_name = "N", help_heading = "Distributed")]
    pub shards: Option<usize>,
    /// Start the traffic at this time (RFC 3339, e.g. 2026-12-01T10:00:00Z),
    /// so that every shard starts together; the preflight runs before.
    #[arg(long, value_name = "TIME", help_heading = "Distributed")]
    pub start_at: Option<StartAt>,
}

impl LoadArgs {
    /// The settings the profile and the flags make (a flag wins).
    fn settings(&self) -> Result<LoadSettings, CliError> {
        let mut base = match &self.profile {
            Some(p) => plan::profile_settings(p)?,
            None => LoadSettings::default(),
        };
        if let Some(n) = self.max_transport_failures {
            base.max_transport_failures = n;
        }
        if let Some(policy) = self.on_server_down {
            base.on_server_down = policy;
        }
        if let Some(Share(v)) = self.max_error_rate {
            base.max_error_rate = (v < 1.0).then_some(v);
        }
        let text = |d: Option<Duration>| d.map(|d| humantime::format_duration(d).to_string());
        let flags = LoadProfile {
            description: None,
            users: self.users,
            ramp: text(self.ramp),
            increase_rate: self.increase_rate,
            run_time: text(self.run_time),
            rate: self.rate.map(|r| r.0),
            mix: self.mix,
            replay_rate: self.replay_rate,
            thresholds: self.threshold.clone(),
            arrival_rate: self.arrival_rate.map(|r| r.0),
            stages: self.stage.clone(),
            max_in_flight: self.max_in_flight,
            sessions: self.sessions,
            refresh_before: text(self.refresh_before),
            time_scale: self.time_scale,
            connection: self.connection,
        };
        // A ramp given as a flag replaces the profile's increase_rate and
        // the other way round (the last one given is the one kept).
        Ok(base.apply(&flags, None)?)
    }

    /// The run these flags ask for, every file read.
    fn plan(&self) -> Result<LoadPlan, CliError> {
        let shard = match (self.shard, self.shards) {
            (Some(s), _) => Some(s),
            (None, Some(n)) => Some(plan::shard_from_env(n)?),
            (None, None) => None,
        };
        let mut plan = LoadPlan::new(self.settings()?, shard, self.threads)?;
        if let Some(path) = &self.users_file {
            plan = plan.with_users_file(path)?;
        }
        if let Some(path) = &self.tokens_file {
            plan = plan.with_tokens_file(path)?;
        }
        if let Some(path) = &self.baseline {
            plan = plan.with_baseline(path, self.baseline_tolerance)?;
        }
        plan.start_at = self.start_at.clone();
        plan.metrics_listen = self.metrics_listen;
        plan.allow_remote = self.allow_remote;
        plan.insecure = self.insecure;
        plan.cacert = self.cacert.clone();
        Ok(plan)
    }
}

pub fn load(args: LoadArgs) -> i32 {
    crate::interrupt::install();
    let plan = match args.plan() {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    if args.knobs.any() && args.mock.is_none() && args.target.is_some() {
        return fail(CliError::Input(
            "mock flags (--fault, --rotation, --config, --tls…) need --mock PROFILE".into(),
        ));
    }
    // The mock (when there is one) runs on its own multi-thread runtime;
    // the load runs on current-thread runtimes of its own.
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(CliError::Internal(format!("cannot start a runtime: {e}"))),
    };
    let (target, mock) = match &args.target {
        Some(path) if args.mock.is_none() => match crate::target::Target::load(path) {
            Ok(t) => (t, None),
            Err(d) => return fail(d.into()),
        },
        path => match rt.block_on(super::start_mock(args.mock, &args.knobs, path.as_deref())) {
            Ok(s) => (s.target, Some(s.server)),
            Err(code) => return code,
        },
    };
    let observer = crate::report::load::terminal::Stderr::new();
    let finished = run::run(plan, target, &rt, &observer);
    if let Some(m) = mock {
        rt.block_on(m.shutdown());
    }
    let finished = match finished {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let outputs = Output::or_defaults(&args.report, Path::new("reports/load"));
    match show_and_write(&finished.report, &outputs) {
        Ok(()) => finished.outcome.exit_code(),
        Err(code) => code,
    }
}

/// Prints `e` once and returns its exit code.
pub(super) fn fail(e: CliError) -> i32 {
    eprintln!("{e}");
    e.exit_code()
}

/// The terminal summary, then every report (an `Err` holds the exit code
/// of one that could not be written).
pub(super) fn show_and_write(doc: &LoadReport, outputs: &[Output]) -> Result<(), i32> {
    print!("{}", crate::report::load::terminal::summary(doc));
    for output in outputs {
        output.write(doc).map_err(fail)?;
        eprintln!("report: {}", output.path.display());
    }
    Ok(())
}
