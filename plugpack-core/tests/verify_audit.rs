//! Issue 10: a trust policy's `require = ["audit-checked"]` on bundles written by `oci::pack`
//! (no cargo, no CLI): only an audit whose advisories were checked against a database passes,
//! including bundles from before the `unchecked` verdict, annotated `clean` without a database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;

use camino::{Utf8Path, Utf8PathBuf};
use plugpack_core::build::{BuiltArtifact, PluginKind};
use plugpack_core::oci::{self, Attachment, PackOptions};
use plugpack_core::project::{Config, Plugin};
use plugpack_core::sign::{self, SecretKey, SignOptions};
use plugpack_core::verify::{FailureCode, TrustPolicy, Verifier};
use plugpack_core::{Ctx, SilentReporter, types::Sha256Digest};

const EPOCH: i64 = 1_704_164_645;
const AUDIT: &str = "application/vnd.plugpack.audit.v1+json";

fn ctx() -> Ctx {
    let env = BTreeMap::from([("SOURCE_DATE_EPOCH".to_owned(), EPOCH.to_string())]);
    Ctx::with_env(env, Arc::new(SilentReporter))
}

/// A signed one-target wasm bundle of `demo-plugin` with these attachments.
fn signed_bundle(
    dir: &Utf8Path,
    stem: &str,
    attachments: &[Attachment],
    key: &SecretKey,
) -> Utf8PathBuf {
    let module = dir.join(format!("{stem}.wasm"));
    let bytes = b"\0asm\x01\0\0\0".to_vec();
    std::fs::write(&module, &bytes).unwrap();
    let plugin = Plugin {
        package_id: "demo-plugin 1.0.0".to_owned(),
        package_name: "demo-plugin".to_owned(),
        name: "demo-plugin".to_owned(),
        version: "1.0.0".to_owned(),
        manifest_path: Utf8PathBuf::from("Cargo.toml"),
        lib_name: "demo_plugin".to_owned(),
        license: None,
        repository: None,
        description: None,
        authors: Vec::new(),
        config: Config::default(),
    };
    let artifact = BuiltArtifact {
        plugin: "demo-plugin".to_owned(),
        package: "demo-plugin".to_owned(),
        version: "1.0.0".to_owned(),
        kind: PluginKind::Wasm,
        target: "wasm32-wasip1".to_owned(),
        path: module,
        file_name: "demo_plugin.wasm".to_owned(),
        sha256: Sha256Digest::of_bytes(&bytes),
        size: bytes.len() as u64,
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
    sign::sign_bundle_with(&output, key, &SignOptions::default(), &ctx()).unwrap();
    output
}

/// An audit report attachment with this verdict annotation and `advisories` value.
fn audit(verdict: Option<&str>, advisories: &str) -> Attachment {
    Attachment {
        target: "wasm32-wasip1".to_owned(),
        artifact_type: AUDIT.to_owned(),
        media_type: AUDIT.to_owned(),
        bytes: format!("{{\"advisories\":\"{advisories}\",\"schema\":\"plugpack-audit/1\"}}")
            .into_bytes(),
        title: "demo-plugin-1.0.0.audit.json".to_owned(),
        subject_annotations: verdict
            .map(|v| ("dev.plugpack.audit.verdict".to_owned(), v.to_owned()))
            .into_iter()
            .collect(),
    }
}

fn policy(key: &SecretKey) -> TrustPolicy {
    let pem = key.public().to_pem().unwrap();
    let text = format!(
        "[roots.vendor]\nkeys = [\"\"\"\n{pem}\"\"\"]\n\n[[policy]]\npattern = \"demo-*\"\nroots = [\"vendor\"]\nrequire = [\"audit-checked\"]\n"
    );
    TrustPolicy::parse(&text, "inline", Utf8Path::new(".")).unwrap()
}

#[test]
fn audit_checked_accepts_only_audits_made_against_a_database() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = Utf8Path::from_path(tmp.path()).unwrap();
    let key = SecretKey::from_seed(&[10; 32]);
    let verifier = Verifier::new(policy(&key), None).at_time(EPOCH);
    let codes = |stem: &str, attachments: &[Attachment]| {
        let bundle = signed_bundle(dir, stem, attachments, &key);
        let report = verifier.verify_bundle(&bundle).unwrap();
        let codes: Vec<FailureCode> = report.codes().into_iter().collect();
        assert_eq!(report.verified, codes.is_empty(), "{report:?}");
        (codes, report)
    };

    for verdict in ["clean", "warned", "denied"] {
        let (c, _) = codes(verdict, &[audit(Some(verdict), "checked")]);
        assert!(c.is_empty(), "{verdict}: {c:?}");
    }
    let (c, report) = codes("unchecked", &[audit(Some("unchecked"), "not-checked")]);
    assert_eq!(c, [FailureCode::AuditUnchecked]);
    assert!(
        report.failures[0].message.contains("verdict `unchecked`"),
        "{report:?}"
    );
    // Before issue 10 a database-less audit was annotated `clean`: the signed report's
    // `advisories` field still gives it away.
    let (c, report) = codes("old-clean", &[audit(Some("clean"), "not-checked")]);
    assert_eq!(c, [FailureCode::AuditUnchecked]);
    assert!(
        report.failures[0]
            .message
            .contains("advisories `not-checked`"),
        "{report:?}"
    );
    let (c, _) = codes("unusable", &[audit(Some("database-unusable"), "checked")]);
    assert_eq!(c, [FailureCode::AuditUnchecked]);
    let (c, _) = codes("no-verdict", &[audit(None, "checked")]);
    assert_eq!(c, [FailureCode::AuditUnchecked]);
    let (c, _) = codes("no-audit", &[]);
    assert_eq!(
        c,
        [FailureCode::MissingAttachment, FailureCode::AuditUnchecked]
    );
}
