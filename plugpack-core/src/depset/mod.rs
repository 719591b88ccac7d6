//! The exact dependency set of one plugin artifact: which crates were compiled into it, and
//! which were compiled only to build it (build scripts, proc-macros and their dependencies).
//!
//! Input: the [`Project`] (its `cargo metadata` packages and resolve graph), the
//! [`BuildOutput`] of the build that produced the artifact, the artifact itself and
//! `Cargo.lock`. Output: [`DepSet`]. No side effects beyond reading `Cargo.lock` (and, in
//! [`compute_exact`], asking rustc for cfg values the build did not record).
//!
//! Why not just the lockfile or `cargo metadata`: both list crates for every platform and
//! every feature combination, and `cargo metadata` unifies the features of the host side
//! (build scripts, proc-macros) with the target side. The truth is what cargo compiled in
//! *this* build: its `compiler-artifact` messages ([`BuildOutput::units`]) give every unit's
//! package, features and files. The set is computed per compilation unit (the `walk`
//! module): from the plugin's `cdylib` unit, a dependency is followed when the unit's own
//! features enable it (optional dependencies through `dep:name`, `name/feature` and implicit
//! features; renames honoured; weak `name?/feature` never enables), when its platform condition
//! holds for the target ([`TargetCfg`], from `rustc --print cfg`), and the package's unit on
//! the same side is the next step. What is reached that way is linked into the artifact
//! ([`Scope::Required`]); what the build-dependencies and proc-macros of those packages reach
//! on the host side, and is not linked, is [`Scope::BuildOnly`]. Dev-dependencies are never
//! followed.
//!
//! When the build's information is ambiguous (cargo ran without `--target`, a package has two
//! units with different features in the shared directory, and neither is what the side's
//! dependents ask for), incomplete (no cfg values for the target) or missing (a prebuilt
//! `--artifact`: the set then comes from the resolve graph, over-reporting),
//! [`DepSet::exact`] is false and [`DepSet::inexact_reasons`] says why. Ambiguity
//! over-reports, never under-reports: the walk follows the union of the candidates' features.
//!
//! The SBOM, the embedded `.dep-v0` list and the audit use the same set, so they never
//! disagree about what shipped.

mod lockfile;
mod walk;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use camino::{Utf8Path, Utf8PathBuf};
use cargo_metadata::cargo_platform::{Cfg, Platform};
use cargo_metadata::{DependencyKind, Metadata, Node, Package};
use serde::{Deserialize, Serialize};

pub use lockfile::{LockedPackage, Lockfile};

use crate::build::{BuildOutput, BuiltArtifact};
use crate::ctx::Ctx;
use crate::process::{self, ProcessError};
use crate::project::Project;

/// Why the set could not be computed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `Cargo.lock` could not be read.
    #[error("cannot read lockfile {path}")]
    ReadLockfile {
        /// The lockfile.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `Cargo.lock` does not parse, or has no `[[package]]` entry (a real one always lists at
    /// least the root package). The problem never quotes the file's lines.
    #[error("invalid lockfile {path}: {problem}; expected a Cargo.lock")]
    ParseLockfile {
        /// The lockfile.
        path: Utf8PathBuf,
        /// What is wrong and where (line and column).
        problem: String,
    },
    /// `cargo metadata` had no resolve graph (it was run with `--no-deps`).
    #[error("cargo metadata has no dependency graph")]
    NoResolve,
    /// The plugin's package is not in the graph.
    #[error("package {0} is not in the dependency graph")]
    UnknownPackage(String),
    /// `rustc --print cfg` failed.
    #[error("cannot ask rustc for the cfg values of target `{target}`")]
    TargetCfg {
        /// The target triple.
        target: String,
        /// Why.
        #[source]
        source: ProcessError,
    },
}

/// The `cfg` values of one target, as `rustc --print cfg --target <triple>` reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetCfg {
    /// The target triple.
    pub target: String,
    /// Its cfg values (`unix`, `target_os = "linux"`, …).
    pub cfg: Vec<Cfg>,
}

impl TargetCfg {
    /// Parses `rustc --print cfg` output; unparsable lines are skipped.
    pub fn parse(target: &str, text: &str) -> Self {
        Self {
            target: target.to_owned(),
            cfg: text.lines().filter_map(|l| l.trim().parse().ok()).collect(),
        }
    }

    /// Whether a dependency declared for `platform` applies to this target.
    pub fn matches(&self, platform: &Platform) -> bool {
        platform.matches(&self.target, &self.cfg)
    }
}

/// Asks rustc (`ctx.rustc()`) for the cfg values of `target`, running in `dir`.
pub fn target_cfg(ctx: &Ctx, dir: &Utf8Path, target: &str) -> Result<TargetCfg, Error> {
    let mut cmd = std::process::Command::new(ctx.rustc());
    cmd.args(["--print", "cfg", "--target", target])
        .current_dir(dir);
    let text = process::stdout_string(&mut cmd).map_err(|source| Error::TargetCfg {
        target: target.to_owned(),
        source,
    })?;
    Ok(TargetCfg::parse(target, &text))
}

/// How a crate relates to the shipped artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Compiled into the artifact.
    Required,
    /// Compiled only to build it (build script, proc-macro, or their dependencies).
    BuildOnly,
}

/// One crate of the set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepPackage {
    /// Cargo package id.
    pub id: String,
    /// Crate name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Source (`registry+…`, `git+…`), `None` for path packages.
    pub source: Option<String>,
    /// For path packages: the directory relative to the workspace root (never absolute).
    pub local_path: Option<String>,
    /// Registry checksum from `Cargo.lock`.
    pub checksum: Option<String>,
    /// Line of its `[[package]]` entry in `Cargo.lock`.
    pub lock_line: Option<usize>,
    /// `license` from its manifest.
    pub license: Option<String>,
    /// `license-file` from its manifest, relative to the package directory.
    pub license_file: Option<String>,
    /// Package directory (absolute; for reading licence files, never serialized into outputs).
    #[serde(skip)]
    pub package_dir: Option<Utf8PathBuf>,
    /// Authors.
    pub authors: Vec<String>,
    /// Description.
    pub description: Option<String>,
    /// Repository URL.
    pub repository: Option<String>,
    /// Homepage URL.
    pub homepage: Option<String>,
    /// Documentation URL.
    pub documentation: Option<String>,
    /// Scope.
    pub scope: Scope,
    /// Features rustc was given (union over its compilations in this build).
    pub features: Vec<String>,
    /// Target kinds compiled (`lib`, `proc-macro`, `custom-build`).
    pub kinds: Vec<String>,
    /// A shortest dependency path from the plugin (names, plugin first, this crate last).
    pub path_from_root: Vec<String>,
    /// True for the plugin itself.
    pub is_root: bool,
}

/// The exact dependency set of one artifact.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DepSet {
    /// Plugin name.
    pub plugin: String,
    /// Target triple.
    pub target: String,
    /// Package id of the plugin.
    pub root: String,
    /// True when computed from the build's compilation units without any ambiguity; false
    /// when only the resolve graph was available (prebuilt `--artifact`) or the units left a
    /// choice open (see `inexact_reasons`).
    pub exact: bool,
    /// Why the set is not exact, one sentence each (empty when it is).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inexact_reasons: Vec<String>,
    /// Crates, sorted by name then version; the plugin included (`is_root`).
    pub packages: Vec<DepPackage>,
    /// Edges among listed packages: id → sorted ids of its listed dependencies.
    pub edges: BTreeMap<String, Vec<String>>,
}

impl DepSet {
    /// The packages with the given scope.
    pub fn with_scope(&self, scope: Scope) -> impl Iterator<Item = &DepPackage> {
        self.packages.iter().filter(move |p| p.scope == scope)
    }
}

/// The exact set for `artifact`: takes the target's and the host's cfg values from the build
/// (or asks rustc when the build did not record them) and calls [`compute_with`]. When rustc
/// cannot answer, warns and follows platform-specific dependencies unfiltered (the set is then
/// not exact). The SBOM, the embedded dependency list and the audit all call this, so they
/// describe the same crates.
pub fn compute_exact(
    project: &Project,
    build: &BuildOutput,
    artifact: &BuiltArtifact,
    ctx: &Ctx,
) -> Result<DepSet, Error> {
    let ask = |target: &str| match build.target_cfg.get(target) {
        Some(text) => Some(TargetCfg::parse(target, text)),
        None => match target_cfg(ctx, &project.workspace_root, target) {
            Ok(cfg) => Some(cfg),
            Err(e) => {
                ctx.reporter().warn(&format!(
                    "{e}; platform-specific dependencies of {} are not filtered",
                    artifact.plugin
                ));
                None
            }
        },
    };
    let cfg = ask(&artifact.target);
    let host = match &build.toolchain {
        Some(t) if t.host == artifact.target => cfg.clone(),
        Some(t) if !build.units.is_empty() => ask(&t.host),
        _ => None,
    };
    compute_with(project, build, artifact, cfg.as_ref(), host.as_ref())
}

/// Computes the set for `artifact` from the build that produced it, without platform
/// filtering of edges (see [`compute_for_target`]); never exact.
pub fn compute(
    project: &Project,
    build: &BuildOutput,
    artifact: &BuiltArtifact,
) -> Result<DepSet, Error> {
    compute_with(project, build, artifact, None, None)
}

/// Computes the set for `artifact` with the target's `cfg` (from [`target_cfg`]); the host's
/// cfg values come from the build's record of them (or are `cfg` when the artifact is for the
/// host), else host-side edges are not filtered by platform.
pub fn compute_for_target(
    project: &Project,
    build: &BuildOutput,
    artifact: &BuiltArtifact,
    cfg: Option<&TargetCfg>,
) -> Result<DepSet, Error> {
    let host = build.toolchain.as_ref().and_then(|t| {
        if t.host == artifact.target {
            cfg.cloned()
        } else {
            build
                .target_cfg
                .get(&t.host)
                .map(|text| TargetCfg::parse(&t.host, text))
        }
    });
    compute_with(project, build, artifact, cfg, host.as_ref())
}

/// Computes the set for `artifact` with the target's and the host's cfg values (`None`:
/// platform conditions on that side are not evaluated). With the build's units, per
/// compilation unit (see the module doc); without them (a prebuilt artifact), from the
/// resolve graph, not exact.
pub fn compute_with(
    project: &Project,
    build: &BuildOutput,
    artifact: &BuiltArtifact,
    cfg: Option<&TargetCfg>,
    host_cfg: Option<&TargetCfg>,
) -> Result<DepSet, Error> {
    let lock_path = project.workspace_root.join("Cargo.lock");
    let lockfile = if lock_path.exists() {
        Some(Lockfile::read(&lock_path)?)
    } else {
        None
    };
    let plugin = project
        .plugins
        .iter()
        .find(|p| p.name == artifact.plugin)
        .ok_or_else(|| Error::UnknownPackage(artifact.plugin.clone()))?;
    let units: Vec<_> = build
        .units
        .iter()
        .filter(|u| u.target == artifact.target)
        .collect();
    let mut kinds: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for u in &units {
        kinds
            .entry(&u.package_id)
            .or_default()
            .extend(u.kinds.iter().cloned());
    }
    let graph = Graph::new(&project.metadata, cfg)?;
    let root = plugin.package_id.as_str();
    if !graph.nodes.contains_key(root) {
        return Err(Error::UnknownPackage(root.to_owned()));
    }
    let found = if units.is_empty() {
        from_resolve(&graph, root)
    } else {
        let walk = walk::walk(&walk::Inputs {
            metadata: &project.metadata,
            units,
            root,
            target: &artifact.target,
            target_cfg: cfg,
            host_cfg,
        });
        Found::from(walk)
    };

    let mut packages = Vec::new();
    for (id, (scope, features, path)) in &found.packages {
        let Some(pkg) = graph.packages.get(id.as_str()) else {
            continue;
        };
        let mut p = describe(
            project,
            pkg,
            lockfile.as_ref(),
            *scope,
            path.clone(),
            id == root,
            &kinds,
        );
        p.features = features.iter().cloned().collect();
        packages.push(p);
    }
    packages.sort_by(|a, b| (&a.name, &a.version, &a.id).cmp(&(&b.name, &b.version, &b.id)));
    let listed: BTreeSet<&str> = packages.iter().map(|p| p.id.as_str()).collect();
    let mut edges = BTreeMap::new();
    for id in &listed {
        let deps: Vec<String> = found
            .edges
            .get(*id)
            .into_iter()
            .flatten()
            .filter(|dep| listed.contains(dep.as_str()))
            .cloned()
            .collect();
        edges.insert((*id).to_owned(), deps);
    }
    Ok(DepSet {
        plugin: plugin.name.clone(),
        target: artifact.target.clone(),
        root: root.to_owned(),
        exact: found.reasons.is_empty(),
        inexact_reasons: found.reasons.into_iter().collect(),
        packages,
        edges,
    })
}

/// The packages of a set (id → scope, features, path from the plugin), the followed edges,
/// and why the set is not exact.
struct Found {
    packages: BTreeMap<String, (Scope, BTreeSet<String>, Vec<String>)>,
    edges: BTreeMap<String, BTreeSet<String>>,
    reasons: BTreeSet<String>,
}

impl From<walk::Walk> for Found {
    fn from(walk: walk::Walk) -> Self {
        let mut packages = BTreeMap::new();
        for (id, r) in walk.host {
            packages.insert(id, (Scope::BuildOnly, r.features, r.path));
        }
        for (id, r) in walk.target {
            packages.insert(id, (Scope::Required, r.features, r.path));
        }
        Self {
            packages,
            edges: walk.edges,
            reasons: walk.reasons,
        }
    }
}

/// Without build information (a prebuilt artifact): everything the resolve graph reaches from
/// the plugin over normal edges that apply on the target, never through a proc-macro, is
/// `Required`; what build-dependencies and proc-macros add is `BuildOnly`. Not exact: the
/// resolve graph unifies the features of all compilations.
fn from_resolve(graph: &Graph<'_>, root: &str) -> Found {
    let required = graph.reach(root, |_, edge, dep_pkg| {
        edge.kind == DependencyKind::Normal
            && graph.applies_on_target(edge)
            && !graph.is_proc_macro(dep_pkg)
    });
    let all = graph.reach(root, |from, edge, _| graph.follows(&required, from, edge));
    let mut packages = BTreeMap::new();
    for (id, path) in &all {
        let (scope, path) = match required.get(id) {
            Some(p) => (Scope::Required, p.clone()),
            None => (Scope::BuildOnly, path.clone()),
        };
        packages.insert(id.clone(), (scope, BTreeSet::new(), path));
    }
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for id in all.keys() {
        for (edge, dep) in graph.deps(id) {
            if graph.follows(&required, id, &edge) && all.contains_key(dep) {
                edges.entry(id.clone()).or_default().insert(dep.to_owned());
            }
        }
    }
    Found {
        packages,
        edges,
        reasons: BTreeSet::from([
            "no build information (prebuilt artifact): components come from the resolve graph \
             and may include crates that were not compiled"
                .to_owned(),
        ]),
    }
}

fn describe(
    project: &Project,
    pkg: &Package,
    lockfile: Option<&Lockfile>,
    scope: Scope,
    path_from_root: Vec<String>,
    is_root: bool,
    kinds: &BTreeMap<&str, BTreeSet<String>>,
) -> DepPackage {
    let source = pkg.source.as_ref().map(|s| s.repr.clone());
    let package_dir = pkg.manifest_path.parent().map(Utf8Path::to_owned);
    let local_path = if source.is_none() {
        package_dir
            .as_ref()
            .map(|dir| relative_to(dir, &project.workspace_root))
    } else {
        None
    };
    let locked = lockfile.and_then(|l| {
        l.find(
            pkg.name.as_str(),
            &pkg.version.to_string(),
            source.as_deref(),
        )
    });
    DepPackage {
        id: pkg.id.repr.clone(),
        name: pkg.name.to_string(),
        version: pkg.version.to_string(),
        source,
        local_path,
        checksum: locked.and_then(|l| l.checksum.clone()),
        lock_line: locked.map(|l| l.line),
        license: pkg.license.clone(),
        license_file: pkg.license_file.as_ref().map(|f| f.to_string()),
        package_dir,
        authors: pkg.authors.clone(),
        description: pkg.description.clone(),
        repository: pkg.repository.clone(),
        homepage: pkg.homepage.clone(),
        documentation: pkg.documentation.clone(),
        scope,
        features: Vec::new(),
        kinds: kinds
            .get(pkg.id.repr.as_str())
            .map(|k| k.iter().cloned().collect())
            .unwrap_or_default(),
        path_from_root,
        is_root,
    }
}

/// `dir` relative to `base` with `/` separators; `.` for the same directory. Paths outside
/// `base` keep only their components after the common prefix, prefixed with `../`.
fn relative_to(dir: &Utf8Path, base: &Utf8Path) -> String {
    let d: Vec<&str> = dir.components().map(|c| c.as_str()).collect();
    let b: Vec<&str> = base.components().map(|c| c.as_str()).collect();
    let common = d.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<&str> = std::iter::repeat_n("..", b.len() - common).collect();
    parts.extend(&d[common..]);
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

struct Graph<'m> {
    nodes: BTreeMap<&'m str, &'m Node>,
    packages: BTreeMap<&'m str, &'m Package>,
    cfg: Option<&'m TargetCfg>,
}

/// One dependency edge: its kind and the platform it is declared for.
#[derive(Clone, Copy)]
struct Edge<'m> {
    kind: DependencyKind,
    platform: Option<&'m Platform>,
}

impl<'m> Graph<'m> {
    fn new(metadata: &'m Metadata, cfg: Option<&'m TargetCfg>) -> Result<Self, Error> {
        let resolve = metadata.resolve.as_ref().ok_or(Error::NoResolve)?;
        Ok(Self {
            cfg,
            nodes: resolve
                .nodes
                .iter()
                .map(|n| (n.id.repr.as_str(), n))
                .collect(),
            packages: metadata
                .packages
                .iter()
                .map(|p| (p.id.repr.as_str(), p))
                .collect(),
        })
    }

    fn is_proc_macro(&self, id: &str) -> bool {
        self.packages.get(id).is_some_and(|p| {
            p.targets
                .iter()
                .any(|t| t.kind.iter().any(|k| k.to_string() == "proc-macro"))
        })
    }

    /// Whether an edge's platform condition holds for the artifact's target (always true
    /// without cfg values).
    fn applies_on_target(&self, edge: &Edge<'_>) -> bool {
        match (edge.platform, self.cfg) {
            (Some(platform), Some(cfg)) => cfg.matches(platform),
            _ => true,
        }
    }

    /// Whether the set follows `edge` out of `from`: normal and build edges; a normal edge out
    /// of a linked (target-side) crate only when it applies on the target.
    fn follows(
        &self,
        required: &BTreeMap<String, Vec<String>>,
        from: &str,
        edge: &Edge<'_>,
    ) -> bool {
        match edge.kind {
            DependencyKind::Build => true,
            DependencyKind::Normal => !required.contains_key(from) || self.applies_on_target(edge),
            _ => false,
        }
    }

    /// `(edge, dependency id)` for every edge out of `id`.
    fn deps(&self, id: &str) -> impl Iterator<Item = (Edge<'m>, &'m str)> + '_ {
        self.nodes.get(id).into_iter().flat_map(|n| {
            n.deps.iter().flat_map(|d| {
                d.dep_kinds.iter().map(move |k| {
                    (
                        Edge {
                            kind: k.kind,
                            platform: k.target.as_ref(),
                        },
                        d.pkg.repr.as_str(),
                    )
                })
            })
        })
    }

    /// Breadth-first reach from `root` over edges accepted by `follow`; returns each reached
    /// id with a shortest name path.
    fn reach(
        &self,
        root: &str,
        follow: impl Fn(&str, &Edge<'m>, &str) -> bool,
    ) -> BTreeMap<String, Vec<String>> {
        let name = |id: &str| {
            self.packages
                .get(id)
                .map(|p| p.name.to_string())
                .unwrap_or_else(|| id.to_owned())
        };
        let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
        seen.insert(root.to_owned(), vec![name(root)]);
        let mut queue = VecDeque::from([root.to_owned()]);
        while let Some(id) = queue.pop_front() {
            let path = seen.get(&id).cloned().unwrap_or_default();
            for (edge, dep) in self.deps(&id) {
                if seen.contains_key(dep) || !follow(&id, &edge, dep) {
                    continue;
                }
                let mut dep_path = path.clone();
                dep_path.push(name(dep));
                seen.insert(dep.to_owned(), dep_path);
                queue.push_back(dep.to_owned());
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::{TargetCfg, relative_to};
    use camino::Utf8Path;

    #[test]
    fn target_cfg_matches_platform_conditions() {
        let linux = TargetCfg::parse(
            "x86_64-unknown-linux-gnu",
            "debug_assertions\npanic=\"unwind\"\ntarget_arch=\"x86_64\"\ntarget_os=\"linux\"\nunix\n",
        );
        let wasm = TargetCfg::parse(
            "wasm32-wasip1",
            "target_arch=\"wasm32\"\ntarget_family=\"wasm\"\ntarget_os=\"wasi\"\n",
        );
        let p = |s: &str| s.parse().unwrap();
        assert!(!linux.matches(&p("cfg(windows)")));
        assert!(linux.matches(&p("cfg(unix)")));
        assert!(!linux.matches(&p("cfg(any())")));
        assert!(!wasm.matches(&p("cfg(any())")));
        assert!(wasm.matches(&p("cfg(target_arch = \"wasm32\")")));
        assert!(!linux.matches(&p("cfg(target_arch = \"wasm32\")")));
        assert!(wasm.matches(&p("wasm32-wasip1")));
        assert!(!linux.matches(&p("wasm32-wasip1")));
    }

    #[test]
    fn relative_paths_never_absolute() {
        assert_eq!(
            relative_to(Utf8Path::new("/w/crates/a"), Utf8Path::new("/w")),
            "crates/a"
        );
        assert_eq!(relative_to(Utf8Path::new("/w"), Utf8Path::new("/w")), ".");
        assert_eq!(
            relative_to(Utf8Path::new("/x/b"), Utf8Path::new("/w/ws")),
            "../../x/b"
        );
    }
}
