//! ABI fingerprints of plugin artifacts, their diffs and the semver verdict.
//!
//! Input: a built artifact (ELF / Mach-O / PE shared library or a wasm module), read from disk
//! and never loaded or executed. Output: an [`AbiFingerprint`], the versioned
//! `plugpack-abi/1` JSON document, and (via [`diff()`]) an [`AbiDiff`] with a semver
//! verdict ([`Bump`]). Side effects: none besides reading the file ([`write()`] writes a document
//! atomically; [`load`] may extract a bundle into a temporary directory).
//!
//! # What is recorded
//! * **exports** (functions, data, wasm globals/memories/tables) with a canonical signature,
//!   the named types reachable from it and a per-symbol sha256 over the signature *and* the
//!   layouts of those types, so a struct change shows up on every export that reaches it;
//! * **imports**: for wasm, what the host must provide (`module::name` with the core
//!   signature; a semver fact); for native libraries, needed libraries, undefined symbols and
//!   the glibc symbol-version floor go to [`Platform`] (a deployment fact, not a semver one);
//! * **types**: every struct/union/enum reachable from an export, with size, alignment and
//!   field offsets and types, from DWARF;
//! * `fingerprint` = sha256 over the sorted lines `abi …`, `export <name> <sha>` and
//!   `import <name> <sha>`. Package name/version and the target triple are informative
//!   and outside the hash, so the same source built in debug and release gives the same value.
//!
//! # Canonical type form
//! Types render independently of addresses, code sizes, paths, line numbers, producer
//! strings and build ids. Pointers and references render as `*T` whatever their constness
//! or Rust spelling; typedefs, `const` and `volatile` are looked through; structs, unions and
//! enums render as their fully qualified name and are described once in `types`. Variants of
//! Rust enums are laid out inline in their enum.
//!
//! # Detail levels and release builds
//! Each export states its `detail`: `types` when DWARF describes it, directly or as an
//! **alias** (an export at the address, or wasm function index, of another export DWARF
//! describes: identical code folded into one body by the optimiser; recorded with that
//! subprogram's types and `alias_of`), `symbols` otherwise. The document's `detail` is
//! `types` when every export is, `symbols` otherwise (no DWARF; DWARF from
//! `debug = "limited"` / `"line-tables-only"`, which have no parameter types: detected by
//! the absence of any base type in the DWARF, so we never silently claim types; or exports
//! with no description, named in `notes`). The reasons are listed in `notes`. Release
//! profiles usually ship without full debuginfo; for `cargo plugpack
//! fingerprint`/`package`/`abi-check`, [`crate::pipeline`] therefore fingerprints a companion
//! build of the same profile with `CARGO_PROFILE_<P>_DEBUG=full` and `…_STRIP=none` in a
//! separate target directory (`<target-dir>/plugpack-abi`), and checks that its export set
//! equals that of the shipped artifact. The shipped artifact keeps the user's profile.
//!
//! Memory stays proportional to the exported interface, not to the file or its DWARF: the
//! artifact is read by range (`object::ReadCache` for headers and symbol tables, positioned
//! reads for DWARF, one unit at a time, and for wasm sections); types are described only
//! when reached. See `docs/fingerprint.md` (Benchmark) for the measured bounds.

mod aliases;
pub mod api;
#[cfg(feature = "tool")]
pub mod cache;
pub mod component;
mod component_diff;
mod diff;
mod dwarf;
mod error;
mod native;
mod source;
mod wasm;
#[cfg(feature = "component")]
mod wit_decode;

use std::collections::{BTreeMap, BTreeSet};

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

pub use diff::{
    AbiDiff, Bump, Change, ChangeKind, VersionCheck, check_version, diff, minimum_version,
};
pub use error::Error;

use crate::types::Sha256Digest;

/// The schema name of the document.
pub const SCHEMA: &str = "plugpack-abi/1";
/// Media type of the document when attached to a bundle.
pub const MEDIA_TYPE: &str = "application/vnd.plugpack.abi.v1+json";
/// Manifest annotation holding the overall fingerprint.
pub const ANNOTATION: &str = "dev.plugpack.abi.fingerprint";
/// Manifest annotation holding the detail level.
pub const DETAIL_ANNOTATION: &str = "dev.plugpack.abi.detail";

/// How much the fingerprint knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Detail {
    /// Symbol names and kinds (plus wasm core signatures) only.
    Symbols,
    /// Full function signatures and reachable type layouts from DWARF.
    Types,
    /// A component's WIT world: interfaces, canonical function signatures and WIT types.
    Wit,
}

impl std::fmt::Display for Detail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Detail::Symbols => "symbols",
            Detail::Types => "types",
            Detail::Wit => "wit",
        })
    }
}

/// Container format of the artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// ELF shared object.
    Elf,
    /// Mach-O dylib.
    Macho,
    /// PE DLL.
    Pe,
    /// WebAssembly core module.
    Wasm,
    /// WebAssembly component (component model, `wasm32-wasip2`).
    Component,
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::Elf => "elf",
            Format::Macho => "macho",
            Format::Pe => "pe",
            Format::Wasm => "wasm",
            Format::Component => "component",
        })
    }
}

/// What kind of thing a symbol is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SymbolKind {
    /// A function.
    Function,
    /// A data object (native static).
    Data,
    /// A wasm global.
    Global,
    /// A wasm memory.
    Memory,
    /// A wasm table.
    Table,
    /// A wasm tag.
    Tag,
    /// Kind unknown (symbols from Mach-O/PE export tables).
    Unknown,
}

impl SymbolKind {
    /// The lowercase name used in JSON and in hashed lines.
    pub fn as_str(&self) -> &'static str {
        match self {
            SymbolKind::Function => "function",
            SymbolKind::Data => "data",
            SymbolKind::Global => "global",
            SymbolKind::Memory => "memory",
            SymbolKind::Table => "table",
            SymbolKind::Tag => "tag",
            SymbolKind::Unknown => "unknown",
        }
    }
}

/// One export or import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Symbol {
    /// Name (`module::name` for wasm imports).
    pub name: String,
    /// Kind.
    pub kind: SymbolKind,
    /// Canonical signature (`fn(i32, *u8) -> i32`, `data u32`, `global mut i32`, …).
    pub signature: String,
    /// Size in bytes of a data symbol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Named types reachable from the signature (keys of [`AbiFingerprint::types`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    /// What this export's record knows (exports only). Absent in documents written before
    /// per-export detail existed: then the document's `detail` applies (see
    /// [`AbiFingerprint::export_detail`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Detail>,
    /// The export whose DWARF description this one borrows: both names are the same address
    /// (the optimiser folded identical code) and DWARF describes only that one. Not hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_of: Option<String>,
    /// Why the detail is what it is, when this export is not described directly (an alias,
    /// or no DWARF description at all). Not hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// sha256 over the signature line and the layouts of `types` (not over `detail`,
    /// `alias_of` or `note`: an alias that splits off with the same types keeps its hash).
    pub sha256: Sha256Digest,
}

/// What kind of named type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TypeKind {
    /// `struct` (or class).
    Struct,
    /// `union`.
    Union,
    /// C-like enumeration.
    Enum,
}

/// One field of a struct, union or enum variant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Field {
    /// Field name (`__0` for tuple fields, as rustc names them).
    pub name: String,
    /// Byte offset.
    pub offset: u64,
    /// Canonical type.
    #[serde(rename = "type")]
    pub ty: String,
}

/// One variant of a Rust data-carrying enum.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Variant {
    /// Variant name.
    pub name: String,
    /// Discriminant value, when the variant has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discriminant: Option<i64>,
    /// Fields, offsets relative to the enum.
    pub fields: Vec<Field>,
}

/// The layout of a named type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeLayout {
    /// Struct, union or enum.
    pub kind: TypeKind,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Alignment in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub align: Option<u64>,
    /// Fields in offset order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    /// Variants (Rust enums), with the tag field in `fields`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
    /// Enumerators (`NAME=value`) of C-like enums.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enumerators: Vec<String>,
}

impl TypeLayout {
    /// The canonical one-line form hashed into symbol digests.
    pub fn canonical(&self, name: &str) -> String {
        let kind = match self.kind {
            TypeKind::Struct => "struct",
            TypeKind::Union => "union",
            TypeKind::Enum => "enum",
        };
        let opt = |v: Option<u64>| v.map_or_else(|| "?".to_owned(), |v| v.to_string());
        let fields = |fields: &[Field]| {
            fields
                .iter()
                .map(|f| format!("{}@{}:{}", f.name, f.offset, f.ty))
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut out = format!(
            "type {kind} {name} size={} align={} {{{}}}",
            opt(self.size),
            opt(self.align),
            fields(&self.fields)
        );
        for v in &self.variants {
            let d = v.discriminant.map_or_else(String::new, |d| format!("={d}"));
            out.push_str(&format!(" |{}{d}{{{}}}", v.name, fields(&v.fields)));
        }
        if !self.enumerators.is_empty() {
            out.push_str(&format!(" [{}]", self.enumerators.join(",")));
        }
        out
    }
}

/// Facts about what the artifact needs from its platform (not semver facts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// Needed shared libraries (`DT_NEEDED`, Mach-O/PE imports), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needed: Vec<String>,
    /// Highest `GLIBC_x.y` symbol version required, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glibc: Option<String>,
    /// Undefined (imported) native symbols, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undefined: Vec<String>,
}

/// Which package the fingerprint describes (informative, outside the hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRef {
    /// Package name.
    pub name: String,
    /// Package version.
    pub version: String,
}

/// The `plugpack-abi/1` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbiFingerprint {
    /// Always `plugpack-abi/1`.
    pub schema: String,
    /// Package, when fingerprinted from a build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<PackageRef>,
    /// Target triple, when known (from the build or `--target`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Container format.
    pub format: Format,
    /// Architecture as `object` names it (`x86_64`, `aarch64`, `wasm32`, …).
    pub architecture: String,
    /// Pointer width in bits.
    pub pointer_width: u8,
    /// `little` or `big`.
    pub endianness: String,
    /// `types` or `symbols`.
    pub detail: Detail,
    /// Why the detail is what it is (missing DWARF, functions without type info, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Exports, sorted by name.
    pub exports: Vec<Symbol>,
    /// Imports the host must provide (wasm), sorted by name.
    #[serde(default)]
    pub imports: Vec<Symbol>,
    /// Named types reachable from exports and imports.
    #[serde(default)]
    pub types: BTreeMap<String, TypeLayout>,
    /// Platform requirements.
    #[serde(default)]
    pub platform: Platform,
    /// The WIT world of a component (`detail: wit`); its functions are also the
    /// `exports`/`imports` symbols, named by WIT path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wit: Option<component::WitWorld>,
    /// Public API hashes from rustdoc JSON (optional extra, outside `fingerprint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<api::ApiFingerprint>,
    /// sha256 over the sorted per-symbol lines.
    pub fingerprint: Sha256Digest,
}

impl AbiFingerprint {
    /// The export called `name`.
    pub fn export(&self, name: &str) -> Option<&Symbol> {
        self.exports.iter().find(|s| s.name == name)
    }

    /// The detail level of one export's record: its own `detail`, or the document's for
    /// documents written before exports stated theirs.
    pub fn export_detail(&self, symbol: &Symbol) -> Detail {
        symbol.detail.unwrap_or(self.detail)
    }

    /// The lines the overall fingerprint hashes, sorted.
    pub fn fingerprint_lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "abi {} {} {} {}",
            self.format, self.architecture, self.pointer_width, self.endianness
        )];
        lines.extend(
            self.exports
                .iter()
                .map(|s| format!("export {} {}", s.name, s.sha256)),
        );
        lines.extend(
            self.imports
                .iter()
                .map(|s| format!("import {} {}", s.name, s.sha256)),
        );
        lines.sort();
        lines
    }

    /// Recomputes `fingerprint` from the symbols.
    fn seal(&mut self) {
        let mut text = String::new();
        for line in self.fingerprint_lines() {
            text.push_str(&line);
            text.push('\n');
        }
        self.fingerprint = Sha256Digest::of_bytes(text.as_bytes());
    }

    /// Pretty JSON with a trailing newline (what `fingerprint -o` writes).
    pub fn to_json(&self) -> Result<Vec<u8>, Error> {
        let mut bytes = serde_json::to_vec_pretty(self).map_err(Error::Serialize)?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Canonical JSON (what `package` attaches).
    pub fn to_canonical_json(&self) -> Result<Vec<u8>, Error> {
        crate::types::canonical_json(self).map_err(Error::Serialize)
    }

    /// Parses a document; `path` names it in errors. Unknown schemas are rejected.
    pub fn from_json(path: &Utf8Path, bytes: &[u8]) -> Result<Self, Error> {
        #[derive(Deserialize)]
        struct Probe {
            schema: String,
        }
        let probe: Probe = serde_json::from_slice(bytes).map_err(|source| Error::BadDocument {
            path: path.to_owned(),
            source,
        })?;
        if probe.schema != SCHEMA {
            return Err(Error::UnknownSchema {
                path: path.to_owned(),
                schema: probe.schema,
            });
        }
        serde_json::from_slice(bytes).map_err(|source| Error::BadDocument {
            path: path.to_owned(),
            source,
        })
    }
}

/// Raw facts collected by a format reader, before hashing.
#[derive(Debug, Default)]
pub(crate) struct RawSymbol {
    pub name: String,
    pub kind: Option<SymbolKind>,
    pub signature: String,
    pub size: Option<u64>,
    pub types: BTreeSet<String>,
    /// Where the symbol is (native: its address; wasm: its function index), to recognise
    /// aliases.
    pub address: Option<u64>,
    /// Per-export detail; `None`: the document's.
    pub detail: Option<Detail>,
    pub alias_of: Option<String>,
    pub note: Option<String>,
}

/// What a reader returns.
#[derive(Debug)]
pub(crate) struct RawAbi {
    pub format: Format,
    pub architecture: String,
    pub pointer_width: u8,
    pub little_endian: bool,
    pub detail: Detail,
    pub notes: Vec<String>,
    pub exports: Vec<RawSymbol>,
    pub imports: Vec<RawSymbol>,
    pub types: BTreeMap<String, TypeLayout>,
    pub platform: Platform,
}

fn finish(raw: RawAbi) -> AbiFingerprint {
    let doc_detail = raw.detail;
    let hash_symbol = |s: RawSymbol, types: &BTreeMap<String, TypeLayout>, export: bool| {
        let kind = s.kind.unwrap_or(SymbolKind::Unknown);
        let mut text = format!("{} {} {}", s.name, kind.as_str(), s.signature);
        if let Some(size) = s.size {
            text.push_str(&format!(" size={size}"));
        }
        text.push('\n');
        for name in &s.types {
            match types.get(name) {
                Some(layout) => text.push_str(&layout.canonical(name)),
                None => text.push_str(&format!("type ? {name}")),
            }
            text.push('\n');
        }
        Symbol {
            name: s.name,
            kind,
            signature: s.signature,
            size: s.size,
            types: s.types.into_iter().collect(),
            detail: export.then(|| s.detail.unwrap_or(doc_detail)),
            alias_of: s.alias_of,
            note: s.note,
            sha256: Sha256Digest::of_bytes(text.as_bytes()),
        }
    };
    let mut exports: Vec<Symbol> = raw
        .exports
        .into_iter()
        .map(|s| hash_symbol(s, &raw.types, true))
        .collect();
    exports.sort_by(|a, b| a.name.cmp(&b.name));
    exports.dedup_by(|a, b| a.name == b.name);
    let mut imports: Vec<Symbol> = raw
        .imports
        .into_iter()
        .map(|s| hash_symbol(s, &raw.types, false))
        .collect();
    imports.sort_by(|a, b| a.name.cmp(&b.name));
    imports.dedup_by(|a, b| a.name == b.name);
    let mut notes = raw.notes;
    notes.sort();
    notes.dedup();
    let mut doc = AbiFingerprint {
        schema: SCHEMA.to_owned(),
        package: None,
        target: None,
        format: raw.format,
        architecture: raw.architecture,
        pointer_width: raw.pointer_width,
        endianness: if raw.little_endian { "little" } else { "big" }.to_owned(),
        detail: raw.detail,
        notes,
        exports,
        imports,
        types: raw.types,
        platform: raw.platform,
        api: None,
        wit: None,
        fingerprint: Sha256Digest::from_bytes([0; 32]),
    };
    doc.seal();
    doc
}

/// Fingerprints artifact bytes; `path` only names the file in errors.
pub fn fingerprint_bytes(path: &Utf8Path, bytes: &[u8]) -> Result<AbiFingerprint, Error> {
    if component::is_component(bytes) {
        return component::read(path, bytes);
    }
    let raw = if bytes.starts_with(b"\0asm") {
        wasm::read(path, &bytes)?
    } else {
        native::read(path, bytes, bytes, &bytes, None)?
    };
    Ok(finish(raw))
}

/// The `.dSYM` DWARF file Apple toolchains (and rustc's default `split-debuginfo =
/// "packed"` on macOS) put next to a Mach-O library: `<lib>.dSYM/Contents/Resources/DWARF/<lib>`.
fn dsym_companion(path: &Utf8Path, bytes: &[u8]) -> Option<Utf8PathBuf> {
    let macho = matches!(
        bytes.get(..4),
        Some([0xcf, 0xfa, 0xed, 0xfe] | [0xce, 0xfa, 0xed, 0xfe] | [0xfe, 0xed, 0xfa, 0xcf])
    );
    if !macho {
        return None;
    }
    let name = path.file_name()?;
    let dsym = Utf8PathBuf::from(format!("{path}.dSYM"))
        .join("Contents/Resources/DWARF")
        .join(name);
    dsym.is_file().then_some(dsym)
}

/// Reads and fingerprints an artifact file (never loads or runs it). For a Mach-O library
/// with a `.dSYM` bundle beside it, DWARF is read from the bundle. The file is read by range,
/// never whole: memory follows the exported interface, not the file's size.
pub fn fingerprint_file(path: &Utf8Path) -> Result<AbiFingerprint, Error> {
    fingerprint_path(path, true)
}

/// [`fingerprint_file`], reading a `.dSYM` companion only when `dsym` is set.
fn fingerprint_path(path: &Utf8Path, with_dsym: bool) -> Result<AbiFingerprint, Error> {
    let read_error = |path: &Utf8Path| {
        let path = path.to_owned();
        move |source| Error::Read { path, source }
    };
    let open =
        |path: &Utf8Path| -> Result<(source::FileSource, object::ReadCache<std::fs::File>), Error> {
            let file = std::fs::File::open(path).map_err(read_error(path))?;
            let cache = object::ReadCache::new(file.try_clone().map_err(read_error(path))?);
            Ok((
                source::FileSource::new(file).map_err(read_error(path))?,
                cache,
            ))
        };
    let (src, cache) = open(path)?;
    let mut head = vec![0; source::ReadAt::size(&src).min(8) as usize];
    source::ReadAt::read_exact_at(&src, 0, &mut head).map_err(read_error(path))?;
    if component::is_component(&head) {
        let bytes = std::fs::read(path).map_err(read_error(path))?;
        return component::read(path, &bytes);
    }
    let raw = if head.starts_with(b"\0asm") {
        wasm::read(path, &src)?
    } else {
        match dsym_companion(path, &head).filter(|_| with_dsym) {
            Some(dsym) => {
                let (debug_src, debug_cache) = open(&dsym)?;
                native::read(path, &head, &cache, &src, Some((&debug_cache, &debug_src)))?
            }
            None => native::read(path, &head, &cache, &src, None)?,
        }
    };
    Ok(finish(raw))
}

/// Writes `doc` as pretty JSON to `path`, atomically.
pub fn write(doc: &AbiFingerprint, path: &Utf8Path) -> Result<(), Error> {
    crate::types::write_atomic(path, &doc.to_json()?).map_err(|source| Error::Write {
        path: path.to_owned(),
        source,
    })
}

#[cfg(feature = "tool")]
/// One side of `abi-diff`: a fingerprint document, an artifact or a bundle, loaded.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Where it came from.
    pub path: Utf8PathBuf,
    /// The fingerprint.
    pub fingerprint: AbiFingerprint,
    /// The package version, when the input records it (document or bundle tag).
    pub version: Option<String>,
}

#[cfg(feature = "tool")]
/// Loads a fingerprint from a JSON document, an artifact or a bundle (`*.oci.tar`). A bundle
/// gives its attached fingerprint (first target), or else the fingerprint of its artifact.
pub fn load(path: &Utf8Path) -> Result<Loaded, Error> {
    use std::io::Read as _;
    let read_error = |source| Error::Read {
        path: path.to_owned(),
        source,
    };
    // Sniff the start; an artifact is then read by range, never whole.
    const HEAD: u64 = 4096;
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(HEAD).read_to_end(&mut head))
        .map_err(read_error)?;
    let trimmed = head.iter().position(|b| !b.is_ascii_whitespace());
    let maybe_json = match trimmed {
        Some(i) => head[i] == b'{',
        None => head.len() as u64 == HEAD, // only whitespace so far: look at the whole
    };
    if maybe_json {
        let bytes = std::fs::read(path).map_err(read_error)?;
        let trimmed = bytes.iter().position(|b| !b.is_ascii_whitespace());
        if trimmed.is_some_and(|i| bytes[i] == b'{') {
            let fingerprint = AbiFingerprint::from_json(path, &bytes)?;
            let version = fingerprint.package.as_ref().map(|p| p.version.clone());
            return Ok(Loaded {
                path: path.to_owned(),
                fingerprint,
                version,
            });
        }
    }
    if head.len() > 262 && &head[257..262] == b"ustar" {
        return load_bundle(path);
    }
    // As `fingerprint_bytes` did here: the file alone (no `.dSYM` companion).
    let fingerprint = fingerprint_path(path, false)?;
    Ok(Loaded {
        path: path.to_owned(),
        fingerprint,
        version: None,
    })
}

#[cfg(feature = "tool")]
/// Loads both sides (each a document, artifact or bundle) and diffs them.
pub fn diff_paths(old: &Utf8Path, new: &Utf8Path) -> Result<AbiDiff, Error> {
    let old = load(old)?;
    let new = load(new)?;
    Ok(diff(&old.fingerprint, &new.fingerprint))
}

#[cfg(feature = "tool")]
fn load_bundle(path: &Utf8Path) -> Result<Loaded, Error> {
    let layout = crate::oci::read_bundle(path).map_err(Box::new)?;
    let info = crate::oci::inspect(&layout).map_err(Box::new)?;
    let version = info.tag.clone();
    for referrer in &info.referrers {
        if referrer.artifact_type.as_deref() != Some(MEDIA_TYPE) {
            continue;
        }
        for layer in &referrer.layers {
            if let Some(json) = layout.json_blob(&layer.digest) {
                let mut fingerprint = AbiFingerprint::from_json(path, json)?;
                let version = fingerprint
                    .package
                    .as_ref()
                    .map(|p| p.version.clone())
                    .or(version);
                if fingerprint.target.is_none() {
                    fingerprint.target = info.manifests.first().and_then(|m| m.target.clone());
                }
                return Ok(Loaded {
                    path: path.to_owned(),
                    fingerprint,
                    version,
                });
            }
        }
    }
    let dir = tempfile::tempdir().map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    let dir_path =
        Utf8PathBuf::from_path_buf(dir.path().to_owned()).map_err(|_| Error::Bundle {
            path: path.to_owned(),
            reason: "temporary directory is not UTF-8".to_owned(),
        })?;
    let files = crate::oci::extract(path, &dir_path).map_err(Box::new)?;
    let Some(first) = files.first() else {
        return Err(Error::Bundle {
            path: path.to_owned(),
            reason: "holds no plugin artifact".to_owned(),
        });
    };
    let mut fingerprint = fingerprint_file(&first.path)?;
    fingerprint.target = Some(first.target.clone());
    Ok(Loaded {
        path: path.to_owned(),
        fingerprint,
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_truncated_inputs_are_errors_not_panics() {
        let p = Utf8Path::new("x");
        let cases: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"hello world, not a binary".to_vec(),
            b"\x7fELF".to_vec(),
            b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0".to_vec(),
            b"\0asm".to_vec(),
            b"\0asm\x01\0\0\0\x01\x05".to_vec(),
            b"!<arch>\n".to_vec(),
        ];
        for bytes in cases {
            let err = fingerprint_bytes(p, &bytes).unwrap_err();
            assert!(
                matches!(err, Error::Unsupported { .. } | Error::Malformed { .. }),
                "{err:?}"
            );
        }
    }

    #[test]
    fn static_library_is_named_as_such() {
        let err = fingerprint_bytes(Utf8Path::new("libx.a"), b"!<arch>\n").unwrap_err();
        assert!(err.to_string().contains("static library"), "{err}");
    }

    #[test]
    fn layout_canonical_form_is_stable() {
        let layout = TypeLayout {
            kind: TypeKind::Struct,
            size: Some(16),
            align: Some(8),
            fields: vec![
                Field {
                    name: "count".into(),
                    offset: 0,
                    ty: "u32".into(),
                },
                Field {
                    name: "first".into(),
                    offset: 8,
                    ty: "i64".into(),
                },
            ],
            variants: vec![],
            enumerators: vec![],
        };
        assert_eq!(
            layout.canonical("p::Stats"),
            "type struct p::Stats size=16 align=8 {count@0:u32,first@8:i64}"
        );
    }
}
