//! The pipeline: the only place that puts stages in order.
//!
//! `package` = build (or take `--artifact` files) → attachments from the analysis stages
//! (the CycloneDX SBOM of each artifact) → one bundle per plugin. `sbom` = build → one SBOM
//! per artifact, written to files or returned for stdout. Each step is a plain call on the
//! previous step's typed output.

use camino::Utf8PathBuf;
use serde::{Deserialize, Serialize};

use crate::build::{self, BuildOptions, BuildOutput, BuiltArtifact};
use crate::ctx::Ctx;
use crate::oci::{self, Attachment, BundleInfo, PackOptions};
use crate::project::{LoadOptions, Project};
use crate::sbom::{self, SbomOptions};
use crate::{Error, Result};

/// Options of `package` beyond the build's.
#[derive(Debug, Clone, Default)]
pub struct PackageOptions {
    /// `-o`: output path (only with exactly one plugin selected).
    pub output: Option<Utf8PathBuf>,
    /// `--artifact`: package these prebuilt files instead of building.
    pub artifacts: Vec<Utf8PathBuf>,
    /// `--no-embed-deps`: do not embed the dependency list (`.dep-v0`) into the artifacts.
    pub no_embed_dependencies: bool,
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
        let mut build = build::build(project, build_options, ctx)?;
        if !options.no_embed_dependencies {
            sbom::embed_dependency_lists(project, &mut build, ctx)?;
        }
        build
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
        let pack_options = PackOptions {
            output: output.clone(),
            epoch: project.epoch,
            revision: project.vcs_revision.clone(),
        };
        let mut attachments = Vec::new();
        for artifact in &artifacts {
            attachments.push(sbom_attachment(project, &build, artifact, ctx)?);
        }
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
        });
    }
    Ok(PackageOutput { build, bundles })
}

/// The SBOM of `artifact` as an OCI referrer of its plugin manifest.
fn sbom_attachment(
    project: &Project,
    build: &BuildOutput,
    artifact: &BuiltArtifact,
    ctx: &Ctx,
) -> Result<Attachment> {
    let doc = sbom::generate(project, build, artifact, &SbomOptions::default(), ctx)?;
    for finding in &doc.findings {
        ctx.reporter()
            .warn(&format!("sbom: {}: {}", finding.package, finding.message));
    }
    Ok(Attachment {
        target: artifact.target.clone(),
        artifact_type: sbom::MEDIA_TYPE.to_owned(),
        media_type: sbom::MEDIA_TYPE.to_owned(),
        bytes: doc.to_json()?,
        title: doc.file_name(),
        subject_annotations: Default::default(),
    })
}

/// Where `sbom` writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SbomDestination {
    /// `<target-dir>/plugpack/sbom/<plugin>-<version>-<target>.cdx.json`.
    #[default]
    Default,
    /// `-o -`: return the bytes for stdout (exactly one document).
    Stdout,
    /// `-o PATH`: an existing directory receives the default file names; anything else is
    /// the file (exactly one document).
    Path(Utf8PathBuf),
}

/// Options of `sbom` beyond the build's.
#[derive(Debug, Clone, Default)]
pub struct SbomRunOptions {
    /// Document options.
    pub sbom: SbomOptions,
    /// Where to write.
    pub output: SbomDestination,
    /// `--no-embed-deps`: do not embed the dependency list (`.dep-v0`) into the artifacts.
    pub no_embed_dependencies: bool,
}

/// One SBOM produced by `sbom`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WrittenSbom {
    /// Plugin name.
    pub plugin: String,
    /// Plugin version.
    pub version: String,
    /// Target triple.
    pub target: String,
    /// Where it was written (`None` for stdout).
    pub path: Option<Utf8PathBuf>,
    /// The artifact it describes (with the embedded dependency list, unless disabled).
    pub artifact: Utf8PathBuf,
    /// `serialNumber`.
    pub serial_number: String,
    /// SHA-256 of the written bytes.
    pub sha256: crate::types::Sha256Digest,
    /// Number of components (crates), excluding the plugin itself.
    pub components: usize,
    /// Findings (missing licences, …).
    pub findings: Vec<sbom::Finding>,
}

/// Result of `sbom`.
#[derive(Debug, Clone)]
pub struct SbomRun {
    /// The build.
    pub build: BuildOutput,
    /// One entry per artifact, sorted by plugin then target.
    pub sboms: Vec<WrittenSbom>,
    /// The document for stdout (with [`SbomDestination::Stdout`]).
    pub stdout: Option<Vec<u8>>,
}

/// Loads the project, builds, then writes one CycloneDX SBOM per artifact.
pub fn sbom(
    load_options: &LoadOptions,
    build_options: &BuildOptions,
    options: &SbomRunOptions,
    ctx: &Ctx,
) -> Result<SbomRun> {
    sbom::check_lockfile(ctx, load_options)?;
    let project = &crate::project::load(ctx, load_options)?;
    let mut build = build::build(project, build_options, ctx)?;
    if !options.no_embed_dependencies {
        sbom::embed_dependency_lists(project, &mut build, ctx)?;
    }
    let mut docs = Vec::new();
    for artifact in &build.artifacts {
        docs.push(sbom::generate(
            project,
            &build,
            artifact,
            &options.sbom,
            ctx,
        )?);
    }
    let dir_output = match &options.output {
        SbomDestination::Default => Some(sbom::default_dir(project)),
        SbomDestination::Path(p) if p.is_dir() => Some(p.clone()),
        SbomDestination::Stdout | SbomDestination::Path(_) => None,
    };
    if dir_output.is_none() && docs.len() != 1 {
        let artifacts: Vec<String> = docs
            .iter()
            .map(|d| format!("{} ({})", d.plugin, d.target))
            .collect();
        return Err(sbom::Error::SeveralDocuments {
            count: docs.len(),
            artifacts: artifacts.join(", "),
        }
        .into());
    }
    let mut sboms = Vec::new();
    let mut stdout = None;
    for (doc, artifact) in docs.iter().zip(&build.artifacts) {
        let bytes = doc.to_json()?;
        let path = match (&options.output, &dir_output) {
            (_, Some(dir)) => Some(dir.join(doc.file_name())),
            (SbomDestination::Path(p), None) => Some(p.clone()),
            _ => None,
        };
        match &path {
            Some(path) => sbom::write(path, &bytes)?,
            None => stdout = Some(bytes.clone()),
        }
        sboms.push(WrittenSbom {
            plugin: doc.plugin.clone(),
            version: doc.version.clone(),
            target: doc.target.clone(),
            path,
            artifact: artifact.path.clone(),
            serial_number: doc.bom.serial_number.clone(),
            sha256: crate::types::Sha256Digest::of_bytes(&bytes),
            components: doc.bom.components.len(),
            findings: doc.findings.clone(),
        });
    }
    Ok(SbomRun {
        build,
        sboms,
        stdout,
    })
}

/// `sbom --from-artifact FILE`: an SBOM from the dependency list embedded in `file` (no
/// project, no build). [`SbomDestination::Default`] means stdout here.
pub fn sbom_from_artifact(
    file: &camino::Utf8Path,
    options: &SbomRunOptions,
    ctx: &Ctx,
) -> Result<SbomRun> {
    let doc = sbom::from_artifact(file, &options.sbom, ctx)?;
    let bytes = doc.to_json()?;
    let path = match &options.output {
        SbomDestination::Path(p) if p.is_dir() => Some(p.join(format!(
            "{}.cdx.json",
            file.file_name().unwrap_or("artifact")
        ))),
        SbomDestination::Path(p) => Some(p.clone()),
        SbomDestination::Default | SbomDestination::Stdout => None,
    };
    if let Some(p) = &path {
        sbom::write(p, &bytes)?;
    }
    let written = WrittenSbom {
        plugin: doc.plugin.clone(),
        version: doc.version.clone(),
        target: doc.target.clone(),
        path: path.clone(),
        artifact: file.to_owned(),
        serial_number: doc.bom.serial_number.clone(),
        sha256: crate::types::Sha256Digest::of_bytes(&bytes),
        components: doc.bom.components.len(),
        findings: doc.findings.clone(),
    };
    Ok(SbomRun {
        build: BuildOutput::default(),
        sboms: vec![written],
        stdout: path.is_none().then_some(bytes),
    })
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
