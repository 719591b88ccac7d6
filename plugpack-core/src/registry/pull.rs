//! `pull`: a tagged manifest or index, its blobs and every referrer, written as a bundle.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{self, BufWriter, Read, Write};
use std::str::FromStr;

use camino::{Utf8Path, Utf8PathBuf};
use oci_spec::image::{
    Arch, Descriptor, DescriptorBuilder, Digest, ImageIndex, ImageIndexBuilder, ImageManifest,
    MediaType, Os, PlatformBuilder,
};
use serde::Serialize;

use super::client::{Client, ClientOptions};
use super::{Error, INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, Reference};
use crate::Reporter;
use crate::oci::{OCI_LAYOUT, TARGET_ANNOTATION, inspect, platform_of, read_bundle};
use crate::types::{Sha256Digest, canonical_json};

const REF_NAME: &str = "org.opencontainers.image.ref.name";
const VERSION: &str = "org.opencontainers.image.version";
const CREATED: &str = "org.opencontainers.image.created";

/// Options of [`pull`].
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// Transport and credentials.
    pub client: ClientOptions,
    /// Pull only the manifest for this `os/architecture` (e.g. `linux/amd64`,
    /// `wasip1/wasm`) out of an image index; it becomes the bundle's tagged entry.
    pub platform: Option<String>,
}

/// What [`pull`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullReport {
    /// `REGISTRY/REPO@sha256:…` of what was pulled.
    pub reference: String,
    /// Its digest.
    pub digest: Sha256Digest,
    /// Its media type.
    pub media_type: String,
    /// The bundle written.
    pub output: Utf8PathBuf,
    /// Plugin manifests.
    pub manifests: usize,
    /// Referrer manifests.
    pub referrers: usize,
    /// Blobs (configs and layers) downloaded.
    pub blobs: usize,
    /// Bytes of those blobs.
    pub bytes: u64,
}

/// Manifests (in memory: they are small) and the blobs still to download (digest → size).
struct Staging {
    manifests: BTreeMap<Sha256Digest, Vec<u8>>,
    blobs: BTreeMap<Sha256Digest, u64>,
}

impl Staging {
    /// Notes the config and layers of `manifest`; they are downloaded straight into the
    /// bundle when it is written.
    fn note_blobs(&mut self, client: &Client, manifest: &ImageManifest) -> Result<(), Error> {
        for d in std::iter::once(manifest.config()).chain(manifest.layers().iter()) {
            let digest = sha256(client, d)?;
            if !self.manifests.contains_key(&digest) {
                self.blobs.insert(digest, d.size());
            }
        }
        Ok(())
    }
}

fn sha256(client: &Client, d: &Descriptor) -> Result<Sha256Digest, Error> {
    d.digest()
        .to_string()
        .parse()
        .map_err(|_| Error::Unsupported {
            registry: client.registry().to_owned(),
            what: format!("descriptor {}", d.digest()),
            problem: "only sha256 digests are supported".to_owned(),
        })
}

fn not_found(client: &Client, what: &str) -> Error {
    Error::Status {
        registry: client.registry().to_owned(),
        operation: format!("fetch manifest {what}"),
        status: 404,
        detail: format!(
            "{}/{} has no {what}",
            client.registry(),
            client.repository()
        ),
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(
    client: &Client,
    what: &str,
    bytes: &[u8],
) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::Unsupported {
        registry: client.registry().to_owned(),
        what: what.to_owned(),
        problem: format!("does not parse ({e})"),
    })
}

/// Fetches a manifest by digest and checks its size against the descriptor.
fn fetch_manifest(client: &mut Client, d: &Descriptor) -> Result<Vec<u8>, Error> {
    let digest = sha256(client, d)?;
    let (_, bytes, _) = client
        .get_manifest(&digest.to_string())?
        .ok_or_else(|| not_found(client, &digest.to_string()))?;
    if bytes.len() as u64 != d.size() {
        return Err(Error::Corrupt {
            registry: client.registry().to_owned(),
            what: "manifest".to_owned(),
            digest: digest.to_string(),
            problem: format!("{} bytes, descriptor says {}", bytes.len(), d.size()),
        });
    }
    Ok(bytes)
}

/// The referrers of `subject`: the referrers API, else the `sha256-<hex>` fallback tag.
fn referrers_of(client: &mut Client, subject: &Sha256Digest) -> Result<Vec<Descriptor>, Error> {
    let bytes = match client.referrers_api(subject)? {
        Some(bytes) => bytes,
        None => match client.get_manifest(&format!("sha256-{}", subject.hex()))? {
            Some((_, bytes, _)) => bytes,
            None => return Ok(Vec::new()),
        },
    };
    let index: ImageIndex = parse_json(client, &format!("referrers of {subject}"), &bytes)?;
    Ok(index.manifests().clone())
}

/// Pulls `reference` (`REGISTRY/REPO:TAG` or `@sha256:…`) with every referrer into the bundle
/// `output`. Every manifest and blob is checked against its digest while it streams; the
/// bundle is assembled beside `output`, validated, and only then renamed into place, so
/// nothing is left at `output` on any failure. For a bundle plugpack wrote, the result is
/// byte-identical to the one pushed.
pub fn pull(
    reference: &Reference,
    output: &Utf8Path,
    options: &PullOptions,
    reporter: &dyn Reporter,
) -> Result<PullReport, Error> {
    let wanted = match (&reference.digest, reference.tags.as_slice()) {
        (Some(d), _) => d.to_string(),
        (None, [tag]) => tag.clone(),
        _ => {
            return Err(Error::Reference {
                reference: reference.to_string(),
                problem: "pull takes one tag (REGISTRY/REPO:TAG) or a digest (@sha256:…)"
                    .to_owned(),
            });
        }
    };
    let mut client = Client::connect(reference, options.client.clone())?;
    let (_, mut top_bytes, mut top_digest) = client
        .get_manifest(&wanted)?
        .ok_or_else(|| not_found(&client, &wanted))?;
    let mut top: serde_json::Value = parse_json(&client, &wanted, &top_bytes)?;
    let media_type_of = |v: &serde_json::Value| {
        v.get("mediaType")
            .and_then(|m| m.as_str())
            .unwrap_or(MANIFEST_MEDIA_TYPE)
            .to_owned()
    };
    let mut top_media_type = media_type_of(&top);
    if let Some(platform) = &options.platform {
        if top_media_type == INDEX_MEDIA_TYPE {
            let index: ImageIndex = parse_json(&client, &wanted, &top_bytes)?;
            let chosen = index
                .manifests()
                .iter()
                .find(|d| {
                    d.platform()
                        .as_ref()
                        .is_some_and(|p| format!("{}/{}", p.os(), p.architecture()) == *platform)
                })
                .cloned()
                .ok_or_else(|| Error::Unsupported {
                    registry: client.registry().to_owned(),
                    what: wanted.clone(),
                    problem: format!("the index has no manifest for platform {platform}"),
                })?;
            top_bytes = fetch_manifest(&mut client, &chosen)?;
            top_digest = sha256(&client, &chosen)?;
            top = parse_json(&client, &top_digest.to_string(), &top_bytes)?;
            top_media_type = media_type_of(&top);
        }
    }
    let parent = match output.parent() {
        Some(p) if !p.as_str().is_empty() => p.to_owned(),
        _ => Utf8PathBuf::from("."),
    };
    let mut staging = Staging {
        manifests: BTreeMap::new(),
        blobs: BTreeMap::new(),
    };
    staging.manifests.insert(top_digest, top_bytes.clone());

    let mut plugin_manifests: Vec<(Sha256Digest, ImageManifest)> = Vec::new();
    if top_media_type == INDEX_MEDIA_TYPE {
        let index: ImageIndex = parse_json(&client, &wanted, &top_bytes)?;
        for d in index.manifests() {
            let bytes = fetch_manifest(&mut client, d)?;
            let digest = sha256(&client, d)?;
            let manifest: ImageManifest = parse_json(&client, &digest.to_string(), &bytes)?;
            staging.manifests.insert(digest, bytes);
            plugin_manifests.push((digest, manifest));
        }
    } else if top_media_type == MANIFEST_MEDIA_TYPE {
        let manifest: ImageManifest = parse_json(&client, &wanted, &top_bytes)?;
        plugin_manifests.push((top_digest, manifest));
    } else {
        return Err(Error::Unsupported {
            registry: client.registry().to_owned(),
            what: wanted,
            problem: format!("media type `{top_media_type}` is neither an OCI manifest nor index"),
        });
    }
    for (_, manifest) in &plugin_manifests {
        staging.note_blobs(&client, manifest)?;
    }

    // Every referrer, recursively (signatures over attachments are referrers of referrers).
    let mut referrers: BTreeMap<Sha256Digest, Descriptor> = BTreeMap::new();
    let mut queue: VecDeque<Sha256Digest> = plugin_manifests.iter().map(|(d, _)| *d).collect();
    if top_media_type == INDEX_MEDIA_TYPE {
        queue.push_back(top_digest);
    }
    let mut asked = BTreeSet::new();
    while let Some(subject) = queue.pop_front() {
        if !asked.insert(subject) {
            continue;
        }
        for d in referrers_of(&mut client, &subject)? {
            let digest = sha256(&client, &d)?;
            if staging.manifests.contains_key(&digest) {
                continue;
            }
            let bytes = fetch_manifest(&mut client, &d)?;
            let manifest: ImageManifest = parse_json(&client, &digest.to_string(), &bytes)?;
            let points_here = manifest
                .subject()
                .as_ref()
                .is_some_and(|s| s.digest().to_string() == subject.to_string());
            if !points_here {
                continue;
            }
            staging.note_blobs(&client, &manifest)?;
            let mut entry = descriptor(MANIFEST_MEDIA_TYPE, &digest, bytes.len() as u64)?;
            entry.set_artifact_type(manifest.artifact_type().clone());
            staging.manifests.insert(digest, bytes);
            referrers.insert(digest, entry);
            queue.push_back(digest);
        }
    }

    // index.json as plugpack writes it: the tagged entry, then referrers sorted by digest.
    let annotations: BTreeMap<String, String> = top
        .get("annotations")
        .and_then(|a| serde_json::from_value(a.clone()).ok())
        .unwrap_or_default();
    let tag = annotations
        .get(VERSION)
        .cloned()
        .or_else(|| reference.tags.first().cloned())
        .unwrap_or_else(|| top_digest.hex());
    let mut tagged = descriptor(&top_media_type, &top_digest, top_bytes.len() as u64)?;
    if top_media_type == MANIFEST_MEDIA_TYPE {
        if let Some(target) = annotations.get(TARGET_ANNOTATION) {
            let (arch, os) = platform_of(target);
            let platform = PlatformBuilder::default()
                .architecture(Arch::from(arch.as_str()))
                .os(Os::from(os.as_str()))
                .build()
                .map_err(|e| spec_error(&client, e))?;
            tagged.set_platform(Some(platform));
        }
    }
    tagged.set_annotations(Some([(REF_NAME.to_owned(), tag)].into_iter().collect()));
    let mut entries = vec![tagged];
    entries.extend(referrers.values().cloned());
    let index: ImageIndex = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(entries)
        .build()
        .map_err(|e| spec_error(&client, e))?;
    let index_json = canonical_json(&index).map_err(|e| Error::Unsupported {
        registry: client.registry().to_owned(),
        what: "index.json".to_owned(),
        problem: e.to_string(),
    })?;
    let epoch = annotations
        .get(CREATED)
        .and_then(|c| {
            time::OffsetDateTime::parse(c, &time::format_description::well_known::Rfc3339).ok()
        })
        .map_or(0, |t| t.unix_timestamp());

    let bytes = staging.blobs.values().sum();
    let blobs = staging.blobs.len();
    write_bundle(
        &mut client,
        &staging,
        &index_json,
        epoch,
        output,
        &parent,
        reporter,
    )?;
    Ok(PullReport {
        reference: reference.with_digest(&top_digest),
        digest: top_digest,
        media_type: top_media_type,
        output: output.to_owned(),
        manifests: plugin_manifests.len(),
        referrers: referrers.len(),
        blobs,
        bytes,
    })
}

fn spec_error(client: &Client, e: oci_spec::OciSpecError) -> Error {
    Error::Unsupported {
        registry: client.registry().to_owned(),
        what: "descriptor".to_owned(),
        problem: e.to_string(),
    }
}

fn descriptor(media_type: &str, digest: &Sha256Digest, size: u64) -> Result<Descriptor, Error> {
    let bad = |problem: String| Error::Unsupported {
        registry: String::new(),
        what: format!("descriptor {digest}"),
        problem,
    };
    DescriptorBuilder::default()
        .media_type(MediaType::from(media_type))
        .digest(Digest::from_str(&digest.to_string()).map_err(|e| bad(e.to_string()))?)
        .size(size)
        .build()
        .map_err(|e| bad(e.to_string()))
}

/// Writes the tarball the way `oci::pack` does (sorted entries, ustar, uid/gid 0, one
/// mtime) to a temporary file beside `output`, downloading each blob straight into its tar
/// entry in digest order (verified while it streams); validates the result with our own
/// reader; then renames it into place.
fn write_bundle(
    client: &mut Client,
    staging: &Staging,
    index_json: &[u8],
    epoch: i64,
    output: &Utf8Path,
    parent: &Utf8Path,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    let write_err = |source: io::Error| Error::Write {
        path: output.to_owned(),
        source,
    };
    let tmp = tempfile::Builder::new()
        .prefix(".plugpack-pull-")
        .suffix(".oci.tar")
        .tempfile_in(parent)
        .map_err(write_err)?;
    let mtime = u64::try_from(epoch).unwrap_or(0);
    {
        let mut tar = tar::Builder::new(BufWriter::new(tmp.as_file()));
        append(&mut tar, "blobs/", 0, mtime, io::empty()).map_err(write_err)?;
        append(&mut tar, "blobs/sha256/", 0, mtime, io::empty()).map_err(write_err)?;
        let all: BTreeSet<&Sha256Digest> = staging
            .manifests
            .keys()
            .chain(staging.blobs.keys())
            .collect();
        for digest in all {
            let path = format!("blobs/sha256/{}", digest.hex());
            if let Some(bytes) = staging.manifests.get(digest) {
                append(&mut tar, &path, bytes.len() as u64, mtime, bytes.as_slice())
                    .map_err(write_err)?;
            } else {
                let size = staging.blobs.get(digest).copied().unwrap_or_default();
                let out = tar.get_mut();
                out.write_all(header(&path, size, mtime).map_err(write_err)?.as_bytes())
                    .map_err(write_err)?;
                reporter.begin(&format!("Downloading {digest} ({size} bytes)"));
                let got = client.get_blob(
                    digest,
                    size,
                    &mut super::progress::Progress::new(&mut *out, size, reporter),
                );
                reporter.end();
                got?;
                let padding = (512 - size % 512) % 512;
                out.write_all(&[0u8; 512][..padding as usize])
                    .map_err(write_err)?;
            }
        }
        append(
            &mut tar,
            "index.json",
            index_json.len() as u64,
            mtime,
            index_json,
        )
        .map_err(write_err)?;
        append(
            &mut tar,
            "oci-layout",
            OCI_LAYOUT.len() as u64,
            mtime,
            OCI_LAYOUT.as_bytes(),
        )
        .map_err(write_err)?;
        let mut out = tar.into_inner().map_err(write_err)?;
        out.flush().map_err(write_err)?;
    }
    tmp.as_file().sync_all().map_err(write_err)?;
    let tmp_path = Utf8PathBuf::from_path_buf(tmp.path().to_path_buf())
        .map_err(|_| write_err(io::Error::other("temporary path is not UTF-8")))?;
    // The bundle must pass our own reader before it appears at `output`.
    inspect(&read_bundle(&tmp_path)?)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))
            .map_err(write_err)?;
    }
    tmp.persist(output).map_err(|e| write_err(e.error))?;
    Ok(())
}

fn header(path: &str, size: u64, mtime: u64) -> io::Result<tar::Header> {
    let dir = path.ends_with('/');
    let mut header = tar::Header::new_ustar();
    header.set_path(path)?;
    header.set_size(size);
    header.set_mtime(mtime);
    header.set_mode(if dir { 0o755 } else { 0o644 });
    header.set_uid(0);
    header.set_gid(0);
    header.set_username("")?;
    header.set_groupname("")?;
    header.set_entry_type(if dir {
        tar::EntryType::Directory
    } else {
        tar::EntryType::Regular
    });
    header.set_cksum();
    Ok(header)
}

fn append<W: Write, R: Read>(
    tar: &mut tar::Builder<W>,
    path: &str,
    size: u64,
    mtime: u64,
    data: R,
) -> io::Result<()> {
    tar.append(&header(path, size, mtime)?, data)
}

/// A bundle pulled into a temporary directory, removed when this is dropped (for commands
/// that take a bundle and were given a registry reference: `verify`, `inspect`, `extract`).
#[derive(Debug)]
pub struct TemporaryBundle {
    _dir: tempfile::TempDir,
    path: Utf8PathBuf,
    /// What was pulled.
    pub report: PullReport,
}

impl TemporaryBundle {
    /// The bundle file.
    pub fn path(&self) -> &Utf8Path {
        &self.path
    }
}

/// [`pull`] into a fresh temporary directory.
pub fn pull_temporary(
    reference: &Reference,
    options: &PullOptions,
    reporter: &dyn Reporter,
) -> Result<TemporaryBundle, Error> {
    let dir = tempfile::Builder::new()
        .prefix("plugpack-pulled-")
        .tempdir()
        .map_err(|source| Error::Write {
            path: Utf8PathBuf::from("<temporary directory>"),
            source,
        })?;
    let path = Utf8PathBuf::from_path_buf(dir.path().join("pulled.oci.tar")).map_err(|p| {
        Error::Write {
            path: Utf8PathBuf::from(p.display().to_string()),
            source: io::Error::other("temporary path is not UTF-8"),
        }
    })?;
    let report = pull(reference, &path, options, reporter)?;
    Ok(TemporaryBundle {
        _dir: dir,
        path,
        report,
    })
}
