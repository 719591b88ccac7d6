//! Per-run scratch directories: where every temporary file of a write lives, so a run that is
//! killed (`kill -9`, power loss, CI timeout) leaves one directory behind that the next run
//! in the same place removes.
//!
//! A [`RunDir`] is `.plugpack-run-XXXXXX/` inside the directory of the file being written
//! (same filesystem, so the final `rename` is atomic). It holds an exclusive lock on its
//! `.lock` file for as long as it lives ([`std::fs::File::try_lock`], an advisory `flock`
//! on unix): the operating system drops the lock when its process ends, however it ends.
//! Creating a run dir first sweeps its parent: a `.plugpack-run-*` directory whose lock
//! can be taken belongs to nobody any more and is deleted. Dropping a `RunDir` (success or
//! any error path) deletes it.
//!
//! Races between a run that is still setting up its directory and a sweeping run are
//! resolved in favour of the sweeper: the new run notices that its directory or lock file is
//! gone and starts over with a fresh one. Leftovers of plugpack versions before run dirs
//! (`.plugpack-tmp-*` files and `.plugpack-rebuild-*` directories) carry no owner, so they
//! are removed only once untouched for [`LEGACY_STALE_AFTER`].
//!
//! Advisory locks are per filesystem; on network filesystems without `flock` support,
//! taking the lock fails and the run reports it instead of guessing.

use std::fs::File;
use std::io;
use std::time::{Duration, SystemTime};

use camino::{Utf8Path, Utf8PathBuf};

/// Name prefix of run directories.
pub const RUN_DIR_PREFIX: &str = ".plugpack-run-";
/// The lock file inside a run directory.
const LOCK_FILE: &str = ".lock";
/// Prefixes of temporaries written by plugpack versions without run dirs.
const LEGACY_PREFIXES: [&str; 2] = [".plugpack-tmp-", ".plugpack-rebuild-"];
/// Age after which an ownerless legacy temporary is removed.
pub const LEGACY_STALE_AFTER: Duration = Duration::from_secs(3600);

/// A private scratch directory owned (locked) by this run; deleted on drop.
#[derive(Debug)]
pub struct RunDir {
    // Field order matters: the directory goes first, then the lock is released.
    dir: tempfile::TempDir,
    path: Utf8PathBuf,
    _lock: File,
}

impl RunDir {
    /// Creates a run directory inside `parent` (created if missing), after removing the run
    /// directories of runs that are gone.
    pub fn create_in(parent: &Utf8Path) -> io::Result<Self> {
        let parent = if parent.as_str().is_empty() {
            Utf8Path::new(".")
        } else {
            parent
        };
        std::fs::create_dir_all(parent)?;
        sweep(parent);
        // A sweeper may delete a directory between its creation and its lock; start over.
        for _ in 0..8 {
            let dir = tempfile::Builder::new()
                .prefix(RUN_DIR_PREFIX)
                .tempdir_in(parent)?;
            let path = Utf8PathBuf::from_path_buf(dir.path().to_owned()).map_err(|p| {
                io::Error::other(format!("non-UTF-8 temporary path {}", p.display()))
            })?;
            let lock_path = path.join(LOCK_FILE);
            let lock = match File::create_new(&lock_path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            match lock.try_lock() {
                Ok(()) => {}
                // A sweeper holds it and is deleting the directory.
                Err(std::fs::TryLockError::WouldBlock) => continue,
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("cannot lock {lock_path}: {e}"),
                    ));
                }
            }
            if !still_linked(&lock, &lock_path) {
                continue;
            }
            return Ok(Self {
                dir,
                path,
                _lock: lock,
            });
        }
        Err(io::Error::other(format!(
            "cannot set up a scratch directory in {parent}: it keeps disappearing"
        )))
    }

    /// The directory.
    pub fn path(&self) -> &Utf8Path {
        &self.path
    }

    /// Deletes the directory now, reporting a failure (dropping ignores it).
    pub fn close(self) -> io::Result<()> {
        let Self { dir, _lock, .. } = self;
        dir.close()
    }
}

/// True when `lock` is still the file at `path` (a sweeper did not replace or delete it).
fn still_linked(lock: &File, path: &Utf8Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (lock.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = lock;
        path.exists()
    }
}

/// Removes, from `parent`, the run directories whose runs are gone and legacy temporaries
/// older than [`LEGACY_STALE_AFTER`]. Best effort: what cannot be removed stays. Returns
/// how many entries were removed.
pub fn sweep(parent: &Utf8Path) -> usize {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let path = entry.path();
        if name.starts_with(RUN_DIR_PREFIX) {
            if sweep_run_dir(&path) {
                removed += 1;
            }
        } else if LEGACY_PREFIXES.iter().any(|p| name.starts_with(p)) {
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > LEGACY_STALE_AFTER);
            if stale {
                let gone = match entry.file_type() {
                    Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
                    _ => std::fs::remove_file(&path),
                };
                removed += usize::from(gone.is_ok());
            }
        }
    }
    removed
}

/// Removes one run directory if its owner is gone; true when removed.
fn sweep_run_dir(path: &std::path::Path) -> bool {
    match File::open(path.join(LOCK_FILE)) {
        // Locked by us: nobody else holds it, so its run is over (killed, or crashed).
        Ok(lock) => match lock.try_lock() {
            Ok(()) => std::fs::remove_dir_all(path).is_ok(),
            Err(_) => false,
        },
        // No lock file: either its run died right after creating it (then it is empty), or
        // a run is about to create it (then removing the empty directory makes that run
        // start over). A non-empty directory without a lock is left alone.
        Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::remove_dir(path).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> (tempfile::TempDir, Utf8PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
        (dir, path)
    }

    fn names(dir: &Utf8Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_live_run_dir_survives_a_sweep_and_is_removed_on_drop() {
        let (_guard, parent) = tmp();
        let run = RunDir::create_in(&parent).unwrap();
        std::fs::write(run.path().join("big"), b"data").unwrap();
        let other = RunDir::create_in(&parent).unwrap();
        assert_eq!(sweep(&parent), 0);
        assert!(run.path().join("big").exists());
        drop(run);
        drop(other);
        assert!(names(&parent).is_empty(), "{:?}", names(&parent));
    }

    #[test]
    fn an_ownerless_run_dir_is_swept() {
        let (_guard, parent) = tmp();
        // What a killed run leaves: a directory whose lock nobody holds any more.
        let dead = parent.join(format!("{RUN_DIR_PREFIX}dead"));
        std::fs::create_dir(&dead).unwrap();
        std::fs::write(dead.join(LOCK_FILE), b"").unwrap();
        std::fs::write(dead.join("staged.oci.tar"), vec![0u8; 4096]).unwrap();
        // And one killed before it made its lock file (empty).
        std::fs::create_dir(parent.join(format!("{RUN_DIR_PREFIX}early"))).unwrap();
        let run = RunDir::create_in(&parent).unwrap();
        assert_eq!(names(&parent), [run.path().file_name().unwrap()]);
    }

    #[test]
    fn legacy_temporaries_are_removed_only_when_old() {
        let (_guard, parent) = tmp();
        let old_file = parent.join(".plugpack-tmp-old");
        let old_dir = parent.join(".plugpack-rebuild-old");
        let fresh = parent.join(".plugpack-tmp-fresh");
        std::fs::write(&old_file, b"x").unwrap();
        std::fs::create_dir(&old_dir).unwrap();
        std::fs::write(old_dir.join("blob"), b"x").unwrap();
        std::fs::write(&fresh, b"x").unwrap();
        let long_ago = SystemTime::now() - LEGACY_STALE_AFTER - Duration::from_secs(60);
        for p in [&old_file, &old_dir] {
            File::options()
                .read(true)
                .open(p)
                .unwrap()
                .set_modified(long_ago)
                .unwrap();
        }
        assert_eq!(sweep(&parent), 2);
        assert_eq!(names(&parent), [".plugpack-tmp-fresh"]);
    }
}
