//! `verify --host-abi FILE` and `Verifier::host_abi`: after the signature and policy checks,
//! every plugin artifact of the bundle must match the interface the host was built for.
//! Bundles are real `package --key` outputs of the `abi-plugin` fixture (release profile,
//! so the shipped library has no DWARF and the types come from the signed ABI attachment);
//! expectations are `fingerprint` documents of its variants.

use std::path::{Path, PathBuf};

use camino::Utf8PathBuf;
use plugpack_core::guard::AbiExpectation;
use plugpack_core::verify::{AbiStatus, FailureCode, TrustPolicy, Verifier};
use serde_json::Value;

use crate::support::{self, json_lines, plugpack, run, run_fails, run_ok};

const FIXTURE: &str = "abi-plugin";

fn utf8(p: &Path) -> Utf8PathBuf {
    Utf8PathBuf::from_path_buf(p.to_owned()).unwrap()
}

/// Own target dirs: other tests build other feature sets of the same fixture in parallel.
fn target_dir(what: &str) -> PathBuf {
    support::fixture_target_dir().join(format!("host-abi-{what}"))
}

/// `fingerprint -o` of one variant of the fixture (`base` = default features).
fn expectation(variant: &str, dir: &Path) -> PathBuf {
    let out = dir.join(format!("{variant}.abi.json"));
    let mut cmd = plugpack();
    cmd.arg("fingerprint")
        .arg("--manifest-path")
        .arg(support::fixture_manifest(FIXTURE))
        .arg("--target-dir")
        .arg(target_dir(variant))
        .args(["--locked", "--offline", "-q", "-o"])
        .arg(&out);
    if variant != "base" {
        cmd.args(["--features", variant]);
    }
    run_ok(&mut cmd);
    out
}

/// A key pair and the fixture (default features, release profile: no DWARF in the shipped
/// library) packaged and signed with it.
fn signed_bundle(dir: &Path) -> (PathBuf, PathBuf) {
    let stem = dir.join("k");
    run_ok(plugpack().args(["keygen", "-q", "-o"]).arg(&stem));
    let bundle = dir.join("abi-plugin.oci.tar");
    run_ok(
        plugpack()
            .arg("package")
            .arg("--manifest-path")
            .arg(support::fixture_manifest(FIXTURE))
            .arg("--target-dir")
            .arg(target_dir("package"))
            .args(["--locked", "--offline", "-q", "--release", "-o"])
            .arg(&bundle)
            .arg("--key")
            .arg(stem.with_extension("key")),
    );
    (bundle, stem.with_extension("pub"))
}

/// `verify --format json BUNDLE --state DIR ARGS…` → (exit code, report).
fn verify(bundle: &Path, state: &Path, args: &[&str]) -> (i32, Value) {
    let out = run(plugpack()
        .args(["verify", "--format", "json"])
        .arg(bundle)
        .arg("--state")
        .arg(state)
        .args(args));
    let stdout = String::from_utf8(out.stdout).unwrap();
    (
        out.status.code().unwrap(),
        json_lines(&stdout).pop().unwrap_or(Value::Null),
    )
}

fn failures(report: &Value, code: &str) -> Vec<String> {
    report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .map(|f| f["message"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn verify_host_abi_passes_a_compatible_plugin_and_fails_incompatible_expectations() {
    let dir = support::tempdir();
    let (bundle, public) = signed_bundle(dir.path());
    let key = public.to_str().unwrap();
    let state = dir.path().join("state");

    // The interface the plugin was built from: verified, types level through the signed
    // attachment (the shipped release library itself has no DWARF).
    let base = expectation("base", dir.path());
    let (code, report) = verify(
        &bundle,
        &state,
        &["--key", key, "--host-abi", base.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["verified"], true);
    let abi = &report["artifacts"][0]["abi"];
    assert_eq!(abi["status"], "compatible", "{report:#}");
    assert_eq!(abi["detail"], "types", "{report:#}");
    let base_doc: Value = serde_json::from_slice(&std::fs::read(&base).unwrap()).unwrap();
    assert_eq!(abi["fingerprint"], base_doc["fingerprint"]);
    assert_eq!(report["state_updated"], true);
    // The shipped library alone is symbols level: the types came from the signed attachment.
    let lib = target_dir("package").join("release/libabi_plugin.so");
    let own = run_ok(
        plugpack()
            .args(["fingerprint", "--message-format", "json", "--artifact"])
            .arg(&lib),
    );
    assert!(own.contains("\"detail\":\"symbols\""), "{own}");

    // A host built against a plugin interface with one more function: missing export.
    let added = expectation("fn-added", dir.path());
    let (code, report) = verify(
        &bundle,
        &state,
        &["--key", key, "--host-abi", added.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["verified"], false);
    assert_eq!(report["state_updated"], false);
    let messages = failures(&report, "abi-incompatible");
    assert_eq!(messages.len(), 1, "{report:#}");
    assert!(
        messages[0].contains("missing export `plugin_extra`"),
        "{}",
        messages[0]
    );
    assert_eq!(report["artifacts"][0]["abi"]["status"], "incompatible");
    // Only the ABI failed: the signature and policy checks passed.
    assert_eq!(
        report["failures"].as_array().unwrap().len(),
        1,
        "{report:#}"
    );

    // A host whose `plugin_scale` takes an i64: changed export, named with its signature.
    let widened = expectation("param-i64", dir.path());
    let (code, report) = verify(
        &bundle,
        &state,
        &["--key", key, "--host-abi", widened.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{report:#}");
    let messages = failures(&report, "abi-incompatible");
    assert!(
        messages.iter().any(|m| m.contains("plugin_scale")),
        "{messages:?}"
    );
    assert!(
        !messages.iter().any(|m| m.contains("plugin_reset")),
        "{messages:?}"
    );

    // Human output names the code and the reason; exit 1.
    let stderr = run_fails(
        plugpack()
            .arg("verify")
            .arg(&bundle)
            .arg("--state")
            .arg(&state)
            .args(["--key", key, "--host-abi", added.to_str().unwrap()]),
        1,
    );
    assert!(stderr.contains("[abi-incompatible]"), "{stderr}");
    assert!(stderr.contains("plugin_extra"), "{stderr}");

    // A host ABI file that is not a fingerprint document is an invalid input file (exit 5).
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, b"{\"schema\": \"nope\"}").unwrap();
    let stderr = run_fails(
        plugpack()
            .arg("verify")
            .arg(&bundle)
            .arg("--state")
            .arg(&state)
            .args(["--key", key, "--host-abi", garbage.to_str().unwrap()]),
        5,
    );
    assert!(stderr.contains("host ABI expectation"), "{stderr}");
}

#[test]
fn an_audit_policy_does_not_relax_the_host_abi_and_hosts_get_the_same_checks() {
    let dir = support::tempdir();
    let (bundle, public) = signed_bundle(dir.path());
    let added = expectation("fn-added", dir.path());
    let base = expectation("base", dir.path());

    // Audit relaxes trust, not the ABI: an incompatible plugin is still rejected.
    let policy = dir.path().join("plugpack-trust.toml");
    std::fs::write(
        &policy,
        format!(
            "[roots.main]\nkeys = [{:?}]\n\n[[policy]]\npattern = \"*\"\nroots = [\"main\"]\n\
             level = \"audit\"\n",
            public.to_str().unwrap()
        ),
    )
    .unwrap();
    let (code, report) = verify(
        &bundle,
        &dir.path().join("state"),
        &[
            "--policy",
            policy.to_str().unwrap(),
            "--host-abi",
            added.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["verified"], false);
    assert_eq!(failures(&report, "abi-incompatible").len(), 1, "{report:#}");

    // The host API: the same verdicts from `Verifier::host_abi`.
    let policy = TrustPolicy::from_keys(&[utf8(&public)]).unwrap();
    let load = |p: &Path| AbiExpectation::from_json(&std::fs::read(p).unwrap()).unwrap();
    let report = Verifier::new(policy.clone(), None)
        .host_abi(load(&base))
        .verify_bundle(&utf8(&bundle))
        .unwrap();
    assert!(report.verified, "{report:?}");
    assert!(
        matches!(report.artifacts[0].abi, Some(AbiStatus::Compatible { .. })),
        "{report:?}"
    );
    let report = Verifier::new(policy.clone(), None)
        .host_abi(load(&added))
        .verify_bundle(&utf8(&bundle))
        .unwrap();
    assert!(!report.verified);
    assert_eq!(
        report.codes().into_iter().collect::<Vec<_>>(),
        vec![FailureCode::AbiIncompatible]
    );
    // Without an expectation nothing ABI-related is checked or reported.
    let report = Verifier::new(policy, None)
        .verify_bundle(&utf8(&bundle))
        .unwrap();
    assert!(
        report.verified && report.artifacts[0].abi.is_none(),
        "{report:?}"
    );
}
