//! Yanked versions from cargo's local index cache (`$CARGO_HOME/registry/index/*/.cache/`),
//! never from the network. The cache holds, per crate, NUL-separated version strings and
//! index JSON lines; it is as fresh as the last cargo command that resolved that crate.

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

/// What the local index cache says about one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum YankState {
    /// Yanked.
    Yanked,
    /// Present and not yanked.
    NotYanked,
    /// Not in the local cache (never a network call).
    Unknown,
}

/// The crates.io index cache directories under `cargo_home`.
pub fn cache_dirs(cargo_home: &Utf8Path) -> Vec<Utf8PathBuf> {
    let index = cargo_home.join("registry").join("index");
    let Ok(entries) = index.read_dir_utf8() else {
        return Vec::new();
    };
    let mut dirs: Vec<Utf8PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name();
            n.starts_with("index.crates.io-") || n.starts_with("github.com-")
        })
        .map(|e| e.path().join(".cache"))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn relative_path(name: &str) -> String {
    let name = name.to_ascii_lowercase();
    match name.len() {
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", &name[..1]),
        _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
    }
}

#[derive(Deserialize)]
struct Entry {
    vers: String,
    #[serde(default)]
    yanked: bool,
}

/// Looks `name@version` up in the cache directories.
pub fn state(dirs: &[Utf8PathBuf], name: &str, version: &str) -> YankState {
    state_with_buffer(dirs, name, version, &mut Vec::new())
}

/// [`state`], reading each cache file into `buffer` (cleared first): a caller looking up
/// hundreds of crates reuses one allocation instead of faulting in fresh pages for every
/// file (some index files are megabytes).
///
/// A cache file lists versions oldest first and a lockfile mostly pins recent ones, so the
/// file is read from its end, in windows that double (16 KiB, 32 KiB, …), until the version
/// is found or the whole file was read: for most crates only the last window is read.
pub fn state_with_buffer(
    dirs: &[Utf8PathBuf],
    name: &str,
    version: &str,
    buffer: &mut Vec<u8>,
) -> YankState {
    let rel = relative_path(name);
    // Entries are `version \0 json \0` pairs after an `etag \0` header, so every version is
    // between two NULs (JSON holds none): find `\0version\0`, parse only the JSON after it.
    let needle = [b"\0", version.as_bytes(), b"\0"].concat();
    for dir in dirs {
        let Ok(file) = std::fs::File::open(dir.join(&rel)) else {
            continue;
        };
        let Ok(len) = file.metadata().map(|m| m.len()) else {
            continue;
        };
        if let Some(found) = find_from_end(&file, len, &needle, version, buffer) {
            return found;
        }
    }
    YankState::Unknown
}

/// Searches `file` (of `len` bytes) for the entry of `version`, reading windows from the
/// end into `buffer`, which always holds the file from some offset to its end.
fn find_from_end(
    file: &std::fs::File,
    len: u64,
    needle: &[u8],
    version: &str,
    buffer: &mut Vec<u8>,
) -> Option<YankState> {
    const FIRST_WINDOW: u64 = 16 * 1024;
    buffer.clear();
    let mut start = len;
    let mut window = FIRST_WINDOW;
    while start > 0 {
        let from = start.saturating_sub(window);
        let mut chunk = vec![0u8; usize::try_from(start - from).ok()?];
        read_exact_at(file, &mut chunk, from).ok()?;
        chunk.extend_from_slice(buffer);
        *buffer = chunk;
        start = from;
        window = window.saturating_mul(2);
        let bytes = buffer.as_slice();
        for at in memchr::memmem::find_iter(bytes, needle) {
            let rest = &bytes[at + needle.len()..];
            let json = &rest[..memchr::memchr(0, rest).unwrap_or(rest.len())];
            if let Ok(entry) = serde_json::from_slice::<Entry>(json) {
                if entry.vers == version {
                    return Some(if entry.yanked {
                        YankState::Yanked
                    } else {
                        YankState::NotYanked
                    });
                }
            }
        }
    }
    None
}

#[cfg(unix)]
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_exact_at(mut file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cache_entries() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Utf8Path::from_path(tmp.path()).unwrap();
        let cache = home.join("registry/index/index.crates.io-1949cf8c6b5b557f/.cache/sm/al");
        std::fs::create_dir_all(&cache).unwrap();
        let mut bytes = vec![3u8, 2, 0, 0, 0];
        bytes.extend_from_slice(b"etag\x001.0.0\x00{\"name\":\"smallvec\",\"vers\":\"1.0.0\",\"yanked\":true}\x001.0.1\x00{\"name\":\"smallvec\",\"vers\":\"1.0.1\",\"yanked\":false}\x00");
        std::fs::write(cache.join("smallvec"), bytes).unwrap();
        let dirs = cache_dirs(home);
        assert_eq!(state(&dirs, "smallvec", "1.0.0"), YankState::Yanked);
        assert_eq!(state(&dirs, "smallvec", "1.0.1"), YankState::NotYanked);
        assert_eq!(state(&dirs, "smallvec", "9.9.9"), YankState::Unknown);
        assert_eq!(state(&dirs, "other", "1.0.0"), YankState::Unknown);
        assert_eq!(relative_path("syn"), "3/s/syn");
    }

    /// Read from the end in growing windows: a version at the very start of a file larger
    /// than several windows, one straddling a window boundary, and the newest one are found;
    /// a version only mentioned inside another entry's JSON is not taken for an entry.
    #[test]
    fn finds_versions_anywhere_in_a_large_cache_file() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Utf8Path::from_path(tmp.path()).unwrap();
        let cache = home.join("registry/index/index.crates.io-1949cf8c6b5b557f/.cache/bi/gc");
        std::fs::create_dir_all(&cache).unwrap();
        let mut bytes = vec![3u8, 2, 0, 0, 0];
        bytes.extend_from_slice(b"etag\0");
        let padding = "x".repeat(900);
        for patch in 0..2000 {
            let yanked = patch % 7 == 0;
            bytes.extend_from_slice(
                format!(
                    "0.1.{patch}\0{{\"name\":\"bigcrate\",\"vers\":\"0.1.{patch}\",\"yanked\":{yanked},\"pad\":\"{padding}\"}}\0"
                )
                .as_bytes(),
            );
        }
        assert!(bytes.len() > 1_500_000);
        std::fs::write(cache.join("bigcrate"), &bytes).unwrap();
        let dirs = cache_dirs(home);
        for patch in [0, 1, 7, 69, 70, 71, 999, 1000, 1995, 1999] {
            let expected = if patch % 7 == 0 {
                YankState::Yanked
            } else {
                YankState::NotYanked
            };
            assert_eq!(
                state(&dirs, "bigcrate", &format!("0.1.{patch}")),
                expected,
                "0.1.{patch}"
            );
        }
        assert_eq!(state(&dirs, "bigcrate", "0.1.2000"), YankState::Unknown);
        assert_eq!(state(&dirs, "bigcrate", "x"), YankState::Unknown);
    }
}
