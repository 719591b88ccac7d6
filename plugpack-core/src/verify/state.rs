//! Anti-rollback state: the last accepted version and sequence number per plugin name, one
//! small JSON file per plugin, replaced atomically; and `is_older`, the comparison that
//! decides a rollback.
//!
//! Concurrency: every read-check-write of a plugin's record happens under an exclusive
//! advisory lock on `<name>.lock` beside `<name>.json` ([`StateStore::lock`], std's
//! `File::lock`), so two verifiers (threads of one host, or separate `cargo plugpack verify`
//! processes) can never both see "no newer version" and then let the older one win. The lock
//! file is never removed (removing it would let a third process lock a different inode); the
//! lock is released when the [`StateLock`] is dropped, or by the OS when the process dies, so
//! a `kill -9` never leaves the state locked. A record is replaced by writing a temporary file
//! beside it and renaming it over the old one, so a killed writer leaves the old record or
//! the new one, never a torn file.
//!
//! A record whose `schema_version` this build does not know is refused, never overwritten: a
//! newer plugpack's state must not be downgraded by an older one.

use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use super::Error;
use crate::ctx::Ctx;
use crate::sign::Statement;
use crate::types::Sha256Digest;

/// The `schema_version` of the [`Accepted`] records this build reads and writes.
pub const STATE_SCHEMA_VERSION: u32 = 1;

/// How long [`StateStore::lock`] waits for another verifier by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// What was last accepted for one plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// Schema of this record.
    pub schema_version: u32,
    /// Plugin name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Sequence number.
    pub sequence: u64,
    /// The signed manifest digests.
    pub manifests: Vec<Sha256Digest>,
    /// When it was accepted (RFC 3339).
    pub accepted_at: String,
}

/// Largest state record read (a record lists one digest per target).
const MAX_STATE_FILE: u64 = 1024 * 1024;

/// The state directory.
#[derive(Debug, Clone)]
pub struct StateStore {
    dir: Utf8PathBuf,
    lock_timeout: Duration,
}

impl StateStore {
    /// A store in `dir` (created on first write).
    pub fn new(dir: impl Into<Utf8PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        }
    }

    /// How long [`StateStore::lock`] waits for another verifier holding the same plugin's
    /// lock before failing with [`Error::StateLocked`] (default [`DEFAULT_LOCK_TIMEOUT`]).
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// The default location: `$PLUGPACK_STATE_DIR`, else `$XDG_DATA_HOME/plugpack/trust-state`,
    /// else `$HOME/.local/share/plugpack/trust-state` (`%LOCALAPPDATA%` on Windows).
    pub fn default_location(ctx: &Ctx) -> Result<Self, Error> {
        let non_empty = |k: &str| ctx.var(k).filter(|v| !v.is_empty());
        if let Some(dir) = non_empty("PLUGPACK_STATE_DIR") {
            return Ok(Self::new(dir));
        }
        let base = if let Some(x) = non_empty("XDG_DATA_HOME") {
            Utf8PathBuf::from(x)
        } else if let Some(l) = non_empty("LOCALAPPDATA") {
            Utf8PathBuf::from(l)
        } else if let Some(h) = non_empty("HOME") {
            Utf8PathBuf::from(h).join(".local/share")
        } else {
            return Err(Error::NoStateDir);
        };
        Ok(Self::new(base.join("plugpack").join("trust-state")))
    }

    /// The directory.
    pub fn dir(&self) -> &Utf8Path {
        &self.dir
    }

    /// The record file of plugin `name` (`<dir>/<name>.json`).
    pub fn file(&self, name: &str) -> Utf8PathBuf {
        self.dir.join(format!("{}.json", Self::stem(name)))
    }

    /// The lock file of plugin `name` (`<dir>/<name>.lock`).
    pub fn lock_file(&self, name: &str) -> Utf8PathBuf {
        self.dir.join(format!("{}.lock", Self::stem(name)))
    }

    fn stem(name: &str) -> String {
        // Plugin names are cargo package names; anything else is hex-encoded so a name can
        // never point outside the directory.
        let safe = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if safe {
            name.to_owned()
        } else {
            format!(
                "x-{}",
                name.bytes().map(|b| format!("{b:02x}")).collect::<String>()
            )
        }
    }

    /// The last accepted record for `name`, read without the lock: good for a first look;
    /// a decision that leads to a write goes through [`StateStore::lock`]. A record with an
    /// unknown `schema_version` is an error ([`Error::StateSchema`]).
    pub fn get(&self, name: &str) -> Result<Option<Accepted>, Error> {
        let path = self.file(name);
        let bytes = match crate::types::read_small_file(&path, MAX_STATE_FILE) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::State { path, source }),
        };
        let corrupt = |e: serde_json::Error| Error::StateCorrupt {
            path: path.clone(),
            problem: e.to_string(),
        };
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(corrupt)?;
        match value
            .get("schema_version")
            .and_then(serde_json::Value::as_u64)
        {
            Some(v) if v == u64::from(STATE_SCHEMA_VERSION) => {}
            found => {
                return Err(Error::StateSchema {
                    path,
                    found: found.map_or_else(|| "none".to_owned(), |v| v.to_string()),
                });
            }
        }
        serde_json::from_value(value).map(Some).map_err(corrupt)
    }

    /// Takes the exclusive lock on plugin `name`'s record (creating the directory and the
    /// lock file when missing), waiting up to the store's lock timeout for another verifier.
    /// Read, compare and write through the returned [`StateLock`]; dropping it releases the
    /// lock.
    pub fn lock(&self, name: &str) -> Result<StateLock<'_>, Error> {
        let path = self.lock_file(name);
        let io_error = |source| Error::State {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(io_error)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_error)?;
        let deadline = Instant::now() + self.lock_timeout;
        let mut pause = Duration::from_millis(1);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::StateLocked {
                        path,
                        waited: self.lock_timeout,
                    });
                }
                Err(std::fs::TryLockError::Error(source)) => return Err(io_error(source)),
            }
        }
        Ok(StateLock {
            store: self,
            name: name.to_owned(),
            _file: file,
        })
    }

    /// Records `accepted` (atomically replacing the file). Hosts that compare before they
    /// write should do both through [`StateStore::lock`]; this takes the lock for the write
    /// alone.
    pub fn put(&self, accepted: &Accepted) -> Result<(), Error> {
        self.lock(&accepted.name)?.put(accepted)
    }

    fn write(&self, accepted: &Accepted) -> Result<(), Error> {
        let path = self.file(&accepted.name);
        let bytes = crate::types::canonical_json(accepted).map_err(|e| Error::StateCorrupt {
            path: path.clone(),
            problem: e.to_string(),
        })?;
        crate::types::write_atomic(&path, &bytes).map_err(|source| Error::State { path, source })
    }
}

/// The exclusive lock on one plugin's record, from [`StateStore::lock`]; released on drop.
#[derive(Debug)]
pub struct StateLock<'a> {
    store: &'a StateStore,
    name: String,
    _file: std::fs::File,
}

impl StateLock<'_> {
    /// The last accepted record (read under the lock).
    pub fn get(&self) -> Result<Option<Accepted>, Error> {
        self.store.get(&self.name)
    }

    /// Replaces the record atomically (temporary file beside it, then rename). Refuses a
    /// record for another plugin name, and never overwrites a record with an unknown
    /// `schema_version`.
    pub fn put(&self, accepted: &Accepted) -> Result<(), Error> {
        if accepted.name != self.name {
            return Err(Error::StateCorrupt {
                path: self.store.file(&accepted.name),
                problem: format!(
                    "record for `{}` written under the lock of `{}`",
                    accepted.name, self.name
                ),
            });
        }
        if accepted.schema_version != STATE_SCHEMA_VERSION {
            return Err(Error::StateSchema {
                path: self.store.file(&self.name),
                found: accepted.schema_version.to_string(),
            });
        }
        // Reading first refuses to overwrite a record of an unknown schema version.
        self.get()?;
        self.store.write(accepted)
    }
}

/// True when `statement` is older than `last`: a lower sequence number, or an equal one
/// with a lower semantic version (pre-releases).
pub(super) fn is_older(statement: &Statement, last: &Accepted) -> bool {
    let p = &statement.predicate;
    if p.sequence != last.sequence {
        return p.sequence < last.sequence;
    }
    match (
        semver::Version::parse(&p.version),
        semver::Version::parse(&last.version),
    ) {
        (Ok(a), Ok(b)) => a < b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_never_escape_the_directory_and_records_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
        let store = StateStore::new(root.join("state"));
        assert_eq!(
            store.file("my-plugin_2"),
            root.join("state/my-plugin_2.json")
        );
        let evil = store.file("../../etc/passwd");
        assert_eq!(evil.parent(), Some(root.join("state").as_path()));
        assert!(
            evil.as_str()
                .ends_with("x-2e2e2f2e2e2f6574632f706173737764.json")
        );
        assert_eq!(store.get("p").unwrap(), None);
        let record = Accepted {
            schema_version: 1,
            name: "p".to_owned(),
            version: "1.0.0".to_owned(),
            sequence: 1,
            manifests: vec![Sha256Digest::of_bytes(b"m")],
            accepted_at: "2024-01-01T00:00:00Z".to_owned(),
        };
        store.put(&record).unwrap();
        assert_eq!(store.get("p").unwrap(), Some(record));
        std::fs::write(store.file("p"), b"{").unwrap();
        assert!(matches!(store.get("p"), Err(Error::StateCorrupt { .. })));
    }

    fn record(name: &str, version: &str) -> Accepted {
        Accepted {
            schema_version: STATE_SCHEMA_VERSION,
            name: name.to_owned(),
            version: version.to_owned(),
            sequence: 1,
            manifests: Vec::new(),
            accepted_at: "2024-01-01T00:00:00Z".to_owned(),
        }
    }

    #[test]
    fn unknown_schema_version_is_refused_and_never_overwritten() {
        // Issue 12, defect 10.
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap());
        for text in [
            r#"{"schema_version":2,"name":"p","version":"9.0.0","sequence":9,"manifests":[],"accepted_at":"x","new_field":1}"#,
            r#"{"name":"p","version":"9.0.0","sequence":9,"manifests":[],"accepted_at":"x"}"#,
        ] {
            std::fs::write(store.file("p"), text).unwrap();
            let err = store.get("p").unwrap_err();
            assert!(matches!(err, Error::StateSchema { .. }), "{err:?}");
            assert!(err.to_string().contains("p.json"), "{err}");
            let err = store.put(&record("p", "1.0.0")).unwrap_err();
            assert!(matches!(err, Error::StateSchema { .. }), "{err:?}");
            assert_eq!(std::fs::read_to_string(store.file("p")).unwrap(), text);
        }
        // Nor does this build write a record of another schema.
        std::fs::remove_file(store.file("p")).unwrap();
        let mut future = record("p", "1.0.0");
        future.schema_version = 2;
        assert!(matches!(store.put(&future), Err(Error::StateSchema { .. })));
        assert!(!store.file("p").exists());
    }

    #[test]
    fn a_held_lock_makes_another_verifier_wait_then_fail_naming_the_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
        let store = StateStore::new(root.join("state")).lock_timeout(Duration::from_millis(200));
        let held = store.lock("p").unwrap();
        // A second lock (another open file description, as another process would have)
        // waits for the timeout, then fails with the lock file's path.
        let started = Instant::now();
        let err = store.lock("p").unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert!(matches!(err, Error::StateLocked { .. }), "{err:?}");
        assert!(
            err.to_string().contains(store.lock_file("p").as_str()),
            "{err}"
        );
        // Other plugins are not blocked.
        store.lock("q").unwrap().put(&record("q", "1.0.0")).unwrap();
        // Writing through `put` needs the lock too.
        assert!(matches!(
            store.put(&record("p", "1.0.0")),
            Err(Error::StateLocked { .. })
        ));
        held.put(&record("p", "1.0.0")).unwrap();
        drop(held);
        let lock = store.lock("p").unwrap();
        assert_eq!(lock.get().unwrap().unwrap().version, "1.0.0");
        // The lock file stays (removing it would let two lockers hold different inodes).
        drop(lock);
        assert!(store.lock_file("p").exists());
        // A record for another name is refused under this lock.
        assert!(store.lock("p").unwrap().put(&record("q", "2.0.0")).is_err());
    }
}
