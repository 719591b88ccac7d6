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
    /// Also write every attachment (SBOMs, ABI fingerprints, audit reports, notices,
    /// signatures) as `DIR/attachments/<plugin>-<target>.<ext>` (the names `inspect` shows).
    #[arg(long)]
    pub attachments: bool,
    /// Registry options, when BUNDLE is a registry reference.
    #[command(flatten)]
    pub registry: super::push::RegistryArgs,
}

/// Validates a bundle and writes its plugin files.
pub fn run(args: &ExtractArgs, shell: &Shell, ctx: &plugpack_core::Ctx) -> Result<u8, CliError> {
    let input = super::pull::resolve_bundle(&args.bundle, &args.registry, shell, ctx)?;
    let files = if args.attachments {
        oci::extract_with_attachments(input.path(), &args.output)?
    } else {
        oci::extract(input.path(), &args.output)?
    };
    for f in &files {
        match shell.format() {
            OutputFormat::Json => shell.json("extracted-file", f)?,
            OutputFormat::Human => {
                let what = match &f.attachment {
                    Some(kind) => format!("attachment {}", crate::shell::escape(kind)),
                    None => crate::shell::escape(&f.target).into_owned(),
                };
                shell.status(
                    "Extracted",
                    &format!(
                        "{} ({what}, {})",
                        crate::shell::escape(f.path.as_str()),
                        f.digest
                    ),
                );
            }
        }
    }
    Ok(0)
}
