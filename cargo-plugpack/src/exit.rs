//! Exit codes and the error type commands return.

use plugpack_core::{
    Error, audit, build, depset, diff, fingerprint, notices, oci, project, registry, release,
    report, sbom, scaffold, sign, tuf, verify,
};

/// Finished, but a policy failed (denied findings, verification rejected).
pub const POLICY: u8 = 1;
/// Usage or configuration error.
pub const USAGE: u8 = 2;
/// Advisory database unusable (or too old under deny).
pub const DATABASE: u8 = 3;
/// Build or `cargo metadata` failure.
pub const BUILD: u8 = 4;
/// Invalid input file: a file read as data (bundle, layout directory, artifact, key,
/// envelope, fingerprint document, `--lockfile`) is missing, unreadable or malformed.
pub const INVALID_INPUT: u8 = 5;
/// Could not write output.
pub const OUTPUT: u8 = 6;
/// `abi-check`: the version bump is smaller than the ABI changes require.
pub const ABI_BUMP: u8 = 7;
/// A bug in plugpack.
pub const INTERNAL: u8 = 101;

/// A failed command: a core error, or an I/O error writing to stdout.
#[derive(Debug)]
pub enum CliError {
    /// The core failed.
    Core(Error),
    /// Writing results failed.
    Io(std::io::Error),
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        CliError::Core(e)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::Io(e)
    }
}

macro_rules! from_stage {
    ($($t:ty),*) => {$(
        impl From<$t> for CliError {
            fn from(e: $t) -> Self {
                CliError::Core(Error::from(e))
            }
        }
    )*};
}
from_stage!(
    project::Error,
    build::Error,
    oci::Error,
    scaffold::Error,
    sbom::Error,
    sign::Error,
    audit::Error
);

impl CliError {
    /// The error to print.
    pub fn as_error(&self) -> &(dyn std::error::Error + 'static) {
        match self {
            CliError::Core(e) => e,
            CliError::Io(e) => e,
        }
    }

    /// Writing to a closed pipe (`cargo plugpack inspect … | head`) is not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CliError::Io(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// The documented exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Io(_) => OUTPUT,
            CliError::Core(e) => core_exit_code(e),
        }
    }
}

fn core_exit_code(e: &Error) -> u8 {
    match e {
        Error::Project(e) => match e {
            project::Error::Metadata(_) | project::Error::Process(_) => BUILD,
            _ => USAGE,
        },
        Error::Build(e) => match e {
            build::Error::BadArtifact { .. } => INVALID_INPUT,
            build::Error::CargoConfig(_) => USAGE,
            _ => BUILD,
        },
        Error::Oci(e) => oci_exit_code(e),
        Error::Usage(_) => USAGE,
        Error::DepSet(_) => BUILD,
        Error::Sbom(e) => match e {
            sbom::Error::MissingLockfile { .. } | sbom::Error::SeveralDocuments { .. } => USAGE,
            sbom::Error::DepSet { .. } => BUILD,
            // `sbom --from-artifact FILE`: every failure to read FILE is about the input.
            sbom::Error::ReadEmbedded { .. } => INVALID_INPUT,
            sbom::Error::Embed { source, .. } => match **source {
                sbom::auditable::EmbedError::NotFound { .. }
                | sbom::auditable::EmbedError::Invalid { .. }
                | sbom::auditable::EmbedError::UnsupportedFormat { .. } => INVALID_INPUT,
                _ => OUTPUT,
            },
            sbom::Error::Write { .. } => OUTPUT,
            _ => INTERNAL,
        },
        Error::Fingerprint(e) => match e {
            fingerprint::Error::Write { .. } => OUTPUT,
            fingerprint::Error::Serialize(_) => INTERNAL,
            fingerprint::Error::BadVersion { .. }
            | fingerprint::Error::BaselineVersionUnknown { .. } => USAGE,
            _ => INVALID_INPUT,
        },
        Error::Audit(e) => match e {
            audit::Error::Findings { outcome, .. } => match outcome {
                audit::Outcome::DatabaseUnusable => DATABASE,
                _ => POLICY,
            },
            audit::Error::DbUnreadable { .. }
            | audit::Error::DbEmpty { .. }
            | audit::Error::DbRequired { .. }
            | audit::Error::NoDb { .. }
            | audit::Error::DbNotGit { .. }
            | audit::Error::Git { .. }
            | audit::Error::NoCargoHome => DATABASE,
            audit::Error::Policy(project::Error::Metadata(_) | project::Error::Process(_)) => BUILD,
            // `--lockfile PATH` is an input file like a bundle.
            audit::Error::Lockfile(
                depset::Error::ReadLockfile { .. } | depset::Error::ParseLockfile { .. },
            ) => INVALID_INPUT,
            audit::Error::Lockfile(_) => BUILD,
            audit::Error::Policy(_) | audit::Error::Offline => USAGE,
            audit::Error::Write { .. } => OUTPUT,
            _ => INTERNAL,
        },
        Error::Scaffold(e) => match e {
            scaffold::Error::Io { .. } | scaffold::Error::Git { .. } => OUTPUT,
            scaffold::Error::Render(_) => INTERNAL,
            _ => USAGE,
        },
        Error::Sign(e) => sign_exit_code(e),
        Error::Verify(e) => verify_exit_code(e),
        Error::Registry(e) => registry_exit_code(e),
        Error::Release(e) => release_exit_code(e),
        Error::Tuf(e) => tuf_exit_code(e),
        Error::Notices(e) => match e {
            notices::Error::Invalid { .. } | notices::Error::NotInBundle { .. } => INVALID_INPUT,
            notices::Error::Write { .. } => OUTPUT,
            _ => INTERNAL,
        },
        Error::Diff(e) => match e {
            diff::Error::Unrecognized { .. } => INVALID_INPUT,
            diff::Error::FailOn(_) => USAGE,
            _ => INTERNAL,
        },
        Error::Report(e) => match e {
            report::Error::Attachment { .. } => INVALID_INPUT,
            report::Error::Template { .. } | report::Error::Render { .. } => USAGE,
            report::Error::Write { .. } => OUTPUT,
            _ => INTERNAL,
        },
        _ => INTERNAL,
    }
}

/// `release`: a tag that does not match the crate version and a dirty working tree are
/// configuration of the release job (exit 2, like any other refused flag combination); a
/// version bump smaller than the ABI changes is `abi-check`'s exit 7; an unreadable fresh
/// bundle is invalid input; the release directory that cannot be written is exit 6.
fn release_exit_code(e: &release::Error) -> u8 {
    match e {
        release::Error::TagFormat { .. }
        | release::Error::TagMismatch { .. }
        | release::Error::TagNamesOtherPlugin { .. }
        | release::Error::TagNamesOnePlugin { .. }
        | release::Error::DirtyTree { .. } => USAGE,
        release::Error::AbiBump { .. } => ABI_BUMP,
        release::Error::Bundle { .. } => INVALID_INPUT,
        release::Error::Write { .. } => OUTPUT,
        _ => INTERNAL,
    }
}

/// One rule for every command: a file read as data (bundle, layout directory, artifact, key,
/// envelope, fingerprint document, `--lockfile`) that is missing, unreadable or malformed is
/// exit 5; configuration (trust policy, flags, anti-rollback state) is exit 2. A bundle
/// `verify` can open but not parse is a rejection (`bundle-invalid`, exit 1), not an error.
fn verify_exit_code(e: &verify::Error) -> u8 {
    match e {
        verify::Error::Key(e) => sign_exit_code(e),
        verify::Error::Oci(e) => oci_exit_code(e),
        verify::Error::ReadHostAbi { .. }
        | verify::Error::HostAbi { .. }
        | verify::Error::ReadLayout { .. } => INVALID_INPUT,
        _ => USAGE,
    }
}

fn sign_exit_code(e: &sign::Error) -> u8 {
    match e {
        sign::Error::KeyExists { .. }
        | sign::Error::InsecurePermissions { .. }
        | sign::Error::NoKey
        | sign::Error::Sequence { .. }
        | sign::Error::BadTime { .. }
        | sign::Error::FutureSignedAt { .. }
        | sign::Error::ExpiryInPast { .. }
        | sign::Error::BadKeyPath { .. }
        | sign::Error::WrongKeyKind { .. } => USAGE,
        sign::Error::MalformedKey { .. }
        | sign::Error::UnsupportedKeyType { .. }
        | sign::Error::ReadKey { .. }
        | sign::Error::ReadEnvelope { .. }
        | sign::Error::Envelope { .. } => INVALID_INPUT,
        sign::Error::WriteKey { .. } | sign::Error::WriteOutput { .. } => OUTPUT,
        sign::Error::Oci(e) => oci_exit_code(e),
        _ => INTERNAL,
    }
}

fn oci_exit_code(e: &oci::Error) -> u8 {
    match e {
        oci::Error::Invalid { .. } | oci::Error::Read { .. } => INVALID_INPUT,
        oci::Error::Write { .. }
        | oci::Error::Extract { .. }
        | oci::Error::ReadSource { .. }
        | oci::Error::SourceChanged { .. } => OUTPUT,
        _ => INTERNAL,
    }
}

/// Registry failures: a bad reference, plain HTTP to a remote host, credentials the registry
/// refuses or a registry that cannot be reached are usage/configuration (exit 2); content that
/// does not match its digest or cannot be used is invalid input (exit 5); the output bundle
/// that cannot be written is exit 6.
fn registry_exit_code(e: &registry::Error) -> u8 {
    match e {
        registry::Error::Reference { .. }
        | registry::Error::Insecure(_)
        | registry::Error::Credentials { .. }
        | registry::Error::Transport { .. }
        | registry::Error::Status { .. } => USAGE,
        registry::Error::Corrupt { .. }
        | registry::Error::Unsupported { .. }
        | registry::Error::Read { .. } => INVALID_INPUT,
        registry::Error::Write { .. } => OUTPUT,
        registry::Error::Bundle(e) => oci_exit_code(e),
        _ => INTERNAL,
    }
}

/// A rejected repository or download is a failed policy (exit 1), like a rejected bundle;
/// unreadable local inputs are exit 5, unwritable outputs 6, flags and repository state 2.
fn tuf_exit_code(e: &tuf::Error) -> u8 {
    match e {
        tuf::Error::Rejected { .. } | tuf::Error::BundleRefused { .. } => POLICY,
        tuf::Error::Read { .. } | tuf::Error::Transport { .. } | tuf::Error::TrustedRoot { .. } => {
            INVALID_INPUT
        }
        tuf::Error::Write { .. } => OUTPUT,
        tuf::Error::Key(e) => sign_exit_code(e),
        tuf::Error::Verify(e) => verify_exit_code(e),
        tuf::Error::Repo { .. } | tuf::Error::Usage(_) => USAGE,
        _ => INTERNAL,
    }
}
