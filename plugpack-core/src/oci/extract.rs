//! Extracting plugin files from a validated bundle into a directory, as
//! `DIR/<target>/<layer title>`.
//!
//! Bounded and exact: every output name is planned first; two different blobs for one
//! output path are refused, each distinct blob is written once (a blob listed under several
//! names is hard-linked), so the bytes written never exceed the sum of the distinct
//! referenced plugin blobs, whatever the bundle repeats. A bundle with nothing to extract is
//! an error.
//!
//! Safe inside `DIR`: `DIR` itself is the caller's choice (created if missing, followed if
//! it is a link), but no link inside it is ever followed: on unix every component is opened
//! relative to its parent's file descriptor with `O_NOFOLLOW` (rustix, no `unsafe`), and a
//! `<target>` directory or output file that is a symbolic link is refused. Each file is
//! written to a temporary name beside it, re-hashed against its digest, synced and renamed
//! into place.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fs::File;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use super::read::{Layout, inspect, read_bundle};
use super::{CDYLIB_LAYER_MEDIA_TYPE, Error, TARGET_ANNOTATION, WASM_LAYER_MEDIA_TYPE};
use crate::types::Sha256Digest;

/// A plugin file written by [`extract`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtractedFile {
    /// Target triple (empty for an attachment of the whole bundle, e.g. a signature over a
    /// multi-target index).
    pub target: String,
    /// Where it was written.
    pub path: Utf8PathBuf,
    /// Its digest (checked while writing).
    pub digest: Sha256Digest,
    /// Its size.
    pub size: u64,
    /// For a referrer written by [`extract_with_attachments`]: its `artifactType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<String>,
}

/// The sub-directory of the output directory that receives the referrers.
pub const ATTACHMENTS_DIR: &str = "attachments";

/// A name (target triple or layer title) that is safe as one path component inside the
/// output directory: not empty, not hidden, no path separator, no control character.
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 255
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control)
}

/// Validates `bundle` and writes each plugin artifact to `dir/<target>/<file name>`,
/// re-checking its digest while writing (see the module docs for the guarantees). Nothing
/// is written outside `dir`; a file whose digest does not match is never left behind.
pub fn extract(bundle: &Utf8Path, dir: &Utf8Path) -> Result<Vec<ExtractedFile>, Error> {
    extract_inner(bundle, dir, false)
}

/// [`extract`], and also every referrer layer (SBOMs, ABI fingerprints, audit reports,
/// notices, signatures) as `dir/attachments/<name>`, named by [`super::attachment_files`]
/// (the names `inspect` shows), with the same checks.
pub fn extract_with_attachments(
    bundle: &Utf8Path,
    dir: &Utf8Path,
) -> Result<Vec<ExtractedFile>, Error> {
    extract_inner(bundle, dir, true)
}

fn extract_inner(
    bundle: &Utf8Path,
    dir: &Utf8Path,
    attachments: bool,
) -> Result<Vec<ExtractedFile>, Error> {
    let layout = read_bundle(bundle)?;
    let info = inspect(&layout)?;
    let invalid = |problem: String| Error::Invalid {
        path: bundle.to_owned(),
        problem,
    };
    let mut plan: BTreeMap<(String, String), Sha256Digest> = BTreeMap::new();
    for m in &info.manifests {
        let target = m.target.clone().ok_or_else(|| {
            invalid(format!(
                "manifest {} has no {TARGET_ANNOTATION} annotation",
                m.digest
            ))
        })?;
        if !safe_name(&target) {
            return Err(invalid(format!(
                "manifest {} has an unsafe target `{}`",
                m.digest,
                target.escape_debug()
            )));
        }
        for layer in &m.layers {
            if layer.media_type != WASM_LAYER_MEDIA_TYPE
                && layer.media_type != CDYLIB_LAYER_MEDIA_TYPE
            {
                continue;
            }
            let title = layer.title.clone().unwrap_or_default();
            if !safe_name(&title) {
                return Err(invalid(format!(
                    "layer {} has an unsafe file name `{}`",
                    layer.digest,
                    title.escape_debug()
                )));
            }
            match plan.entry((target.clone(), title)) {
                Entry::Vacant(slot) => {
                    slot.insert(layer.digest);
                }
                Entry::Occupied(slot) if *slot.get() == layer.digest => {}
                Entry::Occupied(slot) => {
                    let (target, title) = slot.key();
                    return Err(invalid(format!(
                        "two different blobs ({} and {}) would both be written to \
                         `{target}/{title}`",
                        slot.get(),
                        layer.digest
                    )));
                }
            }
        }
    }
    if plan.is_empty() {
        return Err(invalid(format!(
            "nothing to extract: no manifest has a `{WASM_LAYER_MEDIA_TYPE}` or \
             `{CDYLIB_LAYER_MEDIA_TYPE}` layer"
        )));
    }
    let mut kinds = BTreeMap::new();
    if attachments {
        for file in super::attachment_files(&info) {
            if !safe_name(&file.name) {
                return Err(invalid(format!(
                    "attachment {} has an unsafe file name `{}`",
                    file.digest,
                    file.name.escape_debug()
                )));
            }
            let key = (ATTACHMENTS_DIR.to_owned(), file.name);
            kinds.insert(
                key.clone(),
                (
                    file.artifact_type.unwrap_or_default(),
                    file.target.unwrap_or_default(),
                ),
            );
            plan.insert(key, file.digest);
        }
    }
    let mut written = write_plan(&layout, bundle, dir, &plan)?;
    for f in &mut written {
        if f.target == ATTACHMENTS_DIR
            && let Some(name) = f.path.file_name()
            && let Some((kind, target)) = kinds.get(&(ATTACHMENTS_DIR.to_owned(), name.to_owned()))
        {
            f.attachment = Some(kind.clone());
            f.target = target.clone();
        }
    }
    Ok(written)
}

fn write_plan(
    layout: &Layout,
    bundle: &Utf8Path,
    dir: &Utf8Path,
    plan: &BTreeMap<(String, String), Sha256Digest>,
) -> Result<Vec<ExtractedFile>, Error> {
    let mut source = File::open(bundle).map_err(|source| Error::Read {
        path: bundle.to_owned(),
        source,
    })?;
    let out = safe_dir::OutputDir::open(dir).map_err(|source| Error::Extract {
        path: dir.to_owned(),
        source,
    })?;
    let mut first_copy: BTreeMap<Sha256Digest, (&str, &str, u64)> = BTreeMap::new();
    let mut written = Vec::new();
    for ((target, name), digest) in plan {
        let path = dir.join(target).join(name);
        let write_err = |source| Error::Extract {
            path: path.clone(),
            source,
        };
        let size = match first_copy.get(digest) {
            Some((from_target, from_name, size)) => {
                out.link(from_target, from_name, target, name)
                    .map_err(write_err)?;
                *size
            }
            None => {
                let size = out.write(target, name, &path, &mut |file| {
                    layout.copy_blob(&mut source, digest, file, &write_err)
                })?;
                first_copy.insert(*digest, (target, name, size));
                size
            }
        };
        written.push(ExtractedFile {
            target: target.clone(),
            path,
            digest: *digest,
            size,
            attachment: None,
        });
    }
    Ok(written)
}

#[cfg(unix)]
mod safe_dir {
    //! The output directory, opened once; every component beneath it is opened relative
    //! to its parent without following links.

    use std::fs::File;
    use std::io::{self, Write};
    use std::os::fd::OwnedFd;
    use std::sync::atomic::{AtomicU64, Ordering};

    use camino::Utf8Path;
    use rustix::fs::{AtFlags, FileType, Mode, OFlags};

    use super::Error;

    static COUNTER: AtomicU64 = AtomicU64::new(0);

    pub(super) struct OutputDir {
        fd: OwnedFd,
    }

    fn link_refused(name: &str) -> io::Error {
        io::Error::other(format!(
            "`{name}` is a symbolic link inside the output directory; extract never follows \
             links there (remove it first)"
        ))
    }

    /// Refuses `name` in `dir` when it is a symbolic link; true when it exists.
    fn check_not_link(dir: &OwnedFd, name: &str) -> io::Result<bool> {
        match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::Symlink => {
                Err(link_refused(name))
            }
            Ok(_) => Ok(true),
            Err(rustix::io::Errno::NOENT) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn temp_name() -> String {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        format!(".plugpack-tmp-{}-{n}-{nanos}", std::process::id())
    }

    impl OutputDir {
        /// Creates `dir` if needed and opens it (following it if it is a link: it is the
        /// caller's own path).
        pub(super) fn open(dir: &Utf8Path) -> io::Result<Self> {
            std::fs::create_dir_all(dir)?;
            let fd = rustix::fs::open(
                dir.as_std_path(),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            Ok(Self { fd })
        }

        /// Opens (creating it if needed) the `<target>` directory, refusing a link.
        fn subdir(&self, name: &str) -> io::Result<OwnedFd> {
            if !check_not_link(&self.fd, name)? {
                match rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            rustix::fs::openat(
                &self.fd,
                name,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| match e {
                rustix::io::Errno::LOOP => link_refused(name),
                // Linux reports a link swapped in meanwhile as "not a directory".
                rustix::io::Errno::NOTDIR => check_not_link(&self.fd, name)
                    .err()
                    .unwrap_or_else(|| e.into()),
                e => e.into(),
            })
        }

        /// Writes `target/name` through `fill` into a temporary file beside it, then syncs
        /// it and renames it into place (0644). The temporary file is removed on error.
        pub(super) fn write(
            &self,
            target: &str,
            name: &str,
            shown: &Utf8Path,
            fill: &mut dyn FnMut(&mut dyn Write) -> Result<u64, Error>,
        ) -> Result<u64, Error> {
            let io_err = |source| Error::Extract {
                path: shown.to_owned(),
                source,
            };
            let sub = self.subdir(target).map_err(io_err)?;
            check_not_link(&sub, name).map_err(io_err)?;
            let temp = temp_name();
            let fd = rustix::fs::openat(
                &sub,
                temp.as_str(),
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )
            .map_err(|e| io_err(e.into()))?;
            let mut file = File::from(fd);
            let done = fill(&mut file).and_then(|size| {
                file.flush()
                    .and_then(|()| file.sync_all())
                    .and_then(|()| Ok(rustix::fs::fchmod(&file, Mode::from_raw_mode(0o644))?))
                    .and_then(|()| Ok(rustix::fs::renameat(&sub, temp.as_str(), &sub, name)?))
                    .map_err(io_err)?;
                Ok(size)
            });
            if done.is_err() {
                let _ = rustix::fs::unlinkat(&sub, temp.as_str(), AtFlags::empty());
            }
            done
        }

        /// Makes `to_target/to_name` a hard link to the already written
        /// `from_target/from_name` (no bytes copied), replacing what was there atomically.
        pub(super) fn link(
            &self,
            from_target: &str,
            from_name: &str,
            to_target: &str,
            to_name: &str,
        ) -> io::Result<()> {
            let from = self.subdir(from_target)?;
            let to = self.subdir(to_target)?;
            check_not_link(&to, to_name)?;
            let temp = temp_name();
            rustix::fs::linkat(&from, from_name, &to, temp.as_str(), AtFlags::empty())?;
            let renamed = rustix::fs::renameat(&to, temp.as_str(), &to, to_name);
            if renamed.is_err() {
                let _ = rustix::fs::unlinkat(&to, temp.as_str(), AtFlags::empty());
            }
            Ok(renamed?)
        }
    }
}

#[cfg(not(unix))]
mod safe_dir {
    //! Without `openat`: every component is checked with `symlink_metadata` just before it
    //! is used (best effort: a link swapped in between is not detected).

    use std::io::{self, Write};

    use camino::{Utf8Path, Utf8PathBuf};

    use super::Error;
    use crate::types::AtomicFile;

    pub(super) struct OutputDir {
        dir: Utf8PathBuf,
    }

    fn check_not_link(path: &Utf8Path) -> io::Result<()> {
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_symlink() => Err(io::Error::other(format!(
                "`{path}` is a symbolic link inside the output directory; extract never \
                 follows links there (remove it first)"
            ))),
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    impl OutputDir {
        pub(super) fn open(dir: &Utf8Path) -> io::Result<Self> {
            std::fs::create_dir_all(dir)?;
            Ok(Self {
                dir: dir.to_owned(),
            })
        }

        fn file(&self, target: &str, name: &str) -> io::Result<Utf8PathBuf> {
            let sub = self.dir.join(target);
            check_not_link(&sub)?;
            std::fs::create_dir_all(&sub)?;
            let path = sub.join(name);
            check_not_link(&path)?;
            Ok(path)
        }

        pub(super) fn write(
            &self,
            target: &str,
            name: &str,
            shown: &Utf8Path,
            fill: &mut dyn FnMut(&mut dyn Write) -> Result<u64, Error>,
        ) -> Result<u64, Error> {
            let io_err = |source| Error::Extract {
                path: shown.to_owned(),
                source,
            };
            let path = self.file(target, name).map_err(io_err)?;
            let mut out = AtomicFile::create(&path).map_err(io_err)?;
            let size = fill(&mut out)?;
            out.commit().map_err(io_err)?;
            Ok(size)
        }

        pub(super) fn link(
            &self,
            from_target: &str,
            from_name: &str,
            to_target: &str,
            to_name: &str,
        ) -> io::Result<()> {
            let from = self.file(from_target, from_name)?;
            let to = self.file(to_target, to_name)?;
            let _ = std::fs::remove_file(&to);
            std::fs::hard_link(from, to)
        }
    }
}
