//! Types level from DWARF (`gimli`): signatures of exported functions and the layouts of the
//! struct/union/enum types they reach, in the canonical form described in [`super`].
//!
//! One cursor pass over every unit finds the DIEs of the exported symbols and records
//! namespace ranges (for qualified names) and whether any base type exists at all (DWARF from
//! `debug = "limited"` or `"line-tables-only"` has none, and then parameter types are
//! missing: that is reported, never papered over). Types are then read on demand from the
//! exported DIEs outward.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use camino::Utf8Path;
use gimli::{AttributeValue, DebuggingInformationEntry, EndianSlice, RunTimeEndian, UnitOffset};

use super::{Error, Field, TypeKind, TypeLayout, Variant};

type R<'a> = EndianSlice<'a, RunTimeEndian>;
type Die<'a> = DebuggingInformationEntry<R<'a>>;

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

const MAX_DEPTH: usize = 96;
const MAX_STEPS: usize = 4_000_000;

struct Namespace {
    start: usize,
    end: usize,
    depth: isize,
    name: String,
}

struct Reader<'a> {
    dwarf: &'a gimli::Dwarf<R<'a>>,
    units: Vec<gimli::Unit<R<'a>>>,
    namespaces: Vec<Vec<Namespace>>,
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

pub(crate) fn describe<'d>(
    path: &Utf8Path,
    loader: &dyn Fn(&str) -> Cow<'d, [u8]>,
    little_endian: bool,
    functions: &[String],
    data: &[String],
) -> Result<Outcome, Error> {
    let malformed = |e: gimli::Error| Error::Malformed {
        path: path.to_owned(),
        format: "DWARF",
        reason: e.to_string(),
    };
    let sections = gimli::DwarfSections::load(|id| Ok::<_, gimli::Error>(loader(id.name())))
        .map_err(malformed)?;
    if loader(".debug_info").is_empty() {
        return Ok(Outcome::NoDwarf);
    }
    let endian = if little_endian {
        RunTimeEndian::Little
    } else {
        RunTimeEndian::Big
    };
    let dwarf = sections.borrow(|s| EndianSlice::new(s, endian));
    let wanted_fns: BTreeSet<&[u8]> = functions.iter().map(|f| f.as_bytes()).collect();
    let wanted_data: BTreeSet<&[u8]> = data.iter().map(|d| d.as_bytes()).collect();

    let mut reader = Reader {
        dwarf: &dwarf,
        units: Vec::new(),
        namespaces: Vec::new(),
        types: BTreeMap::new(),
        deps: BTreeMap::new(),
        in_progress: BTreeSet::new(),
        anon: BTreeMap::new(),
        steps: 0,
    };
    // (name) -> best candidate (score, loc)
    let mut found: BTreeMap<String, (u8, Loc)> = BTreeMap::new();
    let mut base_types = 0usize;
    let mut headers = dwarf.units();
    while let Some(header) = headers.next().map_err(malformed)? {
        let mut unit = dwarf.unit(header).map_err(malformed)?;
        unit.line_program = None;
        let unit_idx = reader.units.len();
        let mut spaces: Vec<Namespace> = Vec::new();
        let mut open: Vec<usize> = Vec::new();
        {
            let mut cursor = unit.entries();
            while let Some(entry) = cursor.next_dfs().map_err(malformed)? {
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
                match entry.tag() {
                    gimli::DW_TAG_namespace => {
                        let name = attr_str(&dwarf, &unit, entry, gimli::DW_AT_name)
                            .unwrap_or_else(|| "{anon}".to_owned());
                        open.push(spaces.len());
                        spaces.push(Namespace {
                            start: offset,
                            end: usize::MAX,
                            depth,
                            name,
                        });
                    }
                    gimli::DW_TAG_base_type => base_types += 1,
                    gimli::DW_TAG_subprogram | gimli::DW_TAG_variable => {
                        let is_fn = entry.tag() == gimli::DW_TAG_subprogram;
                        let wanted = if is_fn { &wanted_fns } else { &wanted_data };
                        let Some(name) = symbol_name(&dwarf, &unit, entry) else {
                            continue;
                        };
                        if !wanted.contains(name) {
                            continue;
                        }
                        let name = String::from_utf8_lossy(name).into_owned();
                        let score = candidate_score(entry, is_fn);
                        let loc = Loc {
                            unit: unit_idx,
                            offset: entry.offset(),
                        };
                        match found.get(&name) {
                            Some((best, _)) if *best >= score => {}
                            _ => {
                                found.insert(name, (score, loc));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        reader.units.push(unit);
        reader.namespaces.push(spaces);
    }
    if base_types == 0 {
        return Ok(Outcome::Incomplete(
            "DWARF present but without type information (debug = \"limited\" or \
             \"line-tables-only\"?): parameter types unknown, build with debug = \"full\""
                .to_owned(),
        ));
    }

    let mut symbols = BTreeMap::new();
    for (name, (_, loc)) in found {
        let is_fn = wanted_fns.contains(name.as_bytes());
        let mut direct = BTreeSet::new();
        let signature = if is_fn {
            reader
                .function_signature(loc, &mut direct)
                .map_err(malformed)?
        } else {
            let die = reader.entry(loc).map_err(malformed)?;
            let ty = match die.attr_value(gimli::DW_AT_type) {
                Some(v) => reader
                    .render_ref(loc.unit, v, &mut direct, 0)
                    .map_err(malformed)?,
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

fn candidate_score(entry: &Die<'_>, is_fn: bool) -> u8 {
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

fn attr_str(
    dwarf: &gimli::Dwarf<R<'_>>,
    unit: &gimli::Unit<R<'_>>,
    entry: &Die<'_>,
    at: gimli::DwAt,
) -> Option<String> {
    let value = entry.attr_value(at)?;
    let s = dwarf.attr_string(unit, value).ok()?;
    Some(match s.to_string_lossy() {
        Cow::Borrowed(b) => b.to_owned(),
        Cow::Owned(o) => o,
    })
}

/// The linker-visible name of a subprogram/variable DIE: its linkage name, else its name
/// (no_mangle items), following `abstract_origin`/`specification` once. Borrowed from the
/// string section: this runs on every function DIE, so it must not allocate.
fn symbol_name<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    unit: &gimli::Unit<R<'a>>,
    entry: &Die<'a>,
) -> Option<&'a [u8]> {
    let raw = |e: &Die<'a>, at: gimli::DwAt| -> Option<&'a [u8]> {
        let value = e.attr_value(at)?;
        Some(dwarf.attr_string(unit, value).ok()?.slice())
    };
    let own = raw(entry, gimli::DW_AT_linkage_name).or_else(|| raw(entry, gimli::DW_AT_name));
    if own.is_some() {
        return own;
    }
    for at in [gimli::DW_AT_abstract_origin, gimli::DW_AT_specification] {
        if let Some(AttributeValue::UnitRef(off)) = entry.attr_value(at) {
            let origin = unit.entry(off).ok()?;
            return raw(&origin, gimli::DW_AT_linkage_name)
                .or_else(|| raw(&origin, gimli::DW_AT_name));
        }
    }
    None
}

impl<'a> Reader<'a> {
    fn entry(&self, loc: Loc) -> gimli::Result<Die<'a>> {
        self.unit(loc.unit)?.entry(loc.offset)
    }

    fn unit(&self, idx: usize) -> gimli::Result<&gimli::Unit<R<'a>>> {
        self.units
            .get(idx)
            .ok_or(gimli::Error::NoEntryAtGivenOffset(0))
    }

    fn children(&self, loc: Loc) -> gimli::Result<Vec<Die<'a>>> {
        let unit = self.unit(loc.unit)?;
        let mut tree = unit.entries_tree(Some(loc.offset))?;
        let root = tree.root()?;
        let mut iter = root.children();
        let mut out = Vec::new();
        while let Some(child) = iter.next()? {
            out.push(child.entry().clone());
        }
        Ok(out)
    }

    fn str_attr(&self, unit: usize, die: &Die<'a>, at: gimli::DwAt) -> Option<String> {
        let u = self.units.get(unit)?;
        attr_str(self.dwarf, u, die, at)
    }

    /// Resolves a reference attribute to a location.
    fn resolve(&self, unit: usize, value: AttributeValue<R<'a>>) -> Option<Loc> {
        match value {
            AttributeValue::UnitRef(offset) => Some(Loc { unit, offset }),
            AttributeValue::DebugInfoRef(offset) => {
                self.units.iter().enumerate().find_map(|(i, u)| {
                    offset
                        .to_unit_offset(&u.header)
                        .map(|offset| Loc { unit: i, offset })
                })
            }
            _ => None,
        }
    }

    fn qualified(&self, loc: Loc, name: &str) -> String {
        let mut parts: Vec<&Namespace> = self
            .namespaces
            .get(loc.unit)
            .map(|spaces| {
                spaces
                    .iter()
                    .filter(|n| n.start < loc.offset.0 && loc.offset.0 < n.end)
                    .collect()
            })
            .unwrap_or_default();
        parts.sort_by_key(|n| n.depth);
        let mut out = String::new();
        for p in parts {
            out.push_str(&p.name);
            out.push_str("::");
        }
        out.push_str(name);
        out
    }

    fn function_signature(
        &mut self,
        loc: Loc,
        direct: &mut BTreeSet<String>,
    ) -> gimli::Result<String> {
        let die = self.entry(loc)?;
        let mut source = loc;
        let mut params = self.params(loc)?;
        let mut ret = die.attr_value(gimli::DW_AT_type);
        for at in [gimli::DW_AT_abstract_origin, gimli::DW_AT_specification] {
            if let Some(origin) = die.attr_value(at).and_then(|v| self.resolve(loc.unit, v)) {
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
    fn params(&self, loc: Loc) -> gimli::Result<Vec<(usize, Option<AttributeValue<R<'a>>>)>> {
        let mut out = Vec::new();
        for child in self.children(loc)? {
            match child.tag() {
                gimli::DW_TAG_formal_parameter => {
                    let ty = child.attr_value(gimli::DW_AT_type).or_else(|| {
                        let origin = child
                            .attr_value(gimli::DW_AT_abstract_origin)
                            .and_then(|v| self.resolve(loc.unit, v))?;
                        self.entry(origin).ok()?.attr_value(gimli::DW_AT_type)
                    });
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
        value: AttributeValue<R<'a>>,
        direct: &mut BTreeSet<String>,
        depth: usize,
    ) -> gimli::Result<String> {
        match self.resolve(unit, value) {
            Some(loc) => self.render(loc, direct, depth),
            None => Ok("?".to_owned()),
        }
    }

    fn render_opt(
        &mut self,
        unit: usize,
        die: &Die<'a>,
        direct: &mut BTreeSet<String>,
        depth: usize,
    ) -> gimli::Result<String> {
        match die.attr_value(gimli::DW_AT_type) {
            Some(v) => self.render_ref(unit, v, direct, depth + 1),
            None => Ok("void".to_owned()),
        }
    }

    fn render(
        &mut self,
        loc: Loc,
        direct: &mut BTreeSet<String>,
        depth: usize,
    ) -> gimli::Result<String> {
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
                    Some(n) => self.qualified(loc, n),
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
        die: &Die<'a>,
        deps: &mut BTreeSet<String>,
        depth: usize,
    ) -> gimli::Result<TypeLayout> {
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
        die: &Die<'a>,
        base: u64,
        deps: &mut BTreeSet<String>,
        depth: usize,
    ) -> gimli::Result<Option<Field>> {
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
    ) -> gimli::Result<()> {
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
        member: &Die<'a>,
        base: u64,
        deps: &mut BTreeSet<String>,
        depth: usize,
    ) -> gimli::Result<Vec<Field>> {
        let Some(loc) = member
            .attr_value(gimli::DW_AT_type)
            .and_then(|v| self.resolve(unit, v))
        else {
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

fn member_offset(die: &Die<'_>) -> u64 {
    match die.attr_value(gimli::DW_AT_data_member_location) {
        Some(v) => v.udata_value().unwrap_or_else(|| {
            // A location expression: only `DW_OP_plus_uconst n` is used for plain members.
            if let AttributeValue::Exprloc(expr) = v {
                let bytes = expr.0.slice();
                if bytes.first() == Some(&gimli::DW_OP_plus_uconst.0) {
                    let mut r = EndianSlice::new(&bytes[1..], RunTimeEndian::Little);
                    return gimli::Reader::read_uleb128(&mut r).unwrap_or(0);
                }
            }
            0
        }),
        None => 0,
    }
}
