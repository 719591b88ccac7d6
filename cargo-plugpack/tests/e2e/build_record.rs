//! Build records (`<target-dir>/plugpack/build-records/`): `sbom --no-build` and
//! `audit --no-build` describe the last build without running cargo, and refuse a record
//! whose inputs or artifacts changed.

use std::path::Path;

use crate::support::{self, on_fixture, plugpack, repo_root, run_fails, run_ok};

/// A private copy of `tests/fixtures/cdylib-plugin` (so its files can be changed) with its
/// own target directory.
fn private_fixture(dir: &Path) -> std::path::PathBuf {
    let src = repo_root().join("tests/fixtures/cdylib-plugin");
    let dst = dir.join("cdylib-plugin");
    std::fs::create_dir_all(dst.join("src")).unwrap();
    for file in ["Cargo.toml", "Cargo.lock", "src/lib.rs"] {
        std::fs::copy(src.join(file), dst.join(file)).unwrap();
    }
    dst
}

fn on_private(subcommand: &str, crate_dir: &Path, extra: &[&str]) -> std::process::Command {
    let mut cmd = plugpack();
    cmd.arg(subcommand)
        .current_dir(crate_dir)
        .args(["--locked", "--offline"])
        .args(extra);
    cmd
}

#[test]
fn sbom_no_build_equals_sbom_and_refuses_stale_records() {
    let dir = support::tempdir();
    let krate = private_fixture(dir.path());
    let a = dir.path().join("a.cdx.json");
    let b = dir.path().join("b.cdx.json");

    // No build yet: a clear error naming the record and the fix, exit 4.
    let err = run_fails(&mut on_private("sbom", &krate, &["--no-build"]), 4);
    assert!(err.contains("no build record at"), "{err}");
    assert!(err.contains("run `cargo plugpack build`"), "{err}");

    run_ok(&mut on_private("build", &krate, &[]));
    let records: Vec<_> = std::fs::read_dir(krate.join("target/plugpack/build-records"))
        .unwrap()
        .collect();
    assert_eq!(records.len(), 1);

    run_ok(&mut on_private(
        "sbom",
        &krate,
        &["--no-build", "-o", a.to_str().unwrap()],
    ));
    run_ok(&mut on_private(
        "sbom",
        &krate,
        &["-o", b.to_str().unwrap()],
    ));
    // Outputs are readable like any build output (the temporary file they start as is 0600).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&a), 0o644);
        assert_eq!(mode(&records[0].as_ref().unwrap().path()), 0o644);
    }
    let recorded = std::fs::read(&a).unwrap();
    assert_eq!(recorded, std::fs::read(&b).unwrap());
    let doc: serde_json::Value = serde_json::from_slice(&recorded).unwrap();
    assert_eq!(doc["components"].as_array().unwrap().len(), 2);

    // Other flags are another request: no record for the release profile yet.
    let err = run_fails(
        &mut on_private("sbom", &krate, &["--no-build", "--release"]),
        4,
    );
    assert!(err.contains("no build record"), "{err}");

    // A changed artifact makes the record stale, naming the file.
    let artifact =
        krate.join("target/plugpack/embedded/x86_64-unknown-linux-gnu/libcdylib_plugin.so");
    let mut bytes = std::fs::read(&artifact).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&artifact, &bytes).unwrap();
    let err = run_fails(&mut on_private("sbom", &krate, &["--no-build"]), 4);
    assert!(err.contains("is stale"), "{err}");
    assert!(err.contains("libcdylib_plugin.so changed"), "{err}");

    // Rebuilding refreshes it; then a changed Cargo.lock makes it stale again.
    run_ok(&mut on_private("build", &krate, &[]));
    run_ok(&mut on_private("sbom", &krate, &["--no-build", "-o", "-"]));
    let lock = krate.join("Cargo.lock");
    let mut text = std::fs::read_to_string(&lock).unwrap();
    text.push('\n');
    std::fs::write(&lock, text).unwrap();
    let err = run_fails(&mut on_private("sbom", &krate, &["--no-build"]), 4);
    assert!(err.contains("Cargo.lock changed since the build"), "{err}");
}

#[test]
fn audit_no_build_reports_what_the_build_compiled() {
    let db = repo_root().join("tests/data/advisory-db");
    let db = db.to_str().unwrap();
    let audit = |extra: &[&str]| {
        let mut args = vec!["-p", "vuln-direct", "--db", db, "--format", "json"];
        args.extend_from_slice(extra);
        on_fixture("audit", "audit-plugins", &args)
    };
    let out = support::run(&mut on_fixture(
        "build",
        "audit-plugins",
        &["-p", "vuln-direct"],
    ));
    assert!(out.status.success());
    let recorded = support::run(&mut audit(&["--no-build"]));
    let built = support::run(&mut audit(&[]));
    assert_eq!(recorded.status.code(), Some(1), "denied finding expected");
    assert_eq!(built.status.code(), Some(1));
    let recorded: serde_json::Value = serde_json::from_slice(&recorded.stdout).unwrap();
    let built: serde_json::Value = serde_json::from_slice(&built.stdout).unwrap();
    assert_eq!(recorded, built);
    let ids: Vec<&str> = recorded["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(ids.contains(&"RUSTSEC-2021-0003"), "{recorded:#}");
}

/// A rebuild that changed neither cargo's artifact nor the dependency list reuses the
/// embedded copy (no rewrite); a damaged copy is detected by its digest and made again.
#[test]
fn embedded_copy_is_reused_only_while_it_matches_its_stamp() {
    let dir = support::tempdir();
    let krate = private_fixture(dir.path());
    let embedded =
        krate.join("target/plugpack/embedded/x86_64-unknown-linux-gnu/libcdylib_plugin.so");
    let first = run_ok(&mut on_private("build", &krate, &[]));
    let digest = support::sha256_file(&embedded);
    assert!(first.contains(&digest["sha256:".len()..]), "{first}");
    let modified = std::fs::metadata(&embedded).unwrap().modified().unwrap();

    std::thread::sleep(std::time::Duration::from_millis(20));
    let second = run_ok(&mut on_private("build", &krate, &[]));
    assert_eq!(first, second);
    assert_eq!(
        std::fs::metadata(&embedded).unwrap().modified().unwrap(),
        modified,
        "the embedded copy was rewritten although nothing changed"
    );

    // Damage the copy: its digest no longer matches the stamp, so it is made again.
    let mut bytes = std::fs::read(&embedded).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&embedded, &bytes).unwrap();
    let third = run_ok(&mut on_private("build", &krate, &[]));
    assert_eq!(first, third);
    assert_eq!(support::sha256_file(&embedded), digest);
}

fn write_plugin(dir: &Path, name: &str) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\
             license = \"MIT\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("src/lib.rs"),
        "#[unsafe(no_mangle)]\npub extern \"C\" fn answer() -> i32 { 42 }\n",
    )
    .unwrap();
}

/// `build` starts from the last record's plan while `cargo metadata` runs; when the fresh
/// metadata plans differently (a new workspace member matched by a glob, which changes no
/// recorded input), it builds again from the fresh plan, so nothing is missed.
#[test]
fn a_build_plan_changed_behind_the_record_is_built_from_fresh_metadata() {
    let dir = support::tempdir();
    let root = dir.path().join("ws");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        "[workspace]\nmembers = [\"plugins/*\"]\nresolver = \"3\"\n",
    )
    .unwrap();
    write_plugin(&root.join("plugins/alpha"), "alpha");
    let build = |extra: &[&str]| {
        let mut cmd = plugpack();
        cmd.arg("build")
            .current_dir(&root)
            .args(["--offline", "--message-format", "json", "-vv"])
            .args(extra);
        support::run(&mut cmd)
    };
    let plugins = |out: &std::process::Output| -> Vec<String> {
        support::json_lines(&String::from_utf8_lossy(&out.stdout))
            .iter()
            .filter(|m| m["reason"] == "plugin-artifact")
            .map(|m| m["plugin"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = build(&[]);
    assert!(first.status.success());
    assert_eq!(plugins(&first), ["alpha"]);

    write_plugin(&root.join("plugins/beta"), "beta");
    let second = build(&[]);
    assert!(second.status.success());
    assert_eq!(plugins(&second), ["alpha", "beta"]);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("changed the build plan"), "{stderr}");

    // Nothing changed now: the record's plan is used and matches.
    let third = build(&[]);
    assert!(third.status.success());
    assert_eq!(plugins(&third), ["alpha", "beta"]);
    let stderr = String::from_utf8_lossy(&third.stderr);
    assert!(!stderr.contains("changed the build plan"), "{stderr}");
}

/// A damaged record is an error naming it for `--no-build`, and only a missed shortcut for a
/// build (which writes a good record again); a damaged embed stamp only means the embedded
/// copy is made again.
#[test]
fn damaged_records_and_stamps_are_named_or_rebuilt_never_trusted() {
    let dir = support::tempdir();
    let krate = private_fixture(dir.path());
    let first = run_ok(&mut on_private("build", &krate, &[]));
    let records = krate.join("target/plugpack/build-records");
    let record = std::fs::read_dir(&records)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();

    std::fs::write(
        &record,
        b"{\"schema\": \"plugpack-build-record/1\", \"trunc",
    )
    .unwrap();
    let err = run_fails(&mut on_private("sbom", &krate, &["--no-build"]), 4);
    assert!(err.contains("cannot use build record"), "{err}");
    assert!(
        err.contains(record.file_name().unwrap().to_str().unwrap()),
        "{err}"
    );

    let other_schema = r#"{"schema": "plugpack-build-record/99"}"#;
    std::fs::write(&record, other_schema).unwrap();
    let err = run_fails(&mut on_private("sbom", &krate, &["--no-build"]), 4);
    assert!(err.contains("cannot use build record"), "{err}");

    // A build does not trust the damaged record: it runs cargo metadata and writes a good one.
    let embedded = krate.join("target/plugpack/embedded/x86_64-unknown-linux-gnu");
    std::fs::write(
        embedded.join(".libcdylib_plugin.so.plugpack-embed.json"),
        b"garbage",
    )
    .unwrap();
    let copy = embedded.join("libcdylib_plugin.so");
    let before = std::fs::metadata(&copy).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let again = run_ok(&mut on_private("build", &krate, &[]));
    assert_eq!(first, again);
    assert!(
        std::fs::metadata(&copy).unwrap().modified().unwrap() > before,
        "with a damaged stamp the embedded copy must be made again"
    );
    run_ok(&mut on_private("sbom", &krate, &["--no-build", "-o", "-"]));
    // No temporary file is left beside the record or the embedded copy.
    for dir in [&records, &embedded] {
        let leftovers: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with(".plugpack-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
