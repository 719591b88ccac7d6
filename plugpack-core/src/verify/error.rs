use camino::Utf8PathBuf;

/// Why verification could not be carried out (a rejected bundle is not an error: it is a
/// [`super::VerifyReport`] with failures).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Neither a policy nor `--key` was given.
    #[error(
        "no trust configured: pass --policy plugpack-trust.toml or --key KEY.pub \
         (plugpack never trusts every signature)"
    )]
    NoTrust,
    /// Both a policy and `--key` were given.
    #[error("give either --policy or --key, not both (add the keys to a root in the policy)")]
    PolicyAndKeys,
    /// The policy file could not be read.
    #[error("cannot read trust policy {path}")]
    ReadPolicy {
        /// The file.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The policy is invalid (every problem listed).
    #[error("invalid trust policy {origin}:\n  - {}", problems.join("\n  - "))]
    Policy {
        /// The file.
        origin: String,
        /// Every problem found.
        problems: Vec<String>,
    },
    /// A key given with `--key` is unusable.
    #[error(transparent)]
    Key(#[from] crate::sign::Error),
    /// No state directory could be determined.
    #[error(
        "no anti-rollback state directory: pass --state DIR or set `state` to a directory \
         (or set PLUGPACK_STATE_DIR, XDG_DATA_HOME or HOME)"
    )]
    NoStateDir,
    /// The state directory could not be read or written.
    #[error("cannot read or write anti-rollback state {path}")]
    State {
        /// The file.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A state file is corrupt.
    #[error(
        "anti-rollback state {path} is corrupt ({problem}); inspect it or remove it deliberately"
    )]
    StateCorrupt {
        /// The file.
        path: Utf8PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A state file has a `schema_version` this build does not know (a newer plugpack wrote
    /// it); it is left as it is.
    #[error(
        "anti-rollback state {path} has schema_version {found}, which this plugpack does not \
         know (written by a newer version?); it was left unchanged"
    )]
    StateSchema {
        /// The file.
        path: Utf8PathBuf,
        /// The `schema_version` found (`none` when missing).
        found: String,
    },
    /// Another verifier held the state lock for longer than the timeout.
    #[error(
        "anti-rollback state is locked by another verifier: gave up on {path} after {}s",
        waited.as_secs_f32()
    )]
    StateLocked {
        /// The lock file.
        path: Utf8PathBuf,
        /// How long it waited.
        waited: std::time::Duration,
    },
    /// The bundle could not be opened, or verified files could not be extracted.
    #[error(transparent)]
    Oci(#[from] crate::oci::Error),
    /// The `--host-abi` document could not be read.
    #[cfg(feature = "guard")]
    #[error("cannot read host ABI expectation {path}")]
    ReadHostAbi {
        /// The file.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The `--host-abi` document is not a `plugpack-abi/1` fingerprint.
    #[cfg(feature = "guard")]
    #[error("invalid host ABI expectation {path}")]
    HostAbi {
        /// The file.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: Box<crate::fingerprint::Error>,
    },
    /// A layout directory could not be read.
    #[error("cannot read OCI layout directory {path}")]
    ReadLayout {
        /// The directory.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}
