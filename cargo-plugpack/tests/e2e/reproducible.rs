//! Bundles carry no path of the build machine (issue 11, section 4): the same fixture packaged
//! from two directories, with two target directories and the advisory database at two paths,
//! gives byte-identical bundles (plugin binaries included), and no blob of a bundle names the
//! workspace, the target directory, `CARGO_HOME`, `RUSTUP_HOME`, the home directory, the
//! temporary directory or the database's path.

use std::path::{Path, PathBuf};

use crate::cargo_config::copy_fixture;
use crate::support::*;

/// A fixture copied to `<base>/<fixture>`, the database copied to `<base>/db/advisory-db`,
/// packaged with the target directory `<base>/out`; returns the bundle's path.
fn package_copy(fixture: &str, base: &Path, profile: &str) -> PathBuf {
    let manifest = copy_fixture(fixture, base);
    let db = base.join("db/advisory-db");
    copy_tree(&repo_root().join("tests/data/advisory-db"), &db);
    let bundle = base.join(format!("{fixture}.oci.tar"));
    run_ok(
        plugpack()
            .arg("package")
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--target-dir")
            .arg(base.join("out"))
            .args(["--locked", "--offline", "--profile", profile, "--db"])
            .arg(&db)
            .arg("-o")
            .arg(&bundle)
            // Run from the copy, as a user would.
            .current_dir(manifest.parent().unwrap()),
    );
    bundle
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Every blob (tar entry) of a bundle with its name.
fn blobs(bundle: &Path) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut bytes).unwrap();
            (name, bytes)
        })
        .collect()
}

/// The build machine's directories a bundle must not name.
fn machine_paths(base: &Path) -> Vec<String> {
    let mut paths = vec![
        base.display().to_string(),
        std::env::temp_dir().display().to_string(),
        repo_root().display().to_string(),
    ];
    for var in ["CARGO_HOME", "RUSTUP_HOME", "HOME"] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            paths.push(v.to_string_lossy().into_owned());
        }
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap();
    paths.push(home.join(".cargo").display().to_string());
    paths.push(home.join(".rustup").display().to_string());
    let sysroot = std::process::Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .unwrap();
    paths.push(String::from_utf8(sysroot.stdout).unwrap().trim().to_owned());
    // `/`, `/tmp` and the like are too short to mean anything in a binary.
    paths.retain(|p| p.len() >= 5);
    paths.sort();
    paths.dedup();
    paths
}

fn assert_no_machine_path(bundle: &Path, base: &Path) {
    let paths = machine_paths(base);
    for (name, bytes) in blobs(bundle) {
        for path in &paths {
            let found = bytes.windows(path.len()).position(|w| w == path.as_bytes());
            if let Some(at) = found {
                let from = at.saturating_sub(60);
                let to = (at + path.len() + 60).min(bytes.len());
                panic!(
                    "{} blob {name} names {path}: …{}…",
                    bundle.display(),
                    String::from_utf8_lossy(&bytes[from..to])
                );
            }
        }
    }
}

fn same_bundle_from_two_places(fixture: &str, profile: &str) {
    let one = tempdir();
    let two = tempdir();
    // Different lengths too, so no offset in a binary stays put by chance.
    let two_base = two.path().join("somewhere-else");
    let a = package_copy(fixture, one.path(), profile);
    let b = package_copy(fixture, &two_base, profile);
    assert_no_machine_path(&a, one.path());
    assert_no_machine_path(&b, &two_base);
    let (a_blobs, b_blobs) = (blobs(&a), blobs(&b));
    assert_eq!(a_blobs.len(), b_blobs.len());
    for ((name_a, bytes_a), (name_b, bytes_b)) in a_blobs.iter().zip(&b_blobs) {
        assert_eq!(name_a, name_b);
        assert!(
            bytes_a == bytes_b,
            "{fixture}: blob {name_a} differs between the two places"
        );
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn cdylib_bundles_are_identical_from_two_directories_target_dirs_and_databases() {
    same_bundle_from_two_places("cdylib-plugin", "dev");
}

#[test]
fn wasm_bundles_are_identical_from_two_directories_target_dirs_and_databases() {
    same_bundle_from_two_places("wasm-plugin", "dev");
}

#[test]
fn configured_wasm_bundles_are_identical_from_two_directories() {
    same_bundle_from_two_places("wasm-config-plugin", "release");
}

#[test]
fn fixture_bundles_in_place_name_no_machine_path() {
    // The fixtures as the other tests package them: in the repository, shared target dir.
    let dir = tempdir();
    let db = repo_root().join("tests/data/advisory-db");
    for fixture in [
        "cdylib-plugin",
        "wasm-plugin",
        "wasm-config-plugin",
        "multi-plugin",
        "sbom-workspace",
        "abi-plugin",
    ] {
        let mut args = vec!["--profile", "dev", "--db", db.to_str().unwrap()];
        if fixture == "multi-plugin" {
            args.extend(["-p", "alpha"]);
        }
        let bundle = package_fixture(fixture, dir.path(), &args);
        assert_no_machine_path(&bundle, dir.path());
    }
}

/// The crates cargo compiled, from its `Compiling name vX` status lines.
fn compiled(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Compiling "))
        .map(|l| l.split(' ').next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn plain_cargo_build_and_plugpack_build_recompile_only_the_plugin_crate() {
    // plugpack's remapping flags differ from a plain build's: cargo keeps both builds of every
    // dependency (the flags are hashed into their file names), so alternating recompiles only
    // the plugin crate, whose cdylib file name has no hash.
    let dir = tempdir();
    let manifest = copy_fixture("cdylib-plugin", dir.path());
    let target_dir = dir.path().join("out");
    let cargo = || {
        let mut cmd = std::process::Command::new(env!("CARGO"));
        cmd.args(["build", "--lib", "--locked", "--offline", "--manifest-path"])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target_dir)
            .env("CARGO_TERM_COLOR", "never")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS");
        cmd
    };
    let plugpack_build = || {
        let mut cmd = plugpack();
        cmd.args(["build", "--manifest-path"])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target_dir)
            .args(["--locked", "--offline", "--profile", "dev"]);
        cmd
    };
    let first = run(&mut cargo());
    assert!(first.status.success());
    assert!(compiled(&first.stderr).contains(&"itoa".to_owned()));
    let ours = run(&mut plugpack_build());
    assert!(ours.status.success());
    // plugpack's build compiles its own copy of every crate once…
    assert!(compiled(&ours.stderr).contains(&"itoa".to_owned()));
    // …and from then on each side recompiles only the plugin.
    for _ in 0..2 {
        let plain = run(&mut cargo());
        assert!(plain.status.success());
        assert_eq!(compiled(&plain.stderr), ["cdylib-plugin"]);
        let ours = run(&mut plugpack_build());
        assert!(ours.status.success());
        assert_eq!(compiled(&ours.stderr), ["cdylib-plugin"]);
    }
}
