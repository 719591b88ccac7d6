//! The in-toto Statement v1 plugpack signs, and how it is derived from a bundle.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Error;
use crate::oci::{BundleInfo, Layout, PLUGIN_ANNOTATION, REVISION_ANNOTATION};
use crate::types::Sha256Digest;

/// `_type` of an in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// `predicateType` of plugpack's plugin attestation.
pub const PREDICATE_TYPE: &str = "https://plugpack.dev/attestation/plugin/v1";

/// An in-toto Statement v1 (field names as the spec gives them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// Always [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// The signed manifests (and the image index of a multi-target bundle).
    pub subject: Vec<Subject>,
    /// Always [`PREDICATE_TYPE`] for plugpack attestations.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// What is asserted about the subjects.
    pub predicate: PluginPredicate,
}

/// An in-toto resource descriptor naming one signed manifest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Subject {
    /// `<plugin>/<target>` for a plugin manifest, `<plugin>:<version>` for the image index.
    pub name: String,
    /// `{"sha256": "<hex>"}`.
    pub digest: BTreeMap<String, String>,
}

/// `https://plugpack.dev/attestation/plugin/v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginPredicate {
    /// Plugin name.
    pub name: String,
    /// Plugin version (also the bundle's tag).
    pub version: String,
    /// Monotonic sequence number for anti-rollback (default: derived from the version).
    pub sequence: u64,
    /// When it was signed (RFC 3339).
    pub signed_at: String,
    /// When the signature stops being valid (RFC 3339), if it expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// The tagged `index.json` entry exactly as written (so its tag, platform and size are
    /// signed too).
    pub entry: serde_json::Value,
    /// Top-level `index.json` annotations, if any.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub index_annotations: BTreeMap<String, String>,
    /// One entry per plugin manifest.
    pub targets: Vec<TargetRef>,
    /// The analysis attachments (ABI fingerprint, SBOM, audit report, …) present when signed.
    #[serde(default)]
    pub attachments: Vec<AttachmentRef>,
}

/// One signed plugin manifest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TargetRef {
    /// Target triple.
    pub target: String,
    /// `cdylib` or `wasm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Manifest digest.
    pub manifest: Sha256Digest,
    /// Digests of its plugin artifact layers.
    pub artifacts: Vec<Sha256Digest>,
    /// The source revision the manifest records (`org.opencontainers.image.revision`, with
    /// `-dirty` when the working tree had uncommitted changes), stated in the signature so a
    /// reviewer reading the statement sees it. Absent in statements older than this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

impl TargetRef {
    /// Whether this signed entry covers `actual`: every field equal, except that a statement
    /// made before `revision` existed (none stated) still covers it, since the manifest digest
    /// binds the revision annotation anyway.
    pub fn covers(&self, actual: &TargetRef) -> bool {
        self.target == actual.target
            && self.kind == actual.kind
            && self.manifest == actual.manifest
            && self.artifacts == actual.artifacts
            && (self.revision.is_none() || self.revision == actual.revision)
    }
}

/// One attachment (OCI referrer) covered by the signature.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AttachmentRef {
    /// `abi`, `sbom`, `audit` or `other`.
    pub kind: String,
    /// The referrer's `artifactType`.
    pub artifact_type: String,
    /// The manifest it refers to.
    pub subject: Sha256Digest,
    /// Digests of its content layers.
    pub content: Vec<Sha256Digest>,
    /// For audit reports: the verdict, from an annotation ending in `verdict` on the
    /// referrer or on the manifest it describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
}

/// Which attachment kind an `artifactType` is (`signature` for DSSE envelopes).
pub fn attachment_kind(artifact_type: &str) -> &'static str {
    let t = artifact_type.to_ascii_lowercase();
    if t.contains("dsse") || t.contains("signature") {
        "signature"
    } else if t.contains("cyclonedx") || t.contains("spdx") || t.contains("sbom") {
        "sbom"
    } else if t.contains("abi") || t.contains("fingerprint") {
        "abi"
    } else if t.contains("audit") || t.contains("advisor") || t.contains("vuln") {
        "audit"
    } else {
        "other"
    }
}

/// The anti-rollback sequence number of a semver version: `major·10¹² + minor·10⁶ + patch`
/// (each part below 10⁶). Pre-releases share their release's number; the verifier then
/// compares the versions themselves.
pub fn sequence_of(version: &str) -> Result<u64, Error> {
    let bad = |reason: &str| Error::Sequence {
        version: version.to_owned(),
        reason: reason.to_owned(),
    };
    let v = semver::Version::parse(version).map_err(|_| bad("not a semantic version"))?;
    if v.minor >= 1_000_000 || v.patch >= 1_000_000 {
        return Err(bad("minor and patch must be below 1000000"));
    }
    v.major
        .checked_mul(1_000_000_000_000)
        .and_then(|m| m.checked_add(v.minor * 1_000_000 + v.patch))
        .ok_or_else(|| bad("major version too large"))
}

/// The facts about a bundle a statement asserts (everything but sequence and times).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFacts {
    /// Plugin name.
    pub name: String,
    /// Version (the tag).
    pub version: String,
    /// Subjects, sorted.
    pub subjects: Vec<Subject>,
    /// The tagged index entry.
    pub entry: serde_json::Value,
    /// Top-level `index.json` annotations.
    pub index_annotations: BTreeMap<String, String>,
    /// Targets, sorted.
    pub targets: Vec<TargetRef>,
    /// Attachments other than signatures, sorted.
    pub attachments: Vec<AttachmentRef>,
    /// For every referrer, the manifest at the end of its chain of subjects (an attachment
    /// about an attachment belongs to that manifest); see [`BundleFacts::described_manifest`].
    pub described: BTreeMap<Sha256Digest, Sha256Digest>,
}

impl BundleFacts {
    /// The manifest `subject` ultimately describes: itself when it is not a referrer, else
    /// the manifest at the end of the referrer chain.
    pub fn described_manifest(&self, subject: &Sha256Digest) -> Sha256Digest {
        self.described.get(subject).copied().unwrap_or(*subject)
    }
}

/// For every referrer of `info`, the manifest at the end of its chain of subjects, each
/// chain walked once (the roots found are remembered), so thousands of referrers, or one
/// long chain of them, take linear time. A walk stops after as many steps as there are
/// referrers (a cycle, which the reader refuses anyway).
fn described_manifests(info: &BundleInfo) -> BTreeMap<Sha256Digest, Sha256Digest> {
    let subject_of: std::collections::HashMap<Sha256Digest, Sha256Digest> = info
        .referrers
        .iter()
        .map(|r| (r.digest, r.subject))
        .collect();
    let mut root: BTreeMap<Sha256Digest, Sha256Digest> = BTreeMap::new();
    for r in &info.referrers {
        let mut path = Vec::new();
        let mut current = r.digest;
        let end = loop {
            if let Some(known) = root.get(&current) {
                break *known;
            }
            match subject_of.get(&current) {
                Some(subject) if path.len() <= info.referrers.len() => {
                    path.push(current);
                    current = *subject;
                }
                _ => break current,
            }
        };
        for p in path {
            root.insert(p, end);
        }
    }
    root
}

/// Reads the facts from a validated bundle.
pub fn facts(layout: &Layout, info: &BundleInfo) -> Result<BundleFacts, String> {
    let version = info
        .tag
        .clone()
        .ok_or_else(|| "the bundle has no version tag".to_owned())?;
    let mut names: Vec<&str> = info
        .manifests
        .iter()
        .filter_map(|m| m.annotations.get(PLUGIN_ANNOTATION).map(String::as_str))
        .collect();
    names.sort();
    names.dedup();
    let name = match names.as_slice() {
        [one] => (*one).to_owned(),
        [] => return Err(format!("no manifest has a {PLUGIN_ANNOTATION} annotation")),
        _ => {
            return Err(format!(
                "manifests name different plugins: {}",
                names.join(", ")
            ));
        }
    };
    if info.manifests.is_empty() {
        return Err("the bundle has no plugin manifest".to_owned());
    }
    let mut subjects = Vec::new();
    let mut targets = Vec::new();
    for m in &info.manifests {
        let target = m
            .target
            .clone()
            .ok_or_else(|| format!("manifest {} has no target annotation", m.digest))?;
        subjects.push(subject(format!("{name}/{target}"), &m.digest));
        let mut artifacts: Vec<Sha256Digest> = m
            .layers
            .iter()
            .filter(|l| {
                l.media_type == crate::oci::WASM_LAYER_MEDIA_TYPE
                    || l.media_type == crate::oci::CDYLIB_LAYER_MEDIA_TYPE
            })
            .map(|l| l.digest)
            .collect();
        artifacts.sort();
        targets.push(TargetRef {
            target,
            kind: m.kind.clone(),
            manifest: m.digest,
            artifacts,
            revision: m.annotations.get(REVISION_ANNOTATION).cloned(),
        });
    }
    if !info.manifests.iter().any(|m| m.digest == info.digest) {
        subjects.push(subject(format!("{name}:{version}"), &info.digest));
    }
    subjects.sort();
    targets.sort();
    let entry = tagged_entry(layout, info)?;
    let index_annotations = index_annotations(layout)?;
    let manifests_by_digest: BTreeMap<&Sha256Digest, &BTreeMap<String, String>> = info
        .manifests
        .iter()
        .map(|m| (&m.digest, &m.annotations))
        .collect();
    let mut attachments: Vec<AttachmentRef> = info
        .referrers
        .iter()
        .filter_map(|r| {
            let artifact_type = r.artifact_type.clone().unwrap_or_default();
            let kind = attachment_kind(&artifact_type);
            let verdict = (kind == "audit")
                .then(|| {
                    let on_subject = manifests_by_digest.get(&r.subject).copied();
                    [Some(&r.annotations), on_subject]
                        .into_iter()
                        .flatten()
                        .flat_map(|a| a.iter())
                        .find(|(k, _)| k.ends_with("verdict"))
                        .map(|(_, v)| v.clone())
                })
                .flatten();
            (kind != "signature").then(|| AttachmentRef {
                kind: kind.to_owned(),
                artifact_type,
                subject: r.subject,
                content: r.layers.iter().map(|l| l.digest).collect(),
                verdict,
            })
        })
        .collect();
    attachments.sort();
    Ok(BundleFacts {
        name,
        version,
        subjects,
        entry,
        index_annotations,
        targets,
        attachments,
        described: described_manifests(info),
    })
}

fn index_annotations(layout: &Layout) -> Result<BTreeMap<String, String>, String> {
    let index: serde_json::Value = serde_json::from_slice(&layout.index_json)
        .map_err(|e| format!("`index.json` is not JSON ({e})"))?;
    match index.get("annotations") {
        None => Ok(BTreeMap::new()),
        Some(a) => serde_json::from_value(a.clone())
            .map_err(|e| format!("`index.json` annotations are not strings ({e})")),
    }
}

fn subject(name: String, digest: &Sha256Digest) -> Subject {
    let mut map = BTreeMap::new();
    map.insert("sha256".to_owned(), digest.hex());
    Subject { name, digest: map }
}

/// The `index.json` entry carrying the tag, as JSON.
fn tagged_entry(layout: &Layout, info: &BundleInfo) -> Result<serde_json::Value, String> {
    let index: serde_json::Value = serde_json::from_slice(&layout.index_json)
        .map_err(|e| format!("`index.json` is not JSON ({e})"))?;
    let digest = info.digest.to_string();
    index
        .get("manifests")
        .and_then(|m| m.as_array())
        .and_then(|entries| {
            entries.iter().find(|e| {
                e.get("digest").and_then(|d| d.as_str()) == Some(digest.as_str())
                    && e.pointer("/annotations/org.opencontainers.image.ref.name")
                        .is_some()
            })
        })
        .cloned()
        .ok_or_else(|| "`index.json` has no tagged entry".to_owned())
}

impl Statement {
    /// A statement over `facts`.
    pub fn new(
        facts: BundleFacts,
        sequence: u64,
        signed_at: String,
        expires: Option<String>,
    ) -> Self {
        Self {
            statement_type: STATEMENT_TYPE.to_owned(),
            subject: facts.subjects,
            predicate_type: PREDICATE_TYPE.to_owned(),
            predicate: PluginPredicate {
                name: facts.name,
                version: facts.version,
                sequence,
                signed_at,
                expires,
                entry: facts.entry,
                index_annotations: facts.index_annotations,
                targets: facts.targets,
                attachments: facts.attachments,
            },
        }
    }

    /// The signed manifest digests, sorted.
    pub fn subject_digests(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .subject
            .iter()
            .map(|s| {
                s.digest
                    .get("sha256")
                    .map(|h| format!("sha256:{h}"))
                    .unwrap_or_default()
            })
            .collect();
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chains of referrers end at their manifest, and a chain of 20,000 (each referrer about
    /// the one before) is walked once, not once per referrer.
    #[test]
    fn referrer_chains_end_at_their_manifest() {
        let digest = |n: u32| Sha256Digest::of_bytes(&n.to_le_bytes());
        let referrer = |n: u32, subject: u32| crate::oci::ReferrerInfo {
            digest: digest(n),
            artifact_type: None,
            subject: digest(subject),
            layers: Vec::new(),
            annotations: BTreeMap::new(),
            files: Vec::new(),
        };
        let manifest = 0;
        // 1 → manifest; 2 → 1; 3 → manifest; then a chain 100 → 99 → … → 1.
        let mut referrers = vec![referrer(1, manifest), referrer(2, 1), referrer(3, manifest)];
        referrers.extend(
            (100..20_100)
                .rev()
                .map(|n| referrer(n, if n == 100 { 1 } else { n - 1 })),
        );
        let info = BundleInfo {
            schema: String::new(),
            tag: None,
            media_type: String::new(),
            digest: digest(u32::MAX),
            size: 0,
            manifests: Vec::new(),
            referrers,
        };
        let described = described_manifests(&info);
        assert_eq!(described.len(), info.referrers.len());
        assert!(described.values().all(|m| *m == digest(manifest)));
    }

    #[test]
    fn sequence_orders_versions() {
        let a = sequence_of("0.9.12").unwrap();
        let b = sequence_of("0.10.0").unwrap();
        let c = sequence_of("1.0.0").unwrap();
        assert!(a < b && b < c);
        assert_eq!(sequence_of("1.2.3").unwrap(), 1_000_002_000_003);
        assert_eq!(sequence_of("1.0.0-rc.1").unwrap(), c);
        assert!(sequence_of("one").is_err());
        assert!(sequence_of("99999999.0.0").is_err());
    }

    #[test]
    fn kinds_of_attachments() {
        assert_eq!(
            attachment_kind("application/vnd.dsse.envelope.v1+json"),
            "signature"
        );
        assert_eq!(attachment_kind("application/vnd.cyclonedx+json"), "sbom");
        assert_eq!(
            attachment_kind("application/vnd.plugpack.abi-fingerprint.v1+json"),
            "abi"
        );
        assert_eq!(
            attachment_kind("application/vnd.plugpack.audit.v1+json"),
            "audit"
        );
    }
}
