//! `cargo plugpack report BUNDLE [-o FILE] [--format html|markdown|json] [--template FILE]`

use camino::Utf8PathBuf;
use clap::Args;
use plugpack_core::report::{self, ReportOptions};
use plugpack_core::verify::VerifyOptions;
use plugpack_core::{Ctx, Reporter};

use crate::cli::{GlobalArgs, MessageFormat};
use crate::exit::CliError;
use crate::shell::Shell;

/// Arguments of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The bundle tarball, or a registry reference.
    pub bundle: Utf8PathBuf,
    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<Utf8PathBuf>,
    /// HTML template (minijinja) replacing the built-in `templates/report.html.j2`.
    #[arg(long, value_name = "FILE")]
    pub template: Option<Utf8PathBuf>,
    /// Compare the ABI against this bundle or `plugpack-abi/1` document.
    #[arg(long, value_name = "BUNDLE|JSON")]
    pub baseline: Option<Utf8PathBuf>,
    /// Verify the signatures with this public key (repeatable); shown in the verdict.
    #[arg(long, value_name = "PUB")]
    pub key: Vec<Utf8PathBuf>,
    /// Verify the signatures under this trust policy; shown in the verdict.
    #[arg(long, value_name = "FILE", conflicts_with = "key")]
    pub policy: Option<Utf8PathBuf>,
    /// Registry options, when BUNDLE is a registry reference.
    #[command(flatten)]
    pub registry: super::push::RegistryArgs,
}

/// Builds and renders the report.
pub fn run(
    args: &ReportArgs,
    global: &GlobalArgs,
    shell: &Shell,
    ctx: &Ctx,
) -> Result<u8, CliError> {
    let format = match global.message_format {
        MessageFormat::Human | MessageFormat::Html => MessageFormat::Html,
        MessageFormat::Markdown => MessageFormat::Markdown,
        MessageFormat::Json => MessageFormat::Json,
        other => {
            return Err(other
                .unsupported("report", "html (default), markdown, json")
                .into());
        }
    };
    let input = super::pull::resolve_bundle(&args.bundle, &args.registry, shell, ctx)?;
    let verify = (!args.key.is_empty() || args.policy.is_some()).then(|| VerifyOptions {
        bundle: input.path().to_owned(),
        keys: args.key.clone(),
        policy: args.policy.clone(),
        state: None,
        allow_downgrade: false,
        host_abi: None,
        provenance: None,
        host_provides: Vec::new(),
    });
    let options = ReportOptions {
        verify,
        baseline: args.baseline.clone(),
    };
    let mut report = report::build(input.path(), &options, ctx)?;
    // Name the bundle as the user gave it, not the temporary pull location.
    report.bundle = args
        .bundle
        .file_name()
        .unwrap_or(args.bundle.as_str())
        .to_owned();
    let text = match format {
        MessageFormat::Markdown => report::render_markdown(&report),
        MessageFormat::Json => report::render_json(&report),
        _ => {
            let template = match &args.template {
                Some(path) => Some(std::fs::read_to_string(path).map_err(|source| {
                    plugpack_core::Error::from(report::Error::Template {
                        path: path.clone(),
                        source,
                    })
                })?),
                None => None,
            };
            report::render_html(&report, template.as_deref()).map_err(plugpack_core::Error::from)?
        }
    };
    match &args.output {
        Some(path) => {
            report::write(path, text.as_bytes()).map_err(plugpack_core::Error::from)?;
            shell.status("Wrote", &format!("compliance report → {path}"));
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
