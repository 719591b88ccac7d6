//! Anti-rollback state: the last accepted version and sequence number per plugin name, one
//! small JSON file per plugin, replaced atomically; and `is_older`, the comparison that
//! decides a rollback.

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use super::Error;
use crate::ctx::Ctx;
use crate::sign::Statement;
use crate::types::Sha256Digest;

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
}

impl StateStore {
    /// A store in `dir` (created on first write).
    pub fn new(dir: impl Into<Utf8PathBuf>) -> Self {
        Self { dir: dir.into() }
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

    fn file(&self, name: &str) -> Utf8PathBuf {
        // Plugin names are cargo package names; anything else is hex-encoded so a name can
        // never point outside the directory.
        let safe = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let stem = if safe {
            name.to_owned()
        } else {
            format!(
                "x-{}",
                name.bytes().map(|b| format!("{b:02x}")).collect::<String>()
            )
        };
        self.dir.join(format!("{stem}.json"))
    }

    /// The last accepted record for `name`.
    pub fn get(&self, name: &str) -> Result<Option<Accepted>, Error> {
        let path = self.file(name);
        let bytes = match crate::types::read_small_file(&path, MAX_STATE_FILE) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::State { path, source }),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::StateCorrupt {
                path,
                problem: e.to_string(),
            })
    }

    /// Records `accepted` (atomically replacing the file).
    pub fn put(&self, accepted: &Accepted) -> Result<(), Error> {
        let path = self.file(&accepted.name);
        let bytes = crate::types::canonical_json(accepted).map_err(|e| Error::StateCorrupt {
            path: path.clone(),
            problem: e.to_string(),
        })?;
        crate::types::write_atomic(&path, &bytes).map_err(|source| Error::State { path, source })
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
}
