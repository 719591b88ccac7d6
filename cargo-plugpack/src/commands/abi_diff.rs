//! `cargo plugpack abi-diff OLD NEW`

use camino::Utf8PathBuf;
use clap::Args;
use plugpack_core::Error;
use plugpack_core::fingerprint::{self, AbiDiff};

use crate::cli::OutputFormat;
use crate::exit::CliError;
use crate::shell::Shell;

/// Arguments of `abi-diff`.
#[derive(Debug, Args)]
pub struct AbiDiffArgs {
    /// The old side: fingerprint JSON, artifact or bundle.
    pub old: Utf8PathBuf,
    /// The new side: fingerprint JSON, artifact or bundle.
    pub new: Utf8PathBuf,
}

/// Prints every change and the semver verdict.
pub fn run(args: &AbiDiffArgs, shell: &Shell) -> Result<u8, CliError> {
    let diff = fingerprint::diff_paths(&args.old, &args.new).map_err(Error::from)?;
    match shell.format() {
        OutputFormat::Json => shell.json("abi-diff", &diff)?,
        OutputFormat::Human => print_diff(shell, &diff)?,
    }
    Ok(0)
}

/// Human rendering of a diff (also used by `abi-check`).
pub fn print_diff(shell: &Shell, diff: &AbiDiff) -> std::io::Result<()> {
    for c in &diff.changes {
        shell.out(&format!(
            "{:<6} {:<18} {}: {}",
            c.bump.to_string(),
            serde_json::to_value(c.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            c.symbol,
            c.reason
        ))?;
    }
    if diff.changes.is_empty() {
        shell.out("no ABI changes")?;
    }
    for warning in &diff.api_changes {
        shell.out(&format!("warning: {warning}"))?;
    }
    shell.out(&format!(
        "verdict: {} ({} change(s), compared at the {} level)",
        diff.verdict,
        diff.changes.len(),
        diff.detail
    ))
}
