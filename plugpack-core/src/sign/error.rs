use camino::Utf8PathBuf;

/// Why a key could not be made or loaded, or a bundle could not be signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key file could not be read.
    #[error("cannot read key {path}")]
    ReadKey {
        /// The file.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A key file could not be written.
    #[error("cannot write key {path}")]
    WriteKey {
        /// The file.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `keygen` would overwrite an existing key.
    #[error("{path} already exists (use --force to overwrite it)")]
    KeyExists {
        /// The existing file.
        path: Utf8PathBuf,
    },
    /// A private key file is readable by group or others.
    #[error(
        "private key {path} is accessible by others (mode {mode:o}); run `chmod 600 {path}` \
         or pass --insecure-key-permissions"
    )]
    InsecurePermissions {
        /// The file.
        path: Utf8PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The text is not a usable PEM document.
    #[error("{origin} is not a valid PEM key: {reason}")]
    MalformedKey {
        /// File path or `$PLUGPACK_SIGNING_KEY`.
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// The key is not Ed25519.
    #[error(
        "{origin} holds a {found} key; plugpack signs with Ed25519 keys only (`cargo plugpack keygen` or `openssl genpkey -algorithm ed25519`)"
    )]
    UnsupportedKeyType {
        /// File path or `$PLUGPACK_SIGNING_KEY`.
        origin: String,
        /// The key type found.
        found: String,
    },
    /// A public key was given where a private key is needed, or the reverse.
    #[error("{origin} is a {found}, but a {expected} is needed here")]
    WrongKeyKind {
        /// File path or `$PLUGPACK_SIGNING_KEY`.
        origin: String,
        /// What it is.
        found: &'static str,
        /// What is needed.
        expected: &'static str,
    },
    /// No signing key was given.
    #[error("no signing key: pass --key FILE or set PLUGPACK_SIGNING_KEY")]
    NoKey,
    /// The operating system's random generator failed.
    #[error("cannot get random bytes for a new key: {0}")]
    Random(String),
    /// A DSSE envelope is unusable.
    #[error("{origin}: {problem}")]
    Envelope {
        /// Where it came from.
        origin: String,
        /// What is wrong.
        problem: String,
    },
    /// The plugin version cannot be turned into a sequence number.
    #[error("cannot derive a sequence number from version `{version}` ({reason}); pass --sequence")]
    Sequence {
        /// The version.
        version: String,
        /// Why.
        reason: String,
    },
    /// A timestamp option is not RFC 3339.
    #[error("`{value}` is not an RFC 3339 timestamp (like 2025-01-31T00:00:00Z)")]
    BadTime {
        /// The value.
        value: String,
    },
    /// `SOURCE_DATE_EPOCH` (used as `signed_at`) lies in the future.
    #[error(
        "SOURCE_DATE_EPOCH says the signature is made at {signed_at}, more than {skew}s after \
         the clock ({now}); verifiers reject signatures from the future, so unset it or fix it",
        skew = super::CLOCK_SKEW_SECS
    )]
    FutureSignedAt {
        /// The would-be `signed_at`.
        signed_at: String,
        /// The clock.
        now: String,
    },
    /// `--expires` is not in the future.
    #[error("--expires {expires} is not after {now}: the signature would be expired already")]
    ExpiryInPast {
        /// The requested expiry.
        expires: String,
        /// The later of the clock and `signed_at`.
        now: String,
    },
    /// `keygen -o` does not name a file stem.
    #[error("keygen -o `{path}`: {reason}")]
    BadKeyPath {
        /// The value given.
        path: Utf8PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Writing the detached envelope or signature failed.
    #[error("cannot write {path}")]
    WriteOutput {
        /// The file.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An envelope file could not be read.
    #[error("cannot read envelope {path}")]
    ReadEnvelope {
        /// The file.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Reading or rewriting the bundle failed.
    #[error(transparent)]
    Oci(#[from] crate::oci::Error),
    /// JSON could not be produced (internal error).
    #[error("cannot serialize {what}")]
    Json {
        /// What.
        what: &'static str,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}
