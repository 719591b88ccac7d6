//! Build records: what a build produced, kept as data so later stages can describe the same
//! artifacts without running cargo again.
//!
//! Every `cargo plugpack build`, `package` and `sbom` that builds writes one record per request
//! to `<target-dir>/plugpack/build-records/<key>.json` (schema `plugpack-build-record/1`): the
//! [`BuildOutput`] (artifacts with their sha256, every compilation unit, the toolchain, the
//! targets' cfg values), the `cargo metadata` it was built from, and the sha256 of its inputs
//! (`Cargo.lock` and every local package's manifest). `<key>` is a hash of the request: the
//! manifest, the package selection, the features, the targets and the profile as given on the
//! command line, so the same flags find the same record.
//!
//! `sbom --no-build` and `audit --no-build` [`load`] it instead of running `cargo metadata`
//! and a (no-op) `cargo build`: in a release job that already ran `cargo plugpack build`, the
//! SBOM and audit steps then take a few milliseconds of their own instead of two cargo runs
//! (see `docs/sbom.md`). The record is found without cargo: the manifest is `--manifest-path`
//! or the nearest `Cargo.toml` upwards, the workspace root the nearest directory upwards
//! holding a `Cargo.lock`, the target directory `--target-dir`, else the one cargo's
//! configuration names for that root (`CARGO_TARGET_DIR`, `CARGO_BUILD_TARGET_DIR`,
//! `build.target-dir` in `.cargo/config.toml`, resolved as cargo does by
//! [`crate::project::CargoConfig`]), else `<root>/target`.
//!
//! [`previous_plan`] serves the builds themselves: while `Cargo.lock` and the local manifests
//! are unchanged, `build` and `sbom` start building from the record's plan as `cargo metadata`
//! runs, instead of after it (see `crate::pipeline::load_and_build`).
//!
//! A record is used only while it is true: [`load`] refuses it (naming the file that changed)
//! when `Cargo.lock` or a local manifest changed since the build, or when an artifact's bytes
//! no longer match the recorded sha256 — those describe a build that no longer exists. Source
//! edits without a rebuild do not invalidate it: the record still describes exactly the files
//! on disk, which is what an SBOM of them must say.

use std::collections::{BTreeMap, BTreeSet};

use camino::{Utf8Path, Utf8PathBuf};
use cargo_metadata::Metadata;
use serde::{Deserialize, Serialize};

use super::{BuildOptions, BuildOutput};
use crate::ctx::Ctx;
use crate::project::{self, LoadOptions, Project};
use crate::types::{self, Sha256Digest};

/// The schema name of a record.
pub const SCHEMA: &str = "plugpack-build-record/1";

/// What was asked for: the command-line inputs that choose what gets built. Two invocations
/// with equal requests build the same artifacts, so they share one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildRequest {
    /// The manifest cargo started from (absolute, symlinks resolved).
    pub manifest: Utf8PathBuf,
    /// `-p` values.
    pub packages: Vec<String>,
    /// `--workspace`.
    pub workspace: bool,
    /// `--exclude` values.
    pub exclude: Vec<String>,
    /// `-F/--features` values.
    pub features: Vec<String>,
    /// `--all-features`.
    pub all_features: bool,
    /// `--no-default-features`.
    pub no_default_features: bool,
    /// `--target` values (empty: configured targets, else the host).
    pub targets: Vec<String>,
    /// The cargo profile name.
    pub profile: String,
}

impl BuildRequest {
    /// The request behind these options; fails only when no manifest can be found.
    pub fn new(load: &LoadOptions, build: &BuildOptions) -> Result<Self, Error> {
        Ok(Self {
            manifest: find_manifest(load.manifest_path.as_deref())?,
            packages: load.selection.packages.clone(),
            workspace: load.selection.workspace,
            exclude: load.selection.exclude.clone(),
            features: load.features.features.clone(),
            all_features: load.features.all_features,
            no_default_features: load.features.no_default_features,
            targets: build.targets.clone(),
            profile: build.profile.name(),
        })
    }

    /// The record's file stem: the first 16 hex digits of the sha256 of the canonical request.
    pub fn key(&self) -> String {
        let bytes = types::canonical_json(self).unwrap_or_default();
        Sha256Digest::of_bytes(&bytes).hex()[..16].to_owned()
    }
}

/// One input file and its digest at build time (`None`: it did not exist).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedInput {
    /// Absolute path.
    pub path: Utf8PathBuf,
    /// Its sha256 when the build ran.
    pub sha256: Option<Sha256Digest>,
}

/// A build, as data (see the module docs).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuildRecord {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The plugpack version that wrote it.
    pub plugpack_version: String,
    /// What was asked for.
    pub request: BuildRequest,
    /// The workspace root.
    pub workspace_root: Utf8PathBuf,
    /// `Cargo.lock` and every local package manifest, with their digests.
    pub inputs: Vec<RecordedInput>,
    /// The `cargo metadata` output the build used.
    pub metadata: Metadata,
    /// What the build produced.
    pub build: BuildOutput,
    /// rustc's `-vV` and `--print sysroot` answers the build used (see [`previous_plan`]);
    /// absent in records of older plugpack versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rustc_answers: Vec<crate::ctx::RustcAnswerRecord>,
}

/// Why a record could not be written or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No `Cargo.toml` in the current directory or above it.
    #[error("no Cargo.toml found in {dir} or any parent directory")]
    NoManifest {
        /// Where the search started.
        dir: Utf8PathBuf,
    },
    /// No record for this request.
    #[error(
        "no build record at {path}; run `cargo plugpack build` with the same package, feature, \
         target and profile flags first (or drop --no-build){hint}"
    )]
    Missing {
        /// Where it was looked for.
        path: Utf8PathBuf,
        /// An extra hint (e.g. about `--target-dir`).
        hint: String,
    },
    /// The record describes a build that no longer exists.
    #[error(
        "build record {path} is stale: {reason}; run `cargo plugpack build` again (or drop --no-build)"
    )]
    Stale {
        /// The record.
        path: Utf8PathBuf,
        /// What changed.
        reason: String,
    },
    /// The record is unreadable or not a record.
    #[error("cannot use build record {path}: {reason}")]
    Invalid {
        /// The record.
        path: Utf8PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The record could not be written.
    #[error("cannot write build record {path}")]
    Write {
        /// The record.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The project could not be rebuilt from the recorded metadata.
    #[error(transparent)]
    Project(#[from] project::Error),
}

/// Writes the record of `build` for `project` and returns its path.
pub fn write(
    project: &Project,
    options: &BuildOptions,
    build: &BuildOutput,
    ctx: &Ctx,
) -> Result<Utf8PathBuf, Error> {
    let request = BuildRequest::new(&project.options, options)?;
    let path = record_path(&project.target_dir, &request);
    let record = BuildRecord {
        schema: SCHEMA.to_owned(),
        plugpack_version: env!("CARGO_PKG_VERSION").to_owned(),
        request,
        workspace_root: project.workspace_root.clone(),
        inputs: input_files(&project.workspace_root, &project.metadata)
            .into_iter()
            .map(|path| RecordedInput {
                sha256: digest_if_exists(&path),
                path,
            })
            .collect(),
        metadata: project.metadata.clone(),
        build: build.clone(),
        rustc_answers: ctx.toolchain_answers(),
    };
    let bytes = serde_json::to_vec(&record).map_err(|e| Error::Write {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
    }
    types::write_atomic(&path, &bytes).map_err(|source| Error::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// Finds, checks and reads the record for these options, and rebuilds the [`Project`] from
/// its metadata: the project and build that `sbom --no-build` / `audit --no-build` describe.
pub fn load(
    ctx: &Ctx,
    load_options: &LoadOptions,
    build_options: &BuildOptions,
) -> Result<(Project, BuildOutput), Error> {
    let request = BuildRequest::new(load_options, build_options)?;
    let Some(path) = record_location(ctx, load_options, &request) else {
        return Err(Error::Missing {
            path: request.manifest.clone(),
            hint: "; the workspace has no Cargo.lock".to_owned(),
        });
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Missing {
                path,
                hint: String::new(),
            });
        }
        Err(e) => {
            return Err(Error::Invalid {
                path,
                reason: e.to_string(),
            });
        }
    };
    let record: BuildRecord = serde_json::from_slice(&bytes).map_err(|e| Error::Invalid {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    if record.schema != SCHEMA {
        return Err(Error::Invalid {
            path,
            reason: format!("schema `{}`, expected `{SCHEMA}`", record.schema),
        });
    }
    if record.request != request {
        return Err(Error::Invalid {
            path,
            reason: "it was written for another request (hash collision)".to_owned(),
        });
    }
    check_fresh(&path, &record)?;
    let project = project::from_metadata(ctx, load_options, record.metadata)?;
    targets_unchanged(&path, &project, build_options, &record.build)?;
    Ok((project, record.build))
}

/// The `cargo metadata` output and the rustc answers (`-vV`, `--print sysroot`) the last
/// build with these options saw, when that build's record exists and `Cargo.lock` and every
/// local manifest are unchanged since (artifacts are not checked: the caller is about to
/// build). [`crate::pipeline::load_and_build`] starts building this
/// plan while `cargo metadata` runs, and checks it against the fresh metadata afterwards.
pub fn previous_plan(
    ctx: &Ctx,
    load_options: &LoadOptions,
    build_options: &BuildOptions,
) -> Option<(cargo_metadata::Metadata, Vec<crate::ctx::RustcAnswerRecord>)> {
    let request = BuildRequest::new(load_options, build_options).ok()?;
    let path = record_location(ctx, load_options, &request)?;
    let record: BuildRecord = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    if record.schema != SCHEMA || record.request != request {
        return None;
    }
    inputs_unchanged(&path, &record).ok()?;
    Some((record.metadata, record.rustc_answers))
}

/// Refuses a record whose inputs or artifacts changed since it was written.
fn check_fresh(path: &Utf8Path, record: &BuildRecord) -> Result<(), Error> {
    inputs_unchanged(path, record)?;
    artifacts_unchanged(path, record)
}

/// Refuses a record whose artifacts are not for the targets the same flags select now (cargo's
/// configuration, `.cargo/config.toml` or `CARGO_BUILD_TARGET`, changed since the build).
fn targets_unchanged(
    path: &Utf8Path,
    project: &Project,
    options: &BuildOptions,
    build: &BuildOutput,
) -> Result<(), Error> {
    let Some(toolchain) = &build.toolchain else {
        return Ok(());
    };
    for plugin in &project.plugins {
        let now: BTreeSet<String> =
            super::targets_for(plugin, options, &project.cargo_config, toolchain)
                .into_iter()
                .collect();
        let built: BTreeSet<String> = build
            .artifacts
            .iter()
            .filter(|a| a.plugin == plugin.name)
            .map(|a| a.target.clone())
            .collect();
        if now != built {
            return Err(Error::Stale {
                path: path.to_owned(),
                reason: format!(
                    "it holds {} for {}, but the same flags now select {} (cargo's configuration changed?)",
                    plugin.name,
                    built.into_iter().collect::<Vec<_>>().join(", "),
                    now.into_iter().collect::<Vec<_>>().join(", "),
                ),
            });
        }
    }
    Ok(())
}

fn inputs_unchanged(path: &Utf8Path, record: &BuildRecord) -> Result<(), Error> {
    let stale = |reason: String| Error::Stale {
        path: path.to_owned(),
        reason,
    };
    for input in &record.inputs {
        let now = digest_if_exists(&input.path);
        if now != input.sha256 {
            let what = match (&input.sha256, &now) {
                (Some(_), None) => "was removed",
                (None, Some(_)) => "was created",
                _ => "changed",
            };
            return Err(stale(format!("{} {what} since the build", input.path)));
        }
    }
    Ok(())
}

fn artifacts_unchanged(path: &Utf8Path, record: &BuildRecord) -> Result<(), Error> {
    let stale = |reason: String| Error::Stale {
        path: path.to_owned(),
        reason,
    };
    for artifact in &record.build.artifacts {
        match Sha256Digest::of_file(&artifact.path) {
            Ok((sha, size)) if sha == artifact.sha256 && size == artifact.size => {}
            Ok(_) => {
                return Err(stale(format!(
                    "artifact {} changed since the build",
                    artifact.path
                )));
            }
            Err(e) => {
                return Err(stale(format!("artifact {}: {e}", artifact.path)));
            }
        }
    }
    Ok(())
}

/// Where the record of `request` is, found without cargo (see the module docs); `None` when
/// no `Cargo.lock` is found above the manifest and no target directory is given.
fn record_location(
    ctx: &Ctx,
    load_options: &LoadOptions,
    request: &BuildRequest,
) -> Option<Utf8PathBuf> {
    let root = request
        .manifest
        .ancestors()
        .skip(1)
        .find(|dir| dir.join("Cargo.lock").is_file())
        .map(Utf8Path::to_owned);
    let target_dir = match (&load_options.target_dir, root) {
        (Some(dir), _) => dir.clone(),
        (None, Some(root)) => project::CargoConfig::load(ctx, &root)
            .ok()
            .and_then(|c| c.target_dir)
            .unwrap_or_else(|| root.join("target")),
        (None, None) => return None,
    };
    Some(record_path(&target_dir, request))
}

/// `<target-dir>/plugpack/build-records/<key>.json`.
fn record_path(target_dir: &Utf8Path, request: &BuildRequest) -> Utf8PathBuf {
    target_dir
        .join("plugpack")
        .join("build-records")
        .join(format!("{}.json", request.key()))
}

/// `Cargo.lock` and the manifests of every package without a registry or git source (the
/// workspace members and path dependencies), plus the workspace's root manifest.
fn input_files(root: &Utf8Path, metadata: &Metadata) -> Vec<Utf8PathBuf> {
    let mut files: Vec<Utf8PathBuf> = vec![root.join("Cargo.lock"), root.join("Cargo.toml")];
    files.extend(
        metadata
            .packages
            .iter()
            .filter(|p| p.source.is_none())
            .map(|p| p.manifest_path.clone()),
    );
    let unique: BTreeMap<Utf8PathBuf, ()> = files.into_iter().map(|f| (f, ())).collect();
    unique.into_keys().collect()
}

fn digest_if_exists(path: &Utf8Path) -> Option<Sha256Digest> {
    Sha256Digest::of_file(path).ok().map(|(sha, _)| sha)
}

/// Cargo's manifest search: `--manifest-path` as given, else the nearest `Cargo.toml` from
/// the current directory upwards; made absolute with symlinks resolved.
fn find_manifest(given: Option<&Utf8Path>) -> Result<Utf8PathBuf, Error> {
    let cwd = std::env::current_dir()
        .ok()
        .and_then(|d| Utf8PathBuf::from_path_buf(d).ok())
        .unwrap_or_else(|| Utf8PathBuf::from("."));
    let found = match given {
        Some(path) => cwd.join(path),
        None => cwd
            .ancestors()
            .map(|dir| dir.join("Cargo.toml"))
            .find(|m| m.is_file())
            .ok_or_else(|| Error::NoManifest { dir: cwd.clone() })?,
    };
    Ok(found.canonicalize_utf8().unwrap_or_else(|_| found.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> BuildRequest {
        BuildRequest {
            manifest: "/w/Cargo.toml".into(),
            packages: vec![],
            workspace: false,
            exclude: vec![],
            features: vec![],
            all_features: false,
            no_default_features: false,
            targets: vec![],
            profile: "dev".to_owned(),
        }
    }

    #[test]
    fn key_follows_every_field_that_changes_the_build() {
        let base = request();
        let mut release = request();
        release.profile = "release".to_owned();
        let mut wasm = request();
        wasm.targets = vec!["wasm32-wasip1".to_owned()];
        let mut featured = request();
        featured.features = vec!["x".to_owned()];
        let keys: std::collections::BTreeSet<String> = [&base, &release, &wasm, &featured]
            .iter()
            .map(|r| r.key())
            .collect();
        assert_eq!(keys.len(), 4);
        assert_eq!(base.key(), request().key());
        assert_eq!(base.key().len(), 16);
    }
}
