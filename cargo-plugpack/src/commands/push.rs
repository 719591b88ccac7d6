//! `cargo plugpack push BUNDLE REGISTRY/REPO[:TAG…]`, and the registry options `pull` shares.

use std::io::Read;

use camino::Utf8PathBuf;
use clap::Args;
use plugpack_core::registry::{
    self, ClientOptions, Credentials, PushOptions, Reference, Transport,
};
use plugpack_core::{Ctx, Error, Reporter};

use crate::cli::OutputFormat;
use crate::exit::CliError;
use crate::shell::Shell;

/// Registry connection options (`push`, `pull`).
#[derive(Debug, Args, Clone)]
pub struct RegistryArgs {
    /// User name for the registry (the password is read from stdin with --password-stdin).
    #[arg(long, value_name = "NAME", requires = "password_stdin")]
    pub username: Option<String>,
    /// Read the registry password or token from stdin (one line).
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
    /// Plain HTTP instead of HTTPS; only for loopback hosts (local test registries).
    #[arg(long)]
    pub insecure: bool,
    /// Plain HTTP to any host, not only loopback (credentials and content travel unprotected).
    #[arg(long)]
    pub insecure_any_host: bool,
}

impl RegistryArgs {
    /// Transport and credentials: `--username` + `--password-stdin`, then
    /// `PLUGPACK_REGISTRY_USERNAME`/`PLUGPACK_REGISTRY_PASSWORD`, then the Docker config file
    /// (`auths`, `credHelpers`, `credsStore`), then anonymous.
    pub fn client_options(
        &self,
        reference: &Reference,
        ctx: &Ctx,
    ) -> Result<ClientOptions, CliError> {
        let credentials = if let (Some(user), true) = (&self.username, self.password_stdin) {
            let mut password = String::new();
            std::io::stdin()
                .take(64 * 1024)
                .read_to_string(&mut password)
                .map_err(|e| Error::Usage(format!("cannot read the password from stdin: {e}")))?;
            let password = password.trim_end_matches(['\n', '\r']).to_owned();
            if password.is_empty() {
                return Err(Error::Usage("--password-stdin: stdin was empty".to_owned()).into());
            }
            Some(Credentials::new(user.clone(), password))
        } else {
            match (
                ctx.var("PLUGPACK_REGISTRY_USERNAME"),
                ctx.var("PLUGPACK_REGISTRY_PASSWORD"),
            ) {
                (Some(u), Some(p)) if !u.is_empty() => Some(Credentials::new(u, p)),
                _ => registry::docker_config_credentials(ctx, &reference.registry)
                    .map_err(Error::from)?,
            }
        };
        Ok(ClientOptions {
            transport: if self.insecure_any_host {
                Transport::InsecureAnyHost
            } else if self.insecure {
                Transport::InsecureLoopback
            } else {
                Transport::Https
            },
            credentials,
        })
    }
}

/// Arguments of `push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The bundle tarball.
    pub bundle: Utf8PathBuf,
    /// Where to push: REGISTRY/REPO, optionally with tags (`:1.0.0,latest`); the bundle's
    /// version tag is always added.
    #[arg(value_name = "REGISTRY/REPO[:TAG…]")]
    pub reference: String,
    /// Mount blobs the registry already has in this repository instead of uploading them.
    #[arg(long, value_name = "REPO")]
    pub mount_from: Option<String>,
    /// Upload blobs larger than BYTES in chunks of BYTES (PATCH, resumed after a failed
    /// chunk; one chunk is held in memory). Default: one streamed PUT per blob.
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..=1 << 30))]
    pub chunk_size: Option<u64>,
    /// Registry connection options.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Pushes a bundle (blobs, manifests, index, referrers) and prints `REGISTRY/REPO@sha256:…`.
pub fn run(args: &PushArgs, shell: &Shell, ctx: &Ctx) -> Result<u8, CliError> {
    let reference = Reference::parse(&args.reference).map_err(Error::from)?;
    let options = PushOptions {
        client: args.registry.client_options(&reference, ctx)?,
        mount_from: args.mount_from.clone(),
        chunk_size: args.chunk_size,
    };
    let report = registry::push(&args.bundle, &reference, &options, shell).map_err(Error::from)?;
    match shell.format() {
        OutputFormat::Json => shell.json("pushed", &report)?,
        OutputFormat::Human => {
            shell.status(
                "Pushed",
                &format!(
                    "{} (tags {}; {} blobs uploaded, {} bytes, {} already present; {} manifests new; {} referrers{})",
                    args.bundle,
                    report.tags.join(", "),
                    report.blobs_uploaded,
                    report.bytes_uploaded,
                    report.blobs_skipped,
                    report.manifests_pushed,
                    report.referrers,
                    if report.referrers_api {
                        ", referrers API"
                    } else {
                        ", fallback tags"
                    }
                ),
            );
            shell.out(&report.reference)?;
        }
    }
    Ok(0)
}
