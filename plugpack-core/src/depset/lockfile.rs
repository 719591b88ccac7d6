//! `Cargo.lock` reading: registry checksums and the line of each `[[package]]` entry (SARIF
//! results point there).

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use super::Error;

/// One `[[package]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LockedPackage {
    /// Crate name.
    pub name: String,
    /// Version.
    pub version: String,
    /// `source`, e.g. `registry+https://github.com/rust-lang/crates.io-index`.
    pub source: Option<String>,
    /// SHA-256 of the `.crate` file (registry packages).
    pub checksum: Option<String>,
    /// 1-based line of the entry's `[[package]]` header.
    pub line: usize,
}

/// A parsed lockfile.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Lockfile {
    /// Where it was read from.
    pub path: Utf8PathBuf,
    /// Entries, in file order.
    pub packages: Vec<LockedPackage>,
}

#[derive(Deserialize)]
struct RawLock {
    #[serde(default)]
    package: Vec<RawPackage>,
}

#[derive(Deserialize)]
struct RawPackage {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
}

impl Lockfile {
    /// Reads and parses `path`.
    pub fn read(path: &Utf8Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ReadLockfile {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses lockfile text; `path` names the file in errors.
    pub fn parse(path: &Utf8Path, text: &str) -> Result<Self, Error> {
        let invalid = |problem: String| Error::ParseLockfile {
            path: path.to_owned(),
            problem,
        };
        let raw: RawLock = toml::from_str(text).map_err(|e| {
            // toml's Display quotes the offending line; name the position instead.
            let at = e.span().map_or(String::new(), |span| {
                let before = &text.as_bytes()[..span.start.min(text.len())];
                let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
                let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
                format!(" at line {line}, column {column}")
            });
            invalid(format!("not TOML{at} ({})", e.message().trim()))
        })?;
        if raw.package.is_empty() {
            return Err(invalid("no [[package]] entries".to_owned()));
        }
        let header_lines: Vec<usize> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim() == "[[package]]")
            .map(|(i, _)| i + 1)
            .collect();
        let packages = raw
            .package
            .into_iter()
            .enumerate()
            .map(|(i, p)| LockedPackage {
                name: p.name,
                version: p.version,
                source: p.source,
                checksum: p.checksum,
                line: header_lines.get(i).copied().unwrap_or(1),
            })
            .collect();
        Ok(Self {
            path: path.to_owned(),
            packages,
        })
    }

    /// The entry for `name@version` (from `source`, when several sources lock the same version).
    pub fn find(&self, name: &str, version: &str, source: Option<&str>) -> Option<&LockedPackage> {
        let mut candidates = self
            .packages
            .iter()
            .filter(|p| p.name == name && p.version == version);
        let first = candidates.clone().next();
        candidates.find(|p| p.source.as_deref() == source).or(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_checksums_and_lines() {
        let text = "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"itoa\"\nversion = \"1.0.19\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"abc\"\n";
        let lock = Lockfile::parse(Utf8Path::new("Cargo.lock"), text).unwrap();
        let itoa = lock.find("itoa", "1.0.19", None).unwrap();
        assert_eq!(itoa.line, 7);
        assert_eq!(itoa.checksum.as_deref(), Some("abc"));
        assert_eq!(lock.find("a", "0.1.0", None).unwrap().line, 3);
        assert!(Lockfile::parse(Utf8Path::new("bad.lock"), "[[package]\n").is_err());
    }

    #[test]
    fn empty_or_foreign_files_are_errors_that_quote_nothing() {
        for text in [
            "",
            "[package]\nname = \"SECRET-MARKER\"\n",
            "x = 1\nSECRET-MARKER here\n",
        ] {
            let err = Lockfile::parse(Utf8Path::new("in.lock"), text).unwrap_err();
            let shown = err.to_string();
            assert!(shown.starts_with("invalid lockfile in.lock: "), "{shown}");
            assert!(!shown.contains("SECRET-MARKER"), "{shown}");
        }
        let err = Lockfile::parse(Utf8Path::new("in.lock"), "x = 1\ny = = 2\n").unwrap_err();
        assert!(err.to_string().contains("line 2, column"), "{err}");
    }
}
