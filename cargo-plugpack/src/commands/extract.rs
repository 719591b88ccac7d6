//! `cargo plugpack extract BUNDLE -o DIR`

use camino::Utf8PathBuf;
use clap::Args;
use plugpack_core::{Reporter, oci};

use crate::cli::OutputFormat;
use crate::exit::CliError;
use crate::shell::Shell;

/// Arguments of `extract`.
#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// The bundle tarball, or a registry reference (REGISTRY/REPO:TAG or @sha256:…).
    pub bundle: Utf8PathBuf,
    /// Directory to write `<target>/<file>` into.
    #[arg(short, long, value_name = "DIR")]
    pub output: Utf8PathBuf,
    /// Registry options, when BUNDLE is a registry reference.
    #[command(flatten)]
    pub registry: super::push::RegistryArgs,
}

/// Validates a bundle and writes its plugin files.
pub fn run(args: &ExtractArgs, shell: &Shell, ctx: &plugpack_core::Ctx) -> Result<u8, CliError> {
    let input = super::pull::resolve_bundle(&args.bundle, &args.registry, shell, ctx)?;
    let files = oci::extract(input.path(), &args.output)?;
    for f in &files {
        match shell.format() {
            OutputFormat::Json => shell.json("extracted-file", f)?,
            OutputFormat::Human => {
                shell.status(
                    "Extracted",
                    &format!("{} ({}, {})", f.path, f.target, f.digest),
                );
            }
        }
    }
    Ok(0)
}
