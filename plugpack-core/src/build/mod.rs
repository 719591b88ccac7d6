//! Building plugins: runs `cargo build --lib` for each selected plugin and target, and reads
//! cargo's `compiler-artifact` messages to find the produced `.so`/`.dylib`/`.dll`/`.wasm`
//! (paths are never guessed).
//!
//! Input: a [`Project`] and [`BuildOptions`]. Output: [`BuildOutput`], which also keeps every
//! compilation unit cargo reported so later stages (SBOM, audit) know exactly which crates
//! went into each artifact. Side effects: runs cargo (which writes into the target dir);
//! cargo's own diagnostics go to stderr unchanged.
//!
//! One cargo invocation per target: artifacts then map to their target without inspecting
//! paths, and a failure names the target that failed. The targets follow `--target`, the
//! plugin's `targets`, then cargo's own configuration ([`targets_for`]); each artifact's bytes
//! are checked against its target ([`artifact_matches_target`]). Cargo gets the rustflags it
//! would use anyway plus path remapping (`rustflags.rs`), so artifacts do not depend on where
//! the workspace, target directory, `$CARGO_HOME` or toolchain are.

mod check;
mod error;
pub mod record;
mod rustflags;

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufReader;
use std::process::{Command, Stdio};

use camino::{Utf8Path, Utf8PathBuf};
use cargo_metadata::Message;
use serde::{Deserialize, Serialize};

pub use check::artifact_matches_target;
pub use error::Error;

use crate::ctx::Ctx;
use crate::process;
use crate::project::{CargoConfig, Plugin, Project};
use crate::types::Sha256Digest;

/// The two plugin flavours plugpack knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PluginKind {
    /// A native shared library (`.so`, `.dylib`, `.dll`).
    Cdylib,
    /// A WebAssembly module.
    Wasm,
}

impl PluginKind {
    /// The kind a target triple produces.
    pub fn for_target(target: &str) -> Self {
        if target.starts_with("wasm32") || target.starts_with("wasm64") {
            PluginKind::Wasm
        } else {
            PluginKind::Cdylib
        }
    }
}

impl std::fmt::Display for PluginKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PluginKind::Cdylib => "cdylib",
            PluginKind::Wasm => "wasm",
        })
    }
}

/// Cargo's `--release` / `--profile`.
#[derive(Debug, Clone, Default)]
pub struct ProfileSelection {
    /// `--release`
    pub release: bool,
    /// `--profile NAME`
    pub profile: Option<String>,
}

impl ProfileSelection {
    /// The profile's name as cargo calls it (`dev`, `release`, or custom).
    pub fn name(&self) -> String {
        match (&self.profile, self.release) {
            (Some(p), _) => p.clone(),
            (None, true) => "release".to_owned(),
            (None, false) => "dev".to_owned(),
        }
    }
}

/// How to run the build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// `--target` values; empty means the plugin's configured `targets`, else the host.
    pub targets: Vec<String>,
    /// Profile.
    pub profile: ProfileSelection,
    /// `-v` count forwarded to cargo.
    pub verbose: u8,
    /// `-q`
    pub quiet: bool,
    /// `--color` forwarded to cargo.
    pub color: Option<String>,
    /// Extra environment for cargo (e.g. `CARGO_PROFILE_RELEASE_DEBUG`) set by later stages.
    pub env: Vec<(String, String)>,
}

/// The toolchain that built (or would build) the artifacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Toolchain {
    /// `rustc -V` output, e.g. `rustc 1.95.0 (59807616e 2026-04-14)`.
    pub rustc_version: String,
    /// The host triple.
    pub host: String,
}

/// One plugin file produced by the build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuiltArtifact {
    /// Plugin name (bundle name).
    pub plugin: String,
    /// Package name.
    pub package: String,
    /// Package version.
    pub version: String,
    /// `cdylib` or `wasm`.
    pub kind: PluginKind,
    /// Target triple it was built for.
    pub target: String,
    /// Absolute path of the file (as cargo reported it).
    pub path: Utf8PathBuf,
    /// File name.
    pub file_name: String,
    /// SHA-256 of the file.
    pub sha256: Sha256Digest,
    /// Size in bytes.
    pub size: u64,
    /// Cargo profile name (`dev`, `release`, …), or `external` for `--artifact`.
    pub profile: String,
    /// The rustc that built it (absent for `--artifact` files).
    pub rustc_version: Option<String>,
    /// The file's stamp when `sha256` was computed: while it is unchanged, the bundle writer
    /// copies the file without hashing it again. Not serialized (a stamp only means
    /// something to the process that took it).
    #[serde(skip)]
    pub stamp: Option<crate::types::FileStamp>,
}

/// One crate compilation cargo reported (`compiler-artifact`), for SBOM and audit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CompiledUnit {
    /// Target triple of the cargo run that produced it.
    pub target: String,
    /// Cargo package id.
    pub package_id: String,
    /// Target name within the package.
    pub target_name: String,
    /// Target kinds (`lib`, `proc-macro`, `custom-build`, …).
    pub kinds: Vec<String>,
    /// Crate types.
    pub crate_types: Vec<String>,
    /// Features rustc was given.
    pub features: Vec<String>,
    /// The files cargo reported for it (absolute). Their directory tells a host-side unit
    /// from a target-side one when cargo ran with `--target` (see `depset`); empty in build
    /// records written before they were kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filenames: Vec<Utf8PathBuf>,
}

/// Everything a build produced.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BuildOutput {
    /// Plugin files, sorted by plugin then target.
    pub artifacts: Vec<BuiltArtifact>,
    /// All compilation units, sorted.
    pub units: Vec<CompiledUnit>,
    /// The toolchain used.
    pub toolchain: Option<Toolchain>,
    /// `rustc --print cfg --target <triple>` output per built target, asked once here so the
    /// stages that filter platform-specific dependencies (SBOM, embedding, audit) do not each
    /// run rustc again. A target missing here is asked for on demand.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub target_cfg: BTreeMap<String, String>,
    /// `(plugin, target)` of every artifact cargo reported as compiled with full debuginfo
    /// (`debug = 2`/`true`/`"full"`): a debuginfo companion build of those would set the
    /// same level, so the fingerprint stage does not run one (see
    /// [`crate::pipeline::fingerprint_artifacts`]).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub full_debuginfo: BTreeSet<(String, String)>,
}

/// Asks rustc for its version and host triple.
pub fn toolchain(ctx: &Ctx, dir: &Utf8Path) -> Result<Toolchain, Error> {
    let out = ctx.rustc_stdout(dir, &["-vV".to_owned()])?;
    let rustc_version = out.lines().next().unwrap_or_default().to_owned();
    let host = out
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .unwrap_or_default()
        .to_owned();
    Ok(Toolchain {
        rustc_version,
        host,
    })
}

/// The targets to build for `plugin`: `--target`, else its `[package.metadata.plugpack]
/// targets`, else cargo's configuration (`build.target`, `CARGO_BUILD_TARGET`), else the host.
pub fn targets_for(
    plugin: &Plugin,
    options: &BuildOptions,
    cargo_config: &CargoConfig,
    toolchain: &Toolchain,
) -> Vec<String> {
    if !options.targets.is_empty() {
        return options.targets.clone();
    }
    match &plugin.config.targets {
        Some(targets) if !targets.is_empty() => targets.clone(),
        _ if !cargo_config.build_targets.is_empty() => cargo_config.build_targets.clone(),
        _ => vec![toolchain.host.clone()],
    }
}

/// Fails early, with the fix, when a non-host target's standard library is missing.
pub fn check_target_installed(
    ctx: &Ctx,
    dir: &Utf8Path,
    target: &str,
    toolchain: &Toolchain,
) -> Result<(), Error> {
    if target == toolchain.host || target.ends_with(".json") {
        return Ok(());
    }
    let mut cmd = Command::new(ctx.rustc());
    cmd.args(["--print", "target-libdir", "--target", target])
        .current_dir(dir);
    let libdir = match process::stdout_string(&mut cmd) {
        Ok(dir) => Utf8PathBuf::from(dir),
        // rustc rejects unknown triples itself; let cargo report that in its own words.
        Err(_) => return Ok(()),
    };
    let has_core = std::fs::read_dir(&libdir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .any(|e| e.file_name().to_string_lossy().starts_with("libcore-"))
        })
        .unwrap_or(false);
    if has_core {
        Ok(())
    } else {
        Err(Error::TargetNotInstalled {
            target: target.to_owned(),
        })
    }
}

/// Builds every plugin of `project` for its targets.
pub fn build(project: &Project, options: &BuildOptions, ctx: &Ctx) -> Result<BuildOutput, Error> {
    let toolchain = toolchain(ctx, &project.workspace_root)?;
    // Group plugins by target so each target is one cargo run.
    let mut by_target: Vec<(String, Vec<&Plugin>)> = Vec::new();
    for plugin in &project.plugins {
        for target in targets_for(plugin, options, &project.cargo_config, &toolchain) {
            match by_target.iter_mut().find(|(t, _)| *t == target) {
                Some((_, plugins)) => plugins.push(plugin),
                None => by_target.push((target, vec![plugin])),
            }
        }
    }
    let mut output = BuildOutput {
        toolchain: Some(toolchain.clone()),
        ..BuildOutput::default()
    };
    let remaps = rustflags::path_remaps(project, ctx)?;
    for (target, plugins) in &by_target {
        check_target_installed(ctx, &project.workspace_root, target, &toolchain)?;
        let user_flags = crate::project::cargo_config::rustflags(
            ctx,
            &project.workspace_root,
            target,
            &toolchain.host,
        )
        .map_err(Box::new)?;
        let mut flags = user_flags.clone();
        flags.extend(remaps.iter().cloned());
        // rustc's `--print cfg` for the target (used after the build, to evaluate
        // `cfg(...)` dependencies) is asked while cargo runs.
        let (cfg, built) = std::thread::scope(|threads| {
            let cfg = threads
                .spawn(|| rustflags::target_cfg(ctx, &project.workspace_root, target, &user_flags));
            let built = run_cargo(
                project,
                options,
                ctx,
                &toolchain,
                target,
                &flags,
                plugins,
                &mut output,
            );
            (cfg.join().ok().flatten(), built)
        });
        built?;
        if let Some(cfg) = cfg {
            output.target_cfg.insert(target.clone(), cfg);
        }
    }
    output
        .artifacts
        .sort_by(|a, b| (&a.plugin, &a.target).cmp(&(&b.plugin, &b.target)));
    output.units.sort();
    output.units.dedup();
    Ok(output)
}

#[allow(clippy::too_many_arguments)]
fn run_cargo(
    project: &Project,
    options: &BuildOptions,
    ctx: &Ctx,
    toolchain: &Toolchain,
    target: &str,
    rustflags: &[String],
    plugins: &[&Plugin],
    output: &mut BuildOutput,
) -> Result<(), Error> {
    let mut cmd = Command::new(ctx.cargo());
    cmd.arg("build")
        .arg("--message-format=json-render-diagnostics")
        .arg("--lib")
        .arg("--manifest-path")
        .arg(&project.root_manifest);
    for plugin in plugins {
        cmd.arg("-p")
            .arg(format!("{}@{}", plugin.package_name, plugin.version));
    }
    if target != toolchain.host
        || !options.targets.is_empty()
        || plugin_has_config_targets(plugins)
        || !project.cargo_config.build_targets.is_empty()
    {
        cmd.arg("--target").arg(target);
    }
    if let Some(profile) = &options.profile.profile {
        cmd.arg("--profile").arg(profile);
    } else if options.profile.release {
        cmd.arg("--release");
    }
    if let Some(dir) = &project.options.target_dir {
        cmd.arg("--target-dir").arg(dir);
    }
    cmd.args(project.options.features.to_args());
    cmd.args(project.options.network.to_args());
    for _ in 0..options.verbose {
        cmd.arg("-v");
    }
    if options.quiet {
        cmd.arg("-q");
    }
    if let Some(color) = &options.color {
        cmd.arg("--color").arg(color);
    }
    // The flags cargo would use from its configuration and environment, plus the path
    // remapping (see `rustflags`); the encoded form wins over every other source in cargo.
    cmd.env("CARGO_ENCODED_RUSTFLAGS", rustflags.join("\x1f"));
    for (k, v) in &options.env {
        cmd.env(k, v);
    }
    cmd.current_dir(&project.workspace_root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let command = process::describe(&cmd);
    tracing::debug!(%command, "running cargo");
    let mut child = cmd.spawn().map_err(|source| Error::Spawn {
        command: command.clone(),
        source,
    })?;
    let stdout = child.stdout.take().ok_or_else(|| Error::ReadOutput {
        command: command.clone(),
        source: std::io::Error::other("no stdout pipe"),
    })?;
    let plugin_ids: BTreeSet<&str> = plugins.iter().map(|p| p.package_id.as_str()).collect();
    let mut found: Vec<(String, Utf8PathBuf)> = Vec::new();
    let mut full_debuginfo: BTreeSet<String> = BTreeSet::new();
    for message in Message::parse_stream(BufReader::new(stdout)) {
        let message = message.map_err(|source| Error::ReadOutput {
            command: command.clone(),
            source,
        })?;
        if let Message::CompilerArtifact(artifact) = message {
            let crate_types: Vec<String> = artifact
                .target
                .crate_types
                .iter()
                .map(|c| c.to_string())
                .collect();
            output.units.push(CompiledUnit {
                target: target.to_owned(),
                package_id: artifact.package_id.repr.clone(),
                target_name: artifact.target.name.clone(),
                kinds: artifact.target.kind.iter().map(|k| k.to_string()).collect(),
                crate_types: crate_types.clone(),
                features: artifact.features.clone(),
                filenames: artifact.filenames.clone(),
            });
            if plugin_ids.contains(artifact.package_id.repr.as_str())
                && crate_types.iter().any(|c| c == "cdylib")
            {
                if artifact.profile.debuginfo == cargo_metadata::ArtifactDebuginfo::Full {
                    full_debuginfo.insert(artifact.package_id.repr.clone());
                }
                for file in artifact.filenames {
                    if is_plugin_file(&file) {
                        found.push((artifact.package_id.repr.clone(), file));
                    }
                }
            }
        }
    }
    let status = child.wait().map_err(|source| Error::Spawn {
        command: command.clone(),
        source,
    })?;
    if !status.success() {
        let names: Vec<&str> = plugins.iter().map(|p| p.package_name.as_str()).collect();
        return Err(Error::CargoFailed {
            what: format!("{} ({target})", names.join(", ")),
            command,
            status,
        });
    }
    let profile = options.profile.name();
    for plugin in plugins {
        let Some((_, path)) = found.iter().find(|(id, _)| *id == plugin.package_id) else {
            return Err(Error::NoArtifact {
                package: plugin.package_name.clone(),
                target: target.to_owned(),
            });
        };
        check::artifact_matches_target(path, target)?;
        if full_debuginfo.contains(&plugin.package_id) {
            output
                .full_debuginfo
                .insert((plugin.name.clone(), target.to_owned()));
        }
        // Unchanged since the last run (cargo did not relink it): the digest then is still
        // true (see `digest_cache` for when an entry is trusted).
        let (sha256, size, stamp) =
            crate::digest_cache::DigestCache::in_target_dir(&project.target_dir)
                .digest(path)
                .map_err(|source| Error::ReadArtifact {
                    path: path.clone(),
                    source,
                })?;
        output.artifacts.push(BuiltArtifact {
            plugin: plugin.name.clone(),
            package: plugin.package_name.clone(),
            version: plugin.version.clone(),
            kind: PluginKind::for_target(target),
            target: target.to_owned(),
            file_name: path.file_name().unwrap_or_default().to_owned(),
            path: path.clone(),
            sha256,
            size,
            profile: profile.clone(),
            rustc_version: Some(toolchain.rustc_version.clone()),
            stamp: Some(stamp),
        });
    }
    Ok(())
}

/// `rustc --print cfg` for `target` with the rustflags cargo's configuration gives it, as
/// [`build`] records it in [`BuildOutput::target_cfg`]; for artifacts plugpack did not build
/// (`--artifact`). `None` when rustc cannot answer.
pub fn configured_target_cfg(
    ctx: &Ctx,
    project: &Project,
    target: &str,
    host: &str,
) -> Result<Option<String>, Error> {
    let flags = crate::project::cargo_config::rustflags(ctx, &project.workspace_root, target, host)
        .map_err(Box::new)?;
    Ok(rustflags::target_cfg(
        ctx,
        &project.workspace_root,
        target,
        &flags,
    ))
}

fn plugin_has_config_targets(plugins: &[&Plugin]) -> bool {
    plugins
        .iter()
        .any(|p| p.config.targets.as_ref().is_some_and(|t| !t.is_empty()))
}

fn is_plugin_file(path: &Utf8Path) -> bool {
    matches!(path.extension(), Some("so" | "dylib" | "dll" | "wasm"))
}

/// Describes a prebuilt file given with `--artifact` as if the build had produced it.
///
/// When `target` is not given, the target is the first of `configured` (the plugin's
/// configured targets, see [`targets_for`]) whose kind matches the file's magic bytes, else
/// `wasm32-unknown-unknown` for a wasm module and the host for anything else. The file is
/// checked against the target either way ([`artifact_matches_target`]).
pub fn external_artifact(
    plugin: &Plugin,
    path: &Utf8Path,
    target: Option<&str>,
    configured: &[String],
    host: &str,
) -> Result<BuiltArtifact, Error> {
    let bad = |reason: &str| Error::BadArtifact {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    // A given file that cannot be read is an invalid input (exit 5), like any other.
    let unreadable = |e: std::io::Error| bad(&format!("cannot read it ({e})"));
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if !meta.is_file() {
        return Err(bad("not a regular file"));
    }
    let mut magic = [0u8; 4];
    {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(unreadable)?;
        let n = f.read(&mut magic).map_err(unreadable)?;
        if n < 4 {
            return Err(bad("too short to be a shared library or wasm module"));
        }
    }
    let is_wasm = magic == *b"\0asm";
    let of_kind = configured
        .iter()
        .find(|t| (PluginKind::for_target(t) == PluginKind::Wasm) == is_wasm);
    let target = match (target, of_kind) {
        (Some(t), _) => t.to_owned(),
        (None, Some(t)) => t.clone(),
        (None, None) if is_wasm => "wasm32-unknown-unknown".to_owned(),
        (None, None) => host.to_owned(),
    };
    let kind = PluginKind::for_target(&target);
    match check::artifact_matches_target(path, &target) {
        Ok(()) => {}
        Err(Error::TargetMismatch { found, .. }) => {
            return Err(bad(&format!(
                "file content does not match target `{target}`: it is {found}"
            )));
        }
        Err(e) => return Err(e),
    }
    let (sha256, size, stamp) = Sha256Digest::of_file_stamped(path).map_err(unreadable)?;
    Ok(BuiltArtifact {
        plugin: plugin.name.clone(),
        package: plugin.package_name.clone(),
        version: plugin.version.clone(),
        kind,
        target,
        path: path.to_owned(),
        file_name: path.file_name().unwrap_or_default().to_owned(),
        sha256,
        size,
        profile: "external".to_owned(),
        rustc_version: None,
        stamp: Some(stamp),
    })
}
