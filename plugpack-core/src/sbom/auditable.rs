//! The dependency list embedded in the artifact itself, in the format cargo-auditable uses,
//! so a plugin found on disk years later can be rescanned by `cargo audit bin`, Trivy, Grype
//! or Syft without its SBOM.
//!
//! Format: zlib-compressed JSON `{"format":1,"packages":[…]}` (the `auditable-serde`
//! `VersionInfo`: packages sorted by name, version and source, each with `name`, `version`,
//! `source` (`crates.io`, `registry`, `git`, `local`), `kind` (`build` or omitted for runtime),
//! `dependencies` (indices into the list) and `root`). We write format revision 1 (proc-macros
//! and their dependencies recorded as build dependencies), which our exact set satisfies.
//!
//! Where it goes:
//! - wasm: a custom section named `.dep-v0`, appended to the module (an older one is
//!   replaced, so embedding is idempotent);
//! - ELF (`.so`): a non-allocated `.dep-v0` section, added after linking with `objcopy`
//!   (`$OBJCOPY`, else `objcopy`), since plugpack does not wrap the linker;
//! - other formats (Mach-O, PE): not embedded; the caller reports a warning.
//!
//! The embedded copy is written next to cargo's output under
//! `<target-dir>/plugpack/embedded/<target>/` (cargo's own file is never modified), and the
//! artifact's path, SHA-256 and size then describe that final file, so SBOM hashes, ABI
//! fingerprints and bundles all refer to what ships.

use std::io::{Read, Write};
use std::process::Command;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::build::BuiltArtifact;
use crate::ctx::Ctx;
use crate::depset::{DepSet, Scope};
use crate::types::Sha256Digest;

/// Section name (ELF, wasm custom section).
pub const SECTION: &str = ".dep-v0";

/// The embedded document (cargo-auditable's `VersionInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionInfo {
    /// Format revision.
    #[serde(default)]
    pub format: u32,
    /// Packages; `dependencies` index into this list.
    pub packages: Vec<AuditPackage>,
}

/// One package of [`VersionInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPackage {
    /// Crate name.
    pub name: String,
    /// Version.
    pub version: String,
    /// `crates.io`, `registry`, `git`, `local` or another source kind.
    pub source: String,
    /// `build` for build-only crates; absent means runtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Indices of its dependencies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<usize>,
    /// True for the plugin itself.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub root: bool,
}

/// Why the list could not be embedded or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmbedError {
    /// Reading or writing a file failed.
    #[error("cannot {action} {path}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `objcopy` failed, or is not installed (the message then names binutils).
    #[error(
        "cannot embed the dependency list into {path} with objcopy{}",
        objcopy_hint(source)
    )]
    Objcopy {
        /// The file.
        path: Utf8PathBuf,
        /// Why.
        #[source]
        source: crate::process::ProcessError,
    },
    /// The file is not a format we can embed into or read from.
    #[error(
        "{path} is not a supported binary (ELF or wasm to embed into; also Mach-O or PE to read)"
    )]
    UnsupportedFormat {
        /// The file.
        path: Utf8PathBuf,
    },
    /// The file has no `.dep-v0` section.
    #[error("{path} has no embedded dependency list (`.dep-v0` section)")]
    NotFound {
        /// The file.
        path: Utf8PathBuf,
    },
    /// The section does not hold zlib-compressed cargo-auditable JSON.
    #[error("the `.dep-v0` section of {path} is invalid: {reason}")]
    Invalid {
        /// The file.
        path: Utf8PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The cargo-auditable document for a dependency set.
pub fn version_info(set: &DepSet) -> VersionInfo {
    let mut order: Vec<usize> = (0..set.packages.len()).collect();
    let source_of = |i: usize| source_kind(set.packages[i].source.as_deref());
    order.sort_by(|&a, &b| {
        let (pa, pb) = (&set.packages[a], &set.packages[b]);
        (&pa.name, &pa.version, source_of(a), &pa.id).cmp(&(
            &pb.name,
            &pb.version,
            source_of(b),
            &pb.id,
        ))
    });
    let index: std::collections::BTreeMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(new, &old)| (set.packages[old].id.as_str(), new))
        .collect();
    let packages = order
        .iter()
        .map(|&i| {
            let p = &set.packages[i];
            let mut dependencies: Vec<usize> = set
                .edges
                .get(&p.id)
                .into_iter()
                .flatten()
                .filter_map(|d| index.get(d.as_str()).copied())
                .collect();
            dependencies.sort_unstable();
            dependencies.dedup();
            AuditPackage {
                name: p.name.clone(),
                version: p.version.clone(),
                source: source_kind(p.source.as_deref()),
                kind: (p.scope == Scope::BuildOnly).then(|| "build".to_owned()),
                dependencies,
                root: p.is_root,
            }
        })
        .collect();
    VersionInfo {
        format: 1,
        packages,
    }
}

/// cargo-auditable's source kinds.
fn source_kind(source: Option<&str>) -> String {
    match source {
        None => "local".to_owned(),
        Some(s) if super::purl::is_default_registry(s) => "crates.io".to_owned(),
        Some(s) if s.starts_with("registry+") || s.starts_with("sparse+") => "registry".to_owned(),
        Some(s) if s.starts_with("git+") => "git".to_owned(),
        Some(s) => s.split('+').next().unwrap_or(s).to_owned(),
    }
}

/// zlib(JSON) — the section payload.
pub fn encode(info: &VersionInfo) -> Vec<u8> {
    // Serializing plain strings and numbers cannot fail; compressing into a Vec cannot either.
    let json = serde_json::to_vec(info).unwrap_or_default();
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = encoder.write_all(&json);
    encoder.finish().unwrap_or_default()
}

/// Inverse of [`encode`]; `path` names the file in errors.
pub fn decode(path: &Utf8Path, payload: &[u8]) -> Result<VersionInfo, EmbedError> {
    let invalid = |reason: String| EmbedError::Invalid {
        path: path.to_owned(),
        reason,
    };
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(payload)
        .take(64 << 20)
        .read_to_end(&mut json)
        .map_err(|e| invalid(format!("not zlib data ({e})")))?;
    serde_json::from_slice(&json).map_err(|e| invalid(format!("not cargo-auditable JSON ({e})")))
}

/// When objcopy is missing, which package provides it.
fn objcopy_hint(error: &crate::process::ProcessError) -> &'static str {
    match error {
        crate::process::ProcessError::Spawn { source, .. }
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            " (not found: install binutils, e.g. `apt install binutils`, or set OBJCOPY)"
        }
        _ => "",
    }
}

/// Writes a copy of `artifact` with `set`'s list embedded under `dir` and returns the
/// artifact describing the copy.
pub fn embed(
    artifact: &BuiltArtifact,
    set: &DepSet,
    dir: &Utf8Path,
    ctx: &Ctx,
) -> Result<BuiltArtifact, EmbedError> {
    let io = |action, path: &Utf8Path| {
        let path = path.to_owned();
        move |source| EmbedError::Io {
            action,
            path,
            source,
        }
    };
    let payload = encode(&version_info(set));
    let out_dir = dir.join(&artifact.target);
    std::fs::create_dir_all(&out_dir).map_err(io("create directory", &out_dir))?;
    let out = out_dir.join(&artifact.file_name);
    let stamp_path = out_dir.join(format!(".{}.plugpack-embed.json", artifact.file_name));
    let payload_sha256 = Sha256Digest::of_bytes(&payload);
    let digests = crate::digest_cache::DigestCache::at(dir.join(".digests"));
    if let Some(done) = reuse_embedded(&stamp_path, payload_sha256, &out, artifact, &digests) {
        return Ok(done);
    }
    // Only the magic number decides the format: an ELF file is never read into memory here.
    let mut magic = [0u8; 4];
    std::fs::File::open(&artifact.path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .map_err(io("read", &artifact.path))?;
    if is_wasm(&magic) {
        let bytes = std::fs::read(&artifact.path).map_err(io("read", &artifact.path))?;
        let module = wasm_with_section(&artifact.path, &bytes, &payload)?;
        crate::types::write_atomic(&out, &module).map_err(io("write", &out))?;
        let permissions = std::fs::metadata(&artifact.path)
            .map_err(io("read", &artifact.path))?
            .permissions();
        std::fs::set_permissions(&out, permissions).map_err(io("write", &out))?;
    } else if magic == *b"\x7fELF" {
        // Temporaries in this run's own directory beside the output: concurrent runs never
        // see a half-written file, the final rename is atomic, and a killed run's leftovers
        // are removed by the next run (see `crate::scratch`).
        let run = crate::scratch::RunDir::create_in(&out_dir)
            .map_err(io("create a temporary directory in", &out_dir))?;
        let temp = |suffix: &str| {
            tempfile::Builder::new()
                .prefix("embed-")
                .suffix(suffix)
                .tempfile_in(run.path())
                .map_err(io("create a temporary file in", &out_dir))
        };
        let section_file = temp(".dep-v0")?;
        std::fs::write(section_file.path(), &payload).map_err(io("write", &out_dir))?;
        let staged = temp(".so")?;
        let objcopy = ctx.var("OBJCOPY").unwrap_or("objcopy").to_owned();
        let mut cmd = Command::new(objcopy);
        cmd.arg("--remove-section")
            .arg(SECTION)
            .arg("--add-section")
            .arg(format!("{SECTION}={}", section_file.path().display()))
            .arg("--set-section-flags")
            .arg(format!("{SECTION}=contents,readonly,noload"))
            .arg(&artifact.path)
            .arg(staged.path());
        crate::process::output(&mut cmd).map_err(|source| EmbedError::Objcopy {
            path: artifact.path.clone(),
            source,
        })?;
        let permissions = std::fs::metadata(&artifact.path)
            .map_err(io("read", &artifact.path))?
            .permissions();
        std::fs::set_permissions(staged.path(), permissions).map_err(io("write", &out))?;
        staged
            .persist(&out)
            .map_err(|e| e.error)
            .map_err(io("write", &out))?;
    } else {
        return Err(EmbedError::UnsupportedFormat {
            path: artifact.path.clone(),
        });
    }
    let hashed_at = std::time::SystemTime::now();
    let (sha256, size, file_stamp) =
        Sha256Digest::of_file_stamped(&out).map_err(io("read", &out))?;
    digests.remember(&out, file_stamp, sha256, size, hashed_at);
    // The stamp only saves work next time; failing to write it changes nothing else.
    let stamp = EmbedStamp {
        input: artifact.sha256,
        payload: payload_sha256,
        output: sha256,
        size,
    };
    if let Ok(json) = serde_json::to_vec(&stamp) {
        let _ = crate::types::write_atomic(&stamp_path, &json);
    }
    Ok(BuiltArtifact {
        path: out,
        sha256,
        size,
        stamp: Some(file_stamp),
        ..artifact.clone()
    })
}

/// What an embedded copy was made from, kept beside it (`.<file>.plugpack-embed.json`) so a
/// rebuild that changed neither the artifact nor the dependency list reuses the copy instead of
/// rewriting it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct EmbedStamp {
    /// SHA-256 of cargo's artifact.
    input: Sha256Digest,
    /// SHA-256 of the `.dep-v0` payload.
    payload: Sha256Digest,
    /// SHA-256 of the embedded copy.
    output: Sha256Digest,
    /// Its size.
    size: u64,
}

/// The embedded copy at `out`, when its stamp says it was made from this artifact and this
/// payload and its bytes still hash to what the stamp recorded (hashed again unless the
/// digest cache knows the file unchanged since; a missing or unreadable stamp only means the
/// copy is made again).
fn reuse_embedded(
    stamp_path: &Utf8Path,
    payload_sha256: Sha256Digest,
    out: &Utf8Path,
    artifact: &BuiltArtifact,
    digests: &crate::digest_cache::DigestCache,
) -> Option<BuiltArtifact> {
    let stamp: EmbedStamp = serde_json::from_slice(&std::fs::read(stamp_path).ok()?).ok()?;
    if stamp.input != artifact.sha256 || stamp.payload != payload_sha256 {
        return None;
    }
    if std::fs::metadata(out).ok()?.len() != stamp.size {
        return None;
    }
    let (sha256, size, file_stamp) = digests.digest(out).ok()?;
    (sha256 == stamp.output && size == stamp.size).then(|| BuiltArtifact {
        path: out.to_owned(),
        sha256,
        size,
        stamp: Some(file_stamp),
        ..artifact.clone()
    })
}

/// Reads the embedded list back from an ELF, Mach-O, PE or wasm file.
pub fn extract(path: &Utf8Path) -> Result<VersionInfo, EmbedError> {
    let bytes = std::fs::read(path).map_err(|source| EmbedError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })?;
    let payload = if is_wasm(&bytes) {
        wasm_sections(path, &bytes)?
            .into_iter()
            .find(|s| s.name.as_deref() == Some(SECTION))
            .map(|s| bytes[s.payload.clone()].to_vec())
    } else {
        use object::{Object, ObjectSection};
        let file = object::File::parse(&*bytes).map_err(|_| EmbedError::UnsupportedFormat {
            path: path.to_owned(),
        })?;
        file.section_by_name(SECTION)
            .and_then(|s| s.data().ok())
            .map(<[u8]>::to_vec)
    };
    let payload = payload.ok_or_else(|| EmbedError::NotFound {
        path: path.to_owned(),
    })?;
    decode(path, &payload)
}

fn is_wasm(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\0asm")
}

/// One top-level wasm section: its full byte range, and for custom sections its name and
/// payload range.
struct WasmSection {
    range: std::ops::Range<usize>,
    name: Option<String>,
    payload: std::ops::Range<usize>,
}

fn read_leb(bytes: &[u8], pos: &mut usize) -> Option<usize> {
    let mut result: u64 = 0;
    for shift in (0..35).step_by(7) {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        result |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return usize::try_from(result).ok();
        }
    }
    None
}

fn write_leb(mut value: usize, out: &mut Vec<u8>) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn wasm_sections(path: &Utf8Path, bytes: &[u8]) -> Result<Vec<WasmSection>, EmbedError> {
    let invalid = || EmbedError::Invalid {
        path: path.to_owned(),
        reason: "malformed wasm section table".to_owned(),
    };
    let mut sections = Vec::new();
    let mut pos = 8;
    while pos < bytes.len() {
        let start = pos;
        let id = bytes[pos];
        pos += 1;
        let size = read_leb(bytes, &mut pos).ok_or_else(invalid)?;
        let end = pos.checked_add(size).filter(|e| *e <= bytes.len());
        let end = end.ok_or_else(invalid)?;
        let (name, payload) = if id == 0 {
            let mut p = pos;
            let len = read_leb(bytes, &mut p).ok_or_else(invalid)?;
            let name_end = p
                .checked_add(len)
                .filter(|e| *e <= end)
                .ok_or_else(invalid)?;
            let name = String::from_utf8_lossy(&bytes[p..name_end]).into_owned();
            (Some(name), name_end..end)
        } else {
            (None, pos..end)
        };
        sections.push(WasmSection {
            range: start..end,
            name,
            payload,
        });
        pos = end;
    }
    Ok(sections)
}

/// The module without any old `.dep-v0` custom section, with a new one appended.
fn wasm_with_section(path: &Utf8Path, bytes: &[u8], payload: &[u8]) -> Result<Vec<u8>, EmbedError> {
    let sections = wasm_sections(path, bytes)?;
    let mut out = bytes[..8].to_vec();
    for s in &sections {
        if s.name.as_deref() != Some(SECTION) {
            out.extend_from_slice(&bytes[s.range.clone()]);
        }
    }
    let mut content = Vec::new();
    write_leb(SECTION.len(), &mut content);
    content.extend_from_slice(SECTION.as_bytes());
    content.extend_from_slice(payload);
    out.push(0);
    write_leb(content.len(), &mut out);
    out.extend_from_slice(&content);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_and_wasm_section_is_replaced() {
        let info = VersionInfo {
            format: 1,
            packages: vec![AuditPackage {
                name: "a".to_owned(),
                version: "1.0.0".to_owned(),
                source: "local".to_owned(),
                kind: None,
                dependencies: vec![],
                root: true,
            }],
        };
        let payload = encode(&info);
        let path = Utf8Path::new("m.wasm");
        assert_eq!(decode(path, &payload).unwrap(), info);
        let json = String::from_utf8({
            let mut v = Vec::new();
            flate2::read::ZlibDecoder::new(&payload[..])
                .read_to_end(&mut v)
                .unwrap();
            v
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"format":1,"packages":[{"name":"a","version":"1.0.0","source":"local","root":true}]}"#
        );
        // Minimal module: header + one type section.
        let module = b"\0asm\x01\0\0\0\x01\x01\x00".to_vec();
        let once = wasm_with_section(path, &module, &payload).unwrap();
        let twice = wasm_with_section(path, &once, &payload).unwrap();
        assert_eq!(once, twice);
        let sections = wasm_sections(path, &once).unwrap();
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[1].name.as_deref(), Some(SECTION));
        assert_eq!(&once[sections[1].payload.clone()], &payload[..]);
        assert!(wasm_sections(path, b"\0asm\x01\0\0\0\x00\x05ab").is_err());
    }

    #[test]
    fn a_missing_objcopy_names_binutils() {
        let spawn =
            crate::process::output(&mut Command::new("plugpack-no-such-objcopy")).unwrap_err();
        let e = EmbedError::Objcopy {
            path: "libx.so".into(),
            source: spawn,
        };
        assert!(e.to_string().contains("install binutils"), "{e}");
        let failed = crate::process::output(&mut Command::new("false")).unwrap_err();
        let e = EmbedError::Objcopy {
            path: "libx.so".into(),
            source: failed,
        };
        assert!(!e.to_string().contains("binutils"), "{e}");
    }

    #[test]
    fn leb_round_trips() {
        for v in [0usize, 1, 127, 128, 300, 1 << 20] {
            let mut out = Vec::new();
            write_leb(v, &mut out);
            let mut pos = 0;
            assert_eq!(read_leb(&out, &mut pos), Some(v));
            assert_eq!(pos, out.len());
        }
    }
}
