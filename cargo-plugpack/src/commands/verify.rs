//! `cargo plugpack verify BUNDLE [--key PUB …] [--policy FILE] [--state DIR] [--host-abi FILE|DIR] [--host-provides PKG@VERSION …]`

use camino::Utf8PathBuf;
use clap::Args;
use plugpack_core::verify::{self, AbiStatus, VerifyOptions, VerifyReport};
use plugpack_core::{Ctx, Reporter};

use crate::cli::OutputFormat;
use crate::exit::{CliError, POLICY};
use crate::shell::{Shell, escape};

/// Arguments of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The bundle tarball, an extracted OCI layout directory, or a registry reference
    /// (REGISTRY/REPO@sha256:… or :TAG), pulled to a temporary bundle first.
    pub bundle: Utf8PathBuf,
    /// Trust this Ed25519 public key (SPKI PEM; repeatable). Conflicts with --policy.
    #[arg(long, value_name = "PUB")]
    pub key: Vec<Utf8PathBuf>,
    /// Trust policy (plugpack-trust.toml).
    #[arg(long, value_name = "FILE", conflicts_with = "key")]
    pub policy: Option<Utf8PathBuf>,
    /// Keep anti-rollback state in DIR: refuse versions older than the last one accepted
    /// there, and record this one when it is accepted. Without it, only a policy's `state`
    /// setting keeps state; otherwise nothing is recorded.
    #[arg(long, value_name = "DIR")]
    pub state: Option<Utf8PathBuf>,
    /// Accept a version older than the last accepted one.
    #[arg(long)]
    pub allow_downgrade: bool,
    /// After signature and policy checks pass, also check every plugin artifact with the
    /// ABI guard against this `plugpack-abi/1` document (the interface the host was built
    /// against, from `cargo plugpack fingerprint -o FILE`), or, for components, the host's
    /// WIT world (a `.wit` file or a directory with `deps/`); a mismatch is a failure
    /// (`abi-incompatible`, exit 1).
    #[arg(long, value_name = "FILE|DIR")]
    pub host_abi: Option<Utf8PathBuf>,
    /// With `--host-abi` (components): a WIT package the host implements whole, at a
    /// version (`wasi:cli@0.2.6`, as `wasmtime-wasi` does); repeatable.
    #[arg(long, value_name = "PKG@VERSION", requires = "host_abi")]
    pub host_provides: Vec<String>,
    /// Registry options, when BUNDLE is a registry reference.
    #[command(flatten)]
    pub registry: super::push::RegistryArgs,
    /// Require an SLSA provenance v1 statement signed by a trusted signer of the bundle
    /// (`release` and `sign --provenance` attach one); checked offline.
    #[arg(long)]
    pub require_provenance: bool,
    /// With --require-provenance: the source repository the provenance must name
    /// (e.g. https://github.com/OWNER/REPO).
    #[arg(long, value_name = "URI", requires = "require_provenance")]
    pub source_uri: Option<String>,
    /// With --require-provenance: the builder id the provenance must name, exactly.
    #[arg(long, value_name = "ID", requires = "require_provenance")]
    pub builder_id: Option<String>,
}

impl From<&VerifyArgs> for VerifyOptions {
    fn from(args: &VerifyArgs) -> Self {
        VerifyOptions {
            bundle: args.bundle.clone(),
            keys: args.key.clone(),
            policy: args.policy.clone(),
            state: args.state.clone(),
            allow_downgrade: args.allow_downgrade,
            host_abi: args.host_abi.clone(),
            provenance: args
                .require_provenance
                .then(|| verify::ProvenanceRequirement {
                    source_uri: args.source_uri.clone(),
                    builder_id: args.builder_id.clone(),
                }),
            host_provides: args.host_provides.clone(),
        }
    }
}

/// Verifies a bundle; exit 0 verified, 1 rejected, 2 usage or policy error.
pub fn run(args: &VerifyArgs, shell: &Shell, ctx: &Ctx) -> Result<u8, CliError> {
    let input = super::pull::resolve_bundle(&args.bundle, &args.registry, shell, ctx)?;
    let mut options: VerifyOptions = args.into();
    options.bundle = input.path().to_owned();
    let report = verify::verify(&options, ctx).map_err(plugpack_core::Error::from)?;
    render(&report, shell)?;
    Ok(if report.verified { 0 } else { POLICY })
}

fn render(report: &VerifyReport, shell: &Shell) -> std::io::Result<()> {
    if shell.format() == OutputFormat::Json {
        return shell.json("verify-result", report);
    }
    // Names, versions, targets and failure messages quote the bundle: escaped.
    let what = format!(
        "{} v{}",
        escape(report.plugin.as_deref().unwrap_or("?")),
        escape(report.version.as_deref().unwrap_or("?"))
    );
    for note in &report.notes {
        shell.warn(&format!("[{}] {}", note.code, escape(&note.message)));
    }
    if report.verified && report.failures.is_empty() {
        let keys: Vec<&str> = report.signers.iter().map(|s| s.key_id.short()).collect();
        shell.status(
            "Verified",
            &format!(
                "{what} ({}) signed by {}",
                escape(report.bundle.as_str()),
                escape(&keys.join(", "))
            ),
        );
        for artifact in &report.artifacts {
            let file = escape(artifact.file_name.as_deref().unwrap_or("?"));
            let target = escape(&artifact.target);
            match &artifact.abi {
                Some(AbiStatus::Compatible {
                    fingerprint,
                    detail,
                }) => shell.status(
                    "ABI",
                    &format!(
                        "{target}/{file} matches the host ABI ({}, {fingerprint})",
                        escape(detail)
                    ),
                ),
                Some(AbiStatus::OtherPlatform { .. }) => shell.status(
                    "ABI",
                    &format!("{target}/{file} is for another platform (skipped)"),
                ),
                _ => {}
            }
        }
        if let Some(provenance) = &report.provenance {
            let source = provenance
                .predicate
                .source()
                .and_then(|d| d.uri.as_deref())
                .unwrap_or("an unrecorded source");
            shell.status(
                "Provenance",
                &format!(
                    "built from {} by {}",
                    escape(source),
                    escape(&provenance.predicate.run_details.builder.id)
                ),
            );
        }
        if report.state_updated {
            if let Some(file) = &report.state_file {
                shell.status(
                    "Recorded",
                    &format!("{what} as the latest accepted version in {file}"),
                );
            }
        }
        shell.out(&format!("verified {what}"))?;
        return Ok(());
    }
    for failure in &report.failures {
        if report.verified {
            shell.warn(&format!(
                "[{}] {} (audit: not enforced)",
                failure.code,
                escape(&failure.message)
            ));
        } else {
            shell.error_line(&format!("[{}] {}", failure.code, escape(&failure.message)));
        }
    }
    if report.plugin.is_none() {
        // The bundle could not be parsed: there is no name or version to show.
        let problems: Vec<&str> = report.failures.iter().map(|f| f.message.as_str()).collect();
        return shell.out(&format!(
            "rejected {}: unreadable bundle ({})",
            report.bundle,
            problems.join("; ")
        ));
    }
    if report.verified {
        shell.out(&format!(
            "verified {what} (audit mode, {} problem(s))",
            report.failures.len()
        ))
    } else {
        shell.out(&format!(
            "rejected {what}: {} problem(s)",
            report.failures.len()
        ))
    }
}
