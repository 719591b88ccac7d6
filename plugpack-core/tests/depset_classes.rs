//! The dependency set of each compilation, not of each package (issue 11 section 2), on
//! `tests/fixtures/depset-classes`: one plugin per class of crate that cargo compiles for the
//! host with other features than for the target.
//!
//! | plugin | class |
//! |---|---|
//! | `c1-plugin` | UniFFI-style: the same crate as dependency and as build-dependency with a feature that enables optional crates (`c1-bindgen`, `c1-goblin`) |
//! | `c2-plugin` | a proc-macro with its own optional dependency, turning on a feature of a crate the plugin also links |
//! | `c3-plugin` | a crate reached indirectly on both sides with different features; old-style optional dependencies (implicit features) and `default-features = false` |
//! | `c4-plugin` | renamed dependencies, enabled by `dep:alias` and `alias/feature`; a dev-dependency renamed to its own name |
//! | `c5-plugin` | `dep:` syntax, with a feature named like the dependency that does not enable it |
//! | `c6-plugin` | weak `name?/feature` features |
//! | `c7-plugin` | target-specific dependencies and target-specific features; `name/feature` of a dependency inactive on the platform |
//!
//! The fixture is built with the real cargo three ways: for the host without `--target` (host
//! and target units share one directory), for the host with `--target`, and for
//! `wasm32-wasip1`. The tests compare each plugin's set with the expected one; the interop
//! tests compare it with nightly cargo's unit graph of the same cargo command (the ground
//! truth: the units linked into the cdylib are `required`, the other units it needs are
//! build-only). Those need `cargo +nightly` (`PLUGPACK_NIGHTLY` names another toolchain) and
//! fail when it is missing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::{Arc, Mutex};

use camino::{Utf8Path, Utf8PathBuf};
use plugpack_core::audit::{self, Code, Level, Outcome, ScanOptions};
use plugpack_core::build::{
    self, BuildOptions, BuildOutput, BuiltArtifact, CompiledUnit, PluginKind, Toolchain,
};
use plugpack_core::depset::{self, DepSet, Scope};
use plugpack_core::project::{self, LoadOptions, NetworkFlags, Project};
use plugpack_core::sbom::{self, FindingCode, SbomOptions};
use plugpack_core::types::Sha256Digest;
use plugpack_core::{Ctx, Reporter};
use serde_json::Value;

const WASM: &str = "wasm32-wasip1";

struct Quiet;

impl Reporter for Quiet {
    fn status(&self, _verb: &str, _message: &str) {}
    fn warn(&self, _message: &str) {}
}

fn ctx() -> Ctx {
    let mut env = BTreeMap::new();
    env.insert("SOURCE_DATE_EPOCH".to_owned(), "1704164645".to_owned());
    Ctx::with_env(env, Arc::new(Quiet))
}

fn repo_root() -> Utf8PathBuf {
    Utf8Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn manifest(fixture: &str) -> Utf8PathBuf {
    repo_root().join(format!("tests/fixtures/{fixture}/Cargo.toml"))
}

const CLASSES: &str = "depset-classes";

/// How the fixture was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    /// No `--target`: host and target units share `target/debug/deps`.
    HostShared,
    /// `--target <host>`: separate directories.
    HostExplicit,
    /// `--target wasm32-wasip1`.
    Wasm,
}

struct Built {
    fixture: &'static str,
    project: Project,
    build: BuildOutput,
    /// The `--target` value passed to cargo, if any.
    target_flag: Option<String>,
}

fn host_triple() -> String {
    build::toolchain(&ctx(), &repo_root()).unwrap().host
}

fn built(how: How) -> &'static Built {
    built_fixture(CLASSES, how)
}

/// `fixture` built `how`, once per test binary.
fn built_fixture(fixture: &'static str, how: How) -> &'static Built {
    static BUILT: Mutex<BTreeMap<(&str, u8), &'static Built>> = Mutex::new(BTreeMap::new());
    let mut all = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    all.entry((fixture, how as u8)).or_insert_with(|| {
        let target_flag = match how {
            How::HostShared => None,
            How::HostExplicit => Some(host_triple()),
            How::Wasm => Some(WASM.to_owned()),
        };
        let ctx = ctx();
        let options = LoadOptions {
            manifest_path: Some(manifest(fixture)),
            network: NetworkFlags {
                locked: true,
                offline: true,
                ..NetworkFlags::default()
            },
            target_dir: Some(repo_root().join("target/e2e-fixtures")),
            ..LoadOptions::default()
        };
        let project = project::load(&ctx, &options).unwrap();
        let build_options = BuildOptions {
            targets: target_flag.iter().cloned().collect(),
            quiet: true,
            ..BuildOptions::default()
        };
        let build = build::build(&project, &build_options, &ctx).unwrap();
        Box::leak(Box::new(Built {
            fixture,
            project,
            build,
            target_flag,
        }))
    })
}

impl Built {
    /// The exact set of `plugin`, as the SBOM, `.dep-v0` and the audit see it.
    fn set(&self, plugin: &str) -> DepSet {
        let artifact = self
            .build
            .artifacts
            .iter()
            .find(|a| a.plugin == plugin)
            .unwrap_or_else(|| panic!("no artifact for {plugin}: {:?}", self.build.artifacts));
        depset::compute_exact(&self.project, &self.build, artifact, &ctx()).unwrap()
    }
}

/// `(required, build-only)` package names of a set.
fn names(set: &DepSet) -> (BTreeSet<String>, BTreeSet<String>) {
    let of = |scope| {
        set.with_scope(scope)
            .map(|p| p.name.clone())
            .collect::<BTreeSet<_>>()
    };
    (of(Scope::Required), of(Scope::BuildOnly))
}

fn set_of(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// Asserts the plugin's set for every build: exact, and with these required and build-only
/// crates (`wasm` overrides both for the wasm build when given).
fn check(plugin: &str, required: &[&str], build_only: &[&str], wasm: Option<(&[&str], &[&str])>) {
    for how in [How::HostShared, How::HostExplicit, How::Wasm] {
        let b = built(how);
        let set = b.set(plugin);
        let (req, bo) = match (how, wasm) {
            (How::Wasm, Some((r, o))) => (r, o),
            _ => (required, build_only),
        };
        assert_eq!(
            names(&set),
            (set_of(req), set_of(bo)),
            "{plugin} built {how:?}: {set:#?}"
        );
        assert!(set.exact, "{plugin} built {how:?}: {set:#?}");
    }
}

#[test]
fn c1_uniffi_style_build_dependency_features_are_not_shipped() {
    check(
        "c1-plugin",
        &["c1-plugin", "c1-core", "c1-runtime"],
        &["c1-bindgen", "c1-goblin", "smallvec"],
        None,
    );
}

#[test]
fn c1_a_vulnerability_in_the_code_generator_does_not_fail_the_plugins_audit() {
    // smallvec 1.6.0 (RUSTSEC-2021-0003) is only in the build script's code generator, as
    // goblin is in UniFFI's: audited as build-only (a warning), not as shipped (denied).
    let b = built(How::HostShared);
    let plugin = b
        .project
        .plugins
        .iter()
        .find(|p| p.name == "c1-plugin")
        .unwrap();
    let options = ScanOptions {
        db: Some(repo_root().join("tests/data/advisory-db")),
        today: Some(audit::cfg::parse_date("2024-10-05").unwrap()),
        ..ScanOptions::default()
    };
    let report = audit::scan(&b.project, &b.build, plugin, &options, &ctx()).unwrap();
    let vulns: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.code == Code::Vulnerability)
        .collect();
    assert_eq!(vulns.len(), 1, "{report:#?}");
    assert_eq!(vulns[0].id.as_deref(), Some("RUSTSEC-2021-0003"));
    assert_eq!(vulns[0].package.as_ref().unwrap().name, "smallvec");
    assert!(vulns[0].build_only, "{:#?}", vulns[0]);
    assert_eq!(vulns[0].level, Level::Warn);
    // A build-only warning: the verdict is `warned` (issue 10's vocabulary), never `denied`.
    assert_eq!(report.outcome, Outcome::Warned);
    assert!(report.exact);
}

#[test]
fn c2_proc_macro_optional_dependencies_are_not_shipped() {
    check(
        "c2-plugin",
        &["c2-plugin", "c2-util"],
        &["c2-macro", "c2-macro-helper", "c2-proc-only"],
        None,
    );
}

#[test]
fn c3_crate_compiled_for_host_and_target_with_different_features() {
    check(
        "c3-plugin",
        &["c3-plugin", "c3-mid", "c3-shared", "c3-a-only"],
        &["c3-tool", "c3-b-only"],
        None,
    );
    // Each side reports the features of its own compilation.
    let set = built(How::HostShared).set("c3-plugin");
    let shared = set.packages.iter().find(|p| p.name == "c3-shared").unwrap();
    assert_eq!(shared.features, ["a", "c3-a-only", "default", "std"]);
}

#[test]
fn c4_renamed_dependencies() {
    check(
        "c4-plugin",
        &["c4-plugin", "c4-lib", "c4-real", "c4-base"],
        &["c4-host-real", "c4-x-only"],
        None,
    );
}

#[test]
fn c5_dep_syntax_and_a_feature_named_like_the_dependency() {
    check(
        "c5-plugin",
        &["c5-plugin", "c5-lib"],
        &["c5-builder", "c5-opt"],
        None,
    );
}

#[test]
fn c6_weak_features_enable_nothing_by_themselves() {
    check(
        "c6-plugin",
        &["c6-plugin", "c6-lib", "c6-z", "c6-z-extra"],
        &["c6-y", "c6-y-extra"],
        None,
    );
}

#[test]
fn c7_target_specific_dependencies_and_features() {
    check(
        "c7-plugin",
        &["c7-plugin", "c7-lib", "c7-unix"],
        &["c7-win-extra", "c7-unix-build"],
        Some((
            &["c7-plugin", "c7-lib", "c7-wasm-extra"],
            &["c7-win-extra", "c7-unix-build"],
        )),
    );
}

#[test]
fn build_records_without_unit_files_still_give_the_exact_set() {
    // Records written before units kept their files: every unit looks like the shared
    // directory, and the features the dependents request pick the side's unit.
    let b = built(How::Wasm);
    let mut build = b.build.clone();
    for u in &mut build.units {
        u.filenames.clear();
    }
    for plugin in ["c1-plugin", "c3-plugin", "c6-plugin", "c7-plugin"] {
        let artifact = build.artifacts.iter().find(|a| a.plugin == plugin).unwrap();
        let set = depset::compute_exact(&b.project, &build, artifact, &ctx()).unwrap();
        assert_eq!(names(&set), names(&b.set(plugin)), "{plugin}");
        assert!(set.exact, "{set:#?}");
    }
}

#[test]
fn an_ambiguous_choice_of_unit_is_not_claimed_exact() {
    // Without `--target`, c3-shared's two units share a directory. Give its target-side unit
    // features that no dependent asks for: plugpack cannot tell the units apart any more and
    // must say so instead of guessing.
    let b = built(How::HostShared);
    let mut build = b.build.clone();
    let shared = build
        .units
        .iter_mut()
        .find(|u| u.target_name == "c3_shared" && u.features.iter().any(|f| f == "a"))
        .unwrap();
    shared.features.retain(|f| f != "default" && f != "std");
    let artifact = build
        .artifacts
        .iter()
        .find(|a| a.plugin == "c3-plugin")
        .unwrap();
    let set = depset::compute_exact(&b.project, &build, artifact, &ctx()).unwrap();
    assert!(!set.exact);
    assert_eq!(set.inexact_reasons.len(), 1, "{set:#?}");
    assert!(
        set.inexact_reasons[0].contains("`c3-shared`"),
        "{:?}",
        set.inexact_reasons
    );
    // Over-reported, never under-reported: the union of both units' features is followed.
    let (required, _) = names(&set);
    assert!(required.contains("c3-b-only"), "{required:?}");
    // The SBOM says it, on the plugin's component and as a finding.
    let doc = sbom::from_depset(&set, artifact, 0, &SbomOptions::default());
    let props: Vec<(&str, &str)> = doc
        .bom
        .metadata
        .component
        .properties
        .iter()
        .map(|p| (p.name.as_str(), p.value.as_str()))
        .collect();
    assert!(props.contains(&("plugpack:dependency-set:exact", "false")));
    assert!(props.contains(&(
        "plugpack:dependency-set:inexact-reason",
        set.inexact_reasons[0].as_str()
    )));
    assert!(doc.findings.iter().any(
        |f| f.code == FindingCode::InexactDependencySet && f.message == set.inexact_reasons[0]
    ));
}

// ---- ground truth: nightly cargo's unit graph (interop) ----------------------------------

/// `(linked, build-only)` package ids of every plugin root in the unit graph of the cargo
/// command `b` ran: linked = units reached from the root's cdylib unit through library units
/// (never a build script run or a proc-macro); build-only = packages of the other units it
/// needs, minus the linked ones.
fn unit_graph(b: &Built) -> BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> {
    truth(&nightly_unit_graph(
        &manifest(b.fixture),
        &b.project,
        b.target_flag.as_deref(),
    ))
}

/// `cargo +nightly build --unit-graph` of the command plugpack runs for `project`'s plugins.
fn nightly_unit_graph(manifest: &Utf8Path, project: &Project, target_flag: Option<&str>) -> Value {
    let toolchain = std::env::var("PLUGPACK_NIGHTLY").unwrap_or_else(|_| "nightly".to_owned());
    let mut cmd = Command::new("cargo");
    cmd.arg(format!("+{toolchain}"))
        .args(["build", "--unit-graph", "-Z", "unstable-options", "--lib"])
        .args(["--locked", "--offline", "--manifest-path"])
        .arg(manifest);
    for p in &project.plugins {
        cmd.arg("-p")
            .arg(format!("{}@{}", p.package_name, p.version));
    }
    if let Some(t) = target_flag {
        cmd.arg("--target").arg(t);
    }
    for var in [
        "RUSTC",
        "RUSTDOC",
        "RUSTUP_TOOLCHAIN",
        "RUSTC_WRAPPER",
        "CARGO_BUILD_TARGET",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("interop test needs `cargo +{toolchain}` (nightly cargo's --unit-graph): {e}")
    });
    assert!(
        out.status.success(),
        "interop test needs `cargo +{toolchain}` (nightly cargo's --unit-graph; PLUGPACK_INTEROP={}): {}",
        std::env::var("PLUGPACK_INTEROP").unwrap_or_default(),
        String::from_utf8_lossy(&out.stderr)
    );
    let graph: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(graph["version"], 1, "unit graph format changed");
    graph
}

/// The ground truth of a unit graph, per plugin root: see [`unit_graph`].
fn truth(graph: &Value) -> BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> {
    let units = graph["units"].as_array().unwrap();
    let kinds = |i: usize| -> Vec<&str> {
        units[i]["target"]["kind"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect()
    };
    let deps = |i: usize| -> Vec<usize> {
        units[i]["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["index"].as_u64().unwrap() as usize)
            .collect()
    };
    let pkg = |i: usize| units[i]["pkg_id"].as_str().unwrap().to_owned();
    let reach = |root: usize, follow: &dyn Fn(usize) -> bool| {
        let mut seen = BTreeSet::from([root]);
        let mut stack = vec![root];
        while let Some(i) = stack.pop() {
            for d in deps(i) {
                if follow(d) && seen.insert(d) {
                    stack.push(d);
                }
            }
        }
        seen
    };
    let mut out = BTreeMap::new();
    for root in graph["roots"].as_array().unwrap() {
        let root = root.as_u64().unwrap() as usize;
        if !kinds(root).contains(&"cdylib") {
            continue;
        }
        let linked_units = reach(root, &|i| {
            units[i]["mode"] == "build"
                && !kinds(i)
                    .iter()
                    .any(|k| matches!(*k, "custom-build" | "proc-macro"))
        });
        let all_units = reach(root, &|_| true);
        let linked: BTreeSet<String> = linked_units.iter().map(|&i| pkg(i)).collect();
        let build_only: BTreeSet<String> = all_units
            .iter()
            .map(|&i| pkg(i))
            .filter(|p| !linked.contains(p))
            .collect();
        out.insert(pkg(root), (linked, build_only));
    }
    out
}

fn matches_unit_graph(fixture: &'static str, how: How) {
    let b = built_fixture(fixture, how);
    let truth = unit_graph(b);
    assert_eq!(truth.len(), b.project.plugins.len(), "{truth:#?}");
    for plugin in &b.project.plugins {
        let set = b.set(&plugin.name);
        let ids = |scope| {
            set.with_scope(scope)
                .map(|p| p.id.clone())
                .collect::<BTreeSet<_>>()
        };
        let (linked, build_only) = &truth[&plugin.package_id];
        assert_eq!(
            &ids(Scope::Required),
            linked,
            "{} built {how:?}",
            plugin.name
        );
        assert_eq!(
            &ids(Scope::BuildOnly),
            build_only,
            "{} built {how:?}",
            plugin.name
        );
        assert!(set.exact, "{set:#?}");
    }
}

#[test]
#[ignore = "interop: needs cargo +nightly (PLUGPACK_INTEROP=1, --include-ignored)"]
fn every_class_matches_nightly_unit_graph_host_shared_directory() {
    matches_unit_graph(CLASSES, How::HostShared);
}

#[test]
#[ignore = "interop: needs cargo +nightly (PLUGPACK_INTEROP=1, --include-ignored)"]
fn every_class_matches_nightly_unit_graph_host_with_target_flag() {
    matches_unit_graph(CLASSES, How::HostExplicit);
}

#[test]
#[ignore = "interop: needs cargo +nightly (PLUGPACK_INTEROP=1, --include-ignored)"]
fn every_class_matches_nightly_unit_graph_wasm() {
    matches_unit_graph(CLASSES, How::Wasm);
}

#[test]
#[ignore = "interop: needs cargo +nightly (PLUGPACK_INTEROP=1, --include-ignored)"]
fn sbom_fixture_matches_nightly_unit_graph() {
    // Registry crates, a proc-macro, a build script, Windows-only and `cfg(any())` edges.
    for how in [How::HostShared, How::HostExplicit, How::Wasm] {
        matches_unit_graph("sbom-workspace", how);
    }
}

#[test]
#[ignore = "interop: needs cargo +nightly (PLUGPACK_INTEROP=1, --include-ignored)"]
fn other_fixtures_match_nightly_unit_graph() {
    // Several plugins in one cargo run; vulnerable crates reached as build-dependency, as
    // other-OS dependency and transitively.
    for fixture in ["audit-plugins", "multi-plugin"] {
        for how in [How::HostShared, How::HostExplicit] {
            matches_unit_graph(fixture, how);
        }
    }
}

/// Strings of a JSON array.
fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[test]
#[ignore = "interop: needs cargo +nightly (PLUGPACK_INTEROP=1, --include-ignored)"]
fn bench_plugin_walk_matches_nightly_unit_graph() {
    // The 318-package bench plugin (tokio, reqwest, axum, tonic, sqlx, …: every feature
    // syntax there is) without building it: the build's units are taken from nightly cargo's
    // unit graph itself (package, kinds, features; files laid out as cargo lays them out,
    // `<triple>/` for target units when `--target` is given), then the set computed from them
    // must be the graph's. `.ci/setup.sh` fetches the fixture's crates (never built by CI).
    let manifest = repo_root().join("bench/fixtures/big-plugin/Cargo.toml");
    let ctx = ctx();
    let project = project::load(
        &ctx,
        &LoadOptions {
            manifest_path: Some(manifest.clone()),
            network: NetworkFlags {
                locked: true,
                offline: true,
                ..NetworkFlags::default()
            },
            target_dir: Some(repo_root().join("target/e2e-fixtures")),
            ..LoadOptions::default()
        },
    )
    .unwrap();
    let host = host_triple();
    let rustc_cfg = |target: &str| {
        let out = Command::new("rustc")
            .args(["--print", "cfg", "--target", target])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let plugin = &project.plugins[0];
    for (target, flag) in [
        (host.as_str(), None),
        (host.as_str(), Some(host.as_str())),
        ("wasm32-unknown-unknown", Some("wasm32-unknown-unknown")),
    ] {
        let graph = nightly_unit_graph(&manifest, &project, flag);
        let mut units = Vec::new();
        for (i, u) in graph["units"].as_array().unwrap().iter().enumerate() {
            if u["mode"] != "build" {
                continue; // build script runs report no compiler-artifact
            }
            let kinds = strings(&u["target"]["kind"]);
            let name = u["target"]["name"].as_str().unwrap();
            let file = if kinds.iter().any(|k| k == "custom-build") {
                format!("/t/debug/build/{name}-{i}/build-script-build")
            } else if let Some(platform) = u["platform"].as_str() {
                format!("/t/{platform}/debug/deps/lib{name}-{i}.rlib")
            } else {
                format!("/t/debug/deps/lib{name}-{i}.rlib")
            };
            units.push(CompiledUnit {
                target: target.to_owned(),
                package_id: u["pkg_id"].as_str().unwrap().to_owned(),
                target_name: name.to_owned(),
                kinds,
                crate_types: strings(&u["target"]["crate_types"]),
                features: strings(&u["features"]),
                filenames: vec![Utf8PathBuf::from(file)],
            });
        }
        let build = BuildOutput {
            artifacts: Vec::new(),
            units,
            toolchain: Some(Toolchain {
                rustc_version: String::new(),
                host: host.clone(),
            }),
            target_cfg: BTreeMap::from([
                (host.clone(), rustc_cfg(&host)),
                (target.to_owned(), rustc_cfg(target)),
            ]),
            full_debuginfo: Default::default(),
        };
        let artifact = BuiltArtifact {
            plugin: plugin.name.clone(),
            package: plugin.package_name.clone(),
            version: plugin.version.clone(),
            kind: PluginKind::for_target(target),
            target: target.to_owned(),
            path: "/t/debug/libbig_plugin.so".into(),
            file_name: "libbig_plugin.so".to_owned(),
            sha256: Sha256Digest::of_bytes(b""),
            size: 0,
            profile: "dev".to_owned(),
            rustc_version: None,
            stamp: None,
        };
        let set = depset::compute_exact(&project, &build, &artifact, &ctx).unwrap();
        let ids = |scope| {
            set.with_scope(scope)
                .map(|p| p.id.clone())
                .collect::<BTreeSet<_>>()
        };
        let truth = truth(&graph);
        let (linked, build_only) = &truth[&plugin.package_id];
        assert!(linked.len() > 200, "{}", linked.len());
        assert_eq!(&ids(Scope::Required), linked, "{target} {flag:?}");
        assert_eq!(&ids(Scope::BuildOnly), build_only, "{target} {flag:?}");
        assert!(set.exact, "{target} {flag:?}: {:?}", set.inexact_reasons);
    }
}
