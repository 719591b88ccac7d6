use camino::Utf8PathBuf;

/// Why a bundle could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Writing the bundle failed.
    #[error("cannot write bundle {path}")]
    Write {
        /// The output path.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A blob source file could not be read.
    #[error("cannot read {path}")]
    ReadSource {
        /// The file.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A source file changed between hashing and writing.
    #[error("{path} changed while it was being packaged (expected {expected}, read {actual})")]
    SourceChanged {
        /// The file.
        path: Utf8PathBuf,
        /// Digest taken first.
        expected: String,
        /// Digest of what was written.
        actual: String,
    },
    /// The bundle file could not be opened or read.
    #[error("cannot read bundle {path}")]
    Read {
        /// The bundle.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The bundle is not a valid OCI image-layout tarball.
    #[error("invalid bundle {path}: {problem}")]
    Invalid {
        /// The bundle.
        path: Utf8PathBuf,
        /// What is wrong, naming the entry.
        problem: String,
    },
    /// Extracting into the output directory failed.
    #[error("cannot write {path}")]
    Extract {
        /// The file being written.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// JSON could not be produced (internal error).
    #[error("cannot serialize {what}")]
    Json {
        /// What was being serialized.
        what: &'static str,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// oci-spec rejected a document we built (internal error).
    #[error("cannot build OCI {what}")]
    Spec {
        /// The document.
        what: &'static str,
        /// Why.
        #[source]
        source: oci_spec::OciSpecError,
    },
    /// A component's WIT world could not be read for the wasm config (`tool` feature).
    #[cfg(feature = "tool")]
    #[error("cannot read the WIT world of component {path}")]
    Component {
        /// The artifact.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: Box<crate::fingerprint::Error>,
    },
}
