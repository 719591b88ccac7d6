//! WebAssembly components (`wasm32-wasip2`, issue 17) on the `component-plugin` fixture: one
//! crate whose cargo features build it against variants of its WIT world
//! (`variants/<feature>/`), one per `abi-diff` verdict.
//!
//! Every build goes through one target directory, one at a time (a lock), and each
//! artifact is copied out before the next build: the wit-bindgen macro crates compile once.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use camino::Utf8PathBuf;
use plugpack_core::guard::{AbiExpectation, Reason, check_file};
use serde_json::Value;

use crate::support::{self, json_lines, plugpack, run, run_ok};

pub(crate) const FIXTURE: &str = "component-plugin";
pub(crate) const TARGET: &str = "wasm32-wasip2";

/// Serialises the fixture's builds (they share one target directory).
pub(crate) static BUILDS: Mutex<()> = Mutex::new(());

pub(crate) fn target_dir() -> PathBuf {
    support::fixture_target_dir().join("component")
}

pub(crate) fn fixture_dir() -> PathBuf {
    support::repo_root().join("tests/fixtures").join(FIXTURE)
}

/// Fingerprints the fixture built with `feature` (`base`: none); returns the document's
/// path and a copy of the component.
pub(crate) fn variant(feature: &str, dir: &Path) -> (PathBuf, PathBuf) {
    let _lock = BUILDS.lock().unwrap_or_else(|e| e.into_inner());
    let out = dir.join(format!("{feature}.abi.json"));
    let mut cmd = plugpack();
    cmd.arg("fingerprint")
        .arg("--manifest-path")
        .arg(support::fixture_manifest(FIXTURE))
        .arg("--target-dir")
        .arg(target_dir())
        .args(["--locked", "--offline", "-q", "--target", TARGET, "-o"])
        .arg(&out);
    if feature != "base" {
        cmd.args(["--features", feature]);
    }
    run_ok(&mut cmd);
    let built = target_dir()
        .join(TARGET)
        .join("debug/component_plugin.wasm");
    let copy = dir.join(format!("{feature}.wasm"));
    std::fs::copy(&built, &copy).unwrap();
    (out, copy)
}

pub(crate) fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

pub(crate) fn abi_diff(old: &Path, new: &Path) -> Value {
    let out = run_ok(
        plugpack()
            .args(["abi-diff", "--message-format", "json"])
            .arg(old)
            .arg(new),
    );
    json_lines(&out).remove(0)
}

pub(crate) fn utf8(p: &Path) -> Utf8PathBuf {
    Utf8PathBuf::from_path_buf(p.to_owned()).unwrap()
}

/// What a wasmtime host with `wasmtime-wasi` provides besides its own world: the WASI
/// packages Rust's `wasm32-wasip2` standard library imports, at the version it imports.
pub(crate) fn with_wasi(expectation: AbiExpectation, doc: &Value) -> AbiExpectation {
    let mut expectation = expectation;
    for item in doc["wit"]["imports"].as_array().unwrap() {
        if let Some(package) = item["package"].as_str().filter(|p| p.starts_with("wasi:")) {
            expectation = expectation.provide_package(package, item["version"].as_str().unwrap());
        }
    }
    expectation
}

#[test]
fn component_fingerprint_describes_the_wit_world() {
    let dir = support::tempdir();
    let (doc_path, _) = variant("base", dir.path());
    let doc = read_json(&doc_path);
    assert_eq!(doc["format"], "component");
    assert_eq!(doc["detail"], "wit");
    assert_eq!(doc["target"], TARGET);
    let wit = &doc["wit"];
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&wit["exports"]), ["plugpack:fixture/api@1.2.0"]);
    let imports = names(&wit["imports"]);
    assert!(
        imports.contains(&"plugpack:host/log@1.0.0".to_owned()),
        "{imports:?}"
    );
    let export = wit["exports"][0].clone();
    assert_eq!(export["package"], "plugpack:fixture");
    assert_eq!(export["version"], "1.2.0");
    // Canonical types: record, variants, enum, flags, resource with its functions.
    let ty =
        |name: &str| wit["types"][format!("plugpack:fixture/api#{name}")]["definition"].clone();
    assert_eq!(ty("point"), "record { x: s32, y: s32 }");
    assert_eq!(
        ty("shape"),
        "variant { circle(u32), rect(tuple<point, point>), empty }"
    );
    assert_eq!(ty("color"), "enum { red, green, blue }");
    assert_eq!(ty("access"), "flags { read, write, exec }");
    let counter = ty("counter").as_str().unwrap().to_owned();
    assert!(
        counter.starts_with("resource {")
            && counter.contains("[constructor]counter: func(start: u32) -> counter")
            && counter.contains("[method]counter.value: func(self: borrow<counter>) -> u32"),
        "{counter}"
    );
    // Functions by WIT path with canonical signatures (lists, options, results, tuples).
    let export = |name: &str| {
        doc["exports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == format!("plugpack:fixture/api@1.2.0#{name}"))
            .unwrap_or_else(|| panic!("no export {name}"))
            .clone()
    };
    assert_eq!(
        export("describe")["signature"],
        "func(p: point, c: color, tags: list<string>) -> result<string, string>"
    );
    assert_eq!(
        export("lookup")["signature"],
        "func(q: query) -> option<tuple<u32, access>>"
    );
    assert!(
        export("lookup")["sha256"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(
        export("[static]counter.zero")["signature"],
        "func() -> counter"
    );
}

#[test]
fn every_world_change_gets_its_verdict() {
    let dir = support::tempdir();
    let (base, base_wasm) = variant("base", dir.path());
    // (feature, verdict, change kind, WIT path of the change)
    let cases = [
        (
            "export-removed",
            "major",
            "export-removed",
            "plugpack:fixture/api@1.2.0#describe",
        ),
        (
            "signature-changed",
            "major",
            "signature-changed",
            "plugpack:fixture/api@1.2.0#lookup",
        ),
        (
            "field-added",
            "major",
            "type-changed",
            "plugpack:fixture/api@1.2.0#",
        ),
        (
            "case-removed",
            "major",
            "type-changed",
            "plugpack:fixture/api@1.2.0#area",
        ),
        (
            "method-removed",
            "major",
            "export-removed",
            "plugpack:fixture/api@1.2.0#[method]counter.value",
        ),
        (
            "export-added",
            "minor",
            "export-added",
            "plugpack:fixture/api@1.2.0#reset",
        ),
        (
            "param-case-added",
            "minor",
            "type-changed",
            "plugpack:fixture/api@1.2.0#lookup",
        ),
        (
            "import-added",
            "major",
            "import-added",
            "plugpack:host/clock@1.0.0",
        ),
        (
            "import-minor",
            "major",
            "import-changed",
            "plugpack:host/log@1.1.0",
        ),
        // The same world, but the code also uses wasi:http.
        ("http", "major", "import-added", "wasi:http/types@0.2.4"),
    ];
    for (feature, verdict, kind, path) in cases {
        let (doc, _) = variant(feature, dir.path());
        let diff = abi_diff(&base, &doc);
        assert_eq!(diff["verdict"], verdict, "{feature}: {diff:#}");
        let changes = diff["changes"].as_array().unwrap();
        assert!(
            changes
                .iter()
                .any(|c| c["kind"] == kind && c["symbol"].as_str().unwrap().starts_with(path)),
            "{feature}: no {kind} change at {path}: {diff:#}"
        );
        if feature.starts_with("import") || feature == "http" {
            let reason = changes[0]["reason"].as_str().unwrap();
            assert!(reason.contains("host requirement"), "{reason}");
        }
    }
    // The reasons name what changed.
    let (field, _) = variant("field-added", dir.path());
    let diff = abi_diff(&base, &field).to_string();
    assert!(diff.contains("field `z` added"), "{diff}");
    // Nothing changed: patch, and the artifact diffs like its document.
    let diff = abi_diff(&base, &base_wasm);
    assert_eq!(diff["verdict"], "patch");
    assert!(diff["changes"].as_array().unwrap().is_empty(), "{diff:#}");
}

#[test]
fn abi_check_refuses_a_component_bump_that_is_too_small() {
    let dir = support::tempdir();
    let (base, _) = variant("base", dir.path());
    let _lock = BUILDS.lock().unwrap_or_else(|e| e.into_inner());
    let check = |feature: &str| {
        let mut cmd = plugpack();
        cmd.arg("abi-check")
            .arg("--manifest-path")
            .arg(support::fixture_manifest(FIXTURE))
            .arg("--target-dir")
            .arg(target_dir())
            .args(["--locked", "--offline", "--target", TARGET, "--baseline"])
            .arg(&base)
            .args(["--message-format", "json"]);
        if feature != "base" {
            cmd.args(["--features", feature]);
        }
        run(&mut cmd)
    };
    assert_eq!(check("base").status.code(), Some(0));
    let out = check("method-removed");
    assert_eq!(out.status.code(), Some(7));
    let msg = &json_lines(&String::from_utf8(out.stdout).unwrap())[0];
    assert_eq!(msg["diff"]["verdict"], "major");
    assert_eq!(msg["version"]["ok"], false);
}

#[test]
fn package_bundles_a_component_as_wkg_does() {
    let dir = support::tempdir();
    let bundle = dir.path().join("component.oci.tar");
    {
        let _lock = BUILDS.lock().unwrap_or_else(|e| e.into_inner());
        let mut cmd = plugpack();
        cmd.arg("package")
            .arg("--manifest-path")
            .arg(support::fixture_manifest(FIXTURE))
            .arg("--target-dir")
            .arg(target_dir())
            .args([
                "--locked",
                "--offline",
                "--profile",
                "dev",
                "--no-sign",
                "-o",
            ])
            .arg(&bundle);
        run_ok(&mut cmd);
    }
    let layout = dir.path().join("layout");
    std::fs::create_dir_all(&layout).unwrap();
    tar::Archive::new(std::fs::File::open(&bundle).unwrap())
        .unpack(&layout)
        .unwrap();
    let blob = |digest: &str| {
        read_json(
            &layout
                .join("blobs/sha256")
                .join(digest.trim_start_matches("sha256:")),
        )
    };
    let index = read_json(&layout.join("index.json"));
    let entry = &index["manifests"][0];
    assert_eq!(entry["platform"]["os"], "wasip2");
    assert_eq!(entry["platform"]["architecture"], "wasm");
    let manifest = blob(entry["digest"].as_str().unwrap());
    assert_eq!(
        manifest["artifactType"],
        "application/vnd.wasm.config.v0+json"
    );
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0]["mediaType"], "application/wasm");
    assert_eq!(manifest["annotations"]["dev.plugpack.abi.detail"], "wit");
    let config = blob(manifest["config"]["digest"].as_str().unwrap());
    assert_eq!(config["os"], "wasip2");
    assert_eq!(config["architecture"], "wasm");
    assert_eq!(config["layerDigests"][0], layers[0]["digest"]);
    let component = &config["component"];
    assert_eq!(
        component["exports"],
        serde_json::json!(["plugpack:fixture/api@1.2.0"])
    );
    let imports: Vec<&str> = component["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(imports.contains(&"plugpack:host/log@1.0.0"), "{imports:?}");
    assert!(
        imports.iter().all(|i| i.contains(':') && i.contains('/')),
        "{imports:?}"
    );

    // The SBOM: the exact crates (wit-bindgen's runtime included) and the WIT packages the
    // component imports, as libraries the host provides; valid CycloneDX 1.6.
    let sboms = support::json_blobs(&bundle, |v| v["bomFormat"] == "CycloneDX");
    assert_eq!(sboms.len(), 1);
    let sbom = &sboms[0];
    let errors: Vec<String> = support::cyclonedx_validator("1.6")
        .iter_errors(sbom)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let components = sbom["components"].as_array().unwrap();
    let by_ref = |r: &str| components.iter().find(|c| c["bom-ref"] == r).cloned();
    assert!(
        components
            .iter()
            .any(|c| c["name"] == "wit-bindgen" && c["scope"] == "required"),
        "{components:#?}"
    );
    let host = by_ref("pkg:wit/plugpack/host@1.0.0").expect("the imported host package");
    assert_eq!(host["type"], "library");
    assert_eq!(host["name"], "plugpack:host");
    assert_eq!(host["version"], "1.0.0");
    assert!(host.get("purl").is_none(), "{host}");
    assert!(
        host["properties"]
            .to_string()
            .contains("plugpack:host/log@1.0.0"),
        "{host}"
    );
    let wasi_io = components
        .iter()
        .find(|c| c["name"] == "wasi:io")
        .expect("wasi:io, which std imports");
    assert!(
        wasi_io["bom-ref"]
            .as_str()
            .unwrap()
            .starts_with("pkg:wit/wasi/io@0.2.")
    );
    // The crate set is the exact one (cargo's compilation units for wasm32-wasip2).
    let root_props = sbom["metadata"]["component"]["properties"].to_string();
    assert!(
        root_props.contains(r#"{"name":"plugpack:dependency-set:exact","value":"true"}"#),
        "{root_props}"
    );
    let root = sbom["metadata"]["component"]["bom-ref"].as_str().unwrap();
    let deps = sbom["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["ref"] == root)
        .unwrap();
    assert!(
        deps["dependsOn"]
            .to_string()
            .contains("pkg:wit/plugpack/host@1.0.0"),
        "{deps}"
    );
}

#[test]
fn the_guard_checks_a_component_against_the_host_world() {
    let dir = support::tempdir();
    let (base_doc, base) = variant("base", dir.path());
    let doc = read_json(&base_doc);
    let host = with_wasi(
        AbiExpectation::from_wit(&utf8(&fixture_dir().join("wit")), Some("plugin")).unwrap(),
        &doc,
    );
    // The component built from the host's own world fits.
    let ok = check_file(&utf8(&base), &host).unwrap();
    assert_eq!(ok.detail.to_string(), "wit");
    // The same expectation from the component's document.
    let from_doc = with_wasi(AbiExpectation::load(&utf8(&base_doc)).unwrap(), &doc);
    check_file(&utf8(&base), &from_doc).unwrap();
    // Without the WASI packages the host lacks what Rust's std imports: every one named.
    let bare = AbiExpectation::from_wit(&utf8(&fixture_dir().join("wit")), None).unwrap();
    let bad = check_file(&utf8(&base), &bare).unwrap_err();
    assert!(
        bad.reasons.iter().any(|r| matches!(
            r,
            Reason::UnprovidedImport { name, .. } if name.starts_with("wasi:io/streams@")
        )),
        "{bad}"
    );

    let refused = |feature: &str| {
        let (_, wasm) = variant(feature, dir.path());
        check_file(&utf8(&wasm), &host).unwrap_err()
    };
    // Imports an interface the host does not provide.
    let bad = refused("import-added");
    assert!(
        bad.reasons.iter().any(|r| matches!(
            r,
            Reason::UnprovidedImport { name, .. } if name == "plugpack:host/clock@1.0.0"
        )),
        "{bad}"
    );
    // Needs a newer version of an interface than the host has.
    let bad = refused("import-minor");
    assert!(
        bad.reasons.iter().any(|r| matches!(
            r,
            Reason::IncompatibleVersion { name, needed, found }
                if name == "plugpack:host/log" && needed == "1.1.0" && found == "1.0.0"
        )),
        "{bad}"
    );
    // Lacks an export the host calls.
    let bad = refused("export-removed");
    assert!(
        bad.reasons.iter().any(|r| matches!(
            r,
            Reason::MissingExport { name } if name == "plugpack:fixture/api@1.2.0#describe"
        )),
        "{bad}"
    );
    // Exports a function with another type: the function itself, and every function
    // reaching a changed type, each a reason.
    let bad = refused("signature-changed");
    assert!(
        bad.reasons.iter().any(|r| matches!(
            r,
            Reason::ChangedExport { name, signature, .. }
                if name == "plugpack:fixture/api@1.2.0#lookup" && signature.contains("strict: bool")
        )),
        "{bad}"
    );
    let bad = refused("field-added");
    let changed: Vec<&str> = bad
        .reasons
        .iter()
        .filter_map(|r| match r {
            Reason::ChangedExport { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        changed.contains(&"plugpack:fixture/api@1.2.0#area"),
        "{bad}"
    );
    assert!(
        changed.contains(&"plugpack:fixture/api@1.2.0#describe"),
        "{bad}"
    );
    // A component that only adds an export still fits.
    let (_, added) = variant("export-added", dir.path());
    check_file(&utf8(&added), &host).unwrap();
    // One that also imports wasi:http fits only a host that provides it.
    let (_, http) = variant("http", dir.path());
    let bad = check_file(&utf8(&http), &host).unwrap_err();
    assert!(
        bad.reasons.iter().any(|r| matches!(
            r,
            Reason::UnprovidedImport { name, .. } if name == "wasi:http/types@0.2.4"
        )),
        "{bad}"
    );
    check_file(
        &utf8(&http),
        &host.clone().provide_package("wasi:http", "0.2.4"),
    )
    .unwrap();
    let old_http = host.provide_package("wasi:http", "0.1.0");
    let bad = check_file(&utf8(&http), &old_http).unwrap_err();
    assert!(
        bad.reasons.iter().any(|r| matches!(
            r,
            Reason::IncompatibleVersion { name, .. } if name == "wasi:http/types"
        )),
        "{bad}"
    );
}

/// `verify --host-abi DIR` takes the host's WIT world: a signed component bundle fits the
/// world it was built from (with the WASI packages the host implements), and one importing
/// an interface the host lacks fails `abi-incompatible` (exit 1), naming it.
#[test]
fn verify_takes_a_host_wit_world() {
    let dir = support::tempdir();
    let stem = dir.path().join("k");
    run_ok(plugpack().args(["keygen", "-q", "-o"]).arg(&stem));
    let (base_doc, _) = variant("base", dir.path());
    let doc = read_json(&base_doc);
    let package = |feature: &str| {
        let bundle = dir.path().join(format!("{feature}.oci.tar"));
        let _lock = BUILDS.lock().unwrap_or_else(|e| e.into_inner());
        let mut cmd = plugpack();
        cmd.arg("package")
            .arg("--manifest-path")
            .arg(support::fixture_manifest(FIXTURE))
            .arg("--target-dir")
            .arg(target_dir())
            .args(["--locked", "--offline", "-q", "--profile", "dev", "-o"])
            .arg(&bundle)
            .arg("--key")
            .arg(stem.with_extension("key"));
        if feature != "base" {
            cmd.args(["--features", feature]);
        }
        run_ok(&mut cmd);
        bundle
    };
    let mut provides: Vec<String> = Vec::new();
    for item in doc["wit"]["imports"].as_array().unwrap() {
        if let Some(p) = item["package"].as_str().filter(|p| p.starts_with("wasi:")) {
            let arg = format!("{p}@{}", item["version"].as_str().unwrap());
            if !provides.contains(&arg) {
                provides.extend(["--host-provides".to_owned(), arg]);
            }
        }
    }
    let verify = |bundle: &Path| {
        let out = run(plugpack()
            .args(["verify", "--format", "json"])
            .arg(bundle)
            .arg("--key")
            .arg(stem.with_extension("pub"))
            .arg("--host-abi")
            .arg(fixture_dir().join("wit"))
            .args(&provides));
        let report = json_lines(&String::from_utf8(out.stdout).unwrap())
            .pop()
            .unwrap_or(Value::Null);
        (out.status.code().unwrap(), report)
    };
    let (code, report) = verify(&package("base"));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        report["artifacts"][0]["abi"]["status"], "compatible",
        "{report:#}"
    );
    assert_eq!(report["artifacts"][0]["abi"]["detail"], "wit", "{report:#}");
    let (code, report) = verify(&package("import-added"));
    assert_eq!(code, 1, "{report:#}");
    let text = report["failures"].to_string();
    assert!(
        text.contains("abi-incompatible") && text.contains("plugpack:host/clock@1.0.0"),
        "{report:#}"
    );
}
