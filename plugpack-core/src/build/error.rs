use camino::Utf8PathBuf;

use crate::process::ProcessError;

/// Why a build could not produce plugin artifacts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A requested target's standard library is not installed.
    #[error("target `{target}` is not installed; run `rustup target add {target}`")]
    TargetNotInstalled {
        /// The target triple.
        target: String,
    },
    /// cargo could not be started.
    #[error("could not run `{command}`")]
    Spawn {
        /// The command line.
        command: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// cargo ran and failed; its own diagnostics were already shown.
    #[error(
        "cargo build failed for {what} ({status}); see cargo's messages above\n  command: {command}"
    )]
    CargoFailed {
        /// The package(s) and target.
        what: String,
        /// The command line.
        command: String,
        /// The exit status.
        status: std::process::ExitStatus,
    },
    /// cargo's JSON output could not be read.
    #[error("cannot read cargo's output of `{command}`")]
    ReadOutput {
        /// The command line.
        command: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// cargo succeeded but reported no library file for a plugin.
    #[error("cargo built `{package}` for {target} but reported no cdylib/wasm file")]
    NoArtifact {
        /// Package name.
        package: String,
        /// Target triple.
        target: String,
    },
    /// A file given with `--artifact` cannot be used.
    #[error("cannot use artifact {path}: {reason}")]
    BadArtifact {
        /// The path.
        path: Utf8PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A built file could not be hashed.
    #[error("cannot read built artifact {path}")]
    ReadArtifact {
        /// The path.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An artifact's bytes contradict the target it would be labelled with.
    #[error("{path} is labelled `{target}` but is {found}; plugpack will not label it")]
    TargetMismatch {
        /// The artifact.
        path: Utf8PathBuf,
        /// The target it was built (or given) for.
        target: String,
        /// What the file is.
        found: String,
    },
    /// Cargo's configuration could not be resolved.
    #[error(transparent)]
    CargoConfig(#[from] Box<crate::project::Error>),
    /// A build record could not be written or used (`--no-build`).
    #[error(transparent)]
    Record(#[from] Box<super::record::Error>),
    /// rustc could not be asked about its version or targets.
    #[error(transparent)]
    Rustc(#[from] ProcessError),
}
