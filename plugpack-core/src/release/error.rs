//! Why a release was refused or could not be written.

use camino::Utf8PathBuf;

/// A release failure of the release stage itself (the composed stages keep their own).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The tag is neither `vX.Y.Z` nor `NAME-vX.Y.Z`.
    #[error(
        "release tag `{tag}` (from {source_name}) is neither vX.Y.Z nor NAME-vX.Y.Z with a semantic version"
    )]
    TagFormat {
        /// The tag.
        tag: String,
        /// Where it came from.
        source_name: &'static str,
    },
    /// The tag's version is not the plugin's.
    #[error(
        "release tag `{tag}` does not match {plugin} version {version} in Cargo.toml: tag the \
         commit that sets the version, or set the version the tag names"
    )]
    TagMismatch {
        /// The tag.
        tag: String,
        /// The plugin whose version differs.
        plugin: String,
        /// Its version.
        version: String,
    },
    /// `NAME-vX.Y.Z` names a plugin that is not selected.
    #[error(
        "release tag `{tag}` names `{name}`, which is not among the selected plugins ({})",
        selected.join(", ")
    )]
    TagNamesOtherPlugin {
        /// The tag.
        tag: String,
        /// The name in it.
        name: String,
        /// The selected plugins.
        selected: Vec<String>,
    },
    /// `NAME-vX.Y.Z` with several plugins selected.
    #[error("release tag `{tag}` names one plugin; select only it with `-p {name}`")]
    TagNamesOnePlugin {
        /// The tag.
        tag: String,
        /// The package to select.
        name: String,
    },
    /// Tracked files have uncommitted changes.
    #[error(
        "the working tree at {root} has uncommitted changes: a release must be built from a \
         commit (commit or stash them, or pass --allow-dirty)"
    )]
    DirtyTree {
        /// The workspace root.
        root: Utf8PathBuf,
    },
    /// The version bump is smaller than the ABI changes require.
    #[error("{plugin} ({target}): {message}")]
    AbiBump {
        /// The plugin.
        plugin: String,
        /// The target.
        target: String,
        /// What bump is needed and how to get it.
        message: String,
    },
    /// A release file or directory could not be written.
    #[error("cannot write the release to {path}")]
    Write {
        /// The file or directory.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An attachment of a freshly written bundle could not be read back.
    #[error("bundle {path}: {problem}")]
    Bundle {
        /// The bundle.
        path: Utf8PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A release document could not be serialized (a bug).
    #[error("cannot serialize {what}")]
    Serialize {
        /// Which document.
        what: &'static str,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}
