//! `cargo plugpack package`

use camino::Utf8PathBuf;
use clap::Args;
use plugpack_core::pipeline::{self, PackageOptions};
use plugpack_core::{Ctx, project};

use crate::cli::{GlobalArgs, OutputFormat, ProjectArgs};
use crate::exit::CliError;
use crate::shell::{Shell, escape};

/// Arguments of `package`.
#[derive(Debug, Args)]
pub struct PackageArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Output tarball (default: <target-dir>/plugpack/<name>-<version>.oci.tar).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<Utf8PathBuf>,
    /// Package this prebuilt file instead of building (repeatable, one per --target).
    #[arg(long, value_name = "PATH")]
    pub artifact: Vec<Utf8PathBuf>,
    /// Sign each bundle with the key in $PLUGPACK_SIGNING_KEY (implied by --key).
    #[arg(long)]
    pub sign: bool,
    #[command(flatten)]
    pub signing: crate::commands::sign::KeyArgs,
    /// Do not embed the dependency list (cargo-auditable `.dep-v0`) into the artifacts.
    #[arg(long)]
    pub no_embed_deps: bool,
    /// Bundle even when the audit has denied findings (the report is attached either way).
    #[arg(long)]
    pub allow_findings: bool,
    /// Advisory database directory for the audit (default: the policy's `db`, else $CARGO_HOME/advisory-db).
    #[arg(long, value_name = "PATH")]
    pub db: Option<Utf8PathBuf>,
}

/// Builds and bundles.
pub fn run(
    args: &PackageArgs,
    global: &GlobalArgs,
    shell: &Shell,
    ctx: &Ctx,
) -> Result<u8, CliError> {
    let project = project::load(ctx, &args.project.load_options()?)?;
    let options = PackageOptions {
        output: args.output.clone(),
        artifacts: args.artifact.clone(),
        sign: (args.sign || args.signing.key.is_some()).then(|| args.signing.sign_options()),
        no_embed_dependencies: args.no_embed_deps,
        allow_findings: args.allow_findings,
        audit: plugpack_core::audit::ScanOptions {
            db: args.db.clone(),
            today: None,
            ..Default::default()
        },
    };
    let out = pipeline::package(
        &project,
        &args.project.build_options(global, shell),
        &options,
        ctx,
    )?;
    for bundle in &out.bundles {
        match shell.format() {
            OutputFormat::Json => shell.json("bundle-written", bundle)?,
            OutputFormat::Human => {
                use plugpack_core::Reporter;
                shell.status(
                    "Packaged",
                    &format!(
                        "{} v{} → {} ({})",
                        escape(&bundle.plugin),
                        escape(&bundle.version),
                        escape(bundle.path.as_str()),
                        bundle.info.digest
                    ),
                );
                shell.out(&escape(bundle.path.as_str()))?;
            }
        }
    }
    Ok(0)
}
