//! `fingerprint`, `abi-check` and the ABI referrer of `package`.

use camino::Utf8PathBuf;
use serde::{Deserialize, Serialize};

use crate::build::{self, BuildOptions, BuildOutput, BuiltArtifact};
use crate::ctx::Ctx;
use crate::fingerprint;
use crate::oci::{self};
use crate::project::Project;
use crate::{Error, Result};

/// `--artifact` files: fingerprinted as given (no companion build is possible).
pub(super) fn external_fingerprints(
    build: &BuildOutput,
    ctx: &Ctx,
) -> Result<Vec<FingerprintedArtifact>> {
    let mut out = Vec::new();
    for artifact in &build.artifacts {
        let doc = fingerprint::fingerprint_file(&artifact.path)?;
        out.push(finish(artifact, doc, ctx));
    }
    Ok(out)
}

/// One artifact with its ABI fingerprint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FingerprintedArtifact {
    /// The shipped artifact.
    pub artifact: BuiltArtifact,
    /// Its fingerprint.
    pub fingerprint: fingerprint::AbiFingerprint,
}

impl FingerprintedArtifact {
    /// The default file name of its document (`fingerprint -o DIR/`):
    /// `<plugin>-<version>-<target>.abi.json`.
    pub fn file_name(&self) -> String {
        let a = &self.artifact;
        format!("{}-{}-{}.abi.json", a.plugin, a.version, a.target)
    }
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
/// export set must equal the shipped artifact's; the shipped file is left as built. No
/// companion is built for an artifact cargo compiled with full debuginfo whose DWARF
/// describes at least one export: the companion would set the same level (exports still
/// undescribed come from crates a per-package `debug` override leaves without DWARF, and the
/// companion keeps that override), so it could only repeat the same document.
pub fn fingerprint_artifacts(
    project: &Project,
    build_options: &BuildOptions,
    build: &BuildOutput,
    ctx: &Ctx,
) -> Result<Vec<FingerprintedArtifact>> {
    let mut out = Vec::new();
    let mut companion: Option<BuildOutput> = None;
    // The artifacts' digests are this run's (or the digest cache's for an unchanged file).
    let cache = fingerprint::cache::FingerprintCache::in_target_dir(&project.target_dir);
    for artifact in &build.artifacts {
        ctx.reporter().status(
            "Fingerprint",
            &format!("{} ({})", artifact.file_name, artifact.target),
        );
        let mut doc = cache.fingerprint(&artifact.path, artifact.sha256)?;
        // Full debuginfo with DWARF that describes exports: nothing a companion could add.
        // (Stripped or split DWARF describes none, and still gets the companion.)
        let already_full = build
            .full_debuginfo
            .contains(&(artifact.plugin.clone(), artifact.target.clone()))
            && doc
                .exports
                .iter()
                .any(|s| s.detail == Some(fingerprint::Detail::Types));
        // A component's WIT world is complete without DWARF (`detail: wit`).
        if doc.detail == fingerprint::Detail::Symbols
            && artifact.profile != "external"
            && !already_full
        {
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
                let full = fingerprint::cache::FingerprintCache::in_target_dir(
                    &project.target_dir.join("plugpack-abi"),
                )
                .fingerprint(&twin.path, twin.sha256)?;
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
        out.push(finish(artifact, doc, ctx));
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

pub(super) fn abi_attachment(fp: &FingerprintedArtifact) -> Result<oci::Attachment> {
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
        let Some(path) = baseline_path(plugin, options) else {
            return Err(Error::Usage(format!(
                "no ABI baseline for {}: pass --baseline FILE|BUNDLE or set \
                 [package.metadata.plugpack] abi-baseline",
                plugin.name
            )));
        };
        let (loaded, version) = load_baseline(&path)?;
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
        out.extend(compare_with_baseline(
            plugin,
            &baseline,
            &old_version,
            &current,
        )?);
    }
    Ok(out)
}

/// The ABI baseline of `plugin`: `--baseline`, else `metadata.plugpack.abi-baseline`
/// (relative to the package directory), else none.
pub(crate) fn baseline_path(
    plugin: &crate::project::Plugin,
    options: &AbiCheckOptions,
) -> Option<Utf8PathBuf> {
    match (&options.baseline, &plugin.config.abi_baseline) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(p)) => Some(
            plugin
                .manifest_path
                .parent()
                .map(|dir| dir.join(p))
                .unwrap_or_else(|| p.clone()),
        ),
        (None, None) => None,
    }
}

/// Loads a baseline and the version it records (required: the bump is judged against it).
pub(crate) fn load_baseline(path: &Utf8PathBuf) -> Result<(fingerprint::Loaded, String)> {
    let loaded = fingerprint::load(path)?;
    let version = loaded
        .version
        .clone()
        .ok_or_else(|| fingerprint::Error::BaselineVersionUnknown { path: path.clone() })?;
    Ok((loaded, version))
}

/// Compares `plugin`'s fingerprinted artifacts in `current` with `baseline` (skipping
/// artifacts of another target than the baseline's); an error when none matches.
pub(crate) fn compare_with_baseline(
    plugin: &crate::project::Plugin,
    baseline: &fingerprint::Loaded,
    old_version: &str,
    current: &[FingerprintedArtifact],
) -> Result<Vec<AbiCheck>> {
    let mut out = Vec::new();
    for fp in current.iter().filter(|f| f.artifact.plugin == plugin.name) {
        if let (Some(a), Some(b)) = (&baseline.fingerprint.target, &fp.fingerprint.target)
            && a != b
        {
            continue;
        }
        let diff = fingerprint::diff(&baseline.fingerprint, &fp.fingerprint);
        let version = fingerprint::check_version(old_version, &plugin.version, diff.verdict)?;
        out.push(AbiCheck {
            plugin: plugin.name.clone(),
            target: fp.artifact.target.clone(),
            baseline: baseline.path.clone(),
            diff,
            version,
        });
    }
    if out.is_empty() {
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
    Ok(out)
}

/// Names the artifact's target and package in its document, and warns when only the
/// symbols level could be fingerprinted.
fn finish(
    artifact: &BuiltArtifact,
    mut doc: fingerprint::AbiFingerprint,
    ctx: &Ctx,
) -> FingerprintedArtifact {
    if doc.detail == fingerprint::Detail::Symbols {
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
    FingerprintedArtifact {
        artifact: artifact.clone(),
        fingerprint: doc,
    }
}
