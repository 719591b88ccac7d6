//! Merging per-target bundles of one plugin version (built on different runners) into one
//! bundle whose tagged entry is an image index of every target.
//!
//! Manifests, their blobs and the referrers of each manifest (fingerprints, SBOMs, audit
//! reports, signatures) are copied byte for byte, so every per-target signature stays valid.
//! A referrer of an input's *image index* (an index-level signature) cannot stay valid for
//! the new index: it is dropped and reported, and `sign` can sign the merged index.

use std::collections::{BTreeMap, BTreeSet};

use camino::{Utf8Path, Utf8PathBuf};
use oci_spec::image::{Descriptor, ImageIndex, ImageIndexBuilder, MediaType};
use serde::Serialize;

use super::pack::{descriptor, to_hash_map};
use super::read::{BundleInfo, inspect, read_bundle};
use super::rebuild::{RebuiltLayout, rebuild};
use super::{Error, KIND_ANNOTATION, PLUGIN_ANNOTATION, TARGET_ANNOTATION};
use crate::types::{Sha256Digest, rfc3339};

const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
const REF_NAME: &str = "org.opencontainers.image.ref.name";
const VERSION: &str = "org.opencontainers.image.version";
const CREATED: &str = "org.opencontainers.image.created";

/// What [`merge`] wrote.
#[derive(Debug, Clone, Serialize)]
pub struct MergeReport {
    /// The merged bundle, as read back.
    pub bundle: BundleInfo,
    /// Index-level referrers (signatures over an input's image index) that were dropped.
    pub dropped_referrers: Vec<Sha256Digest>,
}

fn invalid(path: &Utf8Path, problem: String) -> Error {
    Error::Invalid {
        path: path.to_owned(),
        problem,
    }
}

fn digest_of(d: &Descriptor) -> Option<Sha256Digest> {
    d.digest().to_string().parse().ok()
}

/// Merges `bundles` (one plugin, one version, different targets) into `output`. Refuses
/// different plugin names or versions and two manifests for one target or platform.
pub fn merge(bundles: &[Utf8PathBuf], output: &Utf8Path) -> Result<MergeReport, Error> {
    let mut inputs: Vec<(Utf8PathBuf, RebuiltLayout, BundleInfo)> = Vec::new();
    for path in bundles {
        let info = inspect(&read_bundle(path)?)?;
        inputs.push((path.clone(), rebuild(path)?, info));
    }
    let Some((first_path, _, first_info)) = inputs.first() else {
        return Err(invalid(output, "no bundles to merge".to_owned()));
    };
    let first_manifest = first_info
        .manifests
        .first()
        .ok_or_else(|| invalid(first_path, "it holds no plugin manifest".to_owned()))?;
    let name = first_manifest.annotations.get(PLUGIN_ANNOTATION).cloned();
    let version = first_manifest.annotations.get(VERSION).cloned();

    let mut platforms: BTreeMap<String, (Descriptor, Utf8PathBuf)> = BTreeMap::new();
    let mut seen_platforms: BTreeMap<String, Utf8PathBuf> = BTreeMap::new();
    let mut index_digests = BTreeSet::new();
    let mut common: Option<BTreeMap<String, String>> = None;
    for (path, rebuilt, info) in &inputs {
        for m in &info.manifests {
            let m_name = m.annotations.get(PLUGIN_ANNOTATION);
            let m_version = m.annotations.get(VERSION);
            if m_name != name.as_ref() || m_version != version.as_ref() {
                return Err(invalid(
                    path,
                    format!(
                        "it holds {} v{}, not {} v{} like {first_path}",
                        m_name.map_or("?", String::as_str),
                        m_version.map_or("?", String::as_str),
                        name.as_deref().unwrap_or("?"),
                        version.as_deref().unwrap_or("?"),
                    ),
                ));
            }
            let annotations: BTreeMap<String, String> = m
                .annotations
                .iter()
                .filter(|(k, _)| *k != TARGET_ANNOTATION && *k != KIND_ANNOTATION)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            common = Some(match common {
                None => annotations,
                Some(c) => c
                    .into_iter()
                    .filter(|(k, v)| annotations.get(k) == Some(v))
                    .collect(),
            });
        }
        // The platform descriptors: the nested index's entries, or the tagged manifest's.
        let tagged = rebuilt
            .builder
            .index_entries()
            .iter()
            .find(|d| digest_of(d) == Some(info.digest))
            .cloned()
            .ok_or_else(|| invalid(path, "no tagged entry".to_owned()))?;
        let descriptors: Vec<Descriptor> = if info.media_type == INDEX_MEDIA_TYPE {
            index_digests.insert(info.digest);
            let bytes = rebuilt
                .builder
                .blob_bytes(&info.digest)
                .ok_or_else(|| invalid(path, format!("index {} is missing", info.digest)))?;
            let index: ImageIndex = serde_json::from_slice(bytes).map_err(|e| {
                invalid(path, format!("index {} does not parse ({e})", info.digest))
            })?;
            index.manifests().clone()
        } else {
            let mut d = tagged;
            d.set_annotations(None);
            vec![d]
        };
        for d in descriptors {
            let digest = digest_of(&d).unwrap_or(info.digest);
            let target = info
                .manifests
                .iter()
                .find(|m| m.digest == digest)
                .and_then(|m| m.target.clone())
                .unwrap_or_else(|| digest.to_string());
            let platform = d
                .platform()
                .as_ref()
                .map(|p| format!("{}/{}", p.os(), p.architecture()))
                .unwrap_or_default();
            if let Some(other) = platforms.get(&target).map(|(_, p)| p.clone()).or_else(|| {
                (!platform.is_empty())
                    .then(|| seen_platforms.get(&platform).cloned())
                    .flatten()
            }) {
                return Err(invalid(
                    path,
                    format!("it has a manifest for {target} ({platform}), and so has {other}"),
                ));
            }
            if !platform.is_empty() {
                seen_platforms.insert(platform, path.clone());
            }
            platforms.insert(target, (d, path.clone()));
        }
    }

    // One layout with every blob of every input; the scratch files stay alive in `inputs`.
    let epoch = inputs.iter().map(|(_, r, _)| r.epoch).max().unwrap_or(0);
    let mut referrers: BTreeMap<String, Descriptor> = BTreeMap::new();
    let mut subjects: BTreeMap<Sha256Digest, Sha256Digest> = BTreeMap::new();
    let mut merged = super::LayoutBuilder::new();
    for (_, rebuilt, info) in &mut inputs {
        for d in rebuilt.builder.index_entries() {
            if digest_of(d) == Some(info.digest) {
                continue;
            }
            referrers.insert(d.digest().to_string(), d.clone());
        }
        for r in &info.referrers {
            subjects.insert(r.digest, r.subject);
        }
        merged.blobs.append(&mut rebuilt.builder.blobs);
    }
    // Drop referrers of an input index, and referrers of those, transitively.
    let mut dropped = Vec::new();
    loop {
        let before = dropped.len();
        referrers.retain(|_, d| {
            let Some(digest) = digest_of(d) else {
                return true;
            };
            let subject = subjects.get(&digest);
            let drop = subject.is_some_and(|s| index_digests.contains(s) || dropped.contains(s));
            if drop {
                dropped.push(digest);
            }
            !drop
        });
        if dropped.len() == before {
            break;
        }
    }

    let mut annotations = common.unwrap_or_default();
    annotations.insert(CREATED.to_owned(), rfc3339(epoch));
    let index: ImageIndex = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(
            platforms
                .values()
                .map(|(d, _)| d.clone())
                .collect::<Vec<_>>(),
        )
        .annotations(to_hash_map(&annotations))
        .build()
        .map_err(|source| Error::Spec {
            what: "index",
            source,
        })?;
    let (digest, size) = merged.add_json("image index", &index)?;
    let mut tag = BTreeMap::new();
    tag.insert(
        REF_NAME.to_owned(),
        version.unwrap_or_else(|| "latest".to_owned()),
    );
    merged.push_index_entry(descriptor(INDEX_MEDIA_TYPE, &digest, size, &tag)?);
    for d in referrers.into_values() {
        merged.push_index_entry(d);
    }
    merged.prune_unreachable();
    merged.write(output, epoch)?;
    // Keep the scratch directories until the tarball is written.
    drop(inputs);
    dropped.sort();
    Ok(MergeReport {
        bundle: inspect(&read_bundle(output)?)?,
        dropped_referrers: dropped,
    })
}
