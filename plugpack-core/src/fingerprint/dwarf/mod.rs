//! Types level from DWARF (`gimli`): signatures of exported functions and the layouts of the
//! struct/union/enum types they reach, in the canonical form described in [`super`].
//!
//! Memory follows the exported interface, not the size of the DWARF: sections are read by
//! range through [`Section`] and never held whole.
//!
//! 1. `.debug_str` and `.debug_line_str` are streamed once to find the offsets at which the
//!    exported names are stored (whole or as the tail of a merged string), so that matching a
//!    DIE's name against the exports is an integer lookup and reads no string.
//! 2. The unit headers of `.debug_info` are indexed (offset and length of each unit).
//! 3. One pass over every unit, one unit in memory at a time (its bytes and its abbreviation
//!    table, read from `.debug_abbrev` at the unit's offset), finds the DIEs of the exported
//!    symbols and whether any base type exists at all (DWARF from `debug = "limited"` or
//!    `"line-tables-only"` has none, and then parameter types are missing: that is reported,
//!    never papered over).
//! 4. Types are then read on demand from the exported DIEs outward. Units are loaded again
//!    when a DIE in them is needed (cross-unit `DW_FORM_ref_addr` included) and kept in a
//!    small LRU; namespace ranges (for qualified names) are computed per loaded unit and
//!    strings are read one by one, by offset, and cached.
//!
//! This file holds the entry point (`describe`) and the `Reader` state; the reader's
//! methods live in `units` (unit index and loading, string lookup, references, namespaces),
//! `exports` (the pass that finds the exported DIEs, and function signatures) and `render`
//! (type rendering and layouts).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use camino::Utf8Path;
use gimli::{Abbreviations, DebuggingInformationEntry, RunTimeEndian, UnitOffset};

use super::source::Section;
use super::{Error, TypeLayout};

mod exports;
mod render;
mod units;

use exports::find_names;
use units::{LoadedUnit, Namespace, StrSection, UnitSpan, index_units};

/// The reader type DIEs are parsed with: a reference-counted slice of one loaded unit.
type R = gimli::EndianRcSlice<RunTimeEndian>;
/// One DIE of a loaded unit.
type Die = DebuggingInformationEntry<R>;

/// What DWARF said about the exports.
pub(crate) enum Outcome {
    /// No `.debug_info` at all.
    NoDwarf,
    /// DWARF without type information; the reason for the notes.
    Incomplete(String),
    /// Exported symbols found, with their types.
    Described(Described),
}

/// Signatures and types found.
pub(crate) struct Described {
    pub symbols: BTreeMap<String, SymbolDesc>,
    pub types: BTreeMap<String, TypeLayout>,
}

/// One symbol's canonical signature and the named types it reaches (transitively).
pub(crate) struct SymbolDesc {
    pub signature: String,
    pub types: BTreeSet<String>,
}

/// The DWARF sections the reader uses (absent ones are empty).
pub(crate) struct Sections<'a> {
    pub info: Section<'a>,
    pub abbrev: Section<'a>,
    pub str: Section<'a>,
    pub line_str: Section<'a>,
    pub str_offsets: Section<'a>,
}

impl<'a> Sections<'a> {
    /// The sections by their ELF names (`.debug_info`, …).
    pub(crate) fn load(mut get: impl FnMut(&str) -> Section<'a>) -> Self {
        Sections {
            info: get(".debug_info"),
            abbrev: get(".debug_abbrev"),
            str: get(".debug_str"),
            line_str: get(".debug_line_str"),
            str_offsets: get(".debug_str_offsets"),
        }
    }
}

/// Why reading failed: bad DWARF, or the file could not be read.
enum Fail {
    Dwarf(gimli::Error),
    Io(std::io::Error),
}

impl From<gimli::Error> for Fail {
    fn from(e: gimli::Error) -> Self {
        Fail::Dwarf(e)
    }
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            // A length or offset reaching past its section: damaged DWARF.
            Fail::Dwarf(gimli::Error::UnexpectedEof(gimli::ReaderOffsetId(0)))
        } else {
            Fail::Io(e)
        }
    }
}

type Res<T> = Result<T, Fail>;

/// The reading state shared by the submodules: the unit index and cache, the string
/// caches, and the types described so far.
struct Reader<'s> {
    sections: &'s Sections<'s>,
    endian: RunTimeEndian,
    spans: Vec<UnitSpan>,
    cache: Vec<(usize, Rc<LoadedUnit>)>,
    namespaces: HashMap<usize, Rc<Vec<Namespace>>>,
    last_abbrevs: Option<(u64, Arc<Abbreviations>)>,
    /// Last block of `.debug_str_offsets` read (DWARF 5 `strx` forms).
    str_offsets_block: Option<(u64, Vec<u8>)>,
    strings: HashMap<(StrSection, u64), Option<String>>,
    types: BTreeMap<String, TypeLayout>,
    deps: BTreeMap<String, BTreeSet<String>>,
    in_progress: BTreeSet<String>,
    /// Anonymous types already named (by DIE), and those being described (cycle guard).
    anon: BTreeMap<(usize, usize), Option<String>>,
    /// Type DIEs rendered so far; bounded so hostile DWARF cannot make us spin.
    steps: usize,
}

/// Where a DIE is: the index of its unit in `Reader::spans` and its offset in that unit.
#[derive(Clone, Copy)]
struct Loc {
    unit: usize,
    offset: UnitOffset<usize>,
}

/// Signatures and reached type layouts of the exported `functions` and `data` symbols, from
/// the DWARF in `sections` (`path` only names the file in errors).
pub(crate) fn describe(
    path: &Utf8Path,
    sections: &Sections<'_>,
    little_endian: bool,
    functions: &[String],
    data: &[String],
) -> Result<Outcome, Error> {
    let fail = |e: Fail| match e {
        Fail::Dwarf(e) => Error::Malformed {
            path: path.to_owned(),
            format: "DWARF",
            reason: e.to_string(),
        },
        Fail::Io(source) => Error::Read {
            path: path.to_owned(),
            source,
        },
    };
    if sections.info.is_empty() {
        return Ok(Outcome::NoDwarf);
    }
    let endian = if little_endian {
        RunTimeEndian::Little
    } else {
        RunTimeEndian::Big
    };
    let wanted_fns: BTreeSet<&str> = functions.iter().map(String::as_str).collect();
    let names = find_names(sections, functions, data).map_err(|e| fail(e.into()))?;

    let mut reader = Reader {
        sections,
        endian,
        spans: index_units(&sections.info, endian).map_err(fail)?,
        cache: Vec::new(),
        namespaces: HashMap::new(),
        last_abbrevs: None,
        str_offsets_block: None,
        strings: HashMap::new(),
        types: BTreeMap::new(),
        deps: BTreeMap::new(),
        in_progress: BTreeSet::new(),
        anon: BTreeMap::new(),
        steps: 0,
    };
    let (found, base_types) = reader.find_exports(&names).map_err(fail)?;
    if base_types == 0 {
        return Ok(Outcome::Incomplete(
            "DWARF present but without type information (debug = \"limited\" or \
             \"line-tables-only\"?): parameter types unknown, build with debug = \"full\""
                .to_owned(),
        ));
    }

    let mut symbols = BTreeMap::new();
    for (name, (_, loc)) in found {
        let is_fn = wanted_fns.contains(name.as_str());
        let mut direct = BTreeSet::new();
        let signature = if is_fn {
            reader.function_signature(loc, &mut direct).map_err(fail)?
        } else {
            let die = reader.entry(loc).map_err(fail)?;
            let ty = match die.attr_value(gimli::DW_AT_type) {
                Some(v) => reader
                    .render_ref(loc.unit, v, &mut direct, 0)
                    .map_err(fail)?,
                None => "?".to_owned(),
            };
            format!("data {ty}")
        };
        let types = reader.closure(&direct);
        symbols.insert(name, SymbolDesc { signature, types });
    }
    Ok(Outcome::Described(Described {
        symbols,
        types: reader.types,
    }))
}
