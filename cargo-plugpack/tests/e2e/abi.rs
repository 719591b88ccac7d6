//! ABI fingerprints, `abi-diff`, `abi-check`, the bundle referrer and the host guard, on the
//! `abi-plugin` fixture (one crate whose features are the ABI variants) and `cdylib-plugin`.

use std::path::{Path, PathBuf};
use std::process::Command;

use camino::Utf8PathBuf;
use plugpack_core::guard::{AbiExpectation, Reason, check_file};
use serde_json::Value;

use crate::support::{self, json_lines, plugpack, run, run_fails, run_ok};

const FIXTURE: &str = "abi-plugin";

/// A target dir per variant: parallel tests never overwrite each other's artifact.
fn variant_target_dir(variant: &str, target: Option<&str>) -> PathBuf {
    support::fixture_target_dir().join(format!("abi-{}-{variant}", target.unwrap_or("host")))
}

/// `cargo plugpack fingerprint` of one variant (`base` = default features); returns the
/// fingerprint JSON path and the built artifact.
fn fingerprint_variant(variant: &str, target: Option<&str>, dir: &Path) -> (PathBuf, PathBuf) {
    let target_dir = variant_target_dir(variant, target);
    let out = dir.join(format!("{variant}-{}.json", target.unwrap_or("host")));
    let mut cmd = plugpack();
    cmd.arg("fingerprint")
        .arg("--manifest-path")
        .arg(support::fixture_manifest(FIXTURE))
        .arg("--target-dir")
        .arg(&target_dir)
        .args(["--locked", "--offline", "-q", "-o"])
        .arg(&out);
    if variant != "base" {
        cmd.args(["--features", variant]);
    }
    if let Some(t) = target {
        cmd.args(["--target", t]);
    }
    run_ok(&mut cmd);
    let artifact = match target {
        Some(t) => target_dir.join(t).join("debug/abi_plugin.wasm"),
        None => target_dir.join("debug/libabi_plugin.so"),
    };
    assert!(artifact.exists(), "{}", artifact.display());
    // Copy: a later build of another feature set must not change what we compare.
    let copy = dir.join(format!(
        "{variant}-{}.{}",
        target.unwrap_or("host"),
        artifact.extension().unwrap().to_str().unwrap()
    ));
    std::fs::copy(&artifact, &copy).unwrap();
    (out, copy)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn abi_diff_json(old: &Path, new: &Path) -> Value {
    let out = run_ok(
        plugpack()
            .args(["abi-diff", "--message-format", "json"])
            .arg(old)
            .arg(new),
    );
    let mut lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{out}");
    lines.remove(0)
}

fn change_kinds(diff: &Value) -> Vec<String> {
    diff["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn fingerprint_document_has_types_level_signatures_and_layouts() {
    let dir = support::tempdir();
    let (json, _) = fingerprint_variant("base", None, dir.path());
    let doc = read_json(&json);
    assert_eq!(doc["schema"], "plugpack-abi/1");
    assert_eq!(doc["detail"], "types");
    assert_eq!(doc["format"], "elf");
    assert_eq!(doc["pointer_width"], 64);
    assert_eq!(doc["package"]["version"], "0.2.0");
    let exports = doc["exports"].as_array().unwrap();
    let names: Vec<&str> = exports
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "plugin_abi_version",
            "plugin_limit",
            "plugin_mode_level",
            "plugin_reset",
            "plugin_scale"
        ]
    );
    let mode = &doc["types"]["abi_plugin::Mode"];
    assert_eq!(mode["size"], 4, "{mode:#}");
    assert_eq!(
        mode["variants"][0],
        serde_json::json!({"name": "Level", "discriminant": 1,
                           "fields": [{"name": "__0", "offset": 2, "type": "u16"}]})
    );
    let limit = &exports[1];
    assert_eq!(limit["signature"], "fn(*abi_plugin::Settings) -> u32");
    assert_eq!(limit["types"], serde_json::json!(["abi_plugin::Settings"]));
    let settings = &doc["types"]["abi_plugin::Settings"];
    assert_eq!(settings["size"], 8);
    assert_eq!(settings["align"], 4);
    assert_eq!(
        settings["fields"],
        serde_json::json!([
            {"name": "flags", "offset": 0, "type": "u8"},
            {"name": "limit", "offset": 4, "type": "u32"}
        ])
    );
    assert!(doc["fingerprint"].as_str().unwrap().starts_with("sha256:"));
    // Fingerprinting the same artifact again gives the same bytes.
    let again = dir.path().join("again.json");
    let artifact = variant_target_dir("base", None).join("debug/libabi_plugin.so");
    run_ok(
        plugpack()
            .args(["fingerprint", "--artifact"])
            .arg(&artifact)
            .arg("-o")
            .arg(&again),
    );
    let again = read_json(&again);
    assert_eq!(again["fingerprint"], doc["fingerprint"]);
    assert_eq!(again["exports"], doc["exports"]);
}

#[test]
fn variants_give_the_semver_verdicts() {
    let dir = support::tempdir();
    let (base, _) = fingerprint_variant("base", None, dir.path());
    let cases = [
        ("fn-added", "minor", vec!["export-added"]),
        ("fn-removed", "major", vec!["export-removed"]),
        ("param-i64", "major", vec!["signature-changed"]),
        ("field-in-padding", "major", vec!["layout-changed"]),
        (
            "struct-grown",
            "major",
            vec!["layout-changed", "layout-changed", "layout-changed"],
        ),
        (
            "variant-added",
            "major",
            vec!["layout-changed", "layout-changed", "layout-changed"],
        ),
    ];
    for (variant, verdict, kinds) in cases {
        let (new, _) = fingerprint_variant(variant, None, dir.path());
        let diff = abi_diff_json(&base, &new);
        assert_eq!(diff["verdict"], verdict, "{variant}: {diff:#}");
        assert_eq!(change_kinds(&diff), kinds, "{variant}: {diff:#}");
    }
    // Unchanged: patch, no changes; human output says so.
    let same = abi_diff_json(&base, &base);
    assert_eq!(same["verdict"], "patch");
    assert!(same["changes"].as_array().unwrap().is_empty());
    let human = run_ok(plugpack().arg("abi-diff").arg(&base).arg(&base));
    assert!(human.contains("no ABI changes"), "{human}");
}

#[test]
fn struct_changes_name_the_field_and_sizes() {
    let dir = support::tempdir();
    let (base, _) = fingerprint_variant("base", None, dir.path());
    let (grown, _) = fingerprint_variant("struct-grown", None, dir.path());
    let (padded, _) = fingerprint_variant("field-in-padding", None, dir.path());
    let human = run_ok(plugpack().arg("abi-diff").arg(&base).arg(&grown));
    assert!(human.contains("size 8 → 16"), "{human}");
    assert!(
        human.contains("field `extra` inserted at offset 8"),
        "{human}"
    );
    assert!(human.contains("verdict: major"), "{human}");
    let human = run_ok(plugpack().arg("abi-diff").arg(&base).arg(&padded));
    assert!(
        human.contains("field `level` inserted at offset 1"),
        "{human}"
    );
    assert!(!human.contains("size"), "{human}");
}

#[test]
fn wasm_new_import_is_major_and_signatures_are_core_plus_dwarf() {
    let dir = support::tempdir();
    let target = Some("wasm32-unknown-unknown");
    let (base, _) = fingerprint_variant("base", target, dir.path());
    let (imp, _) = fingerprint_variant("wasm-new-import", target, dir.path());
    let doc = read_json(&base);
    assert_eq!(doc["format"], "wasm");
    assert_eq!(doc["detail"], "types");
    let scale = doc["exports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "plugin_scale")
        .unwrap();
    assert_eq!(scale["signature"], "fn(i32) -> (i32) | fn(i32) -> i32");
    let diff = abi_diff_json(&base, &imp);
    assert_eq!(diff["verdict"], "major", "{diff:#}");
    assert_eq!(change_kinds(&diff), ["import-added", "export-added"]);
    assert_eq!(diff["changes"][0]["symbol"], "host::host_log");
    // Dropping the import again is only a patch-level change.
    let back = abi_diff_json(&imp, &base);
    assert_eq!(back["verdict"], "major"); // plugin_log removed
    assert!(change_kinds(&back).contains(&"import-removed".to_owned()));
}

#[test]
fn debug_and_release_builds_have_the_same_fingerprint() {
    let dir = support::tempdir();
    let dev = dir.path().join("dev.json");
    let rel = dir.path().join("rel.json");
    run_ok(&mut support::on_fixture(
        "fingerprint",
        "cdylib-plugin",
        &["-q", "-o", dev.to_str().unwrap()],
    ));
    run_ok(&mut support::on_fixture(
        "fingerprint",
        "cdylib-plugin",
        &["--release", "-o", rel.to_str().unwrap()],
    ));
    let (dev, rel) = (read_json(&dev), read_json(&rel));
    assert_eq!(dev["detail"], "types");
    assert_eq!(rel["detail"], "types", "{rel:#}");
    assert_eq!(dev["fingerprint"], rel["fingerprint"]);
    assert_eq!(dev["exports"], rel["exports"]);
    // The shipped release artifact itself has no DWARF: fingerprinting it alone says so.
    let shipped = support::fixture_target_dir().join("release/libcdylib_plugin.so");
    let out = run_ok(
        plugpack()
            .args(["fingerprint", "--message-format", "json", "--artifact"])
            .arg(&shipped),
    );
    let doc = &json_lines(&out)[0];
    assert_eq!(doc["detail"], "symbols");
    assert!(
        doc["notes"][0].as_str().unwrap().contains("no DWARF"),
        "{doc:#}"
    );
    // The wasm fixture strips its release build (`strip = true`): same story.
    let wdev = dir.path().join("wdev.json");
    let wrel = dir.path().join("wrel.json");
    run_ok(&mut support::on_fixture(
        "fingerprint",
        "wasm-plugin",
        &["-q", "-o", wdev.to_str().unwrap()],
    ));
    run_ok(&mut support::on_fixture(
        "fingerprint",
        "wasm-plugin",
        &["-q", "--release", "-o", wrel.to_str().unwrap()],
    ));
    let (wdev, wrel) = (read_json(&wdev), read_json(&wrel));
    assert_eq!(wrel["detail"], "types", "{wrel:#}");
    assert_eq!(wdev["fingerprint"], wrel["fingerprint"]);
}

#[test]
fn line_tables_only_debuginfo_is_detected_and_diffs_say_so() {
    let dir = support::tempdir();
    let (base, _) = fingerprint_variant("base", None, dir.path());
    let target_dir = dir.path().join("target");
    let lt = dir.path().join("lt.json");
    // Only the artifact is inspected here: no companion build for `--artifact`.
    run_ok(
        Command::new(env!("CARGO"))
            .args([
                "build",
                "--lib",
                "-q",
                "--offline",
                "--locked",
                "--manifest-path",
            ])
            .arg(support::fixture_manifest(FIXTURE))
            .arg("--target-dir")
            .arg(&target_dir)
            .env("CARGO_PROFILE_DEV_DEBUG", "line-tables-only")
            .env_remove("RUSTFLAGS"),
    );
    run_ok(
        plugpack()
            .args(["fingerprint", "--artifact"])
            .arg(target_dir.join("debug/libabi_plugin.so"))
            .arg("-o")
            .arg(&lt),
    );
    let doc = read_json(&lt);
    assert_eq!(doc["detail"], "symbols");
    let notes = doc["notes"].to_string();
    assert!(notes.contains("line-tables-only"), "{notes}");
    let diff = abi_diff_json(&base, &lt);
    assert_eq!(diff["detail"], "symbols");
    assert!(change_kinds(&diff).contains(&"detail-differs".to_owned()));
}

#[test]
fn abi_check_fails_with_exit_7_when_the_bump_is_too_small() {
    let dir = support::tempdir();
    let (base, _) = fingerprint_variant("base", None, dir.path());
    let check = |baseline: &Path, extra: &[&str]| {
        let mut cmd = plugpack();
        cmd.arg("abi-check")
            .arg("--manifest-path")
            .arg(support::fixture_manifest(FIXTURE))
            .arg("--target-dir")
            .arg(variant_target_dir("check", None))
            .args(["--locked", "--offline", "--baseline"])
            .arg(baseline)
            .args(extra);
        cmd
    };
    // Same version (0.2.0 → 0.2.0), no change: fine.
    run_ok(&mut check(&base, &[]));
    // Same version, export removed: exit 7, and JSON says why.
    let out = run(&mut check(
        &base,
        &["--features", "fn-removed", "--message-format", "json"],
    ));
    assert_eq!(out.status.code(), Some(7));
    let msg = &json_lines(&String::from_utf8(out.stdout).unwrap())[0];
    assert_eq!(msg["reason"], "abi-check");
    assert_eq!(msg["diff"]["verdict"], "major");
    assert_eq!(msg["version"]["ok"], false);
    // A baseline from 0.1.x: 0.1 → 0.2 is a major bump for 0.x versions.
    let mut old = read_json(&base);
    old["package"]["version"] = "0.1.4".into();
    let old_path = dir.path().join("old.json");
    std::fs::write(&old_path, serde_json::to_vec(&old).unwrap()).unwrap();
    run_ok(&mut check(&old_path, &["--features", "fn-removed"]));
    // 0.2.0 → 0.2.0 with only an addition still needs a (0.x: patch-level) bump.
    let out = run(&mut check(&base, &["--features", "fn-added"]));
    assert_eq!(out.status.code(), Some(7));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("error"), "{stderr}");
    // The verdict names the smallest version that would pass (0.x: patch acts as minor).
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(
            "version 0.2.0 → 0.2.0 is no bump, but the ABI changes need a minor bump \
             (0.x: minor acts as major, patch as minor): set the version to 0.2.1 or later"
        ),
        "{stdout}"
    );
}

#[test]
fn abi_check_reads_the_baseline_from_package_metadata() {
    let dir = support::tempdir();
    let (base, _) = fingerprint_variant("base", None, dir.path());
    let crate_dir = dir.path().join("crate");
    std::fs::create_dir_all(crate_dir.join("src")).unwrap();
    let fixture = support::repo_root().join("tests/fixtures").join(FIXTURE);
    let manifest = std::fs::read_to_string(fixture.join("Cargo.toml"))
        .unwrap()
        .replace(
            "[features]",
            "[package.metadata.plugpack]\nabi-baseline = \"abi/baseline.json\"\n\n[features]",
        );
    std::fs::write(crate_dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(fixture.join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();
    std::fs::copy(fixture.join("src/lib.rs"), crate_dir.join("src/lib.rs")).unwrap();
    std::fs::create_dir_all(crate_dir.join("abi")).unwrap();
    std::fs::copy(&base, crate_dir.join("abi/baseline.json")).unwrap();
    let mut cmd = plugpack();
    cmd.arg("abi-check")
        .arg("--manifest-path")
        .arg(crate_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(variant_target_dir("check-config", None))
        .args(["--locked", "--offline", "--features", "param-i64"]);
    let stderr = run_fails(&mut cmd, 7);
    assert!(stderr.is_empty() || !stderr.contains("error:"), "{stderr}");
    // Without any baseline: a usage error naming the config key.
    let mut cmd = plugpack();
    cmd.arg("abi-check")
        .arg("--manifest-path")
        .arg(support::fixture_manifest(FIXTURE))
        .arg("--target-dir")
        .arg(variant_target_dir("check", None))
        .args(["--locked", "--offline"]);
    let stderr = run_fails(&mut cmd, 2);
    assert!(stderr.contains("abi-baseline"), "{stderr}");
    // A baseline for another target is an error, not a silent pass.
    let (wasm_base, _) = fingerprint_variant("base", Some("wasm32-unknown-unknown"), dir.path());
    let mut cmd = plugpack();
    cmd.arg("abi-check")
        .arg("--manifest-path")
        .arg(support::fixture_manifest(FIXTURE))
        .arg("--target-dir")
        .arg(variant_target_dir("check-config", None))
        .args(["--locked", "--offline", "--baseline"])
        .arg(&wasm_base);
    let stderr = run_fails(&mut cmd, 2);
    assert!(
        stderr.contains("is for target wasm32-unknown-unknown"),
        "{stderr}"
    );
}

#[test]
fn package_attaches_the_fingerprint_and_annotates_the_manifest() {
    let dir = support::tempdir();
    let bundle = dir.path().join("abi.oci.tar");
    let mut cmd = plugpack();
    cmd.arg("package")
        .arg("--manifest-path")
        .arg(support::fixture_manifest(FIXTURE))
        .arg("--target-dir")
        .arg(variant_target_dir("package", None))
        .args(["--locked", "--offline", "--profile", "dev", "-o"])
        .arg(&bundle);
    run_ok(&mut cmd);
    let info = &json_lines(&run_ok(plugpack().args(["inspect", "--json"]).arg(&bundle)))[0];
    let manifest = &info["manifests"][0];
    let annotated = manifest["annotations"]["dev.plugpack.abi.fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(manifest["annotations"]["dev.plugpack.abi.detail"], "types");
    let referrer = info["referrers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["artifact_type"] == "application/vnd.plugpack.abi.v1+json")
        .expect("an ABI referrer");
    assert_eq!(referrer["subject"], manifest["digest"]);
    // The bundle side of abi-diff reads the attached document.
    let (base, _) = fingerprint_variant("base", None, dir.path());
    assert_eq!(read_json(&base)["fingerprint"], annotated.as_str());
    let diff = abi_diff_json(&bundle, &base);
    assert_eq!(diff["old_fingerprint"], annotated.as_str());
    assert!(diff["changes"].as_array().unwrap().is_empty(), "{diff:#}");
    // abi-check accepts the bundle as a baseline (its tag is the version).
    let mut cmd = plugpack();
    cmd.arg("abi-check")
        .arg("--manifest-path")
        .arg(support::fixture_manifest(FIXTURE))
        .arg("--target-dir")
        .arg(variant_target_dir("package", None))
        .args(["--locked", "--offline", "--baseline"])
        .arg(&bundle);
    run_ok(&mut cmd);
}

#[test]
fn bad_inputs_are_clear_errors_with_exit_5() {
    let dir = support::tempdir();
    let garbage = dir.path().join("garbage.so");
    std::fs::write(&garbage, b"definitely not a shared library").unwrap();
    let stderr = run_fails(
        plugpack().args(["fingerprint", "--artifact"]).arg(&garbage),
        5,
    );
    assert!(stderr.contains("unknown file format"), "{stderr}");
    // A truncated real library.
    let (_, so) = fingerprint_variant("base", None, dir.path());
    let bytes = std::fs::read(&so).unwrap();
    for len in [16, 64, bytes.len() / 3, bytes.len() - 1] {
        let cut = dir.path().join(format!("cut-{len}.so"));
        std::fs::write(&cut, &bytes[..len]).unwrap();
        let stderr = run_fails(plugpack().args(["fingerprint", "--artifact"]).arg(&cut), 5);
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // An executable (the plugpack binary itself) and a static library.
    let stderr = run_fails(
        plugpack()
            .args(["fingerprint", "--artifact"])
            .arg(env!("CARGO_BIN_EXE_cargo-plugpack")),
        5,
    );
    assert!(stderr.contains("executable"), "{stderr}");
    let archive = dir.path().join("libx.a");
    std::fs::write(&archive, b"!<arch>\n").unwrap();
    let stderr = run_fails(
        plugpack().args(["fingerprint", "--artifact"]).arg(&archive),
        5,
    );
    assert!(stderr.contains("static library"), "{stderr}");
    // A truncated wasm module.
    let wasm = dir.path().join("cut.wasm");
    std::fs::write(&wasm, b"\0asm\x01\0\0\0\x01\x05\x01").unwrap();
    let stderr = run_fails(plugpack().args(["abi-diff"]).arg(&wasm).arg(&wasm), 5);
    assert!(stderr.contains("malformed wasm"), "{stderr}");
}

/// The example host: guard first, then `dlopen` only what passed.
#[test]
#[allow(unsafe_code)]
fn host_guards_then_loads_and_refuses_incompatible_variants() {
    let dir = support::tempdir();
    let (base_json, base_so) = fingerprint_variant("base", None, dir.path());
    let expectation = AbiExpectation::from_json(&std::fs::read(&base_json).unwrap()).unwrap();
    let utf8 = |p: &Path| Utf8PathBuf::from_path_buf(p.to_owned()).unwrap();

    let ok = check_file(&utf8(&base_so), &expectation).expect("the baseline is compatible");
    assert_eq!(
        ok.fingerprint.to_string(),
        read_json(&base_json)["fingerprint"].as_str().unwrap()
    );
    // SAFETY: the guard verified the exports' signatures against what we call.
    unsafe {
        let lib = libloading::Library::new(&base_so).unwrap();
        let scale: libloading::Symbol<unsafe extern "C" fn(i32) -> i32> =
            lib.get(b"plugin_scale").unwrap();
        assert_eq!(scale(21), 42);
    }
    // Extra exports are fine.
    let (_, added) = fingerprint_variant("fn-added", None, dir.path());
    check_file(&utf8(&added), &expectation).expect("an added export is compatible");

    let refuse = |variant: &str| {
        let (_, so) = fingerprint_variant(variant, None, dir.path());
        check_file(&utf8(&so), &expectation)
            .expect_err(variant)
            .reasons
    };
    assert_eq!(
        refuse("fn-removed"),
        [Reason::MissingExport {
            name: "plugin_reset".into()
        }]
    );
    let reasons = refuse("param-i64");
    assert!(
        matches!(&reasons[..], [Reason::ChangedExport { name, .. }] if name == "plugin_scale"),
        "{reasons:?}"
    );
    let reasons = refuse("struct-grown");
    assert!(
        matches!(&reasons[..], [Reason::ChangedExport { name, .. }] if name == "plugin_limit"),
        "{reasons:?}"
    );
    // A wasm build of the same plugin: wrong target, and every reason is listed.
    let (_, wasm) = fingerprint_variant(
        "wasm-new-import",
        Some("wasm32-unknown-unknown"),
        dir.path(),
    );
    let reasons = check_file(&utf8(&wasm), &expectation).unwrap_err().reasons;
    assert!(
        matches!(reasons[0], Reason::WrongTarget { .. }),
        "{reasons:?}"
    );
    assert!(reasons.len() > 1, "{reasons:?}");
    // Garbage: refused with the reason, no panic, nothing loaded.
    let garbage = dir.path().join("garbage.so");
    std::fs::write(&garbage, b"\x7fELF\x02\x01\x01").unwrap();
    let reasons = check_file(&utf8(&garbage), &expectation)
        .unwrap_err()
        .reasons;
    assert!(
        matches!(reasons[..], [Reason::Unreadable { .. }]),
        "{reasons:?}"
    );
}

/// Accepting "the baseline's ABI major" is the unpinned expectation: the guard accepts a
/// variant exactly when `abi-diff` from the baseline to it is not a major change.
#[test]
fn guard_accepts_exactly_the_variants_within_the_baselines_abi_major() {
    use plugpack_core::fingerprint::{AbiFingerprint, Bump, diff};
    let dir = support::tempdir();
    let load = |json: &Path| {
        let path = Utf8PathBuf::from_path_buf(json.to_owned()).unwrap();
        AbiFingerprint::from_json(&path, &std::fs::read(json).unwrap()).unwrap()
    };
    let (base_json, _) = fingerprint_variant("base", None, dir.path());
    let base = load(&base_json);
    let expectation = AbiExpectation::from_fingerprint(&base);
    let mut accepted = Vec::new();
    for variant in [
        "base",
        "fn-added",
        "fn-removed",
        "param-i64",
        "field-in-padding",
        "struct-grown",
        "variant-added",
        "undescribed",
    ] {
        let (json, so) = fingerprint_variant(variant, None, dir.path());
        let verdict = diff(&base, &load(&json)).verdict;
        let so = Utf8PathBuf::from_path_buf(so).unwrap();
        let ok = check_file(&so, &expectation).is_ok();
        assert_eq!(ok, verdict != Bump::Major, "{variant}: verdict {verdict:?}");
        if ok {
            accepted.push(variant);
        }
    }
    assert_eq!(accepted, ["base", "fn-added", "undescribed"]);
}

#[test]
fn wasm_guard_refuses_unprovided_imports() {
    let dir = support::tempdir();
    let target = Some("wasm32-unknown-unknown");
    let (base_json, base) = fingerprint_variant("base", target, dir.path());
    let (_, imp) = fingerprint_variant("wasm-new-import", target, dir.path());
    let expectation = AbiExpectation::from_json(&std::fs::read(&base_json).unwrap()).unwrap();
    let utf8 = |p: &Path| Utf8PathBuf::from_path_buf(p.to_owned()).unwrap();
    check_file(&utf8(&base), &expectation).unwrap();
    let reasons = check_file(&utf8(&imp), &expectation).unwrap_err().reasons;
    assert_eq!(
        reasons,
        [Reason::UnprovidedImport {
            name: "host::host_log".into(),
            signature: "fn(i32) -> ()".into()
        }]
    );
}

/// abidiff (libabigail) agrees with our verdicts on the ELF variants built with full DWARF.
#[test]
#[ignore = "interop: needs abidiff (abigail-tools); run by .ci/test"]
fn abidiff_agrees_with_our_verdicts() {
    support::require_tool("abidiff");
    let dir = support::tempdir();
    let (base_json, base) = fingerprint_variant("base", None, dir.path());
    let abidiff = |new: &Path, extra: &[&str]| {
        let out = Command::new("abidiff")
            .args(extra)
            .arg(&base)
            .arg(new)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    // No change ⇔ 0.
    let (code, _) = abidiff(&base, &[]);
    assert_eq!(code, 0);
    assert_eq!(abi_diff_json(&base_json, &base_json)["verdict"], "patch");
    for variant in [
        "fn-added",
        "fn-removed",
        "param-i64",
        "field-in-padding",
        "struct-grown",
    ] {
        let (json, so) = fingerprint_variant(variant, None, dir.path());
        let ours = abi_diff_json(&base_json, &json);
        let verdict = ours["verdict"].as_str().unwrap();
        let (code, report) = abidiff(&so, &[]);
        let removed = change_kinds(&ours).contains(&"export-removed".to_owned());
        match verdict {
            // Removal ⇔ 12 (ABI change + incompatible change).
            "major" if removed => assert_eq!(code, 12, "{variant}: {report}"),
            // Signature/layout change ⇒ 4 with a changed-function count.
            "major" => {
                assert_eq!(code, 4, "{variant}: {report}");
                assert!(report.contains("1 Changed"), "{variant}: {report}");
            }
            // Addition ⇔ 4, and 0 with --no-added-syms.
            "minor" => {
                assert_eq!(code, 4, "{variant}: {report}");
                assert_eq!(abidiff(&so, &["--no-added-syms"]).0, 0, "{variant}");
            }
            other => panic!("{variant}: unexpected verdict {other}"),
        }
    }
}

/// The wasm host: guard first, then instantiate with a real runtime (wasmtime's Python
/// package) only what passed; the runtime agrees that the refused variant cannot link.
#[test]
#[ignore = "interop: needs python3 with wasmtime (.ci/requirements.txt); run by .ci/test"]
fn wasm_host_guards_then_instantiates_with_wasmtime() {
    support::require_tool("python3");
    let dir = support::tempdir();
    let target = Some("wasm32-unknown-unknown");
    let (base_json, base) = fingerprint_variant("base", target, dir.path());
    let (_, imp) = fingerprint_variant("wasm-new-import", target, dir.path());
    let expectation = AbiExpectation::from_json(&std::fs::read(&base_json).unwrap()).unwrap();
    let utf8 = |p: &Path| Utf8PathBuf::from_path_buf(p.to_owned()).unwrap();
    const HOST: &str = r#"
import sys, wasmtime
engine = wasmtime.Engine()
store = wasmtime.Store(engine)
module = wasmtime.Module.from_file(engine, sys.argv[1])
try:
    instance = wasmtime.Linker(engine).instantiate(store, module)
except Exception as e:
    print("link-error:", e)
    sys.exit(3)
print(instance.exports(store)["plugin_scale"](store, 21))
"#;
    let host = |path: &Path| {
        Command::new("python3")
            .arg("-c")
            .arg(HOST)
            .arg(path)
            .output()
            .unwrap()
    };
    check_file(&utf8(&base), &expectation).expect("baseline wasm is compatible");
    let out = host(&base);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");
    // Refused by the guard before instantiation; wasmtime agrees it cannot link.
    let reasons = check_file(&utf8(&imp), &expectation).unwrap_err().reasons;
    assert!(
        matches!(&reasons[..], [Reason::UnprovidedImport { name, .. }] if name == "host::host_log"),
        "{reasons:?}"
    );
    let out = host(&imp);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("host_log"),
        "{out:?}"
    );
}

/// Mutated and truncated real artifacts never panic the reader (library call, in process).
#[test]
fn corrupted_artifacts_never_panic() {
    let dir = support::tempdir();
    let (_, so) = fingerprint_variant("base", None, dir.path());
    let (_, wasm) = fingerprint_variant("base", Some("wasm32-unknown-unknown"), dir.path());
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for path in [so, wasm] {
        let bytes = std::fs::read(&path).unwrap();
        let name = camino::Utf8Path::new("mutated");
        for round in 0..60 {
            let mut copy = bytes.clone();
            // Headers and tables live at both ends: bias half the mutations there.
            let len = copy.len();
            for _ in 0..4 {
                let r = next() as usize;
                let pos = match round % 3 {
                    0 => r % len.min(4096),
                    1 => len - 1 - r % len.min(4096),
                    _ => r % len,
                };
                copy[pos] = (next() & 0xff) as u8;
            }
            let _ = plugpack_core::fingerprint::fingerprint_bytes(name, &copy);
            let cut = next() as usize % len;
            let _ = plugpack_core::fingerprint::fingerprint_bytes(name, &bytes[..cut]);
        }
    }
}

/// `--api` adds rustdoc-JSON API hashes; their differences are warnings, not the verdict.
#[test]
fn api_level_differences_are_warnings_not_gates() {
    let dir = support::tempdir();
    let api_fp = |variant: &str| {
        let out = dir.path().join(format!("api-{variant}.json"));
        let mut cmd = plugpack();
        cmd.arg("fingerprint")
            .arg("--manifest-path")
            .arg(support::fixture_manifest(FIXTURE))
            .arg("--target-dir")
            .arg(variant_target_dir(&format!("api-{variant}"), None))
            .args(["--locked", "--offline", "-q", "--api", "-o"])
            .arg(&out);
        if variant != "base" {
            cmd.args(["--features", variant]);
        }
        run_ok(&mut cmd);
        out
    };
    let base = api_fp("base");
    let doc = read_json(&base);
    let items = doc["api"]["items"].as_object().unwrap();
    assert!(items.contains_key("abi_plugin::plugin_scale"), "{items:#?}");
    assert!(items.contains_key("abi_plugin::Settings"), "{items:#?}");
    // The API hash is outside the ABI fingerprint.
    let (plain, _) = fingerprint_variant("base", None, dir.path());
    assert_eq!(read_json(&plain)["fingerprint"], doc["fingerprint"]);

    let added = api_fp("fn-added");
    let diff = abi_diff_json(&base, &added);
    assert_eq!(diff["verdict"], "minor");
    assert_eq!(
        diff["api_changes"],
        serde_json::json!(["API: `abi_plugin::plugin_extra` added"])
    );
    let widened = api_fp("param-i64");
    let human = run_ok(plugpack().arg("abi-diff").arg(&base).arg(&widened));
    assert!(
        human.contains("warning: API: `abi_plugin::plugin_scale` changed"),
        "{human}"
    );
}
