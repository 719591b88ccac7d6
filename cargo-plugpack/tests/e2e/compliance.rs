//! Compliance review (issue 15): SPDX next to CycloneDX, documents out of bundles.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{self, on_fixture, run_ok};

const FIXTURE: &str = "sbom-workspace";
const WASM: &str = "wasm32-wasip1";
const HOST: &str = "x86_64-unknown-linux-gnu";

fn sbom_text(target: &str, format: &str) -> String {
    run_ok(&mut on_fixture(
        "sbom",
        FIXTURE,
        &["--target", target, "--format", format, "-o", "-"],
    ))
}

/// `(name, version)` of every crate the CycloneDX document lists (plugin included).
fn cdx_crates(doc: &Value) -> BTreeSet<(String, String)> {
    std::iter::once(&doc["metadata"]["component"])
        .chain(doc["components"].as_array().unwrap())
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `(name, version)` of every SPDX package.
fn spdx_crates(doc: &Value) -> BTreeSet<(String, String)> {
    doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["versionInfo"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn relationships(doc: &Value) -> BTreeSet<(String, String, String)> {
    let name = |id: &str| {
        if id == "SPDXRef-DOCUMENT" {
            return "DOCUMENT".to_owned();
        }
        doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["SPDXID"] == id)
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .unwrap()
    };
    doc["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                name(r["spdxElementId"].as_str().unwrap()),
                r["relationshipType"].as_str().unwrap().to_owned(),
                name(r["relatedSpdxElement"].as_str().unwrap()),
            )
        })
        .collect()
}

fn triple(a: &str, b: &str, c: &str) -> (String, String, String) {
    (a.to_owned(), b.to_owned(), c.to_owned())
}

#[test]
fn spdx_lists_the_crates_of_the_cyclonedx_document_with_build_relationships() {
    for target in [WASM, HOST] {
        let cdx: Value = serde_json::from_str(&sbom_text(target, "cyclonedx-json")).unwrap();
        let text = sbom_text(target, "spdx-json");
        let spdx: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(spdx["spdxVersion"], "SPDX-2.3");
        assert_eq!(cdx_crates(&cdx), spdx_crates(&spdx), "{target}");
        assert_eq!(spdx["creationInfo"]["created"], "2024-01-02T03:04:05Z");
        // Deterministic: a second run gives the same bytes (and namespace).
        assert_eq!(text, sbom_text(target, "spdx-json"));
        assert!(!text.contains(support::repo_root().to_str().unwrap()));
    }
    let spdx: Value = serde_json::from_str(&sbom_text(WASM, "spdx-json")).unwrap();
    let rels = relationships(&spdx);
    for expected in [
        triple("DOCUMENT", "DESCRIBES", "sbom-plugin"),
        triple("sbom-plugin", "DEPENDS_ON", "itoa"),
        triple("sbom-plugin", "DEPENDS_ON", "local-lib"),
        triple("local-lib", "DEPENDS_ON", "cfg-if"),
        triple("helper-macro", "BUILD_DEPENDENCY_OF", "sbom-plugin"),
        triple("build-helper", "BUILD_DEPENDENCY_OF", "sbom-plugin"),
    ] {
        assert!(
            rels.contains(&expected),
            "{expected:?} missing from {rels:?}"
        );
    }
    let itoa = spdx["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "itoa")
        .unwrap();
    assert_eq!(itoa["licenseDeclared"], "MIT OR Apache-2.0");
    assert_eq!(itoa["checksums"][0]["algorithm"], "SHA256");
    assert_eq!(
        itoa["externalRefs"][0]["referenceLocator"],
        format!("pkg:cargo/itoa@{}", itoa["versionInfo"].as_str().unwrap())
    );
    let helper = spdx["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "helper-macro")
        .unwrap();
    assert_eq!(
        helper["licenseDeclared"],
        "LicenseRef-Fixture-Proprietary-Licence"
    );
    assert_eq!(
        spdx["documentNamespace"]
            .as_str()
            .unwrap()
            .split('/')
            .next_back()
            .unwrap()
            .len(),
        "sbom-plugin-0.2.0-wasm32-wasip1-".len() + 36
    );
}

#[test]
fn sbom_refuses_a_format_it_does_not_write() {
    let stderr = support::run_fails(
        &mut on_fixture("sbom", FIXTURE, &["--target", WASM, "--format", "html"]),
        2,
    );
    assert!(stderr.contains("spdx-json"), "{stderr}");
}

/// Every blob of `bundle` whose JSON has `key`.
fn blobs_with(bundle: &Path, key: &str) -> Vec<Value> {
    support::json_blobs(bundle, |v| v.get(key).is_some())
}

#[test]
fn package_attaches_spdx_next_to_cyclonedx_on_request() {
    let dir = support::tempdir();
    let bundle = support::package_fixture(
        FIXTURE,
        dir.path(),
        &["--target", WASM, "--sbom-format", "cyclonedx,spdx"],
    );
    let cdx = blobs_with(&bundle, "bomFormat");
    let spdx = blobs_with(&bundle, "spdxVersion");
    assert_eq!((cdx.len(), spdx.len()), (1, 1));
    assert_eq!(cdx_crates(&cdx[0]), spdx_crates(&spdx[0]));
    let info =
        run_ok(support::plugpack().args(["inspect", "--format", "json", bundle.to_str().unwrap()]));
    assert!(info.contains("application/spdx+json"), "{info}");
    // The default stays CycloneDX only.
    let dir = support::tempdir();
    let bundle = support::package_fixture(FIXTURE, dir.path(), &["--target", WASM]);
    assert_eq!(blobs_with(&bundle, "spdxVersion").len(), 0);
    assert_eq!(blobs_with(&bundle, "bomFormat").len(), 1);
}

/// Writes the SPDX document of `target` into `dir` and returns its path.
fn spdx_file(dir: &Path, target: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{target}.spdx.json"));
    std::fs::write(&path, sbom_text(target, "spdx-json")).unwrap();
    path
}

#[test]
#[ignore = "interop: needs pyspdxtools (pip spdx-tools); run by .ci/test"]
fn pyspdxtools_validates_the_spdx_documents() {
    support::require_tool("pyspdxtools");
    let dir = support::tempdir();
    for target in [WASM, HOST] {
        let path = spdx_file(dir.path(), target);
        let out = Command::new("pyspdxtools")
            .arg("-i")
            .arg(&path)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "pyspdxtools rejected {target}: {text}"
        );
        assert!(!text.contains("validation"), "{text}");
    }
}

#[test]
#[ignore = "interop: needs ntia-checker (pip ntia-conformance-checker); run by .ci/test"]
fn ntia_checker_finds_the_spdx_documents_conformant() {
    support::require_tool("ntia-checker");
    let dir = support::tempdir();
    for target in [WASM, HOST] {
        let path = spdx_file(dir.path(), target);
        let out = Command::new("ntia-checker")
            .args(["-r", "json"])
            .arg(&path)
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "ntia-checker output is not JSON ({e}): {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert_eq!(report["isNtiaConformant"], true, "{target}: {report:#}");
        assert_eq!(report["validationMessages"], serde_json::json!([]));
        // The checker walks DEPENDS_ON only: what it leaves out ("floating") must be exactly
        // the build-only crates (linked via BUILD_DEPENDENCY_OF), never a linked one.
        let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let build_only: BTreeSet<String> = doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| {
                p["comment"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("build-only"))
            })
            .map(|p| p["SPDXID"].as_str().unwrap().to_owned())
            .collect();
        let floating: BTreeSet<String> =
            report["graphValidation"]["floatingComponents"]["floatingComponentIds"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect();
        assert_eq!(floating, build_only, "{target}");
    }
}

#[test]
fn extract_attachments_writes_every_referrer_under_the_name_inspect_shows() {
    let dir = support::tempdir();
    let key = dir.path().join("k");
    run_ok(support::plugpack().args(["keygen", "-o", key.to_str().unwrap()]));
    let key = dir.path().join("k.key");
    let bundle = support::package_fixture(
        FIXTURE,
        dir.path(),
        &[
            "--target",
            WASM,
            "--target",
            HOST,
            "--sbom-format",
            "cyclonedx,spdx",
            "--key",
            key.to_str().unwrap(),
        ],
    );
    let info: Value = serde_json::from_str(&run_ok(support::plugpack().args([
        "inspect",
        "--format",
        "json",
        bundle.to_str().unwrap(),
    ])))
    .unwrap();
    let mut shown = BTreeSet::new();
    for r in info["referrers"].as_array().unwrap() {
        for f in r["files"].as_array().unwrap() {
            shown.insert(f.as_str().unwrap().to_owned());
        }
    }
    let mut expected = BTreeSet::new();
    for target in [WASM, HOST] {
        for ext in [
            "cdx.json",
            "spdx.json",
            "abi.json",
            "audit.json",
            "dsse.json",
            "notices.json",
        ] {
            expected.insert(format!("sbom-plugin-{target}.{ext}"));
        }
    }
    assert_eq!(shown, expected);

    let out = dir.path().join("out");
    run_ok(support::plugpack().args([
        "extract",
        bundle.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--attachments",
    ]));
    let written: BTreeSet<String> = std::fs::read_dir(out.join("attachments"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(written, expected);
    // The files are the documents themselves.
    let spdx: Value = serde_json::from_slice(
        &std::fs::read(out.join(format!("attachments/sbom-plugin-{WASM}.spdx.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(spdx["name"], format!("sbom-plugin-0.2.0-{WASM}"));
    let cdx: Value = serde_json::from_slice(
        &std::fs::read(out.join(format!("attachments/sbom-plugin-{HOST}.cdx.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(cdx["metadata"]["component"]["name"], "sbom-plugin");
    assert!(
        cdx["metadata"]["component"]["properties"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "plugpack:target" && p["value"] == HOST)
    );
    let dsse: Value = serde_json::from_slice(
        &std::fs::read(out.join(format!("attachments/sbom-plugin-{HOST}.dsse.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(dsse["payloadType"], "application/vnd.in-toto+json");
    assert!(out.join(WASM).join("sbom_plugin.wasm").is_file());

    // Without the flag, only the plugin files.
    let plain = dir.path().join("plain");
    run_ok(support::plugpack().args([
        "extract",
        bundle.to_str().unwrap(),
        "-o",
        plain.to_str().unwrap(),
    ]));
    assert!(!plain.join("attachments").exists());
}

const NOTICES: &str = "notices-plugin";

#[test]
fn notices_reproduce_notice_files_and_list_crates_without_licence_text() {
    let out = support::run(&mut on_fixture("notices", NOTICES, &[]));
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The Apache-2.0 path crate's NOTICE file, verbatim.
    let notice = std::fs::read_to_string(
        support::repo_root().join("tests/fixtures/notices-plugin/notice-lib/NOTICE"),
    )
    .unwrap();
    assert!(text.contains(notice.trim_end()), "{text}");
    assert!(text.contains("--- notice-lib 0.3.0: NOTICE ---"));
    // The crate without a licence file is listed, and warned about.
    assert!(text.contains("- bare-lib 0.2.0 (licence text not found)"));
    assert!(text.contains("Crates whose licence text was not found"));
    assert!(
        stderr.contains("bare-lib 0.2.0: no licence text found"),
        "{stderr}"
    );
    // The Apache text of notice-lib and itoa (from cargo's registry cache) is printed once.
    assert_eq!(text.matches("TERMS AND CONDITIONS FOR USE").count(), 1);
    assert!(text.contains("used by: notice-lib 0.3.0 (LICENSE), itoa 1.0.19 (LICENSE-APACHE)"));
    assert!(text.contains("Copyright 2021-2024 The Notice Lib Project Authors"));
    // Build-only crates are not shipped, so not listed.
    assert!(!text.contains("macro-lib"));
    // HTML: the same material, escaped.
    let html = run_ok(&mut on_fixture("notices", NOTICES, &["--format", "html"]));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("This product includes software developed at The Fixture Foundation"));
    assert!(html.contains("bare-lib"));
}

#[test]
fn package_stores_the_notices_and_notices_reads_them_back_from_the_bundle() {
    let dir = support::tempdir();
    let bundle = support::package_fixture(NOTICES, dir.path(), &["--target", HOST]);
    let from_project = run_ok(&mut on_fixture("notices", NOTICES, &["--target", HOST]));
    // The sources are not needed any more: read them from a copy of the bundle elsewhere.
    let copy = dir.path().join("copy.oci.tar");
    std::fs::copy(&bundle, &copy).unwrap();
    let from_bundle = run_ok(support::plugpack().args(["notices", copy.to_str().unwrap()]));
    assert_eq!(from_project, from_bundle);
    let out = dir.path().join("x");
    run_ok(support::plugpack().args([
        "extract",
        copy.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--attachments",
    ]));
    let doc: Value = serde_json::from_slice(
        &std::fs::read(out.join(format!("attachments/notices-plugin-{HOST}.notices.json")))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(doc["schema"], "plugpack-notices/1");
    assert_eq!(doc["plugin"], "notices-plugin");
}

#[test]
fn notices_after_a_build_need_no_cargo_and_one_file_takes_one_plugin() {
    // --no-build reads the last build's record: the same notices as building.
    run_ok(&mut on_fixture("build", NOTICES, &["--target", HOST]));
    let built = run_ok(&mut on_fixture("notices", NOTICES, &["--target", HOST]));
    let recorded = run_ok(&mut on_fixture(
        "notices",
        NOTICES,
        &["--target", HOST, "--no-build"],
    ));
    assert_eq!(built, recorded);
    // Several plugins into one -o FILE: a usage error, nothing written.
    let dir = support::tempdir();
    let out = dir.path().join("NOTICES.txt");
    let err = support::run_fails(
        &mut on_fixture(
            "notices",
            "multi-plugin",
            &["--workspace", "-o", out.to_str().unwrap()],
        ),
        2,
    );
    assert!(err.contains("-p NAME"), "{err}");
    assert!(!out.exists());
}
