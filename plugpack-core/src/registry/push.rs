//! `push`: a bundle's blobs, then its manifests, then the index and tags, then its referrers.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, Read};

use camino::Utf8Path;
use oci_spec::image::{ImageIndex, ImageManifest};
use serde::Serialize;

use super::client::{Client, ClientOptions};
use super::progress::Progress;
use super::{Error, INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, Reference};
use crate::Reporter;
use crate::oci::{Layout, inspect, read_bundle};
use crate::types::{HashingReader, Sha256Digest, canonical_json};

/// Options of [`push`].
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// Transport and credentials.
    pub client: ClientOptions,
    /// Repository on the same registry to mount blobs from (`--mount-from`).
    pub mount_from: Option<String>,
    /// Upload blobs larger than this many bytes in chunks of this size (`PATCH`, resumed
    /// after a failed chunk; one chunk is held in memory); `None`: one streamed `PUT`.
    pub chunk_size: Option<u64>,
}

/// What [`push`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushReport {
    /// `REGISTRY/REPO@sha256:…` of the tagged index (or manifest).
    pub reference: String,
    /// Its digest.
    pub digest: Sha256Digest,
    /// Its media type.
    pub media_type: String,
    /// Tags set to it.
    pub tags: Vec<String>,
    /// Blobs uploaded (or mounted).
    pub blobs_uploaded: usize,
    /// Blobs the registry already had.
    pub blobs_skipped: usize,
    /// Bytes uploaded.
    pub bytes_uploaded: u64,
    /// Manifests (plugin, index, referrer) the registry did not have yet.
    pub manifests_pushed: usize,
    /// Referrer manifests in the bundle.
    pub referrers: usize,
    /// True when the registry serves the OCI 1.1 referrers API; otherwise the
    /// `sha256-<hex>` fallback tags were updated.
    pub referrers_api: bool,
}

/// One manifest of the bundle with its raw bytes.
struct Doc<'a> {
    digest: Sha256Digest,
    media_type: String,
    bytes: &'a [u8],
}

fn doc<'a>(layout: &'a Layout, digest: Sha256Digest, media_type: &str) -> Result<Doc<'a>, Error> {
    let bytes = layout.json_blob(&digest).ok_or_else(|| {
        Error::Bundle(crate::oci::Error::Invalid {
            path: layout.path.clone(),
            problem: format!("manifest {digest} is not a JSON document"),
        })
    })?;
    Ok(Doc {
        digest,
        media_type: media_type.to_owned(),
        bytes,
    })
}

fn parse<T: serde::de::DeserializeOwned>(layout: &Layout, d: &Doc<'_>) -> Result<T, Error> {
    serde_json::from_slice(d.bytes).map_err(|e| {
        Error::Bundle(crate::oci::Error::Invalid {
            path: layout.path.clone(),
            problem: format!("{} does not parse ({e})", d.digest),
        })
    })
}

fn digest_of(d: &oci_spec::image::Descriptor) -> Option<Sha256Digest> {
    d.digest().to_string().parse().ok()
}

/// Pushes `bundle` to `target` (`REGISTRY/REPO[:TAG…]`): every blob (HEAD first, skipping
/// what the registry has), then the plugin manifests, then the image index (by digest, then
/// under each tag: those given plus the bundle's version tag), then the referrers, and the
/// `sha256-<hex>` fallback tags when the registry has no referrers API. Manifests are the
/// exact bytes of the bundle, so every digest and signature is preserved.
pub fn push(
    bundle: &Utf8Path,
    target: &Reference,
    options: &PushOptions,
    reporter: &dyn Reporter,
) -> Result<PushReport, Error> {
    if target.digest.is_some() {
        return Err(Error::Reference {
            reference: target.to_string(),
            problem: "push takes REGISTRY/REPO[:TAG…], not a digest".to_owned(),
        });
    }
    let layout = read_bundle(bundle)?;
    let info = inspect(&layout)?;
    let top = doc(&layout, info.digest, &info.media_type)?;
    let mut plugin_manifests = Vec::new();
    if info.media_type == INDEX_MEDIA_TYPE {
        let index: ImageIndex = parse(&layout, &top)?;
        for d in index.manifests() {
            if let Some(digest) = digest_of(d) {
                plugin_manifests.push(doc(&layout, digest, MANIFEST_MEDIA_TYPE)?);
            }
        }
    }
    // Referrers in an order where every subject that is itself a referrer comes first.
    let mut referrers = Vec::new();
    let mut placed: BTreeSet<Sha256Digest> = info.manifests.iter().map(|m| m.digest).collect();
    placed.insert(info.digest);
    let mut pending: Vec<_> = info.referrers.iter().collect();
    while !pending.is_empty() {
        let before = pending.len();
        let (ready, rest): (Vec<_>, Vec<_>) = pending
            .into_iter()
            .partition(|r| placed.contains(&r.subject));
        for r in ready {
            placed.insert(r.digest);
            referrers.push((r.subject, doc(&layout, r.digest, MANIFEST_MEDIA_TYPE)?));
        }
        pending = rest;
        if pending.len() == before {
            break;
        }
    }

    // Every blob a manifest refers to (configs and layers), with its size.
    let mut blobs: BTreeMap<Sha256Digest, u64> = BTreeMap::new();
    let manifest_docs: Vec<&Doc<'_>> = if info.media_type == INDEX_MEDIA_TYPE {
        plugin_manifests.iter().collect()
    } else {
        vec![&top]
    };
    for d in manifest_docs
        .iter()
        .copied()
        .chain(referrers.iter().map(|(_, d)| d))
    {
        let manifest: ImageManifest = parse(&layout, d)?;
        for b in std::iter::once(manifest.config()).chain(manifest.layers().iter()) {
            if let Some(digest) = digest_of(b) {
                blobs.insert(digest, b.size());
            }
        }
    }

    let mut client = Client::connect(target, options.client.clone())?;
    let mut missing = BTreeSet::new();
    for digest in blobs.keys() {
        if !client.has_blob(digest)? {
            missing.insert(*digest);
        }
    }
    let mut report = PushReport {
        reference: target.with_digest(&info.digest),
        digest: info.digest,
        media_type: info.media_type.clone(),
        tags: Vec::new(),
        blobs_uploaded: 0,
        blobs_skipped: blobs.len() - missing.len(),
        bytes_uploaded: 0,
        manifests_pushed: 0,
        referrers: referrers.len(),
        referrers_api: false,
    };
    if !missing.is_empty() {
        upload_missing(
            &mut client,
            &layout,
            &blobs,
            &mut missing,
            options,
            reporter,
            &mut report,
        )?;
    }

    // Manifests only after all their blobs; the index only after its manifests.
    for d in manifest_docs.iter().filter(|d| d.digest != top.digest) {
        put_if_missing(&mut client, d, &mut report)?;
    }
    put_if_missing(&mut client, &top, &mut report)?;
    let mut tags: Vec<String> = target.tags.clone();
    if let Some(version) = &info.tag {
        if !tags.contains(version) {
            tags.push(version.clone());
        }
    }
    for tag in &tags {
        client.put_manifest(tag, &top.media_type, top.bytes)?;
    }
    report.tags = tags;

    for (_, d) in &referrers {
        put_if_missing(&mut client, d, &mut report)?;
    }
    if let Some((subject, _)) = referrers.first() {
        report.referrers_api = client.referrers_api(subject)?.is_some();
    }
    if !report.referrers_api {
        let mut by_subject: BTreeMap<Sha256Digest, Vec<serde_json::Value>> = BTreeMap::new();
        for (subject, d) in &referrers {
            let manifest: serde_json::Value = parse(&layout, d)?;
            let mut entry = serde_json::json!({
                "mediaType": d.media_type,
                "digest": d.digest.to_string(),
                "size": d.bytes.len(),
            });
            if let Some(t) = manifest.get("artifactType") {
                entry["artifactType"] = t.clone();
            }
            if let Some(a) = manifest.get("annotations") {
                entry["annotations"] = a.clone();
            }
            by_subject.entry(*subject).or_default().push(entry);
        }
        for (subject, entries) in by_subject {
            update_fallback_tag(&mut client, &subject, entries)?;
        }
    }
    Ok(report)
}

fn put_if_missing(client: &mut Client, d: &Doc<'_>, report: &mut PushReport) -> Result<(), Error> {
    if !client.has_manifest(&d.digest)? {
        client.put_manifest(&d.digest.to_string(), &d.media_type, d.bytes)?;
        report.manifests_pushed += 1;
    }
    Ok(())
}

/// One pass over the tarball, streaming each missing blob straight from its tar entry.
fn upload_missing(
    client: &mut Client,
    layout: &Layout,
    blobs: &BTreeMap<Sha256Digest, u64>,
    missing: &mut BTreeSet<Sha256Digest>,
    options: &PushOptions,
    reporter: &dyn Reporter,
    report: &mut PushReport,
) -> Result<(), Error> {
    let read_err = |source| Error::Read {
        path: layout.path.clone(),
        source,
    };
    let file = File::open(&layout.path).map_err(read_err)?;
    let mut archive = tar::Archive::new(BufReader::new(file));
    for entry in archive.entries().map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(hex) = name.trim_start_matches("./").strip_prefix("blobs/sha256/") else {
            continue;
        };
        let Ok(digest) = format!("sha256:{hex}").parse::<Sha256Digest>() else {
            continue;
        };
        if !missing.remove(&digest) {
            continue;
        }
        let size = blobs.get(&digest).copied().unwrap_or_default();
        reporter.begin(&format!("Uploading {digest} ({size} bytes)"));
        let mut hashing = Progress::new(HashingReader::new(entry.take(size)), size, reporter);
        let mount_from = options.mount_from.as_deref();
        let uploaded = match options.chunk_size {
            Some(chunk) if size > chunk => {
                client.upload_blob_chunked(&digest, size, &mut hashing, mount_from, chunk)
            }
            _ => client.upload_blob(&digest, size, &mut hashing, mount_from),
        };
        reporter.end();
        let uploaded = uploaded?;
        if uploaded {
            let (actual, len) = hashing.into_inner().finish();
            if actual != digest || len != size {
                return Err(Error::Bundle(crate::oci::Error::Invalid {
                    path: layout.path.clone(),
                    problem: format!("blob {digest} changed while it was pushed"),
                }));
            }
            report.bytes_uploaded += size;
        }
        report.blobs_uploaded += 1;
    }
    if let Some(digest) = missing.iter().next() {
        return Err(Error::Bundle(crate::oci::Error::Invalid {
            path: layout.path.clone(),
            problem: format!("blob {digest} disappeared while it was pushed"),
        }));
    }
    Ok(())
}

/// Merges `entries` into the image index under the `sha256-<subject hex>` tag, keeping
/// every referrer already listed there.
fn update_fallback_tag(
    client: &mut Client,
    subject: &Sha256Digest,
    entries: Vec<serde_json::Value>,
) -> Result<(), Error> {
    let tag = format!("sha256-{}", subject.hex());
    let mut index = match client.get_manifest(&tag)? {
        Some((_, bytes, _)) => serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .filter(|v| v.get("manifests").is_some_and(|m| m.is_array()))
            .ok_or_else(|| Error::Unsupported {
                registry: client.registry().to_owned(),
                what: format!("referrers tag {tag}"),
                problem: "it is not an image index".to_owned(),
            })?,
        None => serde_json::json!({
            "schemaVersion": 2,
            "mediaType": INDEX_MEDIA_TYPE,
            "manifests": [],
        }),
    };
    let mut changed = false;
    if let Some(list) = index.get_mut("manifests").and_then(|m| m.as_array_mut()) {
        for entry in entries {
            if !list.iter().any(|e| e.get("digest") == entry.get("digest")) {
                list.push(entry);
                changed = true;
            }
        }
    }
    if changed {
        let bytes = canonical_json(&index).map_err(|e| Error::Unsupported {
            registry: client.registry().to_owned(),
            what: format!("referrers tag {tag}"),
            problem: e.to_string(),
        })?;
        client.put_manifest(&tag, INDEX_MEDIA_TYPE, &bytes)?;
    }
    Ok(())
}
