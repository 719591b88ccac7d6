//! The report of one verification: stable failure codes, failures, signers, the plugin
//! artifacts and their host ABI outcome. Serialized as `cargo plugpack verify --format json`.

use std::collections::BTreeSet;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use super::Level;
use crate::sign::{KeyId, Statement};
use crate::types::Sha256Digest;

/// What went wrong, as a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FailureCode {
    /// A blob does not match its digest or size, or the layout is malformed.
    BundleInvalid,
    /// `index.json` was modified (not canonical, or inconsistent with the manifests).
    IndexInvalid,
    /// No DSSE signature is attached.
    NoSignature,
    /// An envelope is malformed, too large or not UTF-8.
    EnvelopeInvalid,
    /// The signed payload is not a plugpack in-toto statement.
    StatementInvalid,
    /// A trusted key's signature does not verify.
    BadSignature,
    /// The signing key is not in any root the policy allows.
    UntrustedSigner,
    /// The signing key is revoked.
    KeyRevoked,
    /// The signing key's root is not valid yet.
    KeyNotYetValid,
    /// The signing key's root is no longer valid.
    KeyExpired,
    /// The signature is for other manifests (mix-and-match).
    SubjectMismatch,
    /// The signed predicate does not describe this bundle.
    PredicateMismatch,
    /// The signature has expired.
    SignatureExpired,
    /// The signature is older than the policy's `max_age`.
    SignatureTooOld,
    /// The signature's `signed_at` lies after the clock (beyond
    /// [`crate::sign::CLOCK_SKEW_SECS`]), which would stretch `max_age`.
    SignedInFuture,
    /// Not enough distinct trusted signatures.
    ThresholdNotMet,
    /// No policy pattern matches the plugin name.
    NoPolicyMatch,
    /// A required attachment is missing.
    MissingAttachment,
    /// The policy requires `audit-checked` and an audit report is missing, says `unchecked`
    /// (no advisory database when packaged) or has no verdict of a completed check.
    AuditUnchecked,
    /// Older than the last accepted version.
    Rollback,
    /// A plugin artifact does not match the host's ABI expectation (`--host-abi`).
    AbiIncompatible,
    /// `--require-provenance`: no SLSA provenance statement is attached.
    ProvenanceMissing,
    /// The provenance statement is not signed by a key whose bundle signature counted.
    ProvenanceUntrusted,
    /// The provenance statement is malformed, of another build type, or about other
    /// manifests than this bundle's.
    ProvenanceInvalid,
    /// The provenance names another source repository than `--source-uri`.
    ProvenanceSourceMismatch,
    /// The provenance names another builder than `--builder-id`.
    ProvenanceBuilderMismatch,
}

impl FailureCode {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::BundleInvalid => "bundle-invalid",
            FailureCode::IndexInvalid => "index-invalid",
            FailureCode::NoSignature => "no-signature",
            FailureCode::EnvelopeInvalid => "envelope-invalid",
            FailureCode::StatementInvalid => "statement-invalid",
            FailureCode::BadSignature => "bad-signature",
            FailureCode::UntrustedSigner => "untrusted-signer",
            FailureCode::KeyRevoked => "key-revoked",
            FailureCode::KeyNotYetValid => "key-not-yet-valid",
            FailureCode::KeyExpired => "key-expired",
            FailureCode::SubjectMismatch => "subject-mismatch",
            FailureCode::PredicateMismatch => "predicate-mismatch",
            FailureCode::SignatureExpired => "signature-expired",
            FailureCode::SignatureTooOld => "signature-too-old",
            FailureCode::SignedInFuture => "signed-in-future",
            FailureCode::ThresholdNotMet => "threshold-not-met",
            FailureCode::NoPolicyMatch => "no-policy-match",
            FailureCode::MissingAttachment => "missing-attachment",
            FailureCode::AuditUnchecked => "audit-unchecked",
            FailureCode::Rollback => "rollback",
            FailureCode::AbiIncompatible => "abi-incompatible",
            FailureCode::ProvenanceMissing => "provenance-missing",
            FailureCode::ProvenanceUntrusted => "provenance-untrusted",
            FailureCode::ProvenanceInvalid => "provenance-invalid",
            FailureCode::ProvenanceSourceMismatch => "provenance-source-mismatch",
            FailureCode::ProvenanceBuilderMismatch => "provenance-builder-mismatch",
        }
    }
}

impl std::fmt::Display for FailureCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason a bundle was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Stable code.
    pub code: FailureCode,
    /// What exactly.
    pub message: String,
}

impl Failure {
    pub(super) fn new(code: FailureCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// A key whose signature counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signer {
    /// Key id.
    pub key_id: KeyId,
    /// The allowed roots it belongs to (and is valid in now).
    pub roots: Vec<String>,
}

/// A plugin file the verified manifests point at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedArtifact {
    /// Target triple.
    pub target: String,
    /// Its digest (signed).
    pub digest: Sha256Digest,
    /// File name from the layer title.
    pub file_name: Option<String>,
    /// Where the verified bytes are on disk (extracted layouts, or after extraction).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Utf8PathBuf>,
    /// The host ABI check of this artifact, when one was asked for and reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abi: Option<AbiStatus>,
}

/// Outcome of the host ABI guard for one artifact
/// ([`Verifier::host_abi`](super::Verifier::host_abi)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AbiStatus {
    /// Every expected export is there with the expected signature.
    Compatible {
        /// The artifact's overall ABI fingerprint.
        fingerprint: Sha256Digest,
        /// `types` or `symbols`.
        detail: String,
    },
    /// The artifact must not be loaded: every reason (also reported as failures).
    Incompatible {
        /// Every reason, as the guard words it.
        reasons: Vec<String>,
    },
    /// Built for another platform than the host's; another artifact matches it.
    OtherPlatform {
        /// The guard's platform reason.
        reasons: Vec<String>,
    },
}

/// The result of verifying one bundle.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Schema version of this report.
    pub schema_version: u32,
    /// The bundle (or layout directory).
    pub bundle: Utf8PathBuf,
    /// True when the bundle may be used: no failures, or failures under an `audit` policy.
    pub verified: bool,
    /// The level of the policy that applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// The pattern of the policy that applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Plugin name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// Plugin version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Signed sequence number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    /// Keys whose signatures counted.
    pub signers: Vec<Signer>,
    /// Every reason for rejection (or, under `audit`, what would have rejected it).
    pub failures: Vec<Failure>,
    /// Problems that did not matter (e.g. an extra signature by an unknown key).
    pub notes: Vec<Failure>,
    /// The plugin files.
    pub artifacts: Vec<VerifiedArtifact>,
    /// The verified attestation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestation: Option<Statement>,
    /// Whether the anti-rollback state was updated.
    pub state_updated: bool,
    /// The anti-rollback state file consulted (absent when no state is kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_file: Option<Utf8PathBuf>,
    /// The accepted SLSA provenance statement (`--require-provenance`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<crate::sign::ProvenanceStatement>,
}

impl VerifyReport {
    pub(super) fn new(bundle: &Utf8Path) -> Self {
        Self {
            schema_version: 1,
            bundle: bundle.to_owned(),
            verified: false,
            level: None,
            policy: None,
            plugin: None,
            version: None,
            sequence: None,
            signers: Vec::new(),
            failures: Vec::new(),
            notes: Vec::new(),
            artifacts: Vec::new(),
            attestation: None,
            state_updated: false,
            state_file: None,
            provenance: None,
        }
    }

    pub(super) fn fail(mut self, code: FailureCode, message: impl Into<String>) -> Self {
        self.failures.push(Failure::new(code, message));
        self
    }

    /// The distinct failure codes.
    pub fn codes(&self) -> BTreeSet<FailureCode> {
        self.failures.iter().map(|f| f.code).collect()
    }
}
