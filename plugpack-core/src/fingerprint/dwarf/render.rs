//! Type rendering: a type DIE as its canonical string (pointers, arrays, function types,
//! qualified names of structs, unions and enums, anonymous types named by their layout
//! digest) and the [`TypeLayout`] of each named type reached, with the dependencies between
//! types for [`Reader::closure`](super::Reader::closure).

use std::collections::BTreeSet;

use gimli::{AttributeValue, EndianSlice, Reader as _, RunTimeEndian};

use super::{Die, Loc, R, Reader, Res};
use crate::fingerprint::{Field, TypeKind, TypeLayout, Variant};

/// Deepest type nesting followed before a type is rendered `?deep`.
const MAX_DEPTH: usize = 96;
/// Most type DIEs rendered for one file (each symbol's types included).
const MAX_STEPS: usize = 4_000_000;

impl<'s> Reader<'s> {
    /// The type a reference attribute of unit `unit` points to, rendered (`?` if it
    /// resolves nowhere).
    pub(super) fn render_ref(
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

    /// The type of `die` (its `DW_AT_type`), rendered; `void` when it has none.
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

    /// The type DIE at `loc` as its canonical string; struct, union and enum types are
    /// rendered by name and their layouts recorded in `self.types`.
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

    /// The layout of the struct, union or enum DIE `die` at `loc`.
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

    /// A member (or base class) of a struct, its offset shifted by `base`; `None` for a
    /// static member.
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

    /// The discriminant and variants of a Rust enum's `DW_TAG_variant_part`, into `layout`.
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
    pub(super) fn closure(&self, direct: &BTreeSet<String>) -> BTreeSet<String> {
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

/// A member's `DW_AT_data_member_location`, as a constant or a `DW_OP_plus_uconst`.
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
