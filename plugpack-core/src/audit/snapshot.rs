//! The parsed advisories of one commit of an advisory-database checkout, kept in the
//! checkout's git directory (`.git/plugpack-advisories.json`) so that the next audit of the
//! same commit reads one file instead of parsing every advisory again.
//!
//! A snapshot stands for a commit, whose content never changes, so it needs no stamps: it is
//! used only when `git status` finds the checkout's `crates/` clean at that very commit (see
//! [`super::db::open`]), and only by the plugpack build that wrote it
//! ([`crate::types::reader_identity`]). It is written only after a full read of a clean
//! checkout that a second `git status` found still clean at the same commit. A damaged or
//! foreign file is ignored and replaced; a checkout that cannot be written to simply has none.

use std::collections::BTreeMap;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::db::MalformedFile;

/// The file name under the git directory.
const FILE_NAME: &str = "plugpack-advisories.json";
/// Bumped when the layout changes.
const FORMAT: u32 = 1;

/// What a snapshot holds: one commit's advisories as [`super::db::open`] read them.
#[derive(Debug, PartialEq)]
pub(crate) struct Snapshot {
    /// The commit the advisories were read from.
    pub commit: String,
    /// Its commit date, `YYYY-MM-DD`.
    pub date: String,
    /// Advisories by crate name, each crate's in file order.
    pub by_crate: BTreeMap<String, Vec<rustsec::Advisory>>,
    /// Files that did not parse.
    pub malformed: Vec<MalformedFile>,
    /// How many advisories parsed.
    pub count: usize,
}

/// The file: its header, then the advisories in two JSON arrays (crate by crate, in the
/// map's order) so two threads can decode them.
#[derive(Serialize, Deserialize)]
struct SnapshotFile<'a> {
    format: u32,
    reader: String,
    commit: String,
    date: String,
    count: usize,
    malformed: Vec<MalformedFile>,
    #[serde(borrow)]
    parts: Vec<&'a RawValue>,
}

/// Where the snapshot of the checkout whose git directory is `git_dir` lives.
fn path_in(git_dir: &Utf8Path) -> Utf8PathBuf {
    git_dir.join(FILE_NAME)
}

/// The snapshot in `git_dir`, if there is one this plugpack wrote and it reads back whole.
/// Which commit it is for is for the caller to check.
pub(crate) fn load(git_dir: &Utf8Path) -> Option<Snapshot> {
    let bytes = std::fs::read(path_in(git_dir)).ok()?;
    let file: SnapshotFile<'_> = serde_json::from_slice(&bytes).ok()?;
    if file.format != FORMAT || file.reader != crate::types::reader_identity() {
        return None;
    }
    let decode = |part: &RawValue| serde_json::from_str::<Vec<rustsec::Advisory>>(part.get());
    let parts: Vec<Vec<rustsec::Advisory>> = match file.parts.as_slice() {
        [first, second] => std::thread::scope(|threads| {
            let other = threads.spawn(|| decode(second));
            let first = decode(first);
            let second = other
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            Some(vec![first.ok()?, second.ok()?])
        })?,
        parts => parts
            .iter()
            .map(|p| decode(p).ok())
            .collect::<Option<_>>()?,
    };
    let mut by_crate: BTreeMap<String, Vec<rustsec::Advisory>> = BTreeMap::new();
    let mut count = 0;
    for advisory in parts.into_iter().flatten() {
        count += 1;
        by_crate
            .entry(advisory.metadata.package.as_str().to_owned())
            .or_default()
            .push(advisory);
    }
    (count == file.count).then_some(Snapshot {
        commit: file.commit,
        date: file.date,
        by_crate,
        malformed: file.malformed,
        count,
    })
}

/// Replaces the snapshot in `git_dir` (a temporary file renamed into place; failures are
/// ignored: the snapshot only saves work).
pub(crate) fn store(git_dir: &Utf8Path, snapshot: &Snapshot) {
    let all: Vec<&rustsec::Advisory> = snapshot.by_crate.values().flatten().collect();
    let (first, second) = all.split_at(all.len() / 2);
    let encode = |part: &[&rustsec::Advisory]| {
        serde_json::to_string(part)
            .ok()
            .and_then(|json| RawValue::from_string(json).ok())
    };
    let (Some(first), Some(second)) = (encode(first), encode(second)) else {
        return;
    };
    let file = SnapshotFile {
        format: FORMAT,
        reader: crate::types::reader_identity(),
        commit: snapshot.commit.clone(),
        date: snapshot.date.clone(),
        count: snapshot.count,
        malformed: snapshot.malformed.clone(),
        parts: vec![&first, &second],
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
    fn a_snapshot_reads_back_equal_and_a_damaged_or_foreign_one_is_ignored() {
        let db = super::super::db::open(
            &fixture_db(),
            "x",
            crate::audit::cfg::parse_date("2024-10-05").unwrap(),
        )
        .unwrap();
        let snapshot = Snapshot {
            commit: "0123".repeat(10),
            date: "2024-09-30".to_owned(),
            by_crate: db.by_crate.clone(),
            malformed: db.info.malformed.clone(),
            count: db.info.advisories,
        };
        let dir = tempfile::tempdir().unwrap();
        let git_dir = Utf8Path::from_path(dir.path()).unwrap();
        assert_eq!(load(git_dir), None);
        store(git_dir, &snapshot);
        assert_eq!(load(git_dir).as_ref(), Some(&snapshot));

        let path = path_in(git_dir);
        let bytes = std::fs::read(&path).unwrap();
        // Torn (a power loss after the rename without fsync).
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert_eq!(load(git_dir), None);
        // Written by another build of plugpack.
        let mut json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        json["reader"] = "0.0.0 other".into();
        std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
        assert_eq!(load(git_dir), None);
        // An advisory lost from a part: the count no longer matches.
        let mut json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        json["count"] = (snapshot.count + 1).into();
        std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
        assert_eq!(load(git_dir), None);
    }
}
