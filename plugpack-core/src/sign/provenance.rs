//! SLSA provenance v1 (`https://slsa.dev/provenance/v1`): the second in-toto statement a
//! signature referrer carries when `release` (or `sign --provenance`) signs a bundle.
//!
//! The statement's subjects are the same manifests (and image index) the plugin statement
//! signs, so a verifier that trusts the signer learns how exactly those bytes were built:
//! from which source commit and `Cargo.lock`, with which toolchain, targets, profile and
//! features, by which builder. Field names follow the SLSA v1 schema; the build type is
//! [`BUILD_TYPE`], documented in `docs/release.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::statement::Subject;
use super::{Envelope, FoundEnvelope, STATEMENT_TYPE};

/// `predicateType` of SLSA provenance v1.
pub const PROVENANCE_PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";
/// `buildDefinition.buildType` of plugpack releases (documented in `docs/release.md`).
pub const BUILD_TYPE: &str = "https://plugpack.dev/buildtypes/release/v1";
/// `runDetails.builder.id` outside GitHub Actions and GitLab CI, unless
/// `PLUGPACK_BUILDER_ID` names one: a build on an unidentified machine.
pub const GENERIC_BUILDER_ID: &str = "https://plugpack.dev/builders/generic/v1";

/// An in-toto Statement v1 whose predicate is SLSA provenance v1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenanceStatement {
    /// Always [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// The signed manifests (and image index), as in the plugin statement.
    pub subject: Vec<Subject>,
    /// Always [`PROVENANCE_PREDICATE_TYPE`].
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The provenance.
    pub predicate: Provenance,
}

impl ProvenanceStatement {
    /// A statement of `provenance` about `subject`.
    pub fn new(subject: Vec<Subject>, provenance: Provenance) -> Self {
        Self {
            statement_type: STATEMENT_TYPE.to_owned(),
            subject,
            predicate_type: PROVENANCE_PREDICATE_TYPE.to_owned(),
            predicate: provenance,
        }
    }
}

/// The SLSA v1 provenance predicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// What was built and from what.
    pub build_definition: BuildDefinition,
    /// Who built it, when.
    pub run_details: RunDetails,
}

/// `buildDefinition`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildDefinition {
    /// [`BUILD_TYPE`] for plugpack releases.
    pub build_type: String,
    /// The parameters a user chose: tag, targets, profile, features.
    pub external_parameters: ExternalParameters,
    /// Source commit, `Cargo.lock` digest, toolchain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

/// `buildDefinition.externalParameters` of [`BUILD_TYPE`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalParameters {
    /// The release tag (`v1.2.0`, `name-v1.2.0`), when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Target triples built.
    pub targets: Vec<String>,
    /// Cargo profile (`release`, …); absent when unknown (`sign --provenance`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// `--features` given (sorted); `--all-features`/`--no-default-features` as the
    /// entries `all-features`/`no-default-features` of [`ExternalParameters::feature_flags`].
    #[serde(default)]
    pub features: Vec<String>,
    /// `all-features`, `no-default-features` when given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feature_flags: Vec<String>,
}

/// An in-toto ResourceDescriptor (at least one of `uri`, `digest`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDescriptor {
    /// A name (`Cargo.lock`, `rustc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A URI (`git+https://github.com/o/r@refs/tags/v1.2.0`, `pkg:generic/rustc@1.95.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Digests by algorithm (`gitCommit`, `sha256`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: BTreeMap<String, String>,
    /// Extra facts (the `rustc -vV` fields of the toolchain).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// `runDetails`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunDetails {
    /// The builder.
    pub builder: Builder,
    /// Invocation id and times.
    pub metadata: BuildMetadata,
}

/// `runDetails.builder`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Builder {
    /// The builder's URI: the CI workflow or job, else [`GENERIC_BUILDER_ID`].
    pub id: String,
}

/// `runDetails.metadata`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildMetadata {
    /// The CI run (GitHub Actions run attempt URL, GitLab job URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_id: Option<String>,
    /// RFC 3339 start time (`SOURCE_DATE_EPOCH` when set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_on: Option<String>,
    /// RFC 3339 finish time (`SOURCE_DATE_EPOCH` when set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_on: Option<String>,
}

impl Provenance {
    /// The source repository's resolved dependency: the first whose URI starts with `git+`.
    pub fn source(&self) -> Option<&ResourceDescriptor> {
        self.build_definition
            .resolved_dependencies
            .iter()
            .find(|d| d.uri.as_deref().is_some_and(|u| u.starts_with("git+")))
    }
}

/// Whether `source_uri` names the repository of `recorded` (a `git+URL[@REF]` URI): equal
/// after dropping `git+`, the `@REF` suffix, a trailing `.git` and `/`, so
/// `https://github.com/o/r` matches `git+https://github.com/o/r.git@refs/tags/v1.0.0`.
pub fn source_matches(recorded: &str, source_uri: &str) -> bool {
    fn norm(uri: &str) -> String {
        let uri = uri.strip_prefix("git+").unwrap_or(uri);
        // `@` after the scheme and host separates the ref (an `@` in user info comes before
        // the host's first `/`).
        let path_start = uri.find("://").map(|i| i + 3).unwrap_or(0);
        let first_slash = uri[path_start..]
            .find('/')
            .map(|i| i + path_start)
            .unwrap_or(uri.len());
        let uri = match uri[first_slash..].rfind('@') {
            Some(at) => &uri[..first_slash + at],
            None => uri,
        };
        let uri = uri.trim_end_matches('/');
        uri.strip_suffix(".git").unwrap_or(uri).to_ascii_lowercase()
    }
    norm(recorded) == norm(source_uri)
}

/// The provenance statement inside `found`, when its payload is one (checked before any
/// signature: the caller decides whom to trust). `None` for anything else, such as
/// plugpack's plugin statement.
pub fn provenance_of(found: &FoundEnvelope) -> Option<Result<ProvenanceStatement, String>> {
    let envelope: &Envelope = found.envelope.as_ref().ok()?;
    let payload = envelope.payload_bytes("envelope").ok()?;
    let value: serde_json::Value = serde_json::from_slice(&payload).ok()?;
    if value.get("predicateType").and_then(|v| v.as_str()) != Some(PROVENANCE_PREDICATE_TYPE) {
        return None;
    }
    Some(
        serde_json::from_value(value)
            .map_err(|e| format!("envelope {}: malformed SLSA provenance ({e})", found.digest)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_uris_compare_without_ref_suffix_and_dot_git() {
        let recorded = "git+https://github.com/acme/plugin.git@refs/tags/v1.0.0";
        assert!(source_matches(recorded, "https://github.com/acme/plugin"));
        assert!(source_matches(
            recorded,
            "git+https://github.com/Acme/plugin/"
        ));
        assert!(source_matches(
            "git+https://user@example.com/a/b@refs/heads/main",
            "https://user@example.com/a/b"
        ));
        assert!(!source_matches(recorded, "https://github.com/acme/other"));
        assert!(!source_matches(recorded, "https://github.com/acme"));
    }
}
