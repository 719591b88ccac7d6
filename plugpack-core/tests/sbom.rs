//! SBOM stage tests on the `tests/fixtures/sbom-workspace` fixture (issue 4).
//!
//! The fixture's plugin has every kind of dependency edge: a normal registry dependency
//! (`itoa`), a path dependency (`local-lib`) whose `wasm-extra` feature is switched on for
//! wasm only (pulling `cfg-if`), a proc-macro (`helper-macro`), a build-dependency
//! (`build-helper`, which uses `memchr`), a Windows-only dependency (`memchr` again), a
//! `cfg(any())` dependency (`fnv`) and a dev-dependency (`equivalent`).
//!
//! The tests build the fixture for the host and for `wasm32-wasip1` with the real cargo
//! (offline, locked, shared target dir), then check the SBOM against the build's own
//! compilation units and against the official CycloneDX schemas vendored in
//! `tests/data/schemas/cyclonedx/`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, OnceLock};

use camino::{Utf8Path, Utf8PathBuf};
use plugpack_core::build::{self, BuildOptions, BuildOutput, BuiltArtifact};
use plugpack_core::depset::{self, Scope};
use plugpack_core::project::{self, LoadOptions, NetworkFlags, Project};
use plugpack_core::sbom::{self, FindingCode, SbomOptions, SpecVersion};
use plugpack_core::{Ctx, Reporter};
use serde_json::Value;

const EPOCH: &str = "1704164645";
const WASM: &str = "wasm32-wasip1";

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Reporter for Recorder {
    fn status(&self, _verb: &str, _message: &str) {}
    fn warn(&self, message: &str) {
        self.0.lock().unwrap().push(message.to_owned());
    }
}

fn repo_root() -> Utf8PathBuf {
    Utf8Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn ctx_with(reporter: Arc<Recorder>) -> Ctx {
    let mut env = BTreeMap::new();
    env.insert("SOURCE_DATE_EPOCH".to_owned(), EPOCH.to_owned());
    Ctx::with_env(env, reporter)
}

fn ctx() -> Ctx {
    ctx_with(Arc::new(Recorder::default()))
}

fn load_options(manifest: Utf8PathBuf) -> LoadOptions {
    LoadOptions {
        manifest_path: Some(manifest),
        network: NetworkFlags {
            locked: true,
            offline: true,
            ..NetworkFlags::default()
        },
        target_dir: Some(repo_root().join("target/e2e-fixtures")),
        ..LoadOptions::default()
    }
}

fn fixture_manifest() -> Utf8PathBuf {
    repo_root().join("tests/fixtures/sbom-workspace/Cargo.toml")
}

struct Built {
    project: Project,
    build: BuildOutput,
}

impl Built {
    fn new(targets: &[&str]) -> Self {
        let ctx = ctx();
        let project = project::load(&ctx, &load_options(fixture_manifest())).unwrap();
        let options = BuildOptions {
            targets: targets.iter().map(|t| (*t).to_owned()).collect(),
            quiet: true,
            ..BuildOptions::default()
        };
        let build = build::build(&project, &options, &ctx).unwrap();
        Self { project, build }
    }

    fn artifact(&self) -> &BuiltArtifact {
        assert_eq!(self.build.artifacts.len(), 1, "{:?}", self.build.artifacts);
        &self.build.artifacts[0]
    }

    fn sbom(&self, options: &SbomOptions) -> sbom::Sbom {
        sbom::generate(&self.project, &self.build, self.artifact(), options, &ctx()).unwrap()
    }

    /// `name@version` of every package cargo compiled in this build, from its own units.
    fn compiled(&self) -> BTreeSet<String> {
        let by_id: BTreeMap<&str, String> = self
            .project
            .metadata
            .packages
            .iter()
            .map(|p| (p.id.repr.as_str(), format!("{}@{}", p.name, p.version)))
            .collect();
        self.build
            .units
            .iter()
            .map(|u| by_id[u.package_id.as_str()].clone())
            .collect()
    }
}

/// Host build without `--target` (host and build-time crates share one directory: the
/// hardest case for telling linked from build-only crates).
fn host() -> &'static Built {
    static HOST: OnceLock<Built> = OnceLock::new();
    HOST.get_or_init(|| Built::new(&[]))
}

fn wasm() -> &'static Built {
    static WASM_BUILD: OnceLock<Built> = OnceLock::new();
    WASM_BUILD.get_or_init(|| Built::new(&[WASM]))
}

fn json(doc: &sbom::Sbom) -> Value {
    serde_json::from_slice(&doc.to_json().unwrap()).unwrap()
}

/// name → scope of the components.
fn scopes(doc: &Value) -> BTreeMap<String, String> {
    doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["scope"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn component<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no component {name}"))
}

fn props(c: &Value, name: &str) -> Vec<String> {
    c["properties"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|p| p["name"] == name)
                .map(|p| p["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn component_ids(doc: &Value) -> BTreeSet<String> {
    let mut ids: BTreeSet<String> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}@{}",
                c["name"].as_str().unwrap(),
                c["version"].as_str().unwrap()
            )
        })
        .collect();
    let root = &doc["metadata"]["component"];
    ids.insert(format!(
        "{}@{}",
        root["name"].as_str().unwrap(),
        root["version"].as_str().unwrap()
    ));
    ids
}

fn expected(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(n, s)| ((*n).to_owned(), (*s).to_owned()))
        .collect()
}

#[test]
fn host_sbom_lists_exactly_the_compiled_crates_with_their_scopes() {
    let built = host();
    let doc = json(&built.sbom(&SbomOptions::default()));
    // Exactly what cargo compiled in this build, nothing more, nothing less.
    assert_eq!(component_ids(&doc), built.compiled());
    assert_eq!(
        scopes(&doc),
        expected(&[
            ("build-helper", "excluded"),
            ("helper-macro", "excluded"),
            ("itoa", "required"),
            ("local-lib", "required"),
            // Windows-only normal dependency: on Linux compiled only for the build script.
            ("memchr", "excluded"),
        ])
    );
    let listed = scopes(&doc);
    for absent in ["fnv", "equivalent", "cfg-if"] {
        assert!(!listed.contains_key(absent), "{absent} must not be listed");
    }
    // The target-conditional feature is off on the host.
    assert!(props(component(&doc, "local-lib"), "plugpack:crate:feature").is_empty());
    assert_eq!(
        props(component(&doc, "helper-macro"), "plugpack:crate:kind"),
        ["proc-macro"]
    );
    assert_eq!(
        doc["metadata"]["component"]["hashes"][0]["content"],
        built.artifact().sha256.hex()
    );
}

#[test]
fn wasm_sbom_lists_exactly_the_compiled_crates_with_their_scopes() {
    let built = wasm();
    let doc = json(&built.sbom(&SbomOptions::default()));
    assert_eq!(component_ids(&doc), built.compiled());
    assert_eq!(
        scopes(&doc),
        expected(&[
            ("build-helper", "excluded"),
            // Enabled by local-lib's `wasm-extra`, which only wasm turns on.
            ("cfg-if", "required"),
            ("helper-macro", "excluded"),
            ("itoa", "required"),
            ("local-lib", "required"),
            ("memchr", "excluded"),
        ])
    );
    assert_eq!(
        props(component(&doc, "local-lib"), "plugpack:crate:feature"),
        ["wasm-extra"]
    );
    let root_props = &doc["metadata"]["component"];
    assert_eq!(props(root_props, "plugpack:target"), [WASM]);
    assert_eq!(props(root_props, "plugpack:plugin:kind"), ["wasm"]);
    assert_eq!(props(root_props, "plugpack:cargo:profile"), ["dev"]);
    assert_eq!(
        props(root_props, "plugpack:artifact:size"),
        [built.artifact().size.to_string()]
    );
}

#[test]
fn depset_platform_filter_fixes_windows_only_dep_that_a_build_script_also_uses() {
    let built = host();
    let artifact = built.artifact();
    let unfiltered = depset::compute(&built.project, &built.build, artifact).unwrap();
    let scope_of = |set: &depset::DepSet, name: &str| {
        set.packages.iter().find(|p| p.name == name).unwrap().scope
    };
    // Without cfg values the Windows-only edge makes memchr look linked (the old behaviour).
    assert_eq!(scope_of(&unfiltered, "memchr"), Scope::Required);
    assert!(!unfiltered.exact, "{:?}", unfiltered.inexact_reasons);
    let cfg = depset::target_cfg(&ctx(), &built.project.workspace_root, &artifact.target).unwrap();
    let set =
        depset::compute_for_target(&built.project, &built.build, artifact, Some(&cfg)).unwrap();
    assert!(set.exact);
    assert_eq!(scope_of(&set, "memchr"), Scope::BuildOnly);
    let memchr = set.packages.iter().find(|p| p.name == "memchr").unwrap();
    assert_eq!(
        memchr.path_from_root,
        ["sbom-plugin", "build-helper", "memchr"]
    );
    // The plugin's edge to memchr does not apply on Linux; build-helper's does.
    let id = |name: &str| {
        set.packages
            .iter()
            .find(|p| p.name == name)
            .unwrap()
            .id
            .clone()
    };
    assert!(!set.edges[&id("sbom-plugin")].contains(&id("memchr")));
    assert!(set.edges[&id("build-helper")].contains(&id("memchr")));
    // Local paths are relative; checksums and lines come from Cargo.lock.
    let local = set.packages.iter().find(|p| p.name == "local-lib").unwrap();
    assert_eq!(local.local_path.as_deref(), Some("local-lib"));
    let lock = std::fs::read_to_string(built.project.workspace_root.join("Cargo.lock")).unwrap();
    let itoa = set.packages.iter().find(|p| p.name == "itoa").unwrap();
    let checksum = itoa.checksum.as_deref().unwrap();
    assert!(lock.contains(&format!("checksum = \"{checksum}\"")));
    let line = lock.lines().nth(itoa.lock_line.unwrap() - 1).unwrap();
    assert_eq!(line, "[[package]]");
    assert_eq!(
        lock.lines().nth(itoa.lock_line.unwrap()).unwrap(),
        "name = \"itoa\""
    );
}

#[test]
fn components_carry_purl_hashes_licences_and_local_paths() {
    let built = host();
    let doc = json(&built.sbom(&SbomOptions::default()));
    let itoa = component(&doc, "itoa");
    assert_eq!(itoa["purl"], "pkg:cargo/itoa@1.0.19");
    assert_eq!(itoa["bom-ref"], itoa["purl"]);
    assert_eq!(itoa["hashes"][0]["alg"], "SHA-256");
    let lock = std::fs::read_to_string(built.project.workspace_root.join("Cargo.lock")).unwrap();
    assert!(lock.contains(itoa["hashes"][0]["content"].as_str().unwrap()));
    assert_eq!(itoa["licenses"][0]["expression"], "MIT OR Apache-2.0");
    assert!(
        itoa["externalReferences"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["type"] == "vcs")
    );
    let local = component(&doc, "local-lib");
    assert_eq!(local["purl"], "pkg:cargo/local-lib@0.1.0");
    assert_eq!(props(local, "plugpack:crate:local-path"), ["local-lib"]);
    assert_eq!(local["licenses"][0]["expression"], "MIT");
    assert_eq!(local["authors"][0]["email"], "fixtures@example.com");
    // Dependencies: every listed component has an entry; the root's edges are exact.
    let deps: BTreeMap<&str, Vec<&str>> = doc["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["ref"].as_str().unwrap(),
                d["dependsOn"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(deps.len(), doc["components"].as_array().unwrap().len() + 1);
    assert_eq!(
        deps["pkg:cargo/sbom-plugin@0.2.0"],
        [
            "pkg:cargo/build-helper@0.1.0",
            "pkg:cargo/helper-macro@0.1.0",
            "pkg:cargo/itoa@1.0.19",
            "pkg:cargo/local-lib@0.1.0"
        ]
    );
    assert_eq!(
        deps["pkg:cargo/build-helper@0.1.0"],
        ["pkg:cargo/memchr@2.8.3"]
    );
    // Sorted output.
    let refs: Vec<&str> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    let mut sorted = refs.clone();
    sorted.sort();
    assert_eq!(refs, sorted);
}

#[test]
fn missing_and_non_spdx_licences_are_flagged() {
    let built = host();
    let doc = built.sbom(&SbomOptions::default());
    let codes: Vec<(FindingCode, &str)> = doc
        .findings
        .iter()
        .map(|f| (f.code, f.package.as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            (FindingCode::MissingLicense, "build-helper@0.1.0"),
            (FindingCode::NonSpdxLicense, "helper-macro@0.1.0"),
        ]
    );
    let value = json(&doc);
    let helper = component(&value, "helper-macro");
    assert_eq!(
        helper["licenses"][0]["license"]["name"],
        "Fixture Proprietary Licence"
    );
    assert_eq!(props(helper, "plugpack:license:non-spdx"), ["true"]);
    let build_helper = component(&value, "build-helper");
    assert!(build_helper.get("licenses").is_none());
    assert_eq!(props(build_helper, "plugpack:license:missing"), ["true"]);
}

#[test]
fn no_build_deps_keeps_only_linked_crates() {
    let built = wasm();
    let doc = json(&built.sbom(&SbomOptions {
        build_deps: false,
        ..SbomOptions::default()
    }));
    assert_eq!(
        scopes(&doc),
        expected(&[
            ("cfg-if", "required"),
            ("itoa", "required"),
            ("local-lib", "required"),
        ])
    );
    let listed: BTreeSet<&str> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .chain([doc["metadata"]["component"]["bom-ref"].as_str().unwrap()])
        .collect();
    for d in doc["dependencies"].as_array().unwrap() {
        assert!(listed.contains(d["ref"].as_str().unwrap()));
        for on in d["dependsOn"].as_array().unwrap() {
            assert!(listed.contains(on.as_str().unwrap()), "dangling {on}");
        }
    }
}

#[test]
fn spec_1_5_uses_author_string_and_1_6_uses_authors() {
    let built = host();
    let v15 = json(&built.sbom(&SbomOptions {
        spec_version: SpecVersion::V1_5,
        ..SbomOptions::default()
    }));
    let v16 = json(&built.sbom(&SbomOptions::default()));
    assert_eq!(v15["specVersion"], "1.5");
    assert_eq!(v16["specVersion"], "1.6");
    let local15 = component(&v15, "local-lib");
    assert_eq!(
        local15["author"],
        "Plugpack Fixtures <fixtures@example.com>"
    );
    assert!(local15.get("authors").is_none());
    assert!(component(&v16, "local-lib").get("author").is_none());
    assert_ne!(v15["serialNumber"], v16["serialNumber"]);
}

#[test]
fn serial_number_is_derived_from_content() {
    let built = host();
    let doc = built.sbom(&SbomOptions::default());
    assert_eq!(doc.bom.serial_number, sbom::serial_number(&doc.bom));
    let serial = doc.bom.serial_number.clone();
    assert!(serial.starts_with("urn:uuid:"));
    // Version nibble 5.
    assert_eq!(&serial[23..24], "5");
    let mut changed = doc.bom.clone();
    changed.metadata.timestamp = "2030-01-01T00:00:00Z".to_owned();
    assert_ne!(sbom::serial_number(&changed), serial);
    assert_eq!(doc.bom.metadata.timestamp, "2024-01-02T03:04:05Z");
}

#[test]
fn sbom_is_reproducible_and_names_no_build_machine_path() {
    // A fresh load and build: same bytes as the shared one.
    let again = Built::new(&[]);
    let first = host().sbom(&SbomOptions::default()).to_json().unwrap();
    let second = again.sbom(&SbomOptions::default()).to_json().unwrap();
    assert_eq!(first, second);
    for bytes in [
        first,
        wasm().sbom(&SbomOptions::default()).to_json().unwrap(),
    ] {
        let text = String::from_utf8(bytes).unwrap();
        for needle in [
            repo_root().as_str(),
            host().project.target_dir.as_str(),
            "file://",
            "/home/",
            "/root/",
            "/tmp/",
            "\\\\",
        ] {
            assert!(!text.contains(needle), "SBOM contains `{needle}`");
        }
    }
}

// ---- schema validation -------------------------------------------------------------------

fn schema_dir() -> Utf8PathBuf {
    repo_root().join("tests/data/schemas/cyclonedx")
}

fn read_json(path: &Utf8Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A validator for the official schema of `spec`, resolving `spdx`/`jsf` references to the
/// vendored copies (offline: nothing is fetched).
fn validator(spec: SpecVersion) -> jsonschema::Validator {
    let dir = schema_dir();
    let base = "http://cyclonedx.org/schema";
    let registry = jsonschema::Registry::new()
        .add(
            format!("{base}/spdx.SNAPSHOT.schema.json"),
            read_json(&dir.join("spdx.SNAPSHOT.schema.json")),
        )
        .unwrap()
        .add(
            format!("{base}/jsf-0.82.SNAPSHOT.schema.json"),
            read_json(&dir.join("jsf-0.82.SNAPSHOT.schema.json")),
        )
        .unwrap()
        .prepare()
        .unwrap();
    let schema = read_json(&dir.join(format!("bom-{spec}.SNAPSHOT.schema.json")));
    jsonschema::options()
        .with_registry(&registry)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn assert_valid(validator: &jsonschema::Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} is invalid:\n{}",
        errors.join("\n")
    );
}

#[test]
fn every_generated_sbom_validates_against_the_official_schema() {
    for spec in [SpecVersion::V1_5, SpecVersion::V1_6] {
        let validator = validator(spec);
        for (label, built) in [("host", host()), ("wasm", wasm())] {
            for build_deps in [true, false] {
                let doc = json(&built.sbom(&SbomOptions {
                    spec_version: spec,
                    build_deps,
                    abi_fingerprint: None,
                }));
                assert_valid(
                    &validator,
                    &doc,
                    &format!("{label} {spec} build_deps={build_deps}"),
                );
            }
        }
        // The validator is live: a wrong scope is rejected.
        let mut bad = json(&host().sbom(&SbomOptions {
            spec_version: spec,
            ..SbomOptions::default()
        }));
        bad["components"][0]["scope"] = Value::String("build-only".to_owned());
        assert!(!validator.is_valid(&bad), "{spec}: bad scope accepted");
        let mut bad = json(&host().sbom(&SbomOptions::default()));
        bad["components"][0]["hashes"] = serde_json::json!([{"alg": "SHA-256", "content": "xyz"}]);
        assert!(!validator.is_valid(&bad), "{spec}: bad hash accepted");
    }
}

// ---- bad input ---------------------------------------------------------------------------

/// Copies the fixture's manifests and sources (not its lockfile) into a temp dir.
fn fixture_without_lockfile() -> (tempfile::TempDir, Utf8PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = Utf8Path::from_path(tmp.path()).unwrap().to_owned();
    let src = repo_root().join("tests/fixtures/sbom-workspace");
    for rel in [
        "Cargo.toml",
        "plugin/Cargo.toml",
        "plugin/build.rs",
        "plugin/src/lib.rs",
        "local-lib/Cargo.toml",
        "local-lib/src/lib.rs",
        "helper-macro/Cargo.toml",
        "helper-macro/src/lib.rs",
        "build-helper/Cargo.toml",
        "build-helper/src/lib.rs",
    ] {
        let dest = root.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(src.join(rel), &dest).unwrap();
    }
    (tmp, root)
}

#[test]
fn missing_lockfile_is_an_error_under_locked_and_a_warning_otherwise() {
    let (_tmp, root) = fixture_without_lockfile();
    let manifest = root.join("Cargo.toml");
    let err = sbom::check_lockfile(&ctx(), &load_options(manifest.clone())).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, sbom::Error::MissingLockfile { .. }),
        "{err:?}"
    );
    assert!(message.contains("no Cargo.lock in"), "{message}");
    assert!(message.contains("--locked"), "{message}");
    assert!(message.contains("cargo generate-lockfile"), "{message}");

    let recorder = Arc::new(Recorder::default());
    let mut options = load_options(manifest);
    options.network.locked = false;
    sbom::check_lockfile(&ctx_with(recorder.clone()), &options).unwrap();
    let warnings = recorder.0.lock().unwrap().clone();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].starts_with("no Cargo.lock in "), "{warnings:?}");
    assert!(warnings[0].contains("commit Cargo.lock"), "{warnings:?}");
    // The check itself must not create the lockfile.
    assert!(!root.join("Cargo.lock").exists());
}

// ---- embedded dependency list (cargo-auditable format) -----------------------------------

#[test]
fn embedded_dependency_list_is_read_back_by_auditable_info() {
    use auditable_info::Limits;
    use plugpack_core::sbom::auditable;
    for built in [host(), wasm()] {
        let artifact = built.artifact();
        let cfg =
            depset::target_cfg(&ctx(), &built.project.workspace_root, &artifact.target).unwrap();
        let set =
            depset::compute_for_target(&built.project, &built.build, artifact, Some(&cfg)).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let dir = Utf8Path::from_path(tmp.path()).unwrap();
        let embedded = auditable::embed(artifact, &set, dir, &ctx()).unwrap();
        assert_ne!(embedded.path, artifact.path);
        assert_ne!(embedded.sha256, artifact.sha256);
        assert_eq!(
            (embedded.sha256, embedded.size),
            plugpack_core::types::Sha256Digest::of_file(&embedded.path).unwrap()
        );
        // cargo's own output is untouched.
        assert_eq!(
            plugpack_core::types::Sha256Digest::of_file(&artifact.path)
                .unwrap()
                .0,
            artifact.sha256
        );

        // The reference reader (auditable-info, used by cargo audit bin) agrees.
        let info =
            auditable_info::audit_info_from_file(embedded.path.as_std_path(), Limits::default())
                .unwrap();
        let read: BTreeMap<String, (String, bool)> = info
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    (format!("{:?}", p.kind).to_lowercase(), p.root),
                )
            })
            .collect();
        let want: BTreeMap<String, (String, bool)> = set
            .packages
            .iter()
            .map(|p| {
                let kind = match p.scope {
                    Scope::Required => "runtime",
                    Scope::BuildOnly => "build",
                };
                (p.name.clone(), (kind.to_owned(), p.is_root))
            })
            .collect();
        assert_eq!(read, want, "{}", artifact.target);
        let root = info.packages.iter().find(|p| p.root).unwrap();
        let mut root_deps: Vec<&str> = root
            .dependencies
            .iter()
            .map(|&i| info.packages[i].name.as_str())
            .collect();
        root_deps.sort();
        assert_eq!(
            root_deps,
            ["build-helper", "helper-macro", "itoa", "local-lib"]
        );
        let itoa = info.packages.iter().find(|p| p.name == "itoa").unwrap();
        assert_eq!(format!("{:?}", itoa.source), "CratesIo");
        let local = info
            .packages
            .iter()
            .find(|p| p.name == "local-lib")
            .unwrap();
        assert_eq!(format!("{:?}", local.source), "Local");

        // Our own reader agrees, and embedding again gives the same bytes.
        assert_eq!(
            auditable::extract(&embedded.path).unwrap(),
            auditable::version_info(&set)
        );
        let again = auditable::embed(artifact, &set, dir, &ctx()).unwrap();
        assert_eq!(again.sha256, embedded.sha256);
    }
}

#[test]
fn sbom_after_embedding_hashes_the_final_artifact() {
    let built = wasm();
    let mut build = built.build.clone();
    sbom::embed_dependency_lists(&built.project, &mut build, &ctx()).unwrap();
    let artifact = &build.artifacts[0];
    assert!(artifact.path.as_str().contains("/plugpack/embedded/"));
    let doc = json(
        &sbom::generate(
            &built.project,
            &build,
            artifact,
            &SbomOptions::default(),
            &ctx(),
        )
        .unwrap(),
    );
    assert_eq!(
        doc["metadata"]["component"]["hashes"][0]["content"],
        plugpack_core::types::Sha256Digest::of_file(&artifact.path)
            .unwrap()
            .0
            .hex()
    );
    assert_eq!(
        props(&doc["metadata"]["component"], "plugpack:artifact:size"),
        [std::fs::metadata(&artifact.path).unwrap().len().to_string()]
    );
}

#[test]
fn sbom_from_embedded_list_matches_the_build_sbom_and_validates() {
    for built in [host(), wasm()] {
        let mut build = built.build.clone();
        let tmp = tempfile::tempdir().unwrap();
        let artifact = &built.artifact().clone();
        let cfg =
            depset::target_cfg(&ctx(), &built.project.workspace_root, &artifact.target).unwrap();
        let set = depset::compute_for_target(&built.project, &build, artifact, Some(&cfg)).unwrap();
        let embedded = sbom::auditable::embed(
            artifact,
            &set,
            Utf8Path::from_path(tmp.path()).unwrap(),
            &ctx(),
        )
        .unwrap();
        build.artifacts = vec![embedded.clone()];
        let full = json(
            &sbom::generate(
                &built.project,
                &build,
                &embedded,
                &SbomOptions::default(),
                &ctx(),
            )
            .unwrap(),
        );
        let rebuilt_doc =
            sbom::from_artifact(&embedded.path, &SbomOptions::default(), &ctx()).unwrap();
        assert!(rebuilt_doc.findings.is_empty());
        let rebuilt = json(&rebuilt_doc);
        assert_eq!(scopes(&rebuilt), scopes(&full), "{}", artifact.target);
        assert_eq!(rebuilt["dependencies"], full["dependencies"]);
        assert_eq!(
            rebuilt["metadata"]["component"]["hashes"],
            full["metadata"]["component"]["hashes"]
        );
        assert_eq!(rebuilt["metadata"]["timestamp"], "2024-01-02T03:04:05Z");
        for spec in [SpecVersion::V1_5, SpecVersion::V1_6] {
            let doc = json(
                &sbom::from_artifact(
                    &embedded.path,
                    &SbomOptions {
                        spec_version: spec,
                        ..SbomOptions::default()
                    },
                    &ctx(),
                )
                .unwrap(),
            );
            assert_valid(&validator(spec), &doc, "from-artifact");
        }
    }
    // A file without a list: a clear error naming it.
    let plain = &host().artifact().path;
    let err = sbom::from_artifact(plain, &SbomOptions::default(), &ctx()).unwrap_err();
    let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(chain.contains("has no embedded dependency list"), "{chain}");
    assert!(chain.contains(plain.as_str()), "{chain}");
}
