//! `cargo plugpack merge A.oci.tar B.oci.tar … -o ALL.oci.tar`

use camino::Utf8PathBuf;
use clap::Args;
use plugpack_core::{Reporter, oci};

use crate::cli::OutputFormat;
use crate::exit::CliError;
use crate::shell::Shell;

/// Arguments of `merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Per-target bundles of one plugin version.
    #[arg(required = true, num_args = 2..)]
    pub bundles: Vec<Utf8PathBuf>,
    /// The merged bundle.
    #[arg(short, long, value_name = "BUNDLE")]
    pub output: Utf8PathBuf,
}

/// Merges per-target bundles into one image index, keeping every per-target referrer.
pub fn run(args: &MergeArgs, shell: &Shell) -> Result<u8, CliError> {
    let report = oci::merge(&args.bundles, &args.output)?;
    if !report.dropped_referrers.is_empty() {
        shell.warn(&format!(
            "dropped {} index-level referrer(s) ({}): they covered an input's image index, which the merged index replaces; run `cargo plugpack sign {}` to sign the merged index",
            report.dropped_referrers.len(),
            report
                .dropped_referrers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            args.output
        ));
    }
    match shell.format() {
        OutputFormat::Json => shell.json("merged", &report)?,
        OutputFormat::Human => {
            shell.status(
                "Merged",
                &format!(
                    "{} bundles → {} ({} targets, {} referrers, index {})",
                    args.bundles.len(),
                    args.output,
                    report.bundle.manifests.len(),
                    report.bundle.referrers.len(),
                    report.bundle.digest
                ),
            );
        }
    }
    Ok(0)
}
