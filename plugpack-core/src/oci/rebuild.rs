//! Rebuilding a [`LayoutBuilder`] from an existing bundle, so a later stage can add (or drop)
//! referrers and write the bundle again without touching any existing blob or manifest.
//!
//! Every blob is copied byte for byte (small JSON documents in memory, everything else
//! streamed into a run directory ([`crate::scratch::RunDir`]) beside the bundle and
//! re-hashed on the way), the index entries are kept in their order and the tar mtime of
//! the original is reused, so writing the rebuilt layout unchanged reproduces the original
//! tarball exactly.

use std::fs::File;
use std::io;

use camino::{Utf8Path, Utf8PathBuf};
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};

use super::Error;
use super::pack::{Attachment, BlobSource, LayoutBuilder, referrer_manifest};
use super::read::read_bundle;
use crate::types::Sha256Digest;

/// A layout rebuilt from a bundle; keep it alive until written (it owns the scratch files).
pub struct RebuiltLayout {
    /// The layout, ready to be changed and written.
    pub builder: LayoutBuilder,
    /// The mtime of the original tar entries (reuse it when writing).
    pub epoch: i64,
    _scratch: crate::scratch::RunDir,
}

impl std::fmt::Debug for RebuiltLayout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RebuiltLayout")
            .field("blobs", &self.builder.blobs.len())
            .field("epoch", &self.epoch)
            .finish()
    }
}

/// Validates `bundle` (see [`read_bundle`]) and loads it into a [`LayoutBuilder`].
pub fn rebuild(bundle: &Utf8Path) -> Result<RebuiltLayout, Error> {
    let layout = read_bundle(bundle)?;
    let index: ImageIndex =
        serde_json::from_slice(&layout.index_json).map_err(|e| Error::Invalid {
            path: bundle.to_owned(),
            problem: format!("`index.json` is not an OCI image index ({e})"),
        })?;
    let parent = match bundle.parent() {
        Some(p) if !p.as_str().is_empty() => p.to_owned(),
        _ => Utf8PathBuf::from("."),
    };
    let scratch = crate::scratch::RunDir::create_in(&parent).map_err(|source| Error::Write {
        path: parent.clone(),
        source,
    })?;
    let scratch_dir = scratch.path().to_owned();
    let read_err = |source: io::Error| Error::Read {
        path: bundle.to_owned(),
        source,
    };
    let mut file = File::open(bundle).map_err(read_err)?;
    let mut builder = LayoutBuilder::new();
    let epoch = i64::try_from(layout.index_mtime).unwrap_or(0);
    for digest in layout.blob_digests() {
        if let Some(json) = layout.json_blob(digest) {
            builder.add_bytes(json.to_vec());
            continue;
        }
        let dest = scratch_dir.join(digest.hex());
        let write_err = |source| Error::Write {
            path: dest.clone(),
            source,
        };
        let mut out = File::create(&dest).map_err(write_err)?;
        let size = layout.copy_blob(&mut file, digest, &mut out, &write_err)?;
        // Hashed while it was copied out: the writer may copy it back without hashing again.
        let stamp = crate::types::FileStamp::of(&out).map_err(write_err)?;
        builder.add_stamped_file(&dest, *digest, size, stamp);
    }
    builder.index = index.manifests().clone();
    builder.index_annotations = index
        .annotations()
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    Ok(RebuiltLayout {
        builder,
        epoch,
        _scratch: scratch,
    })
}

impl LayoutBuilder {
    /// The entries of `index.json`, in order.
    pub fn index_entries(&self) -> &[Descriptor] {
        &self.index
    }

    /// Keeps only the `index.json` entries for which `keep` is true; blobs nothing reaches
    /// any more are dropped when written (see [`LayoutBuilder::prune_unreachable`]).
    pub fn retain_index_entries(&mut self, keep: impl FnMut(&Descriptor) -> bool) {
        self.index.retain(keep);
    }

    /// Adds `attachment` as an OCI 1.1 referrer of the manifest `subject` (an entry of this
    /// layout) and lists it in `index.json` (referrers stay sorted by digest, after the
    /// other entries). Adding the same attachment twice changes nothing.
    pub fn add_referrer(
        &mut self,
        subject: &Descriptor,
        attachment: &Attachment,
        created: &str,
    ) -> Result<Descriptor, Error> {
        let (empty_digest, empty_size) = self.add_bytes(b"{}".to_vec());
        let descriptor = referrer_manifest(
            self,
            attachment,
            subject,
            created,
            (empty_digest, empty_size),
        )?;
        if !self.index.iter().any(|d| d.digest() == descriptor.digest()) {
            self.index.push(descriptor.clone());
        }
        self.sort_referrers();
        Ok(descriptor)
    }

    /// Like [`LayoutBuilder::add_referrer`], with several content layers in one referrer
    /// manifest of `artifact_type` (the signature referrer with its provenance envelope).
    pub fn add_referrer_layers(
        &mut self,
        subject: &Descriptor,
        artifact_type: &str,
        layers: &[super::pack::ReferrerLayer],
        created: &str,
    ) -> Result<Descriptor, Error> {
        let empty = self.add_bytes(b"{}".to_vec());
        let descriptor = super::pack::referrer_manifest_layers(
            self,
            artifact_type,
            layers,
            subject,
            created,
            empty,
        )?;
        if !self.index.iter().any(|d| d.digest() == descriptor.digest()) {
            self.index.push(descriptor.clone());
        }
        self.sort_referrers();
        Ok(descriptor)
    }

    /// The parsed manifest behind an in-memory blob, if it is one.
    pub fn manifest(&self, digest: &Sha256Digest) -> Option<ImageManifest> {
        match &self.blobs.get(digest)?.source {
            BlobSource::Bytes(bytes) => serde_json::from_slice(bytes).ok(),
            BlobSource::File(..) => None,
        }
    }

    /// The bytes of an in-memory blob.
    pub fn blob_bytes(&self, digest: &Sha256Digest) -> Option<&[u8]> {
        match &self.blobs.get(digest)?.source {
            BlobSource::Bytes(bytes) => Some(bytes),
            BlobSource::File(..) => None,
        }
    }

    fn is_referrer(&self, d: &Descriptor) -> bool {
        d.digest()
            .to_string()
            .parse::<Sha256Digest>()
            .ok()
            .and_then(|digest| self.manifest(&digest))
            .is_some_and(|m| m.subject().is_some())
    }

    fn sort_referrers(&mut self) {
        let entries = std::mem::take(&mut self.index);
        let (mut referrers, others): (Vec<Descriptor>, Vec<Descriptor>) =
            entries.into_iter().partition(|d| self.is_referrer(d));
        referrers.sort_by_key(|d| d.digest().to_string());
        self.index = others;
        self.index.extend(referrers);
    }

    /// Drops every blob that no `index.json` entry reaches (through indexes, manifests,
    /// configs, layers and subjects).
    pub fn prune_unreachable(&mut self) {
        let mut reachable = std::collections::BTreeSet::new();
        let mut queue: Vec<Sha256Digest> = self
            .index
            .iter()
            .filter_map(|d| d.digest().to_string().parse().ok())
            .collect();
        while let Some(digest) = queue.pop() {
            if !reachable.insert(digest) {
                continue;
            }
            let Some(bytes) = self.blob_bytes(&digest) else {
                continue;
            };
            let mut children = Vec::new();
            if let Ok(m) = serde_json::from_slice::<ImageManifest>(bytes) {
                children.push(m.config().digest().to_string());
                children.extend(m.layers().iter().map(|l| l.digest().to_string()));
            } else if let Ok(i) = serde_json::from_slice::<ImageIndex>(bytes) {
                children.extend(i.manifests().iter().map(|l| l.digest().to_string()));
            }
            queue.extend(
                children
                    .iter()
                    .filter_map(|c| c.parse::<Sha256Digest>().ok()),
            );
        }
        self.blobs.retain(|d, _| reachable.contains(d));
    }
}
