//! The host-side API on bundles written by `oci::pack` (no cargo, no CLI): what a plugin
//! host does before loading a plugin.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;

use camino::{Utf8Path, Utf8PathBuf};
use plugpack_core::build::{BuiltArtifact, PluginKind};
use plugpack_core::oci::{self, Attachment, PackOptions};
use plugpack_core::project::{Config, Plugin};
use plugpack_core::sign::{self, SecretKey, SignOptions};
use plugpack_core::verify::{FailureCode, StateStore, TrustPolicy, Verifier};
use plugpack_core::{Ctx, SilentReporter, types::Sha256Digest};

const EPOCH: i64 = 1_704_164_645;

fn ctx() -> Ctx {
    let mut env = BTreeMap::new();
    env.insert("SOURCE_DATE_EPOCH".to_owned(), EPOCH.to_string());
    Ctx::with_env(env, Arc::new(SilentReporter))
}

fn plugin(name: &str, version: &str) -> Plugin {
    Plugin {
        package_id: format!("{name} {version}"),
        package_name: name.to_owned(),
        name: name.to_owned(),
        version: version.to_owned(),
        manifest_path: Utf8PathBuf::from("Cargo.toml"),
        lib_name: name.replace('-', "_"),
        license: None,
        repository: None,
        description: None,
        authors: Vec::new(),
        config: Config::default(),
    }
}

/// A one-target wasm bundle of `name` `version`.
fn bundle(dir: &Utf8Path, name: &str, version: &str) -> Utf8PathBuf {
    bundle_with(dir, name, version, &[])
}

fn attachment(artifact_type: &str, body: &str, subject_annotations: &[(&str, &str)]) -> Attachment {
    Attachment {
        target: "wasm32-wasip1".to_owned(),
        artifact_type: artifact_type.to_owned(),
        media_type: artifact_type.to_owned(),
        bytes: body.as_bytes().to_vec(),
        title: "doc.json".to_owned(),
        subject_annotations: subject_annotations
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn bundle_with(
    dir: &Utf8Path,
    name: &str,
    version: &str,
    attachments: &[Attachment],
) -> Utf8PathBuf {
    let module = dir.join(format!("{name}-{version}.wasm"));
    let bytes = format!("\0asm\x01\0\0\0{version}");
    std::fs::write(&module, &bytes).unwrap();
    let plugin = plugin(name, version);
    let artifact = BuiltArtifact {
        plugin: name.to_owned(),
        package: name.to_owned(),
        version: version.to_owned(),
        kind: PluginKind::Wasm,
        target: "wasm32-wasip1".to_owned(),
        path: module.clone(),
        file_name: format!("{name}.wasm"),
        sha256: Sha256Digest::of_bytes(bytes.as_bytes()),
        size: bytes.len() as u64,
        profile: "release".to_owned(),
        rustc_version: None,
        stamp: None,
    };
    let output = dir.join(format!("{name}-{version}.oci.tar"));
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
    output
}

fn sign_with(bundle: &Utf8Path, key: &SecretKey) {
    sign::sign_bundle_with(bundle, key, &SignOptions::default(), &ctx()).unwrap();
}

/// A policy with the key inline (no key files needed).
fn policy(key: &SecretKey, extra: &str) -> TrustPolicy {
    let pem = key.public().to_pem().unwrap();
    let text = format!(
        "[roots.vendor]\nkeys = [\"\"\"\n{pem}\"\"\"]\n\n[[policy]]\npattern = \"demo-*\"\nroots = [\"vendor\"]\n{extra}\n"
    );
    TrustPolicy::parse(&text, "inline", Utf8Path::new(".")).unwrap()
}

fn tempdir() -> (tempfile::TempDir, Utf8PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
    (dir, path)
}

#[test]
fn host_verifies_then_loads_only_verified_files_and_refuses_rollback() {
    let (_guard, dir) = tempdir();
    let key = SecretKey::from_seed(&[42; 32]);
    let v1 = bundle(&dir, "demo-plugin", "1.0.0");
    let v2 = bundle(&dir, "demo-plugin", "2.0.0");
    sign_with(&v1, &key);
    sign_with(&v2, &key);
    let state = StateStore::new(dir.join("state"));
    let host = Verifier::new(policy(&key, ""), Some(state.clone())).at_time(EPOCH + 60);

    let report = host.verify_bundle_into(&v2, &dir.join("load")).unwrap();
    assert!(report.verified, "{report:?}");
    let file = report.artifacts[0].path.clone().unwrap();
    assert_eq!(
        std::fs::read(&file).unwrap(),
        b"\0asm\x01\0\0\x002.0.0".to_vec()
    );
    assert_eq!(report.attestation.unwrap().predicate.version, "2.0.0");
    assert_eq!(state.get("demo-plugin").unwrap().unwrap().version, "2.0.0");

    let report = host.verify_bundle_into(&v1, &dir.join("old")).unwrap();
    assert!(!report.verified);
    assert_eq!(
        report.codes().into_iter().collect::<Vec<_>>(),
        [FailureCode::Rollback]
    );
    assert!(!dir.join("old").exists(), "a rejected plugin was extracted");
    assert!(
        host.clone()
            .allow_downgrade(true)
            .verify_bundle(&v1)
            .unwrap()
            .verified
    );
}

#[test]
fn host_verifies_an_extracted_layout_directory() {
    let (_guard, dir) = tempdir();
    let key = SecretKey::from_seed(&[7; 32]);
    let b = bundle(&dir, "demo-x", "0.1.0");
    sign_with(&b, &key);
    let layout = dir.join("layout");
    std::fs::create_dir(&layout).unwrap();
    tar::Archive::new(std::fs::File::open(&b).unwrap())
        .unpack(&layout)
        .unwrap();
    let host = Verifier::new(policy(&key, ""), None).at_time(EPOCH);
    let report = host.verify_extracted(&layout).unwrap();
    assert!(report.verified, "{report:?}");
    let path = report.artifacts[0].path.clone().unwrap();
    assert!(path.starts_with(&layout));
    assert_eq!(
        Sha256Digest::of_file(&path).unwrap().0,
        report.artifacts[0].digest
    );
    // A modified blob in the directory is caught.
    std::fs::write(&path, b"\0asm\x01\0\0\0evil!").unwrap();
    let report = host.verify_extracted(&layout).unwrap();
    assert!(!report.verified);
    assert!(report.codes().contains(&FailureCode::BundleInvalid));
}

#[test]
fn times_are_evaluated_at_the_hosts_clock() {
    let (_guard, dir) = tempdir();
    let key = SecretKey::from_seed(&[8; 32]);
    let b = bundle(&dir, "demo-t", "0.1.0");
    sign::sign_bundle_with(
        &b,
        &key,
        &SignOptions {
            expires: Some("2024-02-01T00:00:00Z".to_owned()),
            // Signing "now" is the fixed epoch, so a 2024 expiry is in the future.
            now: Some(EPOCH),
            ..SignOptions::default()
        },
        &ctx(),
    )
    .unwrap();
    let p = policy(&key, "max_age = \"7d\"");
    let at = |t: i64| {
        Verifier::new(p.clone(), None)
            .at_time(t)
            .verify_bundle(&b)
            .unwrap()
    };
    assert!(at(EPOCH + 86_400).verified);
    assert_eq!(
        at(EPOCH + 8 * 86_400)
            .codes()
            .into_iter()
            .collect::<Vec<_>>(),
        [FailureCode::SignatureTooOld]
    );
    let late = Verifier::new(policy(&key, ""), None)
        .at_time(EPOCH + 60 * 86_400)
        .verify_bundle(&b)
        .unwrap();
    assert_eq!(
        late.codes().into_iter().collect::<Vec<_>>(),
        [FailureCode::SignatureExpired]
    );
}

/// Issue 12.8: a `signed_at` after the verifier's clock (beyond the skew allowance) is
/// rejected, so a future `SOURCE_DATE_EPOCH` cannot stretch `max_age`; `sign` refuses to
/// make such a signature, and refuses an expiry that has passed.
#[test]
fn signatures_from_the_future_are_rejected_and_not_made() {
    let (_guard, dir) = tempdir();
    let key = SecretKey::from_seed(&[12; 32]);
    let b = bundle(&dir, "demo-future", "0.1.0");
    // Refused: SOURCE_DATE_EPOCH (signed_at) a day after the signer's clock.
    let err = sign::sign_bundle_with(
        &b,
        &key,
        &SignOptions {
            now: Some(EPOCH - 86_400),
            ..SignOptions::default()
        },
        &ctx(),
    )
    .unwrap_err();
    assert!(matches!(err, sign::Error::FutureSignedAt { .. }), "{err}");
    // Refused: an expiry before the clock.
    let err = sign::sign_bundle_with(
        &b,
        &key,
        &SignOptions {
            expires: Some("2024-01-02T00:00:00Z".to_owned()),
            now: Some(EPOCH),
            ..SignOptions::default()
        },
        &ctx(),
    )
    .unwrap_err();
    assert!(matches!(err, sign::Error::ExpiryInPast { .. }), "{err}");
    // Within the skew allowance a signer's clock may be a little behind.
    sign::sign_bundle_with(
        &b,
        &key,
        &SignOptions {
            now: Some(EPOCH - 200),
            ..SignOptions::default()
        },
        &ctx(),
    )
    .unwrap();
    let p = policy(&key, "max_age = \"7d\"");
    let at = |t: i64| {
        Verifier::new(p.clone(), None)
            .at_time(t)
            .verify_bundle(&b)
            .unwrap()
    };
    assert!(at(EPOCH - 200).verified);
    assert!(at(EPOCH - sign::CLOCK_SKEW_SECS).verified);
    let report = at(EPOCH - sign::CLOCK_SKEW_SECS - 1);
    assert_eq!(
        report.codes().into_iter().collect::<Vec<_>>(),
        [FailureCode::SignedInFuture],
        "{report:?}"
    );
    // Also without a max_age: a signature from the future is never trusted.
    let report = Verifier::new(policy(&key, ""), None)
        .at_time(EPOCH - 30 * 86_400)
        .verify_bundle(&b)
        .unwrap();
    assert_eq!(
        report.codes().into_iter().collect::<Vec<_>>(),
        [FailureCode::SignedInFuture]
    );
}

#[test]
fn failure_codes_are_unique() {
    let all = [
        FailureCode::BundleInvalid,
        FailureCode::IndexInvalid,
        FailureCode::NoSignature,
        FailureCode::EnvelopeInvalid,
        FailureCode::StatementInvalid,
        FailureCode::BadSignature,
        FailureCode::UntrustedSigner,
        FailureCode::KeyRevoked,
        FailureCode::KeyNotYetValid,
        FailureCode::KeyExpired,
        FailureCode::SubjectMismatch,
        FailureCode::PredicateMismatch,
        FailureCode::SignatureExpired,
        FailureCode::SignatureTooOld,
        FailureCode::SignedInFuture,
        FailureCode::ThresholdNotMet,
        FailureCode::NoPolicyMatch,
        FailureCode::MissingAttachment,
        FailureCode::Rollback,
        FailureCode::AbiIncompatible,
    ];
    let names: std::collections::BTreeSet<&str> = all.iter().map(|c| c.as_str()).collect();
    assert_eq!(names.len(), all.len());
    for c in all {
        assert_eq!(
            serde_json::to_value(c).unwrap(),
            serde_json::json!(c.as_str())
        );
    }
}

#[test]
fn attachments_are_signed_required_and_later_additions_detected() {
    let (_guard, dir) = tempdir();
    let key = SecretKey::from_seed(&[9; 32]);
    let b = bundle_with(
        &dir,
        "demo-a",
        "0.1.0",
        &[
            attachment(
                "application/vnd.cyclonedx+json",
                "{\"bomFormat\":\"CycloneDX\"}",
                &[],
            ),
            attachment(
                "application/vnd.plugpack.audit.v1+json",
                "{\"findings\":[]}",
                &[("dev.plugpack.audit.verdict", "pass")],
            ),
        ],
    );
    sign_with(&b, &key);
    let strict = policy(&key, "require = [\"sbom\", \"audit\"]");
    let report = Verifier::new(strict.clone(), None)
        .at_time(EPOCH)
        .verify_bundle(&b)
        .unwrap();
    assert!(report.verified, "{report:?}");
    let attachments = report.attestation.unwrap().predicate.attachments;
    let kinds: Vec<&str> = attachments.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, ["audit", "sbom"]);
    assert_eq!(attachments[0].verdict.as_deref(), Some("pass"));
    let missing = Verifier::new(policy(&key, "require = [\"abi\"]"), None)
        .at_time(EPOCH)
        .verify_bundle(&b)
        .unwrap();
    assert_eq!(
        missing.codes().into_iter().collect::<Vec<_>>(),
        [FailureCode::MissingAttachment]
    );

    // An attachment added after signing is not covered by the signature.
    let info = oci::inspect(&oci::read_bundle(&b).unwrap()).unwrap();
    let mut rebuilt = oci::rebuild(&b).unwrap();
    let subject = rebuilt
        .builder
        .index_entries()
        .iter()
        .find(|d| d.digest().to_string() == info.manifests[0].digest.to_string())
        .unwrap()
        .clone();
    rebuilt
        .builder
        .add_referrer(
            &subject,
            &attachment(
                "application/vnd.plugpack.abi-fingerprint.v1+json",
                "{}",
                &[],
            ),
            "2024-01-01T00:00:00Z",
        )
        .unwrap();
    rebuilt.builder.write(&b, rebuilt.epoch).unwrap();
    let report = Verifier::new(strict, None)
        .at_time(EPOCH)
        .verify_bundle(&b)
        .unwrap();
    assert!(!report.verified);
    assert_eq!(
        report.codes().into_iter().collect::<Vec<_>>(),
        [FailureCode::PredicateMismatch]
    );
    assert!(
        report.failures[0].message.contains("abi"),
        "{:?}",
        report.failures
    );
    // Re-signing covers it again.
    sign_with(&b, &key);
    assert!(
        Verifier::new(policy(&key, "require = [\"abi\"]"), None)
            .at_time(EPOCH)
            .verify_bundle(&b)
            .unwrap()
            .verified
    );
}

#[test]
fn one_envelope_with_two_signatures_meets_a_threshold_of_two() {
    use base64ct::{Base64, Encoding};
    let (_guard, dir) = tempdir();
    let a = SecretKey::from_seed(&[21; 32]);
    let b = SecretKey::from_seed(&[22; 32]);
    let source = bundle(&dir, "demo-m", "0.1.0");
    let detached = dir.join("a.dsse.json");
    sign::sign_bundle_with(
        &source,
        &a,
        &SignOptions {
            detached: Some(detached.clone()),
            ..SignOptions::default()
        },
        &ctx(),
    )
    .unwrap();
    // Co-sign the same envelope with b (as DSSE tools do), then attach it to a fresh copy.
    let mut envelope: sign::Envelope =
        serde_json::from_slice(&std::fs::read(&detached).unwrap()).unwrap();
    let payload = Base64::decode_vec(&envelope.payload).unwrap();
    envelope.signatures.push(sign::EnvelopeSignature {
        keyid: b.public().key_id().0.clone(),
        sig: Base64::encode_string(&b.sign(&sign::pae(&envelope.payload_type, &payload))),
    });
    let target = bundle(&dir, "demo-m", "0.1.0");
    sign::attach_envelope(&target, &serde_json::to_vec(&envelope).unwrap()).unwrap();
    let text = format!(
        "[roots.two]\nkeys = [\"\"\"\n{}\"\"\", \"\"\"\n{}\"\"\"]\nthreshold = 2\n\n[[policy]]\npattern = \"*\"\nroots = [\"two\"]\n",
        a.public().to_pem().unwrap(),
        b.public().to_pem().unwrap()
    );
    let policy = TrustPolicy::parse(&text, "inline", Utf8Path::new(".")).unwrap();
    let report = Verifier::new(policy, None)
        .at_time(EPOCH)
        .verify_bundle(&target)
        .unwrap();
    assert!(report.verified, "{report:?}");
    assert_eq!(report.signers.len(), 2);
}

#[test]
fn a_modified_envelope_is_a_bad_signature_and_a_foreign_payload_type_is_invalid() {
    let (_guard, dir) = tempdir();
    let key = SecretKey::from_seed(&[31; 32]);
    let source = bundle(&dir, "demo-s", "0.1.0");
    let detached = dir.join("s.dsse.json");
    sign::sign_bundle_with(
        &source,
        &key,
        &SignOptions {
            detached: Some(detached.clone()),
            ..SignOptions::default()
        },
        &ctx(),
    )
    .unwrap();
    let good: sign::Envelope = serde_json::from_slice(&std::fs::read(&detached).unwrap()).unwrap();
    let verifier = Verifier::new(policy(&key, ""), None).at_time(EPOCH);

    // Same statement, other payloadType: the PAE differs, so the signature fails too, but
    // the type is reported first.
    let mut other_type = good.clone();
    other_type.payload_type = "application/json".to_owned();
    // A forged signature claiming the trusted key.
    let mut forged = good.clone();
    let mut sig = forged.signatures[0].sig.clone().into_bytes();
    sig[10] = if sig[10] == b'A' { b'B' } else { b'A' };
    forged.signatures[0].sig = String::from_utf8(sig).unwrap();

    for (name, envelope, code) in [
        ("type", other_type, FailureCode::EnvelopeInvalid),
        ("forged", forged, FailureCode::BadSignature),
    ] {
        let target = bundle(&dir, "demo-s", "0.1.0");
        let copy = dir.join(format!("{name}.oci.tar"));
        std::fs::rename(&target, &copy).unwrap();
        sign::attach_envelope(&copy, &serde_json::to_vec(&envelope).unwrap()).unwrap();
        let report = verifier.verify_bundle(&copy).unwrap();
        assert_eq!(
            report.codes().into_iter().collect::<Vec<_>>(),
            [code],
            "{name}: {report:?}"
        );
    }
}

/// Issue 12, defect 1: two hosts verifying 0.3.1 and 0.3.2 at the same time on an empty
/// state once left the state at 0.3.1 (67 times in 200), after which 0.3.1 replays. The
/// read-check-write now happens under the state lock, so the state only moves forward.
#[test]
fn concurrent_verifiers_only_ever_move_the_state_forward() {
    let (_guard, dir) = tempdir();
    let key = SecretKey::from_seed(&[12; 32]);
    let older = bundle(&dir, "demo-race", "0.3.1");
    let newer = bundle(&dir, "demo-race", "0.3.2");
    sign_with(&older, &key);
    sign_with(&newer, &key);
    let policy = policy(&key, "");
    for round in 0..200 {
        let state = StateStore::new(dir.join(format!("state-{round}")));
        let barrier = std::sync::Barrier::new(2);
        let outcomes: Vec<bool> = std::thread::scope(|scope| {
            let runs: Vec<_> = [&older, &newer]
                .into_iter()
                .map(|b| {
                    let verifier = Verifier::new(policy.clone(), Some(state.clone()));
                    let barrier = &barrier;
                    scope.spawn(move || {
                        barrier.wait();
                        verifier.at_time(EPOCH + 60).verify_bundle(b).unwrap()
                    })
                })
                .collect();
            runs.into_iter()
                .map(|r| r.join().unwrap().verified)
                .collect()
        });
        let last = state.get("demo-race").unwrap().unwrap();
        assert_eq!(
            last.version, "0.3.2",
            "round {round}: the state moved backwards (older verified: {})",
            outcomes[0]
        );
        assert!(outcomes[1], "round {round}: the newer version was refused");
        // And the older one never replays afterwards.
        let replay = Verifier::new(policy.clone(), Some(state.clone()))
            .at_time(EPOCH + 60)
            .verify_bundle(&older)
            .unwrap();
        assert!(!replay.verified, "round {round}");
    }
}

#[test]
fn a_rollback_names_the_state_file_and_allow_downgrade() {
    let (_guard, dir) = tempdir();
    let key = SecretKey::from_seed(&[13; 32]);
    let older = bundle(&dir, "demo-roll", "0.3.1");
    let newer = bundle(&dir, "demo-roll", "0.3.2");
    sign_with(&older, &key);
    sign_with(&newer, &key);
    let state = StateStore::new(dir.join("state"));
    let host = Verifier::new(policy(&key, ""), Some(state.clone())).at_time(EPOCH + 60);
    let report = host.verify_bundle(&newer).unwrap();
    assert!(report.verified && report.state_updated, "{report:?}");
    assert_eq!(report.state_file, Some(state.file("demo-roll")));
    let report = host.verify_bundle(&older).unwrap();
    let message = &report.failures[0].message;
    assert_eq!(report.failures[0].code, FailureCode::Rollback);
    assert!(
        message.contains(state.file("demo-roll").as_str()) && message.contains("--allow-downgrade"),
        "{message}"
    );
    // Without a state store nothing is kept and nothing refused.
    let stateless = Verifier::new(policy(&key, ""), None).at_time(EPOCH + 60);
    let report = stateless.verify_bundle(&older).unwrap();
    assert!(report.verified && !report.state_updated && report.state_file.is_none());
}
