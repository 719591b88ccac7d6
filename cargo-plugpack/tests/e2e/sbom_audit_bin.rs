//! Interop (issue 4): `cargo audit bin` reads back the cargo-auditable dependency list
//! (`.dep-v0`) that `cargo plugpack build` embeds into each artifact, ELF and wasm, on
//! `tests/fixtures/sbom-workspace`.
//!
//! cargo-audit's JSON report names only the dependency *count* of the list it reconstructs
//! and the packages an advisory matched. To read the crate names back exactly, the test
//! runs it against a copy of the pinned real advisory excerpt (`tests/data/advisory-db`,
//! CC0; without its deliberately malformed file, which cargo-audit's strict loader rejects)
//! plus one synthetic "unmaintained, no patched version" marker advisory per registry crate
//! of the fixture's Cargo.lock, written into the temporary copy only: every marker that
//! fires is a crate cargo-audit found in the artifact, with the version it found.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{self, on_fixture, run_ok};

const FIXTURE: &str = "sbom-workspace";

/// Every registry crate in the fixture's Cargo.lock, compiled or not (fnv is a
/// `cfg(any())` dependency, equivalent a dev-dependency: neither may ever be reported).
const REGISTRY_CRATES: &[&str] = &["cfg-if", "equivalent", "fnv", "itoa", "memchr"];

/// Marker advisory ids: `RUSTSEC-2099-9xxx`.
const MARKER_PREFIX: &str = "RUSTSEC-2099-9";

/// The pinned real advisories plus one marker advisory per registry crate, in `dir`;
/// returns the database and how many advisories it holds.
fn advisory_db(dir: &Path) -> (PathBuf, usize) {
    let src = support::repo_root().join("tests/data/advisory-db");
    let db = dir.join("advisory-db");
    let real = copy_dir(&src, &db);
    assert!(real > 0);
    for (i, name) in REGISTRY_CRATES.iter().enumerate() {
        let id = format!("{MARKER_PREFIX}{i:03}");
        let crate_dir = db.join("crates").join(name);
        std::fs::create_dir_all(&crate_dir).unwrap();
        std::fs::write(
            crate_dir.join(format!("{id}.md")),
            format!(
                "```toml\n[advisory]\nid = \"{id}\"\npackage = \"{name}\"\ndate = \"2099-01-01\"\n\
                 informational = \"unmaintained\"\n\n[versions]\npatched = []\n```\n\n\
                 # Test marker for {name}\n\nSynthetic marker written by plugpack's e2e test.\n"
            ),
        )
        .unwrap();
    }
    (db, real + REGISTRY_CRATES.len())
}

/// Copies `src` into `dest` without the malformed `broken-crate` advisory; returns the
/// number of advisories (`RUSTSEC-*.md` files) copied.
fn copy_dir(src: &Path, dest: &Path) -> usize {
    std::fs::create_dir_all(dest).unwrap();
    let mut advisories = 0;
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap();
        if name == "broken-crate" {
            continue;
        }
        let to = dest.join(name);
        if path.is_dir() {
            advisories += copy_dir(&path, &to);
        } else {
            std::fs::copy(&path, &to).unwrap();
            advisories += usize::from(name.starts_with("RUSTSEC-") && name.ends_with(".md"));
        }
    }
    advisories
}

/// The artifact `cargo plugpack build --message-format json` reports for `target`.
fn build_artifact(target: &str, extra: &[&str]) -> PathBuf {
    let mut args = vec!["--target", target, "--message-format", "json"];
    args.extend_from_slice(extra);
    let out = run_ok(&mut on_fixture("build", FIXTURE, &args));
    let artifacts: Vec<Value> = support::json_lines(&out)
        .into_iter()
        .filter(|m| m["reason"] == "plugin-artifact")
        .collect();
    assert_eq!(artifacts.len(), 1, "{out}");
    assert_eq!(artifacts[0]["target"], target);
    let path = PathBuf::from(artifacts[0]["path"].as_str().unwrap());
    assert!(path.is_absolute(), "{path:?}");
    path
}

/// `cargo audit --db DB --no-fetch --json bin ARTIFACT`, parsed.
fn cargo_audit_bin(db: &Path, artifact: &Path) -> Value {
    let out = Command::new("cargo-audit")
        .args(["audit", "--no-fetch", "--json", "--db"])
        .arg(db)
        .arg("bin")
        .arg(artifact)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo audit bin {artifact:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "cargo-audit output is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// (name, version) of every package a marker advisory fired for, sorted.
fn marked_packages(report: &Value) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = report["warnings"]["unmaintained"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|w| {
            w["advisory"]["id"]
                .as_str()
                .unwrap()
                .starts_with(MARKER_PREFIX)
        })
        .map(|w| {
            assert_eq!(
                w["package"]["source"],
                "registry+https://github.com/rust-lang/crates.io-index"
            );
            (
                w["package"]["name"].as_str().unwrap().to_owned(),
                w["package"]["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

/// Our own SBOM of the same build: (name, version) of its registry components, and the
/// number of components.
fn our_sbom(target: &str) -> (Vec<(String, String)>, usize) {
    let text = run_ok(&mut on_fixture(
        "sbom",
        FIXTURE,
        &["--target", target, "-o", "-"],
    ));
    let doc: Value = serde_json::from_str(&text).unwrap();
    let components = doc["components"].as_array().unwrap();
    let mut registry: Vec<(String, String)> = components
        .iter()
        .filter(|c| REGISTRY_CRATES.contains(&c["name"].as_str().unwrap()))
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    registry.sort();
    (registry, components.len())
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
#[ignore = "interop: needs cargo-audit; run by .ci/test"]
fn cargo_audit_bin_reads_the_embedded_dependency_list_of_elf_and_wasm_plugins() {
    support::require_tool("cargo-audit");
    let dir = support::tempdir();
    let (db, advisory_count) = advisory_db(dir.path());
    let expected = [
        (
            "x86_64-unknown-linux-gnu",
            // memchr: compiled for the build script only (kind "build" in the list).
            pairs(&[("itoa", "1.0.19"), ("memchr", "2.8.3")]),
        ),
        (
            "wasm32-wasip1",
            // cfg-if: pulled in by a wasm-only feature of the path crate.
            pairs(&[("cfg-if", "1.0.5"), ("itoa", "1.0.19"), ("memchr", "2.8.3")]),
        ),
    ];
    for (target, want) in expected {
        let artifact = build_artifact(target, &[]);
        let report = cargo_audit_bin(&db, &artifact);
        // The whole database loaded: the real advisories and the markers.
        assert_eq!(
            report["database"]["advisory-count"], advisory_count,
            "{report}"
        );
        assert_eq!(report["vulnerabilities"]["found"], false, "{report}");
        let found = marked_packages(&report);
        assert_eq!(found, want, "{target}: {report}");
        // Exactly the registry crates and versions of our SBOM of the same build, and
        // the same number of packages: our components plus the plugin itself.
        let (ours, component_count) = our_sbom(target);
        assert_eq!(found, ours, "{target}");
        assert_eq!(
            report["lockfile"]["dependency-count"],
            component_count + 1,
            "{target}: {report}"
        );
        // Control: without the embedded list cargo-audit falls back to guessing from panic
        // messages, and misses what left no panic path behind (memchr, a build-only crate).
        let plain = build_artifact(target, &["--no-embed-deps"]);
        assert_ne!(plain, artifact);
        let plain_report = cargo_audit_bin(&db, &plain);
        let plain_found = marked_packages(&plain_report);
        assert!(
            !plain_found.iter().any(|(name, _)| name == "memchr"),
            "{target}: {plain_report}"
        );
        assert!(
            plain_report["lockfile"]["dependency-count"]
                .as_u64()
                .unwrap()
                < report["lockfile"]["dependency-count"].as_u64().unwrap(),
            "{target}: {plain_report}"
        );
    }
}
