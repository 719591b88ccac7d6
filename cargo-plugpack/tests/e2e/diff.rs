//! `cargo plugpack diff` (issue 15) on the fixture pair `tests/fixtures/diff-old` →
//! `diff-new`: smallvec upgraded past RUSTSEC-2021-0003, itoa removed, fnv added, lic-lib
//! relicensed MIT → BSD-3-Clause, one export added (ABI minor).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::{self, fixture_manifest, repo_root, run, run_ok};

const HOST: &str = "x86_64-unknown-linux-gnu";

/// Like `support::on_fixture`, with a target directory per fixture: both fixtures build a
/// package named `diff-plugin`, whose artifact would otherwise be one shared file that tests
/// running in parallel overwrite under each other.
fn on_fixture(subcommand: &str, fixture: &str, extra: &[&str]) -> std::process::Command {
    let mut cmd = support::plugpack();
    cmd.arg(subcommand)
        .arg("--manifest-path")
        .arg(fixture_manifest(fixture))
        .arg("--target-dir")
        .arg(support::fixture_target_dir().join(fixture))
        .args(["--locked", "--offline"])
        .args(extra);
    cmd
}

fn package(fixture: &str, dir: &Path, extra: &[&str]) -> PathBuf {
    let db = repo_root().join("tests/data/advisory-db");
    let out = dir.join(format!("{fixture}.oci.tar"));
    let mut args = vec![
        "--profile",
        "dev",
        "--target",
        HOST,
        "--allow-findings",
        "--db",
        db.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run_ok(&mut on_fixture("package", fixture, &args));
    out
}

fn diff(old: &Path, new: &Path, extra: &[&str]) -> std::process::Output {
    run(support::plugpack()
        .arg("diff")
        .arg(old)
        .arg(new)
        .args(extra))
}

#[test]
fn diff_of_the_fixture_pair_gives_exactly_its_changes() {
    let dir = support::tempdir();
    let old = package("diff-old", dir.path(), &[]);
    let new = package("diff-new", dir.path(), &[]);
    let out = diff(&old, &new, &["--format", "json"]);
    assert!(out.status.success());
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["schema"], "plugpack-diff/1");
    assert_eq!(
        d["added"],
        json!([{"name": "fnv", "version": "1.0.7", "license": "Apache-2.0 OR MIT"}])
    );
    assert_eq!(
        d["removed"],
        json!([{"name": "itoa", "version": "1.0.19", "license": "MIT OR Apache-2.0"}])
    );
    assert_eq!(
        d["upgraded"],
        json!([{"name": "smallvec", "from": "1.6.0", "to": "1.16.6", "license": "MIT OR Apache-2.0"}])
    );
    assert_eq!(d["downgraded"], json!([]));
    assert_eq!(
        d["license_changes"],
        json!([{"name": "lic-lib", "version": "0.1.0", "from": "MIT", "to": "BSD-3-Clause"}])
    );
    assert_eq!(d["new_licenses"], json!(["BSD-3-Clause"]));
    assert_eq!(d["advisories_appeared"], json!([]));
    assert_eq!(
        d["advisories_resolved"],
        json!([{"id": "RUSTSEC-2021-0003", "crate_name": "smallvec", "crate_version": "1.6.0", "status": "denied"}])
    );
    assert_eq!(d["abi_verdict"], "minor");
    assert!(d["abi_changes"][0].as_str().unwrap().contains("diff_hash"));
    assert_eq!(d["signers"]["changed"], false);
    assert_eq!(d["triggered"], json!(["new-license"]));

    // --fail-on: only a listed kind that appears fails.
    assert_eq!(
        diff(&old, &new, &["--fail-on", "new-license"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        diff(
            &old,
            &new,
            &["--fail-on", "new-advisory,abi-major,signer-change"]
        )
        .status
        .code(),
        Some(0)
    );
    // Backwards, the advisory appears and the ABI change is major (an export removed).
    let back: Value =
        serde_json::from_slice(&diff(&new, &old, &["--format", "json"]).stdout).unwrap();
    assert_eq!(back["advisories_appeared"][0]["id"], "RUSTSEC-2021-0003");
    assert_eq!(back["abi_verdict"], "major");
    assert_eq!(back["downgraded"][0]["name"], "smallvec");
    assert_eq!(
        diff(&new, &old, &["--fail-on", "new-advisory"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        diff(&new, &old, &["--fail-on", "abi-major"]).status.code(),
        Some(1)
    );
    assert_eq!(
        diff(&old, &new, &["--fail-on", "everything"]).status.code(),
        Some(2)
    );
    // Markdown for a PR comment.
    let md = String::from_utf8(diff(&old, &new, &["--format", "markdown"]).stdout).unwrap();
    assert!(md.contains("- upgraded smallvec 1.6.0 → 1.16.6"), "{md}");
    assert!(md.contains("**Attention:** new-license"));
}

#[test]
fn diff_reports_a_signer_change_and_reads_sbom_files() {
    let dir = support::tempdir();
    let key = dir.path().join("release");
    run_ok(support::plugpack().args(["keygen", "-o", key.to_str().unwrap()]));
    let old = package("diff-old", dir.path(), &[]);
    let new = package(
        "diff-new",
        dir.path(),
        &["--key", dir.path().join("release.key").to_str().unwrap()],
    );
    let out = diff(
        &old,
        &new,
        &["--format", "json", "--fail-on", "signer-change"],
    );
    assert_eq!(out.status.code(), Some(1));
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["signers"]["changed"], true);
    assert_eq!(d["signers"]["old"], json!([]));
    assert_eq!(d["signers"]["new"].as_array().unwrap().len(), 1);

    // SBOM files: the crates and licences, no ABI or signer facts.
    let mut sboms = Vec::new();
    for (fixture, format) in [("diff-old", "cyclonedx-json"), ("diff-new", "spdx-json")] {
        let path = dir.path().join(format!("{fixture}.json"));
        let text = run_ok(&mut on_fixture(
            "sbom",
            fixture,
            &["--target", HOST, "--format", format, "-o", "-"],
        ));
        std::fs::write(&path, text).unwrap();
        sboms.push(path);
    }
    let d: Value =
        serde_json::from_slice(&diff(&sboms[0], &sboms[1], &["--format", "json"]).stdout).unwrap();
    assert_eq!(d["old"]["kind"], "cyclonedx");
    assert_eq!(d["new"]["kind"], "spdx");
    assert_eq!(d["added"][0]["name"], "fnv");
    assert_eq!(d["removed"][0]["name"], "itoa");
    assert_eq!(d["upgraded"][0]["to"], "1.16.6");
    assert_eq!(d["license_changes"][0]["to"], "BSD-3-Clause");
    assert_eq!(d["abi_verdict"], Value::Null);
    // Not a document at all: exit 5.
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"hello\": 1}").unwrap();
    assert_eq!(diff(&junk, &sboms[1], &[]).status.code(), Some(5));
}

#[test]
fn report_shows_the_abi_verdict_against_a_baseline() {
    let dir = support::tempdir();
    let old = package("diff-old", dir.path(), &[]);
    let new = package("diff-new", dir.path(), &[]);
    let r: Value = serde_json::from_str(&run_ok(
        support::plugpack()
            .arg("report")
            .arg(&new)
            .args(["--format", "json", "--baseline"])
            .arg(&old),
    ))
    .unwrap();
    assert_eq!(r["abi_diff"]["baseline"], "diff-old.oci.tar");
    assert_eq!(r["abi_diff"]["verdict"], "minor");
    assert!(
        r["abi_diff"]["changes"][0]
            .as_str()
            .unwrap()
            .contains("diff_hash")
    );
    let md = run_ok(
        support::plugpack()
            .arg("report")
            .arg(&new)
            .args(["--format", "markdown", "--baseline"])
            .arg(&old),
    );
    assert!(
        md.contains("ABI against diff-old.oci.tar: **minor**"),
        "{md}"
    );
}
