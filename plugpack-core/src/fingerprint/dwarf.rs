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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use camino::Utf8Path;
use gimli::{
    Abbreviations, AttributeValue, DebuggingInformationEntry, EndianSlice, Endianity, Reader as _,
    RunTimeEndian, UnitHeader, UnitOffset,
};

use super::source::Section;
use super::{Error, Field, TypeKind, TypeLayout, Variant};

type R = gimli::EndianRcSlice<RunTimeEndian>;
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

const MAX_DEPTH: usize = 96;
const MAX_STEPS: usize = 4_000_000;
/// Units kept loaded while types are described.
const CACHED_UNITS: usize = 4;

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

/// Where a unit lives in `.debug_info`.
#[derive(Clone, Copy)]
struct UnitSpan {
    offset: u64,
    size: u64,
}

/// One unit in memory: its bytes (inside `header`), abbreviations and string base.
struct LoadedUnit {
    header: UnitHeader<R>,
    abbrevs: Arc<Abbreviations>,
    str_offsets_base: u64,
}

impl LoadedUnit {
    fn entry(&self, offset: UnitOffset) -> gimli::Result<Die> {
        self.header.entry(&self.abbrevs, offset)
    }
}

struct Namespace {
    start: usize,
    end: usize,
    depth: isize,
    name: Option<AttributeValue<R>>,
}

/// Which string section a string offset is in.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum StrSection {
    Str,
    LineStr,
}

/// A string attribute, not yet read.
enum StrRef {
    Inline(R),
    At(StrSection, u64),
}

/// What a DIE's linker-visible name is, as far as matching needs to know.
enum NameMatch {
    /// One of the wanted names (index into `Names::list`).
    Wanted(usize),
    /// A readable name that is not wanted.
    Other,
    /// No name could be read.
    Missing,
}

/// The exported names being looked for, and where `.debug_str`/`.debug_line_str` hold them.
struct Names {
    list: Vec<String>,
    functions: BTreeSet<String>,
    data: BTreeSet<String>,
    by_bytes: HashMap<Vec<u8>, usize>,
    in_str: HashMap<u64, usize>,
    in_line_str: HashMap<u64, usize>,
}

impl Names {
    fn is_function(&self, name: &str) -> bool {
        self.functions.contains(name)
    }

    fn is_data(&self, name: &str) -> bool {
        self.data.contains(name)
    }
}

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

#[derive(Clone, Copy)]
struct Loc {
    unit: usize,
    offset: UnitOffset<usize>,
}

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

/// The wanted names and the offsets at which the string sections store them.
fn find_names(
    sections: &Sections<'_>,
    functions: &[String],
    data: &[String],
) -> std::io::Result<Names> {
    let mut list: Vec<String> = functions.iter().chain(data).cloned().collect();
    list.sort();
    list.dedup();
    let by_bytes: HashMap<Vec<u8>, usize> = list
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_bytes().to_vec(), i))
        .collect();
    let bytes: Vec<&[u8]> = list.iter().map(|n| n.as_bytes()).collect();
    let in_str = sections.str.find_strings(&bytes)?;
    let in_line_str = sections.line_str.find_strings(&bytes)?;
    Ok(Names {
        list,
        functions: functions.iter().cloned().collect(),
        data: data.iter().cloned().collect(),
        by_bytes,
        in_str,
        in_line_str,
    })
}

/// Offsets and lengths of the units in `.debug_info`, from their initial-length fields.
fn index_units(info: &Section<'_>, endian: RunTimeEndian) -> Res<Vec<UnitSpan>> {
    let mut spans = Vec::new();
    let mut offset = 0u64;
    while offset < info.len() {
        let mut word = [0u8; 4];
        info.read_exact_at(offset, &mut word)?;
        let length = endian.read_u32(&word);
        let (length, initial) = if length == 0xffff_ffff {
            let mut long = [0u8; 8];
            info.read_exact_at(offset + 4, &mut long)?;
            (endian.read_u64(&long), 12)
        } else if length >= 0xffff_fff0 {
            return Err(gimli::Error::UnknownReservedLength(length).into());
        } else {
            (u64::from(length), 4)
        };
        let size = length
            .checked_add(initial)
            .filter(|size| {
                offset
                    .checked_add(*size)
                    .is_some_and(|end| end <= info.len())
            })
            .ok_or(gimli::Error::UnexpectedEof(gimli::ReaderOffsetId(offset)))?;
        spans.push(UnitSpan { offset, size });
        offset += size;
    }
    Ok(spans)
}

fn candidate_score(entry: &Die, is_fn: bool) -> u8 {
    let mut score = 1;
    if entry.attr(gimli::DW_AT_declaration).is_none() {
        score += 2;
    }
    if is_fn && entry.attr(gimli::DW_AT_low_pc).is_some() {
        score += 1;
    }
    if !is_fn && entry.attr(gimli::DW_AT_location).is_some() {
        score += 1;
    }
    score
}

impl<'s> Reader<'s> {
    /// Reads unit `idx` of `.debug_info` (its bytes only) and its abbreviations.
    fn load_unit(&mut self, idx: usize) -> Res<LoadedUnit> {
        let span = *self
            .spans
            .get(idx)
            .ok_or(gimli::Error::NoEntryAtGivenOffset(0))?;
        let len = usize::try_from(span.size)
            .map_err(|_| gimli::Error::UnexpectedEof(gimli::ReaderOffsetId(span.offset)))?;
        // Filled in place: one copy of the unit in memory.
        let mut bytes: Rc<[u8]> = Rc::from(vec![0u8; len]);
        match Rc::get_mut(&mut bytes) {
            Some(buf) => self.sections.info.read_exact_at(span.offset, buf)?,
            None => return Err(gimli::Error::UnexpectedEof(gimli::ReaderOffsetId(0)).into()),
        }
        let section = gimli::DebugInfo::from(R::new(bytes, self.endian));
        let header =
            section
                .units()
                .next()?
                .ok_or(gimli::Error::UnexpectedEof(gimli::ReaderOffsetId(
                    span.offset,
                )))?;
        let abbrevs = self.abbreviations(header.debug_abbrev_offset().0 as u64)?;
        let mut str_offsets_base = 0;
        {
            let mut cursor = header.entries(&abbrevs);
            if let Some(root) = cursor.next_dfs()?
                && let Some(AttributeValue::DebugStrOffsetsBase(base)) =
                    root.attr_value(gimli::DW_AT_str_offsets_base)
            {
                str_offsets_base = base.0 as u64;
            }
        }
        Ok(LoadedUnit {
            header,
            abbrevs,
            str_offsets_base,
        })
    }

    /// The abbreviation table at `offset` of `.debug_abbrev`, read in growing chunks until
    /// it parses (a table has no length field; it ends at a zero code).
    fn abbreviations(&mut self, offset: u64) -> Res<Arc<Abbreviations>> {
        if let Some((at, abbrevs)) = &self.last_abbrevs
            && *at == offset
        {
            return Ok(abbrevs.clone());
        }
        let section = &self.sections.abbrev;
        let total = section
            .len()
            .checked_sub(offset)
            .ok_or(gimli::Error::UnexpectedEof(gimli::ReaderOffsetId(offset)))?;
        let mut chunk = 64 * 1024u64;
        let abbrevs = loop {
            let n = chunk.min(total);
            let buf = section.read_vec(offset, n)?;
            let debug_abbrev = gimli::DebugAbbrev::from(EndianSlice::new(&buf, self.endian));
            match debug_abbrev.abbreviations(gimli::DebugAbbrevOffset(0)) {
                Ok(abbrevs) => break Arc::new(abbrevs),
                Err(gimli::Error::UnexpectedEof(_)) if n < total => chunk *= 4,
                Err(e) => return Err(e.into()),
            }
        };
        self.last_abbrevs = Some((offset, abbrevs.clone()));
        Ok(abbrevs)
    }

    /// Unit `idx`, from the cache or loaded (then cached, evicting the least recently used).
    fn unit(&mut self, idx: usize) -> Res<Rc<LoadedUnit>> {
        if let Some(pos) = self.cache.iter().position(|(i, _)| *i == idx) {
            let hit = self.cache.remove(pos);
            let unit = hit.1.clone();
            self.cache.push(hit);
            return Ok(unit);
        }
        let unit = Rc::new(self.load_unit(idx)?);
        self.cache.push((idx, unit.clone()));
        if self.cache.len() > CACHED_UNITS {
            let (old, _) = self.cache.remove(0);
            self.namespaces.remove(&old);
        }
        Ok(unit)
    }

    /// Pass over every unit: the best DIE of each wanted name, and the number of base types.
    #[allow(clippy::type_complexity)]
    fn find_exports(&mut self, names: &Names) -> Res<(BTreeMap<String, (u8, Loc)>, usize)> {
        // (name) -> best candidate (score, loc)
        let mut found: BTreeMap<String, (u8, Loc)> = BTreeMap::new();
        let mut base_types = 0usize;
        for unit_idx in 0..self.spans.len() {
            // Loaded outside the cache: each unit is dropped as soon as it is walked.
            let unit = self.load_unit(unit_idx)?;
            let mut cursor = unit.header.entries(&unit.abbrevs);
            while let Some(entry) = cursor.next_dfs()? {
                match entry.tag() {
                    gimli::DW_TAG_base_type => base_types += 1,
                    gimli::DW_TAG_subprogram | gimli::DW_TAG_variable => {
                        let is_fn = entry.tag() == gimli::DW_TAG_subprogram;
                        let Some(idx) = self.symbol_name(names, &unit, entry) else {
                            continue;
                        };
                        let name = &names.list[idx];
                        let wanted = if is_fn {
                            names.is_function(name)
                        } else {
                            names.is_data(name)
                        };
                        if !wanted {
                            continue;
                        }
                        let score = candidate_score(entry, is_fn);
                        let loc = Loc {
                            unit: unit_idx,
                            offset: entry.offset(),
                        };
                        match found.get(name) {
                            Some((best, _)) if *best >= score => {}
                            _ => {
                                found.insert(name.clone(), (score, loc));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok((found, base_types))
    }

    /// The linker-visible name of a subprogram/variable DIE, when it is a wanted one: its
    /// linkage name, else its name (no_mangle items), following
    /// `abstract_origin`/`specification` once. This runs on every function DIE, so it reads
    /// no string from the file: string-section offsets are looked up in `names`.
    fn symbol_name(&mut self, names: &Names, unit: &LoadedUnit, entry: &Die) -> Option<usize> {
        let own = |this: &mut Self, e: &Die| -> NameMatch {
            for at in [gimli::DW_AT_linkage_name, gimli::DW_AT_name] {
                if let Some(value) = e.attr_value(at) {
                    match this.match_name(names, unit, value) {
                        NameMatch::Missing => {}
                        found => return found,
                    }
                }
            }
            NameMatch::Missing
        };
        match own(self, entry) {
            NameMatch::Wanted(i) => return Some(i),
            NameMatch::Other => return None,
            NameMatch::Missing => {}
        }
        for at in [gimli::DW_AT_abstract_origin, gimli::DW_AT_specification] {
            if let Some(AttributeValue::UnitRef(off)) = entry.attr_value(at) {
                let origin = unit.entry(off).ok()?;
                return match own(self, &origin) {
                    NameMatch::Wanted(i) => Some(i),
                    _ => None,
                };
            }
        }
        None
    }

    fn match_name(
        &mut self,
        names: &Names,
        unit: &LoadedUnit,
        value: AttributeValue<R>,
    ) -> NameMatch {
        match self.str_ref(unit, value) {
            None => NameMatch::Missing,
            Some(StrRef::Inline(r)) => match r.to_slice() {
                Ok(bytes) => match names.by_bytes.get(bytes.as_ref()) {
                    Some(&i) => NameMatch::Wanted(i),
                    None => NameMatch::Other,
                },
                Err(_) => NameMatch::Missing,
            },
            Some(StrRef::At(section, offset)) => {
                let (hits, len) = match section {
                    StrSection::Str => (&names.in_str, self.sections.str.len()),
                    StrSection::LineStr => (&names.in_line_str, self.sections.line_str.len()),
                };
                match hits.get(&offset) {
                    Some(&i) => NameMatch::Wanted(i),
                    None if offset < len => NameMatch::Other,
                    None => NameMatch::Missing,
                }
            }
        }
    }

    /// Where a string attribute's bytes are (`gimli::Dwarf::attr_string` without reading).
    fn str_ref(&mut self, unit: &LoadedUnit, value: AttributeValue<R>) -> Option<StrRef> {
        match value {
            AttributeValue::String(r) => Some(StrRef::Inline(r)),
            AttributeValue::DebugStrRef(o) => Some(StrRef::At(StrSection::Str, o.0 as u64)),
            AttributeValue::DebugLineStrRef(o) => Some(StrRef::At(StrSection::LineStr, o.0 as u64)),
            AttributeValue::DebugStrOffsetsIndex(index) => {
                let word = u64::from(unit.header.format().word_size());
                let at = (index.0 as u64)
                    .checked_mul(word)?
                    .checked_add(unit.str_offsets_base)?;
                let offset = self.str_offset_at(at, word)?;
                Some(StrRef::At(StrSection::Str, offset))
            }
            _ => None,
        }
    }

    /// The offset stored at `at` in `.debug_str_offsets` (`word` = 4 or 8 bytes), through a
    /// one-block cache (a unit's `strx` indexes are close together).
    fn str_offset_at(&mut self, at: u64, word: u64) -> Option<u64> {
        const BLOCK: u64 = 4096;
        let section = &self.sections.str_offsets;
        if at.checked_add(word)? > section.len() {
            return None;
        }
        let start = at - at % BLOCK;
        let fresh = !matches!(&self.str_offsets_block, Some((s, _)) if *s == start);
        if fresh {
            // One word more than the block, for an entry straddling its end.
            let len = (BLOCK + 8).min(section.len() - start);
            let block = section.read_vec(start, len).ok()?;
            self.str_offsets_block = Some((start, block));
        }
        let (_, block) = self.str_offsets_block.as_ref()?;
        let i = usize::try_from(at - start).ok()?;
        let w = usize::try_from(word).ok()?;
        let bytes = block.get(i..i.checked_add(w)?)?;
        Some(if w == 8 {
            self.endian.read_u64(bytes)
        } else {
            u64::from(self.endian.read_u32(bytes))
        })
    }

    fn entry(&mut self, loc: Loc) -> Res<Die> {
        Ok(self.unit(loc.unit)?.entry(loc.offset)?)
    }

    fn children(&mut self, loc: Loc) -> Res<Vec<Die>> {
        let unit = self.unit(loc.unit)?;
        let mut tree = unit.header.entries_tree(&unit.abbrevs, Some(loc.offset))?;
        let root = tree.root()?;
        let mut iter = root.children();
        let mut out = Vec::new();
        while let Some(child) = iter.next()? {
            out.push(child.entry().clone());
        }
        Ok(out)
    }

    /// A string attribute of `die` (in unit `unit`), read and cached by offset.
    fn str_attr(&mut self, unit: usize, die: &Die, at: gimli::DwAt) -> Option<String> {
        let value = die.attr_value(at)?;
        self.string(unit, value)
    }

    fn string(&mut self, unit: usize, value: AttributeValue<R>) -> Option<String> {
        let loaded = self.unit(unit).ok()?;
        match self.str_ref(&loaded, value)? {
            StrRef::Inline(r) => Some(r.to_string_lossy().ok()?.into_owned()),
            StrRef::At(section, offset) => {
                if let Some(s) = self.strings.get(&(section, offset)) {
                    return s.clone();
                }
                let data = match section {
                    StrSection::Str => &self.sections.str,
                    StrSection::LineStr => &self.sections.line_str,
                };
                let s = data
                    .read_cstr(offset)
                    .ok()
                    .flatten()
                    .map(|b| String::from_utf8_lossy(&b).into_owned());
                self.strings.insert((section, offset), s.clone());
                s
            }
        }
    }

    /// Resolves a reference attribute to a location.
    fn resolve(&mut self, unit: usize, value: AttributeValue<R>) -> Res<Option<Loc>> {
        match value {
            AttributeValue::UnitRef(offset) => Ok(Some(Loc { unit, offset })),
            AttributeValue::DebugInfoRef(offset) => {
                let global = offset.0 as u64;
                let idx = self.spans.partition_point(|s| s.offset <= global);
                let Some(idx) = idx.checked_sub(1) else {
                    return Ok(None);
                };
                let span = self.spans[idx];
                let local = global - span.offset;
                if local >= span.size {
                    return Ok(None);
                }
                let target = self.unit(idx)?;
                if local < target.header.header_size() as u64 {
                    return Ok(None);
                }
                Ok(Some(Loc {
                    unit: idx,
                    offset: UnitOffset(local as usize),
                }))
            }
            _ => Ok(None),
        }
    }

    /// Namespace ranges of a unit (computed when first needed, dropped with the unit).
    fn unit_namespaces(&mut self, idx: usize) -> Res<Rc<Vec<Namespace>>> {
        if let Some(spaces) = self.namespaces.get(&idx) {
            return Ok(spaces.clone());
        }
        let unit = self.unit(idx)?;
        let mut spaces: Vec<Namespace> = Vec::new();
        let mut open: Vec<usize> = Vec::new();
        let mut cursor = unit.header.entries(&unit.abbrevs);
        while let Some(entry) = cursor.next_dfs()? {
            let depth = entry.depth();
            let offset = entry.offset().0;
            while let Some(&top) = open.last() {
                if spaces[top].depth >= depth {
                    spaces[top].end = offset;
                    open.pop();
                } else {
                    break;
                }
            }
            if entry.tag() == gimli::DW_TAG_namespace {
                open.push(spaces.len());
                spaces.push(Namespace {
                    start: offset,
                    end: usize::MAX,
                    depth,
                    name: entry.attr_value(gimli::DW_AT_name),
                });
            }
        }
        let spaces = Rc::new(spaces);
        self.namespaces.insert(idx, spaces.clone());
        Ok(spaces)
    }

    fn qualified(&mut self, loc: Loc, name: &str) -> Res<String> {
        let spaces = self.unit_namespaces(loc.unit)?;
        let mut parts: Vec<&Namespace> = spaces
            .iter()
            .filter(|n| n.start < loc.offset.0 && loc.offset.0 < n.end)
            .collect();
        parts.sort_by_key(|n| n.depth);
        let mut out = String::new();
        for p in parts {
            let part = p
                .name
                .clone()
                .and_then(|v| self.string(loc.unit, v))
                .unwrap_or_else(|| "{anon}".to_owned());
            out.push_str(&part);
            out.push_str("::");
        }
        out.push_str(name);
        Ok(out)
    }

    fn function_signature(&mut self, loc: Loc, direct: &mut BTreeSet<String>) -> Res<String> {
        let die = self.entry(loc)?;
        let mut source = loc;
        let mut params = self.params(loc)?;
        let mut ret = die.attr_value(gimli::DW_AT_type);
        for at in [gimli::DW_AT_abstract_origin, gimli::DW_AT_specification] {
            let origin = match die.attr_value(at) {
                Some(v) => self.resolve(loc.unit, v)?,
                None => None,
            };
            if let Some(origin) = origin {
                if params.is_empty() {
                    params = self.params(origin)?;
                }
                if ret.is_none() {
                    let o = self.entry(origin)?;
                    ret = o.attr_value(gimli::DW_AT_type);
                    source = origin;
                }
            }
        }
        let mut rendered = Vec::new();
        for (unit, value) in params {
            rendered.push(match value {
                Some(v) => self.render_ref(unit, v, direct, 0)?,
                None => "...".to_owned(),
            });
        }
        let ret = match ret {
            Some(v) => self.render_ref(source.unit, v, direct, 0)?,
            None => "()".to_owned(),
        };
        Ok(format!("fn({}) -> {ret}", rendered.join(", ")))
    }

    /// Formal parameters' type attributes (None = variadic `...`).
    #[allow(clippy::type_complexity)]
    fn params(&mut self, loc: Loc) -> Res<Vec<(usize, Option<AttributeValue<R>>)>> {
        let mut out = Vec::new();
        for child in self.children(loc)? {
            match child.tag() {
                gimli::DW_TAG_formal_parameter => {
                    let mut ty = child.attr_value(gimli::DW_AT_type);
                    if ty.is_none()
                        && let Some(v) = child.attr_value(gimli::DW_AT_abstract_origin)
                        && let Ok(Some(origin)) = self.resolve(loc.unit, v)
                        && let Ok(o) = self.entry(origin)
                    {
                        ty = o.attr_value(gimli::DW_AT_type);
                    }
                    out.push((loc.unit, Some(ty.unwrap_or(AttributeValue::Udata(0)))));
                }
                gimli::DW_TAG_unspecified_parameters => out.push((loc.unit, None)),
                _ => {}
            }
        }
        Ok(out)
    }

    fn render_ref(
        &mut self,
        unit: usize,
        value: AttributeValue<R>,
        direct: &mut BTreeSet<String>,
        depth: usize,
    ) -> Res<String> {
        match self.resolve(unit, value)? {
            Some(loc) => self.render(loc, direct, depth),
            None => Ok("?".to_owned()),
        }
    }

    fn render_opt(
        &mut self,
        unit: usize,
        die: &Die,
        direct: &mut BTreeSet<String>,
        depth: usize,
    ) -> Res<String> {
        match die.attr_value(gimli::DW_AT_type) {
            Some(v) => self.render_ref(unit, v, direct, depth + 1),
            None => Ok("void".to_owned()),
        }
    }

    fn render(&mut self, loc: Loc, direct: &mut BTreeSet<String>, depth: usize) -> Res<String> {
        self.steps += 1;
        if depth > MAX_DEPTH || self.steps > MAX_STEPS {
            return Ok("?deep".to_owned());
        }
        let die = self.entry(loc)?;
        let name = self.str_attr(loc.unit, &die, gimli::DW_AT_name);
        Ok(match die.tag() {
            gimli::DW_TAG_base_type | gimli::DW_TAG_unspecified_type => {
                name.unwrap_or_else(|| "void".to_owned())
            }
            gimli::DW_TAG_pointer_type
            | gimli::DW_TAG_reference_type
            | gimli::DW_TAG_rvalue_reference_type
            | gimli::DW_TAG_ptr_to_member_type => {
                format!("*{}", self.render_opt(loc.unit, &die, direct, depth)?)
            }
            gimli::DW_TAG_const_type
            | gimli::DW_TAG_volatile_type
            | gimli::DW_TAG_restrict_type
            | gimli::DW_TAG_atomic_type
            | gimli::DW_TAG_typedef => self.render_opt(loc.unit, &die, direct, depth)?,
            gimli::DW_TAG_array_type => {
                let elem = self.render_opt(loc.unit, &die, direct, depth)?;
                let mut dims = Vec::new();
                for child in self.children(loc)? {
                    if child.tag() == gimli::DW_TAG_subrange_type {
                        let count = child
                            .attr_value(gimli::DW_AT_count)
                            .and_then(|v| v.udata_value())
                            .or_else(|| {
                                let upper = child
                                    .attr_value(gimli::DW_AT_upper_bound)
                                    .and_then(|v| v.udata_value())?;
                                let lower = child
                                    .attr_value(gimli::DW_AT_lower_bound)
                                    .and_then(|v| v.udata_value())
                                    .unwrap_or(0);
                                upper.checked_add(1)?.checked_sub(lower)
                            });
                        dims.push(count);
                    }
                }
                let mut out = elem;
                for dim in dims.iter().rev() {
                    out = match dim {
                        Some(n) => format!("[{out}; {n}]"),
                        None => format!("[{out}]"),
                    };
                }
                out
            }
            gimli::DW_TAG_subroutine_type => {
                let mut params = Vec::new();
                for child in self.children(loc)? {
                    match child.tag() {
                        gimli::DW_TAG_formal_parameter => {
                            params.push(self.render_opt(loc.unit, &child, direct, depth)?)
                        }
                        gimli::DW_TAG_unspecified_parameters => params.push("...".to_owned()),
                        _ => {}
                    }
                }
                let ret = match die.attr_value(gimli::DW_AT_type) {
                    Some(v) => self.render_ref(loc.unit, v, direct, depth + 1)?,
                    None => "()".to_owned(),
                };
                format!("fn({}) -> {ret}", params.join(", "))
            }
            gimli::DW_TAG_structure_type
            | gimli::DW_TAG_class_type
            | gimli::DW_TAG_union_type
            | gimli::DW_TAG_enumeration_type => {
                let key = match &name {
                    Some(n) => self.qualified(loc, n)?,
                    None => {
                        // Anonymous: named by its layout, never by its address.
                        match self.anon.get(&(loc.unit, loc.offset.0)) {
                            Some(Some(key)) => {
                                direct.insert(key.clone());
                                return Ok(key.clone());
                            }
                            Some(None) => return Ok("?cycle".to_owned()),
                            None => {}
                        }
                        self.anon.insert((loc.unit, loc.offset.0), None);
                        let mut scratch = BTreeSet::new();
                        let layout = self.layout(loc, &die, &mut scratch, depth)?;
                        let digest =
                            crate::types::Sha256Digest::of_bytes(layout.canonical("").as_bytes());
                        let key = format!("{{anon {}}}", &digest.hex()[..16]);
                        self.types.entry(key.clone()).or_insert(layout);
                        self.deps.entry(key.clone()).or_default().extend(scratch);
                        self.anon
                            .insert((loc.unit, loc.offset.0), Some(key.clone()));
                        direct.insert(key.clone());
                        return Ok(key);
                    }
                };
                direct.insert(key.clone());
                if !self.types.contains_key(&key) && !self.in_progress.contains(&key) {
                    self.in_progress.insert(key.clone());
                    let mut deps = BTreeSet::new();
                    let layout = self.layout(loc, &die, &mut deps, depth)?;
                    self.in_progress.remove(&key);
                    deps.remove(&key);
                    self.deps.insert(key.clone(), deps);
                    self.types.insert(key.clone(), layout);
                }
                key
            }
            other => format!("?{}", other.static_string().unwrap_or("tag")),
        })
    }

    fn layout(
        &mut self,
        loc: Loc,
        die: &Die,
        deps: &mut BTreeSet<String>,
        depth: usize,
    ) -> Res<TypeLayout> {
        let kind = match die.tag() {
            gimli::DW_TAG_union_type => TypeKind::Union,
            gimli::DW_TAG_enumeration_type => TypeKind::Enum,
            _ => TypeKind::Struct,
        };
        let size = die
            .attr_value(gimli::DW_AT_byte_size)
            .and_then(|v| v.udata_value());
        let align = die
            .attr_value(gimli::DW_AT_alignment)
            .and_then(|v| v.udata_value());
        let mut layout = TypeLayout {
            kind,
            size,
            align,
            fields: Vec::new(),
            variants: Vec::new(),
            enumerators: Vec::new(),
        };
        if kind == TypeKind::Enum {
            if die.attr_value(gimli::DW_AT_type).is_some() {
                let repr = self.render_opt(loc.unit, die, deps, depth)?;
                layout.fields.push(Field {
                    name: "__repr".to_owned(),
                    offset: 0,
                    ty: repr,
                });
            }
            for child in self.children(loc)? {
                if child.tag() == gimli::DW_TAG_enumerator {
                    let name = self
                        .str_attr(loc.unit, &child, gimli::DW_AT_name)
                        .unwrap_or_default();
                    let value = match child.attr_value(gimli::DW_AT_const_value) {
                        Some(AttributeValue::Sdata(v)) => v.to_string(),
                        Some(v) => v
                            .udata_value()
                            .map_or_else(|| "?".to_owned(), |v| v.to_string()),
                        None => "?".to_owned(),
                    };
                    layout.enumerators.push(format!("{name}={value}"));
                }
            }
            return Ok(layout);
        }
        for child in self.children(loc)? {
            match child.tag() {
                gimli::DW_TAG_member | gimli::DW_TAG_inheritance => {
                    if let Some(field) = self.member(loc.unit, &child, 0, deps, depth)? {
                        layout.fields.push(field);
                    }
                }
                gimli::DW_TAG_variant_part => {
                    let part = Loc {
                        unit: loc.unit,
                        offset: child.offset(),
                    };
                    self.variant_part(part, &mut layout, deps, depth)?;
                }
                _ => {}
            }
        }
        sort_fields(&mut layout.fields);
        layout.variants.sort();
        Ok(layout)
    }

    fn member(
        &mut self,
        unit: usize,
        die: &Die,
        base: u64,
        deps: &mut BTreeSet<String>,
        depth: usize,
    ) -> Res<Option<Field>> {
        if die.attr(gimli::DW_AT_external).is_some() {
            return Ok(None); // static member
        }
        let name = self
            .str_attr(unit, die, gimli::DW_AT_name)
            .unwrap_or_else(|| {
                if die.tag() == gimli::DW_TAG_inheritance {
                    "<base>".to_owned()
                } else {
                    "<anon>".to_owned()
                }
            });
        let offset = member_offset(die);
        let ty = self.render_opt(unit, die, deps, depth)?;
        Ok(Some(Field {
            name,
            offset: base.saturating_add(offset),
            ty,
        }))
    }

    fn variant_part(
        &mut self,
        part: Loc,
        layout: &mut TypeLayout,
        deps: &mut BTreeSet<String>,
        depth: usize,
    ) -> Res<()> {
        for child in self.children(part)? {
            match child.tag() {
                gimli::DW_TAG_member => {
                    if let Some(mut field) = self.member(part.unit, &child, 0, deps, depth)? {
                        if field.name == "<anon>" {
                            field.name = "<tag>".to_owned(); // the discriminant
                        }
                        layout.fields.push(field);
                    }
                }
                gimli::DW_TAG_variant => {
                    let discriminant = match child.attr_value(gimli::DW_AT_discr_value) {
                        Some(AttributeValue::Sdata(v)) => Some(v),
                        Some(v) => v.udata_value().and_then(|u| i64::try_from(u).ok()),
                        None => None,
                    };
                    let vloc = Loc {
                        unit: part.unit,
                        offset: child.offset(),
                    };
                    for m in self.children(vloc)? {
                        if m.tag() != gimli::DW_TAG_member {
                            continue;
                        }
                        let name = self
                            .str_attr(part.unit, &m, gimli::DW_AT_name)
                            .unwrap_or_default();
                        let base = member_offset(&m);
                        let fields = self.inline_fields(part.unit, &m, base, deps, depth)?;
                        layout.variants.push(Variant {
                            name,
                            discriminant,
                            fields,
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The fields of a variant's struct type, with offsets made relative to the enum.
    fn inline_fields(
        &mut self,
        unit: usize,
        member: &Die,
        base: u64,
        deps: &mut BTreeSet<String>,
        depth: usize,
    ) -> Res<Vec<Field>> {
        let target = match member.attr_value(gimli::DW_AT_type) {
            Some(v) => self.resolve(unit, v)?,
            None => None,
        };
        let Some(loc) = target else {
            return Ok(Vec::new());
        };
        let die = self.entry(loc)?;
        if die.tag() != gimli::DW_TAG_structure_type {
            let ty = self.render(loc, deps, depth + 1)?;
            return Ok(vec![Field {
                name: "__0".to_owned(),
                offset: base,
                ty,
            }]);
        }
        let mut fields = Vec::new();
        for child in self.children(loc)? {
            if child.tag() == gimli::DW_TAG_member {
                if let Some(f) = self.member(loc.unit, &child, base, deps, depth + 1)? {
                    fields.push(f);
                }
            }
        }
        sort_fields(&mut fields);
        Ok(fields)
    }

    /// Named types reachable from `direct`, transitively.
    fn closure(&self, direct: &BTreeSet<String>) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut todo: Vec<&String> = direct.iter().collect();
        while let Some(name) = todo.pop() {
            if out.insert(name.clone()) {
                if let Some(next) = self.deps.get(name) {
                    todo.extend(next.iter());
                }
            }
        }
        out
    }
}

/// Offset order (then name), the order a reader of the layout expects.
fn sort_fields(fields: &mut [Field]) {
    fields.sort_by(|a, b| (a.offset, &a.name, &a.ty).cmp(&(b.offset, &b.name, &b.ty)));
}

fn member_offset(die: &Die) -> u64 {
    match die.attr_value(gimli::DW_AT_data_member_location) {
        Some(v) => v.udata_value().unwrap_or_else(|| {
            // A location expression: only `DW_OP_plus_uconst n` is used for plain members.
            if let AttributeValue::Exprloc(expr) = v
                && let Ok(bytes) = expr.0.to_slice()
                && bytes.first() == Some(&gimli::DW_OP_plus_uconst.0)
            {
                let mut r = EndianSlice::new(&bytes[1..], RunTimeEndian::Little);
                return gimli::Reader::read_uleb128(&mut r).unwrap_or(0);
            }
            0
        }),
        None => 0,
    }
}
