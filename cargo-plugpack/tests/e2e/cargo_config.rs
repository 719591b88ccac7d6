//! Cargo's configuration decides the target (issue 11, section 1): `.cargo/config.toml`'s
//! `build.target` (a string or a list), `CARGO_BUILD_TARGET`, `build.target-dir` and the
//! `[target.<triple>] rustflags` that change `cfg` are resolved as cargo resolves them, and an
//! artifact's label is checked against its bytes.
//!
//! Fixture: `tests/fixtures/wasm-config-plugin`, whose `.cargo/config.toml` builds for
//! `wasm32-unknown-unknown` and passes `--cfg plugpack_fixture_flavour="configured"`, which
//! enables a dependency (`itoa`) and an export (`plugin_decimal_len`).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::*;

const FIXTURE: &str = "wasm-config-plugin";
const WASM: &str = "wasm32-unknown-unknown";

fn test_db() -> PathBuf {
    repo_root().join("tests/data/advisory-db")
}

fn inspect(bundle: &Path) -> Value {
    let out = run_ok(plugpack().args(["inspect", "--json"]).arg(bundle));
    json_lines(&out).remove(0)
}

fn built(cmd: &mut std::process::Command) -> Vec<Value> {
    let lines = json_lines(&run_ok(cmd));
    assert!(lines.iter().all(|l| l["reason"] == "plugin-artifact"));
    lines
}

/// Copies a fixture (without any `target/`) to `dir/<name>` and returns its manifest.
pub fn copy_fixture(name: &str, dir: &Path) -> PathBuf {
    let to = dir.join(name);
    copy_dir(&repo_root().join("tests/fixtures").join(name), &to);
    to.join("Cargo.toml")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

#[test]
fn wasm_target_from_cargo_config_labels_bundle_sbom_abi_and_audit() {
    let dir = tempdir();
    let db = test_db();
    let bundle = package_fixture(
        FIXTURE,
        dir.path(),
        &["--profile", "dev", "--db", db.to_str().unwrap()],
    );
    let info = inspect(&bundle);
    let manifests = info["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 1, "{info:#}");
    let m = &manifests[0];
    assert_eq!(m["platform"], "unknown/wasm");
    assert_eq!(m["target"], WASM);
    assert_eq!(m["layers"][0]["media_type"], "application/wasm");
    assert_eq!(m["layers"][0]["title"], "wasm_config_plugin.wasm");

    let sboms = json_blobs(&bundle, |v| v["bomFormat"] == "CycloneDX");
    assert_eq!(sboms.len(), 1);
    let props = sboms[0]["metadata"]["component"]["properties"]
        .as_array()
        .unwrap();
    assert!(
        props
            .iter()
            .any(|p| p["name"] == "plugpack:target" && p["value"] == WASM),
        "{props:#?}"
    );
    // `itoa` is a dependency only under the `--cfg` of `[target.wasm32-unknown-unknown]
    // rustflags`: the platform filter must have asked rustc with those flags.
    let names: Vec<&str> = sboms[0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(names.contains(&"itoa"), "{names:?}");
    assert!(names.contains(&"memchr"), "{names:?}");

    let abi = json_blobs(&bundle, |v| v["schema"] == "plugpack-abi/1");
    assert_eq!(abi.len(), 1);
    assert_eq!(abi[0]["target"], WASM);
    assert_eq!(abi[0]["format"], "wasm");
    let exports = serde_json::to_string(&abi[0]["exports"]).unwrap();
    assert!(exports.contains("plugin_decimal_len"), "{exports}");

    let audits = json_blobs(&bundle, |v| v.get("findings").is_some());
    assert_eq!(audits.len(), 1);
    assert_eq!(audits[0]["targets"], serde_json::json!([WASM]));
}

#[test]
fn command_line_target_wins_over_cargo_config() {
    let artifacts = built(&mut on_fixture(
        "build",
        FIXTURE,
        &[
            "--profile",
            "dev",
            "--message-format",
            "json",
            "--target",
            "wasm32-wasip1",
        ],
    ));
    assert_eq!(artifacts.len(), 1);
    assert_eq!(artifacts[0]["target"], "wasm32-wasip1");
}

#[test]
fn cargo_build_target_variable_is_followed_and_metadata_targets_win_over_it() {
    // cdylib-plugin has no configured targets: the variable decides, as it does for cargo.
    let artifacts = built(
        on_fixture(
            "build",
            "cdylib-plugin",
            &["--profile", "dev", "--message-format", "json"],
        )
        .env("CARGO_BUILD_TARGET", WASM),
    );
    assert_eq!(artifacts.len(), 1);
    assert_eq!(artifacts[0]["target"], WASM);
    assert_eq!(artifacts[0]["kind"], "wasm");
    let path = artifacts[0]["path"].as_str().unwrap();
    assert_eq!(std::fs::read(path).unwrap()[..4], *b"\0asm");

    // wasm-plugin names `targets = ["wasm32-wasip1"]` in its metadata: that wins.
    let artifacts = built(
        on_fixture(
            "build",
            "wasm-plugin",
            &["--profile", "dev", "--message-format", "json"],
        )
        .env("CARGO_BUILD_TARGET", WASM),
    );
    assert_eq!(artifacts.len(), 1);
    assert_eq!(artifacts[0]["target"], "wasm32-wasip1");
}

#[test]
fn list_valued_build_target_builds_every_target() {
    let dir = tempdir();
    let manifest = copy_fixture(FIXTURE, dir.path());
    let config = manifest.parent().unwrap().join(".cargo/config.toml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "target = \"wasm32-unknown-unknown\"",
        "target = [\"wasm32-unknown-unknown\", \"wasm32-wasip1\"]",
    );
    std::fs::write(&config, text).unwrap();
    let artifacts = built(
        plugpack()
            .args(["build", "--manifest-path"])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(fixture_target_dir())
            .args([
                "--locked",
                "--offline",
                "--profile",
                "dev",
                "--message-format",
                "json",
            ]),
    );
    let targets: Vec<&str> = artifacts
        .iter()
        .map(|a| a["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, [WASM, "wasm32-wasip1"]);
}

#[test]
fn target_dir_from_cargo_config_holds_artifacts_and_build_record() {
    let dir = tempdir();
    let manifest = copy_fixture(FIXTURE, dir.path());
    let root = manifest.parent().unwrap();
    let config = root.join(".cargo/config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text = text.replace("[build]\n", "[build]\ntarget-dir = \"cargo-out\"\n");
    std::fs::write(&config, text).unwrap();
    // Run from elsewhere, as the harness does: plugpack reads the workspace's configuration.
    let cmd = |sub: &str| {
        let mut cmd = plugpack();
        cmd.arg(sub).arg("--manifest-path").arg(&manifest).args([
            "--locked",
            "--offline",
            "--profile",
            "dev",
        ]);
        cmd
    };
    let artifacts = built(cmd("build").args(["--message-format", "json"]));
    assert_eq!(artifacts.len(), 1);
    let out = root.join("cargo-out");
    let path = Path::new(artifacts[0]["path"].as_str().unwrap());
    assert!(path.starts_with(&out), "{path:?} not under {out:?}");
    let records: Vec<_> = std::fs::read_dir(out.join("plugpack/build-records"))
        .unwrap()
        .collect();
    assert_eq!(records.len(), 1);
    assert!(!root.join("target").exists());
    // `--no-build` finds the record through the same configuration.
    let sbom_path = dir.path().join("a.cdx.json");
    run_ok(
        cmd("sbom")
            .args(["--no-build", "-o"])
            .arg(&sbom_path)
            .current_dir(dir.path()),
    );
    let sbom: Value = serde_json::from_slice(&std::fs::read(&sbom_path).unwrap()).unwrap();
    assert_eq!(
        sbom["metadata"]["component"]["hashes"][0]["content"],
        artifacts[0]["sha256"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:")
    );
}

#[test]
fn artifact_whose_bytes_contradict_the_target_is_refused() {
    // A real x86_64 shared library, given as if it were built for aarch64.
    let artifacts = built(&mut on_fixture(
        "build",
        "cdylib-plugin",
        &["--profile", "dev", "--message-format", "json"],
    ));
    let so = artifacts[0]["path"].as_str().unwrap().to_owned();
    let dir = tempdir();
    let out = dir.path().join("out.oci.tar");
    let err = run_fails(
        &mut on_fixture(
            "package",
            "cdylib-plugin",
            &[
                "--artifact",
                &so,
                "--target",
                "aarch64-unknown-linux-gnu",
                "-o",
                out.to_str().unwrap(),
            ],
        ),
        5,
    );
    assert!(
        err.contains("does not match target `aarch64-unknown-linux-gnu`") && err.contains("X86_64"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn prebuilt_artifact_without_target_takes_the_configured_target() {
    // wasm-plugin configures `targets = ["wasm32-wasip1"]`: a module given with --artifact and
    // no --target is labelled with that target, not a guess.
    let artifacts = built(&mut on_fixture(
        "build",
        "wasm-plugin",
        &["--profile", "dev", "--message-format", "json"],
    ));
    let wasm = artifacts[0]["path"].as_str().unwrap().to_owned();
    let dir = tempdir();
    let out = dir.path().join("out.oci.tar");
    run_ok(&mut on_fixture(
        "package",
        "wasm-plugin",
        &["--artifact", &wasm, "-o", out.to_str().unwrap()],
    ));
    let info = inspect(&out);
    assert_eq!(info["manifests"][0]["target"], "wasm32-wasip1");
    assert_eq!(info["manifests"][0]["platform"], "wasip1/wasm");
}

#[test]
fn fingerprint_of_a_file_refuses_a_target_its_bytes_contradict() {
    let artifacts = built(&mut on_fixture(
        "build",
        "cdylib-plugin",
        &["--profile", "dev", "--message-format", "json"],
    ));
    let so = artifacts[0]["path"].as_str().unwrap().to_owned();
    let err = run_fails(
        plugpack().args([
            "fingerprint",
            "--artifact",
            &so,
            "--target",
            "wasm32-unknown-unknown",
        ]),
        5,
    );
    assert!(
        err.contains("is labelled `wasm32-unknown-unknown`"),
        "{err}"
    );
}

#[test]
fn prebuilt_artifact_sbom_filters_platform_dependencies_with_the_configured_rustflags() {
    let artifacts = built(&mut on_fixture(
        "build",
        FIXTURE,
        &["--profile", "dev", "--message-format", "json"],
    ));
    let wasm = artifacts[0]["path"].as_str().unwrap().to_owned();
    let dir = tempdir();
    let out = dir.path().join("out.oci.tar");
    let db = test_db();
    run_ok(&mut on_fixture(
        "package",
        FIXTURE,
        &[
            "--artifact",
            &wasm,
            "--db",
            db.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    ));
    assert_eq!(inspect(&out)["manifests"][0]["target"], WASM);
    let sboms = json_blobs(&out, |v| v["bomFormat"] == "CycloneDX");
    let names: Vec<&str> = sboms[0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    // `itoa` applies only under the configured `--cfg`.
    assert!(names.contains(&"itoa"), "{names:?}");
}

#[test]
fn no_build_refuses_a_record_for_other_targets_than_cargo_config_now_selects() {
    built(&mut on_fixture(
        "build",
        "cdylib-plugin",
        &["--profile", "dev", "--message-format", "json"],
    ));
    let dir = tempdir();
    let out = dir.path().join("a.cdx.json");
    let err = run_fails(
        on_fixture(
            "sbom",
            "cdylib-plugin",
            &[
                "--profile",
                "dev",
                "--no-build",
                "-o",
                out.to_str().unwrap(),
            ],
        )
        .env("CARGO_BUILD_TARGET", WASM),
        4,
    );
    assert!(
        err.contains("is stale") && err.contains(&format!("now select {WASM}")),
        "{err}"
    );
}
