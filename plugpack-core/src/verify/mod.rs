//! Verification: is this bundle signed, by whom, as the trust policy demands, and not older
//! than what was accepted before? For `cargo plugpack verify` and for hosts, before they
//! load a plugin.
//!
//! * **Inputs**: a bundle tarball (or an extracted OCI layout directory), a [`TrustPolicy`]
//!   (`plugpack-trust.toml`, or `--key` files) and optionally a [`StateStore`].
//! * **Outputs**: a [`VerifyReport`]: `verified`, every failure with a stable kebab-case
//!   [`FailureCode`], the signers, the attestation and the plugin artifacts.
//! * **Side effects**: reads the bundle; on full success, atomically records the accepted
//!   version in the state directory (never on failure, never in audit mode with failures).
//!
//! Checks, each with its own code: blob digests and sizes and a canonical, consistent
//! `index.json` (`bundle-invalid`, `index-invalid`); at least one signature
//! (`no-signature`); envelope and statement well-formed (`envelope-invalid`,
//! `statement-invalid`); the signature verifies with a key of an allowed root
//! (`bad-signature`, `untrusted-signer`); key not revoked and inside its root's window
//! (`key-revoked`, `key-not-yet-valid`, `key-expired`); the statement's subjects are exactly
//! this bundle's manifests (`subject-mismatch`, i.e. mix-and-match) and its predicate
//! matches the bundle (`predicate-mismatch`); not expired and not older than `max_age`
//! (`signature-expired`, `signature-too-old`); a root's threshold met by distinct keys
//! (`threshold-not-met`); a policy for the plugin's name (`no-policy-match`); required
//! attachments present (`missing-attachment`); and no rollback below the last accepted
//! sequence number (`rollback`). With the `guard` feature and a host ABI expectation
//! ([`Verifier::host_abi`], `verify --host-abi FILE`), every verified plugin artifact is
//! also checked with the ABI guard (`abi-incompatible`).
//!
//! Decisions: the clock is the system clock (hosts may pin it with [`Verifier::at_time`]);
//! a policy passes when *any* of its allowed roots meets its threshold; problems with extra
//! signatures that were not needed are reported as notes, not failures; an equal sequence
//! number is accepted unless its semantic version is lower (pre-releases).
//!
//! Host ABI decisions: the guard reads the artifact *bytes* (extracted to a scratch
//! directory and re-hashed against the signed digest), not the attached
//! `application/vnd.plugpack.abi.v1+json` document, so it judges exactly what the host would
//! load. A symbols-level artifact (a release build without DWARF) takes its type hashes
//! from the signed ABI attachment of its manifest, once that document is shown to describe
//! the same bytes (platform, exports, imports, the fingerprint annotated on the manifest).
//! It runs only once the bundle would otherwise be accepted (no failures, or an
//! `audit` policy). Artifacts for another platform in a multi-target bundle are skipped
//! (`other-platform`) as long as one artifact matches the host's platform. An ABI
//! incompatibility rejects the bundle even under an `audit` policy: audit relaxes trust,
//! and loading an incompatible plugin is undefined behaviour, not a policy question.

mod error;
mod policy;
mod state;

use std::collections::{BTreeMap, BTreeSet};

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

pub use error::Error;
pub use policy::{
    Level, POLICY_FILE_NAME, Requirement, Rule, TrustPolicy, TrustRoot, glob_match, parse_duration,
};
pub use state::{Accepted, StateStore};

use crate::oci::{self, BundleInfo, Layout};
use crate::sign::{
    BundleFacts, Envelope, IN_TOTO_PAYLOAD_TYPE, KeyId, PREDICATE_TYPE, STATEMENT_TYPE, Statement,
    envelopes, facts, parse_time,
};
use crate::types::{Sha256Digest, canonical_json, rfc3339};

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
    /// Not enough distinct trusted signatures.
    ThresholdNotMet,
    /// No policy pattern matches the plugin name.
    NoPolicyMatch,
    /// A required attachment is missing.
    MissingAttachment,
    /// Older than the last accepted version.
    Rollback,
    /// A plugin artifact does not match the host's ABI expectation (`--host-abi`).
    AbiIncompatible,
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
            FailureCode::ThresholdNotMet => "threshold-not-met",
            FailureCode::NoPolicyMatch => "no-policy-match",
            FailureCode::MissingAttachment => "missing-attachment",
            FailureCode::Rollback => "rollback",
            FailureCode::AbiIncompatible => "abi-incompatible",
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
    fn new(code: FailureCode, message: impl Into<String>) -> Self {
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

/// Outcome of the host ABI guard for one artifact ([`Verifier::host_abi`]).
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
}

impl VerifyReport {
    fn new(bundle: &Utf8Path) -> Self {
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
        }
    }

    fn fail(mut self, code: FailureCode, message: impl Into<String>) -> Self {
        self.failures.push(Failure::new(code, message));
        self
    }

    /// The distinct failure codes.
    pub fn codes(&self) -> BTreeSet<FailureCode> {
        self.failures.iter().map(|f| f.code).collect()
    }
}

/// What `cargo plugpack verify` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// A bundle tarball or an extracted OCI layout directory.
    pub bundle: Utf8PathBuf,
    /// `--key`: trust exactly these public keys.
    pub keys: Vec<Utf8PathBuf>,
    /// `--policy`: the trust policy file.
    pub policy: Option<Utf8PathBuf>,
    /// `--state`: the anti-rollback state directory (default: see
    /// [`StateStore::default_location`]).
    pub state: Option<Utf8PathBuf>,
    /// `--allow-downgrade`.
    pub allow_downgrade: bool,
    /// `--host-abi`: a `plugpack-abi/1` document of the interface the host was built
    /// against; every verified artifact must satisfy it ([`Verifier::host_abi`]).
    #[cfg(feature = "guard")]
    pub host_abi: Option<Utf8PathBuf>,
}

/// Verifies one bundle or layout directory as the CLI does: trust from `--policy` or
/// `--key` (never both, never neither), state from `--state` or the default location.
pub fn verify(options: &VerifyOptions, ctx: &crate::ctx::Ctx) -> Result<VerifyReport, Error> {
    let policy = match (&options.policy, options.keys.is_empty()) {
        (Some(path), true) => TrustPolicy::load(path)?,
        (Some(_), false) => return Err(Error::PolicyAndKeys),
        (None, false) => TrustPolicy::from_keys(&options.keys)?,
        (None, true) => return Err(Error::NoTrust),
    };
    let state = match &options.state {
        Some(dir) => StateStore::new(dir.clone()),
        None => StateStore::default_location(ctx)?,
    };
    #[allow(unused_mut)]
    let mut verifier = Verifier::new(policy, Some(state)).allow_downgrade(options.allow_downgrade);
    #[cfg(feature = "guard")]
    if let Some(path) = &options.host_abi {
        let bytes = std::fs::read(path).map_err(|source| Error::ReadHostAbi {
            path: path.clone(),
            source,
        })?;
        let expectation =
            crate::guard::AbiExpectation::from_json(&bytes).map_err(|source| Error::HostAbi {
                path: path.clone(),
                source: Box::new(source),
            })?;
        verifier = verifier.host_abi(expectation);
    }
    if options.bundle.is_dir() {
        verifier.verify_extracted(&options.bundle)
    } else {
        verifier.verify_bundle(&options.bundle)
    }
}

/// Verifies bundles against a policy; hosts call it before loading a plugin.
///
/// ```no_run
/// use plugpack_core::verify::{StateStore, TrustPolicy, Verifier};
/// let policy = TrustPolicy::load("plugpack-trust.toml".into())?;
/// let verifier = Verifier::new(policy, Some(StateStore::new("/var/lib/myhost/plugins")));
/// let report = verifier.verify_bundle("plugin.oci.tar".into())?;
/// if !report.verified {
///     for f in &report.failures { eprintln!("{}: {}", f.code, f.message); }
/// }
/// # Ok::<(), plugpack_core::verify::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Verifier {
    policy: TrustPolicy,
    state: Option<StateStore>,
    now: Option<i64>,
    allow_downgrade: bool,
    #[cfg(feature = "guard")]
    host_abi: Option<crate::guard::AbiExpectation>,
}

impl Verifier {
    /// A verifier for `policy`; with a state store, rollbacks are refused and accepted
    /// versions recorded.
    pub fn new(policy: TrustPolicy, state: Option<StateStore>) -> Self {
        Self {
            policy,
            state,
            now: None,
            allow_downgrade: false,
            #[cfg(feature = "guard")]
            host_abi: None,
        }
    }

    /// Also runs the ABI guard ([`crate::guard::check`]) on every plugin artifact of a
    /// bundle that is otherwise accepted, against the interface the host was built for
    /// (usually [`crate::guard::AbiExpectation::from_json`] of the host build's
    /// `plugpack-abi/1` document). Incompatibilities are `abi-incompatible` failures and
    /// reject the bundle even under an `audit` policy; the per-artifact outcome is in
    /// [`VerifiedArtifact::abi`]. Needs the `guard` feature.
    #[cfg(feature = "guard")]
    pub fn host_abi(mut self, expectation: crate::guard::AbiExpectation) -> Self {
        self.host_abi = Some(expectation);
        self
    }

    /// Accepts versions older than the last accepted one (the state is then set to it).
    pub fn allow_downgrade(mut self, allow: bool) -> Self {
        self.allow_downgrade = allow;
        self
    }

    /// Evaluates times (expiry, windows, age) at `epoch` instead of the system clock.
    pub fn at_time(mut self, epoch: i64) -> Self {
        self.now = Some(epoch);
        self
    }

    /// Verifies a bundle tarball.
    pub fn verify_bundle(&self, bundle: &Utf8Path) -> Result<VerifyReport, Error> {
        let layout = match oci::read_bundle(bundle) {
            Ok(l) => l,
            Err(oci::Error::Invalid { problem, .. }) => {
                return Ok(VerifyReport::new(bundle).fail(FailureCode::BundleInvalid, problem));
            }
            Err(e) => return Err(e.into()),
        };
        self.verify_layout(bundle, &layout)
    }

    /// Verifies a bundle, then (only if verified) extracts its plugin files into `dir`
    /// (re-hashing them) and returns their paths in the report.
    pub fn verify_bundle_into(
        &self,
        bundle: &Utf8Path,
        dir: &Utf8Path,
    ) -> Result<VerifyReport, Error> {
        let mut report = self.verify_bundle(bundle)?;
        if !report.verified {
            return Ok(report);
        }
        let files = oci::extract(bundle, dir)?;
        for artifact in &mut report.artifacts {
            artifact.path = files
                .iter()
                .find(|f| f.target == artifact.target && f.digest == artifact.digest)
                .map(|f| f.path.clone());
        }
        Ok(report)
    }

    /// Verifies an extracted OCI image-layout directory (`oci-layout`, `index.json`,
    /// `blobs/sha256/…`); artifact paths point at the verified blobs in `dir`. Load them
    /// from a directory only the host can write, or copy them first.
    pub fn verify_extracted(&self, dir: &Utf8Path) -> Result<VerifyReport, Error> {
        let read_err = |source| Error::ReadLayout {
            path: dir.to_owned(),
            source,
        };
        let scratch = tempfile::tempdir().map_err(read_err)?;
        let tar_path =
            Utf8PathBuf::from_path_buf(scratch.path().join("layout.tar")).map_err(|p| {
                read_err(std::io::Error::other(format!(
                    "non-UTF-8 temporary path {}",
                    p.display()
                )))
            })?;
        {
            let file = std::fs::File::create(&tar_path).map_err(read_err)?;
            let mut builder = tar::Builder::new(file);
            builder.follow_symlinks(false);
            builder.append_dir_all(".", dir).map_err(read_err)?;
            builder.into_inner().map_err(read_err)?;
        }
        let mut report = self.verify_bundle(&tar_path)?;
        report.bundle = dir.to_owned();
        for artifact in &mut report.artifacts {
            artifact.path = Some(dir.join("blobs").join("sha256").join(artifact.digest.hex()));
        }
        Ok(report)
    }

    fn now(&self) -> i64 {
        self.now.unwrap_or_else(crate::sign::now)
    }

    fn verify_layout(&self, bundle: &Utf8Path, layout: &Layout) -> Result<VerifyReport, Error> {
        let mut report = VerifyReport::new(bundle);
        let info = match oci::inspect(layout) {
            Ok(i) => i,
            Err(oci::Error::Invalid { problem, .. }) => {
                return Ok(report.fail(FailureCode::BundleInvalid, problem));
            }
            Err(e) => return Err(e.into()),
        };
        let facts = match facts(layout, &info) {
            Ok(f) => f,
            Err(problem) => return Ok(report.fail(FailureCode::BundleInvalid, problem)),
        };
        report.plugin = Some(facts.name.clone());
        report.version = Some(facts.version.clone());
        report.artifacts = artifacts(&info);
        if let Err(problem) = check_index(layout, &info) {
            report
                .failures
                .push(Failure::new(FailureCode::IndexInvalid, problem));
        }
        let Some(rule) = self.policy.rule_for(&facts.name) else {
            return Ok(report.fail(
                FailureCode::NoPolicyMatch,
                format!(
                    "no policy in {} matches plugin `{}`",
                    self.policy.origin, facts.name
                ),
            ));
        };
        report.level = Some(rule.level);
        report.policy = Some(rule.pattern.clone());
        for requirement in &rule.require {
            if *requirement == Requirement::Signature {
                continue;
            }
            if !facts
                .attachments
                .iter()
                .any(|a| a.kind == requirement.kind())
            {
                report.failures.push(Failure::new(
                    FailureCode::MissingAttachment,
                    format!(
                        "policy `{}` requires a `{}` attachment and the bundle has none",
                        rule.pattern,
                        requirement.kind()
                    ),
                ));
            }
        }

        let found = envelopes(layout, &info);
        let mut valid: Vec<(KeyId, Vec<String>, Statement)> = Vec::new();
        let mut signature_failures = Vec::new();
        if found.is_empty() {
            signature_failures.push(Failure::new(
                FailureCode::NoSignature,
                "the bundle carries no DSSE signature (sign it with `cargo plugpack sign`)",
            ));
        }
        for envelope in &found {
            match self.check_envelope(envelope, &facts, rule) {
                Ok((signers, statement)) => valid.extend(
                    signers
                        .into_iter()
                        .map(|(id, roots)| (id, roots, statement.clone())),
                ),
                Err(f) => signature_failures.push(f),
            }
        }
        valid.sort_by(|a, b| a.0.cmp(&b.0));
        valid.dedup_by(|a, b| a.0 == b.0);

        // Threshold: some allowed root must be met by distinct valid keys.
        let mut met = false;
        let mut shortfalls = Vec::new();
        for root_name in &rule.roots {
            let Some(root) = self.policy.roots.get(root_name) else {
                continue;
            };
            let count = valid
                .iter()
                .filter(|(_, roots, _)| roots.contains(root_name))
                .count();
            if count >= root.threshold {
                met = true;
            } else {
                shortfalls.push(format!(
                    "root `{root_name}` needs {} distinct signature(s) and has {count}",
                    root.threshold
                ));
            }
        }
        if met {
            report.notes.extend(signature_failures);
        } else {
            report.failures.extend(signature_failures);
            if !valid.is_empty() {
                report.failures.push(Failure::new(
                    FailureCode::ThresholdNotMet,
                    shortfalls.join("; "),
                ));
            }
        }
        report.signers = valid
            .iter()
            .map(|(id, roots, _)| Signer {
                key_id: id.clone(),
                roots: roots.clone(),
            })
            .collect();
        // Conservative: the lowest sequence any valid signer attests.
        let statement = valid
            .iter()
            .map(|(_, _, s)| s)
            .min_by_key(|s| s.predicate.sequence)
            .cloned();
        if let Some(statement) = &statement {
            report.sequence = Some(statement.predicate.sequence);
            if let Some(store) = &self.state {
                if let Some(last) = store.get(&facts.name)? {
                    if is_older(statement, &last) {
                        let message = format!(
                            "version {} (sequence {}) is older than version {} (sequence {}) \
                             accepted at {}",
                            statement.predicate.version,
                            statement.predicate.sequence,
                            last.version,
                            last.sequence,
                            last.accepted_at
                        );
                        if self.allow_downgrade {
                            report.notes.push(Failure::new(
                                FailureCode::Rollback,
                                format!("{message} (allowed by --allow-downgrade)"),
                            ));
                        } else {
                            report
                                .failures
                                .push(Failure::new(FailureCode::Rollback, message));
                        }
                    }
                }
            }
        }
        report.attestation = statement.clone();
        #[cfg(feature = "guard")]
        let abi_failed = match &self.host_abi {
            Some(expectation) if report.failures.is_empty() || rule.level == Level::Audit => {
                check_host_abi(bundle, layout, &info, expectation, &mut report)?
            }
            _ => false,
        };
        #[cfg(not(feature = "guard"))]
        let abi_failed = false;
        if report.failures.is_empty() {
            if let (Some(store), Some(statement)) = (&self.state, &statement) {
                // Another verifier may have recorded a newer version meanwhile: never
                // move the state backwards without --allow-downgrade.
                if let Some(last) = store.get(&facts.name)? {
                    if is_older(statement, &last) && !self.allow_downgrade {
                        report.failures.push(Failure::new(
                            FailureCode::Rollback,
                            format!(
                                "version {} was superseded by {} while verifying",
                                statement.predicate.version, last.version
                            ),
                        ));
                    }
                }
            }
        }
        report.verified = (report.failures.is_empty() || rule.level == Level::Audit) && !abi_failed;
        if report.failures.is_empty() {
            if let (Some(store), Some(statement)) = (&self.state, &statement) {
                let mut manifests: Vec<Sha256Digest> =
                    facts.targets.iter().map(|t| t.manifest).collect();
                manifests.sort();
                store.put(&Accepted {
                    schema_version: 1,
                    name: facts.name.clone(),
                    version: statement.predicate.version.clone(),
                    sequence: statement.predicate.sequence,
                    manifests,
                    accepted_at: rfc3339(self.now()),
                })?;
                report.state_updated = true;
            }
        }
        Ok(report)
    }

    /// Checks one envelope; on success returns the signer, its valid roots and statement.
    fn check_envelope(
        &self,
        found: &crate::sign::FoundEnvelope,
        facts: &BundleFacts,
        rule: &Rule,
    ) -> Result<(ValidSigners, Statement), Failure> {
        use FailureCode as C;
        let envelope: &Envelope = found
            .envelope
            .as_ref()
            .map_err(|p| Failure::new(C::EnvelopeInvalid, p.clone()))?;
        let what = format!("envelope {}", found.digest);
        if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
            return Err(Failure::new(
                C::EnvelopeInvalid,
                format!(
                    "{what} has payloadType `{}`, expected `{IN_TOTO_PAYLOAD_TYPE}`",
                    envelope.payload_type
                ),
            ));
        }
        // Keys of the allowed roots.
        let mut allowed: BTreeMap<KeyId, (&crate::sign::PublicKey, Vec<&TrustRoot>)> =
            BTreeMap::new();
        for name in &rule.roots {
            if let Some(root) = self.policy.roots.get(name) {
                for (id, key) in &root.keys {
                    allowed
                        .entry(id.clone())
                        .or_insert((key, Vec::new()))
                        .1
                        .push(root);
                }
            }
        }
        // Every allowed key with a valid signature in this envelope (DSSE allows several).
        let verified: Vec<(KeyId, Vec<&TrustRoot>)> = allowed
            .iter()
            .filter(|(_, (key, _))| envelope.verified_by(key))
            .map(|(id, (_, roots))| (id.clone(), roots.clone()))
            .collect();
        let claimed = envelope.claimed_key_ids();
        if verified.is_empty() {
            if let Some(id) = claimed.iter().find(|id| self.policy.revoked.contains(id)) {
                return Err(Failure::new(
                    C::KeyRevoked,
                    format!("{what} is signed by revoked key {id}"),
                ));
            }
            if let Some(id) = claimed.iter().find(|id| allowed.contains_key(id)) {
                return Err(Failure::new(
                    C::BadSignature,
                    format!(
                        "{what}: the signature of trusted key {id} does not verify (the \
                         envelope was modified)"
                    ),
                ));
            }
            let ids: Vec<String> = claimed.iter().map(|i| i.to_string()).collect();
            let elsewhere: Vec<&str> = self
                .policy
                .roots
                .values()
                .filter(|r| claimed.iter().any(|id| r.keys.contains_key(id)))
                .map(|r| r.name.as_str())
                .collect();
            let message = if elsewhere.is_empty() {
                format!(
                    "{what} is signed by key {} which is not in any trusted root",
                    ids.join(", ")
                )
            } else {
                format!(
                    "{what} is signed by key {} of root(s) {} which policy `{}` does not allow",
                    ids.join(", "),
                    elsewhere.join(", "),
                    rule.pattern
                )
            };
            return Err(Failure::new(C::UntrustedSigner, message));
        }
        let now = self.now();
        let mut signers: ValidSigners = Vec::new();
        let mut problem = None;
        for (key_id, roots) in verified {
            if self.policy.revoked.contains(&key_id) {
                problem.get_or_insert(Failure::new(
                    C::KeyRevoked,
                    format!("{what} is signed by revoked key {key_id}"),
                ));
                continue;
            }
            let in_window: Vec<String> = roots
                .iter()
                .filter(|r| {
                    r.not_before.is_none_or(|t| now >= t) && r.not_after.is_none_or(|t| now <= t)
                })
                .map(|r| r.name.clone())
                .collect();
            if in_window.is_empty() {
                let early = roots.iter().any(|r| r.not_before.is_some_and(|t| now < t));
                let (code, when) = if early {
                    (C::KeyNotYetValid, "is not valid yet")
                } else {
                    (C::KeyExpired, "is no longer valid")
                };
                let windows: Vec<String> = roots
                    .iter()
                    .map(|r| {
                        format!(
                            "root `{}` {}..{}",
                            r.name,
                            r.not_before.map(rfc3339).unwrap_or_default(),
                            r.not_after.map(rfc3339).unwrap_or_default()
                        )
                    })
                    .collect();
                problem.get_or_insert(Failure::new(
                    code,
                    format!("key {key_id} {when} ({})", windows.join(", ")),
                ));
                continue;
            }
            signers.push((key_id, in_window));
        }
        let Some(key_id) = signers.first().map(|(id, _)| id.clone()) else {
            return Err(problem.unwrap_or_else(|| {
                Failure::new(C::UntrustedSigner, format!("{what} has no usable signer"))
            }));
        };
        let payload = envelope
            .payload_bytes(&what)
            .map_err(|e| Failure::new(C::EnvelopeInvalid, e.to_string()))?;
        let text = std::str::from_utf8(&payload).map_err(|_| {
            Failure::new(C::EnvelopeInvalid, format!("{what}: payload is not UTF-8"))
        })?;
        let statement: Statement = serde_json::from_str(text).map_err(|e| {
            Failure::new(
                C::StatementInvalid,
                format!("{what}: payload is not a plugpack in-toto statement ({e})"),
            )
        })?;
        if statement.statement_type != STATEMENT_TYPE || statement.predicate_type != PREDICATE_TYPE
        {
            return Err(Failure::new(
                C::StatementInvalid,
                format!(
                    "{what}: statement type `{}` / predicate `{}` is not {STATEMENT_TYPE} / {PREDICATE_TYPE}",
                    statement.statement_type, statement.predicate_type
                ),
            ));
        }
        let mut expected: Vec<String> = facts
            .subjects
            .iter()
            .filter_map(|s| s.digest.get("sha256").map(|h| format!("sha256:{h}")))
            .collect();
        expected.sort();
        let signed = statement.subject_digests();
        let referrer_subjects_ok = found
            .subjects
            .iter()
            .all(|s| signed.contains(&s.to_string()));
        if signed != expected || !referrer_subjects_ok {
            return Err(Failure::new(
                C::SubjectMismatch,
                format!(
                    "{what} signs manifest(s) {} but this bundle has {} (a signature taken \
                     from another bundle?)",
                    signed.join(", "),
                    expected.join(", ")
                ),
            ));
        }
        let p = &statement.predicate;
        let mut diffs = Vec::new();
        if p.name != facts.name {
            diffs.push(format!("name `{}` ≠ `{}`", p.name, facts.name));
        }
        if p.version != facts.version {
            diffs.push(format!("version `{}` ≠ tag `{}`", p.version, facts.version));
        }
        if p.entry != facts.entry {
            diffs.push("the tagged index.json entry differs".to_owned());
        }
        if p.index_annotations != facts.index_annotations {
            diffs.push("the index.json annotations differ".to_owned());
        }
        if p.targets != facts.targets {
            diffs.push("targets or artifact digests differ".to_owned());
        }
        if p.attachments != facts.attachments {
            let signed: BTreeSet<_> = p.attachments.iter().collect();
            let present: BTreeSet<_> = facts.attachments.iter().collect();
            for a in present.difference(&signed) {
                diffs.push(format!(
                    "attachment {} ({}) is not covered by the signature",
                    a.kind, a.artifact_type
                ));
            }
            for a in signed.difference(&present) {
                diffs.push(format!(
                    "signed attachment {} ({}) is missing or changed",
                    a.kind, a.artifact_type
                ));
            }
        }
        if !diffs.is_empty() {
            return Err(Failure::new(
                C::PredicateMismatch,
                format!("{what}: {}", diffs.join("; ")),
            ));
        }
        if let Some(expires) = &p.expires {
            match parse_time(expires) {
                Ok(t) if now > t => {
                    return Err(Failure::new(
                        C::SignatureExpired,
                        format!("{what} by key {key_id} expired at {expires}"),
                    ));
                }
                Ok(_) => {}
                Err(_) => {
                    return Err(Failure::new(
                        C::StatementInvalid,
                        format!("{what}: expiry `{expires}` is not RFC 3339"),
                    ));
                }
            }
        }
        if let Some(max_age) = rule.max_age {
            let signed_at = parse_time(&p.signed_at).map_err(|_| {
                Failure::new(
                    C::StatementInvalid,
                    format!("{what}: signed_at `{}` is not RFC 3339", p.signed_at),
                )
            })?;
            if now.saturating_sub(signed_at) > max_age {
                return Err(Failure::new(
                    C::SignatureTooOld,
                    format!(
                        "{what} was made at {} which is older than the policy's max_age of {max_age}s",
                        p.signed_at
                    ),
                ));
            }
        }
        Ok((signers, statement))
    }
}

/// Keys with a valid signature and the allowed roots they are valid in now.
type ValidSigners = Vec<(KeyId, Vec<String>)>;

fn is_older(statement: &Statement, last: &Accepted) -> bool {
    let p = &statement.predicate;
    if p.sequence != last.sequence {
        return p.sequence < last.sequence;
    }
    match (
        semver::Version::parse(&p.version),
        semver::Version::parse(&last.version),
    ) {
        (Ok(a), Ok(b)) => a < b,
        _ => false,
    }
}

/// Extracts the plugin artifacts of `bundle` into a scratch directory (re-hashing them),
/// runs the ABI guard on each and records the outcome; true when the bundle must be
/// rejected for its ABI.
#[cfg(feature = "guard")]
fn check_host_abi(
    bundle: &Utf8Path,
    layout: &Layout,
    info: &BundleInfo,
    expectation: &crate::guard::AbiExpectation,
    report: &mut VerifyReport,
) -> Result<bool, Error> {
    use crate::guard::{self, Incompatible, Reason};

    let scratch_err = |source| Error::ReadLayout {
        path: bundle.to_owned(),
        source,
    };
    let scratch = tempfile::tempdir().map_err(scratch_err)?;
    let dir = Utf8Path::from_path(scratch.path()).ok_or_else(|| {
        scratch_err(std::io::Error::other(format!(
            "non-UTF-8 temporary path {}",
            scratch.path().display()
        )))
    })?;
    let files = match oci::extract(bundle, dir) {
        Ok(files) => files,
        Err(oci::Error::Invalid { problem, .. }) => {
            report
                .failures
                .push(Failure::new(FailureCode::BundleInvalid, problem));
            return Ok(true);
        }
        Err(e) => return Err(e.into()),
    };
    let mut outcomes = Vec::new();
    for artifact in &report.artifacts {
        let name = artifact
            .file_name
            .clone()
            .unwrap_or_else(|| artifact.digest.to_string());
        let shown = Utf8PathBuf::from(format!("{}/{name}", artifact.target));
        let unreadable = |error: String| Incompatible {
            path: shown.clone(),
            reasons: vec![Reason::Unreadable { error }],
        };
        let outcome = match files
            .iter()
            .find(|f| f.digest == artifact.digest && f.target == artifact.target)
        {
            None => Err(unreadable(
                "the artifact was not extracted from the bundle".to_owned(),
            )),
            Some(file) => match crate::fingerprint::fingerprint_file(&file.path) {
                Err(e) => Err(unreadable(error_chain(&e))),
                Ok(doc) => match types_from_attachment(layout, info, artifact, &doc) {
                    Ok(Some(attached)) => guard::check(&shown, &attached, expectation),
                    Ok(None) => guard::check(&shown, &doc, expectation),
                    Err(problem) => Err(unreadable(problem)),
                },
            },
        };
        outcomes.push((shown, outcome));
    }
    let wrong_platform = |bad: &Incompatible| {
        bad.reasons
            .iter()
            .any(|r| matches!(r, Reason::WrongTarget { .. }))
    };
    let host_platform_present = outcomes.iter().any(|(_, o)| match o {
        Ok(_) => true,
        Err(bad) => !wrong_platform(bad),
    });
    let mut failed = outcomes.is_empty();
    if failed {
        report.failures.push(Failure::new(
            FailureCode::AbiIncompatible,
            "the bundle has no plugin artifact to check against the host ABI",
        ));
    }
    for (artifact, (shown, outcome)) in report.artifacts.iter_mut().zip(outcomes) {
        artifact.abi = Some(match outcome {
            Ok(ok) => AbiStatus::Compatible {
                fingerprint: ok.fingerprint,
                detail: ok.detail.to_string(),
            },
            Err(bad) => {
                let reasons: Vec<String> = bad.reasons.iter().map(ToString::to_string).collect();
                if host_platform_present && wrong_platform(&bad) {
                    AbiStatus::OtherPlatform { reasons }
                } else {
                    failed = true;
                    report.failures.push(Failure::new(
                        FailureCode::AbiIncompatible,
                        format!(
                            "{shown} does not match the host ABI: {}",
                            reasons.join("; ")
                        ),
                    ));
                    AbiStatus::Incompatible { reasons }
                }
            }
        });
    }
    Ok(failed)
}

/// Release artifacts usually ship without DWARF, so their own bytes give only the symbols
/// level. `package` attaches the types-level document of the same build (from a companion
/// build with full debuginfo, export set checked equal) as a signed referrer. When the
/// artifact itself is symbols-level, use that document for the type hashes, after checking
/// it describes these bytes: same platform, same exports (name and kind), same imports
/// (name and signature), and the fingerprint annotated on the signed manifest.
/// `Ok(None)`: no attachment to use (the artifact's own fingerprint stands).
#[cfg(feature = "guard")]
fn types_from_attachment(
    layout: &Layout,
    info: &BundleInfo,
    artifact: &VerifiedArtifact,
    own: &crate::fingerprint::AbiFingerprint,
) -> Result<Option<crate::fingerprint::AbiFingerprint>, String> {
    use crate::fingerprint::{self, AbiFingerprint, Detail, SymbolKind};

    if own.detail == Detail::Types {
        return Ok(None);
    }
    let Some(manifest) = info.manifests.iter().find(|m| {
        m.target.clone().unwrap_or_default() == artifact.target
            && m.layers.iter().any(|l| l.digest == artifact.digest)
    }) else {
        return Ok(None);
    };
    let Some(layer) = info
        .referrers
        .iter()
        .filter(|r| {
            r.subject == manifest.digest
                && r.artifact_type.as_deref() == Some(fingerprint::MEDIA_TYPE)
        })
        .flat_map(|r| &r.layers)
        .next()
    else {
        return Ok(None);
    };
    let origin = Utf8PathBuf::from(format!("ABI attachment {}", layer.digest));
    let bytes = layout
        .json_blob(&layer.digest)
        .ok_or_else(|| format!("{origin} is not a JSON document"))?;
    let attached = AbiFingerprint::from_json(&origin, bytes).map_err(|e| error_chain(&e))?;
    let exports = |d: &AbiFingerprint| -> BTreeSet<(String, SymbolKind)> {
        d.exports.iter().map(|s| (s.name.clone(), s.kind)).collect()
    };
    let imports = |d: &AbiFingerprint| -> BTreeSet<(String, String)> {
        d.imports
            .iter()
            .map(|s| (s.name.clone(), s.signature.clone()))
            .collect()
    };
    let same_platform = attached.format == own.format
        && attached.architecture == own.architecture
        && attached.pointer_width == own.pointer_width;
    if !same_platform || exports(&attached) != exports(own) || imports(&attached) != imports(own) {
        return Err(format!(
            "{origin} does not describe the artifact {} (platform, exports or imports differ)",
            artifact.digest
        ));
    }
    if let Some(annotated) = manifest.annotations.get(fingerprint::ANNOTATION)
        && *annotated != attached.fingerprint.to_string()
    {
        return Err(format!(
            "{origin} has fingerprint {} but the signed manifest says {annotated}",
            attached.fingerprint
        ));
    }
    Ok(Some(attached))
}

#[cfg(feature = "guard")]
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

fn artifacts(info: &BundleInfo) -> Vec<VerifiedArtifact> {
    let mut out = Vec::new();
    for m in &info.manifests {
        for l in &m.layers {
            if l.media_type == oci::WASM_LAYER_MEDIA_TYPE
                || l.media_type == oci::CDYLIB_LAYER_MEDIA_TYPE
            {
                out.push(VerifiedArtifact {
                    target: m.target.clone().unwrap_or_default(),
                    digest: l.digest,
                    file_name: l.title.clone(),
                    path: None,
                    abi: None,
                });
            }
        }
    }
    out.sort_by(|a, b| a.target.cmp(&b.target));
    out
}

/// `index.json` must be exactly what plugpack writes: canonical JSON, only the expected
/// fields, and every referrer entry consistent with its manifest. Together with the signed
/// tagged entry this leaves no unsigned byte in it that matters.
fn check_index(layout: &Layout, info: &BundleInfo) -> Result<(), String> {
    let value: serde_json::Value = serde_json::from_slice(&layout.index_json)
        .map_err(|e| format!("`index.json` is not JSON ({e})"))?;
    let canonical = canonical_json(&value).map_err(|e| e.to_string())?;
    if canonical != layout.index_json {
        return Err("`index.json` is not in canonical form (it was edited)".to_owned());
    }
    let top = value
        .as_object()
        .ok_or_else(|| "`index.json` is not an object".to_owned())?;
    let keys: BTreeSet<&str> = top.keys().map(String::as_str).collect();
    // Top-level `annotations` are signed (predicate `index_annotations`).
    let allowed: BTreeSet<&str> = ["schemaVersion", "mediaType", "manifests", "annotations"].into();
    if !keys.is_subset(&allowed) {
        return Err(format!(
            "`index.json` has unexpected fields {:?}",
            keys.difference(&allowed).collect::<Vec<_>>()
        ));
    }
    if top.get("schemaVersion") != Some(&serde_json::json!(2))
        || top.get("mediaType")
            != Some(&serde_json::json!(
                "application/vnd.oci.image.index.v1+json"
            ))
    {
        return Err("`index.json` has a wrong schemaVersion or mediaType".to_owned());
    }
    let entries = top
        .get("manifests")
        .and_then(|m| m.as_array())
        .ok_or_else(|| "`index.json` has no manifests array".to_owned())?;
    let tagged = info.digest.to_string();
    let mut tagged_seen = 0;
    for entry in entries {
        let digest = entry.get("digest").and_then(|d| d.as_str()).unwrap_or("");
        if digest == tagged {
            tagged_seen += 1;
            if tagged_seen > 1 {
                return Err(format!(
                    "`index.json` lists the tagged entry {digest} twice"
                ));
            }
            continue; // covered by the signed predicate
        }
        let Some(referrer) = info
            .referrers
            .iter()
            .find(|r| r.digest.to_string() == digest)
        else {
            return Err(format!(
                "`index.json` lists {digest}, which is neither the tagged entry nor a referrer"
            ));
        };
        let mut expected = serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": layout.blob_size(&referrer.digest),
            "artifactType": referrer.artifact_type,
        });
        // Descriptor annotations may only mirror the referrer manifest's own.
        if entry.get("annotations").is_some() {
            expected["annotations"] = serde_json::json!(referrer.annotations);
        }
        if *entry != expected {
            return Err(format!(
                "`index.json` entry for referrer {digest} does not match its manifest"
            ));
        }
    }
    Ok(())
}
