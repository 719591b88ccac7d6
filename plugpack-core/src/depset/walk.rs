//! The per-compilation walk: which of the units one cargo run compiled are linked into the
//! plugin (the *target side*) and which were compiled only to build it (the *host side*:
//! build scripts, proc-macros and everything they use).
//!
//! Cargo (resolver 2 and later) resolves features separately for the two sides, so one
//! package can be compiled twice with different features, and an optional dependency that
//! only the host-side features enable is compiled but never linked. The resolve graph of
//! `cargo metadata` unifies both sides and cannot tell. Here every package on a side gets the
//! features of *its* unit on that side, and a dependency edge is followed only when those
//! features enable it:
//!
//! - the plugin's own `cdylib` unit gives the root features;
//! - for each package reached on a side, its declared dependencies (`cargo metadata`'s
//!   `dependencies`, with `kind`, `target`, `optional`, `rename`) are matched to the resolved
//!   packages (the resolve node's deps, by package name, rename, kind and platform); an
//!   optional one is enabled when one of the unit's features lists `dep:name` or a non-weak
//!   `name/feature` (the implicit feature of an old-style optional dependency is
//!   `name = ["dep:name"]` in the table), where `name` is the rename if any;
//! - target side: normal dependencies whose platform matches the target, except
//!   proc-macros; host side (seeded by the target side's build-dependencies and proc-macros):
//!   normal and build dependencies whose platform matches the host.
//!
//! Which unit is a package's unit on a side: with `--target`, cargo writes target-side
//! libraries under `<dir>/<triple>/<profile>/deps/` and host-side ones elsewhere, so the file
//! names say it. Without `--target` both sides share one directory; when a package then has
//! units with different features, the one whose features equal what the side's dependents
//! request (their declared features, `default`, and their `name/feature` and `name?/feature`
//! entries, expanded through the package's feature table) is the side's. Packages are visited
//! in dependency order so every request is known first. When that still leaves a choice, the
//! walk follows the union of the candidates' features and records why the set is not exact.

use std::collections::{BTreeMap, BTreeSet};

use camino::Utf8Path;
use cargo_metadata::{Dependency, DependencyKind, Metadata, Node, Package};

use super::TargetCfg;
use crate::build::CompiledUnit;

/// Which side of the build a unit is compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// Linked into the artifact.
    Target,
    /// Build scripts, proc-macros and their dependencies.
    Host,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Target => "target",
            Side::Host => "host",
        }
    }
}

/// A package reached on one side.
#[derive(Debug, Clone)]
pub(super) struct Reached {
    /// The features of its unit on that side.
    pub features: BTreeSet<String>,
    /// A shortest path of package names from the plugin.
    pub path: Vec<String>,
}

/// What the walk found.
#[derive(Debug, Default)]
pub(super) struct Walk {
    /// Packages linked into the artifact (the plugin included).
    pub target: BTreeMap<String, Reached>,
    /// Packages compiled for the host to build it (may overlap `target`).
    pub host: BTreeMap<String, Reached>,
    /// Followed edges: package id → dependency ids.
    pub edges: BTreeMap<String, BTreeSet<String>>,
    /// Why the result is not exact (empty when it is).
    pub reasons: BTreeSet<String>,
}

/// The walk's inputs: one cargo run's units and the platforms of both sides.
pub(super) struct Inputs<'a> {
    /// `cargo metadata` of the project.
    pub metadata: &'a Metadata,
    /// The units of the cargo run that built the artifact.
    pub units: Vec<&'a CompiledUnit>,
    /// Package id of the plugin.
    pub root: &'a str,
    /// The artifact's target triple (or target spec path).
    pub target: &'a str,
    /// The target's cfg values; `None` follows platform-specific edges unfiltered.
    pub target_cfg: Option<&'a TargetCfg>,
    /// The host's cfg values (build-dependencies and proc-macros); `None`: unfiltered.
    pub host_cfg: Option<&'a TargetCfg>,
}

struct State<'a> {
    packages: BTreeMap<&'a str, &'a Package>,
    nodes: BTreeMap<&'a str, &'a Node>,
    /// Library-like units (lib, rlib, proc-macro, cdylib, …) by package id.
    libs: BTreeMap<&'a str, Vec<&'a CompiledUnit>>,
    /// Whether cargo ran with `--target` (host and target units in different directories).
    separate: bool,
    triple_dir: &'a str,
    inputs: &'a Inputs<'a>,
    walk: Walk,
}

/// Requests gathered for the packages of one side.
#[derive(Default)]
struct Requests {
    /// Package id → requested features and a shortest path so far.
    wanted: BTreeMap<String, (BTreeSet<String>, Vec<String>)>,
}

impl Requests {
    fn add(&mut self, id: &str, features: BTreeSet<String>, path: Vec<String>) {
        match self.wanted.get_mut(id) {
            Some((f, p)) => {
                f.extend(features);
                if path.len() < p.len() {
                    *p = path;
                }
            }
            None => {
                self.wanted.insert(id.to_owned(), (features, path));
            }
        }
    }
}

/// Runs both walks.
pub(super) fn walk(inputs: &Inputs<'_>) -> Walk {
    let triple_dir = triple_dir(inputs.target);
    let mut libs: BTreeMap<&str, Vec<&CompiledUnit>> = BTreeMap::new();
    for u in &inputs.units {
        if is_lib_like(u) {
            libs.entry(u.package_id.as_str()).or_default().push(u);
        }
    }
    let separate = inputs
        .units
        .iter()
        .any(|u| u.filenames.iter().any(|f| in_triple_deps(f, triple_dir)));
    let Some(resolve) = inputs.metadata.resolve.as_ref() else {
        let mut walk = Walk::default();
        walk.reasons
            .insert("cargo metadata has no dependency graph".to_owned());
        return walk;
    };
    let mut state = State {
        packages: inputs
            .metadata
            .packages
            .iter()
            .map(|p| (p.id.repr.as_str(), p))
            .collect(),
        nodes: resolve
            .nodes
            .iter()
            .map(|n| (n.id.repr.as_str(), n))
            .collect(),
        libs,
        separate,
        triple_dir,
        inputs,
        walk: Walk::default(),
    };
    let root_name = state.name(inputs.root);
    let mut target = Requests::default();
    target.add(inputs.root, BTreeSet::new(), vec![root_name]);
    let mut host = Requests::default();
    state.run(Side::Target, target, &mut host);
    state.run(Side::Host, host, &mut Requests::default());
    state.walk
}

impl<'a> State<'a> {
    fn name(&self, id: &str) -> String {
        self.packages
            .get(id)
            .map_or_else(|| id.to_owned(), |p| p.name.to_string())
    }

    fn cfg(&self, side: Side) -> Option<&'a TargetCfg> {
        match side {
            Side::Target => self.inputs.target_cfg,
            Side::Host => self.inputs.host_cfg,
        }
    }

    fn is_proc_macro(&self, id: &str) -> bool {
        self.packages.get(id).is_some_and(|p| {
            p.targets
                .iter()
                .any(|t| t.kind.iter().any(|k| k.to_string() == "proc-macro"))
        })
    }

    /// Whether `name` is a declared dependency of `pkg` that applies for a unit on `side`
    /// (normal declarations on that side's platform, build ones on the host's).
    fn declared_on(&self, pkg: &Package, name: &str, side: Side) -> bool {
        pkg.dependencies.iter().any(|d| {
            dep_name(d) == name
                && match d.kind {
                    DependencyKind::Normal => self.platform_ok(d, side),
                    DependencyKind::Build => self.platform_ok(d, Side::Host),
                    _ => false,
                }
        })
    }

    /// A declaration's platform condition on `side` (true when unknown).
    fn platform_ok(&self, dep: &Dependency, side: Side) -> bool {
        match (&dep.target, self.cfg(side)) {
            (Some(platform), Some(cfg)) => cfg.matches(platform),
            _ => true,
        }
    }

    /// Whether a declaration's platform condition holds on `side`. Without that side's cfg
    /// values a conditional declaration is followed, and the set is not exact.
    fn applies(&mut self, dep: &Dependency, side: Side) -> bool {
        match (&dep.target, self.cfg(side)) {
            (Some(platform), Some(cfg)) => cfg.matches(platform),
            (Some(platform), None) => {
                self.walk.reasons.insert(format!(
                    "the {} side's cfg values are unknown, so dependencies declared for \
                     `{platform}` were followed on every platform",
                    side.name()
                ));
                true
            }
            (None, _) => true,
        }
    }

    /// The side a unit was compiled for, when its files say it.
    fn side_of(&self, unit: &CompiledUnit) -> Option<Side> {
        if !self.separate || unit.filenames.is_empty() {
            return None;
        }
        if unit
            .filenames
            .iter()
            .all(|f| in_triple_deps(f, self.triple_dir))
        {
            Some(Side::Target)
        } else {
            Some(Side::Host)
        }
    }

    /// Walks one side from `requests`, visiting packages in dependency order; requests for
    /// the host side found on the target side go to `host`.
    fn run(&mut self, side: Side, mut requests: Requests, host: &mut Requests) {
        let seeds: Vec<String> = requests.wanted.keys().cloned().collect();
        for id in self.order(side, &seeds) {
            let Some((wanted, path)) = requests.wanted.remove(&id) else {
                continue;
            };
            let Some(features) = self.features_on(side, &id, &wanted) else {
                continue;
            };
            let Some(pkg) = self.packages.get(id.as_str()).copied() else {
                continue;
            };
            for (dep, dep_id) in self.enabled_deps(pkg, &features) {
                let dep_on = match (side, dep.kind) {
                    (_, DependencyKind::Development | DependencyKind::Unknown) => continue,
                    (Side::Target, DependencyKind::Normal) if !self.is_proc_macro(&dep_id) => {
                        Side::Target
                    }
                    _ => Side::Host,
                };
                // Normal edges out of a target-side package use the target's platform; build
                // scripts and everything on the host side use the host's.
                let edge_side = if dep.kind == DependencyKind::Normal {
                    side
                } else {
                    Side::Host
                };
                if !self.applies(dep, edge_side) {
                    continue;
                }
                let request = requested(pkg, dep, &features);
                let mut dep_path = path.clone();
                dep_path.push(self.name(&dep_id));
                self.walk
                    .edges
                    .entry(id.clone())
                    .or_default()
                    .insert(dep_id.clone());
                if dep_on == side {
                    requests.add(&dep_id, request, dep_path);
                } else {
                    host.add(&dep_id, request, dep_path);
                }
            }
            let reached = Reached { features, path };
            match side {
                Side::Target => self.walk.target.insert(id, reached),
                Side::Host => self.walk.host.insert(id, reached),
            };
        }
        // Requested but never visited: cargo reported no unit of the package at all.
        for id in requests.wanted.keys() {
            self.walk.reasons.insert(format!(
                "`{}` is a dependency on the {} side, but cargo reported no unit for it",
                self.name(id),
                side.name()
            ));
        }
    }

    /// The features of `id`'s unit on `side`, given what its dependents on that side request.
    fn features_on(
        &mut self,
        side: Side,
        id: &str,
        wanted: &BTreeSet<String>,
    ) -> Option<BTreeSet<String>> {
        let name = self.name(id);
        let units: Vec<&CompiledUnit> = self.libs.get(id).cloned().unwrap_or_default();
        if side == Side::Target && id == self.inputs.root {
            let root = units
                .iter()
                .find(|u| u.crate_types.iter().any(|c| c == "cdylib"));
            return match root {
                Some(u) => Some(u.features.iter().cloned().collect()),
                None => {
                    self.walk.reasons.insert(format!(
                        "cargo reported no cdylib unit for the plugin `{name}`"
                    ));
                    None
                }
            };
        }
        let mut candidates: Vec<BTreeSet<String>> = units
            .iter()
            .filter(|u| self.side_of(u).is_none_or(|s| s == side))
            .map(|u| u.features.iter().cloned().collect())
            .collect();
        candidates.sort();
        candidates.dedup();
        match candidates.len() {
            0 => {
                self.walk.reasons.insert(format!(
                    "`{name}` is a dependency on the {} side, but cargo reported no unit for it \
                     on that side",
                    side.name()
                ));
                None
            }
            1 => candidates.pop(),
            _ => {
                let pkg = self.packages.get(id).copied()?;
                let expected = closure(pkg, wanted, &|dep| self.declared_on(pkg, dep, side));
                if candidates.contains(&expected) {
                    return Some(expected);
                }
                let shown: Vec<String> = candidates
                    .iter()
                    .map(|c| format!("[{}]", c.iter().cloned().collect::<Vec<_>>().join(", ")))
                    .collect();
                self.walk.reasons.insert(format!(
                    "cargo compiled `{name}` with features {} in one directory and none of them \
                     is what its {}-side dependents ask for; it is listed with the union of them",
                    shown.join(" and "),
                    side.name()
                ));
                Some(candidates.into_iter().flatten().collect())
            }
        }
    }

    /// The declared dependencies of `pkg` that `features` enable, each with the package it
    /// resolved to. Declarations the resolve graph does not list are skipped (not compiled).
    fn enabled_deps(
        &mut self,
        pkg: &'a Package,
        features: &BTreeSet<String>,
    ) -> Vec<(&'a Dependency, String)> {
        let Some(node) = self.nodes.get(pkg.id.repr.as_str()).copied() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for dep in &pkg.dependencies {
            if matches!(
                dep.kind,
                DependencyKind::Development | DependencyKind::Unknown
            ) || (dep.optional && !enables(pkg, features, dep_name(dep)))
            {
                continue;
            }
            match self.resolve_decl(pkg, node, dep) {
                Ok(Some(id)) => out.push((dep, id)),
                Ok(None) => {
                    self.walk.reasons.insert(format!(
                        "`{}` enables its dependency `{}`, which cargo metadata's resolve \
                         does not list",
                        pkg.name,
                        dep_name(dep)
                    ));
                }
                Err(reason) => {
                    self.walk.reasons.insert(reason);
                }
            }
        }
        out
    }

    /// The resolved package of one declaration: the resolve node's dependency with the same
    /// package name, the same extern name when renamed, and a matching kind and platform.
    fn resolve_decl(
        &self,
        pkg: &Package,
        node: &Node,
        dep: &Dependency,
    ) -> Result<Option<String>, String> {
        // Extern names other declarations of the same kind and platform give by renaming,
        // so an un-renamed declaration does not take their edge (a dev-dependency renamed to
        // its own name, as axum's `tower`, is no other edge).
        let renames: BTreeSet<String> = pkg
            .dependencies
            .iter()
            .filter(|d| d.kind == dep.kind && d.target == dep.target && d.name != dep.name)
            .filter_map(|d| d.rename.as_ref().map(|r| r.replace('-', "_")))
            .collect();
        let matching: Vec<&str> = node
            .deps
            .iter()
            .filter(|nd| {
                let Some(target) = self.packages.get(nd.pkg.repr.as_str()) else {
                    return false;
                };
                target.name.as_str() == dep.name
                    && match &dep.rename {
                        Some(r) => nd.name == r.replace('-', "_"),
                        None => !renames.contains(&nd.name),
                    }
                    && nd
                        .dep_kinds
                        .iter()
                        .any(|k| k.kind == dep.kind && k.target == dep.target)
            })
            .map(|nd| nd.pkg.repr.as_str())
            .collect();
        let matching: Vec<&str> = if matching.len() > 1 {
            matching
                .into_iter()
                .filter(|id| {
                    self.packages
                        .get(id)
                        .is_some_and(|p| dep.req.matches(&p.version))
                })
                .collect()
        } else {
            matching
        };
        match matching.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some((*one).to_owned())),
            _ => Err(format!(
                "`{}`'s dependency `{}` matches {} resolved packages",
                pkg.name,
                dep_name(dep),
                matching.len()
            )),
        }
    }

    /// The packages reachable from `seeds` over any edge the side could follow (whatever the
    /// features), in dependency order: every package comes after all its dependents.
    fn order(&self, side: Side, seeds: &[String]) -> Vec<String> {
        let mut done: BTreeSet<&str> = BTreeSet::new();
        let mut on_stack: BTreeSet<&str> = BTreeSet::new();
        let mut post: Vec<String> = Vec::new();
        for seed in seeds {
            let Some((id, _)) = self.nodes.get_key_value(seed.as_str()) else {
                continue;
            };
            self.visit(side, id, &mut done, &mut on_stack, &mut post);
        }
        post.reverse();
        post
    }

    fn visit(
        &self,
        side: Side,
        id: &'a str,
        done: &mut BTreeSet<&'a str>,
        on_stack: &mut BTreeSet<&'a str>,
        post: &mut Vec<String>,
    ) {
        if done.contains(id) || !on_stack.insert(id) {
            return;
        }
        if let Some(node) = self.nodes.get(id) {
            for nd in &node.deps {
                let dep = nd.pkg.repr.as_str();
                let follows = nd.dep_kinds.iter().any(|k| match (side, k.kind) {
                    (Side::Target, DependencyKind::Normal) => !self.is_proc_macro(dep),
                    (Side::Host, DependencyKind::Normal | DependencyKind::Build) => true,
                    _ => false,
                });
                if follows && self.libs.contains_key(dep) {
                    self.visit(side, dep, done, on_stack, post);
                }
            }
        }
        on_stack.remove(id);
        done.insert(id);
        post.push(id.to_owned());
    }
}

/// The name a dependency has in its dependent's feature table: its rename, else its name.
fn dep_name(dep: &Dependency) -> &str {
    dep.rename.as_deref().unwrap_or(&dep.name)
}

/// Whether `features` (a unit's complete, expanded set) enable the optional dependency
/// `name`: some feature lists `dep:name` or a non-weak `name/feature`. An older cargo without
/// implicit features in the table: a feature called `name` that the table does not define.
fn enables(pkg: &Package, features: &BTreeSet<String>, name: &str) -> bool {
    features.iter().any(|f| match pkg.features.get(f) {
        Some(values) => values.iter().any(|v| {
            v.strip_prefix("dep:") == Some(name)
                || v.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with('/'))
        }),
        None => f == name,
    })
}

/// The features `pkg` (with `features`) asks of the package its declaration `dep` resolved
/// to: the declaration's own, `default` unless turned off, and every `name/feature` and
/// `name?/feature` of its enabled features.
fn requested(pkg: &Package, dep: &Dependency, features: &BTreeSet<String>) -> BTreeSet<String> {
    let name = dep_name(dep);
    let mut out: BTreeSet<String> = dep.features.iter().cloned().collect();
    if dep.uses_default_features {
        out.insert("default".to_owned());
    }
    for f in features {
        for v in pkg.features.get(f).into_iter().flatten() {
            if let Some(rest) = v.strip_prefix(name) {
                if let Some(feature) = rest.strip_prefix('/').or_else(|| rest.strip_prefix("?/")) {
                    out.insert(feature.to_owned());
                }
            }
        }
    }
    out
}

/// `requested` expanded through `pkg`'s feature table, as cargo passes them to rustc: named
/// features and what they list; a non-weak `name/feature` also turns on the feature `name`
/// when the table has one (an old-style optional dependency's implicit feature) and the
/// dependency `name` applies on this side's platform (`declared`: cargo skips inactive
/// platform-specific dependencies, e.g. tokio's `windows-sys/…` on Linux). Names the table
/// does not define (`default` of a package without one) are dropped.
fn closure(
    pkg: &Package,
    requested: &BTreeSet<String>,
    declared: &dyn Fn(&str) -> bool,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack: Vec<&str> = requested.iter().map(String::as_str).collect();
    while let Some(f) = stack.pop() {
        let Some((name, values)) = pkg.features.get_key_value(f) else {
            continue;
        };
        if !out.insert(name.clone()) {
            continue;
        }
        for v in values {
            if v.starts_with("dep:") {
                continue;
            }
            match v.split_once('/') {
                Some((dep, _)) if !dep.ends_with('?') && declared(dep) => stack.push(dep),
                Some(_) => {}
                None => stack.push(v),
            }
        }
    }
    out
}

/// Whether a unit is a library cargo links or loads (not a build script, binary or test).
fn is_lib_like(unit: &CompiledUnit) -> bool {
    !unit.kinds.iter().any(|k| {
        matches!(
            k.as_str(),
            "custom-build" | "bin" | "example" | "test" | "bench"
        )
    })
}

/// The directory cargo names after the target: the triple, or a target spec file's stem.
fn triple_dir(target: &str) -> &str {
    match target.strip_suffix(".json") {
        Some(spec) => Utf8Path::new(spec).file_name().unwrap_or(spec),
        None => target,
    }
}

/// Whether `file` is in `<…>/<triple>/<profile>/deps/`, where cargo puts target-side
/// libraries when it runs with `--target` (host-side ones go to `<…>/<profile>/deps/`).
fn in_triple_deps(file: &Utf8Path, triple_dir: &str) -> bool {
    let Some(deps) = file.parent() else {
        return false;
    };
    deps.file_name() == Some("deps")
        && deps
            .parent()
            .and_then(Utf8Path::parent)
            .and_then(Utf8Path::file_name)
            == Some(triple_dir)
}

#[cfg(test)]
mod tests {
    use super::{in_triple_deps, triple_dir};
    use camino::Utf8Path;

    #[test]
    fn target_side_files_are_under_the_triple_directory() {
        let t = "x86_64-unknown-linux-gnu";
        assert!(in_triple_deps(
            Utf8Path::new("/w/target/x86_64-unknown-linux-gnu/debug/deps/liba-1.rlib"),
            t
        ));
        assert!(!in_triple_deps(
            Utf8Path::new("/w/target/debug/deps/liba-1.rlib"),
            t
        ));
        assert!(!in_triple_deps(
            Utf8Path::new("/w/target/x86_64-unknown-linux-gnu/debug/liba.so"),
            t
        ));
        assert_eq!(triple_dir("specs/my-target.json"), "my-target");
        assert_eq!(triple_dir("wasm32-wasip1"), "wasm32-wasip1");
    }
}
