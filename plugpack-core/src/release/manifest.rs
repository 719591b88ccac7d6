//! `plugpack-release.json` (schema `plugpack-release/1`) and `SHA256SUMS`.

use std::collections::BTreeMap;

use camino::Utf8Path;
use serde::{Deserialize, Serialize};

use super::{Error, ReleaseTag, file_digest};
use crate::pipeline::{AbiCheck, WrittenBundle};
use crate::types::{Sha256Digest, rfc3339};

/// `schema` of [`ReleaseManifest`].
pub const SCHEMA: &str = "plugpack-release/1";
/// The manifest's file name in the release directory.
pub const MANIFEST_FILE_NAME: &str = "plugpack-release.json";
/// The checksum file's name in the release directory.
pub const SUMS_FILE_NAME: &str = "SHA256SUMS";

/// The machine-readable list of everything a release produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseManifest {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The checked tag, when there was one.
    pub tag: Option<ReleaseTag>,
    /// The source commit (HEAD), when the workspace is a git checkout.
    pub revision: Option<String>,
    /// Whether tracked files had uncommitted changes (`--allow-dirty`).
    pub dirty: bool,
    /// `--dry-run`: nothing was signed or pushed.
    pub dry_run: bool,
    /// `SOURCE_DATE_EPOCH` (else the last commit's time) as RFC 3339.
    pub created: String,
    /// One entry per plugin.
    pub plugins: Vec<ReleasePlugin>,
    /// Every file of the release directory except this manifest and `SHA256SUMS`, sorted by
    /// name (`SHA256SUMS` lists these and the manifest).
    pub files: Vec<ReleaseFile>,
}

/// One released plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasePlugin {
    /// Plugin name.
    pub name: String,
    /// Version.
    pub version: String,
    /// The bundle's file name in the release directory.
    pub bundle: String,
    /// Digest of the tagged entry (what registries and signatures refer to).
    pub digest: Sha256Digest,
    /// Target triples.
    pub targets: Vec<String>,
    /// The signing key's id, when signed.
    pub key_id: Option<String>,
    /// Whether an SLSA provenance statement was signed with it.
    pub provenance: bool,
    /// The ABI verdict against the baseline.
    pub abi: AbiVerdict,
    /// The audit verdict.
    pub audit: AuditVerdict,
    /// Where it was pushed (`--push`).
    pub pushed: Vec<PushedRef>,
}

/// The ABI check of one plugin against its baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbiVerdict {
    /// `ok` (the bump covers the ABI changes) or `no-baseline` (no baseline configured).
    /// A bump that is too small fails the release, so never appears here.
    pub status: String,
    /// The baseline, when one was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// The baseline's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_version: Option<String>,
    /// The ABI diff's semver verdict over the plugin's targets, as `abi-diff` gives it
    /// (`patch`: compatible, `minor`: additions, `major`: breaking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    /// How many ABI changes the diffs found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<usize>,
}

/// The audit verdict of one plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditVerdict {
    /// `clean`, `warned`, `unchecked`, `denied` (with `--allow-findings`), …
    pub verdict: String,
    /// Denied findings.
    pub denied: usize,
    /// Warnings.
    pub warnings: usize,
    /// Ignored findings.
    pub ignored: usize,
}

/// One pushed reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedRef {
    /// `REGISTRY/REPO@sha256:…`.
    pub reference: String,
    /// The tagged entry's digest.
    pub digest: Sha256Digest,
    /// Tags set.
    pub tags: Vec<String>,
}

/// One file of the release directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseFile {
    /// File name (relative to the release directory).
    pub name: String,
    /// `bundle`, `minisig`, `sbom`, `abi`, `audit` or `audit-sarif`.
    pub kind: String,
    /// SHA-256 of the file.
    pub sha256: Sha256Digest,
    /// Size in bytes.
    pub size: u64,
}

pub(super) struct Inputs<'a> {
    pub staged: &'a Utf8Path,
    pub files: &'a [(String, &'static str)],
    pub tag: Option<ReleaseTag>,
    pub revision: Option<String>,
    pub dirty: bool,
    pub dry_run: bool,
    pub bundles: &'a [WrittenBundle],
    pub abi: &'a [AbiCheck],
    pub baselines_for: &'a [String],
    pub pushed: &'a BTreeMap<String, Vec<PushedRef>>,
    pub epoch: i64,
}

/// Hashes the staged files, writes `plugpack-release.json` and `SHA256SUMS` into `staged`.
pub(super) fn build(inputs: Inputs<'_>) -> Result<ReleaseManifest, Error> {
    let mut files = Vec::new();
    for (name, kind) in inputs.files {
        let (sha256, size) = file_digest(&inputs.staged.join(name))?;
        files.push(ReleaseFile {
            name: name.clone(),
            kind: (*kind).to_owned(),
            sha256,
            size,
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    let plugins = inputs
        .bundles
        .iter()
        .map(|b| plugin_entry(b, &inputs))
        .collect();
    let manifest = ReleaseManifest {
        schema: SCHEMA.to_owned(),
        tag: inputs.tag,
        revision: inputs.revision,
        dirty: inputs.dirty,
        dry_run: inputs.dry_run,
        created: rfc3339(inputs.epoch),
        plugins,
        files,
    };
    let mut json = serde_json::to_string_pretty(&manifest).map_err(|source| Error::Serialize {
        what: "release manifest",
        source,
    })?;
    json.push('\n');
    let path = inputs.staged.join(MANIFEST_FILE_NAME);
    crate::types::write_atomic(&path, json.as_bytes())
        .map_err(|source| Error::Write { path, source })?;
    let mut listed: Vec<(String, Sha256Digest)> = manifest
        .files
        .iter()
        .map(|f| (f.name.clone(), f.sha256))
        .collect();
    listed.push((
        MANIFEST_FILE_NAME.to_owned(),
        Sha256Digest::of_bytes(json.as_bytes()),
    ));
    let path = inputs.staged.join(SUMS_FILE_NAME);
    crate::types::write_atomic(&path, sha256sums(&listed).as_bytes())
        .map_err(|source| Error::Write { path, source })?;
    Ok(manifest)
}

fn plugin_entry(bundle: &WrittenBundle, inputs: &Inputs<'_>) -> ReleasePlugin {
    let checks: Vec<&AbiCheck> = inputs
        .abi
        .iter()
        .filter(|c| c.plugin == bundle.plugin)
        .collect();
    let abi = match checks.first() {
        Some(first) if inputs.baselines_for.contains(&bundle.plugin) => AbiVerdict {
            status: "ok".to_owned(),
            baseline: Some(first.baseline.to_string()),
            baseline_version: Some(first.version.old_version.clone()),
            verdict: checks
                .iter()
                .map(|c| c.diff.verdict)
                .max()
                .map(|b| b.to_string()),
            changes: Some(checks.iter().map(|c| c.diff.changes.len()).sum()),
        },
        _ => AbiVerdict {
            status: "no-baseline".to_owned(),
            baseline: None,
            baseline_version: None,
            verdict: None,
            changes: None,
        },
    };
    let s = &bundle.audit.summary;
    let mut targets: Vec<String> = bundle
        .info
        .manifests
        .iter()
        .filter_map(|m| m.target.clone())
        .collect();
    targets.sort();
    ReleasePlugin {
        name: bundle.plugin.clone(),
        version: bundle.version.clone(),
        bundle: bundle.path.file_name().unwrap_or_default().to_owned(),
        digest: bundle.info.digest,
        targets,
        key_id: bundle.signature.as_ref().map(|s| s.key_id.to_string()),
        provenance: bundle
            .signature
            .as_ref()
            .is_some_and(|s| s.provenance.is_some()),
        abi,
        audit: AuditVerdict {
            verdict: bundle.audit.outcome.as_str().to_owned(),
            denied: s.denied,
            warnings: s.warnings,
            ignored: s.ignored,
        },
        pushed: inputs
            .pushed
            .get(&bundle.plugin)
            .cloned()
            .unwrap_or_default(),
    }
}

/// `sha256sum` format: `<hex>  <name>` per line (two spaces: text mode, which `sha256sum
/// -c` and `shasum -a 256 -c` both read), sorted by name.
pub fn sha256sums(files: &[(String, Sha256Digest)]) -> String {
    let mut sorted: Vec<&(String, Sha256Digest)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted
        .iter()
        .map(|(name, digest)| format!("{}  {name}\n", digest.hex()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_are_sorted_in_sha256sum_format() {
        let a = Sha256Digest::of_bytes(b"a");
        let b = Sha256Digest::of_bytes(b"b");
        let text = sha256sums(&[("z.json".to_owned(), b), ("a.tar".to_owned(), a)]);
        assert_eq!(text, format!("{}  a.tar\n{}  z.json\n", a.hex(), b.hex()));
    }
}
