//! Matching exports with their DWARF descriptions, aliases included: an export without a
//! description of its own that sits where a described export is (same address for native
//! libraries, same function index for wasm) shares that export's body and is recorded as
//! its alias, with its declared types.

use std::collections::BTreeMap;

use super::dwarf::SymbolDesc;
use super::{Detail, RawSymbol, SymbolKind};

/// Gives every export its DWARF description and returns the document's detail: `types`
/// when every export is described, directly or through an alias, else `symbols`.
///
/// An export without a DWARF subprogram (or variable) of its own that sits at the address
/// of an export that has one is an **alias**: the optimiser folded identical code into one
/// body (LLVM's function merging, as in rure's `rure_is_match`/`rure_set_is_match`) and
/// DWARF describes only the body's first name. It is recorded with that description's
/// declared types, `alias_of` and a note; `signature` makes its canonical signature from a
/// description. Only `wanted` exports are looked at (the others keep the document's level).
/// An export with no description at all keeps the symbols level (its own `detail` says so)
/// and is named in the notes; the others keep their types.
pub(crate) fn apply(
    exports: &mut [RawSymbol],
    described: &BTreeMap<String, SymbolDesc>,
    notes: &mut Vec<String>,
    wanted: impl Fn(&RawSymbol) -> bool,
    signature: impl Fn(&RawSymbol, &SymbolDesc) -> String,
) -> Detail {
    // (address, kind) → the first name (sorted) described directly there.
    let mut owners: BTreeMap<(u64, Option<SymbolKind>), &str> = BTreeMap::new();
    for sym in exports.iter() {
        if let Some(address) = sym.address
            && described.contains_key(&sym.name)
        {
            let owner = owners.entry((address, sym.kind)).or_insert(&sym.name);
            if sym.name.as_str() < *owner {
                *owner = &sym.name;
            }
        }
    }
    let owners: BTreeMap<(u64, Option<SymbolKind>), String> =
        owners.into_iter().map(|(k, v)| (k, v.to_owned())).collect();
    let mut complete = true;
    for sym in exports.iter_mut().filter(|s| wanted(s)) {
        if let Some(d) = described.get(&sym.name) {
            sym.signature = signature(sym, d);
            sym.types = d.types.clone();
            sym.detail = Some(Detail::Types);
            continue;
        }
        let owner = sym.address.and_then(|a| owners.get(&(a, sym.kind)));
        if let Some((owner, d)) = owner.and_then(|o| described.get(o).map(|d| (o, d))) {
            sym.signature = signature(sym, d);
            sym.types = d.types.clone();
            sym.detail = Some(Detail::Types);
            sym.alias_of = Some(owner.clone());
            sym.note = Some(format!(
                "alias of `{owner}`: one body (identical code folded by the optimiser) and \
                 DWARF describes only `{owner}`; recorded with its declared types"
            ));
            notes.push(format!(
                "`{}` is an alias of `{owner}` (one body); recorded with `{owner}`'s \
                 declared types",
                sym.name
            ));
            continue;
        }
        complete = false;
        sym.detail = Some(Detail::Symbols);
        let what = match sym.kind {
            Some(SymbolKind::Function) => "function",
            Some(SymbolKind::Data) => "data",
            _ => "export",
        };
        sym.note = Some(if matches!(what, "function" | "data") {
            "no DWARF description".to_owned()
        } else {
            "kind unknown: not looked up in DWARF".to_owned()
        });
        notes.push(format!(
            "{what} `{}` has no DWARF description (not built with full debuginfo?)",
            sym.name
        ));
    }
    if complete {
        Detail::Types
    } else {
        Detail::Symbols
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export(name: &str, kind: SymbolKind, address: u64) -> RawSymbol {
        RawSymbol {
            name: name.to_owned(),
            kind: Some(kind),
            signature: "fn".to_owned(),
            address: Some(address),
            ..RawSymbol::default()
        }
    }

    fn desc(signature: &str, ty: &str) -> SymbolDesc {
        SymbolDesc {
            signature: signature.to_owned(),
            types: [ty.to_owned()].into(),
        }
    }

    #[test]
    fn exports_at_a_described_address_are_aliases_and_the_undescribed_are_named() {
        let mut exports = vec![
            export("set_is_match", SymbolKind::Function, 0x10),
            export("is_match", SymbolKind::Function, 0x10),
            export("also_is_match", SymbolKind::Function, 0x10),
            export("lonely", SymbolKind::Function, 0x20),
            export("TABLE", SymbolKind::Data, 0x20),
        ];
        let described = BTreeMap::from([
            ("is_match".to_owned(), desc("fn(*p::Re) -> bool", "p::Re")),
            (
                "also_is_match".to_owned(),
                desc("fn(*p::Re) -> bool", "p::Re"),
            ),
        ]);
        let mut notes = Vec::new();
        let detail = apply(
            &mut exports,
            &described,
            &mut notes,
            |_| true,
            |_, d| d.signature.clone(),
        );
        assert_eq!(detail, Detail::Symbols);
        // The first described name at the address (sorted) is the one aliased.
        let alias = &exports[0];
        assert_eq!(alias.alias_of.as_deref(), Some("also_is_match"));
        assert_eq!(alias.signature, "fn(*p::Re) -> bool");
        assert_eq!(alias.detail, Some(Detail::Types));
        assert!(
            alias
                .note
                .as_deref()
                .unwrap()
                .contains("alias of `also_is_match`")
        );
        assert_eq!(exports[1].alias_of, None);
        assert_eq!(exports[1].detail, Some(Detail::Types));
        // Not described and not at a described function's address (a data symbol there
        // does not make a function its alias): named, kept at the symbols level.
        for sym in &exports[3..] {
            assert_eq!(sym.detail, Some(Detail::Symbols), "{}", sym.name);
            assert_eq!(sym.alias_of, None);
            assert!(notes.iter().any(|n| n.contains(&format!("`{}`", sym.name))));
        }
        assert_eq!(exports[3].signature, "fn");
        // Without the undescribed ones the document is at the types level.
        exports.truncate(3);
        assert_eq!(
            apply(
                &mut exports,
                &described,
                &mut notes,
                |_| true,
                |_, d| { d.signature.clone() }
            ),
            Detail::Types
        );
    }
}
