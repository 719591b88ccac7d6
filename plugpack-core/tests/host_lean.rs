//! The host feature set on its own (`--no-default-features --features guard,verify`, run by
//! `.ci/run`): the guard on real (hand-assembled) wasm modules and the verifier's refusal
//! of a non-bundle, with none of the tool-side modules compiled.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use camino::Utf8PathBuf;
use plugpack_core::guard::{AbiExpectation, Reason, check_file};
use plugpack_core::sign::SecretKey;
use plugpack_core::verify::{FailureCode, TrustPolicy, Verifier};

/// A wasm module exporting one function `name: () -> i32` returning 42.
fn module(name: &str) -> Vec<u8> {
    let mut m = vec![0, b'a', b's', b'm', 1, 0, 0, 0];
    m.extend([1, 5, 1, 0x60, 0, 1, 0x7f]); // type section: () -> i32
    m.extend([3, 2, 1, 0]); // function section: one function of type 0
    let mut export = vec![1, name.len() as u8];
    export.extend(name.as_bytes());
    export.extend([0, 0]); // function 0
    m.push(7);
    m.push(export.len() as u8);
    m.extend(export);
    m.extend([10, 6, 1, 4, 0, 0x41, 42, 0x0b]); // code: i32.const 42
    m
}

fn tempdir() -> (tempfile::TempDir, Utf8PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
    (dir, path)
}

#[test]
fn the_guard_accepts_the_same_interface_and_names_a_missing_export() {
    let (_keep, dir) = tempdir();
    let good = dir.join("good.wasm");
    let bad = dir.join("bad.wasm");
    std::fs::write(&good, module("plugin_entry")).unwrap();
    std::fs::write(&bad, module("plugin_other")).unwrap();
    let doc = plugpack_core::fingerprint::fingerprint_file(&good).unwrap();
    let expected = AbiExpectation::from_json(&doc.to_json().unwrap()).unwrap();
    let ok = check_file(&good, &expected).unwrap();
    assert_eq!(ok.fingerprint, doc.fingerprint);
    let refused = check_file(&bad, &expected).unwrap_err();
    assert!(
        refused.reasons.contains(&Reason::MissingExport {
            name: "plugin_entry".to_owned()
        }),
        "{refused}"
    );
}

#[test]
fn the_verifier_with_a_host_abi_rejects_a_file_that_is_not_a_bundle() {
    let (_keep, dir) = tempdir();
    let key = SecretKey::from_seed(&[7u8; 32]);
    let public = dir.join("k.pub");
    std::fs::write(&public, key.public().to_pem().unwrap()).unwrap();
    let plugin = dir.join("plugin.wasm");
    std::fs::write(&plugin, module("plugin_entry")).unwrap();
    let expected = AbiExpectation::from_fingerprint(
        &plugpack_core::fingerprint::fingerprint_file(&plugin).unwrap(),
    );
    let verifier =
        Verifier::new(TrustPolicy::from_keys(&[public]).unwrap(), None).host_abi(expected);
    // A plugin file is not a signed bundle: refused as such, before any ABI check.
    let report = verifier.verify_bundle(&plugin).unwrap();
    assert!(!report.verified);
    assert_eq!(
        report.codes().into_iter().collect::<Vec<_>>(),
        vec![FailureCode::BundleInvalid]
    );
    assert!(report.artifacts.is_empty());
}
