//! Third-party notices: the licence texts, `NOTICE` files and copyright lines of the crates
//! linked into a plugin, read from the crates' sources at build time (cargo's registry
//! cache, vendored or path sources: the `package_dir` of each [`DepPackage`]) and kept in a
//! `plugpack-notices/1` document that `package` attaches to the bundle, so the notices can be
//! rendered later without the sources ([`render_text`], [`render_html`]).
//!
//! Which crates: every crate linked into any artifact of the plugin (`scope: required`),
//! the plugin itself excluded; build-only crates (build scripts, proc-macros) are not
//! distributed and so need no notice. Which files: in the crate's directory, every regular
//! file whose name starts with `LICENSE`, `LICENCE`, `COPYING`, `UNLICENSE`, `NOTICE` or
//! `COPYRIGHT` (case-insensitive), the files of a `LICENSES/` directory, and the manifest's
//! `license-file`. Texts are deduplicated by content (SHA-256). A crate with none of them is
//! listed with `missing_license_text: true`, never skipped. Copyright lines are the lines of
//! those files that start with `Copyright` or `©` and name a year or holder (template lines
//! such as `Copyright [yyyy] [name of copyright owner]` are left out).

mod render;

use std::collections::{BTreeMap, BTreeSet};

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::depset::{DepPackage, DepSet, Scope};
use crate::types::Sha256Digest;

pub use render::{render_html, render_text};

/// Media type of the notices referrer.
pub const MEDIA_TYPE: &str = "application/vnd.plugpack.notices.v1+json";
/// `schema` of the document.
pub const SCHEMA: &str = "plugpack-notices/1";
/// Largest licence or notice file read (bigger files are listed, their text cut with a note).
const MAX_FILE: u64 = 512 * 1024;

/// Why notices could not be produced, read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A document could not be parsed.
    #[error("{path} is not a plugpack-notices/1 document: {reason}")]
    Invalid {
        /// The file or bundle.
        path: Utf8PathBuf,
        /// Why.
        reason: String,
    },
    /// The bundle carries no notices referrer.
    #[error(
        "{path} carries no third-party notices (application/vnd.plugpack.notices.v1+json); \
         it was packaged by an older plugpack: run `cargo plugpack notices` in the project"
    )]
    NotInBundle {
        /// The bundle.
        path: Utf8PathBuf,
    },
    /// Rendering the HTML template failed.
    #[error("cannot render the notices")]
    Render(#[source] Box<crate::templates::RenderError>),
    /// Writing failed.
    #[error("cannot write {path}")]
    Write {
        /// Destination.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The notices of one plugin version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notices {
    /// [`SCHEMA`].
    pub schema: String,
    /// Plugin name.
    pub plugin: String,
    /// Plugin version.
    pub version: String,
    /// The crates, sorted by name then version.
    pub crates: Vec<CrateNotice>,
    /// Distinct file texts, sorted by digest.
    pub texts: Vec<Text>,
}

/// One crate's licence and notice material.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CrateNotice {
    /// Crate name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Declared licence (the manifest's `license`, canonical SPDX when it is one), if any.
    pub license: Option<String>,
    /// Licence files (`LICENSE*`, `COPYING*`, `LICENSES/*`, `license-file`).
    pub license_files: Vec<FileRef>,
    /// `NOTICE*` files (Apache-2.0 §4(d): reproduced as they are).
    pub notice_files: Vec<FileRef>,
    /// Copyright lines found in those files, deduplicated, in file order.
    pub copyrights: Vec<String>,
    /// No licence file was found in the crate's sources.
    pub missing_license_text: bool,
}

/// A file of a crate, pointing at its text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileRef {
    /// Path relative to the crate directory.
    pub file: String,
    /// Key into [`Notices::texts`].
    pub text: Sha256Digest,
}

/// A distinct text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Text {
    /// SHA-256 of the text as stored.
    pub digest: Sha256Digest,
    /// The text (UTF-8; invalid bytes replaced).
    pub text: String,
}

impl Notices {
    /// The text of `digest`.
    pub fn text(&self, digest: &Sha256Digest) -> Option<&str> {
        self.texts
            .binary_search_by(|t| t.digest.cmp(digest))
            .ok()
            .map(|i| self.texts[i].text.as_str())
    }

    /// The document as canonical JSON (the bytes `package` attaches).
    pub fn to_json(&self) -> Vec<u8> {
        crate::types::canonical_json(self).unwrap_or_default()
    }

    /// Parses a document (`path` names it in errors).
    pub fn from_json(bytes: &[u8], path: &Utf8Path) -> Result<Self, Error> {
        let notices: Notices = serde_json::from_slice(bytes).map_err(|e| Error::Invalid {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        if notices.schema != SCHEMA {
            return Err(Error::Invalid {
                path: path.to_owned(),
                reason: format!("schema is `{}`, expected `{SCHEMA}`", notices.schema),
            });
        }
        Ok(notices)
    }

    /// Reads the notices referrer of a bundle.
    pub fn from_bundle(path: &Utf8Path) -> Result<Self, crate::Error> {
        let layout = crate::oci::read_bundle(path)?;
        let info = crate::oci::inspect(&layout)?;
        let layer = info
            .referrers
            .iter()
            .filter(|r| r.artifact_type.as_deref() == Some(MEDIA_TYPE))
            .flat_map(|r| r.layers.first())
            .next()
            .ok_or_else(|| Error::NotInBundle {
                path: path.to_owned(),
            })?;
        let bytes = layout
            .json_blob(&layer.digest)
            .ok_or_else(|| Error::Invalid {
                path: path.to_owned(),
                reason: format!("the notices blob {} is not in the bundle", layer.digest),
            })?;
        Ok(Self::from_json(bytes, path)?)
    }
}

/// Collects the notices of `plugin` from the dependency sets of its artifacts.
pub fn collect(plugin: &str, version: &str, sets: &[&DepSet]) -> Notices {
    let mut seen = BTreeMap::new();
    for set in sets {
        for p in &set.packages {
            if p.is_root || p.scope != Scope::Required {
                continue;
            }
            seen.entry((p.name.clone(), p.version.clone(), p.source.clone()))
                .or_insert(p);
        }
    }
    let mut texts = BTreeMap::new();
    let mut crates: Vec<CrateNotice> = seen
        .into_values()
        .map(|p| crate_notice(p, &mut texts))
        .collect();
    crates.sort();
    Notices {
        schema: SCHEMA.to_owned(),
        plugin: plugin.to_owned(),
        version: version.to_owned(),
        crates,
        texts: texts
            .into_iter()
            .map(|(digest, text)| Text { digest, text })
            .collect(),
    }
}

/// Which kind of file a name is, if it is a licence or notice file.
fn classify(name: &str) -> Option<bool> {
    let upper = name.to_ascii_uppercase();
    if upper.starts_with("NOTICE") {
        return Some(true);
    }
    ["LICENSE", "LICENCE", "COPYING", "UNLICENSE", "COPYRIGHT"]
        .iter()
        .any(|p| upper.starts_with(p))
        .then_some(false)
}

/// Reads the licence material of one crate.
fn crate_notice(p: &DepPackage, texts: &mut BTreeMap<Sha256Digest, String>) -> CrateNotice {
    let mut files: BTreeMap<String, bool> = BTreeMap::new();
    if let Some(dir) = &p.package_dir {
        for (rel, is_notice) in candidate_files(dir) {
            files.insert(rel, is_notice);
        }
        if let Some(lf) = &p.license_file
            && dir.join(lf).is_file()
        {
            files.entry(lf.clone()).or_insert(false);
        }
    }
    let mut license_files = Vec::new();
    let mut notice_files = Vec::new();
    let mut copyrights = Vec::new();
    for (rel, is_notice) in files {
        let Some(dir) = &p.package_dir else { break };
        let Some(text) = read_text(&dir.join(&rel)) else {
            continue;
        };
        for line in copyright_lines(&text) {
            if !copyrights.contains(&line) {
                copyrights.push(line);
            }
        }
        let digest = Sha256Digest::of_bytes(text.as_bytes());
        texts.entry(digest).or_insert(text);
        let file = FileRef {
            file: rel,
            text: digest,
        };
        if is_notice {
            notice_files.push(file);
        } else {
            license_files.push(file);
        }
    }
    CrateNotice {
        name: p.name.clone(),
        version: p.version.clone(),
        // Canonical SPDX (`MIT/Apache-2.0` → `MIT OR Apache-2.0`), free text as written.
        license: match crate::sbom::Licensing::of(p.license.as_deref()) {
            crate::sbom::Licensing::Spdx(expression) => Some(expression),
            crate::sbom::Licensing::NonSpdx(raw) => Some(raw),
            crate::sbom::Licensing::Missing => None,
        },
        missing_license_text: license_files.is_empty(),
        license_files,
        notice_files,
        copyrights,
    }
}

/// Licence and notice files of a crate directory (top level and `LICENSES/`), relative.
fn candidate_files(dir: &Utf8Path) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let Ok(entries) = dir.read_dir_utf8() else {
        return out;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_owned();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_file()
            && let Some(is_notice) = classify(&name)
        {
            out.push((name, is_notice));
        } else if kind.is_dir()
            && name.eq_ignore_ascii_case("LICENSES")
            && let Ok(inner) = entry.path().read_dir_utf8()
        {
            for e in inner.flatten() {
                if e.file_type().is_ok_and(|t| t.is_file()) {
                    out.push((format!("{name}/{}", e.file_name()), false));
                }
            }
        }
    }
    out.sort();
    out
}

/// The file as text (at most [`MAX_FILE`] bytes, invalid UTF-8 replaced); `None` when it
/// cannot be read.
fn read_text(path: &Utf8Path) -> Option<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1).read_to_end(&mut bytes).ok()?;
    let cut = bytes.len() as u64 > MAX_FILE;
    bytes.truncate(MAX_FILE as usize);
    let mut text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
    if cut {
        text.push_str("\n[plugpack: file cut at 512 KiB]\n");
    }
    Some(text)
}

/// Copyright statements in `text` (see the module docs).
fn copyright_lines(text: &str) -> Vec<String> {
    let mut out = BTreeSet::new();
    let mut ordered = Vec::new();
    for line in text.lines() {
        let line = line.trim().trim_start_matches(['#', '*', '/']).trim();
        let lower = line.to_ascii_lowercase();
        let starts = lower.starts_with("copyright") || line.starts_with('©');
        let template = [
            "[yyyy]", "{yyyy}", "<year>", "[name of", "{name of", "<name of",
        ]
        .iter()
        .any(|t| lower.contains(t));
        let has_holder =
            line.chars().any(|c| c.is_ascii_digit()) || lower.contains("(c)") || line.contains('©');
        // "Copyright notice", "Copyright and license" headings name nobody.
        if starts && !template && has_holder && line.len() <= 300 && out.insert(line.to_owned()) {
            ordered.push(line.to_owned());
        }
    }
    ordered
}

/// Writes `bytes` atomically to `path`.
pub fn write(path: &Utf8Path, bytes: &[u8]) -> Result<(), Error> {
    crate::types::write_atomic(path, bytes).map_err(|source| Error::Write {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copyright_lines_skip_templates_and_headings() {
        let text = "Copyright notice\nCopyright [yyyy] [name of copyright owner]\n\
                    Copyright 2021-2024 The Authors\n  © 2020 Someone\n\
                    Copyright (c) Jane\nCopyright 2021-2024 The Authors\n";
        assert_eq!(
            copyright_lines(text),
            vec![
                "Copyright 2021-2024 The Authors".to_owned(),
                "© 2020 Someone".to_owned(),
                "Copyright (c) Jane".to_owned()
            ]
        );
    }

    #[test]
    fn files_are_classified_by_name() {
        assert_eq!(classify("LICENSE-MIT"), Some(false));
        assert_eq!(classify("licence.txt"), Some(false));
        assert_eq!(classify("COPYING"), Some(false));
        assert_eq!(classify("NOTICE.md"), Some(true));
        assert_eq!(classify("README.md"), None);
    }
}
