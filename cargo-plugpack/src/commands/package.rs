//! `cargo plugpack package`

use camino::Utf8PathBuf;
use clap::Args;
use plugpack_core::audit::{AuditReport, Code, Finding, Level, Outcome};
use plugpack_core::pipeline::{self, PackageOptions};
use plugpack_core::sign::{SIGNING_KEY_ENV, SignOptions};
use plugpack_core::{Ctx, Reporter};

use crate::cli::{GlobalArgs, OutputFormat, ProjectArgs};
use crate::exit::CliError;
use crate::shell::{Shell, escape};

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
    /// SBOM formats attached per artifact, comma-separated: `cyclonedx` (default), `spdx`.
    #[arg(
        long,
        value_name = "FORMATS",
        value_delimiter = ',',
        default_value = "cyclonedx"
    )]
    pub sbom_format: Vec<crate::commands::sbom::SbomFormatArg>,
}

/// Builds and bundles.
pub fn run(
    args: &PackageArgs,
    global: &GlobalArgs,
    shell: &Shell,
    ctx: &Ctx,
) -> Result<u8, CliError> {
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
            allow_no_db: true,
            ..Default::default()
        },
        audit_rerun_args: audit_rerun_args(&args.project, args.debug, args.db.as_ref()),
        sbom_formats: {
            let mut formats: Vec<plugpack_core::sbom::SbomFormat> =
                args.sbom_format.iter().map(|f| f.format()).collect();
            formats.dedup();
            formats
        },
    };
    let mut build_options = args.project.build_options(global, shell);
    // Release unless the user chose a profile: a debug plugin is never what one ships.
    if !args.debug && build_options.profile.profile.is_none() {
        build_options.profile.release = true;
    }
    let (project, out) =
        pipeline::load_and_package(&args.project.load_options()?, &build_options, &options, ctx)?;
    crate::commands::github::package(&out, &project.workspace_root, ctx)?;
    for bundle in &out.bundles {
        if !global.quiet {
            print_findings(shell, &bundle.audit);
        }
        match shell.format() {
            OutputFormat::Json => shell.json("bundle-written", bundle)?,
            OutputFormat::Human => {
                // The digest shown is the tagged entry's (what a registry pulls by), not the
                // tarball file's: say which kind of entry it is.
                let entry = if bundle.info.media_type.contains("image.index") {
                    "index"
                } else {
                    "manifest"
                };
                shell.status(
                    "Packaged",
                    &format!(
                        "{} v{} → {} ({entry} {}); audit {}",
                        escape(&bundle.plugin),
                        escape(&bundle.version),
                        escape(bundle.path.as_str()),
                        bundle.info.digest,
                        audit_summary(&bundle.audit)
                    ),
                );
                shell.out(&escape(bundle.path.as_str()))?;
            }
        }
    }
    Ok(0)
}

/// The arguments of `cargo plugpack audit` that reproduce this run's audit: every flag that
/// changes which crates are compiled or which database judges them (the package selection
/// is added per plugin by the core).
pub(crate) fn audit_rerun_args(
    p: &ProjectArgs,
    debug: bool,
    db: Option<&Utf8PathBuf>,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(m) = &p.manifest.manifest_path {
        out.extend(["--manifest-path".to_owned(), m.display().to_string()]);
    }
    if !p.features.features.is_empty() {
        out.extend(["--features".to_owned(), p.features.features.join(",")]);
    }
    if p.features.all_features {
        out.push("--all-features".to_owned());
    }
    if p.features.no_default_features {
        out.push("--no-default-features".to_owned());
    }
    for t in &p.target {
        out.extend(["--target".to_owned(), t.clone()]);
    }
    // `package` builds release unless told otherwise; `audit` keeps cargo's default (dev).
    if p.release || (!debug && p.profile.is_none()) {
        out.push("--release".to_owned());
    }
    if let Some(profile) = &p.profile {
        out.extend(["--profile".to_owned(), profile.clone()]);
    }
    if let Some(dir) = &p.target_dir {
        out.extend(["--target-dir".to_owned(), dir.to_string()]);
    }
    for (flag, on) in [
        ("--locked", p.locked),
        ("--frozen", p.frozen),
        ("--offline", p.offline),
    ] {
        if on {
            out.push(flag.to_owned());
        }
    }
    if let Some(db) = db {
        out.extend(["--db".to_owned(), db.to_string()]);
    }
    out
}

/// The verdict and counts for the final status line: `warned: 0 denied, 2 warning(s), 0
/// ignored`, `UNCHECKED (advisories were NOT checked): 0 denied, …`.
pub(crate) fn audit_summary(report: &AuditReport) -> String {
    let s = &report.summary;
    let verdict = match report.outcome {
        Outcome::Unchecked => "UNCHECKED (advisories were NOT checked)".to_owned(),
        other => other.as_str().to_owned(),
    };
    format!(
        "{verdict}: {} denied, {} warning(s), {} ignored",
        s.denied, s.warnings, s.ignored
    )
}

/// One line per audit finding that is denied (bundled with `--allow-findings`) or a warning,
/// grouped as `audit` shows them: advisories and database problems, then licences. The
/// missing-database warning is not repeated (the audit already printed it).
pub(crate) fn print_findings(shell: &Shell, report: &AuditReport) {
    let plugin = report.plugin.as_deref().unwrap_or("lockfile");
    let shown: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.ignored.is_none() && f.level != Level::Allow && f.code != Code::NoDb)
        .collect();
    let (licences, others): (Vec<&Finding>, Vec<&Finding>) = shown
        .into_iter()
        .partition(|f| f.code.as_str().starts_with("license-"));
    for f in others.into_iter().chain(licences) {
        let head = if f.level == Level::Deny {
            "denied"
        } else {
            "warning"
        };
        let id =
            f.id.as_deref()
                .map(|id| format!("{} ", escape(id)))
                .unwrap_or_default();
        let krate = f
            .package
            .as_ref()
            .map(|p| format!(" ({} {})", escape(&p.name), escape(&p.version.to_string())))
            .unwrap_or_default();
        shell.warn(&format!(
            "audit of {}: {head}[{}] {id}{}{krate}",
            escape(plugin),
            f.code,
            escape(&f.message)
        ));
    }
}

/// Whether and with which key to sign: `--key FILE`, or `--sign`, or a key in
/// `$PLUGPACK_SIGNING_KEY` (announced, since it changes what is written), unless `--no-sign`.
fn signing(args: &PackageArgs, shell: &Shell, ctx: &Ctx) -> Option<SignOptions> {
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
