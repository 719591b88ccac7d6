//! `cargo plugpack keygen -o NAME`

use camino::Utf8PathBuf;
use clap::Args;
use plugpack_core::Reporter;
use plugpack_core::sign::{self, KeygenOptions};

use crate::cli::OutputFormat;
use crate::exit::CliError;
use crate::shell::{Shell, escape};

/// Arguments of `keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Output stem: writes NAME.key (private, mode 0600) and NAME.pub; a directory
    /// (existing, or ending in `/`) gets signing.key and signing.pub.
    #[arg(short, long, value_name = "NAME|DIR")]
    pub output: Utf8PathBuf,
    /// Overwrite existing key files.
    #[arg(long)]
    pub force: bool,
    /// Also write NAME.minisign.key / NAME.minisign.pub in minisign's formats.
    #[arg(long)]
    pub minisign: bool,
}

impl From<&KeygenArgs> for KeygenOptions {
    fn from(args: &KeygenArgs) -> Self {
        KeygenOptions {
            output: args.output.clone(),
            force: args.force,
            minisign: args.minisign,
        }
    }
}

/// Creates an Ed25519 key pair.
pub fn run(args: &KeygenArgs, shell: &Shell) -> Result<u8, CliError> {
    let out = sign::keygen(&args.into())?;
    match shell.format() {
        OutputFormat::Json => shell.json("key-generated", &out)?,
        OutputFormat::Human => {
            shell.status(
                "Generated",
                &format!(
                    "Ed25519 key {} ({}, {})",
                    out.key_id,
                    escape(out.private_key.as_str()),
                    escape(out.public_key.as_str())
                ),
            );
            shell.out(&out.key_id.0)?;
        }
    }
    Ok(0)
}
