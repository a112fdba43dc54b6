//! `tokenprobe report merge`: the shards' JSON reports of a distributed
//! load run added up into one, thresholds judged over the whole.

use super::CliError;
use super::load::{fail, show_and_write};
use crate::exit;
use crate::load::result::LoadReport;
use crate::report::load::Output;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// The shards' JSON reports (`load --shard I/N --report json=…`).
    #[arg(required = true, value_name = "REPORT")]
    pub files: Vec<PathBuf>,
    /// Judge these over the merged run instead of the shards' own (repeatable).
    #[arg(long)]
    pub threshold: Vec<crate::load::threshold::Threshold>,
    /// FORMAT=PATH: json, markdown, html, har (the shards' first failures); default reports/merged/{report.json,summary.md,report.html}.
    #[arg(long)]
    pub report: Vec<Output>,
}

/// `tokenprobe report merge`: exit 0, 5 when a threshold is breached over
/// the merged run, 2 when the set cannot be merged (with why).
pub fn merge(args: MergeArgs) -> i32 {
    let thresholds = (!args.threshold.is_empty()).then(|| args.threshold.clone());
    let mut reports = Vec::new();
    for path in &args.files {
        let read = std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<LoadReport>(&b).map_err(|e| e.to_string()));
        match read {
            Ok(r) => reports.push((path.clone(), r)),
            Err(e) => {
                return fail(CliError::Input(format!(
                    "{}: not a load report ({e})",
                    path.display()
                )));
            }
        }
    }
    let doc = match crate::load::merge::merge(&reports, thresholds) {
        Ok(d) => d,
        Err(e) => return fail(CliError::Input(e.to_string())),
    };
    eprintln!(
        "merged {} shard{} of {} ({})",
        doc.shards.len(),
        if doc.shards.len() == 1 { "" } else { "s" },
        doc.target,
        doc.token_endpoint
    );
    let outputs = Output::or_defaults(&args.report, Path::new("reports/merged"));
    if let Err(code) = show_and_write(&doc, &outputs) {
        return code;
    }
    if doc.thresholds.iter().any(|t| !t.passed) {
        exit::THRESHOLD_BREACHED
    } else {
        exit::OK
    }
}
