//! Project loading: find the workspace, run `cargo metadata`, select the plugin packages and
//! read their configuration.
//!
//! Input: [`LoadOptions`] (manifest path, package selection, features, cargo's network
//! flags). Output: [`Project`]. Side effects: runs `cargo metadata` and, for the bundle's
//! timestamp and revision, `git` (read-only). No files are written.

pub mod cargo_config;
mod cfg;
mod error;

use camino::{Utf8Path, Utf8PathBuf};
use cargo_metadata::{Metadata, MetadataCommand, Package, PackageId};
use serde::Serialize;

pub use cargo_config::CargoConfig;
pub use cfg::{
    Config, Table, parse as parse_config, read as read_config,
    read_standalone as read_standalone_config,
};
pub use error::Error;

use crate::ctx::Ctx;
use crate::process::{self, git_stdout as git};

/// Which packages to act on, mirroring cargo's `-p/--workspace/--exclude`.
#[derive(Debug, Clone, Default)]
pub struct PackageSelection {
    /// `-p NAME` (repeatable).
    pub packages: Vec<String>,
    /// `--workspace`.
    pub workspace: bool,
    /// `--exclude NAME` (with `--workspace`).
    pub exclude: Vec<String>,
}

/// Cargo's feature flags, forwarded verbatim to every cargo call.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FeatureFlags {
    /// `-F/--features` values.
    pub features: Vec<String>,
    /// `--all-features`.
    pub all_features: bool,
    /// `--no-default-features`.
    pub no_default_features: bool,
}

impl FeatureFlags {
    /// The flags as cargo arguments.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if !self.features.is_empty() {
            args.push("--features".to_owned());
            args.push(self.features.join(","));
        }
        if self.all_features {
            args.push("--all-features".to_owned());
        }
        if self.no_default_features {
            args.push("--no-default-features".to_owned());
        }
        args
    }
}

/// Cargo's `--locked/--frozen/--offline`, forwarded to every cargo call.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct NetworkFlags {
    /// `--locked`
    pub locked: bool,
    /// `--frozen`
    pub frozen: bool,
    /// `--offline`
    pub offline: bool,
}

impl NetworkFlags {
    /// The flags as cargo arguments.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.locked {
            args.push("--locked".to_owned());
        }
        if self.frozen {
            args.push("--frozen".to_owned());
        }
        if self.offline {
            args.push("--offline".to_owned());
        }
        args
    }
}

/// What [`load`] needs.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--manifest-path`; default: cargo's search from the current directory.
    pub manifest_path: Option<Utf8PathBuf>,
    /// Package selection.
    pub selection: PackageSelection,
    /// Feature flags.
    pub features: FeatureFlags,
    /// Network flags.
    pub network: NetworkFlags,
    /// `--target-dir`; default: cargo's.
    pub target_dir: Option<Utf8PathBuf>,
}

/// A plugin: one workspace package whose library is a cdylib.
#[derive(Debug, Clone, Serialize)]
pub struct Plugin {
    /// Cargo's package id.
    pub package_id: String,
    /// Package name.
    pub package_name: String,
    /// Plugin name used in the bundle (`metadata.plugpack.name` or the package name).
    pub name: String,
    /// Package version.
    pub version: String,
    /// The package's `Cargo.toml`.
    pub manifest_path: Utf8PathBuf,
    /// The lib target's crate name (underscored), which names the built file.
    pub lib_name: String,
    /// SPDX licence expression from the manifest.
    pub license: Option<String>,
    /// Repository URL from the manifest.
    pub repository: Option<String>,
    /// Description from the manifest.
    pub description: Option<String>,
    /// Authors from the manifest.
    pub authors: Vec<String>,
    /// Merged configuration (package over workspace).
    pub config: Config,
}

/// A loaded workspace with its selected plugins.
#[derive(Debug, Clone)]
pub struct Project {
    /// Workspace root directory.
    pub workspace_root: Utf8PathBuf,
    /// The workspace's root manifest.
    pub root_manifest: Utf8PathBuf,
    /// Cargo's target directory: `--target-dir`, else the one cargo's configuration names
    /// (see [`CargoConfig`]), else `cargo metadata`'s.
    pub target_dir: Utf8PathBuf,
    /// Cargo's configuration as cargo reads it in the workspace root, where plugpack runs
    /// cargo: the configured targets and target directory.
    pub cargo_config: CargoConfig,
    /// The selected plugins, sorted by name.
    pub plugins: Vec<Plugin>,
    /// `[workspace.metadata.plugpack]`.
    pub workspace_config: Config,
    /// Full `cargo metadata` output, for stages that need the dependency graph.
    pub metadata: Metadata,
    /// The options it was loaded with (cargo flags are forwarded by later stages).
    pub options: LoadOptions,
    /// Build timestamp: `SOURCE_DATE_EPOCH`, else the last commit's time, else 0.
    pub epoch: i64,
    /// The commit checked out, when the workspace is a git checkout.
    pub vcs_revision: Option<String>,
}

/// Loads the workspace and selects its plugin packages.
pub fn load(ctx: &Ctx, options: &LoadOptions) -> Result<Project, Error> {
    load_with(ctx, options, from_metadata)
}

/// [`load`] without asking git ([`from_metadata_without_vcs`]): for checking a plan whose
/// git answers are already at hand.
pub fn load_without_vcs(ctx: &Ctx, options: &LoadOptions) -> Result<Project, Error> {
    load_with(ctx, options, from_metadata_without_vcs)
}

/// Runs `cargo metadata`, then `project` on its output.
fn load_with(
    ctx: &Ctx,
    options: &LoadOptions,
    project: fn(&Ctx, &LoadOptions, Metadata) -> Result<Project, Error>,
) -> Result<Project, Error> {
    let metadata = run_metadata(&ctx.cargo(), options)?;
    tracing::debug!("cargo metadata finished");
    let project = project(ctx, options, metadata);
    tracing::debug!("project loaded");
    project
}

/// Runs `cargo metadata` (with `cargo` as the cargo binary) for these options. Needs no
/// [`Ctx`], so a caller can run it on another thread while cargo builds.
pub fn run_metadata(cargo: &str, options: &LoadOptions) -> Result<Metadata, Error> {
    let mut cmd = MetadataCommand::new();
    cmd.cargo_path(cargo);
    if let Some(path) = &options.manifest_path {
        cmd.manifest_path(path);
    }
    let mut other = options.features.to_args();
    other.extend(options.network.to_args());
    cmd.other_options(other);
    cmd.exec().map_err(Error::Metadata)
}

/// Builds the [`Project`] from `cargo metadata` output already at hand (a build record's,
/// see [`crate::build::record`]) without running cargo: selection, configuration, target
/// directory, timestamp and revision as [`load`] does.
pub fn from_metadata(
    ctx: &Ctx,
    options: &LoadOptions,
    metadata: Metadata,
) -> Result<Project, Error> {
    // git (revision, commit time) answers on its own thread while the rest is read.
    let root = metadata.workspace_root.clone();
    let epoch_from_env = ctx.source_date_epoch()?;
    std::thread::scope(|threads| {
        let vcs = threads.spawn(|| vcs_answers(&root, epoch_from_env));
        let project = from_metadata_without_vcs(ctx, options, metadata);
        let vcs = vcs.join().unwrap_or(VcsAnswers {
            epoch_from_env,
            ..VcsAnswers::default()
        });
        project.map(|project| with_vcs(project, vcs))
    })
}

/// What git says about the workspace at `root`: its `HEAD` commit and, when there is one and
/// no `SOURCE_DATE_EPOCH` (`epoch_from_env`), the commit's time. Two `git` runs at most.
#[derive(Debug, Clone, Default)]
pub struct VcsAnswers {
    revision: Option<String>,
    commit_time: Option<i64>,
    epoch_from_env: Option<i64>,
}

/// Asks git for the [`VcsAnswers`] of `root` (a caller can do it beside other work).
pub fn vcs_answers(root: &Utf8Path, epoch_from_env: Option<i64>) -> VcsAnswers {
    let revision = git(root, &["rev-parse", "HEAD"]);
    // Only asked when there is a commit and no SOURCE_DATE_EPOCH.
    let commit_time = match (&revision, epoch_from_env) {
        (Some(_), None) => git_commit_time(root),
        _ => None,
    };
    VcsAnswers {
        revision,
        commit_time,
        epoch_from_env,
    }
}

/// The project with git's answers: its revision and, without `SOURCE_DATE_EPOCH`, its
/// timestamp (the commit time, else 0).
pub fn with_vcs(mut project: Project, vcs: VcsAnswers) -> Project {
    project.epoch = vcs.epoch_from_env.or(vcs.commit_time).unwrap_or(0);
    project.vcs_revision = vcs.revision;
    project
}

/// [`from_metadata`] without asking git: no revision yet and the timestamp only from
/// `SOURCE_DATE_EPOCH` (0 without); [`with_vcs`] completes it. `package` builds from a
/// record's plan with it, so cargo need not wait for git.
pub fn from_metadata_without_vcs(
    ctx: &Ctx,
    options: &LoadOptions,
    metadata: Metadata,
) -> Result<Project, Error> {
    let root_manifest = metadata.workspace_root.join("Cargo.toml");
    let workspace_config = if root_manifest.exists() {
        cfg::read(&root_manifest, Table::Workspace)?
    } else {
        Config::default()
    };

    let selected = select_packages(&metadata, options)?;
    // The user named packages, or pointed at one crate (not a virtual workspace): a selected
    // package without a cdylib is then an error rather than silently skipped.
    let explicit = !options.selection.packages.is_empty() || metadata.root_package().is_some();
    let mut plugins = Vec::new();
    for package in selected {
        match plugin_from_package(package, &workspace_config)? {
            Some(plugin) => plugins.push(plugin),
            None if explicit && !options.selection.workspace => {
                return Err(Error::NotACdylib {
                    package: package.name.to_string(),
                    manifest: package.manifest_path.clone(),
                });
            }
            None => {}
        }
    }
    if plugins.is_empty() {
        return Err(Error::NoPlugins);
    }
    plugins.sort_by(|a, b| a.name.cmp(&b.name));

    // Independent questions asked at once rather than one after the other: rustc `-vV` and
    // `--print sysroot` (kept in the Ctx for the build) on two threads, cargo's
    // configuration here.
    let root = &metadata.workspace_root;
    let epoch_from_env = ctx.source_date_epoch()?;
    let cargo_config = std::thread::scope(|threads| {
        // Warm-up only: a failure here is reported where the answer is needed.
        threads.spawn(|| ctx.rustc_stdout(root, &["-vV".to_owned()]).ok());
        threads.spawn(|| {
            ctx.rustc_stdout(root, &["--print".to_owned(), "sysroot".to_owned()])
                .ok()
        });
        CargoConfig::load(ctx, root)
    });
    let cargo_config = cargo_config?;
    let target_dir = options
        .target_dir
        .clone()
        .or_else(|| cargo_config.target_dir.clone())
        .unwrap_or_else(|| metadata.target_directory.clone());
    let epoch = epoch_from_env.unwrap_or(0);
    Ok(Project {
        workspace_root: metadata.workspace_root.clone(),
        root_manifest,
        target_dir,
        cargo_config,
        plugins,
        workspace_config,
        metadata,
        options: options.clone(),
        epoch,
        vcs_revision: None,
    })
}

fn select_packages<'m>(
    metadata: &'m Metadata,
    options: &LoadOptions,
) -> Result<Vec<&'m Package>, Error> {
    let members: Vec<&Package> = metadata.workspace_packages();
    let selection = &options.selection;
    if selection.workspace {
        return Ok(members
            .into_iter()
            .filter(|p| !selection.exclude.iter().any(|e| e == p.name.as_str()))
            .collect());
    }
    if !selection.packages.is_empty() {
        return selection
            .packages
            .iter()
            .map(|name| {
                // `-p name` or `-p name@version`.
                let bare = name.split('@').next().unwrap_or(name);
                members
                    .iter()
                    .copied()
                    .find(|p| p.name.as_str() == bare)
                    .ok_or_else(|| Error::UnknownPackage(name.clone()))
            })
            .collect();
    }
    if let Some(root) = metadata.root_package() {
        return Ok(vec![root]);
    }
    let defaults: Vec<&PackageId> = metadata.workspace_default_members.iter().collect();
    Ok(members
        .into_iter()
        .filter(|p| defaults.contains(&&p.id))
        .collect())
}

fn plugin_from_package(
    package: &Package,
    workspace_config: &Config,
) -> Result<Option<Plugin>, Error> {
    let Some(lib) = package
        .targets
        .iter()
        .find(|t| t.crate_types.iter().any(|c| c.to_string() == "cdylib"))
    else {
        return Ok(None);
    };
    let package_config = cfg::read(&package.manifest_path, Table::Package)?;
    let config = package_config.layer(workspace_config);
    Ok(Some(Plugin {
        package_id: package.id.repr.clone(),
        package_name: package.name.to_string(),
        name: config
            .name
            .clone()
            .unwrap_or_else(|| package.name.to_string()),
        version: package.version.to_string(),
        manifest_path: package.manifest_path.clone(),
        lib_name: lib.name.replace('-', "_"),
        license: package.license.clone(),
        repository: package.repository.clone(),
        description: package.description.clone(),
        authors: package.authors.clone(),
        config,
    }))
}

/// Whether tracked files under `dir` have uncommitted changes (staged or not), as
/// `git describe --dirty` decides; untracked files do not count. `None` outside a git
/// checkout or when git fails.
pub fn worktree_dirty(dir: &Utf8Path) -> Option<bool> {
    let mut cmd = process::git_command(
        dir,
        &["status", "--porcelain", "--untracked-files=no", "--", "."],
    );
    process::stdout_string(&mut cmd)
        .ok()
        .map(|s| !s.trim().is_empty())
}

fn git_commit_time(dir: &Utf8Path) -> Option<i64> {
    git(dir, &["log", "-1", "--format=%ct"])?.parse().ok()
}

/// Converts a std path to UTF-8 at the boundary.
pub fn utf8_path(path: std::path::PathBuf) -> Result<Utf8PathBuf, Error> {
    Utf8PathBuf::from_path_buf(path).map_err(|p| Error::NonUtf8Path(p.display().to_string()))
}
