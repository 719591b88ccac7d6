//! Finding the exports: where the string sections store the exported names, the one pass
//! over every unit that picks the best DIE for each of them (and counts base types), and the
//! canonical signature of an exported function.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use gimli::{AttributeValue, Reader as _};

use super::units::{LoadedUnit, StrRef, StrSection};
use super::{Die, Loc, R, Reader, Res, Sections};

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
pub(super) struct Names {
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

/// The wanted names and the offsets at which the string sections store them.
pub(super) fn find_names(
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

/// How good a DIE is as the description of an export: a definition beats a declaration,
/// and one with code (functions) or a location (data) beats one without.
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
    /// Pass over every unit: the best DIE of each wanted name, and the number of base types.
    #[allow(clippy::type_complexity)]
    pub(super) fn find_exports(
        &mut self,
        names: &Names,
    ) -> Res<(BTreeMap<String, (u8, Loc)>, usize)> {
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

    /// Whether a name attribute is one of the wanted names, by string offset when it has one.
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

    /// The canonical signature (`fn(A, B) -> R`) of the function DIE at `loc`; the named
    /// types it mentions are added to `direct`.
    pub(super) fn function_signature(
        &mut self,
        loc: Loc,
        direct: &mut BTreeSet<String>,
    ) -> Res<String> {
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
}
