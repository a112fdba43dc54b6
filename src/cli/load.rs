//! `tokenprobe load`: flags and a load profile become [`LoadSettings`]; a
//! target (file, `--mock PROFILE`, or the embedded mock) is loaded; the
//! engine runs; reports are written and thresholds decide the exit code.

use super::CliError;
use super::mockenv::MockKnobs;
use crate::exit;
use crate::load::engine;
use crate::load::profile::{LoadProfile, LoadSettings, Mix, Shard};
use crate::load::report::{self, LoadReport, RunInfo, SettingsDoc};
use crate::load::vu::Shared;
use crate::mock::Profile;
use crate::target::Target;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    /// Target file; without it (and without --mock) the embedded strict mock.
    #[arg(long)]
    pub target: Option<PathBuf>,
    /// Load an in-process mock of this profile.
    #[arg(long, value_parser = super::parse_profile_arg, value_name = "PROFILE")]
    pub mock: Option<Profile>,
    #[command(flatten)]
    pub knobs: MockKnobs,
    /// A load profile: a built-in one by name (ci-gate, refresh-storm,
    /// login-and-refresh) or a file (scenarios/load/*.yaml); flags override it.
    #[arg(long, value_name = "NAME|FILE")]
    pub profile: Option<PathBuf>,
    /// Virtual users (default: the profile's, else 10).
    #[arg(long)]
    pub users: Option<usize>,
    /// Time over which all users start (`30s`).
    #[arg(long, conflicts_with = "increase_rate")]
    pub ramp: Option<String>,
    /// Users started per second.
    #[arg(long)]
    pub increase_rate: Option<f64>,
    /// `60s`, `5m`: once every user has started (the ramp comes first), or
    /// in all with --arrival-rate.
    #[arg(long)]
    pub run_time: Option<String>,
    /// At most this many requests per second over all users (`500` or `500/s`).
    #[arg(long)]
    pub rate: Option<String>,
    /// Open model: start this many iterations a second whatever the server
    /// does (`200` or `200/s`); latency is also measured from when each was
    /// due, and iterations that cannot start are counted as dropped.
    #[arg(long, value_name = "RATE")]
    pub arrival_rate: Option<String>,
    /// Open model: a stage ramping the arrival rate linearly to RATE over
    /// DURATION (`30s:200`, repeatable; the stages set the run time).
    #[arg(long, value_name = "DURATION:RATE")]
    pub stage: Vec<crate::load::profile::StageDoc>,
    /// Open or sessions model: most iterations (refreshes) running at once
    /// (default 100).
    #[arg(long, value_name = "N")]
    pub max_in_flight: Option<usize>,
    /// Sessions model: hold N token families, each refreshing when its
    /// access token nears expiry (see --refresh-before, --time-scale).
    #[arg(long, value_name = "N", conflicts_with = "arrival_rate")]
    pub sessions: Option<usize>,
    /// Sessions model: refresh when this much of the access token's life is
    /// left (default 60s).
    #[arg(long, value_name = "DURATION")]
    pub refresh_before: Option<String>,
    /// Sessions model: scale the server's lifetimes by this factor for short
    /// runs (0.01: a 3600 s token is refreshed after 35.4 s with the default
    /// --refresh-before).
    #[arg(long, value_name = "FACTOR")]
    pub time_scale: Option<f64>,
    /// keep-alive (default) or per-request (a new connection for each
    /// request, as many real clients do).
    #[arg(long, value_name = "MODE")]
    pub connection: Option<crate::load::profile::Connection>,
    /// Log in as the accounts of this CSV file (`username,password` per
    /// line), spread over the users, chains or sessions, instead of the
    /// target's primary user alone.
    #[arg(long, value_name = "CSV")]
    pub users_file: Option<PathBuf>,
    /// Start each session from a refresh token of this file (one per line,
    /// issued elsewhere: a browser, SSO or MFA login), with no login
    /// traffic at all; a session whose chain breaks takes the next token.
    #[arg(long, value_name = "FILE", conflicts_with = "users_file")]
    pub tokens_file: Option<PathBuf>,
    /// `refresh=9,password=1`.
    #[arg(long)]
    pub mix: Option<Mix>,
    /// Fraction of refreshes followed by a replay of the rotated token.
    #[arg(long)]
    pub replay_rate: Option<f64>,
    /// `p99<250ms`, `error_rate<0.1%`, `rps>1000`, `replay_accepted==0` (repeatable).
    #[arg(long)]
    pub threshold: Vec<String>,
    /// Requests in a row, over all users, without an answer (refused
    /// connects, resets, timeouts) before the run stops and exits 3 (default 20).
    #[arg(long, value_name = "N")]
    pub max_transport_failures: Option<u32>,
    /// When the server stops answering: `stop` after
    /// --max-transport-failures (exit 3), or `wait`: back off exponentially
    /// (up to a second) and ride the outage out.
    #[arg(long, value_enum, value_name = "stop|wait")]
    pub on_server_down: Option<crate::load::profile::OnServerDown>,
    /// Fail the run (exit 5) when more than this share of requests fail,
    /// thresholds or not: `5%` (the default), `0.01`, `100%` for no such gate.
    /// An `error_rate` threshold of your own replaces it.
    #[arg(long, value_name = "RATE")]
    pub max_error_rate: Option<String>,
    /// An earlier JSON report to compare with.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Relative change beyond which a difference from the baseline is a regression.
    #[arg(long, default_value_t = 0.1)]
    pub baseline_tolerance: f64,
    /// FORMAT=PATH: json, markdown, html; default reports/load/{report.json,summary.md,report.html}.
    #[arg(long)]
    pub report: Vec<String>,
    /// Serve live metrics (OpenMetrics text at http://ADDR/metrics) during
    /// the run, e.g. 127.0.0.1:9464 (port 0: any free port, printed).
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Run shard INDEX of COUNT (`0/4`): its part of the users, sessions
    /// and rates, and its slice of --users-file; `report merge` adds the
    /// shards' reports up.
    #[arg(long, value_name = "I/N", conflicts_with = "shards")]
    pub shard: Option<crate::load::profile::Shard>,
    /// Run one of N shards, its index read from JOB_COMPLETION_INDEX (a
    /// Kubernetes Indexed Job).
    #[arg(long, value_name = "N")]
    pub shards: Option<usize>,
    /// Start the traffic at this time (RFC 3339, e.g. 2026-12-01T10:00:00Z),
    /// so that every shard starts together; the preflight runs before.
    #[arg(long, value_name = "TIME")]
    pub start_at: Option<String>,
    /// Runtimes (threads), each with a share of the users.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Allow a target that is not on loopback (load only your own servers).
    #[arg(long)]
    pub allow_remote: bool,
    /// Accept any TLS certificate.
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// Trust only these CA certificates (PEM).
    #[arg(long)]
    pub cacert: Option<PathBuf>,
}

enum Format {
    Json,
    Markdown,
    Html,
}

fn outputs(args: &[String]) -> Result<Vec<(Format, PathBuf)>, String> {
    outputs_in(args, "reports/load")
}

fn outputs_in(args: &[String], default_dir: &str) -> Result<Vec<(Format, PathBuf)>, String> {
    if args.is_empty() {
        let dir = PathBuf::from(default_dir);
        return Ok(vec![
            (Format::Json, dir.join("report.json")),
            (Format::Markdown, dir.join("summary.md")),
            (Format::Html, dir.join("report.html")),
        ]);
    }
    args.iter()
        .map(|a| {
            let (f, p) = a
                .split_once('=')
                .filter(|(_, p)| !p.is_empty())
                .ok_or_else(|| format!("--report {a}: write FORMAT=PATH (json, markdown, html)"))?;
            let f = match f {
                "json" => Format::Json,
                "markdown" | "md" => Format::Markdown,
                "html" => Format::Html,
                other => {
                    return Err(format!(
                        "--report {a}: unknown format `{other}` (json, markdown, html)"
                    ));
                }
            };
            Ok((f, PathBuf::from(p)))
        })
        .collect()
}

/// `--profile NAME|FILE`: a file when one is there, else a built-in
/// profile of that name (so that `--profile ci-gate` works from any folder).
fn profile_settings(p: &std::path::Path) -> Result<LoadSettings, CliError> {
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
            let source = crate::yaml::Source::from_str(std::path::Path::new(path), text)?;
            Ok(LoadSettings::from_source(&source)?)
        }
        None => {
            let names: Vec<&str> = builtin.iter().map(|(n, ..)| *n).collect();
            let hint = crate::diag::did_you_mean(wanted, names.iter().copied())
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            Err(CliError::Message(format!(
                "--profile {}: no such file, and no built-in profile of that name{hint}; the built-in ones: {}",
                p.display(),
                names.join(", ")
            )))
        }
    }
}

/// `5%`, `0.05`: a fraction.
fn fraction(flag: &str, text: &str) -> Result<f64, String> {
    let v = match text.trim().strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => text.trim().parse::<f64>(),
    }
    .map_err(|_| format!("{flag} {text}: give a share of requests, e.g. 5% or 0.05"))?;
    if !(0.0..=1.0).contains(&v) {
        return Err(format!("{flag} {text}: between 0% and 100%"));
    }
    Ok(v)
}

fn settings(args: &LoadArgs) -> Result<LoadSettings, CliError> {
    let mut base = match &args.profile {
        Some(p) => profile_settings(p)?,
        None => LoadSettings::default(),
    };
    if let Some(n) = args.max_transport_failures {
        if n == 0 {
            return Err(CliError::Message(
                "--max-transport-failures 0: give 1 or more (or --on-server-down wait)".into(),
            ));
        }
        base.max_transport_failures = n;
    }
    if let Some(policy) = args.on_server_down {
        base.on_server_down = policy;
    }
    if let Some(rate) = &args.max_error_rate {
        let v = fraction("--max-error-rate", rate)?;
        base.max_error_rate = (v < 1.0).then_some(v);
    }
    let per_second = |flag: &str, r: &Option<String>| match r {
        Some(r) => r
            .trim_end_matches("/s")
            .trim()
            .parse::<f64>()
            .map(Some)
            .map_err(|_| format!("{flag} {r}: give a number per second, e.g. 500 or 500/s")),
        None => Ok(None),
    };
    let rate = per_second("--rate", &args.rate)?;
    let arrival_rate = per_second("--arrival-rate", &args.arrival_rate)?;
    let flags = LoadProfile {
        description: None,
        users: args.users,
        ramp: args.ramp.clone(),
        increase_rate: args.increase_rate,
        run_time: args.run_time.clone(),
        rate,
        mix: args.mix,
        replay_rate: args.replay_rate,
        thresholds: args.threshold.clone(),
        arrival_rate,
        stages: args.stage.clone(),
        max_in_flight: args.max_in_flight,
        sessions: args.sessions,
        refresh_before: args.refresh_before.clone(),
        time_scale: args.time_scale,
        connection: args.connection,
    };
    // A ramp given as a flag replaces the profile's increase_rate and the
    // other way round (the last one given is the one kept).
    Ok(base.apply(&flags, None)?)
}

/// Load traffic goes to loopback only, unless the user says otherwise.
fn loopback_only(target: &Target, allow_remote: bool) -> Result<(), String> {
    let Some(url) = &target.token_endpoint else {
        return Err("the target has no token endpoint".into());
    };
    let local = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    if local || allow_remote {
        Ok(())
    } else {
        Err(format!(
            "{url} is not on loopback: load only servers you run; pass --allow-remote if this one is yours"
        ))
    }
}

/// The whole run's settings as reports record them (a shard records the
/// whole's, and its identity beside them).
fn settings_doc(s: &LoadSettings, threads: usize, accounts: usize) -> SettingsDoc {
    SettingsDoc {
        model: match (s.arrival, s.sessions) {
            (Some(_), _) => "open",
            (None, Some(_)) => "sessions",
            (None, None) => "closed",
        }
        .into(),
        arrival_rate: s.arrival.map(|a| a.rate),
        stages: s
            .stages
            .iter()
            .map(|st| format!("{}:{}", humantime::format_duration(st.duration), st.target))
            .collect(),
        max_in_flight: s
            .arrival
            .map(|a| a.max_in_flight)
            .or(s.sessions.map(|m| m.max_in_flight)),
        sessions: s.sessions.map(|m| m.count),
        refresh_before_s: s.sessions.map(|m| m.refresh_before.as_secs_f64()),
        time_scale: s.sessions.map(|m| m.time_scale),
        connection: s.connection.as_str().into(),
        accounts,
        users: s.users,
        increase_rate: s.increase_rate(),
        run_time_s: s.run_time.as_secs_f64(),
        rate: s.rate,
        mix_refresh: s.mix.refresh,
        mix_password: s.mix.password,
        replay_rate: s.replay_rate,
        threads,
        thresholds: s.thresholds.iter().map(|t| t.text.clone()).collect(),
        max_error_rate: s.max_error_rate,
        max_transport_failures: Some(s.max_transport_failures),
        on_server_down: Some(
            match s.on_server_down {
                crate::load::profile::OnServerDown::Stop => "stop",
                crate::load::profile::OnServerDown::Wait => "wait",
            }
            .into(),
        ),
    }
}

/// The shard this process runs, from `--shard` or `--shards` and
/// `JOB_COMPLETION_INDEX`.
fn shard_of(args: &LoadArgs) -> Result<Option<Shard>, String> {
    match (args.shard, args.shards) {
        (Some(s), _) => Ok(Some(s)),
        (None, Some(n)) => {
            let index = std::env::var("JOB_COMPLETION_INDEX").map_err(|_| {
                format!("--shards {n}: JOB_COMPLETION_INDEX is not set (a Kubernetes Indexed Job sets it; else give --shard I/{n})")
            })?;
            let index: usize = index
                .trim()
                .parse()
                .map_err(|_| format!("JOB_COMPLETION_INDEX `{index}` is not a shard index"))?;
            Shard::new(index, n).map(Some)
        }
        (None, None) => Ok(None),
    }
}

/// `--start-at`: when the traffic starts (at most a day ahead).
fn start_at(text: &str) -> Result<time::OffsetDateTime, String> {
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("--start-at {text}: not an RFC 3339 time ({e})"))?;
    if at - time::OffsetDateTime::now_utc() > time::Duration::days(1) {
        return Err(format!("--start-at {text}: more than a day ahead"));
    }
    Ok(at)
}

pub fn load(args: LoadArgs) -> i32 {
    crate::interrupt::install();
    let global = match settings(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return exit::INVALID_INPUT;
        }
    };
    // A shard runs its part of the whole; reports carry the whole's
    // settings and the shard's identity.
    let shard = match shard_of(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID_INPUT;
        }
    };
    let settings = match shard.map(|sh| global.for_shard(sh)) {
        None => global.clone(),
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return exit::INVALID_INPUT;
        }
    };
    let start_at = match args.start_at.as_deref().map(start_at) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return exit::INVALID_INPUT;
        }
    };
    // The accounts (this shard's slice of them), read before anything is
    // sent.
    let mut accounts_total = 1;
    let accounts = match &args.users_file {
        Some(path) => match crate::load::accounts::read(path) {
            Ok(all) => match shard {
                Some(sh) => {
                    let slice = sh.slice(all.len());
                    if slice.is_empty() {
                        eprintln!(
                            "error: {}: {} accounts for {} shards: shard {} would have none",
                            path.display(),
                            all.len(),
                            sh.count,
                            sh.index
                        );
                        return exit::INVALID_INPUT;
                    }
                    accounts_total = all.len();
                    all[slice].to_vec()
                }
                None => {
                    accounts_total = all.len();
                    all
                }
            },
            Err(d) => {
                eprintln!("{d}");
                return exit::INVALID_INPUT;
            }
        },
        None => Vec::new(),
    };
    // Refresh tokens issued elsewhere (this shard's slice of them).
    let tokens = match &args.tokens_file {
        Some(path) => match crate::load::accounts::read_tokens(path) {
            Ok(all) => {
                let all = match shard {
                    Some(sh) => all[sh.slice(all.len())].to_vec(),
                    None => all,
                };
                if all.is_empty() {
                    eprintln!(
                        "error: {}: too few tokens for the shards: this shard would have none",
                        path.display()
                    );
                    return exit::INVALID_INPUT;
                }
                Some(all)
            }
            Err(d) => {
                eprintln!("{d}");
                return exit::INVALID_INPUT;
            }
        },
        None => None,
    };
    let outputs = match outputs(&args.report) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID_INPUT;
        }
    };
    let baseline: Option<LoadReport> = match &args.baseline {
        Some(p) => match std::fs::read(p)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("error: baseline {}: {e}", p.display());
                return exit::INVALID_INPUT;
            }
        },
        None => None,
    };
    if args.knobs.any() && args.mock.is_none() && args.target.is_some() {
        eprintln!("error: mock flags (--fault, --rotation, --config, --tls…) need --mock PROFILE");
        return exit::INVALID_INPUT;
    }
    // The mock (when there is one) runs on its own multi-thread runtime; the
    // load runs on current-thread runtimes of its own.
    let mock_rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start a runtime: {e}");
            return exit::INTERNAL;
        }
    };
    let (mut target, mock) = match &args.target {
        Some(path) if args.mock.is_none() => match Target::load(path) {
            Ok(t) => (t, None),
            Err(d) => {
                eprintln!("{d}");
                return exit::INVALID_INPUT;
            }
        },
        path => {
            match mock_rt.block_on(super::start_mock(args.mock, &args.knobs, path.as_deref())) {
                Ok(s) => (s.target, Some(s.server)),
                Err(code) => return code,
            }
        }
    };
    // The endpoints the target leaves to discovery, as `check` fills them.
    let opts = target.http_options(args.insecure, args.cacert.as_deref());
    let discovered = crate::oauth::http::build_client(&opts, 1)
        .map_err(|e| e.to_string())
        .and_then(|c| {
            mock_rt
                .block_on(crate::target::discover(&mut target, &c, &opts))
                .map_err(|e| e.to_string())
        });
    if let Err(e) = discovered {
        eprintln!("error: {e}");
        if let Some(m) = mock {
            mock_rt.block_on(m.shutdown());
        }
        return exit::TARGET_UNREACHABLE;
    }
    if let Err(e) = loopback_only(&target, args.allow_remote) {
        eprintln!("error: {e}");
        return exit::INVALID_INPUT;
    }
    let http = target.http_options(args.insecure, args.cacert.as_deref());
    // One kept-alive connection per user, or per iteration in flight (a
    // smaller pool would close connections after each request and measure
    // connection set-up).
    let connections = match (settings.arrival, settings.sessions) {
        (Some(a), _) => a.max_in_flight,
        (None, Some(s)) => s.max_in_flight.min(s.count),
        (None, None) => settings.users,
    };
    let pool = match settings.connection {
        crate::load::profile::Connection::KeepAlive => connections.max(8),
        crate::load::profile::Connection::PerRequest => 0,
    };
    let client = match crate::oauth::http::build_client(&http, pool) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID_INPUT;
        }
    };
    // One more client per load runtime: each drives its own connections.
    let runtime_clients = match (0..args.threads.clamp(1, 64))
        .map(|_| crate::oauth::http::build_client(&http, pool))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID_INPUT;
        }
    };
    // One socket per user (and the in-process mock's as many again): raise
    // the soft descriptor limit to the hard one, and say when it is short.
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0);
    let need = connections as u64 * if mock.is_some() { 2 } else { 1 } + 64;
    if limit > 0 && need > limit {
        eprintln!(
            "warning: {connections} connections need about {need} file descriptors and this process may open {limit}: expect too-many-open-files errors; raise `ulimit -n` (the hard limit) or use fewer users (or a lower --max-in-flight)"
        );
    }
    // A login command is a process per login: never under load.
    if matches!(target.login, crate::target::Login::Command(_)) && tokens.is_none() {
        eprintln!(
            "error: {}: login.grant: command cannot start sessions under load (a process per login): run it once per session and pass the refresh tokens with --tokens-file",
            target.source
        );
        if let Some(m) = mock {
            mock_rt.block_on(m.shutdown());
        }
        return exit::INVALID_INPUT;
    }
    // One login (and one refresh) before any traffic: a server that refuses
    // the target's credentials, or cannot be reached, gets nothing more.
    let redactor = target.redactor();
    if let Some(t) = &tokens {
        for s in t {
            redactor.add_secret("rt", s);
        }
    }
    // Sessions from a tokens file send no login, not even this one.
    let preflight = match tokens {
        Some(_) => Ok(None),
        None => mock_rt.block_on(crate::check::preflight::run(
            &target, &client, &http, &redactor,
        )),
    };
    if let Err(e) = preflight {
        eprintln!("error: {}", redactor.redact(&e.to_string()));
        eprintln!("  (no load was sent)");
        if let Some(m) = mock {
            mock_rt.block_on(m.shutdown());
        }
        return exit::TARGET_UNREACHABLE;
    }
    let name = target.name.clone();
    let endpoint = target
        .token_endpoint
        .as_ref()
        .map(|u| u.to_string())
        .unwrap_or_default();
    let threads = args.threads.clamp(1, 64);
    for (_, password) in &accounts {
        redactor.add_secret("pw", password);
    }
    // Every shard starts together: wait (bounded: at most a day, checked).
    if let Some(at) = start_at {
        let wait = at - time::OffsetDateTime::now_utc();
        if wait.is_positive() {
            eprintln!(
                "waiting {wait:.0} for --start-at {}",
                args.start_at.as_deref().unwrap_or("")
            );
            std::thread::sleep(wait.unsigned_abs());
        } else {
            eprintln!(
                "warning: --start-at {} has passed ({:.1} ago): starting now",
                args.start_at.as_deref().unwrap_or(""),
                -wait
            );
        }
    }
    // Every kind of request is built once before the run: a target whose
    // requests cannot be built (an assertion that cannot be signed) stops
    // here, and nothing without client authentication is ever sent.
    let metrics = args
        .metrics_listen
        .map(|_| Arc::new(crate::load::metrics::Metrics::new()));
    let shared = match Shared::new(runtime_clients, target, http, settings.clone(), threads) {
        Ok(s) => {
            let s = s.with_accounts(accounts);
            let s = match tokens {
                Some(t) => s.with_tokens(t),
                None => s,
            };
            Arc::new(match &metrics {
                Some(m) => s.with_metrics(m.clone()),
                None => s,
            })
        }
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID_INPUT;
        }
    };
    // The wall-clock time of the run's clock start: shards' timelines are
    // aligned on it.
    let started_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    // Live metrics on a thread of their own, until the reports are written.
    let _endpoint = match (args.metrics_listen, &metrics) {
        (Some(addr), Some(m)) => {
            let (m, s) = (m.clone(), shared.clone());
            match crate::load::metrics::serve(addr, Arc::new(move || m.render(s.active_now()))) {
                Ok(e) => {
                    eprintln!("metrics: http://{}/metrics", e.addr);
                    Some(e)
                }
                Err(e) => {
                    eprintln!("error: --metrics-listen {addr}: {e}");
                    return exit::INVALID_INPUT;
                }
            }
        }
        _ => None,
    };
    let model = match (settings.arrival, settings.sessions) {
        (Some(a), _) if !settings.stages.is_empty() => format!(
            "iterations from {}/s through stages {} (at most {} in flight)",
            a.rate,
            settings
                .stages
                .iter()
                .map(|s| format!("{}:{}", humantime::format_duration(s.duration), s.target))
                .collect::<Vec<_>>()
                .join(" "),
            a.max_in_flight
        ),
        (Some(a), _) => format!(
            "{} iterations/s (at most {} in flight)",
            a.rate, a.max_in_flight
        ),
        (None, Some(s)) => format!(
            "{} sessions refreshing {} before expiry{} (at most {} in flight)",
            s.count,
            humantime::format_duration(s.refresh_before),
            if s.time_scale < 1.0 {
                format!(", lifetimes scaled by {}", s.time_scale)
            } else {
                String::new()
            },
            s.max_in_flight
        ),
        (None, None) => format!("{} users", settings.users),
    };
    eprintln!(
        "tokenprobe load: {}{model} on {} thread{}, {} against {} ({}){}",
        shard.map_or(String::new(), |s| format!(
            "shard {}/{}: ",
            s.index, s.count
        )),
        threads,
        if threads == 1 { "" } else { "s" },
        humantime::format_duration(settings.run_time),
        name,
        endpoint,
        if shared.probes() {
            format!(", replay probes at {}", settings.replay_rate)
        } else {
            String::new()
        }
    );
    {
        let shared = shared.clone();
        crate::interrupt::on_signal(move || {
            if let Some(signal) = crate::interrupt::received() {
                shared.stop(engine::StopReason::Interrupted(signal));
            }
        });
    }
    let progress = std::io::stderr()
        .is_terminal()
        .then(|| progress(shared.clone()));
    let result = engine::run(shared.clone(), threads);
    let duration_s = shared.elapsed().as_secs_f64();
    if let Some((stop, handle)) = progress {
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = handle.join();
    }
    if let Some(m) = mock {
        mock_rt.block_on(m.shutdown());
    }
    if let Err(e) = &result {
        eprintln!("error: {e}");
    }
    let stats = shared.merged();
    let stopped = shared.stopped().cloned();
    if let Some(why) = &stopped {
        match why {
            engine::StopReason::Interrupted(_) => {
                eprintln!(
                    "{}: the run stopped early; reports cover what ran",
                    why.describe()
                )
            }
            _ => eprintln!("error: {}; reports cover what ran", why.describe()),
        }
    }
    let info = RunInfo {
        not_probed: shared.not_probed(),
        interrupted: matches!(stopped, Some(engine::StopReason::Interrupted(_))),
        stopped: stopped.as_ref().map(engine::StopReason::describe),
        target: name,
        token_endpoint: endpoint,
        started_at,
        duration_s,
        settings: settings_doc(&global, threads, accounts_total),
    };
    // A shard's thresholds are judged by `report merge` over all shards.
    let judged = if shard.is_some() {
        Vec::new()
    } else {
        crate::load::threshold::with_default_gate(
            settings.thresholds.clone(),
            settings.max_error_rate,
        )
    };
    let mut doc = report::build(&stats, info, &judged);
    doc.shard = shard;
    if let Some(base) = &baseline {
        for difference in report::incomparable(&doc, base) {
            eprintln!(
                "warning: --baseline {}: {difference}: the comparison may not mean much",
                args.baseline
                    .as_deref()
                    .unwrap_or(std::path::Path::new(""))
                    .display()
            );
        }
        doc.regressions = report::regressions(&doc, base, args.baseline_tolerance);
    }
    print_summary(&doc);
    for (format, path) in &outputs {
        let body = match format {
            Format::Json => serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n",
            Format::Markdown => crate::load::markdown::page(&doc),
            Format::Html => crate::load::html::page(&doc),
        };
        if let Err(e) = crate::report::write_atomically(path, body.as_bytes()) {
            eprintln!("error: {e}");
            return exit::INTERNAL;
        }
        eprintln!("report: {}", path.display());
    }
    if result.is_err() {
        return exit::INTERNAL;
    }
    if let Some(why) = &stopped {
        return why.exit_code();
    }
    if let Some(code) = nothing_measured(&settings, &stats) {
        return code;
    }
    let breached = doc.thresholds.iter().any(|t| !t.passed) || !doc.regressions.is_empty();
    if breached {
        exit::THRESHOLD_BREACHED
    } else {
        exit::OK
    }
}

/// A run in which nothing it measures worked is not a result: the exit
/// code that says so, or `None`. A sessions-model run too short for any
/// refresh to come due measured logins only: a warning with the way out,
/// not a failure.
fn nothing_measured(settings: &LoadSettings, stats: &crate::load::stats::Stats) -> Option<i32> {
    use crate::load::stats::Kind;
    if settings.mix.refresh == 0 || stats.refresh_ok > 0 {
        return None;
    }
    let refreshes_sent = stats.latency[&Kind::Refresh].len()
        + stats
            .failures_by_kind
            .get(&Kind::Refresh)
            .copied()
            .unwrap_or(0);
    if let Some(model) = settings.sessions
        && refreshes_sent == 0
        && stats.logins_ok > 0
    {
        eprintln!(
            "warning: no refresh came due in {}: {} of {} sessions logged in, and their access tokens outlive the run; \
             give --time-scale (e.g. --time-scale {}) or a longer --run-time to see refreshes",
            humantime::format_duration(settings.run_time),
            stats.started,
            model.count,
            suggested_scale(settings)
        );
        return None;
    }
    let transport_only = stats
        .by_status
        .keys()
        .all(|k| k.starts_with("transport:") || k == "2xx");
    eprintln!(
        "error: no refresh succeeded in {} requests ({}): the figures measure failures, not the server",
        stats.requests,
        stats
            .by_status
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    Some(if transport_only {
        exit::TARGET_UNREACHABLE
    } else {
        exit::CHECK_FAILED
    })
}

/// A `--time-scale` that brings a refresh of an hour-long token into a
/// third of the run.
fn suggested_scale(settings: &LoadSettings) -> String {
    let run = settings.run_time.as_secs_f64().max(1.0);
    let scale = (run / 3.0 / 3600.0).clamp(1e-4, 1.0);
    format!("{:.1e}", scale).replace("e-", "e-")
}

fn print_summary(r: &LoadReport) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let all = r.latency_us.get("all");
    let _ = writeln!(
        out,
        "{} requests in {:.1}s: {:.1} req/s, {} failures ({:.3}%)",
        r.totals.requests,
        r.totals.duration_s,
        r.totals.rps,
        r.totals.failures,
        r.totals.error_rate * 100.0
    );
    for (kind, l) in &r.latency_us {
        let _ = writeln!(
            out,
            "  {kind:<9} n={:<8} p50 {:>8.2}ms  p90 {:>8.2}ms  p99 {:>8.2}ms  p99.9 {:>8.2}ms  max {:>8.2}ms",
            l.count,
            l.p50 as f64 / 1000.0,
            l.p90 as f64 / 1000.0,
            l.p99 as f64 / 1000.0,
            l.p999 as f64 / 1000.0,
            l.max as f64 / 1000.0
        );
    }
    let _ = all;
    let _ = writeln!(out, "{}", report::started_line(r));
    if let Some(corrected) = &r.latency_us_corrected {
        for (kind, l) in corrected {
            let _ = writeln!(
                out,
                "  {kind:<9} from due: p50 {:>8.2}ms  p90 {:>8.2}ms  p99 {:>8.2}ms  p99.9 {:>8.2}ms  max {:>8.2}ms",
                l.p50 as f64 / 1000.0,
                l.p90 as f64 / 1000.0,
                l.p99 as f64 / 1000.0,
                l.p999 as f64 / 1000.0,
                l.max as f64 / 1000.0
            );
        }
    }
    if let Some(p) = &r.dpop_proof_us {
        let _ = writeln!(
            out,
            "  DPoP proofs: {} signed, p50 {:.3}ms p99 {:.3}ms each",
            p.count,
            p.p50 as f64 / 1000.0,
            p.p99 as f64 / 1000.0
        );
    }
    if let (Some(scheduled), Some(dropped)) = (r.totals.scheduled, r.totals.dropped) {
        let _ = writeln!(
            out,
            "iterations: {scheduled} due, {dropped} dropped ({:.1}%) with {} in flight at most",
            if scheduled > 0 {
                dropped as f64 * 100.0 / scheduled as f64
            } else {
                0.0
            },
            r.settings.max_in_flight.unwrap_or(0)
        );
    }
    let v = &r.violations;
    let shown = |name: &str, n: u64| {
        if v.not_probed.contains_key(name) {
            format!("{name}=not-probed")
        } else {
            format!("{name}={n}")
        }
    };
    let _ = writeln!(
        out,
        "violations: {} {} {} {}",
        shown("chain_breaks", v.chain_breaks),
        shown("replay_accepted", v.replay_accepted),
        shown("duplicate_tokens", v.duplicate_tokens),
        shown("rotation_violations", v.rotation_violations)
    );
    for (name, why) in &v.not_probed {
        if name != "dropped" {
            let _ = writeln!(out, "  not probed: {name}: {why}");
        }
    }
    if !r.errors.by_code.is_empty() {
        let codes: Vec<String> = r
            .errors
            .by_code
            .iter()
            .map(|(k, n)| format!("{k}={n}"))
            .collect();
        let _ = writeln!(out, "errors: {}", codes.join(" "));
    }
    if r.totals.expected_refusals > 0 {
        let _ = writeln!(
            out,
            "expected refusals: {} replays of rotated refresh tokens refused, as they must be (not failures)",
            r.totals.expected_refusals
        );
    }
    for t in &r.thresholds {
        let verdict = match (&t.not_probed, t.passed) {
            (Some(why), _) => format!("not probed ({why})"),
            (None, true) => format!("passed ({})", t.observed),
            (None, false) => format!("BREACHED ({})", t.observed),
        };
        let _ = writeln!(
            out,
            "threshold {}{}: {verdict}",
            t.threshold,
            if t.default {
                " (default gate; --max-error-rate)"
            } else {
                ""
            }
        );
    }
    for reg in &r.regressions {
        let _ = writeln!(out, "regression: {reg}");
    }
}

/// One line a second on stderr: requests/s, p99, errors, chain breaks.
fn progress(
    shared: Arc<Shared>,
) -> (
    Arc<std::sync::atomic::AtomicBool>,
    std::thread::JoinHandle<()>,
) {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::spawn(move || {
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(1000));
            let l = shared.live();
            eprint!(
                "\r\x1b[2K{:>4}s  {:>8} req/s  p99 {:>7.2}ms  errors {:>6}  chain breaks {:>5}  active {:>5}{}",
                shared.elapsed().as_secs(),
                l.last_second,
                l.p99_us as f64 / 1000.0,
                l.failures,
                l.chain_breaks,
                l.active,
                if l.dropped > 0 {
                    format!("  dropped {}", l.dropped)
                } else {
                    String::new()
                }
            );
        }
        eprintln!();
    });
    (stop, handle)
}

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// The shards' JSON reports (`load --shard I/N --report json=…`).
    #[arg(required = true, value_name = "REPORT")]
    pub files: Vec<PathBuf>,
    /// Judge these over the merged run instead of the shards' own (repeatable).
    #[arg(long)]
    pub threshold: Vec<String>,
    /// FORMAT=PATH: json, markdown, html; default reports/merged/{report.json,summary.md,report.html}.
    #[arg(long)]
    pub report: Vec<String>,
}

/// `tokenprobe report merge`: exit 0, 5 when a threshold is breached over
/// the merged run, 2 when the set cannot be merged (with why).
pub fn merge(args: MergeArgs) -> i32 {
    let outputs = match outputs_in(&args.report, "reports/merged") {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID_INPUT;
        }
    };
    let thresholds = if args.threshold.is_empty() {
        None
    } else {
        match args
            .threshold
            .iter()
            .map(|t| t.parse::<crate::load::threshold::Threshold>())
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("error: --threshold {e}");
                return exit::INVALID_INPUT;
            }
        }
    };
    let mut reports = Vec::new();
    for path in &args.files {
        let read = std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<LoadReport>(&b).map_err(|e| e.to_string()));
        match read {
            Ok(r) => reports.push((path.clone(), r)),
            Err(e) => {
                eprintln!("error: {}: not a load report ({e})", path.display());
                return exit::INVALID_INPUT;
            }
        }
    }
    let doc = match crate::load::merge::merge(&reports, thresholds) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID_INPUT;
        }
    };
    eprintln!(
        "merged {} shard{} of {} ({})",
        doc.shards.len(),
        if doc.shards.len() == 1 { "" } else { "s" },
        doc.target,
        doc.token_endpoint
    );
    print_summary(&doc);
    for (format, path) in &outputs {
        let body = match format {
            Format::Json => serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n",
            Format::Markdown => crate::load::markdown::page(&doc),
            Format::Html => crate::load::html::page(&doc),
        };
        if let Err(e) = crate::report::write_atomically(path, body.as_bytes()) {
            eprintln!("error: {e}");
            return exit::INTERNAL;
        }
        eprintln!("report: {}", path.display());
    }
    if doc.thresholds.iter().any(|t| !t.passed) {
        exit::THRESHOLD_BREACHED
    } else {
        exit::OK
    }
}
