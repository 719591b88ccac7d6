//! Fingerprints remembered by the artifact's SHA-256 (`<target-dir>/plugpack/fingerprints`):
//! a fingerprint depends only on the artifact's bytes, so `package` of an unchanged plugin
//! reads it back instead of parsing the DWARF again.
//!
//! One entry per artifact path, holding the digest it was computed for and the identity of
//! the plugpack binary that computed it (version, and the executable's size and modification
//! time, so a rebuilt plugpack never trusts an older reader's output). An entry is written
//! only when it reads back to the same document, so a cached fingerprint is byte for byte
//! the one a fresh read gives. Entries are replaced with a rename; a damaged one is ignored.
//! A Mach-O library with a `.dSYM` beside it is never cached (its fingerprint reads a second
//! file).

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use super::{AbiFingerprint, Error, fingerprint_file};
use crate::types::Sha256Digest;

/// The fingerprint cache in one directory.
#[derive(Debug, Clone)]
pub struct FingerprintCache {
    dir: Utf8PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    path: Utf8PathBuf,
    sha256: Sha256Digest,
    reader: String,
    fingerprint: AbiFingerprint,
}

impl FingerprintCache {
    /// The cache kept under `target_dir`.
    pub fn in_target_dir(target_dir: &Utf8Path) -> Self {
        Self {
            dir: target_dir.join("plugpack").join("fingerprints"),
        }
    }

    /// [`fingerprint_file`] of `path`, whose content has SHA-256 `sha256` (computed by the
    /// caller for this very file), read back from the cache when it holds this digest's.
    pub fn fingerprint(
        &self,
        path: &Utf8Path,
        sha256: Sha256Digest,
    ) -> Result<AbiFingerprint, Error> {
        if Utf8PathBuf::from(format!("{path}.dSYM")).exists() {
            return fingerprint_file(path);
        }
        let entry_path = self.entry_path(path);
        let reader = crate::types::reader_identity();
        if let Some(entry) = std::fs::read(&entry_path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Entry>(&bytes).ok())
        {
            if entry.path == path && entry.sha256 == sha256 && entry.reader == reader {
                return Ok(entry.fingerprint);
            }
        }
        let fingerprint = fingerprint_file(path)?;
        let entry = Entry {
            path: path.to_owned(),
            sha256,
            reader,
            fingerprint,
        };
        self.record(&entry_path, &entry);
        Ok(entry.fingerprint)
    }

    /// Writes `entry` when its JSON reads back to the same document; failures are ignored
    /// (the cache only saves work).
    fn record(&self, entry_path: &Utf8Path, entry: &Entry) {
        let Ok(json) = serde_json::to_vec(entry) else {
            return;
        };
        let same = serde_json::from_slice::<Entry>(&json)
            .is_ok_and(|back| back.fingerprint == entry.fingerprint);
        if same {
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

    fn pe_fixture() -> Utf8PathBuf {
        Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/abi/nocore.dll")
    }

    #[test]
    fn a_cached_fingerprint_is_the_fresh_one_and_a_new_digest_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
        let cache = FingerprintCache::in_target_dir(&root);
        let elf = pe_fixture();
        let (sha256, _) = Sha256Digest::of_file(&elf).unwrap();
        let fresh = fingerprint_file(&elf).unwrap();
        assert_eq!(cache.fingerprint(&elf, sha256).unwrap(), fresh);
        // Poison the entry: a hit returns it, a miss (other digest) reads the file again.
        let entry_path = cache.entry_path(&elf);
        let mut entry: Entry =
            serde_json::from_slice(&std::fs::read(&entry_path).unwrap()).unwrap();
        entry.fingerprint.exports.clear();
        std::fs::write(&entry_path, serde_json::to_vec(&entry).unwrap()).unwrap();
        assert!(cache.fingerprint(&elf, sha256).unwrap().exports.is_empty());
        let other = Sha256Digest::of_bytes(b"another build");
        assert_eq!(cache.fingerprint(&elf, other).unwrap(), fresh);
        // And an entry from another reader is not used.
        let mut entry: Entry =
            serde_json::from_slice(&std::fs::read(&entry_path).unwrap()).unwrap();
        entry.fingerprint.exports.clear();
        entry.reader = "0.0.0 other".to_owned();
        std::fs::write(&entry_path, serde_json::to_vec(&entry).unwrap()).unwrap();
        assert_eq!(cache.fingerprint(&elf, other).unwrap(), fresh);
    }
}
