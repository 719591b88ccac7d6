//! File names for a bundle's referrers (SBOMs, ABI fingerprints, audit reports, notices,
//! signatures), so `inspect` can show them and `extract --attachments` can write them as
//! files a reviewer opens without reading OCI JSON by hand.
//!
//! A referrer's layer is named `<plugin>-<target>.<ext>`, the target being the one of the
//! plugin manifest it refers to (followed through referrers of referrers); a referrer of the
//! image index (a signature over a multi-target bundle) is `<plugin>.<ext>`. The extension
//! comes from the `artifactType` ([`extension`]); an unknown type keeps a neutral
//! `.<first 12 hex digits of the layer digest>.bin`. A second layer of one referrer gets
//! `-2` before the extension, as does a second referrer that would get the same name.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::read::BundleInfo;
use super::{PLUGIN_ANNOTATION, TARGET_ANNOTATION};
use crate::types::Sha256Digest;

/// `artifactType` → file extension (without the leading dot).
const EXTENSIONS: &[(&str, &str)] = &[
    ("application/vnd.cyclonedx+json", "cdx.json"),
    ("application/spdx+json", "spdx.json"),
    ("application/vnd.plugpack.abi.v1+json", "abi.json"),
    ("application/vnd.plugpack.audit.v1+json", "audit.json"),
    ("application/sarif+json", "sarif"),
    ("application/vnd.plugpack.notices.v1+json", "notices.json"),
    ("application/vnd.dsse.envelope.v1+json", "dsse.json"),
];

/// The file extension plugpack gives a referrer of `artifact_type`, if it knows the type.
pub fn extension(artifact_type: &str) -> Option<&'static str> {
    EXTENSIONS
        .iter()
        .find(|(t, _)| *t == artifact_type)
        .map(|(_, ext)| *ext)
}

/// One referrer layer with the file name it is extracted as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentFile {
    /// The file name (one path component, see the module docs).
    pub name: String,
    /// The referrer manifest.
    pub referrer: Sha256Digest,
    /// The referrer's `artifactType`.
    pub artifact_type: Option<String>,
    /// The target of the manifest it describes (`None` for the image index).
    pub target: Option<String>,
    /// The layer's digest.
    pub digest: Sha256Digest,
    /// The layer's size.
    pub size: u64,
}

/// Replaces what cannot be part of a file name (separators, control characters, a leading
/// dot) so a hostile annotation cannot steer the name.
fn clean(part: &str) -> String {
    let cleaned: String = part
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .take(100)
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "_".to_owned()
    } else {
        cleaned
    }
}

/// Names every layer of every referrer of `info`, in the bundle's order; names are unique.
pub fn attachment_files(info: &BundleInfo) -> Vec<AttachmentFile> {
    let plugin = info
        .manifests
        .iter()
        .find_map(|m| m.annotations.get(PLUGIN_ANNOTATION).cloned())
        .or_else(|| {
            info.tag
                .as_deref()
                .map(|t| t.split(':').next().unwrap_or(t).to_owned())
        })
        .unwrap_or_else(|| "plugin".to_owned());
    let plugin = clean(&plugin);
    let mut target_of: BTreeMap<Sha256Digest, Option<String>> = info
        .manifests
        .iter()
        .map(|m| {
            let target = m
                .target
                .clone()
                .or_else(|| m.annotations.get(TARGET_ANNOTATION).cloned());
            (m.digest, target)
        })
        .collect();
    // Referrers of referrers: follow subjects until a manifest is reached (bounded by the
    // number of referrers, so a cycle cannot loop).
    for _ in 0..info.referrers.len() {
        let mut changed = false;
        for r in &info.referrers {
            if target_of.contains_key(&r.digest) {
                continue;
            }
            if let Some(t) = target_of.get(&r.subject).cloned() {
                target_of.insert(r.digest, t);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut used = BTreeSet::new();
    // The next `-N` to try for each name taken: a bundle with thousands of signatures (one
    // name) numbers them in linear time, not by trying 2, 3, … again for each.
    let mut next_suffix: BTreeMap<String, usize> = BTreeMap::new();
    let mut files = Vec::new();
    for r in &info.referrers {
        let target = target_of.get(&r.digest).cloned().flatten();
        let stem = match &target {
            Some(t) => format!("{plugin}-{}", clean(t)),
            None => plugin.clone(),
        };
        for (i, layer) in r.layers.iter().enumerate() {
            let ext = r
                .artifact_type
                .as_deref()
                .and_then(extension)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{}.bin", &layer.digest.hex()[..12]));
            let stem = if i == 0 {
                stem.clone()
            } else {
                format!("{stem}-{}", i + 1)
            };
            let mut name = format!("{stem}.{ext}");
            if !used.insert(name.clone()) {
                // Every `-N` below the saved one is taken already (`used` only grows).
                let n = next_suffix.entry(name).or_insert(2);
                loop {
                    name = format!("{stem}-{n}.{ext}");
                    *n += 1;
                    if used.insert(name.clone()) {
                        break;
                    }
                }
            }
            files.push(AttachmentFile {
                name,
                referrer: r.digest,
                artifact_type: r.artifact_type.clone(),
                target: target.clone(),
                digest: layer.digest,
                size: layer.size,
            });
        }
    }
    files
}

#[cfg(test)]
mod naming_tests {
    use super::super::read::{LayerInfo, ManifestInfo, ReferrerInfo};
    use super::*;

    fn digest(n: u8) -> Sha256Digest {
        Sha256Digest::of_bytes(&[n])
    }

    fn layer(n: u8) -> LayerInfo {
        LayerInfo {
            media_type: "x".to_owned(),
            digest: digest(n),
            size: 1,
            title: None,
        }
    }

    fn referrer(n: u8, subject: u8, kind: &str, layers: &[u8]) -> ReferrerInfo {
        ReferrerInfo {
            digest: digest(n),
            artifact_type: Some(kind.to_owned()),
            subject: digest(subject),
            layers: layers.iter().map(|&l| layer(l)).collect(),
            annotations: BTreeMap::new(),
            files: Vec::new(),
        }
    }

    #[test]
    fn names_follow_targets_through_referrers_and_stay_unique() {
        let manifest = ManifestInfo {
            digest: digest(1),
            size: 1,
            target: Some("wasm32-wasip1".to_owned()),
            kind: None,
            platform: None,
            artifact_type: None,
            config: layer(2),
            layers: Vec::new(),
            annotations: [(PLUGIN_ANNOTATION.to_owned(), "../evil".to_owned())]
                .into_iter()
                .collect(),
        };
        let dsse = "application/vnd.dsse.envelope.v1+json";
        let info = BundleInfo {
            schema: String::new(),
            tag: Some("p:1".to_owned()),
            media_type: String::new(),
            digest: digest(9),
            size: 1,
            manifests: vec![manifest],
            referrers: vec![
                referrer(10, 1, "application/vnd.cyclonedx+json", &[20]),
                referrer(11, 10, dsse, &[21]),
                referrer(12, 1, dsse, &[22]),
                referrer(13, 9, dsse, &[23]),
                referrer(14, 1, "application/x-other", &[24, 25]),
            ],
        };
        let names: Vec<String> = attachment_files(&info)
            .into_iter()
            .map(|f| f.name)
            .collect();
        let other = &digest(24).hex()[..12];
        let second = &digest(25).hex()[..12];
        assert_eq!(
            names,
            vec![
                "_evil-wasm32-wasip1.cdx.json".to_owned(),
                // A signature over the SBOM referrer: the SBOM's target.
                "_evil-wasm32-wasip1.dsse.json".to_owned(),
                "_evil-wasm32-wasip1-2.dsse.json".to_owned(),
                // A signature over the index: no target.
                "_evil.dsse.json".to_owned(),
                format!("_evil-wasm32-wasip1.{other}.bin"),
                format!("_evil-wasm32-wasip1-2.{second}.bin"),
            ]
        );
    }
    /// Numbering same-named attachments (thousands of signatures, issue 12's referrer
    /// benchmark) gives exactly the names the first-free search gives, including a name that
    /// another stem already took (`p-x-2.dsse.json` from target `x-2`).
    #[test]
    fn many_same_named_attachments_get_the_first_free_numbers() {
        let manifest = |n: u8, target: &str| ManifestInfo {
            digest: digest(n),
            size: 1,
            target: Some(target.to_owned()),
            kind: None,
            platform: None,
            artifact_type: None,
            config: layer(0),
            layers: Vec::new(),
            annotations: [(PLUGIN_ANNOTATION.to_owned(), "p".to_owned())]
                .into_iter()
                .collect(),
        };
        let dsse = "application/vnd.dsse.envelope.v1+json";
        // 200 signatures, most over target `x`, every seventh over `x-2`.
        let referrers: Vec<ReferrerInfo> = (10..210u8)
            .map(|n| referrer(n, if n % 7 == 0 { 2 } else { 1 }, dsse, &[n]))
            .collect();
        let info = BundleInfo {
            schema: String::new(),
            tag: None,
            media_type: String::new(),
            digest: digest(255),
            size: 1,
            manifests: vec![manifest(1, "x"), manifest(2, "x-2")],
            referrers,
        };
        let names: Vec<String> = attachment_files(&info)
            .into_iter()
            .map(|f| f.name)
            .collect();
        // The first-free search, one name at a time.
        let mut used = BTreeSet::new();
        let expected: Vec<String> = info
            .referrers
            .iter()
            .map(|r| {
                let stem = if r.subject == digest(2) {
                    "p-x-2"
                } else {
                    "p-x"
                };
                let mut name = format!("{stem}.dsse.json");
                let mut n = 2;
                while !used.insert(name.clone()) {
                    name = format!("{stem}-{n}.dsse.json");
                    n += 1;
                }
                name
            })
            .collect();
        assert_eq!(names, expected);
        assert!(names.contains(&"p-x-2-2.dsse.json".to_owned()), "{names:?}");
    }
}

#[cfg(all(test, feature = "tool"))]
mod tests {
    use super::*;

    #[test]
    fn extensions_match_the_stage_media_types() {
        assert_eq!(extension(crate::sbom::MEDIA_TYPE), Some("cdx.json"));
        assert_eq!(extension(crate::sbom::spdx::MEDIA_TYPE), Some("spdx.json"));
        assert_eq!(extension(crate::fingerprint::MEDIA_TYPE), Some("abi.json"));
        assert_eq!(extension(crate::audit::MEDIA_TYPE), Some("audit.json"));
        assert_eq!(
            extension(crate::sign::ENVELOPE_MEDIA_TYPE),
            Some("dsse.json")
        );
        assert_eq!(extension(crate::notices::MEDIA_TYPE), Some("notices.json"));
        assert_eq!(extension("application/x-unknown"), None);
    }

    #[test]
    fn hostile_parts_cannot_leave_the_directory() {
        assert_eq!(clean("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(clean("..."), "_");
        assert_eq!(clean("a\nb"), "a_b");
    }
}
