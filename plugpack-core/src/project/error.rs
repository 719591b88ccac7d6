use camino::Utf8PathBuf;

use crate::process::ProcessError;

/// Why a project could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `Cargo.toml` could not be read.
    #[error("cannot read manifest {path}")]
    ReadManifest {
        /// The manifest.
        path: Utf8PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A `metadata.plugpack` table does not parse (unknown key, wrong type).
    #[error("invalid plugpack configuration in {path}")]
    InvalidConfig {
        /// The manifest holding the table.
        path: Utf8PathBuf,
        /// toml's error, which carries line, column and key.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A configuration value is out of range.
    #[error("invalid plugpack configuration in {path}: key `{key}`: {message}")]
    InvalidConfigValue {
        /// The manifest holding the table.
        path: Utf8PathBuf,
        /// The offending key.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// Cargo's configuration (`.cargo/config.toml`, `CARGO_*` variables) cannot be resolved.
    #[error("cannot resolve cargo's configuration for {dir}")]
    CargoConfig {
        /// The directory it was resolved from.
        dir: Utf8PathBuf,
        /// cargo-config2's error, which names the file or variable.
        #[source]
        source: Box<cargo_config2::Error>,
    },
    /// `cargo metadata` failed.
    #[error("cargo metadata failed")]
    Metadata(#[source] cargo_metadata::Error),
    /// A package named with `-p` is not in the workspace.
    #[error("package `{0}` is not a member of the workspace")]
    UnknownPackage(String),
    /// A selected package does not build a cdylib.
    #[error(
        "package `{package}` ({manifest}) does not build a cdylib; a plugin crate needs\n\n    [lib]\n    crate-type = [\"cdylib\", \"rlib\"]\n\nin its Cargo.toml"
    )]
    NotACdylib {
        /// The package name.
        package: String,
        /// Its manifest.
        manifest: Utf8PathBuf,
    },
    /// Nothing selected builds a cdylib.
    #[error(
        "no selected package builds a cdylib (declare `crate-type = [\"cdylib\", \"rlib\"]` under [lib], or select one with -p)"
    )]
    NoPlugins,
    /// A path is not valid UTF-8.
    #[error("path is not valid UTF-8: {0}")]
    NonUtf8Path(String),
    /// `SOURCE_DATE_EPOCH` is malformed.
    #[error(transparent)]
    SourceDateEpoch(#[from] crate::ctx::BadSourceDateEpoch),
    /// An external program failed.
    #[error(transparent)]
    Process(#[from] ProcessError),
}
