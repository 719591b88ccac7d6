//! `cargo plugpack notices [BUNDLE] [-o FILE] [--format text|html|json]`

use camino::Utf8PathBuf;
use clap::Args;
use plugpack_core::notices::{self, Notices};
use plugpack_core::{Ctx, Reporter, pipeline};

use crate::cli::{GlobalArgs, MessageFormat, ProjectArgs};
use crate::exit::CliError;
use crate::shell::Shell;

/// Arguments of `notices`.
#[derive(Debug, Args)]
pub struct NoticesArgs {
    /// Read the notices stored in this bundle (or registry reference) instead of building the
    /// project.
    #[arg(value_name = "BUNDLE")]
    pub bundle: Option<Utf8PathBuf>,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Write to FILE instead of stdout (exactly one plugin).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<Utf8PathBuf>,
    /// Do not run cargo: use the artifacts of the last `cargo plugpack build` with the same
    /// flags, from its build record.
    #[arg(long, conflicts_with = "bundle")]
    pub no_build: bool,
    /// Registry options, when BUNDLE is a registry reference.
    #[command(flatten)]
    pub registry: super::push::RegistryArgs,
}

/// Collects (or reads) and renders the third-party notices.
pub fn run(
    args: &NoticesArgs,
    global: &GlobalArgs,
    shell: &Shell,
    ctx: &Ctx,
) -> Result<u8, CliError> {
    let render = |n: &Notices| -> Result<String, CliError> {
        Ok(match global.message_format {
            MessageFormat::Human | MessageFormat::Text => notices::render_text(n),
            MessageFormat::Html => notices::render_html(n).map_err(plugpack_core::Error::from)?,
            MessageFormat::Json => {
                let mut s = String::from_utf8_lossy(&n.to_json()).into_owned();
                s.push('\n');
                s
            }
            other => {
                return Err(other
                    .unsupported("notices", "text (default), html, json")
                    .into());
            }
        })
    };
    let all = match &args.bundle {
        Some(bundle) => {
            let input = super::pull::resolve_bundle(bundle, &args.registry, shell, ctx)?;
            vec![Notices::from_bundle(input.path())?]
        }
        None => pipeline::notices(
            &args.project.load_options()?,
            &args.project.build_options(global, shell),
            args.no_build,
            ctx,
        )?,
    };
    let mut text = String::new();
    for n in &all {
        for c in n.crates.iter().filter(|c| c.missing_license_text) {
            shell.warn(&format!(
                "{} {}: no licence text found in its sources",
                crate::shell::escape(&c.name),
                crate::shell::escape(&c.version)
            ));
        }
        text.push_str(&render(n)?);
    }
    match &args.output {
        Some(path) => {
            if all.len() != 1 {
                return Err(plugpack_core::Error::Usage(format!(
                    "{} plugins selected but -o names one file; select one with -p NAME",
                    all.len()
                ))
                .into());
            }
            notices::write(path, text.as_bytes()).map_err(plugpack_core::Error::from)?;
            shell.status("Wrote", &format!("third-party notices → {path}"));
        }
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
        }
    }
    Ok(0)
}
