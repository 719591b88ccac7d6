//! `release`: one command for a release job, composed from the other stages.
//!
//! * **Inputs**: a loaded [`Project`], the build options and [`ReleaseOptions`] (tag, key,
//!   push target, dry run, output directory).
//! * **Outputs**: a [`ReleaseReport`] the CLI renders (and CI integrations can summarise):
//!   the bundles, the release manifest ([`ReleaseManifest`], `plugpack-release/1`), the ABI
//!   and audit verdicts and the pushed references.
//! * **Side effects**: builds (through [`crate::pipeline::package`]), signs, pushes (feature
//!   `registry`), and writes the release directory, by default
//!   `<target-dir>/plugpack/release/`: the bundles, one `*.cdx.json` SBOM and one
//!   `*.abi.json` document per artifact (byte for byte the attachments the bundle carries),
//!   `audit.json` (one report per line) and `audit.sarif`, `plugpack-release.json` and
//!   `SHA256SUMS`.
//!
//! Order: the tag and the working tree are checked and the key and ABI baselines loaded
//! before anything is built, so a refused release costs nothing. Then `package` (build,
//! fingerprint and audit, the latter two in parallel, SBOM, bundle) writes into a run
//! directory beside the output; the ABI check against the baseline, signing (with an SLSA
//! provenance statement) and the push follow; the manifest and checksums are written last
//! and the finished directory is renamed into place. Any failure before that rename leaves
//! the previous release directory (or none) and no partial one. `--dry-run` does all of it
//! but signing and pushing.

mod error;
mod manifest;
pub mod provenance;
pub mod tag;

use std::collections::BTreeMap;

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;

pub use error::Error;
pub use manifest::{
    AbiVerdict, AuditVerdict, MANIFEST_FILE_NAME, ReleaseFile, ReleaseManifest, ReleasePlugin,
    SCHEMA, SUMS_FILE_NAME, sha256sums,
};
pub use tag::{ReleaseTag, TagSource};

use crate::audit;
use crate::build::BuildOptions;
use crate::ctx::Ctx;
use crate::pipeline::{self, AbiCheck, AbiCheckOptions, FingerprintedArtifact, PackageOptions};
use crate::project::Project;
use crate::sign::SignOptions;
use crate::types::Sha256Digest;

/// Where `--push` sends the bundles.
#[cfg(feature = "registry")]
#[derive(Debug, Clone)]
pub struct PushTarget {
    /// `REGISTRY/REPO`: one plugin goes there; with several, each goes to
    /// `REGISTRY/REPO/<plugin>`.
    pub reference: String,
    /// Transport and credentials.
    pub options: crate::registry::PushOptions,
}

/// Options of `release` beyond the build's.
#[derive(Debug, Clone, Default)]
pub struct ReleaseOptions {
    /// `-o DIR`: the release directory (default `<target-dir>/plugpack/release`).
    pub output: Option<Utf8PathBuf>,
    /// `--tag` (else `GITHUB_REF_NAME`, else `git describe --exact-match`).
    pub tag: Option<String>,
    /// `--allow-dirty`: release from a working tree with uncommitted changes.
    pub allow_dirty: bool,
    /// `--dry-run`: build and check everything, sign and push nothing.
    pub dry_run: bool,
    /// The key to sign with (ignored under `--dry-run`, but still loaded to check it).
    pub sign: Option<SignOptions>,
    /// `--baseline`: the ABI baseline for every plugin (else each plugin's
    /// `metadata.plugpack.abi-baseline`, else no ABI check).
    pub abi_baseline: Option<Utf8PathBuf>,
    /// `package`'s options (database, `--allow-findings`, embedding); its `output`, `sign`
    /// and `artifacts` are set by `release`.
    pub package: PackageOptions,
    /// `--push REGISTRY/REPO`.
    #[cfg(feature = "registry")]
    pub push: Option<PushTarget>,
}

/// What `release` did; the CLI renders it, and a CI integration (job summary, step
/// outputs) can be fed from it: everything is in [`ReleaseReport::manifest`].
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseReport {
    /// The release directory.
    pub dir: Utf8PathBuf,
    /// `plugpack-release.json` as written.
    pub manifest: ReleaseManifest,
    /// The bundles, at their final paths in [`ReleaseReport::dir`].
    pub bundles: Vec<pipeline::WrittenBundle>,
    /// ABI checks against the baselines (empty when none is configured).
    pub abi: Vec<AbiCheck>,
}

/// Runs the release (see the module documentation).
pub fn release(
    project: &Project,
    build_options: &BuildOptions,
    options: &ReleaseOptions,
    ctx: &Ctx,
) -> crate::Result<ReleaseReport> {
    let started = crate::sign::now();
    // 1. Checks that need no build.
    let release_tag = match tag::resolve(options.tag.as_deref(), ctx, &project.workspace_root) {
        Some((name, source)) => {
            let parsed = tag::parse(&name, source)?;
            tag::check(&parsed, &project.plugins)?;
            Some(parsed)
        }
        None => {
            ctx.reporter().warn(
                "no release tag (--tag, $GITHUB_REF_NAME or a tag on HEAD): the version is not checked against a tag",
            );
            None
        }
    };
    let dirty = crate::project::worktree_dirty(&project.workspace_root) == Some(true);
    if dirty && !options.allow_dirty {
        return Err(Error::DirtyTree {
            root: project.workspace_root.clone(),
        }
        .into());
    }
    let key = match &options.sign {
        Some(sign) => {
            let key = sign.key.load(ctx)?;
            crate::sign::check_times(sign, ctx)?;
            Some(key)
        }
        None => None,
    };
    let abi_options = AbiCheckOptions {
        baseline: options.abi_baseline.clone(),
        api: false,
    };
    let mut baselines = Vec::new();
    for plugin in &project.plugins {
        if let Some(path) = pipeline::baseline_path(plugin, &abi_options) {
            let (loaded, version) = pipeline::load_baseline(&path)?;
            baselines.push((plugin, loaded, version));
        }
    }

    // 2. Build, analyse and bundle into a run directory beside the output.
    let out_dir = options
        .output
        .clone()
        .unwrap_or_else(|| project.target_dir.join("plugpack").join("release"));
    let parent = match out_dir.parent() {
        Some(p) if !p.as_str().is_empty() => p.to_owned(),
        _ => Utf8PathBuf::from("."),
    };
    let write_err = |path: &Utf8Path| {
        let path = path.to_owned();
        move |source| Error::Write { path, source }
    };
    if out_dir.exists() && !out_dir.is_dir() {
        return Err(Error::Write {
            path: out_dir.clone(),
            source: std::io::Error::other("it exists and is not a directory"),
        }
        .into());
    }
    let run = crate::scratch::RunDir::create_in(&parent).map_err(write_err(&out_dir))?;
    let staged = run.path().join("release");
    std::fs::create_dir(&staged).map_err(write_err(&staged))?;
    let package_options = PackageOptions {
        output: Some(staged.clone()),
        artifacts: Vec::new(),
        sign: None,
        ..options.package.clone()
    };
    let packaged = pipeline::package(project, build_options, &package_options, ctx)?;

    // 3. Files from the bundles, ABI verdicts.
    let mut files: Vec<(String, &'static str)> = Vec::new();
    let mut fingerprints: Vec<FingerprintedArtifact> = Vec::new();
    for bundle in &packaged.bundles {
        for (name, kind, bytes) in attachments(&bundle.path)? {
            if kind == "abi" {
                let doc: crate::fingerprint::AbiFingerprint = serde_json::from_slice(&bytes)
                    .map_err(|e| Error::Bundle {
                        path: bundle.path.clone(),
                        problem: format!("ABI document {name} does not parse ({e})"),
                    })?;
                let artifact = packaged.build.artifacts.iter().find(|a| {
                    a.plugin == bundle.plugin && Some(a.target.as_str()) == doc.target.as_deref()
                });
                if let Some(artifact) = artifact {
                    fingerprints.push(FingerprintedArtifact {
                        artifact: artifact.clone(),
                        fingerprint: doc,
                    });
                }
            }
            let path = staged.join(&name);
            crate::types::write_atomic(&path, &bytes).map_err(write_err(&path))?;
            files.push((name, kind));
        }
    }
    let mut abi = Vec::new();
    for (plugin, baseline, old_version) in &baselines {
        let checks = pipeline::compare_with_baseline(plugin, baseline, old_version, &fingerprints)?;
        if let Some(bad) = checks.iter().find(|c| !c.version.ok) {
            return Err(Error::AbiBump {
                plugin: bad.plugin.clone(),
                target: bad.target.clone(),
                message: format!(
                    "version {} → {} is too small a bump for the ABI changes against {} (they need a {} bump); run `cargo plugpack abi-check` for the details",
                    bad.version.old_version,
                    bad.version.new_version,
                    bad.baseline,
                    bad.version.required
                ),
            }
            .into());
        }
        abi.extend(checks);
    }
    let reports: Vec<audit::AuditReport> =
        packaged.bundles.iter().map(|b| b.audit.clone()).collect();
    write_audit(&staged, &reports)?;
    files.push(("audit.json".to_owned(), "audit"));
    files.push(("audit.sarif".to_owned(), "audit-sarif"));

    // 4. Sign (with provenance) and push.
    let mut bundles = packaged.bundles;
    if let (Some(key), Some(sign), false) = (&key, &options.sign, options.dry_run) {
        let mut targets: Vec<String> = packaged
            .build
            .artifacts
            .iter()
            .map(|a| a.target.clone())
            .collect();
        targets.sort();
        targets.dedup();
        let params = provenance::ProvenanceParams {
            tag: release_tag.as_ref().map(|t| t.name.clone()),
            targets,
            profile: Some(build_options.profile.name()),
            features: project.options.features.clone(),
            started_on: started,
        };
        let provenance = provenance::collect(
            ctx,
            &project.workspace_root,
            project.vcs_revision.as_deref(),
            &params,
        );
        for bundle in &mut bundles {
            let sign_options = SignOptions {
                provenance: Some(provenance.clone()),
                ..sign.clone()
            };
            let published = out_dir.join(bundle.path.file_name().unwrap_or("bundle.oci.tar"));
            // A spinner on a terminal (nothing in a CI log) while a large bundle is rewritten.
            ctx.reporter()
                .begin(&format!("signing {} with SLSA provenance", bundle.plugin));
            let signed =
                crate::sign::sign_staged(&bundle.path, &published, key, &sign_options, ctx);
            ctx.reporter().end();
            let signed = signed?;
            bundle.file_sha256 = Some(signed.file_sha256);
            bundle.info = crate::oci::inspect(&crate::oci::read_bundle(&bundle.path)?)?;
            bundle.signature = Some(signed);
        }
    } else if options.dry_run {
        ctx.reporter()
            .status("Dry-run", "nothing is signed or pushed (--dry-run)");
    }
    #[allow(unused_mut)]
    let mut pushed: BTreeMap<String, Vec<manifest::PushedRef>> = BTreeMap::new();
    #[cfg(feature = "registry")]
    if let (Some(target), false) = (&options.push, options.dry_run) {
        for bundle in &bundles {
            let reference = if bundles.len() == 1 {
                target.reference.clone()
            } else {
                format!("{}/{}", target.reference, bundle.plugin)
            };
            let parsed = crate::registry::Reference::parse(&reference)?;
            let report =
                crate::registry::push(&bundle.path, &parsed, &target.options, ctx.reporter())?;
            pushed
                .entry(bundle.plugin.clone())
                .or_default()
                .push(manifest::PushedRef {
                    reference: report.reference.clone(),
                    digest: report.digest,
                    tags: report.tags.clone(),
                });
        }
    }

    // 5. Manifest, checksums, rename into place.
    for bundle in &mut bundles {
        let name = bundle
            .path
            .file_name()
            .unwrap_or("bundle.oci.tar")
            .to_owned();
        files.push((name.clone(), "bundle"));
        if bundle
            .signature
            .as_ref()
            .is_some_and(|s| s.minisig.is_some())
        {
            files.push((format!("{name}.minisig"), "minisig"));
        }
        bundle.path = out_dir.join(&name);
    }
    ctx.reporter()
        .begin(&format!("hashing {} file(s) for SHA256SUMS", files.len()));
    let manifest = manifest::build(manifest::Inputs {
        staged: &staged,
        files: &files,
        tag: release_tag,
        revision: project.vcs_revision.clone(),
        dirty,
        dry_run: options.dry_run,
        bundles: &bundles,
        abi: &abi,
        baselines_for: &baselines
            .iter()
            .map(|(p, _, _)| p.name.clone())
            .collect::<Vec<_>>(),
        pushed: &pushed,
        epoch: project.epoch,
    });
    ctx.reporter().end();
    let manifest = manifest?;
    publish_dir(run, &staged, &out_dir)?;
    Ok(ReleaseReport {
        dir: out_dir,
        manifest,
        bundles,
        abi,
    })
}

/// `audit.json` (one report per line, like `audit --format json -o`) and `audit.sarif`.
fn write_audit(dir: &Utf8Path, reports: &[audit::AuditReport]) -> Result<(), Error> {
    let mut lines = String::new();
    for r in reports {
        let line = serde_json::to_string(r).map_err(|source| Error::Serialize {
            what: "audit report",
            source,
        })?;
        lines.push_str(&line);
        lines.push('\n');
    }
    let mut sarif =
        serde_json::to_string_pretty(&audit::sarif::render(reports)).map_err(|source| {
            Error::Serialize {
                what: "SARIF report",
                source,
            }
        })?;
    sarif.push('\n');
    for (name, text) in [("audit.json", lines), ("audit.sarif", sarif)] {
        let path = dir.join(name);
        crate::types::write_atomic(&path, text.as_bytes())
            .map_err(|source| Error::Write { path, source })?;
    }
    Ok(())
}

/// The SBOM and ABI attachments of a bundle, as `(file name, kind, bytes)`:
/// `<plugin>-<version>-<target>.cdx.json` and `….abi.json`.
fn attachments(bundle: &Utf8Path) -> crate::Result<Vec<(String, &'static str, Vec<u8>)>> {
    let layout = crate::oci::read_bundle(bundle)?;
    let info = crate::oci::inspect(&layout)?;
    let facts = crate::sign::facts(&layout, &info).map_err(|problem| Error::Bundle {
        path: bundle.to_owned(),
        problem,
    })?;
    let mut out = Vec::new();
    for referrer in &info.referrers {
        let kind = match referrer.artifact_type.as_deref() {
            Some(crate::sbom::MEDIA_TYPE) => "sbom",
            Some(crate::fingerprint::MEDIA_TYPE) => "abi",
            _ => continue,
        };
        let Some(target) = info
            .manifests
            .iter()
            .find(|m| m.digest == referrer.subject)
            .and_then(|m| m.target.clone())
        else {
            continue;
        };
        for layer in &referrer.layers {
            let bytes = layout
                .json_blob(&layer.digest)
                .ok_or_else(|| Error::Bundle {
                    path: bundle.to_owned(),
                    problem: format!("attachment {} is not a JSON document", layer.digest),
                })?;
            let suffix = if kind == "sbom" {
                "cdx.json"
            } else {
                "abi.json"
            };
            let name = format!("{}-{}-{target}.{suffix}", facts.name, facts.version);
            out.push((name, kind, bytes.to_vec()));
        }
    }
    out.sort();
    Ok(out)
}

/// Renames the finished `staged` directory to `dest`. An existing `dest` is first moved
/// into the run directory (removed with it), so `dest` is either the old release or the new
/// one, never a mix; between the two renames it is briefly absent.
fn publish_dir(
    run: crate::scratch::RunDir,
    staged: &Utf8Path,
    dest: &Utf8Path,
) -> Result<(), Error> {
    let err = |source| Error::Write {
        path: dest.to_owned(),
        source,
    };
    if dest.exists() {
        std::fs::rename(dest, run.path().join("previous")).map_err(err)?;
    }
    std::fs::rename(staged, dest).map_err(err)?;
    drop(run);
    Ok(())
}

/// The SHA-256 of a file in the staged release.
fn file_digest(path: &Utf8Path) -> Result<(Sha256Digest, u64), Error> {
    Sha256Digest::of_file(path).map_err(|source| Error::Write {
        path: path.to_owned(),
        source,
    })
}
