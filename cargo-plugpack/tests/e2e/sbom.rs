//! `cargo plugpack sbom` and the SBOM referrer of `package` (issue 4), on
//! `tests/fixtures/sbom-workspace`.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{self, on_fixture, run_fails, run_ok};

const FIXTURE: &str = "sbom-workspace";
const HOST: &str = "x86_64-unknown-linux-gnu";
const WASM: &str = "wasm32-wasip1";
const MEDIA_TYPE: &str = "application/vnd.cyclonedx+json";

fn sbom_stdout(extra: &[&str]) -> (String, Value) {
    let mut args = vec!["-o", "-"];
    args.extend_from_slice(extra);
    let text = run_ok(&mut on_fixture("sbom", FIXTURE, &args));
    let doc = serde_json::from_str(&text).unwrap();
    (text, doc)
}

fn names_and_scopes(doc: &Value) -> Vec<(String, String)> {
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

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn sbom_to_stdout_is_cyclonedx_1_6_of_the_compiled_crates() {
    let (text, doc) = sbom_stdout(&["--target", WASM]);
    assert_eq!(doc["bomFormat"], "CycloneDX");
    assert_eq!(doc["specVersion"], "1.6");
    assert_eq!(doc["metadata"]["timestamp"], "2024-01-02T03:04:05Z");
    assert_eq!(
        doc["metadata"]["tools"]["components"][0]["name"],
        "plugpack"
    );
    assert_eq!(
        names_and_scopes(&doc),
        pairs(&[
            ("build-helper", "excluded"),
            ("cfg-if", "required"),
            ("helper-macro", "excluded"),
            ("itoa", "required"),
            ("local-lib", "required"),
            ("memchr", "excluded"),
        ])
    );
    assert!(text.ends_with("}\n"));
    assert!(!text.contains(support::repo_root().to_str().unwrap()));
}

#[test]
fn sbom_spec_1_5_and_no_build_deps() {
    let (_, doc) = sbom_stdout(&["--target", HOST, "--spec-version", "1.5", "--no-build-deps"]);
    assert_eq!(doc["specVersion"], "1.5");
    assert_eq!(
        doc["$schema"],
        "http://cyclonedx.org/schema/bom-1.5.schema.json"
    );
    assert_eq!(
        names_and_scopes(&doc),
        pairs(&[("itoa", "required"), ("local-lib", "required")])
    );
    let stderr = support::run_fails(
        &mut on_fixture("sbom", FIXTURE, &["--spec-version", "1.4"]),
        2,
    );
    assert!(stderr.contains("1.4"), "{stderr}");
}

#[test]
fn sbom_warns_about_licences_on_stderr() {
    let out = support::run(&mut on_fixture(
        "sbom",
        FIXTURE,
        &["-o", "-", "--target", HOST],
    ));
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: sbom-plugin (x86_64-unknown-linux-gnu): build-helper@0.1.0: declares no licence"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "helper-macro@0.1.0: licence `Fixture Proprietary Licence` is not an SPDX expression"
        ),
        "{stderr}"
    );
}

#[test]
fn sbom_runs_are_byte_identical() {
    let (first, _) = sbom_stdout(&["--target", HOST]);
    let (second, _) = sbom_stdout(&["--target", HOST]);
    assert_eq!(first, second);
}

#[test]
fn sbom_writes_one_file_per_artifact_into_a_directory() {
    let dir = support::tempdir();
    let out = run_ok(&mut on_fixture(
        "sbom",
        FIXTURE,
        &[
            "--target",
            HOST,
            "--target",
            WASM,
            "-o",
            dir.path().to_str().unwrap(),
            "--message-format",
            "json",
        ],
    ));
    let messages = support::json_lines(&out);
    assert_eq!(messages.len(), 2, "{out}");
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            format!("sbom-plugin-0.2.0-{WASM}.cdx.json"),
            format!("sbom-plugin-0.2.0-{HOST}.cdx.json"),
        ]
    );
    for m in &messages {
        assert_eq!(m["reason"], "sbom-written");
        let path = Path::new(m["path"].as_str().unwrap());
        assert_eq!(support::sha256_file(path), m["sha256"].as_str().unwrap());
        let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        assert_eq!(doc["serialNumber"], m["serial_number"]);
    }
}

#[test]
fn sbom_refuses_one_file_for_several_artifacts() {
    let dir = support::tempdir();
    let file = dir.path().join("one.json");
    let stderr = run_fails(
        &mut on_fixture(
            "sbom",
            FIXTURE,
            &[
                "--target",
                HOST,
                "--target",
                WASM,
                "-o",
                file.to_str().unwrap(),
            ],
        ),
        2,
    );
    assert!(stderr.contains("2 SBOMs to write"), "{stderr}");
    assert!(stderr.contains("existing directory"), "{stderr}");
    assert!(!file.exists());
}

#[test]
fn package_attaches_one_sbom_referrer_per_target() {
    let dir = support::tempdir();
    let bundle =
        support::package_fixture(FIXTURE, dir.path(), &["--target", HOST, "--target", WASM]);
    let info = run_ok(
        support::plugpack()
            .args(["inspect", "--message-format", "json"])
            .arg(&bundle),
    );
    let info = &support::json_lines(&info)[0];
    let referrers: Vec<&Value> = info["referrers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["artifact_type"] == MEDIA_TYPE)
        .collect();
    assert_eq!(referrers.len(), 2, "{info:#}");
    let blobs = tar_blobs(&bundle);
    for manifest in info["manifests"].as_array().unwrap() {
        let target = manifest["target"].as_str().unwrap();
        let referrer = referrers
            .iter()
            .find(|r| r["subject"] == manifest["digest"])
            .unwrap_or_else(|| panic!("no SBOM for {target}"));
        let layer = &referrer["layers"][0];
        assert_eq!(layer["media_type"], MEDIA_TYPE);
        let sbom: Value =
            serde_json::from_slice(&blobs[layer["digest"].as_str().unwrap()]).unwrap();
        // The SBOM describes exactly the plugin file in that manifest.
        let plugin_layer = manifest["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["media_type"] != MEDIA_TYPE)
            .unwrap();
        assert_eq!(
            format!(
                "sha256:{}",
                sbom["metadata"]["component"]["hashes"][0]["content"]
                    .as_str()
                    .unwrap()
            ),
            plugin_layer["digest"].as_str().unwrap()
        );
        let props = sbom["metadata"]["component"]["properties"]
            .as_array()
            .unwrap();
        assert!(
            props
                .iter()
                .any(|p| p["name"] == "plugpack:target" && p["value"] == target)
        );
        // The ABI fingerprint `package` attached is the one the SBOM names.
        let abi = props
            .iter()
            .find(|p| p["name"] == "plugpack:abi:fingerprint")
            .unwrap_or_else(|| panic!("no ABI fingerprint property for {target}"));
        assert_eq!(
            abi["value"], manifest["annotations"]["dev.plugpack.abi.fingerprint"],
            "{target}"
        );
    }
}

/// `digest → bytes` of every blob in a bundle tarball.
fn tar_blobs(path: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    use std::io::Read;
    let mut archive = tar::Archive::new(std::fs::File::open(path).unwrap());
    let mut blobs = std::collections::BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        if let Some(hex) = name.strip_prefix("blobs/sha256/") {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            blobs.insert(format!("sha256:{hex}"), bytes);
        }
    }
    blobs
}

/// cyclonedx-python-lib's strict JSON validator (the reference implementation's schema
/// check) accepts what we write, for both spec versions.
#[test]
#[ignore = "interop: needs python3 with cyclonedx-python-lib[json-validation]; run by .ci/test"]
fn cyclonedx_python_lib_strict_validator_accepts_our_sboms() {
    support::require_tool("python3");
    let dir = support::tempdir();
    for (spec, target) in [("1.6", HOST), ("1.5", WASM), ("1.6", WASM)] {
        let (text, _) = sbom_stdout(&["--target", target, "--spec-version", spec]);
        let file = dir.path().join(format!("{spec}-{target}.cdx.json"));
        std::fs::write(&file, &text).unwrap();
        let script = r#"
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
version = {"1.5": SchemaVersion.V1_5, "1.6": SchemaVersion.V1_6}[sys.argv[1]]
with open(sys.argv[2]) as f:
    error = JsonStrictValidator(version).validate_str(f.read())
if error is not None:
    print(error)
    sys.exit(1)
print("valid")
"#;
        let out = Command::new("python3")
            .args(["-c", script, spec])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{spec} {target}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "valid");
    }
}

#[test]
fn sbom_embeds_the_dependency_list_unless_told_not_to() {
    let json = |extra: &[&str]| {
        let mut args = vec!["--target", WASM, "--message-format", "json"];
        args.extend_from_slice(extra);
        let out = run_ok(&mut on_fixture("sbom", FIXTURE, &args));
        support::json_lines(&out).remove(0)
    };
    let embedded = json(&[]);
    let artifact = Path::new(embedded["artifact"].as_str().unwrap());
    assert!(
        artifact
            .to_str()
            .unwrap()
            .contains("plugpack/embedded/wasm32-wasip1/"),
        "{artifact:?}"
    );
    let bytes = std::fs::read(artifact).unwrap();
    assert!(
        bytes.windows(7).any(|w| w == b".dep-v0"),
        "no .dep-v0 section name in {artifact:?}"
    );
    let plain = json(&["--no-embed-deps"]);
    let plain_artifact = Path::new(plain["artifact"].as_str().unwrap());
    assert!(
        !plain_artifact
            .to_str()
            .unwrap()
            .contains("plugpack/embedded")
    );
    assert!(
        !std::fs::read(plain_artifact)
            .unwrap()
            .windows(7)
            .any(|w| w == b".dep-v0")
    );
    // Different files, so different SBOMs.
    assert_ne!(embedded["serial_number"], plain["serial_number"]);
}

#[test]
fn sbom_from_artifact_reads_the_embedded_list_back() {
    let out = run_ok(&mut on_fixture(
        "sbom",
        FIXTURE,
        &["--target", HOST, "--message-format", "json", "-o", "-"],
    ));
    let full: Value = serde_json::from_str(&out).unwrap();
    let embedded = support::fixture_target_dir()
        .join("plugpack/embedded")
        .join(HOST)
        .join("libsbom_plugin.so");
    let text = run_ok(
        support::plugpack()
            .args(["sbom", "--from-artifact"])
            .arg(&embedded),
    );
    let rebuilt: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(names_and_scopes(&rebuilt), names_and_scopes(&full));
    assert_eq!(
        rebuilt["metadata"]["component"]["hashes"],
        full["metadata"]["component"]["hashes"]
    );
    let plain = support::fixture_target_dir()
        .join(HOST)
        .join("debug/libsbom_plugin.so");
    let stderr = run_fails(
        support::plugpack()
            .args(["sbom", "--from-artifact"])
            .arg(&plain),
        5,
    );
    assert!(
        stderr.contains("has no embedded dependency list"),
        "{stderr}"
    );
}
