//! `cargo-plugpack`: the thin command-line front of plugpack-core. It parses arguments,
//! builds a `Ctx`, makes one core call per command, renders the result and picks the exit
//! code. It is the only code that prints.
//!
//! Exit codes: 0 success; 1 finished but a policy failed; 2 usage or configuration error;
//! 3 advisory database unusable; 4 build or `cargo metadata` failure; 5 invalid input file
//! (bundle, artifact, key); 6 could not write output; 7 `abi-check`: the version bump is
//! smaller than the ABI changes require; 101 internal error. A broken pipe on
//! stdout exits 0.

#![deny(clippy::print_stdout, clippy::print_stderr)]

mod cli;
mod commands;
mod exit;
mod shell;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use cli::CargoCli;
use shell::Shell;

fn main() -> ExitCode {
    // `cargo plugpack X` runs `cargo-plugpack plugpack X`; allow `cargo-plugpack X` too.
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).map(|a| a != "plugpack").unwrap_or(true) {
        args.insert(1, "plugpack".into());
    }
    let CargoCli::Plugpack(cli) = match CargoCli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(exit::USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let env_color = std::env::var("CARGO_TERM_COLOR").ok();
    let shell = Shell::new(
        cli.global.color,
        env_color.as_deref(),
        cli.global.quiet,
        cli.global.message_format,
    );
    init_tracing(cli.global.verbose, shell.color());
    let ctx = plugpack_core::Ctx::from_process_env(Arc::new(shell.clone()));
    match commands::run(&cli, &shell, &ctx) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if err.is_broken_pipe() {
                return ExitCode::SUCCESS;
            }
            shell.error(err.as_error());
            if shell.format() == cli::OutputFormat::Json {
                // Machines get the failure on stdout too, with the exit code it maps to.
                let mut chain = Vec::new();
                let mut source: Option<&dyn std::error::Error> = Some(err.as_error());
                while let Some(e) = source {
                    chain.push(e.to_string());
                    source = e.source();
                }
                let _ = shell.json(
                    "error",
                    &serde_json::json!({ "exit_code": err.exit_code(), "messages": chain }),
                );
            }
            ExitCode::from(err.exit_code())
        }
    }
}

/// The debug log (`-v`) follows the same colour choice as the status lines.
fn init_tracing(verbose: u8, color: bool) {
    let level = match verbose {
        0 => "warn",
        1 => "plugpack_core=debug,cargo_plugpack=debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PLUGPACK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // Seconds since start on each line: where a run spends its time, without a profiler.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_timer(tracing_subscriber::fmt::time::uptime())
        .try_init();
}
