//! `sbom` and the SBOM referrer of `package`.

use camino::Utf8PathBuf;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::audit;
use crate::build::{self, BuildOptions, BuildOutput, BuiltArtifact};
use crate::ctx::Ctx;
use crate::fingerprint;
use crate::oci::Attachment;
use crate::project::{LoadOptions, Project};
use crate::sbom::{self, SbomFormat, SbomOptions};
use crate::types::OutputPath;

/// The SBOM of `artifact`, once per format in `formats` (CycloneDX when empty), as OCI
/// referrers of its plugin manifest. Every format is rendered from one document, so they
/// list the same crates.
pub(super) fn sbom_attachments(
    project: &Project,
    build: &BuildOutput,
    artifact: &BuiltArtifact,
    abi_fingerprint: Option<(crate::types::Sha256Digest, fingerprint::Detail)>,
    audit_report: &audit::AuditReport,
    formats: &[SbomFormat],
    ctx: &Ctx,
) -> Result<Vec<Attachment>> {
    let options = SbomOptions {
        abi_fingerprint,
        ..SbomOptions::default()
    };
    let mut doc = sbom::generate(project, build, artifact, &options, ctx)?;
    // The audit's known vulnerabilities (ignored ones carry their VEX analysis).
    doc.add_vulnerabilities(audit::cyclonedx::vulnerabilities(audit_report));
    for finding in &doc.findings {
        ctx.reporter()
            .warn(&format!("sbom: {}: {}", finding.package, finding.message));
    }
    let default = [SbomFormat::CyclonedxJson];
    let formats = if formats.is_empty() {
        &default[..]
    } else {
        formats
    };
    let mut attachments = Vec::new();
    for format in formats {
        attachments.push(Attachment {
            target: artifact.target.clone(),
            artifact_type: format.media_type().to_owned(),
            media_type: format.media_type().to_owned(),
            bytes: format.render(&doc)?.0,
            title: format.file_name(&doc),
            subject_annotations: Default::default(),
        });
    }
    Ok(attachments)
}

/// Where `sbom` writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SbomDestination {
    /// `<target-dir>/plugpack/sbom/<plugin>-<version>-<target>.cdx.json`.
    #[default]
    Default,
    /// `-o -`: return the bytes for stdout (exactly one document).
    Stdout,
    /// `-o PATH`: a directory (existing, or ending in `/`, see [`OutputPath`]) receives the
    /// default file names; anything else is the file (exactly one document).
    Path(Utf8PathBuf),
}

/// Options of `sbom` beyond the build's.
#[derive(Debug, Clone, Default)]
pub struct SbomRunOptions {
    /// Document options.
    pub sbom: SbomOptions,
    /// `--format`: CycloneDX (default) or SPDX.
    pub format: SbomFormat,
    /// Where to write.
    pub output: SbomDestination,
    /// `--no-embed-deps`: do not embed the dependency list (`.dep-v0`) into the artifacts.
    pub no_embed_dependencies: bool,
    /// `--no-build`: describe the artifacts of the last build with the same flags, read from
    /// its [`build::record`], instead of running cargo.
    pub no_build: bool,
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
    /// The format written.
    pub format: SbomFormat,
    /// CycloneDX `serialNumber` or SPDX `documentNamespace`.
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

/// Loads the project, builds (or, with `no_build`, reads the last build's record), then
/// writes one CycloneDX SBOM per artifact.
pub fn sbom(
    load_options: &LoadOptions,
    build_options: &BuildOptions,
    options: &SbomRunOptions,
    ctx: &Ctx,
) -> Result<SbomRun> {
    let (project, build) = if options.no_build {
        build::record::load(ctx, load_options, build_options)?
    } else {
        sbom::check_lockfile(ctx, load_options)?;
        super::load_and_build(
            load_options,
            build_options,
            !options.no_embed_dependencies,
            ctx,
        )?
    };
    let project = &project;
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
        SbomDestination::Path(p) => match OutputPath::new(p) {
            OutputPath::Dir(dir) => Some(dir),
            OutputPath::File(_) => None,
        },
        SbomDestination::Stdout => None,
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
        let (bytes, serial_number) = options.format.render(doc)?;
        let path = match (&options.output, &dir_output) {
            (_, Some(dir)) => Some(dir.join(options.format.file_name(doc))),
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
            format: options.format,
            serial_number,
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
    let (bytes, serial_number) = options.format.render(&doc)?;
    let extension = match options.format {
        SbomFormat::CyclonedxJson => "cdx.json",
        SbomFormat::SpdxJson => "spdx.json",
    };
    let path = match &options.output {
        SbomDestination::Path(p) => Some(OutputPath::new(p).file(&format!(
            "{}.{extension}",
            file.file_name().unwrap_or("artifact")
        ))),
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
        format: options.format,
        serial_number,
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
