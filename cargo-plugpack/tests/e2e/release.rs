//! `cargo plugpack release`: the release directory (bundles, SBOMs, ABI documents, audit
//! reports, `SHA256SUMS`, `plugpack-release.json`), the tag and working-tree checks, no
//! partial directory after a failing stage, and the SLSA provenance `release` signs
//! (checked by `verify --require-provenance`, and by the in-toto attestation framework and
//! securesystemslib in the interop tests).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{
    self, fixture_manifest, json_lines, on_fixture, plugpack, repo_root, run, run_fails, run_ok,
    tempdir,
};

/// `release` on a fixture with CI variables removed (the test may itself run in CI).
fn release(fixture: &str, extra: &[&str]) -> Command {
    let mut cmd = on_fixture("release", fixture, extra);
    for var in [
        "GITHUB_ACTIONS",
        "GITHUB_REF_NAME",
        "GITHUB_REF_TYPE",
        "GITLAB_CI",
        "PLUGPACK_SIGNING_KEY",
        "PLUGPACK_BUILDER_ID",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let stem = dir.join(name);
    run_ok(plugpack().args(["keygen", "-q", "-o"]).arg(&stem));
    (stem.with_extension("key"), stem.with_extension("pub"))
}

/// Asserts `plugpack-release.json` lists exactly the files on disk (besides itself and
/// `SHA256SUMS`) with their real digests and sizes, and `sha256sum -c SHA256SUMS` passes;
/// returns the manifest.
fn check_release_dir(dir: &Path) -> Value {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("plugpack-release.json")).unwrap()).unwrap();
    assert_eq!(manifest["schema"], "plugpack-release/1");
    let listed: Vec<String> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let name = f["name"].as_str().unwrap();
            let path = dir.join(name);
            assert_eq!(
                f["sha256"].as_str().unwrap(),
                support::sha256_file(&path),
                "{name}"
            );
            assert_eq!(
                f["size"].as_u64().unwrap(),
                std::fs::metadata(&path).unwrap().len()
            );
            name.to_owned()
        })
        .collect();
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "plugpack-release.json" && n != "SHA256SUMS")
        .collect();
    on_disk.sort();
    assert_eq!(listed, on_disk);
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    assert_eq!(sums.lines().count(), listed.len() + 1, "{sums}");
    assert!(sums.contains("  plugpack-release.json\n"), "{sums}");
    let check = run_ok(
        Command::new("sha256sum")
            .args(["-c", "--strict", "SHA256SUMS"])
            .current_dir(dir),
    );
    assert_eq!(check.matches(": OK").count(), listed.len() + 1, "{check}");
    manifest
}

/// No run directory or partial release was left beside `out`.
fn assert_nothing_left_beside(out: &Path) {
    let parent = out.parent().unwrap();
    let left: Vec<String> = std::fs::read_dir(parent)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n.starts_with(".plugpack-run-"))
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn release_dry_run_writes_a_checked_release_directory_and_signs_nothing() {
    let dir = tempdir();
    let out = dir.path().join("rel");
    let stdout = run_ok(&mut release(
        "wasm-plugin",
        &[
            "--dry-run",
            "--tag",
            "v1.2.0",
            "--allow-dirty",
            "-o",
            out.to_str().unwrap(),
            "--message-format",
            "json",
        ],
    ));
    let messages = json_lines(&stdout);
    assert_eq!(messages.len(), 1, "{stdout}");
    assert_eq!(messages[0]["reason"], "release");
    let manifest = check_release_dir(&out);
    assert_eq!(manifest, messages[0]["manifest"]);
    assert_eq!(manifest["dry_run"], true);
    assert_eq!(manifest["tag"]["name"], "v1.2.0");
    assert_eq!(manifest["tag"]["source"], "flag");
    let plugin = &manifest["plugins"][0];
    assert_eq!(plugin["name"], "wasm-plugin");
    assert_eq!(plugin["bundle"], "wasm-plugin-1.2.0.oci.tar");
    assert!(plugin["key_id"].is_null());
    assert_eq!(plugin["abi"]["status"], "no-baseline");
    assert_eq!(plugin["audit"]["verdict"], "unchecked");
    let kinds: Vec<(&str, &str)> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("audit.json", "audit"),
            ("audit.sarif", "audit-sarif"),
            ("wasm-plugin-1.2.0-wasm32-wasip1.abi.json", "abi"),
            ("wasm-plugin-1.2.0-wasm32-wasip1.cdx.json", "sbom"),
            ("wasm-plugin-1.2.0.oci.tar", "bundle"),
        ]
    );
    // Nothing signed: no DSSE envelope in the bundle.
    let bundle = out.join("wasm-plugin-1.2.0.oci.tar");
    assert!(support::json_blobs(&bundle, |v| v["payloadType"].is_string()).is_empty());
    // The SBOM and ABI files are the bundle's attachments, byte for byte.
    let sbom: Value =
        serde_json::from_slice(&std::fs::read(out.join(kinds[3].0)).unwrap()).unwrap();
    assert_eq!(
        support::json_blobs(&bundle, |v| v["bomFormat"] == "CycloneDX"),
        [sbom]
    );
    let sarif: Value =
        serde_json::from_slice(&std::fs::read(out.join("audit.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_nothing_left_beside(&out);

    // Again, against the first release as ABI baseline: the same ABI at the same version.
    let stdout = run_ok(&mut release(
        "wasm-plugin",
        &[
            "--dry-run",
            "--tag",
            "wasm-plugin-v1.2.0",
            "--allow-dirty",
            "--baseline",
            bundle.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--message-format",
            "json",
        ],
    ));
    let manifest = check_release_dir(&out);
    let abi = &manifest["plugins"][0]["abi"];
    assert_eq!(abi["status"], "ok", "{stdout}");
    assert_eq!(abi["baseline_version"], "1.2.0");
    assert_eq!(abi["verdict"], "patch");
    assert_eq!(abi["changes"], 0);
    assert_eq!(manifest["tag"]["plugin"], "wasm-plugin");
    assert_nothing_left_beside(&out);

    // A baseline that exported one more function: removing it at the same version is a
    // major change, so the release fails like `abi-check` (exit 7) and keeps the old one.
    let mut baseline: Value = serde_json::from_slice(
        &std::fs::read(out.join("wasm-plugin-1.2.0-wasm32-wasip1.abi.json")).unwrap(),
    )
    .unwrap();
    let exports = baseline["exports"].as_array_mut().unwrap();
    let mut gone = exports[0].clone();
    gone["name"] = "removed_since".into();
    exports.push(gone);
    let baseline_path = dir.path().join("baseline.abi.json");
    std::fs::write(&baseline_path, serde_json::to_vec(&baseline).unwrap()).unwrap();
    let before = support::sha256_file(&out.join("plugpack-release.json"));
    let err = run_fails(
        &mut release(
            "wasm-plugin",
            &[
                "--dry-run",
                "--tag",
                "v1.2.0",
                "--allow-dirty",
                "--baseline",
                baseline_path.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ],
        ),
        7,
    );
    assert!(err.contains("major bump"), "{err}");
    assert_eq!(
        support::sha256_file(&out.join("plugpack-release.json")),
        before
    );
    assert_nothing_left_beside(&out);
}

#[test]
fn release_with_a_key_signs_provenance_that_verify_checks() {
    let dir = tempdir();
    let (key, public) = keygen(dir.path(), "rel");
    let out = dir.path().join("rel");
    let workflow = "acme/plugin/.github/workflows/release.yml@refs/tags/v0.3.1";
    let mut cmd = release(
        "cdylib-plugin",
        &[
            "--key",
            key.to_str().unwrap(),
            "--minisign",
            "--allow-dirty",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    // A GitHub Actions tag push: the tag comes from GITHUB_REF_NAME.
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_REF_NAME", "v0.3.1")
        .env("GITHUB_REF_TYPE", "tag")
        .env("GITHUB_REF", "refs/tags/v0.3.1")
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REPOSITORY", "acme/plugin")
        .env("GITHUB_WORKFLOW_REF", workflow)
        .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
        .env("GITHUB_RUN_ID", "42")
        .env("GITHUB_RUN_ATTEMPT", "1");
    // The runner's files: the release appends its job summary and step outputs.
    let step_summary = dir.path().join("step-summary.md");
    let step_output = dir.path().join("step-output.txt");
    cmd.env("GITHUB_STEP_SUMMARY", &step_summary)
        .env("GITHUB_OUTPUT", &step_output);
    let stdout = run_ok(&mut cmd);
    assert_eq!(stdout.trim(), out.to_str().unwrap());
    let manifest = check_release_dir(&out);
    let summary = std::fs::read_to_string(&step_summary).unwrap();
    assert!(summary.contains("plugpack release"), "{summary}");
    for file in manifest["files"].as_array().unwrap() {
        let digest = file["sha256"].as_str().unwrap();
        assert!(summary.contains(digest), "{digest} missing from\n{summary}");
    }
    let outputs = std::fs::read_to_string(&step_output).unwrap();
    let output = |name: &str| -> String {
        let start = outputs
            .lines()
            .position(|l| l.starts_with(&format!("{name}<<ghadelimiter_")))
            .unwrap_or_else(|| panic!("no output {name} in\n{outputs}"));
        let delimiter = outputs
            .lines()
            .nth(start)
            .unwrap()
            .split_once("<<")
            .unwrap()
            .1;
        outputs
            .lines()
            .skip(start + 1)
            .take_while(|l| *l != delimiter)
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        output("release-manifest"),
        out.join("plugpack-release.json").to_str().unwrap()
    );
    assert_eq!(output("abi-verdict"), "no-baseline");
    assert_eq!(
        output("audit-verdict"),
        manifest["plugins"][0]["audit"]["verdict"].as_str().unwrap()
    );
    assert_eq!(
        output("digests"),
        manifest["plugins"][0]["digest"].as_str().unwrap()
    );
    assert_eq!(
        output("bundles"),
        out.join("cdylib-plugin-0.3.1.oci.tar").to_str().unwrap()
    );
    assert_eq!(manifest["dry_run"], false);
    assert_eq!(manifest["tag"]["source"], "github-ref-name");
    assert!(manifest["plugins"][0]["key_id"].is_string());
    assert_eq!(manifest["plugins"][0]["provenance"], true);
    let bundle = out.join("cdylib-plugin-0.3.1.oci.tar");
    assert!(
        manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "cdylib-plugin-0.3.1.oci.tar.minisig" && f["kind"] == "minisig"),
        "{manifest}"
    );

    let verify = |extra: &[&str]| {
        let out = run(plugpack()
            .args(["verify", "--format", "json"])
            .arg(&bundle)
            .arg("--key")
            .arg(&public)
            .args(extra));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code().unwrap(), report)
    };
    // The provenance envelope does not disturb the plugin signature check.
    let (code, report) = verify(&[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["notes"], serde_json::json!([]));

    let builder = format!("https://github.com/{workflow}");
    let (code, report) = verify(&[
        "--require-provenance",
        "--source-uri",
        "https://github.com/acme/plugin",
        "--builder-id",
        &builder,
    ]);
    assert_eq!(code, 0, "{report}");
    let p = &report["provenance"];
    assert_eq!(p["predicateType"], "https://slsa.dev/provenance/v1");
    let def = &p["predicate"]["buildDefinition"];
    assert_eq!(
        def["buildType"],
        "https://plugpack.dev/buildtypes/release/v1"
    );
    assert_eq!(def["externalParameters"]["tag"], "v0.3.1");
    assert_eq!(def["externalParameters"]["profile"], "release");
    let deps = def["resolvedDependencies"].as_array().unwrap();
    assert_eq!(
        deps[0]["uri"],
        "git+https://github.com/acme/plugin@refs/tags/v0.3.1"
    );
    assert_eq!(
        deps[0]["digest"]["gitCommit"],
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(deps[1]["name"], "Cargo.lock");
    assert_eq!(
        format!("sha256:{}", deps[1]["digest"]["sha256"].as_str().unwrap()),
        support::sha256_file(&fixture_manifest("cdylib-plugin").with_file_name("Cargo.lock"))
    );
    assert_eq!(deps[2]["name"], "rustc");
    let run_details = &p["predicate"]["runDetails"];
    assert_eq!(
        run_details["metadata"]["invocationId"],
        "https://github.com/acme/plugin/actions/runs/42/attempts/1"
    );
    assert_eq!(run_details["metadata"]["startedOn"], "2024-01-02T03:04:05Z");
    // The subjects are the signed manifests.
    assert_eq!(p["subject"], report["attestation"]["subject"]);

    let (code, report) = verify(&[
        "--require-provenance",
        "--source-uri",
        "https://github.com/evil/plugin",
    ]);
    assert_eq!(code, 1);
    assert_eq!(report["failures"][0]["code"], "provenance-source-mismatch");
    let (code, report) = verify(&["--require-provenance", "--builder-id", "https://x/y"]);
    assert_eq!(code, 1);
    assert_eq!(report["failures"][0]["code"], "provenance-builder-mismatch");

    // This release's provenance attached to another bundle signed by the same key: trusted,
    // but about other manifests.
    let layers = envelope_layers(&bundle);
    assert_eq!(layers.len(), 2);
    let stolen = dir.path().join("provenance.dsse.json");
    std::fs::write(&stolen, &layers[1]).unwrap();
    let module = dir.path().join("m.wasm");
    std::fs::write(&module, [0, b'a', b's', b'm', 1, 0, 0, 0, 0, 3, 1, b'x', 9]).unwrap();
    let other_bundle = dir.path().join("other.oci.tar");
    run_ok(&mut on_fixture(
        "package",
        "wasm-plugin",
        &[
            "-q",
            "--key",
            key.to_str().unwrap(),
            "--artifact",
            module.to_str().unwrap(),
            "--target",
            "wasm32-wasip1",
            "-o",
            other_bundle.to_str().unwrap(),
        ],
    ));
    run_ok(
        plugpack()
            .args(["sign", "-q", "--attach"])
            .arg(&stolen)
            .arg(&other_bundle),
    );
    let out = run(plugpack()
        .args(["verify", "--format", "json", "--require-provenance"])
        .arg(&other_bundle)
        .arg("--key")
        .arg(&public));
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["failures"][0]["code"], "provenance-invalid",
        "{report}"
    );

    // Signed again without provenance by another key: that key's provenance is missing.
    let (other, other_public) = keygen(dir.path(), "other");
    let plain = dir.path().join("plain.oci.tar");
    std::fs::copy(&bundle, &plain).unwrap();
    run_ok(
        plugpack()
            .args(["sign", "-q"])
            .arg(&plain)
            .arg("--key")
            .arg(&other),
    );
    let out = run(plugpack()
        .args(["verify", "--format", "json", "--require-provenance"])
        .arg(&plain)
        .arg("--key")
        .arg(&other_public));
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["failures"][0]["code"], "provenance-untrusted");
}

#[test]
fn sign_provenance_without_one_is_missing() {
    // A bundle with a plain signature has no provenance at all.
    let dir = tempdir();
    let (key, public) = keygen(dir.path(), "k");
    let module = dir.path().join("m.wasm");
    std::fs::write(&module, [0, b'a', b's', b'm', 1, 0, 0, 0, 0, 3, 1, b'x', 7]).unwrap();
    let bundle = dir.path().join("b.oci.tar");
    run_ok(&mut on_fixture(
        "package",
        "wasm-plugin",
        &[
            "--no-sign",
            "--artifact",
            module.to_str().unwrap(),
            "--target",
            "wasm32-wasip1",
            "-o",
            bundle.to_str().unwrap(),
        ],
    ));
    run_ok(
        plugpack()
            .args(["sign", "-q"])
            .arg(&bundle)
            .arg("--key")
            .arg(&key),
    );
    let verify = || {
        let out = run(plugpack()
            .args(["verify", "--format", "json", "--require-provenance"])
            .arg(&bundle)
            .arg("--key")
            .arg(&public));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code().unwrap(), report)
    };
    let (code, report) = verify();
    assert_eq!(code, 1);
    assert_eq!(report["failures"][0]["code"], "provenance-missing");
    // `sign --provenance` (re)signs with one: now it verifies.
    run_ok(
        plugpack()
            .args(["sign", "-q", "--provenance"])
            .arg(&bundle)
            .arg("--key")
            .arg(&key)
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITLAB_CI")
            .current_dir(repo_root()),
    );
    let (code, report) = verify();
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        report["provenance"]["predicate"]["runDetails"]["builder"]["id"],
        "https://plugpack.dev/builders/generic/v1"
    );
    assert_eq!(
        report["provenance"]["predicate"]["buildDefinition"]["externalParameters"]["targets"],
        serde_json::json!(["wasm32-wasip1"])
    );
}

#[test]
fn release_refuses_a_tag_that_does_not_match_the_version() {
    let dir = tempdir();
    let out = dir.path().join("rel");
    for (tag, needle) in [
        ("v1.3.0", "does not match wasm-plugin version 1.2.0"),
        ("other-v1.2.0", "names `other`"),
        ("release-1", "neither vX.Y.Z nor NAME-vX.Y.Z"),
    ] {
        let err = run_fails(
            &mut release(
                "wasm-plugin",
                &["--dry-run", "--tag", tag, "-o", out.to_str().unwrap()],
            ),
            2,
        );
        assert!(err.contains(needle), "{tag}: {err}");
        assert!(!out.exists());
    }
    // An output path that is a file is refused (exit 6), not replaced.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "keep").unwrap();
    let err = run_fails(
        &mut release(
            "wasm-plugin",
            &[
                "--dry-run",
                "--tag",
                "v1.2.0",
                "--allow-dirty",
                "-o",
                file.to_str().unwrap(),
            ],
        ),
        6,
    );
    assert!(err.contains("not a directory"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep");
    // From GITHUB_REF_NAME on a tag push, too.
    let err = run_fails(
        release("wasm-plugin", &["--dry-run", "-o", out.to_str().unwrap()])
            .env("GITHUB_REF_NAME", "v2.0.0")
            .env("GITHUB_REF_TYPE", "tag"),
        2,
    );
    assert!(err.contains("`v2.0.0`"), "{err}");
    assert!(!out.exists());
    assert_nothing_left_beside(&out);
}

/// A copy of the wasm fixture's sources in a fresh git repository with one commit.
fn committed_copy(dir: &Path) -> PathBuf {
    let src = fixture_manifest("wasm-plugin");
    let src = src.parent().unwrap();
    let root = dir.join("wasm-plugin");
    std::fs::create_dir_all(root.join("src")).unwrap();
    for file in ["Cargo.toml", "Cargo.lock"] {
        std::fs::copy(src.join(file), root.join(file)).unwrap();
    }
    for entry in std::fs::read_dir(src.join("src")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), root.join("src").join(entry.file_name())).unwrap();
    }
    let git = |args: &[&str]| {
        run_ok(
            Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
                .args(args)
                .current_dir(&root),
        )
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "init"]);
    git(&["tag", "v1.2.0"]);
    root
}

#[test]
fn release_refuses_a_dirty_working_tree() {
    let dir = tempdir();
    let root = committed_copy(dir.path());
    let out = dir.path().join("rel");
    let lib = root.join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, format!("{text}\n// changed\n")).unwrap();
    let mut cmd = plugpack();
    cmd.arg("release")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .args(["--locked", "--offline", "--dry-run", "-o"])
        .arg(&out)
        .env_remove("GITHUB_REF_NAME")
        .env_remove("GITHUB_ACTIONS");
    // The tag comes from `git describe --exact-match` (HEAD is tagged v1.2.0).
    let err = run_fails(&mut cmd, 2);
    assert!(err.contains("uncommitted changes"), "{err}");
    assert!(err.contains("--allow-dirty"), "{err}");
    assert!(!out.exists());
    assert!(!root.join("target").exists(), "nothing may be built");
}

#[test]
fn a_failing_stage_leaves_the_previous_release_and_no_partial_directory() {
    let dir = tempdir();
    let out = dir.path().join("rel");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("previous.txt"), "the last release").unwrap();
    let db = repo_root().join("tests/data/advisory-db");
    let err = run_fails(
        &mut release(
            "audit-plugins",
            &[
                "--profile",
                "dev",
                "-p",
                "vuln-direct",
                "--tag",
                "v0.1.0",
                "--allow-dirty",
                "--dry-run",
                "--db",
                db.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ],
        ),
        1,
    );
    assert!(err.contains("--allow-findings"), "{err}");
    let left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, ["previous.txt"]);
    assert_nothing_left_beside(&out);
}

// ---- interop (run by .ci/test with PLUGPACK_INTEROP=1) ----

/// Every layer blob of the bundle's signature referrers, in manifest order.
fn envelope_layers(bundle: &Path) -> Vec<Vec<u8>> {
    let mut blobs = std::collections::BTreeMap::new();
    let mut archive = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        if let Some(hex) = name.strip_prefix("blobs/sha256/") {
            blobs.insert(format!("sha256:{hex}"), bytes);
        }
    }
    let mut out = Vec::new();
    for bytes in blobs.values() {
        let Ok(manifest) = serde_json::from_slice::<Value>(bytes) else {
            continue;
        };
        if manifest["artifactType"] != "application/vnd.dsse.envelope.v1+json" {
            continue;
        }
        for layer in manifest["layers"].as_array().unwrap() {
            out.push(blobs[layer["digest"].as_str().unwrap()].clone());
        }
        break;
    }
    out
}

#[test]
#[ignore = "interop: needs python3 with in-toto-attestation and securesystemslib; run by .ci/test"]
fn provenance_statement_validates_with_in_toto_attestation() {
    support::require_tool("python3");
    let dir = tempdir();
    let (key, public) = keygen(dir.path(), "k");
    let out = dir.path().join("rel");
    run_ok(&mut release(
        "wasm-plugin",
        &[
            "--key",
            key.to_str().unwrap(),
            "--tag",
            "v1.2.0",
            "--allow-dirty",
            "-o",
            out.to_str().unwrap(),
        ],
    ));
    let layers = envelope_layers(&out.join("wasm-plugin-1.2.0.oci.tar"));
    assert_eq!(layers.len(), 2, "plugin statement and provenance envelopes");
    let envelope = dir.path().join("provenance.dsse.json");
    std::fs::write(&envelope, &layers[1]).unwrap();
    let schemas = repo_root().join("tests/data/schemas/in-toto-attestation");
    let script = r#"
import base64, json, re, sys
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey
from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2, resource_descriptor_pb2
from in_toto_attestation.v1.statement import Statement
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2

pub, env_path, schemas = sys.argv[1], sys.argv[2], sys.argv[3]
key = SSlibKey.from_crypto(load_pem_public_key(open(pub, "rb").read()))
env = Envelope.from_dict(json.load(open(env_path)))
assert env.payload_type == "application/vnd.in-toto+json", env.payload_type
assert key.keyid in env.verify([key], 1)

# The bindings are the vendored .proto files: same messages, same field names.
def declared(path, message):
    text = open(path).read()
    body = re.search(r"message " + message + r" \{(.*?)\n\}", text, re.S).group(1)
    return sorted(re.findall(r"\s(\w+) = \d+(?: \[[^\]]*\])?;", body))
for path, module, names in [
    ("provenance.proto", provenance_pb2, ["Provenance", "BuildDefinition", "RunDetails", "Builder", "BuildMetadata"]),
    ("resource_descriptor.proto", resource_descriptor_pb2, ["ResourceDescriptor"]),
    ("statement.proto", statement_pb2, ["Statement"]),
]:
    for name in names:
        fields = sorted(f.name for f in getattr(module, name).DESCRIPTOR.fields)
        assert fields == declared(f"{schemas}/{path}", name), (name, fields)

text = base64.b64decode(json.load(open(env_path))["payload"])
doc = json.loads(text)
st = json_format.Parse(text, statement_pb2.Statement())  # strict: unknown fields fail
Statement.copy_from_pb(st).validate()
assert st.predicate_type == "https://slsa.dev/provenance/v1"
prov = json_format.ParseDict(doc["predicate"], provenance_pb2.Provenance())
bd, rd = prov.build_definition, prov.run_details
# SLSA Build L1 rules of the framework's Go validator (provenance.go).
assert bd.build_type, "buildType required"
assert len(bd.external_parameters.fields) > 0, "externalParameters required"
assert rd.builder.id, "builder.id required"
for dep in list(bd.resolved_dependencies) + list(rd.byproducts):
    ResourceDescriptor.copy_from_pb(dep).validate()
for ts in (rd.metadata.started_on, rd.metadata.finished_on):
    assert ts.seconds > 0
print("ok", bd.build_type, rd.builder.id, len(bd.resolved_dependencies))
"#;
    let stdout = run_ok(
        Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(&public)
            .arg(&envelope)
            .arg(&schemas),
    );
    assert_eq!(
        stdout.trim(),
        "ok https://plugpack.dev/buildtypes/release/v1 https://plugpack.dev/builders/generic/v1 3"
    );
}

#[test]
#[ignore = "interop: needs docker-registry; run by .ci/test"]
fn release_pushes_and_the_pulled_bundle_keeps_its_provenance() {
    support::require_tool("docker-registry");
    let registry = crate::registry::Registry::start();
    let dir = tempdir();
    let (key, public) = keygen(dir.path(), "k");
    let out = dir.path().join("rel");
    let repo = format!("{}/plugins/wasm-plugin", registry.addr());
    run_ok(&mut release(
        "wasm-plugin",
        &[
            "--key",
            key.to_str().unwrap(),
            "--tag",
            "v1.2.0",
            "--allow-dirty",
            "--push",
            &repo,
            "--insecure",
            "-o",
            out.to_str().unwrap(),
        ],
    ));
    let manifest = check_release_dir(&out);
    let plugin = &manifest["plugins"][0];
    let pushed = plugin["pushed"].as_array().unwrap();
    assert_eq!(pushed.len(), 1, "{manifest}");
    let reference = pushed[0]["reference"].as_str().unwrap();
    assert_eq!(
        reference,
        format!("{repo}@{}", plugin["digest"].as_str().unwrap())
    );
    let verified = run(plugpack()
        .args([
            "verify",
            "--format",
            "json",
            "--insecure",
            "--require-provenance",
        ])
        .arg(reference)
        .arg("--key")
        .arg(&public));
    let report: Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(verified.status.code(), Some(0), "{report}");
    assert_eq!(
        report["provenance"]["predicate"]["buildDefinition"]["externalParameters"]["tag"],
        "v1.2.0"
    );
}
