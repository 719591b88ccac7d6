//! `cargo plugpack diff OLD NEW [--fail-on KINDS] [--format human|markdown|json]`

use camino::Utf8PathBuf;
use clap::Args;
use plugpack_core::Ctx;
use plugpack_core::diff::{self, FailOn};

use crate::cli::{GlobalArgs, MessageFormat};
use crate::exit::{CliError, POLICY};
use crate::shell::Shell;

/// Arguments of `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older release: a bundle, registry reference, or CycloneDX/SPDX JSON file.
    pub old: Utf8PathBuf,
    /// The newer release.
    pub new: Utf8PathBuf,
    /// Exit 1 when one of these kinds of change appears (comma-separated): new-advisory,
    /// new-license, abi-major, signer-change.
    #[arg(long, value_name = "KINDS", value_delimiter = ',')]
    pub fail_on: Vec<String>,
    /// Registry options, when OLD or NEW is a registry reference.
    #[command(flatten)]
    pub registry: super::push::RegistryArgs,
}

/// Compares two releases.
pub fn run(args: &DiffArgs, global: &GlobalArgs, shell: &Shell, ctx: &Ctx) -> Result<u8, CliError> {
    let fail_on = args
        .fail_on
        .iter()
        .map(|k| k.parse::<FailOn>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| plugpack_core::Error::Usage(e.to_string()))?;
    let resolve = |p: &Utf8PathBuf| -> Result<_, CliError> {
        if p.exists() {
            return Ok(None);
        }
        Ok(Some(super::pull::resolve_bundle(
            p,
            &args.registry,
            shell,
            ctx,
        )?))
    };
    let old_pulled = resolve(&args.old)?;
    let new_pulled = resolve(&args.new)?;
    let old = old_pulled.as_ref().map_or(args.old.as_path(), |i| i.path());
    let new = new_pulled.as_ref().map_or(args.new.as_path(), |i| i.path());
    let d = diff::diff(old, new, ctx)?;
    let text = match global.message_format {
        MessageFormat::Human => diff::render_human(&d),
        MessageFormat::Markdown => diff::render_markdown(&d),
        MessageFormat::Json => diff::render_json(&d),
        other => {
            return Err(other
                .unsupported("diff", "human (default), markdown, json")
                .into());
        }
    };
    {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()?;
    }
    let failed = fail_on.iter().any(|k| d.triggered.contains(k));
    Ok(if failed { POLICY } else { 0 })
}
