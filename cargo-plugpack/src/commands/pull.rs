//! `cargo plugpack pull REGISTRY/REPO:TAG|@sha256:… -o BUNDLE`

use camino::Utf8PathBuf;
use clap::Args;
use plugpack_core::registry::{self, PullOptions, Reference};
use plugpack_core::{Ctx, Error, Reporter};

use super::push::RegistryArgs;
use crate::cli::OutputFormat;
use crate::exit::CliError;
use crate::shell::Shell;

/// Arguments of `pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// What to pull: REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:….
    #[arg(value_name = "REFERENCE")]
    pub reference: String,
    /// The bundle to write (atomically; nothing is written on failure).
    #[arg(short, long, value_name = "BUNDLE")]
    pub output: Utf8PathBuf,
    /// Registry connection options.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Pulls a plugin with its referrers into a bundle and prints `REGISTRY/REPO@sha256:…`.
pub fn run(args: &PullArgs, shell: &Shell, ctx: &Ctx) -> Result<u8, CliError> {
    let reference = Reference::parse(&args.reference).map_err(Error::from)?;
    let options = PullOptions {
        client: args.registry.client_options(&reference, ctx)?,
    };
    let report = registry::pull(&reference, &args.output, &options, shell).map_err(Error::from)?;
    match shell.format() {
        OutputFormat::Json => shell.json("pulled", &report)?,
        OutputFormat::Human => {
            shell.status(
                "Pulled",
                &format!(
                    "{} ({} manifests, {} referrers, {} blobs, {} bytes)",
                    report.output, report.manifests, report.referrers, report.blobs, report.bytes
                ),
            );
            shell.out(&report.reference)?;
        }
    }
    Ok(0)
}
