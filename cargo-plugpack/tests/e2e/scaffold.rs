//! `new`: scaffolds that package with no edits.

use crate::support::*;

fn package_scaffold(kind: &str) -> serde_json::Value {
    let dir = tempdir();
    let crate_dir = dir.path().join(format!("my-{kind}-plugin"));
    run_ok(
        plugpack()
            .args([
                "new",
                &format!("my-{kind}-plugin"),
                "--kind",
                kind,
                "--path",
            ])
            .arg(&crate_dir),
    );
    // Like `cargo new` outside a repository: a git repository of its own.
    assert!(crate_dir.join(".git").is_dir());
    // The fresh crate builds and packages without edits (no dependencies, so offline works).
    let bundle = dir.path().join("out.oci.tar");
    run_ok(
        plugpack()
            .args(["package", "--offline", "--release", "--manifest-path"])
            .arg(crate_dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(repo_root().join("target/e2e-scaffolds"))
            .arg("-o")
            .arg(&bundle),
    );
    let out = run_ok(plugpack().args(["inspect", "--json"]).arg(&bundle));
    // Refuses to overwrite the now non-empty directory.
    let err = run_fails(
        plugpack().args(["new", "other", "--path"]).arg(&crate_dir),
        2,
    );
    assert!(err.contains("already exists and is not empty"), "{err}");
    json_lines(&out).remove(0)
}

#[test]
fn new_cdylib_packages_without_edits() {
    let info = package_scaffold("cdylib");
    let m = &info["manifests"][0];
    assert_eq!(
        m["layers"][0]["media_type"],
        "application/vnd.plugpack.cdylib.v1"
    );
    assert_eq!(m["layers"][0]["title"], "libmy_cdylib_plugin.so");
}

#[test]
fn new_wasm_packages_for_wasip1_without_edits() {
    let info = package_scaffold("wasm");
    let m = &info["manifests"][0];
    assert_eq!(m["target"], "wasm32-wasip1");
    assert_eq!(m["layers"][0]["media_type"], "application/wasm");
}

#[test]
fn new_component_packages_for_wasip2_without_edits() {
    let info = package_scaffold("component");
    let m = &info["manifests"][0];
    assert_eq!(m["target"], "wasm32-wasip2");
    assert_eq!(m["layers"][0]["media_type"], "application/wasm");
    assert_eq!(m["layers"][0]["title"], "my_component_plugin.wasm");
    let annotations = m["annotations"].to_string();
    assert!(
        annotations.contains("\"dev.plugpack.abi.detail\":\"wit\""),
        "{annotations}"
    );
}

#[test]
fn new_rejects_invalid_names() {
    let dir = tempdir();
    let err = run_fails(
        plugpack()
            .args(["new", "Bad Name", "--path"])
            .arg(dir.path().join("x")),
        2,
    );
    assert!(err.contains("not a valid plugin name"), "{err}");
}

#[test]
fn new_wasm_crate_builds_wasm_with_plain_cargo_build() {
    let dir = tempdir();
    let crate_dir = dir.path().join("plain");
    run_ok(
        plugpack()
            .args(["new", "plain", "--kind", "wasm", "--vcs", "none", "--path"])
            .arg(&crate_dir),
    );
    assert!(
        !crate_dir.join(".git").exists(),
        "--vcs none made a repository"
    );
    let toolchain = std::fs::read_to_string(crate_dir.join("rust-toolchain.toml")).unwrap();
    assert!(toolchain.contains("\"wasm32-wasip1\""), "{toolchain}");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["build", "--offline", "--quiet"])
        .current_dir(&crate_dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        crate_dir
            .join("target/wasm32-wasip1/debug/plain.wasm")
            .is_file()
    );
}

#[test]
fn new_inside_a_git_work_tree_makes_no_nested_repository() {
    let dir = tempdir();
    let status = std::process::Command::new("git")
        .args(["init", "--quiet"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let crate_dir = dir.path().join("plugins/inner");
    run_ok(plugpack().args(["new", "inner", "--path"]).arg(&crate_dir));
    assert!(crate_dir.join("Cargo.toml").is_file());
    assert!(!crate_dir.join(".git").exists());
}
