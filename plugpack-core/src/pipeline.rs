//! The pipeline: the only place that puts stages in order.
//!
//! `package` = build (or take `--artifact` files) → attachments from the analysis stages →
//! one bundle per plugin. Each step is a plain call on the previous step's typed output.

use camino::Utf8PathBuf;
use serde::{Deserialize, Serialize};

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
    /// `--key`/`--sign`: sign each bundle after writing it.
    pub sign: Option<crate::sign::SignOptions>,
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
    /// The signature, when signed (`--key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<crate::sign::SignOutput>,
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
    // Load the key before building so a bad key fails fast.
    let signing_key = options.sign.as_ref().map(|o| o.key.load(ctx)).transpose()?;
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
        let pack_options = PackOptions {
            output: output.clone(),
            epoch: project.epoch,
            revision: project.vcs_revision.clone(),
        };
        let mut info = oci::pack(plugin, &artifacts, &[], &pack_options)?;
        let signature = match (&signing_key, &options.sign) {
            (Some(key), Some(sign_options)) => {
                let signed = crate::sign::sign_bundle_with(&output, key, sign_options, ctx)?;
                info = oci::inspect(&oci::read_bundle(&output)?)?;
                Some(signed)
            }
            _ => None,
        };
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
            signature,
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
