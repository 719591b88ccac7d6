//! Errors of the fingerprint stage.

use camino::Utf8PathBuf;

/// Why a fingerprint could not be computed, read or compared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: Utf8PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a plugin artifact plugpack can fingerprint.
    #[error("{path} is not a fingerprintable plugin: {reason}")]
    Unsupported {
        /// The file.
        path: Utf8PathBuf,
        /// What it is instead (static library, executable, unknown format…).
        reason: String,
    },
    /// The file claims a supported format but is damaged.
    #[error("{path} is a malformed {format} file: {reason}")]
    Malformed {
        /// The file.
        path: Utf8PathBuf,
        /// `ELF`, `wasm`, `DWARF`, …
        format: &'static str,
        /// What the parser reported.
        reason: String,
    },
    /// A fingerprint JSON document could not be parsed.
    #[error("{path} is not a plugpack-abi/1 fingerprint document")]
    BadDocument {
        /// The file.
        path: Utf8PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A document of an unknown schema version.
    #[error("{path} has schema `{schema}`; this plugpack reads `plugpack-abi/1`")]
    UnknownSchema {
        /// The file.
        path: Utf8PathBuf,
        /// The schema it declared.
        schema: String,
    },
    /// A bundle was given but holds nothing to compare.
    #[error("bundle {path}: {reason}")]
    Bundle {
        /// The bundle.
        path: Utf8PathBuf,
        /// What is missing.
        reason: String,
    },
    /// Reading or extracting a bundle failed.
    #[cfg(feature = "tool")]
    #[error(transparent)]
    Oci(#[from] Box<crate::oci::Error>),
    /// Writing the document failed.
    #[error("cannot write {path}")]
    Write {
        /// The output.
        path: Utf8PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A version string is not semver.
    #[error("`{version}` ({what}) is not a semver version")]
    BadVersion {
        /// The text.
        version: String,
        /// Where it came from.
        what: String,
        /// The cause.
        #[source]
        source: semver::Error,
    },
    /// The baseline does not say which version it was.
    #[error("baseline {path} does not record its package version")]
    BaselineVersionUnknown {
        /// The baseline.
        path: Utf8PathBuf,
    },
    /// `cargo rustdoc` (API level) failed.
    #[cfg(feature = "tool")]
    #[error("cannot produce rustdoc JSON for {package}")]
    Rustdoc {
        /// The package spec.
        package: String,
        /// The failed command.
        #[source]
        source: crate::process::ProcessError,
    },
    /// Serializing the document failed (a bug).
    #[error("cannot serialize the fingerprint")]
    Serialize(#[source] serde_json::Error),
}
