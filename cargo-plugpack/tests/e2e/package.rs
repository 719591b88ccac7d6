//! `build` and `package` on the fixture plugins: artifacts, bundle layout, determinism and
//! the errors a user meets.

use crate::support::*;

fn inspect_json(bundle: &std::path::Path) -> serde_json::Value {
    let out = run_ok(plugpack().args(["inspect", "--json"]).arg(bundle));
    json_lines(&out).remove(0)
}

fn built_artifacts(fixture: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["--message-format", "json"];
    args.extend_from_slice(extra);
    let out = run_ok(&mut on_fixture("build", fixture, &args));
    let lines = json_lines(&out);
    assert!(
        lines.iter().all(|l| l["reason"] == "plugin-artifact"),
        "{out}"
    );
    lines
}

#[test]
fn build_reports_the_cdylib_cargo_produced() {
    let artifacts = built_artifacts("cdylib-plugin", &[]);
    assert_eq!(artifacts.len(), 1);
    let a = &artifacts[0];
    assert_eq!(a["kind"], "cdylib");
    assert_eq!(a["package"], "cdylib-plugin");
    let path = std::path::Path::new(a["path"].as_str().unwrap());
    assert!(path.exists(), "{path:?}");
    assert!(
        path.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("libcdylib_plugin.")
    );
    assert_eq!(a["sha256"].as_str().unwrap(), sha256_file(path));
    assert_eq!(
        a["size"].as_u64().unwrap(),
        std::fs::metadata(path).unwrap().len()
    );
}

#[test]
fn packages_cdylib_as_oci_layout_with_raw_layer_and_annotations() {
    let dir = tempdir();
    let bundle = package_fixture("cdylib-plugin", dir.path(), &[]);
    let artifact = &built_artifacts("cdylib-plugin", &[])[0];
    let info = inspect_json(&bundle);
    assert_eq!(info["tag"], "0.3.1");
    assert_eq!(
        info["media_type"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let manifests = info["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 1);
    let m = &manifests[0];
    assert_eq!(m["platform"], "linux/amd64");
    assert_eq!(
        m["config"]["media_type"],
        "application/vnd.plugpack.config.v1+json"
    );
    let layer = &m["layers"][0];
    assert_eq!(layer["media_type"], "application/vnd.plugpack.cdylib.v1");
    // Layers are stored raw: the layer digest is the artifact's sha256.
    assert_eq!(layer["digest"], artifact["sha256"]);
    assert_eq!(layer["title"], "libcdylib_plugin.so");
    let ann = &m["annotations"];
    assert_eq!(ann["org.opencontainers.image.version"], "0.3.1");
    assert_eq!(
        ann["org.opencontainers.image.licenses"],
        "MIT OR Apache-2.0"
    );
    assert_eq!(
        ann["org.opencontainers.image.source"],
        "https://example.com/plugpack-fixtures/cdylib-plugin"
    );
    assert_eq!(
        ann["org.opencontainers.image.created"],
        "2024-01-02T03:04:05Z"
    );
    assert_eq!(ann["dev.plugpack.target"], "x86_64-unknown-linux-gnu");
    assert_eq!(
        ann["com.example.team"], "plugins",
        "metadata.plugpack.annotations are applied"
    );
}

#[test]
fn packaging_twice_gives_identical_bytes_and_deterministic_tar_entries() {
    let dir = tempdir();
    let first = package_fixture("cdylib-plugin", dir.path(), &[]);
    let second = dir.path().join("again.oci.tar");
    run_ok(&mut on_fixture(
        "package",
        "cdylib-plugin",
        &["--profile", "dev", "-o", second.to_str().unwrap()],
    ));
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&second).unwrap()
    );

    let entries = tar_entries(&first);
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "entries are sorted");
    assert_eq!(names[..2], ["blobs/", "blobs/sha256/"]);
    assert_eq!(names[names.len() - 2..], ["index.json", "oci-layout"]);
    for (name, h) in &entries {
        assert_eq!(h.mtime().unwrap(), EPOCH.parse::<u64>().unwrap(), "{name}");
        assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0), "{name}");
        let mode = if name.ends_with('/') { 0o755 } else { 0o644 };
        assert_eq!(h.mode().unwrap(), mode, "{name}");
        assert!(h.as_ustar().is_some(), "{name} is ustar");
    }
    // A different epoch changes the bytes (the timestamp really comes from SOURCE_DATE_EPOCH).
    let third = dir.path().join("later.oci.tar");
    run_ok(
        on_fixture(
            "package",
            "cdylib-plugin",
            &["--profile", "dev", "-o", third.to_str().unwrap()],
        )
        .env("SOURCE_DATE_EPOCH", "1800000000"),
    );
    assert_ne!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&third).unwrap()
    );
}

#[test]
fn packages_wasm_with_cncf_wasm_media_types() {
    let dir = tempdir();
    let bundle = package_fixture("wasm-plugin", dir.path(), &["--release"]);
    let info = inspect_json(&bundle);
    let m = &info["manifests"][0];
    assert_eq!(m["platform"], "wasip1/wasm");
    assert_eq!(
        m["target"], "wasm32-wasip1",
        "targets come from metadata.plugpack.targets"
    );
    assert_eq!(
        m["config"]["media_type"],
        "application/vnd.wasm.config.v0+json"
    );
    assert_eq!(m["layers"][0]["media_type"], "application/wasm");
    assert_eq!(m["layers"][0]["title"], "wasm_plugin.wasm");

    // The CNCF config lists the layer digests.
    let extract_dir = tempdir();
    let out = run_ok(
        plugpack()
            .args(["extract", "--message-format", "json"])
            .arg(&bundle)
            .arg("-o")
            .arg(extract_dir.path()),
    );
    let files = json_lines(&out);
    assert_eq!(files.len(), 1);
    let wasm = extract_dir.path().join("wasm32-wasip1/wasm_plugin.wasm");
    assert_eq!(std::fs::read(&wasm).unwrap()[..4], *b"\0asm");
    assert_eq!(
        sha256_file(&wasm),
        m["layers"][0]["digest"].as_str().unwrap()
    );
    let config = config_blob(&bundle, m["config"]["digest"].as_str().unwrap());
    assert_eq!(config["architecture"], "wasm");
    assert_eq!(config["os"], "wasip1");
    assert_eq!(config["layerDigests"][0], m["layers"][0]["digest"]);
}

fn config_blob(bundle: &std::path::Path, digest: &str) -> serde_json::Value {
    let want = format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"));
    let mut archive = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        if entry.path().unwrap().to_str() == Some(want.as_str()) {
            return serde_json::from_reader(entry).unwrap();
        }
    }
    panic!("blob {digest} not in bundle");
}

#[test]
fn several_targets_go_under_one_image_index() {
    let dir = tempdir();
    let bundle = package_fixture(
        "wasm-plugin",
        dir.path(),
        &[
            "--target",
            "wasm32-wasip1",
            "--target",
            "wasm32-unknown-unknown",
        ],
    );
    let info = inspect_json(&bundle);
    assert_eq!(
        info["media_type"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(info["tag"], "1.2.0");
    let platforms: Vec<&str> = info["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"].as_str().unwrap())
        .collect();
    assert_eq!(platforms, ["unknown/wasm", "wasip1/wasm"]);
}

#[test]
fn packages_a_prebuilt_artifact() {
    let artifact = built_artifacts("cdylib-plugin", &[])[0]["path"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = tempdir();
    let bundle = package_fixture("cdylib-plugin", dir.path(), &["--artifact", &artifact]);
    let info = inspect_json(&bundle);
    assert_eq!(
        info["manifests"][0]["layers"][0]["digest"]
            .as_str()
            .unwrap(),
        sha256_file(artifact.as_ref())
    );

    // A text file is not a plugin: clear error, exit 5, and nothing at the output path.
    let junk = dir.path().join("junk.so");
    std::fs::write(&junk, b"not a library at all").unwrap();
    let out = dir.path().join("junk.oci.tar");
    let err = run_fails(
        &mut on_fixture(
            "package",
            "cdylib-plugin",
            &[
                "--artifact",
                junk.to_str().unwrap(),
                "--target",
                "wasm32-wasip1",
                "-o",
                out.to_str().unwrap(),
            ],
        ),
        5,
    );
    assert!(
        err.contains("junk.so") && err.contains("does not match target"),
        "{err}"
    );
    assert!(!out.exists());
}

fn scratch_crate(dir: &std::path::Path, manifest_extra: &str, lib: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!("[package]\nname = \"scratch\"\nversion = \"0.1.0\"\nedition = \"2024\"\n{manifest_extra}\n[workspace]\n"),
    )
    .unwrap();
    std::fs::write(dir.join("src/lib.rs"), lib).unwrap();
    dir.join("Cargo.toml")
}

fn on_scratch(
    manifest: &std::path::Path,
    subcommand: &str,
    extra: &[&str],
) -> std::process::Command {
    let mut cmd = plugpack();
    cmd.arg(subcommand)
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--offline")
        .args(extra);
    cmd
}

#[test]
fn a_crate_without_cdylib_is_told_how_to_declare_one() {
    let dir = tempdir();
    let manifest = scratch_crate(dir.path(), "", "pub fn f() {}\n");
    let err = run_fails(&mut on_scratch(&manifest, "build", &[]), 2);
    assert!(err.contains("does not build a cdylib"), "{err}");
    assert!(err.contains("crate-type = [\"cdylib\", \"rlib\"]"), "{err}");
}

#[test]
fn unknown_config_key_names_file_line_and_key() {
    let dir = tempdir();
    let manifest = scratch_crate(
        dir.path(),
        "[lib]\ncrate-type = [\"cdylib\"]\n\n[package.metadata.plugpack]\ntargts = [\"wasm32-wasip1\"]\n",
        "",
    );
    let err = run_fails(&mut on_scratch(&manifest, "build", &[]), 2);
    assert!(err.contains(manifest.to_str().unwrap()), "{err}");
    assert!(err.contains("targts") && err.contains("line 9"), "{err}");
    // With JSON output the failure is also a machine-readable message on stdout.
    let out = run(&mut on_scratch(
        &manifest,
        "build",
        &["--message-format", "json"],
    ));
    let lines = json_lines(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["reason"], "error");
    assert_eq!(lines[0]["exit_code"], 2);
    assert!(
        lines[0]["messages"][1].as_str().unwrap().contains("targts"),
        "{}",
        lines[0]
    );
}

#[test]
fn compile_errors_reach_the_user_and_exit_4_without_a_bundle() {
    let dir = tempdir();
    let manifest = scratch_crate(
        dir.path(),
        "[lib]\ncrate-type = [\"cdylib\"]\n",
        "pub fn broken() -> u32 { \"nope\" }\n",
    );
    let out = dir.path().join("scratch.oci.tar");
    let err = run_fails(
        &mut on_scratch(&manifest, "package", &["-o", out.to_str().unwrap()]),
        4,
    );
    assert!(
        err.contains("error[E0308]: mismatched types"),
        "cargo's diagnostic is shown unchanged: {err}"
    );
    assert!(err.contains("cargo build failed for scratch"), "{err}");
    assert!(!out.exists());
}

/// The same after a successful package left a build record: the build from the record's plan
/// fails, the plan is still true, and its error stands: cargo's diagnostic and plugpack's
/// message appear once each (no second build prints them again), and the earlier bundle
/// stays as it was.
#[test]
fn a_compile_error_after_a_recorded_build_is_reported_once() {
    let dir = tempdir();
    let manifest = scratch_crate(
        dir.path(),
        "[lib]\ncrate-type = [\"cdylib\"]\n",
        "#[unsafe(no_mangle)]\npub extern \"C\" fn fine() -> u32 { 1 }\n",
    );
    let out = dir.path().join("scratch.oci.tar");
    run_ok(&mut on_scratch(
        &manifest,
        "package",
        &["-o", out.to_str().unwrap()],
    ));
    let before = std::fs::read(&out).unwrap();
    std::fs::write(
        dir.path().join("src/lib.rs"),
        "pub fn broken() -> u32 { \"nope\" }\n",
    )
    .unwrap();
    let err = run_fails(
        &mut on_scratch(&manifest, "package", &["-o", out.to_str().unwrap()]),
        4,
    );
    assert_eq!(
        err.matches("error[E0308]: mismatched types").count(),
        1,
        "{err}"
    );
    assert_eq!(
        err.matches("cargo build failed for scratch").count(),
        1,
        "{err}"
    );
    assert!(
        std::fs::read(&out).unwrap() == before,
        "the earlier bundle changed"
    );
}

#[test]
fn a_missing_target_names_the_rustup_command() {
    let err = run_fails(
        &mut on_fixture(
            "build",
            "cdylib-plugin",
            &["--target", "aarch64-unknown-linux-gnu"],
        ),
        4,
    );
    assert!(
        err.contains("rustup target add aarch64-unknown-linux-gnu"),
        "{err}"
    );
}

#[test]
fn unknown_package_is_a_usage_error() {
    let err = run_fails(
        plugpack()
            .args(["package", "-p", "nope"])
            .arg("--manifest-path")
            .arg(fixture_manifest("cdylib-plugin")),
        2,
    );
    assert!(err.contains("package `nope` is not a member"), "{err}");
}

#[test]
fn runs_as_a_cargo_subcommand() {
    // `cargo plugpack …` finds `cargo-plugpack` on PATH and passes `plugpack` first.
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_cargo-plugpack"))
        .parent()
        .unwrap()
        .to_owned();
    let path = std::env::join_paths(
        std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = run_ok(
        std::process::Command::new(cargo)
            .env("PATH", path)
            .args([
                "plugpack",
                "build",
                "--message-format",
                "json",
                "--offline",
                "--locked",
                "--manifest-path",
            ])
            .arg(fixture_manifest("cdylib-plugin"))
            .arg("--target-dir")
            .arg(fixture_target_dir()),
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["reason"], "plugin-artifact");
    assert_eq!(lines[0]["plugin"], "cdylib-plugin");
}

/// `package --profile dev -o OUT` of a scratch crate into its own target directory; the
/// bundle's bytes.
fn package_scratch_dev(
    manifest: &std::path::Path,
    target: &std::path::Path,
    out: &std::path::Path,
) -> Vec<u8> {
    run_ok(
        on_scratch(
            manifest,
            "package",
            &["--profile", "dev", "-o", out.to_str().unwrap()],
        )
        .env("CARGO_TARGET_DIR", target),
    );
    std::fs::read(out).unwrap()
}

/// The caches an up-to-date `package` reads (digests by file stamp, fingerprints by digest,
/// the build record's plan and rustc answers) change nothing: a warm run writes the cold
/// run's bytes, and after a source change the new artifact's digest and exports are what the
/// bundle says. (The digest cache trusts an entry only from the run after the one that made
/// it settled, hence three runs and the pause: issue 12, "Cache what only depends on an
/// artifact's digest".)
#[test]
fn warm_caches_write_the_cold_bundle_and_a_rebuilt_artifact_is_seen() {
    let dir = tempdir();
    let lib = "#[unsafe(no_mangle)]\npub extern \"C\" fn answer() -> u32 { 42 }\n";
    let manifest = scratch_crate(dir.path(), "[lib]\ncrate-type = [\"cdylib\"]\n", lib);
    let target = dir.path().join("target");
    let package = |name: &str| package_scratch_dev(&manifest, &target, &dir.path().join(name));
    let cold = package("cold.oci.tar");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert!(
        package("settling.oci.tar") == cold,
        "a settling run wrote other bytes"
    );
    assert!(
        package("warm.oci.tar") == cold,
        "a warm run wrote other bytes"
    );
    for cache in ["digests", "fingerprints"] {
        let entries = std::fs::read_dir(target.join("plugpack").join(cache))
            .unwrap_or_else(|e| panic!("no {cache} cache: {e}"))
            .count();
        assert!(entries > 0, "the {cache} cache is empty");
    }

    std::fs::write(
        dir.path().join("src/lib.rs"),
        format!("{lib}#[unsafe(no_mangle)]\npub extern \"C\" fn more() -> u32 {{ 7 }}\n"),
    )
    .unwrap();
    let changed = package("changed.oci.tar");
    assert_ne!(changed, cold);
    let out = dir.path().join("extracted");
    run_ok(plugpack().args([
        "extract",
        dir.path().join("changed.oci.tar").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--attachments",
    ]));
    let abi_file = std::fs::read_dir(out.join("attachments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".abi.json"))
        .expect("an ABI attachment");
    let abi: serde_json::Value = serde_json::from_slice(&std::fs::read(abi_file).unwrap()).unwrap();
    let exports: Vec<&str> = abi["exports"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert!(exports.contains(&"more"), "{exports:?}");
    // The layer is the artifact built now (its embedded copy, byte for byte).
    let artifact = target.join("plugpack/embedded/x86_64-unknown-linux-gnu/libscratch.so");
    let inspected = inspect_json(&dir.path().join("changed.oci.tar"));
    let digest = sha256_file(&artifact);
    assert!(
        inspected["manifests"][0]["layers"][0]["digest"] == digest.as_str(),
        "layer digest {digest} not in {inspected}"
    );
}

/// `package` of an up-to-date plugin works from the last build record's plan while cargo
/// metadata runs beside it; nothing is published unless the fresh metadata is the recorded
/// one. A record whose metadata says something cargo no longer says (here: a description
/// edited into it) is caught: the bundle is the one fresh metadata gives, and the record is
/// rewritten from it.
#[test]
fn a_stale_build_record_plan_is_caught_before_anything_is_published() {
    let dir = tempdir();
    let lib = "#[unsafe(no_mangle)]\npub extern \"C\" fn answer() -> u32 { 42 }\n";
    let manifest = scratch_crate(
        dir.path(),
        "description = \"the real description\"\nlicense = \"MIT\"\n[lib]\ncrate-type = [\"cdylib\"]\n",
        lib,
    );
    let target = dir.path().join("target");
    let package = |name: &str| package_scratch_dev(&manifest, &target, &dir.path().join(name));
    let first = package("first.oci.tar");
    let records: Vec<_> = std::fs::read_dir(target.join("plugpack/build-records"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let [record] = records.as_slice() else {
        panic!("one build record expected: {records:?}")
    };
    let text = std::fs::read_to_string(record).unwrap();
    assert!(text.contains("the real description"));
    std::fs::write(
        record,
        text.replace("the real description", "a stale description"),
    )
    .unwrap();
    let second = package("second.oci.tar");
    assert!(second == first, "the stale plan's bundle was published");
    let text = std::fs::read_to_string(record).unwrap();
    assert!(
        text.contains("the real description") && !text.contains("a stale description"),
        "the record was not rewritten from fresh metadata"
    );
}

/// A toolchain switch after a recorded build (`RUSTUP_TOOLCHAIN` here; a toolchain file or
/// `rustup default` move the rustup proxy the same way) is caught on the planned path,
/// whether rustup's `which` or rustc itself is asked: the bundle names the rustc that
/// built it, each time.
#[test]
fn a_toolchain_switch_after_a_recorded_build_is_caught() {
    let nightly = std::env::var("PLUGPACK_NIGHTLY").unwrap_or_else(|_| "nightly".to_owned());
    let version = |toolchain: &str| {
        let out = std::process::Command::new("rustc")
            .arg("-V")
            .env("RUSTUP_TOOLCHAIN", toolchain)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "toolchain {toolchain} missing: {out:?}"
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let (stable_v, nightly_v) = (version("stable"), version(&nightly));
    assert_ne!(stable_v, nightly_v);
    let dir = tempdir();
    let lib = "#[unsafe(no_mangle)]\npub extern \"C\" fn answer() -> u32 { 42 }\n";
    let manifest = scratch_crate(dir.path(), "[lib]\ncrate-type = [\"cdylib\"]\n", lib);
    let target = dir.path().join("target");
    let package = |toolchain: &str, name: &str| {
        let out = dir.path().join(name);
        run_ok(
            on_scratch(
                &manifest,
                "package",
                &["--profile", "dev", "-o", out.to_str().unwrap()],
            )
            .env("CARGO_TARGET_DIR", &target)
            .env("RUSTUP_TOOLCHAIN", toolchain)
            // cargo through the rustup proxy too, as a user's shell runs it.
            .env_remove("CARGO"),
        );
        std::fs::read(out).unwrap()
    };
    let names = |bundle: &[u8], v: &str| bundle.windows(v.len()).any(|w| w == v.as_bytes());
    for (i, (toolchain, ours, other)) in [
        ("stable", &stable_v, &nightly_v),
        ("stable", &stable_v, &nightly_v),
        (nightly.as_str(), &nightly_v, &stable_v),
        ("stable", &stable_v, &nightly_v),
    ]
    .into_iter()
    .enumerate()
    {
        let bundle = package(toolchain, &format!("{i}.oci.tar"));
        assert!(
            names(&bundle, ours) && !names(&bundle, other),
            "run {i} ({toolchain}): the bundle does not name {ours} alone"
        );
    }
}
