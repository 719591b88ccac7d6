//! TUF plugin repositories: publish signed bundles into a repository any TUF 1.0 client
//! trusts ([`repo`]), and fetch from one with a client that runs the specification's
//! workflow ([`Client`]).
//!
//! Two layers: a bundle's DSSE signatures ([`crate::verify`]) say *who built* a plugin;
//! TUF metadata says *what the repository currently offers*, fresh and complete, with
//! keys that can be rotated and an offline root. A host trusts a plugin only when both hold:
//! [`Client::fetch`] checks TUF first, then the bundle's hashes, then (with a policy)
//! `verify`, and only then renames the bundle into place.
//!
//! * **Inputs**: a repository directory (writing: [`repo::init`], [`repo::add`],
//!   [`repo::refresh`], [`admin`]) with PEM keys of `keygen`; for fetching, a
//!   repository URL (`file://`, a directory or `http(s)://`) and a trusted `root.json`.
//! * **Outputs**: metadata files (`N.root.json`, `root.json`, `N.targets.json`,
//!   `targets.json`, `N.snapshot.json`, `snapshot.json`, `timestamp.json`) and
//!   `targets/<sha256>.<name>-<version>.oci.tar`; a fetched bundle.
//! * **Side effects**: repository writes are atomic per file and serialised by an exclusive
//!   lock on `DIR/.plugpack-repo.lock`; `timestamp.json` is written last, so a reader sees
//!   the old or the new repository, never half of one. The client persists the metadata it
//!   trusts under its state directory.
//!
//! Every rejection is an [`Error::Rejected`] with a stable [`Code`] (like `verify`'s
//! failure codes), the file concerned and a message.
//!
//! Decisions: metadata is written as canonical JSON (python-tuf writes it indented; both
//! are read); key ids are plugpack's (sha256 of the key's canonical TUF JSON, as
//! securesystemslib computes them); `consistent_snapshot` is always on; timestamp and
//! snapshot pin length and sha256 of the file they list.

pub mod admin;
pub mod cjson;
mod client;
mod fetch;
pub mod metadata;
pub mod repo;
mod transport;

use std::fmt;

use camino::Utf8PathBuf;

pub use client::Client;
pub use fetch::{FetchOptions, Fetched};
pub use metadata::{
    DelegatedRole, Delegations, Key, MetaFile, Role, RoleKeys, Root, SPEC_VERSION, Snapshot,
    TargetFile, Targets, Timestamp,
};

/// Largest `root.json` read (python-tuf's default).
pub const MAX_ROOT_LENGTH: u64 = 512_000;
/// Largest `timestamp.json` read (python-tuf's default).
pub const MAX_TIMESTAMP_LENGTH: u64 = 16_384;
/// Largest snapshot or targets file read when its length is not pinned (python-tuf's).
pub const MAX_METADATA_LENGTH: u64 = 2_000_000;
/// Most root versions followed in one update (python-tuf's `max_root_rotations`).
pub const MAX_ROOT_ROTATIONS: u64 = 256;

/// Why a repository or a download was rejected; stable kebab-case strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Code {
    /// Fewer valid signatures than the role's threshold.
    ThresholdNotMet,
    /// Signed by a key the role does not (or no longer) list.
    RevokedKey,
    /// Signatures cover non-canonical bytes rather than the canonical JSON of `signed`.
    NonCanonical,
    /// A JSON object with the same key twice.
    DuplicateKey,
    /// Malformed metadata (not JSON, wrong `_type`, missing fields, floats, …).
    MetadataInvalid,
    /// `N.root.json` is not version N (the chain skips or repeats a version).
    RootVersionSkip,
    /// A role's version, or a version it lists, went backwards.
    Rollback,
    /// The newest root has expired.
    ExpiredRoot,
    /// The timestamp has expired.
    ExpiredTimestamp,
    /// The snapshot has expired.
    ExpiredSnapshot,
    /// Top-level or delegated targets metadata has expired.
    ExpiredTargets,
    /// Metadata is not the version the role above it lists (mix-and-match).
    MixAndMatch,
    /// Metadata does not have the length or hashes the role above it lists.
    MetadataHashMismatch,
    /// A server sent more metadata than allowed (endless data); the read was cut.
    EndlessData,
    /// A target is longer than its metadata says; the read was cut.
    TargetTooLong,
    /// A target is shorter than its metadata says.
    TargetLengthMismatch,
    /// A target's hashes do not match (tampered).
    TargetHashMismatch,
    /// A role name that is not a top-level role, or a delegation that does not exist.
    UnknownRole,
    /// A delegated role lists a target outside its paths.
    OutsideDelegatedPaths,
    /// A server redirected to another host.
    RedirectOtherHost,
    /// Metadata the workflow needs is missing.
    MetadataMissing,
    /// No target matches the requested plugin and version.
    TargetNotFound,
    /// The downloaded bundle fails `verify` under the given policy.
    BundleRejected,
}

impl Code {
    /// The stable string.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::ThresholdNotMet => "threshold-not-met",
            Code::RevokedKey => "revoked-key",
            Code::NonCanonical => "non-canonical",
            Code::DuplicateKey => "duplicate-key",
            Code::MetadataInvalid => "metadata-invalid",
            Code::RootVersionSkip => "root-version-skip",
            Code::Rollback => "rollback",
            Code::ExpiredRoot => "expired-root",
            Code::ExpiredTimestamp => "expired-timestamp",
            Code::ExpiredSnapshot => "expired-snapshot",
            Code::ExpiredTargets => "expired-targets",
            Code::MixAndMatch => "mix-and-match",
            Code::MetadataHashMismatch => "metadata-hash-mismatch",
            Code::EndlessData => "endless-data",
            Code::TargetTooLong => "target-too-long",
            Code::TargetLengthMismatch => "target-length-mismatch",
            Code::TargetHashMismatch => "target-hash-mismatch",
            Code::UnknownRole => "unknown-role",
            Code::OutsideDelegatedPaths => "outside-delegated-paths",
            Code::RedirectOtherHost => "redirect-other-host",
            Code::MetadataMissing => "metadata-missing",
            Code::TargetNotFound => "target-not-found",
            Code::BundleRejected => "bundle-rejected",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// TUF errors: a rejection with its [`Code`], or why the work could not be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The repository or a download was rejected.
    #[error("{file}: {message} [{code}]")]
    Rejected {
        /// Stable code.
        code: Code,
        /// The metadata file, target or URL concerned.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A local file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: Utf8PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: Utf8PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The `--trusted-root` file is not a usable root (malformed, or not signed by its own
    /// root threshold).
    #[error("{path}: not a usable trusted root: {reason}")]
    TrustedRoot {
        /// The file.
        path: Utf8PathBuf,
        /// Why (with the rejection code).
        reason: String,
    },
    /// A transfer failed (network, HTTP status).
    #[error("cannot download {url}: {message}")]
    Transport {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// A key could not be loaded.
    #[error(transparent)]
    Key(#[from] crate::sign::Error),
    /// `verify` could not run on a bundle.
    #[error(transparent)]
    Verify(Box<crate::verify::Error>),
    /// `repo add` refused a bundle that does not pass `verify`.
    #[error("{bundle}: not added, it fails verification: {failures}")]
    BundleRefused {
        /// The bundle.
        bundle: Utf8PathBuf,
        /// The failure codes and messages.
        failures: String,
    },
    /// The repository directory is not usable for this operation (not initialised, a key
    /// that is not the role's, an existing target with other content, …).
    #[error("{path}: {message}")]
    Repo {
        /// The repository or file.
        path: Utf8PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Options that do not fit together.
    #[error("{0}")]
    Usage(String),
    /// A bug.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub(crate) fn rejected(code: Code, file: &str, message: impl fmt::Display) -> Self {
        Error::Rejected {
            code,
            file: file.to_owned(),
            message: message.to_string(),
        }
    }

    /// The rejection code, if this is a rejection.
    pub fn code(&self) -> Option<Code> {
        match self {
            Error::Rejected { code, .. } => Some(*code),
            _ => None,
        }
    }
}

impl From<crate::verify::Error> for Error {
    fn from(e: crate::verify::Error) -> Self {
        Error::Verify(Box::new(e))
    }
}

/// Runs `verify` on `bundle` with these keys or this policy (the inner layer: the bundle's
/// own signatures); `Err(failures)` joins every failure as `[code] message`, for the
/// rejection that names the bundle.
pub(crate) fn verify_bundle(
    bundle: &camino::Utf8Path,
    keys: &[camino::Utf8PathBuf],
    policy: Option<&camino::Utf8Path>,
    ctx: &crate::Ctx,
) -> Result<Result<crate::verify::VerifyReport, String>, Error> {
    let report = crate::verify::verify(
        &crate::verify::VerifyOptions {
            bundle: bundle.to_owned(),
            keys: keys.to_vec(),
            policy: policy.map(camino::Utf8Path::to_owned),
            ..Default::default()
        },
        ctx,
    )?;
    if report.verified {
        return Ok(Ok(report));
    }
    Ok(Err(report
        .failures
        .iter()
        .map(|f| format!("[{}] {}", f.code, f.message))
        .collect::<Vec<_>>()
        .join("; ")))
}
