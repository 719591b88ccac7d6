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
    /// The bundle tarball.
    pub bundle: Utf8PathBuf,
    /// Directory to write `<target>/<file>` into.
    #[arg(short, long, value_name = "DIR")]
    pub output: Utf8PathBuf,
}

/// Validates a bundle and writes its plugin files.
pub fn run(args: &ExtractArgs, shell: &Shell) -> Result<u8, CliError> {
    let files = oci::extract(&args.bundle, &args.output)?;
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
