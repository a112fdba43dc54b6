//! Every flag and argument of every command says what it is for, and the
//! printing commands survive a closed pipe.

use clap::CommandFactory;
use std::io::Read;
use std::process::{Command, Stdio};

fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        if id == "help" || id == "version" {
            continue;
        }
        let said = arg
            .get_help()
            .is_some_and(|h| !h.to_string().trim().is_empty());
        if !said {
            missing.push(format!("{path} {id}"));
        }
    }
    for sub in cmd.get_subcommands() {
        if sub
            .get_about()
            .is_none_or(|a| a.to_string().trim().is_empty())
        {
            missing.push(format!("{path} {} (no about)", sub.get_name()));
        }
        walk(sub, &format!("{path} {}", sub.get_name()), missing);
    }
}

#[test]
fn every_flag_and_argument_has_a_help_line() {
    let cmd = tokenprobe::cli::Cli::command();
    let mut missing = Vec::new();
    walk(&cmd, "tokenprobe", &mut missing);
    assert!(
        missing.is_empty(),
        "without help text:\n{}",
        missing.join("\n")
    );
}

#[test]
fn printing_commands_survive_a_closed_pipe() {
    for args in [
        &["completions", "bash"][..],
        &["list"],
        &["list", "--coverage"],
        &["schema", "scenario"],
        &["mock", "--list-faults"],
        &["--help"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read one byte, then close the pipe (as `| head -c1` does).
        let mut stdout = child.stdout.take().unwrap();
        let mut one = [0u8; 1];
        let _ = stdout.read(&mut one);
        drop(stdout);
        let out = child.wait_with_output().unwrap();
        let code = out.status.code();
        assert!(
            code == Some(0),
            "{args:?}: exit {code:?}, {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
