//! The pipeline: the only place that puts stages in order.
//!
//! `package` = build (or take `--artifact` files) → fingerprint → audit of every plugin
//! (refuses on denied findings unless `--allow-findings`, before any bundle is written) →
//! attachments (CycloneDX SBOM, ABI fingerprint, audit report, as OCI referrers) → one bundle
//! per plugin → optional signature. `sbom` = build → one SBOM per artifact, written to files
//! or returned for stdout. Each step is a plain call on the previous step's typed output.

use camino::Utf8PathBuf;
use serde::{Deserialize, Serialize};

use crate::audit;
use crate::build::{self, BuildOptions, BuildOutput, BuiltArtifact};
use crate::ctx::Ctx;
use crate::fingerprint;
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
    /// `--key`/`--sign`: sign each bundle after writing it.
    pub sign: Option<crate::sign::SignOptions>,
    /// `--no-embed-deps`: do not embed the dependency list (`.dep-v0`) into the artifacts.
    pub no_embed_dependencies: bool,
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
    /// The signature, when signed (`--key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<crate::sign::SignOutput>,
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

/// Builds the plugins and, unless `embed_dependencies` is false, embeds each artifact's
/// dependency list (cargo-auditable `.dep-v0`) into the final copy that every later stage
/// hashes, fingerprints and ships. `build` and `package` both use it, so the artifact `build`
/// reports is byte for byte the one `package` bundles.
pub fn build_plugins(
    project: &Project,
    build_options: &BuildOptions,
    embed_dependencies: bool,
    ctx: &Ctx,
) -> Result<BuildOutput> {
    let mut build = build::build(project, build_options, ctx)?;
    if embed_dependencies {
        sbom::embed_dependency_lists(project, &mut build, ctx)?;
    }
    Ok(build)
}

/// Plugin-manifest annotation holding the audit outcome (`clean`, `denied`,
/// `database-unusable`); signatures over the manifest cover it.
pub const AUDIT_VERDICT_ANNOTATION: &str = "dev.plugpack.audit.verdict";

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
    // Load the key before building so a bad key fails fast.
    let signing_key = options.sign.as_ref().map(|o| o.key.load(ctx)).transpose()?;
    let build = if options.artifacts.is_empty() {
        build_plugins(project, build_options, !options.no_embed_dependencies, ctx)?
    } else {
        external_artifacts(project, build_options, options, ctx)?
    };
    let fingerprints = if options.artifacts.is_empty() {
        fingerprint_artifacts(project, build_options, &build, ctx)?
    } else {
        external_fingerprints(&build, ctx)?
    };
    // Audit every plugin's exact dependency set before writing anything: a denied finding
    // in any plugin stops the run with no bundle written (unless `--allow-findings`).
    let mut reports = std::collections::BTreeMap::new();
    for plugin in &project.plugins {
        let report = audit::scan(project, &build, plugin, &options.audit, ctx)?;
        if report.outcome != audit::Outcome::Clean && !options.allow_findings {
            return Err(Error::Audit(audit::Error::Findings {
                plugin: plugin.name.clone(),
                denied: report.summary.denied,
                outcome: report.outcome,
            }));
        }
        reports.insert(plugin.name.clone(), report);
    }
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
        let report = reports
            .remove(&plugin.name)
            .ok_or_else(|| Error::Usage(format!("no audit report for {}", plugin.name)))?;
        let report_bytes = crate::types::canonical_json(&report.for_bundle())
            .map_err(|e| Error::Audit(audit::Error::Serialize(e)))?;
        let verdict = serde_json::to_value(report.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let audit_attachments: Vec<oci::Attachment> = artifacts
            .iter()
            .map(|a| oci::Attachment {
                target: a.target.clone(),
                artifact_type: audit::MEDIA_TYPE.to_owned(),
                media_type: audit::MEDIA_TYPE.to_owned(),
                bytes: report_bytes.clone(),
                title: format!("{}-{}.audit.json", plugin.name, plugin.version),
                // On the plugin manifest, so a signature over it covers the verdict.
                subject_annotations: [(AUDIT_VERDICT_ANNOTATION.to_owned(), verdict.clone())]
                    .into_iter()
                    .collect(),
            })
            .collect();
        let pack_options = PackOptions {
            output: output.clone(),
            epoch: project.epoch,
            revision: project.vcs_revision.clone(),
        };
        let mut attachments = Vec::new();
        for artifact in &artifacts {
            let abi = fingerprints
                .iter()
                .find(|f| f.artifact.path == artifact.path)
                .map(|f| (f.fingerprint.fingerprint, f.fingerprint.detail));
            attachments.push(sbom_attachment(
                project, &build, artifact, abi, &report, ctx,
            )?);
        }
        for f in fingerprints
            .iter()
            .filter(|f| f.artifact.plugin == plugin.name)
        {
            attachments.push(abi_attachment(f)?);
        }
        attachments.extend(audit_attachments);
        ctx.reporter().begin(&format!("writing {output}"));
        let info = oci::pack(plugin, &artifacts, &attachments, &pack_options);
        ctx.reporter().end();
        let mut info = info?;
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
            audit: report,
        });
    }
    Ok(PackageOutput { build, bundles })
}

/// The SBOM of `artifact` as an OCI referrer of its plugin manifest.
fn sbom_attachment(
    project: &Project,
    build: &BuildOutput,
    artifact: &BuiltArtifact,
    abi_fingerprint: Option<(crate::types::Sha256Digest, fingerprint::Detail)>,
    audit_report: &audit::AuditReport,
    ctx: &Ctx,
) -> Result<Attachment> {
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

/// `--artifact` files: fingerprinted as given (no companion build is possible).
fn external_fingerprints(build: &BuildOutput, ctx: &Ctx) -> Result<Vec<FingerprintedArtifact>> {
    let mut out = Vec::new();
    for artifact in &build.artifacts {
        let mut doc = fingerprint::fingerprint_file(&artifact.path)?;
        if doc.detail != fingerprint::Detail::Types {
            ctx.reporter().warn(&format!(
                "{}: symbols-level ABI fingerprint only ({})",
                artifact.file_name,
                doc.notes.join("; ")
            ));
        }
        doc.target = Some(artifact.target.clone());
        doc.package = Some(fingerprint::PackageRef {
            name: artifact.package.clone(),
            version: artifact.version.clone(),
        });
        out.push(FingerprintedArtifact {
            artifact: artifact.clone(),
            fingerprint: doc,
        });
    }
    Ok(out)
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

/// One artifact with its ABI fingerprint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FingerprintedArtifact {
    /// The shipped artifact.
    pub artifact: BuiltArtifact,
    /// Its fingerprint.
    pub fingerprint: fingerprint::AbiFingerprint,
}

/// Options of `fingerprint` (and `abi-check`) beyond the build's.
#[derive(Debug, Clone, Default)]
pub struct FingerprintOptions {
    /// Also hash the public API from rustdoc JSON (`--api`).
    pub api: bool,
}

/// Builds the plugins and fingerprints every artifact (see [`fingerprint_artifacts`]);
/// with `api`, adds the rustdoc-JSON API hashes of each plugin.
pub fn fingerprint(
    project: &Project,
    build_options: &BuildOptions,
    options: &FingerprintOptions,
    ctx: &Ctx,
) -> Result<Vec<FingerprintedArtifact>> {
    let build = build::build(project, build_options, ctx)?;
    let mut out = fingerprint_artifacts(project, build_options, &build, ctx)?;
    if options.api {
        let mut args = project.options.features.to_args();
        args.extend(project.options.network.to_args());
        for plugin in &project.plugins {
            ctx.reporter().status(
                "Documenting",
                &format!("{} (rustdoc JSON API hash)", plugin.name),
            );
            let api = fingerprint::api::rustdoc(
                &ctx.cargo(),
                &project.root_manifest,
                &format!("{}@{}", plugin.package_name, plugin.version),
                &plugin.lib_name,
                &args,
                &project.target_dir.join("plugpack-api"),
            )?;
            for f in out.iter_mut().filter(|f| f.artifact.plugin == plugin.name) {
                f.fingerprint.api = Some(api.clone());
            }
        }
    }
    Ok(out)
}

/// Fingerprints built artifacts. An artifact without full DWARF (release profiles) is
/// fingerprinted through a companion build of the same profile with
/// `CARGO_PROFILE_<P>_DEBUG=full` and `…_STRIP=none` in `<target-dir>/plugpack-abi`, whose
/// export set must equal the shipped artifact's; the shipped file is left as built.
pub fn fingerprint_artifacts(
    project: &Project,
    build_options: &BuildOptions,
    build: &BuildOutput,
    ctx: &Ctx,
) -> Result<Vec<FingerprintedArtifact>> {
    let mut out = Vec::new();
    let mut companion: Option<BuildOutput> = None;
    for artifact in &build.artifacts {
        ctx.reporter().status(
            "Fingerprinting",
            &format!("{} ({})", artifact.file_name, artifact.target),
        );
        let mut doc = fingerprint::fingerprint_file(&artifact.path)?;
        if doc.detail != fingerprint::Detail::Types && artifact.profile != "external" {
            if companion.is_none() {
                let apple = artifact.target.contains("-apple-");
                companion = Some(companion_build(project, build_options, apple, ctx)?);
            }
            let twin = companion.as_ref().and_then(|c| {
                c.artifacts
                    .iter()
                    .find(|a| a.plugin == artifact.plugin && a.target == artifact.target)
            });
            if let Some(twin) = twin {
                let full = fingerprint::fingerprint_file(&twin.path)?;
                let names = |d: &fingerprint::AbiFingerprint| -> Vec<String> {
                    d.exports.iter().map(|s| s.name.clone()).collect()
                };
                if names(&full) == names(&doc) {
                    doc = full;
                } else {
                    let note = format!(
                        "the debuginfo companion build exports a different symbol set; \
                         fingerprint taken from {} alone",
                        artifact.file_name
                    );
                    ctx.reporter().warn(&note);
                    doc.notes.push(note);
                }
            }
        }
        if doc.detail != fingerprint::Detail::Types {
            ctx.reporter().warn(&format!(
                "{}: symbols-level ABI fingerprint only ({})",
                artifact.file_name,
                doc.notes.join("; ")
            ));
        }
        doc.target = Some(artifact.target.clone());
        doc.package = Some(fingerprint::PackageRef {
            name: artifact.package.clone(),
            version: artifact.version.clone(),
        });
        out.push(FingerprintedArtifact {
            artifact: artifact.clone(),
            fingerprint: doc,
        });
    }
    Ok(out)
}

/// `apple`: Apple targets keep DWARF in a `.dSYM` only with `split-debuginfo = "packed"`
/// (with `off` it stays in the object files); elsewhere `off` keeps it in the library.
fn companion_build(
    project: &Project,
    build_options: &BuildOptions,
    apple: bool,
    ctx: &Ctx,
) -> Result<BuildOutput> {
    let profile = build_options.profile.name();
    let var = |key: &str| {
        format!(
            "CARGO_PROFILE_{}_{key}",
            profile.to_uppercase().replace('-', "_")
        )
    };
    let mut options = build_options.clone();
    options.env.push((var("DEBUG"), "full".to_owned()));
    options.env.push((var("STRIP"), "none".to_owned()));
    let split = if apple { "packed" } else { "off" };
    options.env.push((var("SPLIT_DEBUGINFO"), split.to_owned()));
    let mut twin = project.clone();
    let dir = project.target_dir.join("plugpack-abi");
    twin.options.target_dir = Some(dir.clone());
    twin.target_dir = dir;
    ctx.reporter().status(
        "Building",
        &format!("debuginfo companion ({profile}) for the ABI fingerprint"),
    );
    Ok(build::build(&twin, &options, ctx)?)
}

fn abi_attachment(fp: &FingerprintedArtifact) -> Result<oci::Attachment> {
    let mut subject_annotations = std::collections::BTreeMap::new();
    subject_annotations.insert(
        fingerprint::ANNOTATION.to_owned(),
        fp.fingerprint.fingerprint.to_string(),
    );
    subject_annotations.insert(
        fingerprint::DETAIL_ANNOTATION.to_owned(),
        fp.fingerprint.detail.to_string(),
    );
    Ok(oci::Attachment {
        target: fp.artifact.target.clone(),
        artifact_type: fingerprint::MEDIA_TYPE.to_owned(),
        media_type: fingerprint::MEDIA_TYPE.to_owned(),
        bytes: fp.fingerprint.to_canonical_json()?,
        title: "abi.json".to_owned(),
        subject_annotations,
    })
}

/// Options of `abi-check`.
#[derive(Debug, Clone, Default)]
pub struct AbiCheckOptions {
    /// `--baseline`: fingerprint JSON, artifact or bundle of the previous release; default
    /// `metadata.plugpack.abi-baseline` (relative to the package directory).
    pub baseline: Option<Utf8PathBuf>,
    /// Also compare public APIs (warnings only).
    pub api: bool,
}

/// The `abi-check` result for one artifact.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AbiCheck {
    /// Plugin name.
    pub plugin: String,
    /// Target.
    pub target: String,
    /// Where the baseline came from.
    pub baseline: Utf8PathBuf,
    /// The ABI diff baseline → current.
    pub diff: fingerprint::AbiDiff,
    /// The version bump check.
    pub version: fingerprint::VersionCheck,
}

/// Builds, fingerprints and compares each plugin with its baseline; the version check in
/// each result says whether the `Cargo.toml` bump is big enough.
pub fn abi_check(
    project: &Project,
    build_options: &BuildOptions,
    options: &AbiCheckOptions,
    ctx: &Ctx,
) -> Result<Vec<AbiCheck>> {
    let mut baselines = Vec::new();
    for plugin in &project.plugins {
        let path = match (&options.baseline, &plugin.config.abi_baseline) {
            (Some(p), _) => p.clone(),
            (None, Some(p)) => plugin
                .manifest_path
                .parent()
                .map(|dir| dir.join(p))
                .unwrap_or_else(|| p.clone()),
            (None, None) => {
                return Err(Error::Usage(format!(
                    "no ABI baseline for {}: pass --baseline FILE|BUNDLE or set \
                     [package.metadata.plugpack] abi-baseline",
                    plugin.name
                )));
            }
        };
        let loaded = fingerprint::load(&path)?;
        let version = loaded
            .version
            .clone()
            .ok_or_else(|| fingerprint::Error::BaselineVersionUnknown { path: path.clone() })?;
        baselines.push((plugin, loaded, version));
    }
    let current = fingerprint(
        project,
        build_options,
        &FingerprintOptions { api: options.api },
        ctx,
    )?;
    let mut out = Vec::new();
    for (plugin, baseline, old_version) in baselines {
        let before = out.len();
        for fp in current.iter().filter(|f| f.artifact.plugin == plugin.name) {
            if let (Some(a), Some(b)) = (&baseline.fingerprint.target, &fp.fingerprint.target)
                && a != b
            {
                continue;
            }
            let diff = fingerprint::diff(&baseline.fingerprint, &fp.fingerprint);
            let version = fingerprint::check_version(&old_version, &plugin.version, diff.verdict)?;
            out.push(AbiCheck {
                plugin: plugin.name.clone(),
                target: fp.artifact.target.clone(),
                baseline: baseline.path.clone(),
                diff,
                version,
            });
        }
        if out.len() == before {
            return Err(Error::Usage(format!(
                "the ABI baseline {} is for target {}, but {} was built for {}",
                baseline.path,
                baseline.fingerprint.target.as_deref().unwrap_or("?"),
                plugin.name,
                current
                    .iter()
                    .filter(|f| f.artifact.plugin == plugin.name)
                    .map(|f| f.artifact.target.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    Ok(out)
}
