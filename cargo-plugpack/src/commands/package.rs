//! `cargo plugpack package`

use camino::Utf8PathBuf;
use clap::Args;
use plugpack_core::pipeline::{self, PackageOptions};
use plugpack_core::sign::{SIGNING_KEY_ENV, SignOptions};
use plugpack_core::{Ctx, project};

use crate::cli::{GlobalArgs, OutputFormat, ProjectArgs};
use crate::exit::CliError;
use crate::shell::Shell;

/// Arguments of `package`.
#[derive(Debug, Args)]
pub struct PackageArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Output tarball, or a directory (existing, or ending in `/`) for the default file name
    /// [default: <target-dir>/plugpack/<name>-<version>.oci.tar; other profiles than release
    /// add `-<profile>` before `.oci.tar`]
    #[arg(short, long, value_name = "FILE|DIR")]
    pub output: Option<Utf8PathBuf>,
    /// Build with the dev profile (`package` builds release unless told otherwise, as
    /// `cargo install` does); same as --profile dev.
    #[arg(long, conflicts_with_all = ["release", "profile"])]
    pub debug: bool,
    /// Package this prebuilt file instead of building (repeatable, one per --target).
    #[arg(long, value_name = "PATH")]
    pub artifact: Vec<Utf8PathBuf>,
    /// Require a signature: fail when neither --key nor $PLUGPACK_SIGNING_KEY gives a key
    /// (without --sign, `package` signs whenever one of them does).
    #[arg(long)]
    pub sign: bool,
    /// Do not sign, even with $PLUGPACK_SIGNING_KEY set.
    #[arg(long, conflicts_with_all = ["sign", "key"])]
    pub no_sign: bool,
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
    use plugpack_core::Reporter;
    let options = PackageOptions {
        output: args.output.clone(),
        artifacts: args.artifact.clone(),
        sign: signing(args, shell, ctx),
        no_embed_dependencies: args.no_embed_deps,
        allow_findings: args.allow_findings,
        audit: plugpack_core::audit::ScanOptions {
            db: args.db.clone(),
            today: None,
            ..Default::default()
        },
    };
    let mut build_options = args.project.build_options(global, shell);
    // Release unless the user chose a profile: a debug plugin is never what one ships.
    if !args.debug && build_options.profile.profile.is_none() {
        build_options.profile.release = true;
    }
    let out = pipeline::package(&project, &build_options, &options, ctx)?;
    for bundle in &out.bundles {
        match shell.format() {
            OutputFormat::Json => shell.json("bundle-written", bundle)?,
            OutputFormat::Human => {
                shell.status(
                    "Packaged",
                    &format!(
                        "{} v{} → {} ({})",
                        bundle.plugin, bundle.version, bundle.path, bundle.info.digest
                    ),
                );
                shell.out(bundle.path.as_str())?;
            }
        }
    }
    Ok(0)
}

/// Whether and with which key to sign: `--key FILE`, or `--sign`, or a key in
/// `$PLUGPACK_SIGNING_KEY` (announced, since it changes what is written), unless `--no-sign`.
fn signing(args: &PackageArgs, shell: &Shell, ctx: &Ctx) -> Option<SignOptions> {
    use plugpack_core::Reporter;
    if args.no_sign {
        return None;
    }
    if args.signing.key.is_some() || args.sign {
        return Some(args.signing.sign_options());
    }
    let from_env = ctx
        .var(SIGNING_KEY_ENV)
        .is_some_and(|pem| !pem.trim().is_empty());
    from_env.then(|| {
        shell.status(
            "Signing",
            &format!("bundles with the key from ${SIGNING_KEY_ENV} (--no-sign to skip)"),
        );
        args.signing.sign_options()
    })
}
