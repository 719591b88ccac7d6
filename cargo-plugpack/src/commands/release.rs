//! `cargo plugpack release [cargo flags] [--key KEY | --sign] [--push REGISTRY/REPO]
//! [--dry-run] [--tag TAG] [--allow-dirty] [-o DIR]`

use camino::Utf8PathBuf;
use clap::Args;
use plugpack_core::pipeline::PackageOptions;
use plugpack_core::release::{self, ReleaseOptions, ReleaseReport};
use plugpack_core::sign::SIGNING_KEY_ENV;
use plugpack_core::{Ctx, Reporter, project};

use crate::cli::{GlobalArgs, OutputFormat, ProjectArgs};
use crate::exit::CliError;
use crate::shell::{Shell, escape};

/// Arguments of `release`.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The release directory [default: <target-dir>/plugpack/release]; replaced as a whole.
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<Utf8PathBuf>,
    /// The release tag, vX.Y.Z or NAME-vX.Y.Z [default: $GITHUB_REF_NAME on a tag push,
    /// else `git describe --tags --exact-match`]; must match the crate version.
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// Release from a working tree with uncommitted changes to tracked files.
    #[arg(long)]
    pub allow_dirty: bool,
    /// Build and check everything; sign nothing and push nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Require a signature: fail when neither --key nor $PLUGPACK_SIGNING_KEY gives a key.
    #[arg(long)]
    pub sign: bool,
    #[command(flatten)]
    pub signing: crate::commands::sign::KeyArgs,
    /// Push every bundle to REGISTRY/REPO (with several plugins, REGISTRY/REPO/<plugin>).
    #[arg(long, value_name = "REGISTRY/REPO")]
    pub push: Option<String>,
    /// Registry options for --push.
    #[command(flatten)]
    pub registry: super::push::RegistryArgs,
    /// The ABI baseline (fingerprint JSON, artifact or bundle) for every plugin [default:
    /// `metadata.plugpack.abi-baseline`; without one the ABI is not checked].
    #[arg(long, value_name = "FILE|BUNDLE")]
    pub baseline: Option<Utf8PathBuf>,
    /// Release even when the audit has denied findings (the verdict is recorded).
    #[arg(long)]
    pub allow_findings: bool,
    /// Advisory database directory for the audit.
    #[arg(long, value_name = "PATH")]
    pub db: Option<Utf8PathBuf>,
    /// Do not embed the dependency list (cargo-auditable `.dep-v0`) into the artifacts.
    #[arg(long)]
    pub no_embed_deps: bool,
}

/// Runs the release and renders its report.
pub fn run(
    args: &ReleaseArgs,
    global: &GlobalArgs,
    shell: &Shell,
    ctx: &Ctx,
) -> Result<u8, CliError> {
    let project = project::load(ctx, &args.project.load_options()?)?;
    let mut build_options = args.project.build_options(global, shell);
    if build_options.profile.profile.is_none() {
        build_options.profile.release = true;
    }
    let sign = if args.signing.key.is_some() || args.sign {
        Some(args.signing.sign_options())
    } else if ctx
        .var(SIGNING_KEY_ENV)
        .is_some_and(|pem| !pem.trim().is_empty())
    {
        if !args.dry_run {
            shell.status(
                "Signing",
                &format!("bundles with the key from ${SIGNING_KEY_ENV}"),
            );
        }
        Some(args.signing.sign_options())
    } else {
        None
    };
    let options = ReleaseOptions {
        output: args.output.clone(),
        tag: args.tag.clone(),
        allow_dirty: args.allow_dirty,
        dry_run: args.dry_run,
        sign,
        abi_baseline: args.baseline.clone(),
        package: PackageOptions {
            no_embed_dependencies: args.no_embed_deps,
            allow_findings: args.allow_findings,
            audit: plugpack_core::audit::ScanOptions {
                db: args.db.clone(),
                allow_no_db: true,
                ..Default::default()
            },
            audit_rerun_args: super::package::audit_rerun_args(
                &args.project,
                false,
                args.db.as_ref(),
            ),
            ..Default::default()
        },
        push: match &args.push {
            Some(reference) => {
                let parsed = plugpack_core::registry::Reference::parse(reference)
                    .map_err(plugpack_core::Error::from)?;
                Some(release::PushTarget {
                    reference: reference.clone(),
                    options: plugpack_core::registry::PushOptions {
                        client: args.registry.client_options(&parsed, ctx)?,
                        mount_from: None,
                        chunk_size: None,
                    },
                })
            }
            None => None,
        },
    };
    let report = release::release(&project, &build_options, &options, ctx)?;
    super::github::release(&report, &project.workspace_root, ctx)?;
    render(&report, global, shell)?;
    Ok(0)
}

/// Human: one status line per plugin (digest, signature, ABI and audit verdicts, pushed
/// references), then the release directory on stdout. JSON: one `release` message with the
/// whole [`ReleaseReport`].
fn render(report: &ReleaseReport, global: &GlobalArgs, shell: &Shell) -> std::io::Result<()> {
    if shell.format() == OutputFormat::Json {
        return shell.json("release", report);
    }
    for bundle in &report.bundles {
        if !global.quiet {
            super::package::print_findings(shell, &bundle.audit);
        }
    }
    for plugin in &report.manifest.plugins {
        let signed = match &plugin.key_id {
            Some(id) if plugin.provenance => format!("signed by {id} with SLSA provenance"),
            Some(id) => format!("signed by {id}"),
            None => "unsigned".to_owned(),
        };
        let abi = match (&plugin.abi.baseline_version, &plugin.abi.verdict) {
            (Some(v), Some(verdict)) => format!(
                "ABI vs {v}: {verdict} ({} change(s)), version bump ok",
                plugin.abi.changes.unwrap_or(0)
            ),
            _ => "ABI: no baseline".to_owned(),
        };
        shell.status(
            "Release",
            &format!(
                "{} v{} ({}) {}; {signed}; {abi}; audit {}",
                escape(&plugin.name),
                escape(&plugin.version),
                plugin.targets.join(", "),
                plugin.digest,
                plugin.audit.verdict
            ),
        );
        for pushed in &plugin.pushed {
            shell.status("Pushed", &escape(&pushed.reference));
        }
    }
    shell.status(
        "Released",
        &format!(
            "{} file(s) with SHA256SUMS and plugpack-release.json in {}{}",
            report.manifest.files.len(),
            escape(report.dir.as_str()),
            if report.manifest.dry_run {
                " (dry run: nothing signed or pushed)"
            } else {
                ""
            }
        ),
    );
    shell.out(&escape(report.dir.as_str()))
}
