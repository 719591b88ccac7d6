//! What the bundle itself says, checked before any signature: its plugin artifacts and an
//! `index.json` with no unsigned byte that matters (blob digests and sizes are checked when
//! [`oci::read_bundle`] and [`oci::inspect`] read the layout).

use std::collections::{BTreeSet, HashMap};

use super::VerifiedArtifact;
use crate::oci::{self, BundleInfo, Layout, ReferrerInfo};
use crate::types::canonical_json;

/// The plugin files (wasm and cdylib layers) of every manifest, sorted by target.
pub(super) fn artifacts(info: &BundleInfo) -> Vec<VerifiedArtifact> {
    let mut out = Vec::new();
    for m in &info.manifests {
        for l in &m.layers {
            if l.media_type == oci::WASM_LAYER_MEDIA_TYPE
                || l.media_type == oci::CDYLIB_LAYER_MEDIA_TYPE
            {
                out.push(VerifiedArtifact {
                    target: m.target.clone().unwrap_or_default(),
                    digest: l.digest,
                    file_name: l.title.clone(),
                    path: None,
                    abi: None,
                });
            }
        }
    }
    out.sort_by(|a, b| a.target.cmp(&b.target));
    out
}

/// `index.json` must be exactly what plugpack writes: canonical JSON, only the expected
/// fields, and every referrer entry consistent with its manifest. Together with the signed
/// tagged entry this leaves no unsigned byte in it that matters.
pub(super) fn check_index(layout: &Layout, info: &BundleInfo) -> Result<(), String> {
    let value: serde_json::Value = serde_json::from_slice(&layout.index_json)
        .map_err(|e| format!("`index.json` is not JSON ({e})"))?;
    let canonical = canonical_json(&value).map_err(|e| e.to_string())?;
    if canonical != layout.index_json {
        return Err("`index.json` is not in canonical form (it was edited)".to_owned());
    }
    let top = value
        .as_object()
        .ok_or_else(|| "`index.json` is not an object".to_owned())?;
    let keys: BTreeSet<&str> = top.keys().map(String::as_str).collect();
    // Top-level `annotations` are signed (predicate `index_annotations`).
    let allowed: BTreeSet<&str> = ["schemaVersion", "mediaType", "manifests", "annotations"].into();
    if !keys.is_subset(&allowed) {
        return Err(format!(
            "`index.json` has unexpected fields {:?}",
            keys.difference(&allowed).collect::<Vec<_>>()
        ));
    }
    if top.get("schemaVersion") != Some(&serde_json::json!(2))
        || top.get("mediaType")
            != Some(&serde_json::json!(
                "application/vnd.oci.image.index.v1+json"
            ))
    {
        return Err("`index.json` has a wrong schemaVersion or mediaType".to_owned());
    }
    let entries = top
        .get("manifests")
        .and_then(|m| m.as_array())
        .ok_or_else(|| "`index.json` has no manifests array".to_owned())?;
    let tagged = info.digest.to_string();
    let mut tagged_seen = 0;
    // Looked up once per entry: linear in the number of referrers, not quadratic.
    let referrers: HashMap<String, &ReferrerInfo> = info
        .referrers
        .iter()
        .map(|r| (r.digest.to_string(), r))
        .collect();
    for entry in entries {
        let digest = entry.get("digest").and_then(|d| d.as_str()).unwrap_or("");
        if digest == tagged {
            tagged_seen += 1;
            if tagged_seen > 1 {
                return Err(format!(
                    "`index.json` lists the tagged entry {digest} twice"
                ));
            }
            continue; // covered by the signed predicate
        }
        let Some(referrer) = referrers.get(digest) else {
            return Err(format!(
                "`index.json` lists {digest}, which is neither the tagged entry nor a referrer"
            ));
        };
        let mut expected = serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": layout.blob_size(&referrer.digest),
            "artifactType": referrer.artifact_type,
        });
        // Descriptor annotations may only mirror the referrer manifest's own.
        if entry.get("annotations").is_some() {
            expected["annotations"] = serde_json::json!(referrer.annotations);
        }
        if *entry != expected {
            return Err(format!(
                "`index.json` entry for referrer {digest} does not match its manifest"
            ));
        }
    }
    Ok(())
}
