//! Writing bundles: [`LayoutBuilder`] collects blobs and index entries; [`pack`] turns built
//! plugin artifacts (plus attachments) into one deterministic tarball.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::str::FromStr;

use camino::{Utf8Path, Utf8PathBuf};
use oci_spec::image::{
    Arch, Descriptor, DescriptorBuilder, Digest, ImageIndex, ImageIndexBuilder, ImageManifest,
    ImageManifestBuilder, MediaType, Os, PlatformBuilder,
};
use serde::Serialize;

use super::{
    CDYLIB_CONFIG_MEDIA_TYPE, CDYLIB_LAYER_MEDIA_TYPE, EMPTY_MEDIA_TYPE, Error, KIND_ANNOTATION,
    OCI_LAYOUT, PLUGIN_ANNOTATION, TARGET_ANNOTATION, WASM_CONFIG_MEDIA_TYPE,
    WASM_LAYER_MEDIA_TYPE, platform_of,
};
use crate::build::{BuiltArtifact, PluginKind};
use crate::project::Plugin;
use crate::types::{AtomicFile, FileStamp, HashingReader, Sha256Digest, canonical_json, rfc3339};

use super::read::{BundleInfo, inspect, read_written_bundle};

pub(super) enum BlobSource {
    Bytes(Vec<u8>),
    /// A file and, when its digest was computed from a stamped read, that stamp: the writer
    /// then copies it in the kernel instead of hashing it again.
    File(Utf8PathBuf, Option<FileStamp>),
}

pub(super) struct Blob {
    pub(super) size: u64,
    pub(super) source: BlobSource,
}

/// An OCI image layout being assembled: content-addressed blobs plus the entries of
/// `index.json`. Writing is deterministic (see the module docs).
#[derive(Default)]
pub struct LayoutBuilder {
    pub(super) blobs: BTreeMap<Sha256Digest, Blob>,
    pub(super) index: Vec<Descriptor>,
    pub(super) index_annotations: BTreeMap<String, String>,
}

impl LayoutBuilder {
    /// An empty layout.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an in-memory blob; returns its digest and size.
    pub fn add_bytes(&mut self, bytes: Vec<u8>) -> (Sha256Digest, u64) {
        let digest = Sha256Digest::of_bytes(&bytes);
        let size = bytes.len() as u64;
        self.blobs.insert(
            digest,
            Blob {
                size,
                source: BlobSource::Bytes(bytes),
            },
        );
        (digest, size)
    }

    /// Adds a blob whose content is `value` as canonical JSON.
    pub fn add_json<T: Serialize>(
        &mut self,
        what: &'static str,
        value: &T,
    ) -> Result<(Sha256Digest, u64), Error> {
        let bytes = canonical_json(value).map_err(|source| Error::Json { what, source })?;
        Ok(self.add_bytes(bytes))
    }

    /// Adds a file blob, already hashed; it is streamed (and re-hashed) when written.
    pub fn add_file(&mut self, path: &Utf8Path, digest: Sha256Digest, size: u64) {
        self.blobs.insert(
            digest,
            Blob {
                size,
                source: BlobSource::File(path.to_owned(), None),
            },
        );
    }

    /// Adds a file blob whose digest was computed by a stamped read
    /// ([`Sha256Digest::of_file_stamped`]). It is written with a kernel copy
    /// (`copy_file_range`) and not hashed again, after checking that its [`FileStamp`] is
    /// unchanged before and after the copy; a changed file is
    /// [`Error::SourceChanged`].
    pub fn add_stamped_file(
        &mut self,
        path: &Utf8Path,
        digest: Sha256Digest,
        size: u64,
        stamp: FileStamp,
    ) {
        self.blobs.insert(
            digest,
            Blob {
                size,
                source: BlobSource::File(path.to_owned(), Some(stamp)),
            },
        );
    }

    /// Lists a manifest or index in `index.json`.
    pub fn push_index_entry(&mut self, descriptor: Descriptor) {
        self.index.push(descriptor);
    }

    /// True when a blob with this digest is already present.
    pub fn has_blob(&self, digest: &Sha256Digest) -> bool {
        self.blobs.contains_key(digest)
    }

    /// Builds `index.json`.
    pub fn index_json(&self) -> Result<Vec<u8>, Error> {
        let mut builder = ImageIndexBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageIndex)
            .manifests(self.index.clone());
        if !self.index_annotations.is_empty() {
            builder = builder.annotations(to_hash_map(&self.index_annotations));
        }
        let index: ImageIndex = builder.build().map_err(|source| Error::Spec {
            what: "index",
            source,
        })?;
        canonical_json(&index).map_err(|source| Error::Json {
            what: "index.json",
            source,
        })
    }

    /// Writes the tarball atomically to `dest` with every entry's mtime set to `epoch`;
    /// returns its size. The temporary file is renamed into place without an `fsync` (see
    /// [`AtomicFile::commit_without_fsync`]): a bundle is rebuilt from its inputs.
    pub fn write(&self, dest: &Utf8Path, epoch: i64) -> Result<u64, Error> {
        let write_err = |source: io::Error| Error::Write {
            path: dest.to_owned(),
            source,
        };
        let index_json = self.index_json()?;
        let file = AtomicFile::create(dest).map_err(write_err)?;
        let mut tar = tar::Builder::new(file);
        let mtime = u64::try_from(epoch).unwrap_or(0);
        append_dir(&mut tar, "blobs/", mtime).map_err(write_err)?;
        append_dir(&mut tar, "blobs/sha256/", mtime).map_err(write_err)?;
        for (digest, blob) in &self.blobs {
            let path = format!("blobs/sha256/{}", digest.hex());
            match &blob.source {
                BlobSource::Bytes(bytes) => {
                    append_file(&mut tar, &path, blob.size, mtime, bytes.as_slice())
                        .map_err(write_err)?;
                }
                BlobSource::File(source_path, stamp) => {
                    let read_err = |source| Error::ReadSource {
                        path: source_path.clone(),
                        source,
                    };
                    let file = File::open(source_path).map_err(read_err)?;
                    let changed = |actual: String| Error::SourceChanged {
                        path: source_path.clone(),
                        expected: digest.to_string(),
                        actual,
                    };
                    let fresh = |file: &File| -> Result<bool, Error> {
                        let now = FileStamp::of(file).map_err(read_err)?;
                        Ok(Some(now) == *stamp && now.len() == blob.size)
                    };
                    if !fresh(&file)? {
                        // No stamp, or the file was replaced since it was hashed (another
                        // run rewriting the same output, say): hash it again while copying,
                        // and refuse it only when its content is not what was hashed.
                        let mut hashing = HashingReader::new(file.take(blob.size));
                        append_file(&mut tar, &path, blob.size, mtime, &mut hashing)
                            .map_err(write_err)?;
                        let (actual, len) = hashing.finish();
                        if actual != *digest || len != blob.size {
                            return Err(changed(actual.to_string()));
                        }
                        continue;
                    }
                    let header = header(&path, blob.size, mtime, 0o644, tar::EntryType::Regular)
                        .map_err(write_err)?;
                    let out = tar.get_mut().file();
                    out.write_all(header.as_bytes()).map_err(write_err)?;
                    let start = out.stream_position().map_err(write_err)?;
                    // `File` to `File`: std copies with `copy_file_range` (or `sendfile`)
                    // where the OS has it, without reading the content into memory.
                    let copied = io::copy(&mut (&file).take(blob.size), out).map_err(write_err)?;
                    if copied != blob.size {
                        return Err(changed(format!(
                            "a file of {copied} bytes instead of {}",
                            blob.size
                        )));
                    }
                    let padding = (512 - blob.size % 512) % 512;
                    out.write_all(&[0u8; 512][..padding as usize])
                        .map_err(write_err)?;
                    if !fresh(&file)? {
                        // Changed during the copy: check what was copied.
                        let end = out.stream_position().map_err(write_err)?;
                        out.seek(io::SeekFrom::Start(start)).map_err(write_err)?;
                        let (actual, _) =
                            Sha256Digest::of_reader((&*out).take(blob.size)).map_err(write_err)?;
                        out.seek(io::SeekFrom::Start(end)).map_err(write_err)?;
                        if actual != *digest {
                            return Err(changed(actual.to_string()));
                        }
                    }
                }
            }
        }
        append_file(
            &mut tar,
            "index.json",
            index_json.len() as u64,
            mtime,
            index_json.as_slice(),
        )
        .map_err(write_err)?;
        append_file(
            &mut tar,
            "oci-layout",
            OCI_LAYOUT.len() as u64,
            mtime,
            OCI_LAYOUT.as_bytes(),
        )
        .map_err(write_err)?;
        let mut file = tar.into_inner().map_err(write_err)?;
        let size = file.file().stream_position().map_err(write_err)?;
        file.commit_without_fsync().map_err(write_err)?;
        Ok(size)
    }

    /// [`LayoutBuilder::write`], then reads the file back the way [`pack`] does: structure,
    /// names, sizes and every JSON document, but not the large blobs this write already
    /// checked (hashed while streamed, or copied under an unchanged stamp of a stamped
    /// digest). Returns the description of the bundle as written.
    pub fn write_checked(&self, dest: &Utf8Path, epoch: i64) -> Result<BundleInfo, Error> {
        self.write(dest, epoch)?;
        inspect(&read_written_bundle(dest, &self.written_blobs())?)
    }

    /// The digest and size of every blob, each checked against its content while
    /// [`LayoutBuilder::write`] wrote it (file blobs) or hashed from memory (the others).
    fn written_blobs(&self) -> BTreeMap<Sha256Digest, u64> {
        self.blobs.iter().map(|(d, b)| (*d, b.size)).collect()
    }
}

fn header(
    path: &str,
    size: u64,
    mtime: u64,
    mode: u32,
    kind: tar::EntryType,
) -> io::Result<tar::Header> {
    let mut header = tar::Header::new_ustar();
    header.set_path(path)?;
    header.set_size(size);
    header.set_mtime(mtime);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_username("")?;
    header.set_groupname("")?;
    header.set_entry_type(kind);
    header.set_cksum();
    Ok(header)
}

fn append_dir<W: Write>(tar: &mut tar::Builder<W>, path: &str, mtime: u64) -> io::Result<()> {
    let header = header(path, 0, mtime, 0o755, tar::EntryType::Directory)?;
    tar.append(&header, io::empty())
}

fn append_file<W: Write, R: Read>(
    tar: &mut tar::Builder<W>,
    path: &str,
    size: u64,
    mtime: u64,
    data: R,
) -> io::Result<()> {
    let header = header(path, size, mtime, 0o644, tar::EntryType::Regular)?;
    tar.append(&header, data)
}

pub(crate) fn to_hash_map(map: &BTreeMap<String, String>) -> HashMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

pub(crate) fn oci_digest(digest: &Sha256Digest) -> Result<Digest, Error> {
    Digest::from_str(&digest.to_string()).map_err(|source| Error::Spec {
        what: "digest",
        source,
    })
}

/// Builds a descriptor.
pub(crate) fn descriptor(
    media_type: &str,
    digest: &Sha256Digest,
    size: u64,
    annotations: &BTreeMap<String, String>,
) -> Result<Descriptor, Error> {
    let mut builder = DescriptorBuilder::default()
        .media_type(MediaType::from(media_type))
        .digest(oci_digest(digest)?)
        .size(size);
    if !annotations.is_empty() {
        builder = builder.annotations(to_hash_map(annotations));
    }
    builder.build().map_err(|source| Error::Spec {
        what: "descriptor",
        source,
    })
}

/// A document attached to a plugin manifest as an OCI 1.1 referrer (fingerprint, SBOM,
/// audit report, signature envelope).
#[derive(Debug, Clone)]
pub struct Attachment {
    /// Target triple of the plugin manifest it describes.
    pub target: String,
    /// `artifactType` of the referrer manifest (e.g. `application/vnd.cyclonedx+json`).
    pub artifact_type: String,
    /// Media type of its single layer (usually the same as `artifact_type`).
    pub media_type: String,
    /// The content.
    pub bytes: Vec<u8>,
    /// File name for `org.opencontainers.image.title`.
    pub title: String,
    /// Annotations on the referrer manifest; `(key, value)` pairs for the plugin manifest
    /// itself (e.g. the ABI fingerprint digest, so a signature over the manifest covers it).
    pub subject_annotations: BTreeMap<String, String>,
}

/// Where and how to write a bundle.
#[derive(Debug, Clone)]
pub struct PackOptions {
    /// Output tarball path.
    pub output: Utf8PathBuf,
    /// Timestamp for `created` and tar mtimes (seconds since 1970).
    pub epoch: i64,
    /// Commit of the source, for `org.opencontainers.image.revision`.
    pub revision: Option<String>,
}

/// The plugpack config blob of a cdylib manifest.
#[derive(Serialize)]
struct CdylibConfig<'a> {
    schema: &'static str,
    name: &'a str,
    version: &'a str,
    kind: PluginKind,
    target: &'a str,
    architecture: &'a str,
    os: &'a str,
    file_name: &'a str,
    created: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rustc_version: Option<&'a str>,
}

/// The CNCF wasm config blob.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WasmConfig<'a> {
    created: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<String>,
    architecture: &'static str,
    os: &'a str,
    layer_digests: Vec<String>,
    /// For a component: its world's imports and exports by WIT name (and the world as
    /// `target` when the component names it), as `wkg` publishes components.
    #[serde(skip_serializing_if = "Option::is_none")]
    component: Option<ComponentConfig>,
}

/// The `component` object of the CNCF wasm config.
#[derive(Serialize)]
struct ComponentConfig {
    exports: Vec<String>,
    imports: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
}

/// The `component` object of a wasm artifact that is a component (`None` for a core module).
fn component_config(path: &Utf8Path) -> Result<Option<ComponentConfig>, Error> {
    use crate::fingerprint::component;
    let mut head = [0u8; 8];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|source| Error::ReadSource {
            path: path.to_owned(),
            source,
        })?;
    if !component::is_component(&head[..n]) {
        return Ok(None);
    }
    let doc = crate::fingerprint::fingerprint_file(path).map_err(|e| Error::Component {
        path: path.to_owned(),
        source: Box::new(e),
    })?;
    let Some(world) = doc.wit else {
        return Ok(None);
    };
    let names = |items: &[component::WitItem]| items.iter().map(|i| i.name.clone()).collect();
    Ok(Some(ComponentConfig {
        exports: names(&world.exports),
        imports: names(&world.imports),
        // `wit-component` names the world of a built component `root:component/root`:
        // no world a registry could resolve, so it is left out (as wkg does without one).
        target: (world.world != "root:component/root").then_some(world.world),
    }))
}

/// Packs `artifacts` (all of one plugin, one per target) and `attachments` into a bundle.
pub fn pack(
    plugin: &Plugin,
    artifacts: &[BuiltArtifact],
    attachments: &[Attachment],
    options: &PackOptions,
) -> Result<BundleInfo, Error> {
    let created = rfc3339(options.epoch);
    let mut layout = LayoutBuilder::new();
    let mut manifests: Vec<(String, Descriptor)> = Vec::new();
    let mut sorted: Vec<&BuiltArtifact> = artifacts.iter().collect();
    sorted.sort_by(|a, b| a.target.cmp(&b.target));
    sorted.dedup_by(|a, b| a.target == b.target);

    for artifact in &sorted {
        let (arch, os) = platform_of(&artifact.target);
        let (layer_media_type, config_media_type, config_blob) = match artifact.kind {
            PluginKind::Wasm => (
                WASM_LAYER_MEDIA_TYPE,
                WASM_CONFIG_MEDIA_TYPE,
                canonical_json(&WasmConfig {
                    created: &created,
                    author: (!plugin.authors.is_empty()).then(|| plugin.authors.join(", ")),
                    architecture: "wasm",
                    os: &os,
                    layer_digests: vec![artifact.sha256.to_string()],
                    component: component_config(&artifact.path)?,
                }),
            ),
            PluginKind::Cdylib => (
                CDYLIB_LAYER_MEDIA_TYPE,
                CDYLIB_CONFIG_MEDIA_TYPE,
                canonical_json(&CdylibConfig {
                    schema: "plugpack-config/1",
                    name: &plugin.name,
                    version: &plugin.version,
                    kind: artifact.kind,
                    target: &artifact.target,
                    architecture: &arch,
                    os: &os,
                    file_name: &artifact.file_name,
                    created: &created,
                    rustc_version: artifact.rustc_version.as_deref(),
                }),
            ),
        };
        let config_blob = config_blob.map_err(|source| Error::Json {
            what: "config",
            source,
        })?;
        let (config_digest, config_size) = layout.add_bytes(config_blob);
        match artifact.stamp {
            Some(stamp) => {
                layout.add_stamped_file(&artifact.path, artifact.sha256, artifact.size, stamp)
            }
            None => layout.add_file(&artifact.path, artifact.sha256, artifact.size),
        }

        let mut layer_annotations = BTreeMap::new();
        layer_annotations.insert(
            "org.opencontainers.image.title".to_owned(),
            artifact.file_name.clone(),
        );
        let layer = descriptor(
            layer_media_type,
            &artifact.sha256,
            artifact.size,
            &layer_annotations,
        )?;
        let config = descriptor(
            config_media_type,
            &config_digest,
            config_size,
            &BTreeMap::new(),
        )?;

        let mut annotations = manifest_annotations(plugin, options, &created);
        annotations.insert(TARGET_ANNOTATION.to_owned(), artifact.target.clone());
        annotations.insert(KIND_ANNOTATION.to_owned(), artifact.kind.to_string());
        for attachment in attachments.iter().filter(|a| a.target == artifact.target) {
            annotations.extend(attachment.subject_annotations.clone());
        }
        let manifest: ImageManifest = ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageManifest)
            .artifact_type(MediaType::from(config_media_type))
            .config(config)
            .layers(vec![layer])
            .annotations(to_hash_map(&annotations))
            .build()
            .map_err(|source| Error::Spec {
                what: "manifest",
                source,
            })?;
        let (digest, size) = layout.add_json("manifest", &manifest)?;
        let mut descriptor = descriptor(
            "application/vnd.oci.image.manifest.v1+json",
            &digest,
            size,
            &BTreeMap::new(),
        )?;
        let platform = PlatformBuilder::default()
            .architecture(Arch::from(arch.as_str()))
            .os(Os::from(os.as_str()))
            .build()
            .map_err(|source| Error::Spec {
                what: "platform",
                source,
            })?;
        descriptor.set_platform(Some(platform));
        manifests.push((artifact.target.clone(), descriptor));
    }

    // The tagged entry: the manifest itself (one target) or an image index (several).
    let mut tag_annotations = BTreeMap::new();
    tag_annotations.insert(
        "org.opencontainers.image.ref.name".to_owned(),
        plugin.version.clone(),
    );
    let tagged = if let [(_, only)] = manifests.as_slice() {
        let mut d = only.clone();
        d.set_annotations(Some(to_hash_map(&tag_annotations)));
        d
    } else {
        let index: ImageIndex = ImageIndexBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageIndex)
            .manifests(manifests.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>())
            .annotations(to_hash_map(&manifest_annotations(
                plugin, options, &created,
            )))
            .build()
            .map_err(|source| Error::Spec {
                what: "index",
                source,
            })?;
        let (digest, size) = layout.add_json("image index", &index)?;
        descriptor(
            "application/vnd.oci.image.index.v1+json",
            &digest,
            size,
            &tag_annotations,
        )?
    };
    layout.push_index_entry(tagged);

    // Referrers: one artifact manifest per attachment, subject = its plugin manifest.
    let mut referrers = Vec::new();
    for attachment in attachments {
        let Some((_, subject)) = manifests.iter().find(|(t, _)| *t == attachment.target) else {
            continue;
        };
        // The empty config only when a referrer uses it: readers refuse unreferenced blobs.
        let (empty_digest, empty_size) = layout.add_bytes(b"{}".to_vec());
        let referrer = referrer_manifest(
            &mut layout,
            attachment,
            subject,
            &created,
            (empty_digest, empty_size),
        )?;
        referrers.push(referrer);
    }
    referrers.sort_by_key(|d: &Descriptor| d.digest().to_string());
    for r in referrers {
        layout.push_index_entry(r);
    }

    // The returned description is of the file on disk, read back without hashing the large
    // blobs a second time (see `write_checked`).
    layout.write_checked(&options.output, options.epoch)
}

pub(super) fn referrer_manifest(
    layout: &mut LayoutBuilder,
    attachment: &Attachment,
    subject: &Descriptor,
    created: &str,
    empty: (Sha256Digest, u64),
) -> Result<Descriptor, Error> {
    let layer = ReferrerLayer {
        media_type: attachment.media_type.clone(),
        bytes: attachment.bytes.clone(),
        title: attachment.title.clone(),
    };
    referrer_manifest_layers(
        layout,
        &attachment.artifact_type,
        std::slice::from_ref(&layer),
        subject,
        created,
        empty,
    )
}

/// One content layer of a referrer manifest with several layers (a signature referrer
/// carrying the plugin statement's envelope and the SLSA provenance envelope).
#[derive(Debug, Clone)]
pub struct ReferrerLayer {
    /// The layer's media type.
    pub media_type: String,
    /// Its content.
    pub bytes: Vec<u8>,
    /// File name for `org.opencontainers.image.title`.
    pub title: String,
}

/// A referrer manifest of `artifact_type` over `subject` with `layers`, in this order.
pub(super) fn referrer_manifest_layers(
    layout: &mut LayoutBuilder,
    artifact_type: &str,
    content: &[ReferrerLayer],
    subject: &Descriptor,
    created: &str,
    empty: (Sha256Digest, u64),
) -> Result<Descriptor, Error> {
    let mut layers = Vec::new();
    for layer in content {
        let (digest, size) = layout.add_bytes(layer.bytes.clone());
        let mut layer_annotations = BTreeMap::new();
        layer_annotations.insert(
            "org.opencontainers.image.title".to_owned(),
            layer.title.clone(),
        );
        layers.push(descriptor(
            &layer.media_type,
            &digest,
            size,
            &layer_annotations,
        )?);
    }
    let config = descriptor(EMPTY_MEDIA_TYPE, &empty.0, empty.1, &BTreeMap::new())?;
    let mut subject = subject.clone();
    subject.set_platform(None);
    subject.set_annotations(None);
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "org.opencontainers.image.created".to_owned(),
        created.to_owned(),
    );
    let manifest: ImageManifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .artifact_type(MediaType::from(artifact_type))
        .config(config)
        .layers(layers)
        .subject(subject)
        .annotations(to_hash_map(&annotations))
        .build()
        .map_err(|source| Error::Spec {
            what: "referrer manifest",
            source,
        })?;
    let (mdigest, msize) = layout.add_json("referrer manifest", &manifest)?;
    let mut d = descriptor(
        "application/vnd.oci.image.manifest.v1+json",
        &mdigest,
        msize,
        &BTreeMap::new(),
    )?;
    d.set_artifact_type(Some(MediaType::from(artifact_type)));
    Ok(d)
}

fn manifest_annotations(
    plugin: &Plugin,
    options: &PackOptions,
    created: &str,
) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    if let Some(extra) = &plugin.config.annotations {
        a.extend(extra.clone());
    }
    a.insert(
        "org.opencontainers.image.title".to_owned(),
        plugin.name.clone(),
    );
    a.insert(
        "org.opencontainers.image.version".to_owned(),
        plugin.version.clone(),
    );
    a.insert(
        "org.opencontainers.image.created".to_owned(),
        created.to_owned(),
    );
    if let Some(license) = &plugin.license {
        a.insert(
            "org.opencontainers.image.licenses".to_owned(),
            license.clone(),
        );
    }
    if let Some(repo) = &plugin.repository {
        a.insert("org.opencontainers.image.source".to_owned(), repo.clone());
    }
    if let Some(rev) = &options.revision {
        a.insert(super::REVISION_ANNOTATION.to_owned(), rev.clone());
    }
    if let Some(desc) = &plugin.description {
        a.insert(
            "org.opencontainers.image.description".to_owned(),
            desc.clone(),
        );
    }
    a.insert(PLUGIN_ANNOTATION.to_owned(), plugin.name.clone());
    a
}
