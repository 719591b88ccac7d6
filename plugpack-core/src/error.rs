//! The crate-wide error: one variant per stage, nothing else. Each stage's own error type
//! names the file or command involved.

/// Any plugpack failure ("could not do the work"); findings are values in reports, not errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Loading the workspace or its configuration failed.
    #[cfg(feature = "tool")]
    #[error(transparent)]
    Project(#[from] crate::project::Error),
    /// Building failed.
    #[cfg(feature = "tool")]
    #[error(transparent)]
    Build(#[from] crate::build::Error),
    /// Computing the dependency set failed.
    #[cfg(feature = "tool")]
    #[error(transparent)]
    DepSet(#[from] crate::depset::Error),
    /// Generating or writing an SBOM failed.
    #[cfg(feature = "tool")]
    #[error(transparent)]
    Sbom(#[from] crate::sbom::Error),
    /// Writing or reading a bundle failed.
    #[cfg(feature = "verify")]
    #[error(transparent)]
    Oci(#[from] crate::oci::Error),
    /// Fingerprinting or comparing ABIs failed.
    #[cfg(feature = "guard")]
    #[error(transparent)]
    Fingerprint(#[from] crate::fingerprint::Error),
    /// Options that cannot be combined (e.g. `-o` with several plugins).
    #[error("{0}")]
    Usage(String),
    /// The audit could not be done (database, policy, lockfile).
    #[cfg(feature = "tool")]
    #[error(transparent)]
    Audit(#[from] crate::audit::Error),
    /// Scaffolding failed.
    #[cfg(feature = "tool")]
    #[error(transparent)]
    Scaffold(#[from] crate::scaffold::Error),
    /// Key handling or signing failed.
    #[cfg(feature = "verify")]
    #[error(transparent)]
    Sign(#[from] crate::sign::Error),
    /// Pushing to or pulling from a registry failed.
    #[cfg(feature = "registry")]
    #[error(transparent)]
    Registry(#[from] crate::registry::Error),
    /// Verification could not be carried out (a rejected bundle is a report, not an error).
    #[cfg(feature = "verify")]
    #[error(transparent)]
    Verify(#[from] crate::verify::Error),
    /// A release was refused (tag, dirty tree, ABI bump) or could not be written.
    #[cfg(feature = "tool")]
    #[error(transparent)]
    Release(#[from] crate::release::Error),
    /// A TUF repository operation failed or a repository was rejected.
    #[cfg(feature = "tuf")]
    #[error(transparent)]
    Tuf(#[from] crate::tuf::Error),
    /// Collecting, reading or writing third-party notices failed.
    #[cfg(feature = "tool")]
    #[error(transparent)]
    Notices(#[from] crate::notices::Error),
    /// Making or writing a compliance report failed.
    #[cfg(feature = "tool")]
    #[error(transparent)]
    Report(#[from] crate::report::Error),
    /// A `diff` side could not be read.
    #[cfg(feature = "tool")]
    #[error(transparent)]
    Diff(#[from] crate::diff::Error),
}

/// `Result` with the crate-wide [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A build record's error is a build error (`--no-build`, or writing the record after a build).
#[cfg(feature = "tool")]
impl From<crate::build::record::Error> for Error {
    fn from(e: crate::build::record::Error) -> Self {
        Error::Build(crate::build::Error::Record(Box::new(e)))
    }
}
