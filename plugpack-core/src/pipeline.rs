//! The pipeline: the only place that puts stages in order.
//!
//! `package` = build (or take `--artifact` files) → audit (refuses on denied findings unless
//! `--allow-findings`) → attachments from the analysis stages → one bundle per plugin. Each
//! step is a plain call on the previous step's typed output.

use camino::Utf8PathBuf;
use serde::{Deserialize, Serialize};

use crate::audit;
use crate::build::{self, BuildOptions, BuildOutput, BuiltArtifact};
use crate::ctx::Ctx;
use crate::oci::{self, BundleInfo, PackOptions};
use crate::project::Project;
use crate::{Error, Result};

/// Options of `package` beyond the build's.
#[derive(Debug, Clone, Default)]
pub struct PackageOptions {
    /// `-o`: output path (only with exactly one plugin selected).
    pub output: Option<Utf8PathBuf>,
    /// `--artifact`: package these prebuilt files instead of building.
    pub artifacts: Vec<Utf8PathBuf>,
    /// `--allow-findings`: bundle even when the audit has denied findings.
    pub allow_findings: bool,
    /// Audit options (`--db`).
    pub audit: audit::ScanOptions,
}

/// One bundle written by `package`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WrittenBundle {
    /// Plugin name.
    pub plugin: String,
    /// Plugin version.
    pub version: String,
    /// Where the tarball was written.
    pub path: Utf8PathBuf,
    /// SHA-256 of the tarball file itself.
    pub file_sha256: crate::types::Sha256Digest,
    /// What it contains.
    pub info: BundleInfo,
    /// The audit attached to it (`application/vnd.plugpack.audit.v1+json`).
    pub audit: audit::AuditReport,
}

/// Result of `package`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackageOutput {
    /// The build (or the described `--artifact` files).
    pub build: BuildOutput,
    /// The bundles, one per plugin.
    pub bundles: Vec<WrittenBundle>,
}

/// The default bundle path: `<target-dir>/plugpack/<name>-<version>.oci.tar`.
pub fn default_bundle_path(project: &Project, name: &str, version: &str) -> Utf8PathBuf {
    project
        .target_dir
        .join("plugpack")
        .join(format!("{name}-{version}.oci.tar"))
}

/// Builds (or takes `--artifact` files) and writes one bundle per plugin.
pub fn package(
    project: &Project,
    build_options: &BuildOptions,
    options: &PackageOptions,
    ctx: &Ctx,
) -> Result<PackageOutput> {
    if options.output.is_some() && project.plugins.len() > 1 {
        return Err(Error::Usage(
            "-o/--output needs exactly one selected plugin (use -p NAME)".to_owned(),
        ));
    }
    let build = if options.artifacts.is_empty() {
        build::build(project, build_options, ctx)?
    } else {
        external_artifacts(project, build_options, options, ctx)?
    };
    let mut bundles = Vec::new();
    for plugin in &project.plugins {
        let artifacts: Vec<BuiltArtifact> = build
            .artifacts
            .iter()
            .filter(|a| a.plugin == plugin.name)
            .cloned()
            .collect();
        let output = options
            .output
            .clone()
            .unwrap_or_else(|| default_bundle_path(project, &plugin.name, &plugin.version));
        let targets: Vec<&str> = artifacts.iter().map(|a| a.target.as_str()).collect();
        ctx.reporter().status(
            "Packaging",
            &format!(
                "{} v{} ({})",
                plugin.name,
                plugin.version,
                targets.join(", ")
            ),
        );
        // Audit the exact dependency set; refuse on denied findings unless allowed.
        let report = audit::scan(project, &build, plugin, &options.audit, ctx)?;
        if report.outcome != audit::Outcome::Clean && !options.allow_findings {
            return Err(Error::Audit(audit::Error::Findings {
                plugin: plugin.name.clone(),
                denied: report.summary.denied,
                outcome: report.outcome,
            }));
        }
        let report_bytes = crate::types::canonical_json(&report.for_bundle())
            .map_err(|e| Error::Audit(audit::Error::Serialize(e)))?;
        let attachments: Vec<oci::Attachment> = artifacts
            .iter()
            .map(|a| oci::Attachment {
                target: a.target.clone(),
                artifact_type: audit::MEDIA_TYPE.to_owned(),
                media_type: audit::MEDIA_TYPE.to_owned(),
                bytes: report_bytes.clone(),
                title: format!("{}-{}.audit.json", plugin.name, plugin.version),
                subject_annotations: Default::default(),
            })
            .collect();
        let pack_options = PackOptions {
            output: output.clone(),
            epoch: project.epoch,
            revision: project.vcs_revision.clone(),
        };
        let info = oci::pack(plugin, &artifacts, &attachments, &pack_options)?;
        let (file_sha256, _) =
            crate::types::Sha256Digest::of_file(&output).map_err(|source| oci::Error::Read {
                path: output.clone(),
                source,
            })?;
        bundles.push(WrittenBundle {
            plugin: plugin.name.clone(),
            version: plugin.version.clone(),
            path: output,
            file_sha256,
            info,
            audit: report,
        });
    }
    Ok(PackageOutput { build, bundles })
}

fn external_artifacts(
    project: &Project,
    build_options: &BuildOptions,
    options: &PackageOptions,
    ctx: &Ctx,
) -> Result<BuildOutput> {
    let [plugin] = project.plugins.as_slice() else {
        return Err(Error::Usage(
            "--artifact needs exactly one selected plugin (use -p NAME)".to_owned(),
        ));
    };
    let toolchain = build::toolchain(ctx, &project.workspace_root)?;
    if build_options.targets.len() > 1 && build_options.targets.len() != options.artifacts.len() {
        return Err(Error::Usage(
            "give one --target per --artifact, in the same order".to_owned(),
        ));
    }
    let mut artifacts = Vec::new();
    for (i, path) in options.artifacts.iter().enumerate() {
        let target = build_options
            .targets
            .get(i)
            .or(build_options.targets.first())
            .map(String::as_str);
        artifacts.push(build::external_artifact(
            plugin,
            path,
            target,
            &toolchain.host,
        )?);
    }
    let mut targets: Vec<&str> = artifacts.iter().map(|a| a.target.as_str()).collect();
    targets.sort();
    if targets.windows(2).any(|w| w[0] == w[1]) {
        return Err(Error::Build(build::Error::BadArtifact {
            path: options.artifacts[0].clone(),
            reason: "two artifacts for the same target".to_owned(),
        }));
    }
    Ok(BuildOutput {
        artifacts,
        units: Vec::new(),
        toolchain: Some(toolchain),
    })
}
