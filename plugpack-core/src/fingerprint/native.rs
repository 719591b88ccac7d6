//! Native shared libraries (ELF, Mach-O, PE) through the `object` crate: exported symbols,
//! platform requirements, and DWARF types through [`super::dwarf`].

use std::collections::BTreeMap;

use camino::Utf8Path;
use object::read::elf::{Dyn as _, ElfFile, FileHeader};
use object::{
    CompressionFormat, Endianness, FileKind, Object, ObjectKind, ObjectSection, ObjectSymbol,
    ReadRef, SymbolKind as OSymKind,
};

use super::dwarf::Sections;
use super::source::{self, Compression, ReadAt, Section};
use super::{Detail, Error, Format, Platform, RawAbi, RawSymbol, SymbolKind};

/// Reads a native library: `head` is its first bytes, `data` what `object` parses (a byte
/// slice or a [`object::ReadCache`] over the file, which only reads the headers and tables it
/// is asked for), `src` the same file for positioned reads of DWARF sections. `debug`, when
/// given, is a separate debug-info file (a Mach-O `.dSYM` DWARF file) to take DWARF from
/// instead of the library itself, in the same two forms.
pub(crate) fn read<'d, D: ReadRef<'d>>(
    path: &Utf8Path,
    head: &[u8],
    data: D,
    src: &dyn ReadAt,
    debug: Option<(D, &dyn ReadAt)>,
) -> Result<RawAbi, Error> {
    let bytes = head;
    let unsupported = |reason: &str| Error::Unsupported {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    if bytes.starts_with(b"!<arch>\n") || bytes.starts_with(b"!<thin>\n") {
        return Err(unsupported(
            "a static library (ar archive); plugins are cdylib shared libraries",
        ));
    }
    let kind = FileKind::parse(data)
        .map_err(|_| unsupported("unknown file format (expected ELF, Mach-O, PE or wasm)"))?;
    let format = match kind {
        FileKind::Archive => {
            return Err(unsupported(
                "a static library (ar archive); plugins are cdylib shared libraries",
            ));
        }
        FileKind::Elf32 | FileKind::Elf64 => Format::Elf,
        FileKind::MachO32 | FileKind::MachO64 => Format::Macho,
        FileKind::Pe32 | FileKind::Pe64 => Format::Pe,
        other => {
            return Err(unsupported(&format!(
                "unsupported object format {other:?} (expected a shared library)"
            )));
        }
    };
    let format_name = match format {
        Format::Elf => "ELF",
        Format::Macho => "Mach-O",
        Format::Pe => "PE",
        Format::Wasm | Format::Component => "wasm",
    };
    let malformed = |e: object::Error| Error::Malformed {
        path: path.to_owned(),
        format: format_name,
        reason: e.to_string(),
    };
    let file = object::File::parse(data).map_err(malformed)?;
    match file.kind() {
        ObjectKind::Dynamic => {}
        ObjectKind::Executable => return Err(unsupported("an executable, not a shared library")),
        ObjectKind::Relocatable => {
            return Err(unsupported(
                "a relocatable object file, not a shared library",
            ));
        }
        other => return Err(unsupported(&format!("an object of kind {other:?}"))),
    }
    if format == Format::Elf && file.section_by_name(".interp").is_some() {
        return Err(unsupported(
            "an executable (it has a program interpreter), not a shared library",
        ));
    }
    if format == Format::Pe && !file.flags_is_dll() {
        return Err(unsupported("an executable, not a DLL"));
    }

    let mut exports = Vec::new();
    let mut platform = Platform::default();
    match &file {
        object::File::Elf32(_) | object::File::Elf64(_) => {
            for sym in file.dynamic_symbols() {
                let Ok(name) = sym.name() else { continue };
                if name.is_empty() || !sym.is_global() {
                    continue;
                }
                if sym.is_undefined() {
                    platform.undefined.push(name.to_owned());
                    continue;
                }
                let (kind, signature, size) = match sym.kind() {
                    OSymKind::Text => (SymbolKind::Function, "fn".to_owned(), None),
                    OSymKind::Data => (SymbolKind::Data, "data".to_owned(), Some(sym.size())),
                    OSymKind::Tls => (SymbolKind::Data, "tls".to_owned(), Some(sym.size())),
                    _ => continue,
                };
                exports.push(RawSymbol {
                    name: name.to_owned(),
                    kind: Some(kind),
                    signature,
                    size,
                    address: Some(sym.address()),
                    ..RawSymbol::default()
                });
            }
        }
        _ => {
            for export in file.exports().map_err(malformed)? {
                let export = export.map_err(malformed)?;
                let object::NameOrOrdinal::Name(raw) = export.name() else {
                    continue;
                };
                let Ok(name) = std::str::from_utf8(raw) else {
                    continue;
                };
                let name = if format == Format::Macho {
                    name.strip_prefix('_').unwrap_or(name)
                } else {
                    name
                };
                if name.is_empty() {
                    continue;
                }
                // Export tables carry no kind: take it from the section the address is in.
                let address = match export.target() {
                    object::ExportTarget::Address { address } => Some(address),
                    _ => None,
                };
                let kind = address.and_then(|address| {
                    file.sections()
                        .find(|sec| {
                            sec.address() <= address
                                && address < sec.address().saturating_add(sec.size())
                        })
                        .map(|sec| match sec.kind() {
                            object::SectionKind::Text => SymbolKind::Function,
                            object::SectionKind::Data
                            | object::SectionKind::ReadOnlyData
                            | object::SectionKind::UninitializedData
                            | object::SectionKind::Tls => SymbolKind::Data,
                            _ => SymbolKind::Unknown,
                        })
                });
                let kind = kind.unwrap_or(SymbolKind::Unknown);
                let signature = match kind {
                    SymbolKind::Function => "fn",
                    SymbolKind::Data => "data",
                    _ => "symbol",
                };
                exports.push(RawSymbol {
                    name: name.to_owned(),
                    kind: Some(kind),
                    signature: signature.to_owned(),
                    address,
                    ..RawSymbol::default()
                });
            }
            for import in file.imports().map_err(malformed)? {
                let import = import.map_err(malformed)?;
                if let object::NameOrOrdinal::Name(raw) = import.name()
                    && let Ok(name) = std::str::from_utf8(raw)
                {
                    platform.undefined.push(name.to_owned());
                }
            }
        }
    }
    platform.needed = needed_libraries(&file);
    platform.glibc = match &file {
        object::File::Elf32(f) => glibc_floor(f),
        object::File::Elf64(f) => glibc_floor(f),
        _ => None,
    };
    platform.undefined.sort();
    platform.undefined.dedup();

    let mut notes = Vec::new();
    let mut types = BTreeMap::new();
    let mut detail = Detail::Symbols;
    let functions: Vec<String> = exports
        .iter()
        .filter(|s| s.kind == Some(SymbolKind::Function))
        .map(|s| s.name.clone())
        .collect();
    let data: Vec<String> = exports
        .iter()
        .filter(|s| s.kind == Some(SymbolKind::Data))
        .map(|s| s.name.clone())
        .collect();
    let debug_file = match debug {
        Some((d, d_src)) => Some((
            object::File::parse(d).map_err(|e| Error::Malformed {
                path: path.to_owned(),
                format: "debug info (.dSYM)",
                reason: e.to_string(),
            })?,
            d_src,
        )),
        None => None,
    };
    let (dwarf_file, dwarf_src) = match &debug_file {
        Some((f, s)) => (f, *s),
        None => (&file, src),
    };
    let names = [
        ".debug_info",
        ".debug_abbrev",
        ".debug_str",
        ".debug_line_str",
        ".debug_str_offsets",
    ];
    let mut backings = Vec::new();
    for name in names {
        backings.push(
            backing(dwarf_file, dwarf_src, name).map_err(|source| Error::Read {
                path: path.to_owned(),
                source,
            })?,
        );
    }
    let sections = Sections::load(|name| {
        names
            .iter()
            .position(|n| *n == name)
            .and_then(|i| backings.get(i))
            .map_or_else(Section::empty, |b| match b {
                Backing::Empty => Section::empty(),
                Backing::Range(start, len) => Section::new(dwarf_src, *start, *len),
                Backing::Owned(data) => Section::whole(&**data),
            })
    });
    match super::dwarf::describe(path, &sections, file.is_little_endian(), &functions, &data)? {
        super::dwarf::Outcome::NoDwarf => notes.push(
            "no DWARF debug info: signatures and layouts unknown (build with debug = \"full\")"
                .to_owned(),
        ),
        super::dwarf::Outcome::Incomplete(reason) => notes.push(reason),
        super::dwarf::Outcome::Described(described) => {
            let signature = |_: &RawSymbol, d: &super::dwarf::SymbolDesc| d.signature.clone();
            detail = super::aliases::apply(
                &mut exports,
                &described.symbols,
                &mut notes,
                |_| true,
                signature,
            );
            types = described.types;
        }
    }

    Ok(RawAbi {
        format,
        architecture: format!("{:?}", file.architecture()).to_lowercase(),
        pointer_width: if file.is_64() { 64 } else { 32 },
        little_endian: file.is_little_endian(),
        detail,
        notes,
        exports,
        imports: Vec::new(),
        types,
        platform,
    })
}

trait DllFlag {
    fn flags_is_dll(&self) -> bool;
}

impl<'d, D: ReadRef<'d>> DllFlag for object::File<'d, D> {
    fn flags_is_dll(&self) -> bool {
        match self.flags() {
            object::FileFlags::Coff { characteristics } => {
                characteristics.contains(object::pe::IMAGE_FILE_DLL)
            }
            _ => true,
        }
    }
}

fn needed_libraries<'d, D: ReadRef<'d>>(file: &object::File<'d, D>) -> Vec<String> {
    let mut out: Vec<String> = match file {
        object::File::Elf32(f) => elf_needed(f),
        object::File::Elf64(f) => elf_needed(f),
        _ => file
            .imports()
            .map(|imports| {
                imports
                    .into_iter()
                    .filter_map(|i| i.ok())
                    .filter_map(|i| std::str::from_utf8(i.library()).ok())
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    };
    out.sort();
    out.dedup();
    out
}

fn elf_needed<'a, Elf: FileHeader<Endian = Endianness>, D: ReadRef<'a>>(
    file: &ElfFile<'a, Elf, D>,
) -> Vec<String> {
    let endian = file.endian();
    let data = file.data();
    let sections = file.elf_section_table();
    let mut out = Vec::new();
    let Ok(Some((dynamic, link))) = sections.dynamic(endian, data) else {
        return out;
    };
    let Ok(strings) = sections.strings(endian, data, link) else {
        return out;
    };
    for entry in dynamic {
        if entry.tag(endian) == object::elf::DT_NEEDED {
            if let Ok(name) = entry.string(endian, strings) {
                if let Ok(name) = std::str::from_utf8(name) {
                    out.push(name.to_owned());
                }
            }
        }
    }
    out
}

/// The highest `GLIBC_x.y[.z]` version named in the version-needs section.
fn glibc_floor<'a, Elf: FileHeader<Endian = Endianness>, D: ReadRef<'a>>(
    file: &ElfFile<'a, Elf, D>,
) -> Option<String> {
    let endian = file.endian();
    let data = file.data();
    let sections = file.elf_section_table();
    let (mut needs, link) = sections.gnu_verneed(endian, data).ok()??;
    let strings = sections.strings(endian, data, link).ok()?;
    let mut best: Option<(Vec<u64>, String)> = None;
    while let Ok(Some((_, mut aux))) = needs.next() {
        while let Ok(Some(vernaux)) = aux.next() {
            let Ok(name) = vernaux.name(endian, strings) else {
                continue;
            };
            let Ok(name) = std::str::from_utf8(name) else {
                continue;
            };
            let Some(version) = name.strip_prefix("GLIBC_") else {
                continue;
            };
            let Some(key) = version
                .split('.')
                .map(|p| p.parse::<u64>().ok())
                .collect::<Option<Vec<u64>>>()
            else {
                continue;
            };
            if best.as_ref().is_none_or(|(k, _)| key > *k) {
                best = Some((key, version.to_owned()));
            }
        }
    }
    best.map(|(_, v)| v)
}

/// Where a DWARF section's bytes are: a range of the file, an inflated copy (compressed
/// sections), or nowhere (absent, unreadable or undecodable: treated as absent, as
/// `object`'s `uncompressed_data` did).
enum Backing {
    Empty,
    Range(u64, u64),
    Owned(Box<dyn ReadAt>),
}

/// The largest inflation ratio accepted for a compressed section (zlib's maximum is about
/// 1032:1); a header announcing more is treated as damaged.
const MAX_RATIO: u64 = 1100;

fn backing<'d, D: ReadRef<'d>>(
    file: &object::File<'d, D>,
    src: &dyn ReadAt,
    name: &str,
) -> std::io::Result<Backing> {
    let Some(section) = file.section_by_name(name) else {
        return Ok(Backing::Empty);
    };
    let Ok(range) = section.compressed_file_range() else {
        return Ok(Backing::Empty);
    };
    let inside = range
        .offset
        .checked_add(range.compressed_size)
        .is_some_and(|end| end <= src.size());
    if !inside {
        return Ok(Backing::Empty);
    }
    let kind = match range.format {
        CompressionFormat::None => {
            return Ok(Backing::Range(range.offset, range.uncompressed_size));
        }
        CompressionFormat::Zlib => Compression::Zlib,
        CompressionFormat::Zstandard => Compression::Zstd,
        _ => return Ok(Backing::Empty),
    };
    if range.uncompressed_size > range.compressed_size.saturating_mul(MAX_RATIO).max(1 << 20) {
        return Ok(Backing::Empty);
    }
    let compressed = Section::new(src, range.offset, range.compressed_size);
    Ok(
        match source::inflate(compressed, kind, range.uncompressed_size)? {
            Some(data) => Backing::Owned(data),
            None => Backing::Empty,
        },
    )
}
