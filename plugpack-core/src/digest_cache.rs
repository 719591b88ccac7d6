//! Digests of files under a target directory remembered across runs by their [`FileStamp`],
//! as git's index remembers which files are unchanged: `package` of an up-to-date plugin
//! need not hash cargo's artifact and its embedded copy again (two full reads of a file that
//! is often tens of MiB with DWARF) when neither changed since the last run.
//!
//! An entry is trusted only when the file's stamp (length, modification and status-change
//! times, device and inode) is exactly the recorded one **and** the file had last changed
//! at least [`SETTLED`] before the digest was taken. The second rule is git's answer to
//! "racy" entries: a write in the same clock tick as the hashing could leave the times
//! unchanged, but a write made after the hashing started cannot carry a status-change time
//! earlier than that. A file that is too fresh is hashed (and recorded) again, and trusted
//! from the next run on. No unprivileged process can set a status-change time back.
//!
//! Entries are small JSON files, one per path, written with a rename: concurrent runs and
//! a killed run leave either an old valid entry or a new one, and any entry that does not
//! parse is ignored. Nothing depends on the cache but speed; deleting it is always safe.

use std::fs::File;
use std::io;
use std::time::{Duration, SystemTime};

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::types::{FileStamp, Sha256Digest};

/// How long before the hashing a file must have last changed for its entry to be trusted.
pub const SETTLED: Duration = Duration::from_secs(2);

/// The digest cache in one directory (`<target-dir>/plugpack/digests`).
#[derive(Debug, Clone)]
pub struct DigestCache {
    dir: Utf8PathBuf,
}

/// One remembered digest.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    /// The file it is for (entries are named by a hash of it; this guards collisions).
    path: Utf8PathBuf,
    stamp: FileStamp,
    sha256: Sha256Digest,
    size: u64,
    /// When the read that produced `sha256` started.
    hashed_at: SystemTime,
}

impl DigestCache {
    /// The cache kept under `target_dir`.
    pub fn in_target_dir(target_dir: &Utf8Path) -> Self {
        Self {
            dir: target_dir.join("plugpack").join("digests"),
        }
    }

    /// A cache kept in `dir`.
    pub fn at(dir: Utf8PathBuf) -> Self {
        Self { dir }
    }

    /// Digest, size and stamp of the file at `path`, like
    /// [`Sha256Digest::of_file_stamped`], from the cache when a trusted entry matches the
    /// file's current stamp, else computed (and recorded).
    pub fn digest(&self, path: &Utf8Path) -> io::Result<(Sha256Digest, u64, FileStamp)> {
        let entry_path = self.entry_path(path);
        let current = FileStamp::of(&File::open(path)?)?;
        if let Some(entry) = std::fs::read(&entry_path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Entry>(&bytes).ok())
        {
            if entry.path == path
                && entry.stamp == current
                && entry.size == current.len()
                && current.changed_before(entry.hashed_at - SETTLED)
            {
                return Ok((entry.sha256, entry.size, entry.stamp));
            }
        }
        let hashed_at = SystemTime::now();
        let (sha256, size, stamp) = Sha256Digest::of_file_stamped(path)?;
        self.record(&entry_path, path, stamp, sha256, size, hashed_at);
        Ok((sha256, size, stamp))
    }

    /// Records a digest this run computed (or, for a file it wrote, knows) for `path`, whose
    /// content was fixed no later than `hashed_at`. Failures are ignored: the cache only
    /// saves work.
    pub fn remember(
        &self,
        path: &Utf8Path,
        stamp: FileStamp,
        sha256: Sha256Digest,
        size: u64,
        hashed_at: SystemTime,
    ) {
        let entry_path = self.entry_path(path);
        self.record(&entry_path, path, stamp, sha256, size, hashed_at);
    }

    fn record(
        &self,
        entry_path: &Utf8Path,
        path: &Utf8Path,
        stamp: FileStamp,
        sha256: Sha256Digest,
        size: u64,
        hashed_at: SystemTime,
    ) {
        let entry = Entry {
            path: path.to_owned(),
            stamp,
            sha256,
            size,
            hashed_at,
        };
        if let Ok(json) = serde_json::to_vec(&entry) {
            crate::types::write_cache_entry(&self.dir, entry_path, &json);
        }
    }

    fn entry_path(&self, path: &Utf8Path) -> Utf8PathBuf {
        let key = Sha256Digest::of_bytes(path.as_str().as_bytes()).hex();
        self.dir.join(format!("{}.json", &key[..32]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> (tempfile::TempDir, Utf8PathBuf, DigestCache) {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
        let file = root.join("lib.so");
        std::fs::write(&file, b"first content").unwrap();
        let cache = DigestCache::in_target_dir(&root.join("target"));
        (dir, file, cache)
    }

    /// Pretends the last hashing happened long after the file changed (as on a later run).
    fn age_entry(cache: &DigestCache, file: &Utf8Path) {
        let entry_path = cache.entry_path(file);
        let mut entry: Entry =
            serde_json::from_slice(&std::fs::read(&entry_path).unwrap()).unwrap();
        entry.hashed_at += SETTLED * 3;
        std::fs::write(&entry_path, serde_json::to_vec(&entry).unwrap()).unwrap();
    }

    /// Replaces the recorded digest, so a test can tell a cache hit from a fresh hash.
    fn poison_entry(cache: &DigestCache, file: &Utf8Path) -> Sha256Digest {
        let entry_path = cache.entry_path(file);
        let mut entry: Entry =
            serde_json::from_slice(&std::fs::read(&entry_path).unwrap()).unwrap();
        entry.sha256 = Sha256Digest::of_bytes(b"poison");
        std::fs::write(&entry_path, serde_json::to_vec(&entry).unwrap()).unwrap();
        entry.sha256
    }

    #[test]
    fn a_settled_unchanged_file_is_answered_from_the_cache() {
        let (_dir, file, cache) = fixture();
        let (first, size, _) = cache.digest(&file).unwrap();
        assert_eq!(first, Sha256Digest::of_bytes(b"first content"));
        assert_eq!(size, 13);
        age_entry(&cache, &file);
        let poison = poison_entry(&cache, &file);
        assert_eq!(
            cache.digest(&file).unwrap().0,
            poison,
            "not answered from the cache"
        );
    }

    #[test]
    fn a_fresh_entry_is_not_trusted_racy_files_are_hashed_again() {
        let (_dir, file, cache) = fixture();
        cache.digest(&file).unwrap();
        // Hashed within SETTLED of its last change: a same-tick write could hide.
        poison_entry(&cache, &file);
        assert_eq!(
            cache.digest(&file).unwrap().0,
            Sha256Digest::of_bytes(b"first content")
        );
    }

    #[test]
    fn any_write_to_the_file_is_seen() {
        let (_dir, file, cache) = fixture();
        cache.digest(&file).unwrap();
        age_entry(&cache, &file);
        // Same length, different bytes: the status-change time moves.
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&file, b"other content").unwrap();
        assert_eq!(
            cache.digest(&file).unwrap().0,
            Sha256Digest::of_bytes(b"other content")
        );
        // Replaced by another file (new inode), even with an old modification time.
        cache.digest(&file).unwrap();
        age_entry(&cache, &file);
        let other = file.with_file_name("other.so");
        std::fs::write(&other, b"third content").unwrap();
        std::fs::rename(&other, &file).unwrap();
        assert_eq!(
            cache.digest(&file).unwrap().0,
            Sha256Digest::of_bytes(b"third content")
        );
    }

    #[test]
    fn a_damaged_or_foreign_entry_is_ignored() {
        let (_dir, file, cache) = fixture();
        cache.digest(&file).unwrap();
        let entry_path = cache.entry_path(&file);
        std::fs::write(&entry_path, b"{not json").unwrap();
        assert_eq!(
            cache.digest(&file).unwrap().0,
            Sha256Digest::of_bytes(b"first content")
        );
        // An entry recorded for another path (a hash collision) is not used.
        age_entry(&cache, &file);
        let mut entry: Entry =
            serde_json::from_slice(&std::fs::read(&entry_path).unwrap()).unwrap();
        entry.path = file.with_file_name("elsewhere.so");
        entry.sha256 = Sha256Digest::of_bytes(b"poison");
        std::fs::write(&entry_path, serde_json::to_vec(&entry).unwrap()).unwrap();
        assert_eq!(
            cache.digest(&file).unwrap().0,
            Sha256Digest::of_bytes(b"first content")
        );
    }
}
