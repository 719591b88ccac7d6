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
pub fn state_with_buffer(
    dirs: &[Utf8PathBuf],
    name: &str,
    version: &str,
    buffer: &mut Vec<u8>,
) -> YankState {
    use std::io::Read;
    let rel = relative_path(name);
    for dir in dirs {
        buffer.clear();
        let read = std::fs::File::open(dir.join(&rel)).and_then(|mut f| f.read_to_end(buffer));
        if read.is_err() {
            continue;
        }
        let bytes = buffer.as_slice();
        // Entries are `version \0 json \0` pairs after an `etag \0` header, so every
        // version is between two NULs: find `\0version\0`, parse only the JSON after it.
        let needle = [b"\0", version.as_bytes(), b"\0"].concat();
        for at in memchr::memmem::find_iter(bytes, &needle) {
            let rest = &bytes[at + needle.len()..];
            let json = &rest[..memchr::memchr(0, rest).unwrap_or(rest.len())];
            if let Ok(entry) = serde_json::from_slice::<Entry>(json) {
                if entry.vers == version {
                    return if entry.yanked {
                        YankState::Yanked
                    } else {
                        YankState::NotYanked
                    };
                }
            }
        }
    }
    YankState::Unknown
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
}
