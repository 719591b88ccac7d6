//! `Verifier::host_abi` on bundles written by `oci::pack` and `sign`: which ABI document the
//! guard trusts when the shipped artifact has no type information (a release build), and
//! that a signed ABI attachment that does not describe the artifact is refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;

use camino::{Utf8Path, Utf8PathBuf};
use plugpack_core::build::{BuiltArtifact, PluginKind};
use plugpack_core::fingerprint::{self, AbiFingerprint};
use plugpack_core::guard::AbiExpectation;
use plugpack_core::oci::{self, Attachment, PackOptions};
use plugpack_core::project::{Config, Plugin};
use plugpack_core::sign::{self, SecretKey, SignOptions};
use plugpack_core::types::Sha256Digest;
use plugpack_core::verify::{AbiStatus, FailureCode, TrustPolicy, Verifier, VerifyReport};
use plugpack_core::{Ctx, SilentReporter};

const EPOCH: i64 = 1_704_164_645;
const TARGET: &str = "wasm32-wasip1";

/// A wasm module exporting one function `name: () -> i32` (no DWARF: symbols level).
fn module(name: &str) -> Vec<u8> {
    let mut m = vec![0, b'a', b's', b'm', 1, 0, 0, 0];
    m.extend([1, 5, 1, 0x60, 0, 1, 0x7f]);
    m.extend([3, 2, 1, 0]);
    let mut export = vec![1, name.len() as u8];
    export.extend(name.as_bytes());
    export.extend([0, 0]);
    m.push(7);
    m.push(export.len() as u8);
    m.extend(export);
    m.extend([10, 6, 1, 4, 0, 0x41, 42, 0x0b]);
    m
}

fn doc_of(bytes: &[u8]) -> AbiFingerprint {
    fingerprint::fingerprint_bytes(Utf8Path::new("m.wasm"), bytes).unwrap()
}

fn abi_attachment(doc: &AbiFingerprint, annotated: &Sha256Digest) -> Attachment {
    Attachment {
        target: TARGET.to_owned(),
        artifact_type: fingerprint::MEDIA_TYPE.to_owned(),
        media_type: fingerprint::MEDIA_TYPE.to_owned(),
        bytes: doc.to_json().unwrap(),
        title: "abi.json".to_owned(),
        subject_annotations: [(fingerprint::ANNOTATION.to_owned(), annotated.to_string())]
            .into_iter()
            .collect(),
    }
}

/// A signed one-target wasm bundle of `module` with `attachments`.
fn signed_bundle(
    dir: &Utf8Path,
    stem: &str,
    module: &[u8],
    attachments: &[Attachment],
    key: &SecretKey,
) -> Utf8PathBuf {
    let path = dir.join(format!("{stem}.wasm"));
    std::fs::write(&path, module).unwrap();
    let plugin = Plugin {
        package_id: "demo-abi 1.0.0".to_owned(),
        package_name: "demo-abi".to_owned(),
        name: "demo-abi".to_owned(),
        version: "1.0.0".to_owned(),
        manifest_path: Utf8PathBuf::from("Cargo.toml"),
        lib_name: "demo_abi".to_owned(),
        license: None,
        repository: None,
        description: None,
        authors: Vec::new(),
        config: Config::default(),
    };
    let artifact = BuiltArtifact {
        plugin: "demo-abi".to_owned(),
        package: "demo-abi".to_owned(),
        version: "1.0.0".to_owned(),
        kind: PluginKind::Wasm,
        target: TARGET.to_owned(),
        path,
        file_name: "demo_abi.wasm".to_owned(),
        sha256: Sha256Digest::of_bytes(module),
        size: module.len() as u64,
        profile: "release".to_owned(),
        rustc_version: None,
        stamp: None,
    };
    let output = dir.join(format!("{stem}.oci.tar"));
    oci::pack(
        &plugin,
        &[artifact],
        attachments,
        &PackOptions {
            output: output.clone(),
            epoch: EPOCH,
            revision: None,
        },
    )
    .unwrap();
    let ctx = Ctx::with_env(
        BTreeMap::from([("SOURCE_DATE_EPOCH".to_owned(), EPOCH.to_string())]),
        Arc::new(SilentReporter),
    );
    sign::sign_bundle_with(&output, key, &SignOptions::default(), &ctx).unwrap();
    output
}

fn verify(bundle: &Utf8Path, key: &SecretKey, expected: AbiExpectation) -> VerifyReport {
    let pem = key.public().to_pem().unwrap();
    let text = format!(
        "[roots.vendor]\nkeys = [\"\"\"\n{pem}\"\"\"]\n\n[[policy]]\npattern = \"*\"\nroots = [\"vendor\"]\n"
    );
    let policy = TrustPolicy::parse(&text, "inline", Utf8Path::new(".")).unwrap();
    Verifier::new(policy, None)
        .host_abi(expected)
        .verify_bundle(bundle)
        .unwrap()
}

fn abi_messages(report: &VerifyReport) -> Vec<String> {
    report
        .failures
        .iter()
        .filter(|f| f.code == FailureCode::AbiIncompatible)
        .map(|f| f.message.clone())
        .collect()
}

#[test]
fn a_signed_attachment_describing_the_artifact_is_used_and_a_mismatch_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dir = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
    let key = SecretKey::from_seed(&[5u8; 32]);
    let shipped = module("plugin_entry");
    let own = doc_of(&shipped);
    let expected = AbiExpectation::from_fingerprint(&own);

    // Honest attachment: compatible.
    let honest = signed_bundle(
        &dir,
        "honest",
        &shipped,
        &[abi_attachment(&own, &own.fingerprint)],
        &key,
    );
    let report = verify(&honest, &key, expected.clone());
    assert!(report.verified, "{report:?}");
    assert_eq!(
        report.artifacts[0].abi,
        Some(AbiStatus::Compatible {
            fingerprint: own.fingerprint,
            detail: "symbols".to_owned()
        })
    );

    // A (signed) attachment for other bytes: the guard does not take it on trust.
    let other = doc_of(&module("plugin_other"));
    let forged = signed_bundle(
        &dir,
        "forged",
        &shipped,
        &[abi_attachment(&other, &other.fingerprint)],
        &key,
    );
    let report = verify(&forged, &key, expected.clone());
    assert!(!report.verified);
    let messages = abi_messages(&report);
    assert_eq!(messages.len(), 1, "{report:?}");
    assert!(
        messages[0].contains("does not describe the artifact"),
        "{}",
        messages[0]
    );

    // The attachment disagrees with the fingerprint annotated on the signed manifest.
    let mislabelled = signed_bundle(
        &dir,
        "mislabelled",
        &shipped,
        &[abi_attachment(&own, &other.fingerprint)],
        &key,
    );
    let report = verify(&mislabelled, &key, expected.clone());
    assert!(!report.verified);
    let messages = abi_messages(&report);
    assert!(
        messages
            .iter()
            .any(|m| m.contains("the signed manifest says")),
        "{messages:?}"
    );

    // No attachment and a host that requires types: the artifact alone cannot vouch.
    let bare = signed_bundle(&dir, "bare", &shipped, &[], &key);
    let mut strict = expected;
    strict.require_types = true;
    let report = verify(&bare, &key, strict);
    assert!(!report.verified);
    let messages = abi_messages(&report);
    assert!(messages.iter().any(|m| m.contains("type")), "{messages:?}");
    assert!(
        matches!(
            report.artifacts[0].abi,
            Some(AbiStatus::Incompatible { .. })
        ),
        "{report:?}"
    );
}
