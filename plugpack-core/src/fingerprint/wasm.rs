//! WebAssembly core modules through `wasmparser`: exports and imports with their core
//! signatures, validated; DWARF (custom `.debug_*` sections) through [`super::dwarf`]
//! adds source-level signatures and layouts when present.
//!
//! The module is never read whole: `wasmparser`'s incremental parser and the validator are
//! fed through a small buffer (a whole section at a time, except the code section, which
//! comes one function body at a time), and the `.debug_*` custom sections are only located
//! (by a scan of the section headers) and left out of that stream: DWARF reads them by
//! range.

use std::collections::{BTreeMap, BTreeSet};

use camino::Utf8Path;
use wasmparser::{
    Chunk, CompositeInnerType, ExternalKind, FuncValidatorAllocations, GlobalType, MemoryType,
    Parser, Payload, RefType, TableType, TypeRef, ValType, ValidPayload, Validator,
};

use super::dwarf::Sections;
use super::source::{ReadAt, Section};
use super::{Detail, Error, Format, Platform, RawAbi, RawSymbol, SymbolKind};

fn val(t: &ValType) -> String {
    match t {
        ValType::I32 => "i32".to_owned(),
        ValType::I64 => "i64".to_owned(),
        ValType::F32 => "f32".to_owned(),
        ValType::F64 => "f64".to_owned(),
        ValType::V128 => "v128".to_owned(),
        ValType::Ref(r) => reftype(r),
    }
}

fn reftype(r: &RefType) -> String {
    format!("{r}")
}

fn global_sig(g: &GlobalType) -> String {
    format!(
        "global {}{}",
        if g.mutable { "mut " } else { "" },
        val(&g.content_type)
    )
}

fn memory_sig(m: &MemoryType) -> String {
    // Initial/maximum sizes are deployment facts, not interface facts.
    format!(
        "memory {}{}",
        if m.memory64 { "i64" } else { "i32" },
        if m.shared { " shared" } else { "" }
    )
}

fn table_sig(t: &TableType) -> String {
    format!("table {}", reftype(&t.element_type))
}

/// The parts of the module fed to the parser: everything but the `.debug_*` custom
/// sections, which are returned by name (a later one of the same name wins).
#[allow(clippy::type_complexity)]
fn plan(src: &dyn ReadAt) -> (Vec<(u64, u64)>, BTreeMap<String, (u64, u64)>) {
    let len = src.size();
    let mut parts: Vec<(u64, u64)> = Vec::new();
    let mut debug = BTreeMap::new();
    let keep = |parts: &mut Vec<(u64, u64)>, start: u64, end: u64| match parts.last_mut() {
        Some(last) if last.1 == start => last.1 = end,
        _ => parts.push((start, end)),
    };
    let mut pos = 8u64.min(len);
    keep(&mut parts, 0, pos);
    while pos < len {
        // A section: id byte, LEB128 size, contents (custom: LEB128 name length, name, data).
        let Some((end, debug_name)) = section_at(src, pos) else {
            break; // damaged: the parser gets the rest as it is and reports it
        };
        match debug_name {
            Some(name) => {
                let (data_start, name) = name;
                debug.insert(name, (data_start, end - data_start));
            }
            None => keep(&mut parts, pos, end),
        }
        pos = end;
    }
    if pos < len {
        keep(&mut parts, pos, len);
    }
    (parts, debug)
}

/// The end of the section starting at `pos`, and for a `.debug_*` custom section the start
/// of its data and its name.
#[allow(clippy::type_complexity)]
fn section_at(src: &dyn ReadAt, pos: u64) -> Option<(u64, Option<(u64, String)>)> {
    let mut id = [0u8; 1];
    src.read_exact_at(pos, &mut id).ok()?;
    let (size, n) = leb_u32(src, pos + 1)?;
    let start = pos + 1 + n;
    let end = start.checked_add(u64::from(size))?;
    if end > src.size() {
        return None;
    }
    if id[0] != 0 {
        return Some((end, None));
    }
    let (name_len, n) = leb_u32(src, start)?;
    let name_start = start + n;
    let data_start = name_start.checked_add(u64::from(name_len))?;
    if data_start > end || name_len > 4096 {
        return Some((end, None));
    }
    let mut name = vec![0u8; name_len as usize];
    src.read_exact_at(name_start, &mut name).ok()?;
    match String::from_utf8(name) {
        Ok(name) if name.starts_with(".debug_") => Some((end, Some((data_start, name)))),
        _ => Some((end, None)),
    }
}

/// An unsigned LEB128 `u32` at `pos` and its length in bytes.
fn leb_u32(src: &dyn ReadAt, pos: u64) -> Option<(u32, u64)> {
    let mut value = 0u64;
    for i in 0..5u64 {
        let mut b = [0u8; 1];
        src.read_exact_at(pos + i, &mut b).ok()?;
        value |= u64::from(b[0] & 0x7f) << (7 * i);
        if b[0] & 0x80 == 0 {
            return Some((u32::try_from(value).ok()?, i + 1));
        }
    }
    None
}

/// Sequential reads over the kept parts of the module.
struct Stream<'a> {
    src: &'a dyn ReadAt,
    parts: Vec<(u64, u64)>,
    part: usize,
    pos: u64,
}

impl Stream<'_> {
    /// Appends up to `want` bytes to `buf`; 0 at the end.
    fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> std::io::Result<usize> {
        while let Some(&(start, end)) = self.parts.get(self.part) {
            let at = self.pos.max(start);
            if at >= end {
                self.part += 1;
                continue;
            }
            let n = (end - at).min(want as u64) as usize;
            let old = buf.len();
            buf.resize(old + n, 0);
            self.src.read_exact_at(at, &mut buf[old..])?;
            self.pos = at + n as u64;
            return Ok(n);
        }
        Ok(0)
    }
}

/// The file offset of offset `virtual_offset` of the parser's stream (which leaves the
/// `.debug_*` sections out), so that errors name the offset in the file.
fn file_offset(parts: &[(u64, u64)], virtual_offset: u64) -> u64 {
    let mut seen = 0u64;
    for &(start, end) in parts {
        let len = end - start;
        if virtual_offset < seen + len {
            return start + (virtual_offset - seen);
        }
        seen += len;
    }
    parts
        .last()
        .map_or(virtual_offset, |&(_, end)| end + (virtual_offset - seen))
}

pub(crate) fn read(path: &Utf8Path, src: &dyn ReadAt) -> Result<RawAbi, Error> {
    let (parts, custom) = plan(src);
    let malformed = |e: wasmparser::BinaryReaderError| Error::Malformed {
        path: path.to_owned(),
        format: "wasm",
        reason: format!(
            "{} (at offset 0x{:x})",
            e.message(),
            file_offset(&parts, e.offset())
        ),
    };
    let io = |source| Error::Read {
        path: path.to_owned(),
        source,
    };
    // Layer 1 (bytes 6..8) is the component model (`super::component`); core modules are
    // layer 0.
    let mut head = [0u8; 8];
    if src.read_exact_at(0, &mut head).is_ok() && head[6..8] != [0, 0] {
        return Err(Error::Unsupported {
            path: path.to_owned(),
            reason: "not a core module (unknown wasm layer)".to_owned(),
        });
    }
    let mut stream = Stream {
        src,
        parts: parts.clone(),
        part: 0,
        pos: 0,
    };
    let mut validator = Validator::new();
    let mut parser = Parser::new(0);
    parser.set_features(*validator.features());
    let mut allocs = FuncValidatorAllocations::default();

    let mut func_types: Vec<String> = Vec::new();
    let mut func_sigs: Vec<String> = Vec::new(); // function index space
    let mut globals: Vec<String> = Vec::new();
    let mut memories: Vec<String> = Vec::new();
    let mut tables: Vec<String> = Vec::new();
    let mut imports = Vec::new();
    let mut exports_raw: Vec<(String, ExternalKind, u32)> = Vec::new();
    let ftype = |types: &[String], idx: u32| {
        types
            .get(idx as usize)
            .cloned()
            .unwrap_or_else(|| "fn ?".to_owned())
    };

    let mut buf: Vec<u8> = Vec::new();
    let mut eof = false;
    loop {
        let (consumed, payload) = match parser.parse(&buf, eof).map_err(malformed)? {
            Chunk::NeedMoreData(hint) => {
                let want = hint.max(64 * 1024);
                if stream.fill(&mut buf, want).map_err(io)? == 0 {
                    eof = true;
                }
                continue;
            }
            Chunk::Parsed { consumed, payload } => (consumed, payload),
        };
        let end = matches!(payload, Payload::End(_));
        if let ValidPayload::Func(func, body) = validator.payload(&payload).map_err(malformed)? {
            let mut v = func.into_validator(std::mem::take(&mut allocs));
            v.validate(&body).map_err(malformed)?;
            allocs = v.into_allocations();
        }
        match payload {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group.map_err(malformed)?.into_types() {
                        let sig = match &sub.composite_type.inner {
                            CompositeInnerType::Func(f) => format!(
                                "fn({}) -> ({})",
                                f.params().iter().map(val).collect::<Vec<_>>().join(", "),
                                f.results().iter().map(val).collect::<Vec<_>>().join(", ")
                            ),
                            other => format!("gc {other:?}"),
                        };
                        func_types.push(sig);
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(malformed)?;
                    let (kind, signature) = match import.ty {
                        TypeRef::Func(i) | TypeRef::FuncExact(i) => {
                            let s = ftype(&func_types, i);
                            func_sigs.push(s.clone());
                            (SymbolKind::Function, s)
                        }
                        TypeRef::Global(g) => {
                            globals.push(global_sig(&g));
                            (SymbolKind::Global, global_sig(&g))
                        }
                        TypeRef::Memory(m) => {
                            memories.push(memory_sig(&m));
                            (SymbolKind::Memory, memory_sig(&m))
                        }
                        TypeRef::Table(t) => {
                            tables.push(table_sig(&t));
                            (SymbolKind::Table, table_sig(&t))
                        }
                        TypeRef::Tag(t) => (
                            SymbolKind::Tag,
                            format!("tag {}", ftype(&func_types, t.func_type_idx)),
                        ),
                    };
                    imports.push(RawSymbol {
                        name: format!("{}::{}", import.module, import.name),
                        kind: Some(kind),
                        signature,
                        size: None,
                        types: BTreeSet::new(),
                        ..RawSymbol::default()
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for idx in reader {
                    func_sigs.push(ftype(&func_types, idx.map_err(malformed)?));
                }
            }
            Payload::GlobalSection(reader) => {
                for g in reader {
                    globals.push(global_sig(&g.map_err(malformed)?.ty));
                }
            }
            Payload::MemorySection(reader) => {
                for m in reader {
                    memories.push(memory_sig(&m.map_err(malformed)?));
                }
            }
            Payload::TableSection(reader) => {
                for t in reader {
                    tables.push(table_sig(&t.map_err(malformed)?.ty));
                }
            }
            Payload::ExportSection(reader) => {
                for e in reader {
                    let e = e.map_err(malformed)?;
                    exports_raw.push((e.name.to_owned(), e.kind, e.index));
                }
            }
            _ => {}
        }
        if end {
            break;
        }
        buf.drain(..consumed);
    }

    let pick = |list: &[String], idx: u32, what: &str| {
        list.get(idx as usize)
            .cloned()
            .unwrap_or_else(|| format!("{what} ?"))
    };
    let mut exports = Vec::new();
    for (name, kind, idx) in exports_raw {
        let (kind, signature) = match kind {
            ExternalKind::Func | ExternalKind::FuncExact => {
                (SymbolKind::Function, pick(&func_sigs, idx, "fn"))
            }
            ExternalKind::Global => (SymbolKind::Global, pick(&globals, idx, "global")),
            ExternalKind::Memory => (SymbolKind::Memory, pick(&memories, idx, "memory")),
            ExternalKind::Table => (SymbolKind::Table, pick(&tables, idx, "table")),
            ExternalKind::Tag => (SymbolKind::Tag, "tag".to_owned()),
        };
        exports.push(RawSymbol {
            name,
            kind: Some(kind),
            signature,
            size: None,
            types: BTreeSet::new(),
            // The function index: two exports of one function are aliases.
            address: (kind == SymbolKind::Function).then_some(u64::from(idx)),
            ..RawSymbol::default()
        });
    }

    let mut notes = Vec::new();
    let mut types = BTreeMap::new();
    let mut detail = Detail::Symbols;
    let functions: Vec<String> = exports
        .iter()
        .filter(|s| s.kind == Some(SymbolKind::Function))
        .map(|s| s.name.clone())
        .collect();
    let sections = Sections::load(|name| match custom.get(name) {
        Some(&(start, len)) => Section::new(src, start, len),
        None => Section::empty(),
    });
    match super::dwarf::describe(path, &sections, true, &functions, &[])? {
        super::dwarf::Outcome::NoDwarf => notes.push(
            "no DWARF debug info: core wasm signatures only (build with debug = \"full\", \
             strip = \"none\")"
                .to_owned(),
        ),
        super::dwarf::Outcome::Incomplete(reason) => notes.push(reason),
        super::dwarf::Outcome::Described(described) => {
            // Two exports of one function index are one body (the optimiser folded
            // identical code); DWARF describes it under one name only.
            detail = super::aliases::apply(
                &mut exports,
                &described.symbols,
                &mut notes,
                |s| s.kind == Some(SymbolKind::Function),
                // Keep the core signature: it is what the runtime checks.
                |s, d| format!("{} | {}", s.signature, d.signature),
            );
            types = described.types;
        }
    }

    Ok(RawAbi {
        format: Format::Wasm,
        architecture: "wasm32".to_owned(),
        pointer_width: 32,
        little_endian: true,
        detail,
        notes,
        exports,
        imports,
        types,
        platform: Platform::default(),
    })
}
