//! Registry errors: each names the registry, the operation and what went wrong, and never
//! holds a credential.

/// A registry operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The reference cannot be parsed.
    #[error("invalid registry reference `{reference}`: {problem}")]
    Reference {
        /// What was given.
        reference: String,
        /// What is wrong with it.
        problem: String,
    },
    /// Plain HTTP was asked for a host that is not loopback, or not asked for at all.
    #[error("{0}")]
    Insecure(String),
    /// Credentials could not be read (Docker config file, credential helper); never quotes
    /// what the source holds.
    #[error("registry credentials from {source_name}: {problem}")]
    Credentials {
        /// The config file or helper program.
        source_name: String,
        /// What is wrong.
        problem: String,
    },
    /// The registry could not be reached or the connection broke.
    #[error("{registry}: {operation} failed: {message}")]
    Transport {
        /// Registry host.
        registry: String,
        /// What was being done.
        operation: String,
        /// The transport error.
        message: String,
    },
    /// The registry answered with an unexpected HTTP status.
    #[error("{registry}: {operation} failed: HTTP {status}{}", hint(*status, detail))]
    Status {
        /// Registry host.
        registry: String,
        /// What was being done.
        operation: String,
        /// HTTP status code.
        status: u16,
        /// The registry's error message, if it gave one (never credentials).
        detail: String,
    },
    /// What the registry served does not match its digest or size.
    #[error("{registry}: {what} {digest} does not match its digest or size ({problem})")]
    Corrupt {
        /// Registry host.
        registry: String,
        /// Blob or manifest.
        what: String,
        /// The expected digest.
        digest: String,
        /// Actual digest/size found.
        problem: String,
    },
    /// The registry served a document plugpack cannot use.
    #[error("{registry}: {what}: {problem}")]
    Unsupported {
        /// Registry host.
        registry: String,
        /// The document.
        what: String,
        /// Why it cannot be used.
        problem: String,
    },
    /// The bundle to push is invalid, or the pulled one failed validation.
    #[error(transparent)]
    Bundle(#[from] crate::oci::Error),
    /// Reading the bundle or the staging area failed.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: camino::Utf8PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Writing the output bundle (or its staging area) failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: camino::Utf8PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn hint(status: u16, detail: &str) -> String {
    let what = match status {
        401 => {
            " Unauthorized: credentials missing or rejected (use --username with --password-stdin, or PLUGPACK_REGISTRY_USERNAME/PLUGPACK_REGISTRY_PASSWORD)"
        }
        403 => " Forbidden: the credentials may not do this",
        404 => " Not Found",
        415 => " Unsupported Media Type: the registry refuses this manifest type",
        429 => " Too Many Requests",
        _ => "",
    };
    if detail.is_empty() {
        what.to_owned()
    } else {
        format!("{what} ({detail})")
    }
}
