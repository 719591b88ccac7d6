//! The pipeline: the only place that puts stages in order.
//!
//! `package` = build (or take `--artifact` files) → fingerprint ∥ audit of every plugin (on
//! two threads; refuses on denied findings unless `--allow-findings`, before any bundle is
//! written) → attachments (CycloneDX SBOM, one per artifact, each on its own thread; ABI
//! fingerprint; audit report; as OCI referrers) → one bundle
//! per plugin → optional signature. Each bundle is written and signed in a run directory
//! beside its output ([`crate::scratch::RunDir`]) and renamed into place only when complete
//! (and signed, with `--key`), so a killed run never leaves an unsigned or partial bundle at
//! the output path. `sbom` = build → one SBOM per artifact, written to files
//! or returned for stdout. Each step is a plain call on the previous step's typed output.
//!
//! Each command's composition has its own file: `package` and the build here, `bom.rs`'s
//! `sbom`, `abi.rs`'s `fingerprint`/`abi-check`; everything is re-exported at this level.

mod abi;
mod bom;
mod compliance;

pub use abi::{
    AbiCheck, AbiCheckOptions, FingerprintOptions, FingerprintedArtifact, abi_check, fingerprint,
    fingerprint_artifacts,
};
pub use bom::{SbomDestination, SbomRun, SbomRunOptions, WrittenSbom, sbom, sbom_from_artifact};
pub use compliance::notices;

use abi::{abi_attachment, external_fingerprints};
pub(crate) use abi::{baseline_path, compare_with_baseline, load_baseline};
use bom::sbom_attachments;
use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::audit;
use crate::build::{self, BuildOptions, BuildOutput, BuiltArtifact};
use crate::ctx::Ctx;
use crate::oci::{self, BundleInfo, PackOptions};
use crate::project::Project;
use crate::sbom::{self};
use crate::{Error, Result};

/// Options of `package` beyond the build's.
#[derive(Debug, Clone, Default)]
pub struct PackageOptions {
    /// `-o`: the bundle file (only with exactly one plugin selected), or a directory that
    /// receives each plugin's default file name ([`crate::types::OutputPath`]).
    pub output: Option<Utf8PathBuf>,
    /// `--artifact`: package these prebuilt files instead of building.
    pub artifacts: Vec<Utf8PathBuf>,
    /// `--key`/`--sign`: sign each bundle after writing it.
    pub sign: Option<crate::sign::SignOptions>,
    /// `--no-embed-deps`: do not embed the dependency list (`.dep-v0`) into the artifacts.
    pub no_embed_dependencies: bool,
    /// `--allow-findings`: bundle even when the audit has denied findings.
    pub allow_findings: bool,
    /// Audit options (`--db`). `package` always goes on without a database (with a loud
    /// warning and the verdict `unchecked`), whatever [`audit::ScanOptions::allow_no_db`] says.
    pub audit: audit::ScanOptions,
    /// The `cargo plugpack audit` arguments that reproduce this run's audit (manifest,
    /// features, targets, profile, database, cargo flags), without the package selection:
    /// a refusal names `cargo plugpack audit -p <package> <these>` (plus `--allow-no-db`
    /// when there was no database), so the hinted command shows the same findings.
    pub audit_rerun_args: Vec<String>,
    /// `--sbom-format`: the SBOM formats attached per artifact (CycloneDX when empty).
    pub sbom_formats: Vec<crate::sbom::SbomFormat>,
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
    /// SHA-256 of the tarball file itself, when this run computed it: signing does (it is
    /// also in `signature`). An unsigned bundle is written without hashing the whole tarball
    /// a second time (its blobs are content-addressed and were hashed once); `sha256sum` it,
    /// or let `release` write `SHA256SUMS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_sha256: Option<crate::types::Sha256Digest>,
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
/// reports is byte for byte the one `package` bundles. The result is also kept as a
/// [`build::record`] for `sbom --no-build` and `audit --no-build`.
pub fn build_plugins(
    project: &Project,
    build_options: &BuildOptions,
    embed_dependencies: bool,
    ctx: &Ctx,
) -> Result<BuildOutput> {
    let build = build::build(project, build_options, ctx)?;
    finish_build(project, build_options, build, embed_dependencies, ctx)
}

/// Embeds the dependency lists into the artifacts' final copies when `embed` is set.
fn embed_dependencies_unless(
    project: &Project,
    mut build: BuildOutput,
    embed: bool,
    ctx: &Ctx,
) -> Result<BuildOutput> {
    tracing::debug!("cargo build finished");
    if embed {
        sbom::embed_dependency_lists(project, &mut build, ctx)?;
        tracing::debug!("dependency lists embedded");
    }
    Ok(build)
}

/// What every build through the pipeline does after cargo: embed the dependency lists (unless
/// disabled) and keep the result as a [`build::record`].
fn finish_build(
    project: &Project,
    build_options: &BuildOptions,
    build: BuildOutput,
    embed_dependencies: bool,
    ctx: &Ctx,
) -> Result<BuildOutput> {
    let build = embed_dependencies_unless(project, build, embed_dependencies, ctx)?;
    let record = build::record::write(project, build_options, &build, ctx)?;
    tracing::debug!("build record: {record}");
    Ok(build)
}

/// Loads the project and builds its plugins like [`crate::project::load`] followed by
/// [`build_plugins`], but when the last build with the same flags left a record whose
/// `Cargo.lock` and local manifests are unchanged ([`build::record::previous_plan`]), it starts
/// the build from that record's plan while `cargo metadata` runs on another thread, instead
/// of one after the other. The fresh metadata always decides: when its plan (plugins, their
/// configuration, workspace root, target directory) differs from the record's, the build is
/// run again from the fresh plan. Embedding, SBOMs and records use the fresh project.
pub fn load_and_build(
    load_options: &crate::project::LoadOptions,
    build_options: &BuildOptions,
    embed_dependencies: bool,
    ctx: &Ctx,
) -> Result<(Project, BuildOutput)> {
    std::thread::scope(|scope| {
        // The fresh project, always: cargo metadata, then git, rustc and cargo's
        // configuration. It starts first; reading the record overlaps with it.
        let (metadata_done, metadata_finished) = std::sync::mpsc::channel::<()>();
        let fresh = scope.spawn(move || {
            let metadata = crate::project::run_metadata(&ctx.cargo(), load_options);
            drop(metadata_done);
            crate::project::from_metadata(ctx, load_options, metadata?)
        });
        let join_fresh = |fresh: std::thread::ScopedJoinHandle<'_, _>| -> Result<Project> {
            Ok(fresh
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?)
        };
        let Some((recorded, assumed)) =
            build::record::previous_plan(ctx, load_options, build_options)
        else {
            let project = join_fresh(fresh)?;
            let build = build_plugins(&project, build_options, embed_dependencies, ctx)?;
            return Ok((project, build));
        };
        tracing::debug!("building from the last build record's plan");
        // The planned build also assumes the record's rustc answers (`-vV`, `--print
        // sysroot`), so cargo starts without waiting for rustc; they are checked below.
        let planning_ctx = ctx.assuming_rustc_answers(&assumed);
        let planned = crate::project::from_metadata(&planning_ctx, load_options, recorded);
        // cargo build starts once cargo metadata has exited: both take cargo's package cache
        // lock, and two cargo runs waiting on each other took longer here (70 ms) than one
        // after the other (45 ms). Everything else overlaps.
        let _ = metadata_finished.recv();
        let built = planned
            .as_ref()
            .ok()
            .map(|planned| build::build(planned, build_options, &planning_ctx));
        let project = join_fresh(fresh)?;
        let build = match (planned, built) {
            (Ok(planned), Some(built))
                if same_plan(&planned, &project) && ctx.confirms(&assumed) =>
            {
                ctx.adopt_rustc_answers(&planning_ctx);
                built?
            }
            _ => {
                tracing::debug!(
                    "the fresh metadata or toolchain changed the build plan; building again"
                );
                build::build(&project, build_options, ctx)?
            }
        };
        let build = finish_build(&project, build_options, build, embed_dependencies, ctx)?;
        Ok((project, build))
    })
}

/// Whether a build from `planned` is the build `fresh` asks for: the same plugins with the
/// same configuration, in the same workspace and target directory.
fn same_plan(planned: &Project, fresh: &Project) -> bool {
    planned.workspace_root == fresh.workspace_root
        && planned.root_manifest == fresh.root_manifest
        && planned.target_dir == fresh.target_dir
        && serde_json::to_value(&planned.plugins).ok() == serde_json::to_value(&fresh.plugins).ok()
}

/// Plugin-manifest annotation holding the audit verdict ([`audit::Outcome`]: `clean`,
/// `warned`, `unchecked`, `denied`, `database-unusable`); signatures over the manifest
/// cover it.
pub const AUDIT_VERDICT_ANNOTATION: &str = "dev.plugpack.audit.verdict";

/// The default bundle file name: `<name>-<version>.oci.tar` for the `release` profile,
/// `<name>-<version>-<profile>.oci.tar` for any other (`dev`, custom), so bundles of one
/// version built with different profiles never overwrite each other.
pub fn bundle_file_name(name: &str, version: &str, profile: &str) -> String {
    if profile == "release" {
        format!("{name}-{version}.oci.tar")
    } else {
        format!("{name}-{version}-{profile}.oci.tar")
    }
}

/// The default bundle path: `<target-dir>/plugpack/` + [`bundle_file_name`].
pub fn default_bundle_path(
    project: &Project,
    name: &str,
    version: &str,
    profile: &str,
) -> Utf8PathBuf {
    project
        .target_dir
        .join("plugpack")
        .join(bundle_file_name(name, version, profile))
}

/// Builds (or takes `--artifact` files) and writes one bundle per plugin.
pub fn package(
    project: &Project,
    build_options: &BuildOptions,
    options: &PackageOptions,
    ctx: &Ctx,
) -> Result<PackageOutput> {
    check_output_for(project, options)?;
    let signing_key = signing_key_checked(options, ctx)?;
    audit::preload_database(&options.audit, ctx);
    let build = if options.artifacts.is_empty() {
        build_plugins(project, build_options, !options.no_embed_dependencies, ctx)?
    } else {
        external_artifacts(project, build_options, options, ctx)?
    };
    package_built_unchecked(
        project,
        build_options,
        options,
        build,
        signing_key.as_ref(),
        ctx,
    )
}

/// Loads the project and packages it, like [`crate::project::load`] followed by [`package`],
/// but through [`load_and_build`]: when a build record allows, cargo builds while
/// `cargo metadata` runs instead of after it. With `--artifact` files there is no build to
/// overlap and it is exactly `load` then `package`.
pub fn load_and_package(
    load_options: &crate::project::LoadOptions,
    build_options: &BuildOptions,
    options: &PackageOptions,
    ctx: &Ctx,
) -> Result<(Project, PackageOutput)> {
    if !options.artifacts.is_empty() {
        let project = crate::project::load(ctx, load_options)?;
        let output = package(&project, build_options, options, ctx)?;
        return Ok((project, output));
    }
    let signing_key = signing_key_checked(options, ctx)?;
    audit::preload_database(&options.audit, ctx);
    if let Some(done) = package_from_record(
        load_options,
        build_options,
        options,
        signing_key.as_ref(),
        ctx,
    )? {
        return Ok(done);
    }
    let project = crate::project::load(ctx, load_options)?;
    check_output_for(&project, options)?;
    let build = build_plugins(&project, build_options, !options.no_embed_dependencies, ctx)?;
    let output = package_built_unchecked(
        &project,
        build_options,
        options,
        build,
        signing_key.as_ref(),
        ctx,
    )?;
    Ok((project, output))
}

/// `package` of an up-to-date plugin, from the last build record's plan: when the record is
/// fresh ([`build::record::previous_plan`]), cargo builds from the recorded plan (and rustc
/// answers) at once, every later stage runs on that plan, and `cargo metadata` runs beside
/// the build and the stages. Nothing is
/// published before the fresh metadata is checked: it must be the recorded metadata exactly,
/// give the same plan, and rustc must give the recorded answers. When it does not (or the
/// speculative run failed), the staged bundles are dropped and `None` sends the caller down
/// the ordinary path (fresh metadata, then build), whose result and errors then stand.
fn package_from_record(
    load_options: &crate::project::LoadOptions,
    build_options: &BuildOptions,
    options: &PackageOptions,
    signing_key: Option<&crate::sign::SecretKey>,
    ctx: &Ctx,
) -> Result<Option<(Project, PackageOutput)>> {
    let Some((recorded, assumed)) = build::record::previous_plan(ctx, load_options, build_options)
    else {
        return Ok(None);
    };
    tracing::debug!("packaging from the last build record's plan");
    // Status lines and warnings of the planned run wait for the verdict on the plan.
    let held = std::sync::Arc::new(crate::ctx::HeldReporter::new(ctx.reporter_arc()));
    let planning_ctx = ctx
        .assuming_rustc_answers(&assumed)
        .with_reporter(held.clone());
    let recorded_json = serde_json::to_value(&recorded).ok();
    std::thread::scope(|scope| {
        // rustc is asked for the assumed answers at once, beside the build (the fresh
        // project's own questions to rustc then find them answered).
        let confirmed = scope.spawn(|| ctx.confirms(&assumed));
        // git is asked beside the build too: the build does not need the revision.
        let Ok(epoch_from_env) = ctx.source_date_epoch() else {
            return Ok(None);
        };
        let root = recorded.workspace_root.clone();
        let vcs = scope.spawn(move || crate::project::vcs_answers(&root, epoch_from_env));
        let Ok(planned) =
            crate::project::from_metadata_without_vcs(&planning_ctx, load_options, recorded)
        else {
            return Ok(None);
        };
        if check_output_for(&planned, options).is_err() {
            return Ok(None);
        }
        // `cargo metadata` runs beside the build: the two took 28 ms together against 54 ms
        // one after the other (regex-capi, 2 cores). Its git answers are not compared (see
        // `same_plan`), so git is not asked again.
        let fresh = scope.spawn(|| crate::project::load_without_vcs(ctx, load_options));
        let built = build::build(&planned, build_options, &planning_ctx);
        // rustc was asked beside the build; another toolchain now (`rustup update`, a
        // toolchain file) makes the plan stale before any stage runs on it.
        if !confirmed.join().unwrap_or(false) {
            tracing::debug!("rustc's answers changed since the build record; packaging afresh");
            return Ok(None);
        }
        let Ok(vcs) = vcs.join() else {
            return Ok(None);
        };
        let planned = crate::project::with_vcs(planned, vcs);
        // Joined (and judged) once, before the first bundle is published.
        let verdict = std::sync::OnceLock::<bool>::new();
        let mut fresh = Some(fresh);
        let mut still_true = || {
            *verdict.get_or_init(|| {
                let Some(Ok(Ok(project))) = fresh.take().map(|f| f.join()) else {
                    return false;
                };
                let same = recorded_json.is_some()
                    && serde_json::to_value(&project.metadata).ok() == recorded_json
                    && same_plan(&planned, &project);
                tracing::debug!("fresh metadata and rustc checked: plan still true: {same}");
                if same {
                    held.release();
                } else {
                    held.discard();
                }
                same
            })
        };
        // A failed build (a compile error) stands when the plan was true, so cargo's
        // messages are not printed a second time by a fresh build.
        let built = match built {
            Ok(built) => built,
            Err(e) if still_true() => return Err(e.into()),
            Err(_) => return Ok(None),
        };
        // The build record is written only once the plan is known to be true (below).
        let packaged = embed_dependencies_unless(
            &planned,
            built,
            !options.no_embed_dependencies,
            &planning_ctx,
        )
        .and_then(|build| {
            package_built(
                &planned,
                build_options,
                options,
                build,
                signing_key,
                &planning_ctx,
                &mut still_true,
            )
        });
        match packaged {
            Ok(Some(output)) => {
                ctx.adopt_rustc_answers(&planning_ctx);
                let record = build::record::write(&planned, build_options, &output.build, ctx)?;
                tracing::debug!("build record: {record}");
                Ok(Some((planned, output)))
            }
            // An error of the planned run stands only if the plan was true.
            Err(e) if still_true() => Err(e),
            _ => {
                tracing::debug!("the build record's plan is stale; packaging from fresh metadata");
                Ok(None)
            }
        }
    })
}

/// `-o FILE` names one bundle, so it needs exactly one selected plugin.
fn check_output_for(project: &Project, options: &PackageOptions) -> Result<()> {
    let output_path = options.output.as_deref().map(crate::types::OutputPath::new);
    if matches!(output_path, Some(crate::types::OutputPath::File(_))) && project.plugins.len() > 1 {
        return Err(Error::Usage(
            "-o/--output FILE needs exactly one selected plugin (use -p NAME, or give a \
             directory: -o DIR/)"
                .to_owned(),
        ));
    }
    Ok(())
}

/// Loads the signing key and checks the signature's times, before any build, so a bad key
/// or time fails fast.
fn signing_key_checked(
    options: &PackageOptions,
    ctx: &Ctx,
) -> Result<Option<crate::sign::SecretKey>> {
    let signing_key = options.sign.as_ref().map(|o| o.key.load(ctx)).transpose()?;
    if let Some(sign_options) = &options.sign {
        crate::sign::check_times(sign_options, ctx)?;
    }
    Ok(signing_key)
}

/// [`package_built`] with no plan to check (it then always publishes).
fn package_built_unchecked(
    project: &Project,
    build_options: &BuildOptions,
    options: &PackageOptions,
    build: BuildOutput,
    signing_key: Option<&crate::sign::SecretKey>,
    ctx: &Ctx,
) -> Result<PackageOutput> {
    package_built(
        project,
        build_options,
        options,
        build,
        signing_key,
        ctx,
        &mut || true,
    )?
    .ok_or_else(|| Error::Usage("internal: an unconditional package was withdrawn".to_owned()))
}

/// [`package`] after the build: fingerprints, audits, SBOMs, notices, then one bundle per
/// plugin, signed when a key was given. `still_true` is asked before the first bundle is
/// published: `None` (nothing published, the staged files removed) when it says the inputs
/// changed; callers without a plan to check use [`package_built_unchecked`].
fn package_built(
    project: &Project,
    build_options: &BuildOptions,
    options: &PackageOptions,
    build: BuildOutput,
    signing_key: Option<&crate::sign::SecretKey>,
    ctx: &Ctx,
    still_true: &mut dyn FnMut() -> bool,
) -> Result<Option<PackageOutput>> {
    let output_path = options.output.as_deref().map(crate::types::OutputPath::new);
    let profile = build_options.profile.name();
    // Fingerprints (possibly a debuginfo companion build) and the audits do not depend on
    // each other: they run on two threads. Errors are reported in the old order
    // (fingerprint first).
    let (fingerprints, reports, revision) = std::thread::scope(|scope| {
        // The revision asks `git status` (dirty tree?): one more process, beside the rest.
        let revision = scope.spawn(|| revision(project, ctx));
        let fingerprints = scope.spawn(|| {
            let fingerprints = if options.artifacts.is_empty() {
                fingerprint_artifacts(project, build_options, &build, ctx)
            } else {
                external_fingerprints(&build, ctx)
            };
            tracing::debug!("fingerprints done");
            fingerprints
        });
        let reports = audit_all(project, &build, options, ctx);
        let fingerprints = fingerprints
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let revision = revision
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (fingerprints, reports, revision)
    });
    let fingerprints = fingerprints?;
    let mut reports = reports?;
    tracing::debug!("fingerprints and audits done");
    let mut bundles = Vec::new();
    for plugin in &project.plugins {
        let artifacts: Vec<BuiltArtifact> = build
            .artifacts
            .iter()
            .filter(|a| a.plugin == plugin.name)
            .cloned()
            .collect();
        let output = match &output_path {
            Some(out) => out.file(&bundle_file_name(&plugin.name, &plugin.version, &profile)),
            None => default_bundle_path(project, &plugin.name, &plugin.version, &profile),
        };
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
        let verdict = report.outcome.as_str().to_owned();
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
        // Everything is written and signed in a run directory beside the output; the
        // finished (signed) bundle is renamed into place last. A kill at any point leaves
        // the previous bundle at `output` and a run directory the next run removes.
        let run = stage_dir(&output)?;
        let staged = run
            .path()
            .join(output.file_name().unwrap_or("bundle.oci.tar"));
        let pack_options = PackOptions {
            output: staged.clone(),
            epoch: project.epoch,
            revision: revision.clone(),
        };
        // One SBOM per artifact (target), each on its own thread; kept in artifact order.
        let sboms: Vec<Result<Vec<oci::Attachment>>> = std::thread::scope(|scope| {
            let running: Vec<_> = artifacts
                .iter()
                .map(|artifact| {
                    let abi = fingerprints
                        .iter()
                        .find(|f| f.artifact.path == artifact.path)
                        .map(|f| (f.fingerprint.fingerprint, f.fingerprint.detail));
                    let (build, report) = (&build, &report);
                    let formats = &options.sbom_formats;
                    scope.spawn(move || {
                        sbom_attachments(project, build, artifact, abi, report, formats, ctx)
                    })
                })
                .collect();
            running
                .into_iter()
                .map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        tracing::debug!("SBOMs done");
        let mut attachments = Vec::new();
        for sbom in sboms {
            attachments.extend(sbom?);
        }
        for f in fingerprints
            .iter()
            .filter(|f| f.artifact.plugin == plugin.name)
        {
            attachments.push(abi_attachment(f)?);
        }
        attachments.extend(audit_attachments);
        let notices = compliance::plugin_notices(project, &build, plugin, ctx)?;
        for c in notices.crates.iter().filter(|c| c.missing_license_text) {
            ctx.reporter().warn(&format!(
                "notices: {} {}: no licence text in its sources",
                c.name, c.version
            ));
        }
        attachments.extend(compliance::notices_attachments(&notices, &targets));
        tracing::debug!("notices collected");
        let plugin = &licensed(plugin, ctx);
        ctx.reporter().begin(&format!("writing {output}"));
        let packed = oci::pack(plugin, &artifacts, &attachments, &pack_options);
        ctx.reporter().end();
        tracing::debug!("bundle written");
        let mut info = packed?;
        let mut file_sha256 = None;
        let signature = match (signing_key, &options.sign) {
            (Some(key), Some(sign_options)) => {
                let signed = crate::sign::sign_staged(&staged, &output, key, sign_options, ctx)?;
                info = oci::inspect(&oci::read_bundle(&staged)?)?;
                file_sha256 = Some(signed.file_sha256);
                Some(signed)
            }
            _ => None,
        };
        if !still_true() {
            return Ok(None);
        }
        publish(&staged, &output)?;
        if let Some(minisig) = signature.as_ref().and_then(|s| s.minisig.as_ref()) {
            publish(&Utf8PathBuf::from(format!("{staged}.minisig")), minisig)?;
        }
        drop(run);
        tracing::debug!("bundle published");
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
    Ok(Some(PackageOutput { build, bundles }))
}

/// Audits every plugin's exact dependency set before anything is written: a denied
/// finding in any plugin stops the run with no bundle written (unless `--allow-findings`).
fn audit_all(
    project: &Project,
    build: &BuildOutput,
    options: &PackageOptions,
    ctx: &Ctx,
) -> Result<std::collections::BTreeMap<String, audit::AuditReport>> {
    let mut reports = std::collections::BTreeMap::new();
    let scan_options = audit::ScanOptions {
        allow_no_db: true,
        ..options.audit.clone()
    };
    for plugin in &project.plugins {
        let report = audit::scan(project, build, plugin, &scan_options, ctx)?;
        if report.outcome.refuses() && !options.allow_findings {
            return Err(Error::Audit(audit::Error::Findings {
                plugin: plugin.name.clone(),
                rerun: audit_rerun(plugin, &report, &options.audit_rerun_args),
                denied: report.summary.denied,
                outcome: report.outcome,
            }));
        }
        reports.insert(plugin.name.clone(), report);
    }
    Ok(reports)
}

/// The `cargo plugpack audit` command that reproduces `report` for `plugin`.
fn audit_rerun(
    plugin: &crate::project::Plugin,
    report: &audit::AuditReport,
    args: &[String],
) -> String {
    let mut words = vec![
        "cargo".to_owned(),
        "plugpack".to_owned(),
        "audit".to_owned(),
        "-p".to_owned(),
        plugin.package_name.clone(),
    ];
    words.extend(args.iter().cloned());
    if report.advisories == audit::AdvisoryStatus::NotChecked {
        words.push("--allow-no-db".to_owned());
    }
    words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `word` as a POSIX shell word: unchanged when it needs no quoting, else single-quoted.
fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./:=@%+,".contains(&b));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The revision `package` stamps on the bundle: HEAD's commit, with `-dirty` (as
/// `git describe --dirty` does) when tracked files under the workspace root have uncommitted
/// changes, with a warning; untracked files do not count (they are in no commit).
fn revision(project: &Project, ctx: &Ctx) -> Option<String> {
    let head = project.vcs_revision.clone()?;
    if crate::project::worktree_dirty(&project.workspace_root) != Some(true) {
        return Some(head);
    }
    ctx.reporter().warn(&format!(
        "the working tree at {} has uncommitted changes: the bundle's revision is recorded as {head}-dirty (commit them for a reproducible release)",
        project.workspace_root
    ));
    Some(format!("{head}-dirty"))
}

/// `plugin` with its licence as the `org.opencontainers.image.licenses` annotation needs it:
/// a valid SPDX expression (`MIT/Apache-2.0` becomes `MIT OR Apache-2.0`, as in the SBOM),
/// or none, with a warning, when the string cannot be made one.
fn licensed(plugin: &crate::project::Plugin, ctx: &Ctx) -> crate::project::Plugin {
    let mut plugin = plugin.clone();
    plugin.license = match sbom::Licensing::of(plugin.license.as_deref()) {
        sbom::Licensing::Spdx(expression) => Some(expression),
        sbom::Licensing::NonSpdx(raw) => {
            ctx.reporter().warn(&format!(
                "{}: licence `{raw}` is not an SPDX expression; the bundle has no org.opencontainers.image.licenses annotation",
                plugin.name
            ));
            None
        }
        sbom::Licensing::Missing => None,
    };
    plugin
}

/// A run directory beside `output` (see [`crate::scratch`]).
fn stage_dir(output: &Utf8Path) -> Result<crate::scratch::RunDir> {
    let parent = match output.parent() {
        Some(p) if !p.as_str().is_empty() => p.to_owned(),
        _ => Utf8PathBuf::from("."),
    };
    crate::scratch::RunDir::create_in(&parent).map_err(|source| {
        Error::Oci(oci::Error::Write {
            path: output.to_owned(),
            source,
        })
    })
}

/// Renames a finished file from the run directory to its final path (same directory tree,
/// so the rename is atomic: readers see the old file or the new one, never a mix).
fn publish(staged: &Utf8Path, dest: &Utf8Path) -> Result<()> {
    if exchange_into_place(staged, dest) {
        return Ok(());
    }
    std::fs::rename(staged, dest).map_err(|source| {
        Error::Oci(oci::Error::Write {
            path: dest.to_owned(),
            source,
        })
    })
}

/// Swaps the staged file with an existing regular file at `dest` in one atomic step
/// (`renameat2(RENAME_EXCHANGE)`): readers see the old bundle or the new one, never none,
/// exactly as with a rename over it, and the old one ends up at `staged`, inside the run
/// directory, and goes with it. Measured here, ext4 spends ~20 ms in a rename that replaces
/// a 23 MiB file (it starts writing the new file out and frees the old one's blocks inside
/// the call) and ~0.1 ms in the exchange plus ~6 ms removing the old file. False (nothing
/// done) when `dest` is not a regular file, the file system has no exchange, or the thing
/// swapped out turns out not to be a regular file (then it is swapped back): the caller
/// renames as before.
fn exchange_into_place(staged: &Utf8Path, dest: &Utf8Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        let regular = |path: &Utf8Path| {
            std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
        };
        if !regular(dest) {
            return false;
        }
        if renameat_with(
            CWD,
            staged.as_std_path(),
            CWD,
            dest.as_std_path(),
            RenameFlags::EXCHANGE,
        )
        .is_err()
        {
            return false;
        }
        if regular(staged) {
            return true;
        }
        // Something replaced `dest` between the check and the swap: put it back untouched.
        let _ = renameat_with(
            CWD,
            staged.as_std_path(),
            CWD,
            dest.as_std_path(),
            RenameFlags::EXCHANGE,
        );
        false
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (staged, dest);
        false
    }
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
    // Without --target, the plugin's configured targets (metadata, then cargo's configuration)
    // label the file, as they would have chosen the build's target.
    let configured = build::targets_for(
        plugin,
        &BuildOptions::default(),
        &project.cargo_config,
        &toolchain,
    );
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
            &configured,
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
    // The platform filter of the SBOM and audit uses the cfg values the configured rustflags
    // give, as for a build.
    let mut target_cfg = std::collections::BTreeMap::new();
    for target in targets {
        if let Some(cfg) = build::configured_target_cfg(ctx, project, target, &toolchain.host)? {
            target_cfg.insert(target.to_owned(), cfg);
        }
    }
    Ok(BuildOutput {
        artifacts,
        units: Vec::new(),
        toolchain: Some(toolchain),
        target_cfg,
        full_debuginfo: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn hint_words_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("--db"), "--db");
        assert_eq!(
            shell_quote("/tmp/a-b_c/Cargo.toml"),
            "/tmp/a-b_c/Cargo.toml"
        );
        assert_eq!(shell_quote("a,b"), "a,b");
        assert_eq!(shell_quote("my dir/db"), "'my dir/db'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    /// `publish` puts the new bundle at the destination whether or not one was there (the
    /// old one ends at the staged path), and never swaps a directory or a link into the run
    /// directory: those are renamed over as before (which refuses a directory).
    #[test]
    fn publish_replaces_a_file_and_leaves_directories_and_links_alone() {
        use camino::Utf8PathBuf;
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
        let staged = root.join("staged.oci.tar");
        let dest = root.join("out.oci.tar");
        std::fs::write(&staged, b"new").unwrap();
        super::publish(&staged, &dest).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
        std::fs::write(&staged, b"newer").unwrap();
        super::publish(&staged, &dest).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"newer");
        if cfg!(target_os = "linux") {
            assert_eq!(
                std::fs::read(&staged).unwrap(),
                b"new",
                "old bundle not swapped out"
            );
        }
        // A directory at the destination stays where it is, with its content.
        let dir_dest = root.join("a-dir");
        std::fs::create_dir(&dir_dest).unwrap();
        std::fs::write(dir_dest.join("keep"), b"x").unwrap();
        std::fs::write(&staged, b"third").unwrap();
        assert!(super::publish(&staged, &dir_dest).is_err());
        assert_eq!(std::fs::read(dir_dest.join("keep")).unwrap(), b"x");
        assert_eq!(std::fs::read(&staged).unwrap(), b"third");
        // A symlink at the destination is replaced by the file, its target untouched.
        #[cfg(unix)]
        {
            let target = root.join("target-file");
            std::fs::write(&target, b"target").unwrap();
            let link = root.join("link.oci.tar");
            std::os::unix::fs::symlink(&target, &link).unwrap();
            super::publish(&staged, &link).unwrap();
            assert_eq!(std::fs::read(&link).unwrap(), b"third");
            assert!(
                !std::fs::symlink_metadata(&link)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
            assert_eq!(std::fs::read(&target).unwrap(), b"target");
        }
    }
}
