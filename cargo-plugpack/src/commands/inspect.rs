//! `cargo plugpack inspect BUNDLE`

use camino::Utf8PathBuf;
use clap::Args;
use plugpack_core::oci;

use crate::cli::OutputFormat;
use crate::exit::CliError;
use crate::shell::{Shell, escape};

/// Arguments of `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The bundle tarball, or a registry reference (REGISTRY/REPO:TAG or @sha256:…).
    pub bundle: Utf8PathBuf,
    /// Print JSON (same as --message-format json).
    #[arg(long)]
    pub json: bool,
    /// Registry options, when BUNDLE is a registry reference.
    #[command(flatten)]
    pub registry: super::push::RegistryArgs,
}

/// Validates and describes a bundle.
pub fn run(args: &InspectArgs, shell: &Shell, ctx: &plugpack_core::Ctx) -> Result<u8, CliError> {
    let input = super::pull::resolve_bundle(&args.bundle, &args.registry, shell, ctx)?;
    let layout = oci::read_bundle(input.path())?;
    let info = oci::inspect(&layout)?;
    if args.json || shell.format() != OutputFormat::Human {
        shell.json("bundle-info", &info)?;
        return Ok(0);
    }
    // Every string below comes from the bundle: escaped (see `shell::escape`).
    shell.out(&format!("bundle   {}", escape(args.bundle.as_str())))?;
    shell.out(&format!(
        "tag      {}",
        escape(info.tag.as_deref().unwrap_or("-"))
    ))?;
    shell.out(&format!(
        "entry    {} {} ({} bytes)",
        escape(&info.media_type),
        info.digest,
        info.size
    ))?;
    for m in &info.manifests {
        shell.out("")?;
        shell.out(&format!(
            "manifest {} ({} bytes)  target {}  platform {}",
            m.digest,
            m.size,
            escape(m.target.as_deref().unwrap_or("-")),
            escape(m.platform.as_deref().unwrap_or("-"))
        ))?;
        shell.out(&format!(
            "  config {} {} ({} bytes)",
            escape(&m.config.media_type),
            m.config.digest,
            m.config.size
        ))?;
        for l in &m.layers {
            shell.out(&format!(
                "  layer  {} {} ({} bytes) {}",
                escape(&l.media_type),
                l.digest,
                l.size,
                escape(l.title.as_deref().unwrap_or(""))
            ))?;
        }
        for (k, v) in &m.annotations {
            shell.out(&format!("  {} = {}", escape(k), escape(v)))?;
        }
    }
    for r in &info.referrers {
        shell.out("")?;
        shell.out(&format!(
            "referrer {} {} → {}",
            r.digest,
            escape(r.artifact_type.as_deref().unwrap_or("-")),
            r.subject
        ))?;
        for (i, l) in r.layers.iter().enumerate() {
            shell.out(&format!(
                "  layer  {} {} ({} bytes) {}",
                escape(&l.media_type),
                l.digest,
                l.size,
                escape(r.files.get(i).map(String::as_str).unwrap_or(""))
            ))?;
        }
    }
    Ok(0)
}
