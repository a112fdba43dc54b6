//! The command line: clap definitions, turned once into the library's
//! options, and the commands that wire the stages together.
//!
//! May use: every module (it wires the stages together).

use crate::check::plan::{self, Selection};
use crate::exit;
use crate::mock::Profile;
use crate::mock::{MockConfig, MockServer};
use crate::report::ReportOutput;
use crate::target::Target;
use clap::{Parser, Subcommand};
pub use mockenv::MockKnobs;

/// Prints a line on stdout. A closed stdout (`tokenprobe check | head`) is
/// not an error: the run goes on and its reports are still written.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

pub mod check;
pub mod init;
pub mod load;
pub mod merge;
pub mod mockenv;

use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "tokenprobe",
    version,
    about = "Conformance checks and load tests for OAuth 2.0 token endpoints",
    after_help = crate::exit::help_text()
)]
pub struct Cli {
    /// When to color the output (`auto` honours NO_COLOR, CLICOLOR_FORCE
    /// and whether stdout is a terminal).
    #[arg(long, global = true, value_parser = ["auto", "always", "never"], default_value = "auto")]
    pub color: String,
    /// Your own catalogue ids (YAML: catalogue: [{id, level, text}]) for your
    /// scenarios' `covers`; a catalogue.yaml beside them is read as well.
    #[arg(long, global = true, value_name = "FILE")]
    pub catalogue: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run conformance scenarios against a target (the embedded mock when none is given).
    Check(Box<CheckArgs>),
    /// List scenarios: id, level, tags, covered catalogue ids, file:line.
    List {
        /// Scenario files or folders instead of the built-in suite.
        paths: Vec<PathBuf>,
        /// Folders or files of scenarios added to the built-in suite (repeatable).
        #[arg(long = "scenarios", value_name = "DIR")]
        extra: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_parser = ["text", "json", "markdown"], default_value = "text")]
        format: String,
        #[command(flatten)]
        select: SelectArgs,
        /// Say, for this target, which selected scenarios would be skipped and why.
        #[arg(long)]
        target: Option<PathBuf>,
        /// Each catalogue id with the scenarios covering it, and the ids
        /// nobody covers.
        #[arg(long)]
        coverage: bool,
    },
    /// Check scenario and target files without touching the network.
    Validate {
        /// Scenario files or folders instead of the built-in suite.
        paths: Vec<PathBuf>,
        /// Folders or files of scenarios added to the built-in suite (repeatable).
        #[arg(long = "scenarios", value_name = "DIR")]
        extra: Vec<PathBuf>,
        /// Target files to check as well (repeatable): keys, secrets, scopes.
        #[arg(long)]
        target: Vec<PathBuf>,
    },
    /// The built-in scenario suite.
    Scenarios {
        #[command(subcommand)]
        command: ScenariosCommand,
    },
    /// Print the JSON Schema of scenario or target files.
    Schema {
        /// Which file format.
        #[arg(value_parser = ["scenario", "target", "expected-failures"])]
        kind: String,
    },
    /// Print shell completions.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Serve the mock token server until Ctrl-C.
    Mock(MockArgs),
    /// Drive refresh traffic (goose), measure it, check it, gate on thresholds.
    Load(Box<load::LoadArgs>),
    /// Write a commented target file from a discovery document or a token endpoint.
    Init(init::InitArgs),
    /// Work with load reports.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// Add up the JSON reports of a distributed run's shards exactly
    /// (histograms added, counts summed, timelines aligned on wall-clock
    /// time) and judge thresholds over the whole.
    Merge(merge::MergeArgs),
}

/// Which scenarios run (`check`) or would run (`list`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SelectArgs {
    /// Run only scenarios with one of these tags (repeatable; `intrusive`
    /// ones run only when selected so).
    #[arg(long)]
    pub tag: Vec<String>,
    /// Leave out scenarios with this tag (repeatable).
    #[arg(long)]
    pub skip_tag: Vec<String>,
    /// Keep scenarios whose id, title or catalogue ids contain TEXT, or
    /// whose id matches a glob (`rotation/*`); repeatable: any of them.
    #[arg(long)]
    pub filter: Vec<String>,
    /// Leave out scenarios that --filter would keep for TEXT (repeatable).
    #[arg(long)]
    pub exclude: Vec<String>,
}

impl SelectArgs {
    fn selection(&self) -> Selection {
        Selection {
            tags: self.tag.clone(),
            skip_tags: self.skip_tag.clone(),
            filter: self.filter.clone(),
            exclude: self.exclude.clone(),
        }
    }
}

/// The scenarios `select` keeps, or the exit code after saying why none.
pub(crate) fn select_or_explain(
    scenarios: Vec<crate::scenario::Scenario>,
    select: &SelectArgs,
) -> Result<Vec<crate::scenario::Scenario>, i32> {
    let unknown = plan::unknown_tags(
        &scenarios,
        &[select.tag.clone(), select.skip_tag.clone()].concat(),
    );
    if !unknown.is_empty() {
        eprintln!(
            "error: no scenario has the tag{} {}; the tags are: {}",
            if unknown.len() == 1 { "" } else { "s" },
            unknown.join(", "),
            plan::known_tags(&scenarios).join(", ")
        );
        return Err(exit::INVALID_INPUT);
    }
    let kept = plan::select(scenarios, &select.selection());
    if kept.is_empty() {
        eprintln!(
            "error: no scenario selected (filters {:?}, excludes {:?}, tags {:?}); `tokenprobe list` shows the suite",
            select.filter, select.exclude, select.tag
        );
        return Err(exit::NOTHING_SELECTED);
    }
    Ok(kept)
}

#[derive(Subcommand, Debug)]
pub enum ScenariosCommand {
    /// Write the built-in suite (scenarios and load profiles) under DIR, to
    /// fork it; existing files are never overwritten.
    Export {
        /// The folder to write `scenarios/…` into (created when missing).
        dir: PathBuf,
    },
}

#[derive(clap::Args, Debug)]
pub struct MockArgs {
    /// Address to listen on; port 0 takes a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// strict | empowerid | idcs | wso2
    #[arg(long, value_parser = parse_profile)]
    pub profile: Option<Profile>,
    /// `virtual`: time is virtual and POST /__tokenprobe/clock advances it.
    #[arg(long, value_parser = ["virtual", "real"], default_value = "real")]
    pub clock: String,
    /// Print the planted faults, one a line, and exit.
    #[arg(long)]
    pub list_faults: bool,
    #[command(flatten)]
    pub knobs: MockKnobs,
}

/// The error that ends a command (with its exit code).
pub use crate::error::Error as CliError;

pub(crate) fn parse_profile_arg(s: &str) -> Result<Profile, String> {
    parse_profile(s)
}

fn parse_profile(s: &str) -> Result<Profile, String> {
    s.parse::<Profile>().map_err(|e| e.to_string())
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Scenario files or folders instead of the built-in suite.
    pub paths: Vec<PathBuf>,
    /// Folders or files of scenarios added to the built-in suite (repeatable).
    #[arg(long = "scenarios", value_name = "DIR", help_heading = "Scenarios")]
    pub extra: Vec<PathBuf>,
    /// Target file; without it the embedded strict mock is started.
    #[arg(long, help_heading = "Target")]
    pub target: Option<PathBuf>,
    /// Check an in-process mock of this profile (strict, empowerid, idcs,
    /// wso2) with its own target file, or with --target's declarations.
    #[arg(long, value_parser = parse_profile, value_name = "PROFILE", help_heading = "Target")]
    pub mock: Option<Profile>,
    #[command(flatten, next_help_heading = "Mock (with --mock or no target)")]
    pub knobs: MockKnobs,
    #[command(flatten, next_help_heading = "Selection")]
    pub select: SelectArgs,

    /// Scenarios run at once (default: CPU count).
    #[arg(short = 'j', long, help_heading = "Run")]
    pub jobs: Option<usize>,
    /// FORMAT=PATH (junit, json, markdown, html, har: every exchange as an HTTP Archive); default: reports/latest/{junit.xml,report.json,summary.md,report.html}.
    #[arg(long, help_heading = "Output")]
    pub report: Vec<ReportOutput>,
    /// SHOULD failures fail the run.
    #[arg(long, help_heading = "Verdict")]
    pub strict: bool,
    /// Accept any TLS certificate.
    #[arg(short = 'k', long, help_heading = "Target")]
    pub insecure: bool,
    /// Trust only these CA certificates (PEM).
    #[arg(long, help_heading = "Target")]
    pub cacert: Option<PathBuf>,
    /// More detail: -v the steps and the exchange behind each finding, -vv
    /// every exchange (always redacted).
    #[arg(short, long, action = clap::ArgAction::Count, conflicts_with = "quiet", help_heading = "Output")]
    pub verbose: u8,
    /// Findings and the summary only: no line for a check that passed or
    /// was skipped.
    #[arg(short, long, help_heading = "Output")]
    pub quiet: bool,
    /// Run the suite even when the preflight login is refused.
    #[arg(long, help_heading = "Run")]
    pub no_preflight: bool,
    /// Known failures (YAML: expected_failures: [{id, reason, until}]): they
    /// are reported as known and do not fail the run; one that no longer
    /// happens, or is past its `until`, fails it.
    #[arg(long, value_name = "FILE", help_heading = "Verdict")]
    pub expected_failures: Option<PathBuf>,
    /// A previous run's report.json: say what is new, fixed and unchanged.
    #[arg(long, value_name = "REPORT", help_heading = "Verdict")]
    pub compare: Option<PathBuf>,
    /// With --compare: fail on any finding (`any`) or on new ones only (`new`).
    #[arg(long, value_parser = ["new", "any"], default_value = "any", help_heading = "Verdict")]
    pub fail_on: String,
}

/// Runs a command and returns the process exit code.
pub fn main_with(cli: Cli) -> i32 {
    match cli.color.as_str() {
        "always" => anstream::ColorChoice::Always.write_global(),
        "never" => anstream::ColorChoice::Never.write_global(),
        _ => {}
    }
    if let Some(file) = &cli.catalogue
        && let Err(d) = crate::scenario::catalogue_file::load(file)
    {
        eprintln!("{d}");
        return exit::INVALID_INPUT;
    }
    match cli.command {
        Command::Check(args) => check::check(*args),
        Command::List {
            paths,
            extra,
            format,
            coverage,
            select,
            target,
        } => {
            if coverage {
                list_coverage(&paths, &extra, &format)
            } else {
                list(&paths, &extra, &format, &select, target.as_deref())
            }
        }
        Command::Validate {
            paths,
            extra,
            target,
        } => validate(&paths, &extra, &target),
        Command::Scenarios {
            command: ScenariosCommand::Export { dir },
        } => export(&dir),
        Command::Schema { kind } => {
            say!("{}", schema_text(&kind));
            exit::OK
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            use std::io::Write as _;
            // Into a buffer, then out: a closed pipe (`| head`) is not an
            // error of ours.
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "tokenprobe", &mut buf);
            let _ = std::io::stdout().lock().write_all(&buf);
            exit::OK
        }
        Command::Mock(args) => mock(args),
        Command::Load(args) => load::load(*args),
        Command::Init(args) => init::init(args),
        Command::Report {
            command: ReportCommand::Merge(args),
        } => merge::merge(args),
    }
}

/// The JSON Schema of scenario (`scenario`) or target (`target`) files, as
/// checked in under `schemas/` (a test keeps the copies current).
pub fn schema_text(kind: &str) -> String {
    let schema = match kind {
        "scenario" => schemars::schema_for!(crate::scenario::model::ScenarioFile),
        "expected-failures" => {
            schemars::schema_for!(crate::check::expected::ExpectedFailuresFile)
        }
        _ => schemars::schema_for!(crate::target::TargetFile),
    };
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("cannot start the async runtime")
}

pub(crate) fn load_scenarios(
    paths: &[PathBuf],
    extra: &[PathBuf],
) -> Result<(Vec<crate::scenario::Scenario>, crate::scenario::SuiteSource), i32> {
    // The users' own catalogue ids: a catalogue.yaml in a folder they give.
    for dir in paths.iter().chain(extra).filter(|p| p.is_dir()) {
        let file = dir.join("catalogue.yaml");
        if file.is_file()
            && let Err(d) = crate::scenario::catalogue_file::load(&file)
        {
            eprintln!("{d}");
            return Err(exit::INVALID_INPUT);
        }
    }
    crate::scenario::load_suite(paths, extra).map_err(|d| {
        eprintln!("{d}");
        exit::INVALID_INPUT
    })
}

/// `scenarios export DIR`: the built-in files under DIR, none overwritten.
fn export(dir: &std::path::Path) -> i32 {
    let files = crate::scenario::builtin_all();
    let clash: Vec<PathBuf> = files
        .iter()
        .map(|(p, _)| dir.join(p))
        .filter(|p| p.exists())
        .collect();
    if !clash.is_empty() {
        eprintln!(
            "error: {} file{} already exist{} under {} (first: {}); nothing was written",
            clash.len(),
            if clash.len() == 1 { "" } else { "s" },
            if clash.len() == 1 { "s" } else { "" },
            dir.display(),
            clash[0].display()
        );
        return exit::INVALID_INPUT;
    }
    for (path, text) in files {
        let to = dir.join(path);
        if let Some(parent) = to.parent()
            && let Err(e) = std::fs::create_dir_all(parent)
        {
            eprintln!("error: {}: {e}", parent.display());
            return exit::INTERNAL;
        }
        if let Err(e) = crate::report::write_atomically(&to, text.as_bytes()) {
            eprintln!("error: {}: {e}", to.display());
            return exit::INTERNAL;
        }
    }
    say!(
        "wrote {} files under {}",
        files.len(),
        dir.join("scenarios").display()
    );
    exit::OK
}

/// Starts an in-process mock of `profile` (strict when `None`) with a
/// virtual clock on a free loopback port, and resolves its target: the
/// profile's own, or `target_path`'s declarations rebased on the mock.
/// Errors are printed; the exit code is returned.
pub async fn start_mock(
    profile: Option<Profile>,
    knobs: &MockKnobs,
    target_path: Option<&std::path::Path>,
) -> Result<mockenv::Started, i32> {
    let cfg = mockenv::resolve(profile, knobs, true).map_err(|d| {
        eprintln!("{d}");
        exit::INVALID_INPUT
    })?;
    mockenv::start(cfg, target_path).await.map_err(|e| {
        eprintln!("{e}");
        exit::INVALID_INPUT
    })
}

fn list(
    paths: &[PathBuf],
    extra: &[PathBuf],
    format: &str,
    select: &SelectArgs,
    target: Option<&std::path::Path>,
) -> i32 {
    let (scenarios, _) = match load_scenarios(paths, extra) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let scenarios = match select_or_explain(scenarios, select) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let target = match target.map(Target::load).transpose() {
        Ok(t) => t,
        Err(d) => {
            eprintln!("{d}");
            return exit::INVALID_INPUT;
        }
    };
    let skip = |s: &crate::scenario::Scenario| target.as_ref().and_then(|t| plan::unmet(s, t));
    if format == "json" {
        let items: Vec<serde_json::Value> = scenarios
            .iter()
            .map(|s| serde_json::json!({"id": s.id, "title": s.title, "level": s.level.as_str(), "tags": s.tags, "covers": s.covers, "file": s.file, "line": s.line, "skipped": skip(s)}))
            .collect();
        say!(
            "{}",
            serde_json::to_string_pretty(&items).unwrap_or_default()
        );
    } else {
        for s in &scenarios {
            say!(
                "{:<40} {:<8} {:<24} {:<20} {}:{}{}",
                s.id,
                s.level.as_str(),
                s.covers.join(","),
                s.tags.join(","),
                s.file.display(),
                s.line,
                skip(s)
                    .map(|why| format!("  [skipped: {why}]"))
                    .unwrap_or_default()
            );
        }
    }
    exit::OK
}

fn list_coverage(paths: &[PathBuf], extra: &[PathBuf], format: &str) -> i32 {
    let (scenarios, _) = match load_scenarios(paths, extra) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let cited: Vec<(&str, &[String])> = scenarios
        .iter()
        .map(|s| (s.id.as_str(), s.covers.as_slice()))
        .collect();
    let rows = crate::catalogue::coverage(&cited);
    match format {
        "json" => {
            let items: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| serde_json::json!({"id": r.entry.id, "level": r.entry.level, "word": r.entry.word, "section": r.entry.section, "scenarios": r.scenarios}))
                .collect();
            say!(
                "{}",
                serde_json::to_string_pretty(&items).unwrap_or_default()
            );
        }
        "markdown" => print!("{}", crate::catalogue::coverage_markdown(&rows)),
        _ => {
            let mut section = "";
            for r in &rows {
                if r.entry.section != section {
                    section = &r.entry.section;
                    say!("{section}");
                }
                let covered = if r.scenarios.is_empty() {
                    "-- not covered --".to_string()
                } else {
                    r.scenarios.join(", ")
                };
                say!(
                    "  {:<18} {:<10} {covered}",
                    r.entry.id,
                    short_level(&r.entry.level)
                );
            }
        }
    }
    let uncovered: Vec<&str> = rows
        .iter()
        .filter(|r| r.scenarios.is_empty())
        .map(|r| r.entry.id.as_str())
        .collect();
    eprintln!(
        "{} of {} catalogue ids covered; not covered: {}",
        rows.len() - uncovered.len(),
        rows.len(),
        if uncovered.is_empty() {
            "none".to_string()
        } else {
            uncovered.join(", ")
        }
    );
    exit::OK
}

fn short_level(level: &str) -> &str {
    level.split([' ', '(']).next().unwrap_or(level)
}

fn validate(paths: &[PathBuf], extra: &[PathBuf], targets: &[PathBuf]) -> i32 {
    let mut code = exit::OK;
    match crate::scenario::load_suite(paths, extra) {
        Ok((s, suite)) => say!(
            "{} scenario{} valid ({suite})",
            s.len(),
            if s.len() == 1 { "" } else { "s" }
        ),
        Err(d) => {
            eprintln!("{d}");
            code = exit::INVALID_INPUT;
        }
    }
    for t in targets {
        match Target::load(t) {
            Ok(target) => {
                say!("{}: valid", t.display());
                for a in target.advice() {
                    say!("  note: {a}");
                }
            }
            Err(d) => {
                eprintln!("{d}");
                code = exit::INVALID_INPUT;
            }
        }
    }
    code
}

fn mock(args: MockArgs) -> i32 {
    if args.list_faults {
        for f in crate::mock::Fault::ALL {
            say!("{:<26} {}", f.as_str(), f.description());
        }
        return exit::OK;
    }
    let cfg = match mockenv::resolve(args.profile, &args.knobs, args.clock == "virtual") {
        Ok(c) => c,
        Err(d) => {
            eprintln!("{d}");
            return exit::INVALID_INPUT;
        }
    };
    let listen = args.listen;
    let rt = runtime();
    rt.block_on(async {
        if !listen.ip().is_loopback() {
            eprintln!("warning: the mock listens on {listen}, reachable from other machines");
        }
        let server = match MockServer::start(cfg.clone(), listen).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: cannot serve on {listen}: {e}");
                return exit::INVALID_INPUT;
            }
        };
        let dir = std::env::temp_dir().join(format!(
            "tokenprobe-mock-{}-{}",
            std::process::id(),
            server.local_addr().port()
        ));
        let target_path = match write_mock_target(&dir, &server, &cfg) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: cannot write the mock's target file: {e}");
                server.shutdown().await;
                return exit::INTERNAL;
            }
        };
        // The first line is for scripts: base URL, then the target file.
        // Writes may fail once a script has read what it needed and closed
        // the pipe; the server goes on serving.
        let faults: Vec<&str> = cfg.faults.iter().map(|f| f.as_str()).collect();
        let banner = format!(
            "{} {}\nprofile {}, token endpoint {}, clock {}{}\nserving until Ctrl-C\n",
            server.base_url(),
            target_path.display(),
            cfg.profile,
            server.token_endpoint(),
            if cfg.virtual_clock { "virtual" } else { "real" },
            if faults.is_empty() {
                String::new()
            } else {
                format!(", planted faults: {}", faults.join(", "))
            }
        );
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(banner.as_bytes());
            let _ = out.flush();
        }
        let _ = tokio::signal::ctrl_c().await;
        server.shutdown().await;
        let _ = std::fs::remove_dir_all(&dir);
        exit::OK
    })
}

/// Writes the running mock's target file (and its certificate, with TLS)
/// into `dir`.
fn write_mock_target(
    dir: &std::path::Path,
    server: &MockServer,
    cfg: &MockConfig,
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let ca = match server.tls_certificate_pem() {
        Some(pem) => {
            let p = dir.join("ca.pem");
            std::fs::write(&p, pem).map_err(|e| format!("{}: {e}", p.display()))?;
            Some(p)
        }
        None => None,
    };
    let file = mockenv::describe(server, cfg, ca.as_deref()).map_err(|d| d.to_string())?;
    let text = mockenv::render(&file, cfg)?;
    let path = dir.join("target.yaml");
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}
