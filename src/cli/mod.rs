//! The command line: clap definitions, turned once into the library's
//! options, and the commands that wire the stages together.

use crate::check::plan::{self, Selection};
use crate::check::result::ScenarioResult;
use crate::check::run::{self, RunOptions};
use crate::exit;
use crate::mock::{MockConfig, MockServer};
use crate::redact::Redactor;
use crate::report::{self, ReportOutput};
use crate::target::Target;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "tokenprobe",
    version,
    about = "Conformance checks and load tests for OAuth 2.0 token endpoints"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run conformance scenarios against a target (the embedded mock when none is given).
    Check(CheckArgs),
    /// List scenarios: id, level, tags, covered catalogue ids, file:line.
    List {
        #[arg(default_value = "scenarios")]
        paths: Vec<PathBuf>,
        #[arg(long, value_parser = ["text", "json"], default_value = "text")]
        format: String,
    },
    /// Check scenario and target files without touching the network.
    Validate {
        #[arg(default_value = "scenarios")]
        paths: Vec<PathBuf>,
        #[arg(long)]
        target: Vec<PathBuf>,
    },
    /// Print the JSON Schema of scenario or target files.
    Schema {
        #[arg(value_parser = ["scenario", "target"])]
        kind: String,
    },
    /// Print shell completions.
    Completions { shell: clap_complete::Shell },
    /// Serve the mock token server until Ctrl-C.
    Mock {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Time is virtual and POST /__tokenprobe/clock advances it.
        #[arg(long, value_parser = ["virtual", "real"], default_value = "real")]
        clock: String,
    },
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Scenario files or folders.
    #[arg(default_value = "scenarios")]
    pub paths: Vec<PathBuf>,
    /// Target file; without it the embedded strict mock is started.
    #[arg(long)]
    pub target: Option<PathBuf>,
    #[arg(long)]
    pub tag: Vec<String>,
    #[arg(long)]
    pub skip_tag: Vec<String>,
    /// Keep scenarios whose id, title or catalogue ids contain TEXT.
    #[arg(long)]
    pub filter: Option<String>,
    /// Scenarios run at once (default: CPU count).
    #[arg(short = 'j', long)]
    pub jobs: Option<usize>,
    /// FORMAT=PATH (junit, json, markdown); default: reports/latest/{junit.xml,report.json,summary.md}.
    #[arg(long)]
    pub report: Vec<ReportOutput>,
    /// SHOULD failures fail the run.
    #[arg(long)]
    pub strict: bool,
    /// Accept any TLS certificate.
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// Trust only these CA certificates (PEM).
    #[arg(long)]
    pub cacert: Option<PathBuf>,
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Runs a command and returns the process exit code.
pub fn main_with(cli: Cli) -> i32 {
    match cli.command {
        Command::Check(args) => check(args),
        Command::List { paths, format } => list(&paths, &format),
        Command::Validate { paths, target } => validate(&paths, &target),
        Command::Schema { kind } => {
            let schema = match kind.as_str() {
                "scenario" => schemars::schema_for!(crate::scenario::model::ScenarioFile),
                _ => schemars::schema_for!(crate::target::TargetFile),
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            exit::OK
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "tokenprobe",
                &mut std::io::stdout(),
            );
            exit::OK
        }
        Command::Mock { listen, clock } => mock(listen, clock == "virtual"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("cannot start the async runtime")
}

fn load_scenarios(paths: &[PathBuf]) -> Result<Vec<crate::scenario::Scenario>, i32> {
    crate::scenario::load(paths).map_err(|d| {
        eprintln!("{d}");
        exit::INVALID_INPUT
    })
}

fn check(args: CheckArgs) -> i32 {
    let scenarios = match load_scenarios(&args.paths) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let selection = Selection {
        tags: args.tag.clone(),
        skip_tags: args.skip_tag.clone(),
        filter: args.filter.clone(),
    };
    let scenarios = plan::select(scenarios, &selection);
    if scenarios.is_empty() {
        eprintln!("error: no scenario selected");
        return exit::NOTHING_SELECTED;
    }
    let opts = RunOptions {
        jobs: args
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        strict: args.strict,
        insecure: args.insecure,
        ca_file: args.cacert.clone(),
    };
    let rt = runtime();
    rt.block_on(async {
        let (mut target, mock) = match &args.target {
            Some(path) => match Target::load(path) {
                Ok(t) => (t, None),
                Err(d) => {
                    eprintln!("{d}");
                    return exit::INVALID_INPUT;
                }
            },
            None => match embedded_mock().await {
                Ok(x) => x,
                Err(e) => {
                    eprintln!("error: cannot start the embedded mock: {e}");
                    return exit::INTERNAL;
                }
            },
        };
        let redactor = Arc::new(Redactor::new());
        for s in target.secrets() {
            redactor.add_secret("s", &s);
        }
        let http = run::http_options(&target, &opts);
        let client = match crate::oauth::http::build_client(&http, 64) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::INVALID_INPUT;
            }
        };
        if let Err(e) = run::prepare(&mut target, &client, &http).await {
            eprintln!(
                "error: target unreachable: {}",
                redactor.redact(&e.to_string())
            );
            return exit::TARGET_UNREACHABLE;
        }
        println!(
            "tokenprobe check: {} scenarios against {} ({})",
            scenarios.len(),
            target.name,
            target
                .token_endpoint
                .as_ref()
                .map(|u| u.as_str())
                .unwrap_or("")
        );
        let verbose = args.verbose;
        let result = run::run(target, client, http, redactor, scenarios, &opts, |r| {
            print_line(r, verbose)
        })
        .await;
        if let Some(m) = mock {
            m.shutdown().await;
        }
        println!(
            "\n{}",
            report::terminal::summary(&result, &report::terminal::Style::for_stdout())
        );
        let outputs = if args.report.is_empty() {
            report::default_outputs(&PathBuf::from("reports/latest"))
        } else {
            args.report.clone()
        };
        match report::write_all(&result, &outputs) {
            Ok(paths) => {
                for p in paths {
                    println!("report: {}", p.display());
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                return exit::INTERNAL;
            }
        }
        result.exit_code()
    })
}

fn print_line(r: &ScenarioResult, verbose: u8) {
    let style = report::terminal::Style::for_stdout();
    println!("{}", report::terminal::scenario_line(r, &style));
    let details = report::terminal::details(r, verbose, &style);
    if !details.is_empty() {
        println!("{details}");
    }
}

/// Starts the strict mock on a free loopback port with a virtual clock, and
/// its target (mock-strict.yaml) rebased on the real address.
pub async fn embedded_mock() -> Result<(Target, Option<MockServer>), String> {
    let cfg = MockConfig {
        virtual_clock: true,
        ..MockConfig::strict()
    };
    let server = MockServer::start(cfg, "127.0.0.1:0".parse().expect("loopback address"))
        .await
        .map_err(|e| e.to_string())?;
    let source = crate::yaml::Source::from_str(
        std::path::Path::new("fixtures/targets/mock-strict.yaml"),
        crate::mock::STRICT_TARGET,
    )
    .map_err(|d| d.to_string())?;
    let mut target = Target::from_source(&source, &|_| None).map_err(|d| d.to_string())?;
    target.source = "embedded mock (strict)".into();
    let base = url::Url::parse(&server.base_url()).map_err(|e| e.to_string())?;
    target.rebase(&base);
    Ok((target, Some(server)))
}

fn list(paths: &[PathBuf], format: &str) -> i32 {
    let scenarios = match load_scenarios(paths) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if format == "json" {
        let items: Vec<serde_json::Value> = scenarios
            .iter()
            .map(|s| serde_json::json!({"id": s.id, "title": s.title, "level": s.level.as_str(), "tags": s.tags, "covers": s.covers, "file": s.file, "line": s.line}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&items).unwrap_or_default()
        );
    } else {
        for s in &scenarios {
            println!(
                "{:<40} {:<8} {:<24} {:<20} {}:{}",
                s.id,
                s.level.as_str(),
                s.covers.join(","),
                s.tags.join(","),
                s.file.display(),
                s.line
            );
        }
    }
    exit::OK
}

fn validate(paths: &[PathBuf], targets: &[PathBuf]) -> i32 {
    let mut code = exit::OK;
    match crate::scenario::load(paths) {
        Ok(s) => println!("{} scenarios valid", s.len()),
        Err(d) => {
            eprintln!("{d}");
            code = exit::INVALID_INPUT;
        }
    }
    for t in targets {
        match Target::load(t) {
            Ok(_) => println!("{}: valid", t.display()),
            Err(d) => {
                eprintln!("{d}");
                code = exit::INVALID_INPUT;
            }
        }
    }
    code
}

fn mock(listen: std::net::SocketAddr, virtual_clock: bool) -> i32 {
    let rt = runtime();
    rt.block_on(async {
        if !listen.ip().is_loopback() {
            eprintln!("warning: the mock listens on {listen}, reachable from other machines");
        }
        let cfg = MockConfig {
            virtual_clock,
            ..MockConfig::strict()
        };
        let server = match MockServer::start(cfg, listen).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: cannot listen on {listen}: {e}");
                return exit::INVALID_INPUT;
            }
        };
        println!("{} fixtures/targets/mock-strict.yaml", server.base_url());
        let _ = tokio::signal::ctrl_c().await;
        server.shutdown().await;
        exit::OK
    })
}
