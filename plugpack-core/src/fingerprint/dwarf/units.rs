//! Units and strings: the index of `.debug_info`'s units, loading a unit (its bytes and
//! abbreviation table) into a small LRU, reading string attributes by offset (with the
//! `.debug_str_offsets` indirection of DWARF 5), resolving references to DIEs and the
//! namespace ranges that qualify type names.

use std::rc::Rc;
use std::sync::Arc;

use gimli::{
    Abbreviations, AttributeValue, EndianSlice, Endianity, Reader as _, RunTimeEndian, UnitHeader,
    UnitOffset,
};

use super::{Die, Loc, R, Reader, Res, Section};

/// Units kept loaded while types are described.
const CACHED_UNITS: usize = 4;

/// Where a unit lives in `.debug_info`.
#[derive(Clone, Copy)]
pub(super) struct UnitSpan {
    offset: u64,
    size: u64,
}

/// One unit in memory: its bytes (inside `header`), abbreviations and string base.
pub(super) struct LoadedUnit {
    pub(super) header: UnitHeader<R>,
    pub(super) abbrevs: Arc<Abbreviations>,
    str_offsets_base: u64,
}

impl LoadedUnit {
    /// The DIE at `offset` in this unit.
    pub(super) fn entry(&self, offset: UnitOffset) -> gimli::Result<Die> {
        self.header.entry(&self.abbrevs, offset)
    }
}

/// A `DW_TAG_namespace` DIE's extent in its unit (DIE offsets `start..end`), nesting depth
/// and name.
pub(super) struct Namespace {
    start: usize,
    end: usize,
    depth: isize,
    name: Option<AttributeValue<R>>,
}

/// Which string section a string offset is in.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum StrSection {
    Str,
    LineStr,
}

/// A string attribute, not yet read.
pub(super) enum StrRef {
    Inline(R),
    At(StrSection, u64),
}

/// Offsets and lengths of the units in `.debug_info`, from their initial-length fields.
pub(super) fn index_units(info: &Section<'_>, endian: RunTimeEndian) -> Res<Vec<UnitSpan>> {
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

impl<'s> Reader<'s> {
    /// Reads unit `idx` of `.debug_info` (its bytes only) and its abbreviations.
    pub(super) fn load_unit(&mut self, idx: usize) -> Res<LoadedUnit> {
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

    /// Where a string attribute's bytes are (`gimli::Dwarf::attr_string` without reading).
    pub(super) fn str_ref(
        &mut self,
        unit: &LoadedUnit,
        value: AttributeValue<R>,
    ) -> Option<StrRef> {
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

    /// The DIE at `loc`, loading its unit if needed.
    pub(super) fn entry(&mut self, loc: Loc) -> Res<Die> {
        Ok(self.unit(loc.unit)?.entry(loc.offset)?)
    }

    /// The direct children of the DIE at `loc`.
    pub(super) fn children(&mut self, loc: Loc) -> Res<Vec<Die>> {
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
    pub(super) fn str_attr(&mut self, unit: usize, die: &Die, at: gimli::DwAt) -> Option<String> {
        let value = die.attr_value(at)?;
        self.string(unit, value)
    }

    /// The string an attribute value of unit `unit` refers to, read and cached by offset.
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
    pub(super) fn resolve(&mut self, unit: usize, value: AttributeValue<R>) -> Res<Option<Loc>> {
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

    /// `name` prefixed with the namespaces enclosing the DIE at `loc` (`a::b::name`).
    pub(super) fn qualified(&mut self, loc: Loc, name: &str) -> Res<String> {
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
}
