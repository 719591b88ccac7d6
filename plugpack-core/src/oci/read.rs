//! Reading bundles defensively: one streaming pass validates every tar entry and hashes every
//! blob; [`inspect`] then walks `index.json` and checks every descriptor; [`extract`] writes
//! the plugin files, re-hashing them as they are written.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read};

use camino::{Utf8Path, Utf8PathBuf};
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};
use serde::{Deserialize, Serialize};

use super::{
    CDYLIB_LAYER_MEDIA_TYPE, Error, KIND_ANNOTATION, OCI_LAYOUT, TARGET_ANNOTATION,
    WASM_LAYER_MEDIA_TYPE,
};
use crate::types::{AtomicFile, HashingReader, Sha256Digest};

/// Blobs up to this size that look like JSON are kept in memory for parsing.
const MAX_JSON_BLOB: u64 = 16 * 1024 * 1024;

const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// One blob found in the tarball.
#[derive(Debug, Clone)]
struct StoredBlob {
    size: u64,
    json: Option<Vec<u8>>,
}

/// A validated bundle: its `index.json` and what blobs it holds.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The bundle file.
    pub path: Utf8PathBuf,
    /// Raw `index.json`.
    pub index_json: Vec<u8>,
    blobs: BTreeMap<Sha256Digest, StoredBlob>,
}

impl Layout {
    /// The bytes of a small JSON blob (manifests, configs, attachments), if present.
    pub fn json_blob(&self, digest: &Sha256Digest) -> Option<&[u8]> {
        self.blobs.get(digest).and_then(|b| b.json.as_deref())
    }

    /// The size of a blob, if present.
    pub fn blob_size(&self, digest: &Sha256Digest) -> Option<u64> {
        self.blobs.get(digest).map(|b| b.size)
    }

    fn invalid(&self, problem: impl Into<String>) -> Error {
        Error::Invalid {
            path: self.path.clone(),
            problem: problem.into(),
        }
    }
}

/// Summary of a layer (or of a referrer's content).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInfo {
    /// Media type.
    pub media_type: String,
    /// Digest.
    pub digest: Sha256Digest,
    /// Size.
    pub size: u64,
    /// `org.opencontainers.image.title`, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// Summary of one plugin manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestInfo {
    /// Manifest digest (what signatures cover).
    pub digest: Sha256Digest,
    /// Manifest size.
    pub size: u64,
    /// Target triple (`dev.plugpack.target`).
    pub target: Option<String>,
    /// Plugin kind (`dev.plugpack.kind`).
    pub kind: Option<String>,
    /// `os/architecture` from the descriptor's platform.
    pub platform: Option<String>,
    /// `artifactType`.
    pub artifact_type: Option<String>,
    /// Config descriptor.
    pub config: LayerInfo,
    /// Layers.
    pub layers: Vec<LayerInfo>,
    /// Manifest annotations (sorted).
    pub annotations: BTreeMap<String, String>,
}

/// Summary of one referrer (attachment) manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferrerInfo {
    /// Referrer manifest digest.
    pub digest: Sha256Digest,
    /// `artifactType`.
    pub artifact_type: Option<String>,
    /// Digest of the manifest it refers to.
    pub subject: Sha256Digest,
    /// Its content layers.
    pub layers: Vec<LayerInfo>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
}

/// What a bundle holds, after validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleInfo {
    /// Schema of this summary.
    pub schema: String,
    /// The tag (`org.opencontainers.image.ref.name`) of the plugin entry.
    pub tag: Option<String>,
    /// Media type of the tagged entry (manifest or index).
    pub media_type: String,
    /// Digest of the tagged entry.
    pub digest: Sha256Digest,
    /// Size of the tagged entry.
    pub size: u64,
    /// Plugin manifests, one per target.
    pub manifests: Vec<ManifestInfo>,
    /// Attachments.
    pub referrers: Vec<ReferrerInfo>,
}

/// A plugin file written by [`extract`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtractedFile {
    /// Target triple.
    pub target: String,
    /// Where it was written.
    pub path: Utf8PathBuf,
    /// Its digest (checked while writing).
    pub digest: Sha256Digest,
    /// Its size.
    pub size: u64,
}

enum EntryName {
    Dir,
    OciLayout,
    IndexJson,
    Blob(Sha256Digest),
    Other,
}

fn classify(path: &str, invalid: &dyn Fn(String) -> Error) -> Result<EntryName, Error> {
    if path.starts_with('/') || path.contains('\\') {
        return Err(invalid(format!(
            "entry `{path}` has an absolute or non-portable path"
        )));
    }
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(invalid(format!(
            "entry `{path}` escapes the archive with `..`"
        )));
    }
    Ok(match parts.as_slice() {
        [] | ["blobs"] | ["blobs", _] => EntryName::Dir,
        ["oci-layout"] => EntryName::OciLayout,
        ["index.json"] => EntryName::IndexJson,
        ["blobs", "sha256", hex] => {
            let digest: Sha256Digest = format!("sha256:{hex}")
                .parse()
                .map_err(|_| invalid(format!("entry `{path}` is not named by a sha256 digest")))?;
            EntryName::Blob(digest)
        }
        ["blobs", algorithm, _] => {
            return Err(invalid(format!(
                "entry `{path}` uses unsupported digest algorithm `{algorithm}`"
            )));
        }
        _ => EntryName::Other,
    })
}

/// What is wrong when the tar reader fails, without its message when that may quote the
/// file's bytes (tar's header errors include the header fields, i.e. whatever the file held).
fn tar_problem(e: &io::Error) -> String {
    const EXPECTED: &str = "expected an OCI image-layout tarball (`*.oci.tar`)";
    if e.raw_os_error() == Some(21) || e.kind() == io::ErrorKind::IsADirectory {
        format!("it is a directory; {EXPECTED}")
    } else if e.raw_os_error().is_some() {
        format!("cannot read it ({e})")
    } else if e.kind() == io::ErrorKind::UnexpectedEof {
        format!("truncated tar archive; {EXPECTED}")
    } else {
        format!("not a tar archive; {EXPECTED}")
    }
}

fn open_archive(path: &Utf8Path) -> Result<tar::Archive<BufReader<File>>, Error> {
    let file = File::open(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok(tar::Archive::new(BufReader::new(file)))
}

/// Reads and validates a bundle tarball: safe entries only, every blob's content matches its
/// name, `oci-layout` and `index.json` present and well-formed.
pub fn read_bundle(path: &Utf8Path) -> Result<Layout, Error> {
    let invalid = |problem: String| Error::Invalid {
        path: path.to_owned(),
        problem,
    };
    let not_tar = |e: io::Error| invalid(tar_problem(&e));
    let mut archive = open_archive(path)?;
    let mut blobs = BTreeMap::new();
    let mut oci_layout = None;
    let mut index_json = None;
    let mut seen = std::collections::BTreeSet::new();
    for entry in archive.entries().map_err(not_tar)? {
        let entry = entry.map_err(not_tar)?;
        let name = String::from_utf8(entry.path_bytes().into_owned())
            .map_err(|_| invalid("an entry name is not UTF-8".to_owned()))?;
        let kind = entry.header().entry_type();
        let class = classify(&name, &invalid)?;
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            tar::EntryType::Directory if matches!(class, EntryName::Dir | EntryName::Other) => {
                continue;
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                return Err(invalid(format!(
                    "entry `{name}` is a link; bundles may only hold regular files"
                )));
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                return Err(invalid(format!(
                    "entry `{name}` is a device or fifo; bundles may only hold regular files"
                )));
            }
            other => {
                return Err(invalid(format!(
                    "entry `{name}` has unsupported type {other:?}"
                )));
            }
        }
        let normalized: String = name.trim_start_matches("./").to_owned();
        if !seen.insert(normalized.clone()) {
            return Err(invalid(format!("entry `{name}` appears twice")));
        }
        let size = entry.header().size().map_err(not_tar)?;
        match class {
            EntryName::Dir => return Err(invalid(format!("entry `{name}` should be a directory"))),
            EntryName::Other => {}
            EntryName::OciLayout => oci_layout = Some(read_small(entry, size, &name, &invalid)?),
            EntryName::IndexJson => index_json = Some(read_small(entry, size, &name, &invalid)?),
            EntryName::Blob(digest) => {
                let mut hashing = HashingReader::new(entry);
                let mut head = [0u8; 1];
                let n = hashing.read(&mut head).map_err(not_tar)?;
                let keep = n == 1 && head[0] == b'{' && size <= MAX_JSON_BLOB;
                let json = if keep {
                    let mut bytes = head.to_vec();
                    hashing.read_to_end(&mut bytes).map_err(not_tar)?;
                    Some(bytes)
                } else {
                    io::copy(&mut hashing, &mut io::sink()).map_err(not_tar)?;
                    None
                };
                let (actual, len) = hashing.finish();
                if len != size {
                    return Err(invalid(format!(
                        "entry `{name}` is truncated ({len} of {size} bytes)"
                    )));
                }
                if actual != digest {
                    return Err(invalid(format!(
                        "blob `{name}` does not match its digest (content is {actual})"
                    )));
                }
                blobs.insert(digest, StoredBlob { size, json });
            }
        }
    }
    let oci_layout = oci_layout.ok_or_else(|| {
        invalid(if seen.is_empty() {
            "it is empty (no `oci-layout`): not an OCI image layout".to_owned()
        } else {
            "missing `oci-layout` (not an OCI image layout)".to_owned()
        })
    })?;
    let layout_value: serde_json::Value = serde_json::from_slice(&oci_layout)
        .map_err(|e| invalid(format!("`oci-layout` is not JSON ({e})")))?;
    if layout_value
        .get("imageLayoutVersion")
        .and_then(|v| v.as_str())
        != Some("1.0.0")
    {
        return Err(invalid(format!(
            "`oci-layout` must be {OCI_LAYOUT}, found {}",
            String::from_utf8_lossy(&oci_layout)
        )));
    }
    let index_json = index_json.ok_or_else(|| invalid("missing `index.json`".to_owned()))?;
    Ok(Layout {
        path: path.to_owned(),
        index_json,
        blobs,
    })
}

fn read_small(
    entry: impl Read,
    size: u64,
    name: &str,
    invalid: &dyn Fn(String) -> Error,
) -> Result<Vec<u8>, Error> {
    if size > MAX_JSON_BLOB {
        return Err(invalid(format!(
            "entry `{name}` is too large ({size} bytes)"
        )));
    }
    let mut bytes = Vec::new();
    entry
        .take(MAX_JSON_BLOB)
        .read_to_end(&mut bytes)
        .map_err(|e| invalid(format!("entry `{name}` cannot be read ({e})")))?;
    Ok(bytes)
}

fn digest_of(layout: &Layout, d: &Descriptor, what: &str) -> Result<Sha256Digest, Error> {
    let digest: Sha256Digest =
        d.digest().to_string().parse().map_err(|_| {
            layout.invalid(format!("{what} has unsupported digest `{}`", d.digest()))
        })?;
    match layout.blob_size(&digest) {
        None => Err(layout.invalid(format!("{what} refers to missing blob {digest}"))),
        Some(size) if size != d.size() => Err(layout.invalid(format!(
            "{what} says blob {digest} has {} bytes but it has {size}",
            d.size()
        ))),
        Some(_) => Ok(digest),
    }
}

fn json_of<'a>(layout: &'a Layout, digest: &Sha256Digest, what: &str) -> Result<&'a [u8], Error> {
    layout
        .json_blob(digest)
        .ok_or_else(|| layout.invalid(format!("{what} {digest} is not a JSON document")))
}

fn annotations(
    map: Option<&std::collections::HashMap<String, String>>,
) -> BTreeMap<String, String> {
    map.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn layer_info(layout: &Layout, d: &Descriptor, what: &str) -> Result<LayerInfo, Error> {
    let digest = digest_of(layout, d, what)?;
    Ok(LayerInfo {
        media_type: d.media_type().to_string(),
        digest,
        size: d.size(),
        title: d
            .annotations()
            .as_ref()
            .and_then(|a| a.get("org.opencontainers.image.title").cloned()),
    })
}

/// Walks `index.json` and every manifest it reaches, checking each descriptor against the
/// blobs, and summarises the plugin manifests and their referrers.
pub fn inspect(layout: &Layout) -> Result<BundleInfo, Error> {
    let index: ImageIndex = serde_json::from_slice(&layout.index_json)
        .map_err(|e| layout.invalid(format!("`index.json` is not an OCI image index ({e})")))?;
    let mut tagged = None;
    let mut manifests = Vec::new();
    let mut referrers = Vec::new();
    for entry in index.manifests() {
        let digest = digest_of(layout, entry, "`index.json` entry")?;
        let media_type = entry.media_type().to_string();
        let entry_annotations = annotations(entry.annotations().as_ref());
        let tag = entry_annotations
            .get("org.opencontainers.image.ref.name")
            .cloned();
        match media_type.as_str() {
            INDEX_MEDIA_TYPE => {
                let nested: ImageIndex =
                    serde_json::from_slice(json_of(layout, &digest, "image index")?).map_err(
                        |e| layout.invalid(format!("image index {digest} does not parse ({e})")),
                    )?;
                for d in nested.manifests() {
                    let m_digest = digest_of(layout, d, &format!("image index {digest}"))?;
                    manifests.push(manifest_info(layout, d, m_digest)?);
                }
            }
            MANIFEST_MEDIA_TYPE => {
                let info = manifest_info(layout, entry, digest)?;
                let raw: ImageManifest =
                    serde_json::from_slice(json_of(layout, &digest, "manifest")?).map_err(|e| {
                        layout.invalid(format!("manifest {digest} does not parse ({e})"))
                    })?;
                if let Some(subject) = raw.subject() {
                    let subject_digest: Sha256Digest =
                        subject.digest().to_string().parse().map_err(|_| {
                            layout.invalid(format!("referrer {digest} has a bad subject digest"))
                        })?;
                    referrers.push(ReferrerInfo {
                        digest,
                        artifact_type: raw.artifact_type().as_ref().map(|t| t.to_string()),
                        subject: subject_digest,
                        layers: info.layers,
                        annotations: info.annotations,
                    });
                    continue;
                }
                manifests.push(info);
            }
            other => {
                return Err(layout.invalid(format!(
                    "`index.json` lists unsupported media type `{other}`"
                )));
            }
        }
        if tag.is_some() && tagged.is_none() {
            tagged = Some((tag, media_type, digest, entry.size()));
        }
    }
    let (tag, media_type, digest, size) = tagged.ok_or_else(|| {
        layout.invalid(
            "`index.json` has no tagged plugin entry (org.opencontainers.image.ref.name)"
                .to_owned(),
        )
    })?;
    for r in &referrers {
        if !manifests.iter().any(|m| m.digest == r.subject)
            && !referrers.iter().any(|o| o.digest == r.subject)
        {
            return Err(layout.invalid(format!(
                "referrer {} points at {} which is not in the bundle",
                r.digest, r.subject
            )));
        }
    }
    manifests.sort_by(|a, b| a.target.cmp(&b.target));
    Ok(BundleInfo {
        schema: "plugpack-bundle-info/1".to_owned(),
        tag,
        media_type,
        digest,
        size,
        manifests,
        referrers,
    })
}

fn manifest_info(
    layout: &Layout,
    d: &Descriptor,
    digest: Sha256Digest,
) -> Result<ManifestInfo, Error> {
    let manifest: ImageManifest = serde_json::from_slice(json_of(layout, &digest, "manifest")?)
        .map_err(|e| layout.invalid(format!("manifest {digest} does not parse ({e})")))?;
    let what = format!("manifest {digest}");
    let config = layer_info(layout, manifest.config(), &what)?;
    let layers = manifest
        .layers()
        .iter()
        .map(|l| layer_info(layout, l, &what))
        .collect::<Result<Vec<_>, _>>()?;
    let annotations = annotations(manifest.annotations().as_ref());
    Ok(ManifestInfo {
        digest,
        size: d.size(),
        target: annotations.get(TARGET_ANNOTATION).cloned(),
        kind: annotations.get(KIND_ANNOTATION).cloned(),
        platform: d
            .platform()
            .as_ref()
            .map(|p| format!("{}/{}", p.os(), p.architecture())),
        artifact_type: manifest.artifact_type().as_ref().map(|t| t.to_string()),
        config,
        layers,
        annotations,
    })
}

/// A file name from a layer title that is safe to create inside the output directory.
fn safe_file_name(title: &str) -> Option<&str> {
    let ok = !title.is_empty()
        && title != "."
        && title != ".."
        && !title.contains(['/', '\\', '\0'])
        && !title.starts_with('.');
    ok.then_some(title)
}

/// Validates `bundle` and writes each plugin artifact to `dir/<target>/<file name>`,
/// re-checking its digest while writing. Nothing is written outside `dir`; a file whose
/// digest does not match is never left behind.
pub fn extract(bundle: &Utf8Path, dir: &Utf8Path) -> Result<Vec<ExtractedFile>, Error> {
    let layout = read_bundle(bundle)?;
    let info = inspect(&layout)?;
    let mut wanted: BTreeMap<Sha256Digest, Vec<(String, Utf8PathBuf)>> = BTreeMap::new();
    for m in &info.manifests {
        let target = m.target.clone().ok_or_else(|| {
            layout.invalid(format!(
                "manifest {} has no {TARGET_ANNOTATION} annotation",
                m.digest
            ))
        })?;
        if safe_file_name(&target).is_none() {
            return Err(layout.invalid(format!(
                "manifest {} has an unsafe target `{target}`",
                m.digest
            )));
        }
        for layer in &m.layers {
            if layer.media_type != WASM_LAYER_MEDIA_TYPE
                && layer.media_type != CDYLIB_LAYER_MEDIA_TYPE
            {
                continue;
            }
            let title = layer.title.as_deref().unwrap_or_default();
            let name = safe_file_name(title).ok_or_else(|| {
                layout.invalid(format!(
                    "layer {} has an unsafe file name `{title}`",
                    layer.digest
                ))
            })?;
            wanted
                .entry(layer.digest)
                .or_default()
                .push((target.clone(), dir.join(&target).join(name)));
        }
    }
    let mut archive = open_archive(bundle)?;
    let not_tar = |e: io::Error| Error::Invalid {
        path: bundle.to_owned(),
        problem: tar_problem(&e),
    };
    let mut written = Vec::new();
    for entry in archive.entries().map_err(not_tar)? {
        let entry = entry.map_err(not_tar)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(hex) = name.trim_start_matches("./").strip_prefix("blobs/sha256/") else {
            continue;
        };
        let Ok(digest) = format!("sha256:{hex}").parse::<Sha256Digest>() else {
            continue;
        };
        let Some(outputs) = wanted.remove(&digest) else {
            continue;
        };
        let (first_target, first_path) = &outputs[0];
        let mut out = AtomicFile::create(first_path).map_err(|source| Error::Extract {
            path: first_path.clone(),
            source,
        })?;
        let mut hashing = HashingReader::new(entry);
        io::copy(&mut hashing, &mut out).map_err(|source| Error::Extract {
            path: first_path.clone(),
            source,
        })?;
        let (actual, size) = hashing.finish();
        if actual != digest {
            return Err(layout.invalid(format!("blob {digest} changed while extracting")));
        }
        out.commit().map_err(|source| Error::Extract {
            path: first_path.clone(),
            source,
        })?;
        written.push(ExtractedFile {
            target: first_target.clone(),
            path: first_path.clone(),
            digest,
            size,
        });
        for (target, path) in &outputs[1..] {
            let copy_err = |source| Error::Extract {
                path: path.clone(),
                source,
            };
            let mut src = File::open(first_path).map_err(copy_err)?;
            let mut dest = AtomicFile::create(path).map_err(copy_err)?;
            io::copy(&mut src, &mut dest).map_err(copy_err)?;
            dest.commit().map_err(copy_err)?;
            written.push(ExtractedFile {
                target: target.clone(),
                path: path.clone(),
                digest,
                size,
            });
        }
    }
    if let Some((digest, _)) = wanted.into_iter().next() {
        return Err(layout.invalid(format!("blob {digest} disappeared while extracting")));
    }
    written.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(written)
}
