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
    /// Pull one target out of a multi-target index: `os/arch` as in the index
    /// (e.g. `linux/amd64`, `wasip1/wasm`).
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// Registry connection options.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Pulls a plugin with its referrers into a bundle and prints `REGISTRY/REPO@sha256:…`.
pub fn run(args: &PullArgs, shell: &Shell, ctx: &Ctx) -> Result<u8, CliError> {
    let reference = Reference::parse(&args.reference).map_err(Error::from)?;
    let options = PullOptions {
        client: args.registry.client_options(&reference, ctx)?,
        platform: args.platform.clone(),
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

/// A bundle argument: a file, or a registry reference (`REGISTRY/REPO:TAG`, `@sha256:…`)
/// pulled into a temporary bundle first.
pub enum BundleInput {
    /// A file given on the command line.
    File(Utf8PathBuf),
    /// Pulled; removed when dropped.
    Pulled(registry::TemporaryBundle),
}

impl BundleInput {
    /// The bundle to read.
    pub fn path(&self) -> &camino::Utf8Path {
        match self {
            BundleInput::File(p) => p,
            BundleInput::Pulled(t) => t.path(),
        }
    }
}

/// An existing path is a bundle; otherwise a string that parses as a registry reference with
/// a tag or digest is pulled (verifying every blob) into a temporary bundle.
pub fn resolve_bundle(
    arg: &camino::Utf8Path,
    registry_args: &RegistryArgs,
    shell: &Shell,
    ctx: &Ctx,
) -> Result<BundleInput, CliError> {
    if arg.exists() {
        return Ok(BundleInput::File(arg.to_owned()));
    }
    match Reference::parse(arg.as_str()) {
        Ok(reference) if reference.digest.is_some() || reference.tags.len() == 1 => {
            let options = PullOptions {
                client: registry_args.client_options(&reference, ctx)?,
                platform: None,
            };
            let pulled =
                registry::pull_temporary(&reference, &options, shell).map_err(Error::from)?;
            shell.status("Pulled", &pulled.report.reference);
            Ok(BundleInput::Pulled(pulled))
        }
        _ => Ok(BundleInput::File(arg.to_owned())),
    }
}
