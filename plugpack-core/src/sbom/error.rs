//! `sbom::Error`.

use camino::Utf8PathBuf;

/// Why an SBOM could not be produced or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The dependency set could not be computed.
    #[error("cannot compute the dependencies of {plugin} for {target}")]
    DepSet {
        /// Plugin name.
        plugin: String,
        /// Target triple.
        target: String,
        /// Why.
        #[source]
        source: Box<crate::depset::Error>,
    },
    /// The dependency list could not be embedded into the artifact.
    #[error("cannot embed the dependency list of {plugin} for {target}")]
    Embed {
        /// Plugin name.
        plugin: String,
        /// Target triple.
        target: String,
        /// Why.
        #[source]
        source: Box<super::auditable::EmbedError>,
    },
    /// `--from-artifact`: the embedded list could not be read.
    #[error("cannot read the embedded dependency list of {path}")]
    ReadEmbedded {
        /// The file.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: Box<super::auditable::EmbedError>,
    },
    /// `--locked` was given but the workspace has no `Cargo.lock`.
    #[error(
        "no Cargo.lock in {workspace_root} and --locked was given; run `cargo generate-lockfile` and commit it"
    )]
    MissingLockfile {
        /// The workspace root.
        workspace_root: Utf8PathBuf,
    },
    /// The document could not be serialized.
    #[error("cannot serialize the SBOM of {plugin} for {target}")]
    Serialize {
        /// Plugin name.
        plugin: String,
        /// Target triple.
        target: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The document could not be written.
    #[error("cannot write SBOM {path}")]
    Write {
        /// Destination.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `-o -` (stdout) or `-o FILE` with several SBOMs to write.
    #[error(
        "{count} SBOMs to write ({artifacts}) but -o names one file; pass an existing directory, or select one plugin and target"
    )]
    SeveralDocuments {
        /// How many.
        count: usize,
        /// `plugin (target)` list.
        artifacts: String,
    },
    /// A component's WIT world (the packages it imports) could not be read.
    #[error("cannot read the WIT world of component {path}")]
    ComponentWorld {
        /// The artifact.
        path: camino::Utf8PathBuf,
        /// Why.
        #[source]
        source: Box<crate::fingerprint::Error>,
    },
}
