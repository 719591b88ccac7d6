//! Reading bundles defensively: a header-only pass caps GNU long names and PAX headers;
//! one streaming pass validates every tar entry (canonical names, see `names.rs`) and
//! hashes every blob; then only the JSON documents `index.json` reaches are loaded, and
//! blobs nothing references are refused. [`inspect`] walks `index.json` and checks every
//! descriptor; [`extract`](super::extract()) writes the plugin files.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};

use camino::{Utf8Path, Utf8PathBuf};
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};
use serde::{Deserialize, Serialize};

use super::names::{EntryName, classify};
use super::{Error, KIND_ANNOTATION, OCI_LAYOUT, TARGET_ANNOTATION};
use crate::types::{HashingReader, Sha256Digest};

pub(super) const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub(super) const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// One blob found in the tarball.
#[derive(Debug, Clone)]
struct StoredBlob {
    size: u64,
    /// Where its bytes start in the tarball (accepted entries are contiguous).
    offset: u64,
    /// Its first byte (`{` marks a JSON document).
    first: Option<u8>,
    /// Its bytes, for a referenced JSON document.
    json: Option<Vec<u8>>,
}

/// A validated bundle: its `index.json` and what blobs it holds.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The bundle file.
    pub path: Utf8PathBuf,
    /// Raw `index.json`.
    pub index_json: Vec<u8>,
    /// The mtime of the `index.json` entry (reused when the bundle is rewritten).
    #[cfg_attr(not(feature = "tool"), allow(dead_code))]
    pub(super) index_mtime: u64,
    blobs: BTreeMap<Sha256Digest, StoredBlob>,
}

impl Layout {
    /// The bytes of a referenced JSON blob (manifests, configs, attachments), if present.
    pub fn json_blob(&self, digest: &Sha256Digest) -> Option<&[u8]> {
        self.blobs.get(digest).and_then(|b| b.json.as_deref())
    }

    /// The size of a blob, if present.
    pub fn blob_size(&self, digest: &Sha256Digest) -> Option<u64> {
        self.blobs.get(digest).map(|b| b.size)
    }

    /// Every blob's digest, in order.
    #[cfg(feature = "tool")]
    pub(super) fn blob_digests(&self) -> impl Iterator<Item = &Sha256Digest> {
        self.blobs.keys()
    }

    /// Copies one blob from the bundle file into `out`, re-hashing it; an error if the
    /// file changed since it was read. Returns the size.
    pub(super) fn copy_blob(
        &self,
        file: &mut File,
        digest: &Sha256Digest,
        out: &mut dyn Write,
        write_err: &dyn Fn(io::Error) -> Error,
    ) -> Result<u64, Error> {
        let blob = self
            .blobs
            .get(digest)
            .ok_or_else(|| self.invalid(format!("blob {digest} disappeared")))?;
        let mut hashing = HashingReader::new(seek_blob(self, file, blob.offset, blob.size)?);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = hashing.read(&mut buf).map_err(|source| Error::Read {
                path: self.path.clone(),
                source,
            })?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n]).map_err(write_err)?;
        }
        let (actual, len) = hashing.finish();
        if actual != *digest || len != blob.size {
            return Err(self.invalid(format!("blob {digest} changed while it was read")));
        }
        Ok(len)
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
    /// The file name of each layer as `extract --attachments` writes it
    /// ([`super::attachment_files`]), in layer order.
    #[serde(default)]
    pub files: Vec<String>,
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

/// Largest JSON document (manifest, config, attachment) held in memory.
pub const MAX_JSON_BLOB: u64 = 16 * 1024 * 1024;
/// Largest `index.json` (about 100,000 referrer entries).
pub const MAX_INDEX_JSON: u64 = 64 * 1024 * 1024;
/// Most bytes of referenced JSON documents held in memory for one bundle.
pub const MAX_JSON_TOTAL: u64 = 256 * 1024 * 1024;
/// Largest `oci-layout` file.
pub const MAX_OCI_LAYOUT: u64 = 4 * 1024;
/// Largest GNU long-name / long-link or PAX extended header (read into memory by the tar
/// reader before the entry it describes).
pub const MAX_TAR_EXTENSION: u64 = 8 * 1024;

/// What is wrong when the tar reader fails, without its message when that may quote the
/// file's bytes (tar's header errors include the header fields, i.e. whatever the file held).
pub(super) fn tar_problem(e: &io::Error) -> String {
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
    let read_err = |source| Error::Read {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(read_err)?;
    if !file.metadata().map_err(read_err)?.is_file() {
        return Err(Error::Invalid {
            path: path.to_owned(),
            problem: "not a regular file (bundles are read in several passes)".to_owned(),
        });
    }
    Ok(tar::Archive::new(BufReader::new(file)))
}

/// An entry name for messages: control characters escaped.
fn shown(name: &str) -> String {
    name.escape_debug().to_string()
}

/// The header-only pass, before the tar reader buffers any GNU long name or PAX header:
/// caps their size, and refuses what would make readers disagree on where entries start or
/// what they are called (PAX `size` records, sparse files, a GNU long name *and* a PAX
/// `path` for one entry).
fn check_extension_headers(
    path: &Utf8Path,
    invalid: &dyn Fn(String) -> Error,
    not_tar: &dyn Fn(io::Error) -> Error,
) -> Result<(), Error> {
    let mut archive = open_archive(path)?;
    let mut long_name = false;
    let mut pax_path = false;
    for entry in archive.entries_with_seek().map_err(not_tar)?.raw(true) {
        let mut entry = entry.map_err(not_tar)?;
        let kind = entry.header().entry_type();
        let extension = kind.is_gnu_longname()
            || kind.is_gnu_longlink()
            || kind.is_pax_local_extensions()
            || kind.is_pax_global_extensions();
        if kind.is_gnu_sparse() {
            return Err(invalid(
                "an entry is a sparse file; bundles may only hold regular files".to_owned(),
            ));
        }
        if !extension {
            if long_name && pax_path {
                return Err(invalid(
                    "an entry has both a GNU long name and a PAX path (readers disagree on \
                     which wins)"
                        .to_owned(),
                ));
            }
            long_name = false;
            pax_path = false;
            continue;
        }
        let size = entry.header().entry_size().map_err(not_tar)?;
        if size > MAX_TAR_EXTENSION {
            return Err(invalid(format!(
                "a GNU long-name or PAX header has {size} bytes (the limit is \
                 {MAX_TAR_EXTENSION})"
            )));
        }
        long_name |= kind.is_gnu_longname();
        if kind.is_pax_local_extensions() || kind.is_pax_global_extensions() {
            let records = entry.pax_extensions().map_err(not_tar)?;
            for record in records.into_iter().flatten() {
                let record = record.map_err(not_tar)?;
                match record.key_bytes() {
                    b"size" => {
                        return Err(invalid(
                            "a PAX header overrides an entry's size (not supported)".to_owned(),
                        ));
                    }
                    b"path" => pax_path = true,
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

/// Reads and validates a bundle tarball: safe, canonical entry names only (see
/// `names.rs`), every blob's content matches its name, `oci-layout` and `index.json`
/// present and well-formed, and every blob referenced from `index.json` (through manifests
/// and image indexes). Only referenced JSON documents are held in memory; every size is
/// capped (see the `MAX_*` constants).
pub fn read_bundle(path: &Utf8Path) -> Result<Layout, Error> {
    read_bundle_with(path, &BTreeMap::new())
}

/// [`read_bundle`] of a bundle this process just wrote: a blob listed in `written` (digest →
/// size, each checked against its content while it was written) with that size is not hashed
/// again; everything else (tar structure, entry names and sizes, `oci-layout`, `index.json`,
/// every referenced JSON document, unreferenced blobs) is checked as [`read_bundle`] does.
#[cfg(feature = "tool")]
pub(crate) fn read_written_bundle(
    path: &Utf8Path,
    written: &BTreeMap<Sha256Digest, u64>,
) -> Result<Layout, Error> {
    read_bundle_with(path, written)
}

fn read_bundle_with(
    path: &Utf8Path,
    written: &BTreeMap<Sha256Digest, u64>,
) -> Result<Layout, Error> {
    let invalid = |problem: String| Error::Invalid {
        path: path.to_owned(),
        problem,
    };
    let not_tar = |e: io::Error| invalid(tar_problem(&e));
    check_extension_headers(path, &invalid, &not_tar)?;
    let mut archive = open_archive(path)?;
    let mut blobs = BTreeMap::new();
    let mut oci_layout = None;
    let mut index_json = None;
    let mut index_mtime = 0;
    let mut seen = BTreeSet::new();
    for entry in archive.entries_with_seek().map_err(not_tar)? {
        let entry = entry.map_err(not_tar)?;
        let name = String::from_utf8(entry.path_bytes().into_owned())
            .map_err(|_| invalid("an entry name is not UTF-8".to_owned()))?;
        let kind = entry.header().entry_type();
        let class = classify(&name, kind == tar::EntryType::Directory)
            .map_err(|problem| invalid(format!("entry `{}` {problem}", shown(&name))))?;
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            tar::EntryType::Directory if matches!(class, EntryName::Dir | EntryName::Other) => {
                continue;
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                return Err(invalid(format!(
                    "entry `{}` is a link; bundles may only hold regular files",
                    shown(&name)
                )));
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                return Err(invalid(format!(
                    "entry `{}` is a device or fifo; bundles may only hold regular files",
                    shown(&name)
                )));
            }
            other => {
                return Err(invalid(format!(
                    "entry `{}` has unsupported type {other:?}",
                    shown(&name)
                )));
            }
        }
        // Names are canonical, so equal names are equal for every reader.
        if !seen.insert(name.clone()) {
            return Err(invalid(format!("entry `{}` appears twice", shown(&name))));
        }
        let size = entry.size();
        match class {
            EntryName::Dir => {
                return Err(invalid(format!(
                    "entry `{}` should be a directory",
                    shown(&name)
                )));
            }
            EntryName::Other => {}
            EntryName::OciLayout => {
                oci_layout = Some(read_small(entry, size, MAX_OCI_LAYOUT, &name, &invalid)?);
            }
            EntryName::IndexJson => {
                index_mtime = entry.header().mtime().unwrap_or(0);
                index_json = Some(read_small(entry, size, MAX_INDEX_JSON, &name, &invalid)?);
            }
            EntryName::Blob(digest) => {
                let offset = entry.raw_file_position();
                let mut head = [0u8; 1];
                if written.get(&digest) == Some(&size) {
                    // Checked while written; the archive seeks past the rest.
                    let mut entry = entry;
                    let n = entry.read(&mut head).map_err(not_tar)?;
                    let first = (n == 1).then_some(head[0]);
                    blobs.insert(
                        digest,
                        StoredBlob {
                            size,
                            offset,
                            first,
                            json: None,
                        },
                    );
                    continue;
                }
                let mut hashing = HashingReader::new(entry);
                let n = hashing.read(&mut head).map_err(not_tar)?;
                io::copy(&mut hashing, &mut io::sink()).map_err(not_tar)?;
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
                let first = (n == 1).then_some(head[0]);
                blobs.insert(
                    digest,
                    StoredBlob {
                        size,
                        offset,
                        first,
                        json: None,
                    },
                );
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
    let mut layout = Layout {
        path: path.to_owned(),
        index_json,
        index_mtime,
        blobs,
    };
    let file = archive.into_inner().into_inner();
    load_referenced(&mut layout, file)?;
    Ok(layout)
}

/// Walks `index.json` → image indexes → manifests → configs and layers, loading each
/// referenced JSON document (a blob starting with `{`, at most [`MAX_JSON_BLOB`] bytes,
/// re-hashed as it is read) and refusing blobs that nothing references. Malformed
/// documents are left for [`inspect`] to report.
fn load_referenced(layout: &mut Layout, mut file: File) -> Result<(), Error> {
    let index: serde_json::Value = serde_json::from_slice(&layout.index_json)
        .map_err(|e| layout.invalid(format!("`index.json` is not an OCI image index ({e})")))?;
    let mut pending: Vec<serde_json::Value> = descriptors(&index);
    let mut referenced = BTreeSet::new();
    let mut walked = BTreeSet::new();
    let mut total = 0u64;
    while let Some(d) = pending.pop() {
        let Some(digest) = d
            .get("digest")
            .and_then(|v| v.as_str())
            .and_then(|v| v.parse::<Sha256Digest>().ok())
        else {
            continue;
        };
        let Some(blob) = layout.blobs.get(&digest) else {
            continue;
        };
        referenced.insert(digest);
        let (size, offset) = (blob.size, blob.offset);
        if blob.json.is_none() && blob.first == Some(b'{') && size <= MAX_JSON_BLOB {
            total += size;
            if total > MAX_JSON_TOTAL {
                return Err(layout.invalid(format!(
                    "the bundle references more than {MAX_JSON_TOTAL} bytes of JSON documents"
                )));
            }
            let bytes = read_blob_bytes(layout, &mut file, &digest, offset, size)?;
            if let Some(blob) = layout.blobs.get_mut(&digest) {
                blob.json = Some(bytes);
            }
        }
        let media_type = d.get("mediaType").and_then(|v| v.as_str());
        if matches!(media_type, Some(MANIFEST_MEDIA_TYPE | INDEX_MEDIA_TYPE))
            && walked.insert(digest)
        {
            let doc = layout
                .json_blob(&digest)
                .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(bytes).ok());
            if let Some(doc) = doc {
                pending.extend(descriptors(&doc));
            }
        }
    }
    if let Some(digest) = layout.blobs.keys().find(|d| !referenced.contains(*d)) {
        return Err(layout.invalid(format!(
            "blob `blobs/sha256/{}` is not referenced by `index.json` or any manifest \
             (bundles may not carry unreferenced blobs)",
            digest.hex()
        )));
    }
    Ok(())
}

/// The descriptors a manifest, image index or `index.json` points at.
fn descriptors(doc: &serde_json::Value) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    if let Some(config) = doc.get("config") {
        out.push(config.clone());
    }
    for key in ["layers", "manifests"] {
        if let Some(list) = doc.get(key).and_then(|v| v.as_array()) {
            out.extend(list.iter().cloned());
        }
    }
    out
}

/// Reads one blob's bytes from the tarball at `offset` and checks them against `digest`.
fn read_blob_bytes(
    layout: &Layout,
    file: &mut File,
    digest: &Sha256Digest,
    offset: u64,
    size: u64,
) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    let mut hashing = HashingReader::new(seek_blob(layout, file, offset, size)?);
    hashing
        .read_to_end(&mut bytes)
        .map_err(|source| Error::Read {
            path: layout.path.clone(),
            source,
        })?;
    let (actual, len) = hashing.finish();
    if actual != *digest || len != size {
        return Err(layout.invalid(format!("blob {digest} changed while it was read")));
    }
    Ok(bytes)
}

fn seek_blob<'a>(
    layout: &Layout,
    file: &'a mut File,
    offset: u64,
    size: u64,
) -> Result<io::Take<&'a mut File>, Error> {
    file.seek(SeekFrom::Start(offset))
        .map_err(|source| Error::Read {
            path: layout.path.clone(),
            source,
        })?;
    Ok(Read::take(file, size))
}

fn read_small(
    entry: impl Read,
    size: u64,
    cap: u64,
    name: &str,
    invalid: &dyn Fn(String) -> Error,
) -> Result<Vec<u8>, Error> {
    if size > cap {
        return Err(invalid(format!(
            "entry `{name}` is too large ({size} bytes, the limit is {cap})"
        )));
    }
    let mut bytes = Vec::new();
    entry
        .take(cap)
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
                    if d.media_type().to_string() != MANIFEST_MEDIA_TYPE {
                        return Err(layout.invalid(format!(
                            "image index {digest} lists {m_digest} with media type `{}` \
                             (nested indexes are not supported)",
                            d.media_type()
                        )));
                    }
                    manifests.push(manifest_info(layout, d, m_digest)?.0);
                }
            }
            MANIFEST_MEDIA_TYPE => {
                let (info, raw) = manifest_info(layout, entry, digest)?;
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
                        files: Vec::new(),
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
    let known: HashSet<Sha256Digest> = manifests
        .iter()
        .map(|m| m.digest)
        .chain(referrers.iter().map(|r| r.digest))
        .collect();
    for r in &referrers {
        if !known.contains(&r.subject) {
            return Err(layout.invalid(format!(
                "referrer {} points at {} which is not in the bundle",
                r.digest, r.subject
            )));
        }
    }
    manifests.sort_by(|a, b| a.target.cmp(&b.target));
    let mut info = BundleInfo {
        schema: "plugpack-bundle-info/1".to_owned(),
        tag,
        media_type,
        digest,
        size,
        manifests,
        referrers,
    };
    // Grouped once by referrer: a lookup per referrer over all files was quadratic.
    let mut files: std::collections::HashMap<Sha256Digest, Vec<String>> =
        std::collections::HashMap::new();
    for f in super::attachment_files(&info) {
        files.entry(f.referrer).or_default().push(f.name);
    }
    for r in &mut info.referrers {
        r.files = files.remove(&r.digest).unwrap_or_default();
    }
    Ok(info)
}

fn manifest_info(
    layout: &Layout,
    d: &Descriptor,
    digest: Sha256Digest,
) -> Result<(ManifestInfo, ImageManifest), Error> {
    let manifest: ImageManifest = serde_json::from_slice(json_of(layout, &digest, "manifest")?)
        .map_err(|e| layout.invalid(format!("manifest {digest} does not parse ({e})")))?;
    let what = format!("manifest {digest}");
    if manifest.schema_version() != 2 {
        return Err(layout.invalid(format!(
            "{what} has schemaVersion {} (only 2 is supported)",
            manifest.schema_version()
        )));
    }
    if let Some(media_type) = manifest.media_type() {
        let media_type = media_type.to_string();
        if media_type != MANIFEST_MEDIA_TYPE {
            return Err(layout.invalid(format!(
                "{what} has mediaType `{media_type}`, expected `{MANIFEST_MEDIA_TYPE}`"
            )));
        }
    }
    let config = layer_info(layout, manifest.config(), &what)?;
    let layers = manifest
        .layers()
        .iter()
        .map(|l| layer_info(layout, l, &what))
        .collect::<Result<Vec<_>, _>>()?;
    let annotations = annotations(manifest.annotations().as_ref());
    let info = ManifestInfo {
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
    };
    Ok((info, manifest))
}
