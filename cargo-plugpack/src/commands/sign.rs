//! `cargo plugpack sign BUNDLE --key KEY`

use camino::Utf8PathBuf;
use clap::Args;
use plugpack_core::sign::{self, KeySource, SignOptions};
use plugpack_core::{Ctx, Reporter};

use crate::cli::OutputFormat;
use crate::exit::CliError;
use crate::shell::{Shell, escape};

/// Signing-key flags shared by `sign` and `package`.
#[derive(Debug, Args, Clone)]
pub struct KeyArgs {
    /// Private key (PKCS#8 PEM); default: the PEM in $PLUGPACK_SIGNING_KEY.
    #[arg(long, value_name = "KEY")]
    pub key: Option<Utf8PathBuf>,
    /// Accept a private key file that group or others can read.
    #[arg(long)]
    pub insecure_key_permissions: bool,
    /// Anti-rollback sequence number (default: derived from the version).
    #[arg(long, value_name = "N")]
    pub sequence: Option<u64>,
    /// Signature expiry (RFC 3339, e.g. 2026-12-31T00:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub expires: Option<String>,
    /// Also write a minisign signature of the bundle to BUNDLE.minisig.
    #[arg(long)]
    pub minisign: bool,
}

impl KeyArgs {
    /// Where the key comes from.
    pub fn source(&self) -> KeySource {
        match &self.key {
            Some(path) => KeySource::File {
                path: path.clone(),
                allow_insecure_permissions: self.insecure_key_permissions,
            },
            None => KeySource::Env,
        }
    }

    /// The core's signing options.
    pub fn sign_options(&self) -> SignOptions {
        SignOptions {
            key: self.source(),
            detached: None,
            minisign: self.minisign,
            sequence: self.sequence,
            expires: self.expires.clone(),
            force: false,
            now: None,
            provenance: None,
        }
    }
}

/// Arguments of `sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The bundle tarball (rewritten in place).
    pub bundle: Utf8PathBuf,
    #[command(flatten)]
    pub key: KeyArgs,
    /// Also write the DSSE envelope to FILE.
    #[arg(long, value_name = "FILE")]
    pub detached: Option<Utf8PathBuf>,
    /// Replace an earlier signature by the same key (e.g. to change --expires).
    #[arg(long)]
    pub force: bool,
    /// Attach this existing DSSE envelope instead of signing (like `cosign attach`).
    #[arg(long, value_name = "ENVELOPE", conflicts_with_all = ["key", "detached", "force"])]
    pub attach: Option<Utf8PathBuf>,
    /// Also sign an SLSA provenance v1 statement (source repository and commit of the
    /// current directory's git checkout, its Cargo.lock, `rustc -vV`, the CI builder), as a
    /// second envelope in the signature referrer.
    #[arg(long, conflicts_with = "attach")]
    pub provenance: bool,
}

impl From<&SignArgs> for SignOptions {
    fn from(args: &SignArgs) -> Self {
        SignOptions {
            detached: args.detached.clone(),
            force: args.force,
            ..args.key.sign_options()
        }
    }
}

/// Signs a bundle (or attaches an envelope).
pub fn run(args: &SignArgs, shell: &Shell, ctx: &Ctx) -> Result<u8, CliError> {
    if let Some(envelope) = &args.attach {
        let digest = sign::attach_envelope_file(&args.bundle, envelope)?;
        match shell.format() {
            OutputFormat::Json => shell.json(
                "envelope-attached",
                &serde_json::json!({"bundle": args.bundle, "envelope_digest": digest}),
            )?,
            OutputFormat::Human => {
                shell.status(
                    "Attached",
                    &format!(
                        "{} to {}",
                        escape(envelope.as_str()),
                        escape(args.bundle.as_str())
                    ),
                );
            }
        }
        return Ok(0);
    }
    let mut options: SignOptions = args.into();
    if args.provenance {
        let cwd = std::env::current_dir().map_err(CliError::Io)?;
        let cwd = crate::commands::utf8(&cwd)?;
        options.provenance = Some(plugpack_core::release::provenance::for_bundle(
            ctx,
            &cwd,
            &args.bundle,
        )?);
    }
    let out = sign::sign_bundle(&args.bundle, &options, ctx)?;
    match shell.format() {
        OutputFormat::Json => shell.json("bundle-signed", &out)?,
        OutputFormat::Human => {
            shell.out(&format!("{} {}", out.key_id, escape(out.bundle.as_str())))?
        }
    }
    Ok(0)
}
