//! Verification: is this bundle signed, by whom, as the trust policy demands, and not older
//! than what was accepted before? For `cargo plugpack verify` and for hosts, before they
//! load a plugin.
//!
//! * **Inputs**: a bundle tarball (or an extracted OCI layout directory), a [`TrustPolicy`]
//!   (`plugpack-trust.toml`, or `--key` files) and optionally a [`StateStore`].
//! * **Outputs**: a [`VerifyReport`]: `verified`, every failure with a stable kebab-case
//!   [`FailureCode`], the signers, the attestation and the plugin artifacts.
//! * **Side effects**: reads the bundle; with a state store, and only on full success,
//!   atomically records the accepted version in the state directory (never on failure,
//!   never in audit mode with failures). The comparison with the last accepted version and
//!   the write happen under an exclusive lock on the plugin's state ([`StateStore::lock`]),
//!   so concurrent verifiers only ever move the state forward.
//!
//! Checks, each with its own code: blob digests and sizes and a canonical, consistent
//! `index.json` (`bundle-invalid`, `index-invalid`); at least one signature
//! (`no-signature`); envelope and statement well-formed (`envelope-invalid`,
//! `statement-invalid`); the signature verifies with a key of an allowed root
//! (`bad-signature`, `untrusted-signer`); key not revoked and inside its root's window
//! (`key-revoked`, `key-not-yet-valid`, `key-expired`); the statement's subjects are exactly
//! this bundle's manifests (`subject-mismatch`, i.e. mix-and-match) and its predicate
//! matches the bundle (`predicate-mismatch`), or, in a multi-target bundle made by `merge`,
//! each statement covers one plugin manifest and the threshold is met on every manifest
//! (unless the policy requires `index-signature`); not expired, not older than `max_age` and
//! not made in the future (`signature-expired`, `signature-too-old`, `signed-in-future`:
//! `signed_at` more than [`crate::sign::CLOCK_SKEW_SECS`] after the clock); a root's threshold met by distinct keys
//! (`threshold-not-met`); a policy for the plugin's name (`no-policy-match`); required
//! attachments present (`missing-attachment`), with `audit-checked` an audit report on
//! every manifest whose advisories were checked (`audit-unchecked`); and no rollback below
//! the last accepted sequence number (`rollback`). With the `guard` feature and a host ABI expectation
//! ([`Verifier::host_abi`], `verify --host-abi FILE`), every verified plugin artifact is
//! also checked with the ABI guard (`abi-incompatible`).
//!
//! Decisions: the clock is the system clock (hosts may pin it with [`Verifier::at_time`]);
//! a policy passes when *any* of its allowed roots meets its threshold; problems with extra
//! signatures that were not needed are reported as notes, not failures; an equal sequence
//! number is accepted unless its semantic version is lower (pre-releases). State is kept
//! only when asked for: [`Verifier::new`] takes an explicit `Option<StateStore>`, and
//! [`verify`] keeps it only with `--state DIR` or the policy's `state` setting, so checking
//! an old bundle never silently arms a rollback refusal for later runs.
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
//!
//! # Submodules
//!
//! * `report`: [`VerifyReport`] and its parts ([`FailureCode`], [`Signer`], [`AbiStatus`], …).
//! * `policy`: [`TrustPolicy`] (`plugpack-trust.toml` or `--key` files), its roots and rules.
//! * `state`: [`StateStore`], the last [`Accepted`] version per plugin, the rollback comparison.
//! * `bundle`: the bundle's plugin artifacts and the `index.json` integrity check.
//! * `signature`: DSSE envelope checks against the policy's roots, then the roots' thresholds.
//! * `host_abi`: the ABI guard on the verified artifacts (`guard` feature, [`Verifier::host_abi`]).
//! * `error`: [`Error`], why verification could not be carried out.

mod bundle;
mod error;
#[cfg(feature = "guard")]
mod host_abi;
mod policy;
mod provenance;
mod report;
mod signature;
mod state;

use camino::{Utf8Path, Utf8PathBuf};

pub use error::Error;
pub use policy::{
    CHECKED_AUDIT_VERDICTS, Level, POLICY_FILE_NAME, Requirement, Rule, StateSetting, TrustPolicy,
    TrustRoot, glob_match, parse_duration,
};
pub use provenance::ProvenanceRequirement;
pub use report::{AbiStatus, Failure, FailureCode, Signer, VerifiedArtifact, VerifyReport};
pub use state::{Accepted, DEFAULT_LOCK_TIMEOUT, STATE_SCHEMA_VERSION, StateLock, StateStore};

use bundle::{artifacts, check_index};
use state::is_older;

use crate::oci::{self, Layout};
use crate::sign::facts;
use crate::types::{Sha256Digest, rfc3339};

/// Largest `--host-abi` document read (a `plugpack-abi/1` fingerprint of a large plugin is a
/// few MiB).
#[cfg(feature = "guard")]
pub const MAX_HOST_ABI_FILE: u64 = 16 * 1024 * 1024;

/// What `cargo plugpack verify` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// A bundle tarball or an extracted OCI layout directory.
    pub bundle: Utf8PathBuf,
    /// `--key`: trust exactly these public keys.
    pub keys: Vec<Utf8PathBuf>,
    /// `--policy`: the trust policy file.
    pub policy: Option<Utf8PathBuf>,
    /// `--state`: the anti-rollback state directory; without it, the policy's `state`
    /// setting decides, and without that no state is kept.
    pub state: Option<Utf8PathBuf>,
    /// `--allow-downgrade`.
    pub allow_downgrade: bool,
    /// `--host-abi`: a `plugpack-abi/1` document of the interface the host was built
    /// against, or its WIT world (a `.wit` file or a directory) for components; every
    /// verified artifact must satisfy it ([`Verifier::host_abi`]).
    #[cfg(feature = "guard")]
    pub host_abi: Option<Utf8PathBuf>,
    /// `--require-provenance` (with `--source-uri`, `--builder-id`).
    pub provenance: Option<ProvenanceRequirement>,
    /// `--host-provides PKG@VERSION`: WIT packages the host implements whole (WASI through
    /// `wasmtime-wasi`), see [`crate::guard::AbiExpectation::provide_package`].
    #[cfg(feature = "guard")]
    pub host_provides: Vec<String>,
}

/// Verifies one bundle or layout directory as the CLI does: trust from `--policy` or
/// `--key` (never both, never neither); anti-rollback state in `--state DIR`, else where the
/// policy's `state` setting says, else none.
pub fn verify(options: &VerifyOptions, ctx: &crate::ctx::Ctx) -> Result<VerifyReport, Error> {
    let policy = match (&options.policy, options.keys.is_empty()) {
        (Some(path), true) => TrustPolicy::load(path)?,
        (Some(_), false) => return Err(Error::PolicyAndKeys),
        (None, false) => TrustPolicy::from_keys(&options.keys)?,
        (None, true) => return Err(Error::NoTrust),
    };
    let state = match (&options.state, &policy.state) {
        (Some(dir), _) => Some(StateStore::new(dir.clone())),
        (None, Some(StateSetting::Dir(dir))) => Some(StateStore::new(dir.clone())),
        (None, Some(StateSetting::DefaultLocation)) => Some(StateStore::default_location(ctx)?),
        (None, None) => None,
    };
    #[allow(unused_mut)]
    let mut verifier = Verifier::new(policy, state).allow_downgrade(options.allow_downgrade);
    if let Some(requirement) = &options.provenance {
        verifier = verifier.require_provenance(requirement.clone());
    }
    #[cfg(feature = "guard")]
    if let Some(path) = &options.host_abi {
        let expectation = if path.is_dir() || path.extension() == Some("wit") {
            // A host world in WIT (components; `load` says when the feature is missing).
            crate::guard::AbiExpectation::load(path)
        } else {
            let bytes =
                crate::types::read_small_file(path, MAX_HOST_ABI_FILE).map_err(|source| {
                    Error::ReadHostAbi {
                        path: path.clone(),
                        source,
                    }
                })?;
            crate::guard::AbiExpectation::from_json(&bytes)
        };
        let mut expectation = expectation.map_err(|source| Error::HostAbi {
            path: path.clone(),
            source: Box::new(source),
        })?;
        for provided in &options.host_provides {
            let (package, version) = provided.split_once('@').unwrap_or((provided, ""));
            expectation = expectation.provide_package(package, version);
        }
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
    provenance: Option<ProvenanceRequirement>,
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
            provenance: None,
        }
    }

    /// Requires an SLSA provenance v1 statement signed by a key whose bundle signature
    /// counted, about this bundle, matching `requirement` (codes `provenance-*`).
    pub fn require_provenance(mut self, requirement: ProvenanceRequirement) -> Self {
        self.provenance = Some(requirement);
        self
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
            // Top-level entries by their own names: canonical tar names (no `./`).
            let mut top: Vec<_> = std::fs::read_dir(dir)
                .map_err(read_err)?
                .collect::<Result<_, _>>()
                .map_err(read_err)?;
            top.sort_by_key(|e| e.file_name());
            for entry in top {
                let name = entry.file_name();
                if entry.file_type().map_err(read_err)?.is_dir() {
                    builder
                        .append_dir_all(&name, entry.path())
                        .map_err(read_err)?;
                } else {
                    builder
                        .append_path_with_name(entry.path(), &name)
                        .map_err(read_err)?;
                }
            }
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
            if *requirement == Requirement::AuditChecked {
                for problem in policy::unchecked_audits(layout, &facts) {
                    report.failures.push(Failure::new(
                        FailureCode::AuditUnchecked,
                        format!(
                            "policy `{}` requires audit-checked: {problem}",
                            rule.pattern
                        ),
                    ));
                }
                continue;
            }
            if matches!(
                *requirement,
                Requirement::Signature | Requirement::IndexSignature
            ) {
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

        let valid = self.check_signatures(layout, &info, &facts, rule, &mut report);
        // Conservative: the lowest sequence any valid signer attests.
        let statement = valid
            .iter()
            .map(|(_, _, s)| s)
            .min_by_key(|s| s.predicate.sequence)
            .cloned();
        if let Some(statement) = &statement {
            report.sequence = Some(statement.predicate.sequence);
            if let Some(store) = &self.state {
                // A first look, without the lock, so the report lists every failure; the
                // decision that writes is taken again under the lock below.
                if let Some(last) = store.get(&facts.name)? {
                    if is_older(statement, &last) {
                        let message = rollback_message(statement, &last, store, &facts.name);
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
        if let Some(requirement) = &self.provenance {
            let signers: Vec<crate::sign::KeyId> =
                valid.iter().map(|(id, _, _)| id.clone()).collect();
            report.provenance =
                self.check_provenance(layout, &info, &facts, &signers, requirement, &mut report);
        }
        #[cfg(feature = "guard")]
        let abi_failed = match &self.host_abi {
            Some(expectation) if report.failures.is_empty() || rule.level == Level::Audit => {
                host_abi::check_host_abi(bundle, layout, &info, expectation, &mut report)?
            }
            _ => false,
        };
        #[cfg(not(feature = "guard"))]
        let abi_failed = false;
        if report.failures.is_empty() && !abi_failed {
            if let (Some(store), Some(statement)) = (&self.state, &statement) {
                // Read, compare and write under the lock: another verifier may have
                // recorded a newer version since the first look, and two verifiers must
                // never both see "nothing newer" and let the older one win.
                let lock = store.lock(&facts.name)?;
                let superseded = match lock.get()? {
                    Some(last) if is_older(statement, &last) && !self.allow_downgrade => Some(last),
                    _ => None,
                };
                if let Some(last) = superseded {
                    report.failures.push(Failure::new(
                        FailureCode::Rollback,
                        rollback_message(statement, &last, store, &facts.name),
                    ));
                } else {
                    let mut manifests: Vec<Sha256Digest> =
                        facts.targets.iter().map(|t| t.manifest).collect();
                    manifests.sort();
                    lock.put(&Accepted {
                        schema_version: STATE_SCHEMA_VERSION,
                        name: facts.name.clone(),
                        version: statement.predicate.version.clone(),
                        sequence: statement.predicate.sequence,
                        manifests,
                        accepted_at: rfc3339(self.now()),
                    })?;
                    report.state_updated = true;
                }
            }
        }
        if let Some(store) = &self.state {
            report.state_file = Some(store.file(&facts.name));
        }
        report.verified = (report.failures.is_empty() || rule.level == Level::Audit) && !abi_failed;
        Ok(report)
    }
}

/// The `rollback` failure: what was refused, what was accepted before, where that is
/// recorded and how to accept the older version deliberately.
fn rollback_message(
    statement: &crate::sign::Statement,
    last: &Accepted,
    store: &StateStore,
    name: &str,
) -> String {
    format!(
        "version {} (sequence {}) is older than version {} (sequence {}) accepted at {}, \
         recorded in {}; pass --allow-downgrade to accept it",
        statement.predicate.version,
        statement.predicate.sequence,
        last.version,
        last.sequence,
        last.accepted_at,
        store.file(name)
    )
}

#[cfg(all(test, feature = "guard"))]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_host_abi_document_over_the_cap_is_refused_before_parsing() {
        // Issue 12 (4): `--host-abi` files had no size cap.
        let dir = tempfile::tempdir().unwrap();
        let dir = Utf8Path::from_path(dir.path()).unwrap();
        let key = dir.join("k.pub");
        let pem = crate::sign::SecretKey::from_seed(&[7; 32])
            .public()
            .to_pem()
            .unwrap();
        std::fs::write(&key, pem).unwrap();
        let abi = dir.join("host-abi.json");
        let file = std::fs::File::create(&abi).unwrap();
        file.set_len(MAX_HOST_ABI_FILE + 1).unwrap();
        let options = VerifyOptions {
            bundle: dir.join("missing.oci.tar"),
            keys: vec![key],
            state: Some(dir.join("state")),
            host_abi: Some(abi),
            ..VerifyOptions::default()
        };
        let ctx = crate::ctx::Ctx::with_env(BTreeMap::new(), Arc::new(crate::ctx::SilentReporter));
        let err = verify(&options, &ctx).unwrap_err();
        let source = std::error::Error::source(&err).unwrap().to_string();
        assert!(
            matches!(err, Error::ReadHostAbi { .. }) && source.contains("16777216-byte limit"),
            "{err}: {source}"
        );
    }
}
