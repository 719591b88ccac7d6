//! WebAssembly core modules through `wasmparser`: exports and imports with their core
//! signatures, validated first; DWARF (custom `.debug_*` sections) through [`super::dwarf`]
//! adds source-level signatures and layouts when present.

use std::collections::{BTreeMap, BTreeSet};

use camino::Utf8Path;
use wasmparser::{
    CompositeInnerType, ExternalKind, GlobalType, MemoryType, Parser, Payload, RefType, TableType,
    TypeRef, ValType, Validator,
};

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

pub(crate) fn read(path: &Utf8Path, bytes: &[u8]) -> Result<RawAbi, Error> {
    let malformed = |e: wasmparser::BinaryReaderError| Error::Malformed {
        path: path.to_owned(),
        format: "wasm",
        reason: e.to_string(),
    };
    // Layer 1 (bytes 6..8) is the component model; core modules are layer 0.
    if bytes.get(6..8).is_some_and(|layer| layer != [0, 0]) {
        return Err(Error::Unsupported {
            path: path.to_owned(),
            reason: "a wasm component; plugpack fingerprints core modules".to_owned(),
        });
    }
    let mut validator = Validator::new();
    validator.validate_all(bytes).map_err(malformed)?;

    let mut func_types: Vec<String> = Vec::new();
    let mut func_sigs: Vec<String> = Vec::new(); // function index space
    let mut globals: Vec<String> = Vec::new();
    let mut memories: Vec<String> = Vec::new();
    let mut tables: Vec<String> = Vec::new();
    let mut imports = Vec::new();
    let mut exports_raw: Vec<(String, ExternalKind, u32)> = Vec::new();
    let mut custom: BTreeMap<&str, &[u8]> = BTreeMap::new();
    let ftype = |types: &[String], idx: u32| {
        types
            .get(idx as usize)
            .cloned()
            .unwrap_or_else(|| "fn ?".to_owned())
    };

    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(malformed)? {
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
            Payload::CustomSection(reader) if reader.name().starts_with(".debug_") => {
                custom.insert(reader.name(), reader.data());
            }
            _ => {}
        }
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
    let loader =
        |name: &str| std::borrow::Cow::Borrowed(custom.get(name).copied().unwrap_or_default());
    match super::dwarf::describe(path, &loader, true, &functions, &[])? {
        super::dwarf::Outcome::NoDwarf => notes.push(
            "no DWARF debug info: core wasm signatures only (build with debug = \"full\", \
             strip = \"none\")"
                .to_owned(),
        ),
        super::dwarf::Outcome::Incomplete(reason) => notes.push(reason),
        super::dwarf::Outcome::Described(described) => {
            let missing: Vec<&String> = functions
                .iter()
                .filter(|f| !described.symbols.contains_key(*f))
                .collect();
            if missing.is_empty() {
                for sym in &mut exports {
                    if let Some(d) = described.symbols.get(&sym.name) {
                        // Keep the core signature: it is what the runtime checks.
                        sym.signature = format!("{} | {}", sym.signature, d.signature);
                        sym.types = d.types.clone();
                    }
                }
                types = described.types;
                detail = Detail::Types;
            } else {
                for f in missing {
                    notes.push(format!("function `{f}` has no DWARF description"));
                }
            }
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
