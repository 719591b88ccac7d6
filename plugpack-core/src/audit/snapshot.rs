//! The parsed advisories of one commit of an advisory-database checkout, kept in the
//! checkout's git directory (`.git/plugpack-advisories.json`) so that the next audit of the
//! same commit reads one file instead of parsing every advisory again, and decodes only the
//! advisories of the crates it looks up.
//!
//! A snapshot stands for a commit, whose content never changes, so it needs no stamps: it is
//! used only when `git status` finds the checkout's `crates/` clean at that very commit (see
//! [`super::db::open`]), and only by the plugpack build that wrote it
//! ([`crate::types::reader_identity`]). It is written only after a full read of a clean
//! checkout that a second `git status` found still clean at the same commit. A file that does
//! not parse, or comes from another build, is ignored and replaced; a crate whose entry does
//! not decode is read from its advisory files instead (they are that commit's); a checkout
//! that cannot be written to simply has none.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::db::MalformedFile;

/// The file name under the git directory.
const FILE_NAME: &str = "plugpack-advisories.json";
/// Bumped when the layout changes.
const FORMAT: u32 = 2;

/// What a snapshot says of its commit, besides the advisories.
#[derive(Debug, PartialEq)]
pub(crate) struct Header {
    /// The commit the advisories were read from.
    pub commit: String,
    /// Its commit date, `YYYY-MM-DD`.
    pub date: String,
    /// Files that did not parse.
    pub malformed: Vec<MalformedFile>,
    /// How many advisories parsed.
    pub count: usize,
}

/// A snapshot's advisories, each crate's decoded when first asked for.
#[derive(Debug)]
pub(crate) struct LazyAdvisories {
    /// The database directory (for a crate whose entry does not decode).
    root: Utf8PathBuf,
    /// The snapshot file.
    bytes: Vec<u8>,
    /// Each crate's JSON array in `bytes` (start, length), and its advisories once decoded.
    crates: BTreeMap<String, (usize, usize, OnceLock<Vec<rustsec::Advisory>>)>,
}

impl LazyAdvisories {
    /// The advisories of `name`, in file order (none when the database has none).
    pub(crate) fn get(&self, name: &str) -> &[rustsec::Advisory] {
        let Some((start, len, decoded)) = self.crates.get(name) else {
            return &[];
        };
        decoded.get_or_init(|| {
            let json = self.bytes.get(*start..start + len).unwrap_or_default();
            serde_json::from_slice(json).unwrap_or_else(|_| {
                tracing::debug!(
                    crate_name = name,
                    "snapshot entry does not decode: reading the files"
                );
                parse_crate_dir(&self.root, name)
            })
        })
    }

    /// Every crate with advisories, by name.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.crates.keys().map(String::as_str)
    }
}

/// The advisories that parse among `<root>/crates/<name>/RUSTSEC-*.md`, in file order.
fn parse_crate_dir(root: &Utf8Path, name: &str) -> Vec<rustsec::Advisory> {
    let dir = root.join("crates").join(name);
    let mut files: Vec<Utf8PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| Utf8PathBuf::from_path_buf(e.ok()?.path()).ok())
        .filter(|f| {
            f.file_name()
                .is_some_and(|n| n.starts_with("RUSTSEC-") && n.ends_with(".md"))
        })
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok()?.parse().ok())
        .collect()
}

/// The file: its header, then each crate's advisories as one JSON array.
#[derive(Serialize, Deserialize)]
struct SnapshotFile<'a> {
    format: u32,
    reader: String,
    commit: String,
    date: String,
    count: usize,
    malformed: Vec<MalformedFile>,
    #[serde(borrow)]
    crates: BTreeMap<String, &'a RawValue>,
}

/// Where the snapshot of the checkout whose git directory is `git_dir` lives.
fn path_in(git_dir: &Utf8Path) -> Utf8PathBuf {
    git_dir.join(FILE_NAME)
}

/// The snapshot in the git directory `git_dir` of the database at `root`, if there is one
/// this plugpack wrote and it parses. Which commit it is for is for the caller to check.
pub(crate) fn load(root: &Utf8Path, git_dir: &Utf8Path) -> Option<(Header, LazyAdvisories)> {
    let bytes = std::fs::read(path_in(git_dir)).ok()?;
    let file: SnapshotFile<'_> = serde_json::from_slice(&bytes).ok()?;
    if file.format != FORMAT || file.reader != crate::types::reader_identity() {
        return None;
    }
    let base = bytes.as_ptr() as usize;
    let crates = file
        .crates
        .into_iter()
        .map(|(name, raw)| {
            let json = raw.get();
            (
                name,
                (json.as_ptr() as usize - base, json.len(), OnceLock::new()),
            )
        })
        .collect();
    let header = Header {
        commit: file.commit,
        date: file.date,
        malformed: file.malformed,
        count: file.count,
    };
    let root = root.to_owned();
    Some((
        header,
        LazyAdvisories {
            root,
            bytes,
            crates,
        },
    ))
}

/// Replaces the snapshot in `git_dir` (a temporary file renamed into place; failures are
/// ignored: the snapshot only saves work).
pub(crate) fn store(
    git_dir: &Utf8Path,
    header: &Header,
    by_crate: &BTreeMap<String, Vec<rustsec::Advisory>>,
) {
    let crates: Option<BTreeMap<&str, Box<RawValue>>> = by_crate
        .iter()
        .map(|(name, advisories)| {
            let json = serde_json::to_string(advisories).ok()?;
            Some((name.as_str(), RawValue::from_string(json).ok()?))
        })
        .collect();
    let Some(crates) = crates else {
        return;
    };
    let file = SnapshotFile {
        format: FORMAT,
        reader: crate::types::reader_identity(),
        commit: header.commit.clone(),
        date: header.date.clone(),
        count: header.count,
        malformed: header.malformed.clone(),
        crates: crates
            .iter()
            .map(|(k, v)| ((*k).to_owned(), &**v))
            .collect(),
    };
    if let Ok(bytes) = serde_json::to_vec(&file) {
        crate::types::write_cache_entry(git_dir, &path_in(git_dir), &bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_db() -> Utf8PathBuf {
        Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/advisory-db")
    }

    #[test]
    fn a_snapshot_reads_back_equal_and_a_damaged_or_foreign_one_is_not_trusted() {
        let root = fixture_db();
        let db = super::super::db::open(
            &root,
            "x",
            crate::audit::cfg::parse_date("2024-10-05").unwrap(),
        )
        .unwrap();
        let by_crate: BTreeMap<String, Vec<rustsec::Advisory>> = db
            .crate_names()
            .map(|n| (n.to_owned(), db.advisories_for(n).to_vec()))
            .collect();
        let header = Header {
            commit: "0123".repeat(10),
            date: "2024-09-30".to_owned(),
            malformed: db.info.malformed.clone(),
            count: db.info.advisories,
        };
        let dir = tempfile::tempdir().unwrap();
        let git_dir = Utf8Path::from_path(dir.path()).unwrap();
        assert!(load(&root, git_dir).is_none());
        store(git_dir, &header, &by_crate);
        let (read, lazy) = load(&root, git_dir).unwrap();
        assert_eq!(read, header);
        assert!(lazy.names().eq(by_crate.keys().map(String::as_str)));
        for (name, advisories) in &by_crate {
            assert_eq!(lazy.get(name), advisories.as_slice(), "{name}");
        }
        assert!(lazy.get("no-such-crate").is_empty());

        let path = path_in(git_dir);
        let bytes = std::fs::read(&path).unwrap();
        // Torn (a power loss after the rename without fsync).
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert!(load(&root, git_dir).is_none());
        // Written by another build of plugpack.
        let mut json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        json["reader"] = "0.0.0 other".into();
        std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
        assert!(load(&root, git_dir).is_none());
        // A crate's entry that does not decode: its files are read instead.
        let mut json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        json["crates"]["smallvec"] = serde_json::json!([{ "not": "an advisory" }]);
        std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
        let (_, lazy) = load(&root, git_dir).unwrap();
        assert_eq!(lazy.get("smallvec"), by_crate["smallvec"].as_slice());
        assert_eq!(lazy.get("smallvec").len(), 5);
    }
}
