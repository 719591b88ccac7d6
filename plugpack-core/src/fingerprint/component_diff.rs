//! Semver rules for components (`detail: wit` documents), in the plugin's direction: what a
//! host built against the old world sees when it loads the new component.
//!
//! * **major**: an export (interface or function) removed; a function's parameters or
//!   results changed; a record's fields added, removed, reordered or retyped; a variant's,
//!   enum's or flags' case removed or retyped, or added where the component returns it (a
//!   host cannot decode a case it does not know); a resource function removed; a new import
//!   the host must provide, a newer version of an imported interface, or an imported
//!   function's type changed (these are *host requirements*: major for every host that lacks
//!   them, and listed with the interface and version);
//! * **minor**: an export (interface or function, resource functions included) added; a
//!   variant/enum/flags case added to a type that only ever reaches the component as an
//!   export's *parameter* (old hosts never send it); a newer minor version of an exported
//!   interface;
//! * **patch**: nothing else changed (an import dropped, an older import version).
//!
//! Items are matched by WIT path without version (`pkg:ns/iface#func`); changes name the
//! path with the new side's version (`pkg:ns/iface@1.2.0#func`).

use std::collections::{BTreeMap, BTreeSet};

use super::component::{WitItem, WitType, WitWorld, unversioned};
use super::diff::{Bump, Change, ChangeKind};
use super::{AbiFingerprint, Symbol};

fn change(bump: Bump, kind: ChangeKind, symbol: &str, reason: impl Into<String>) -> Change {
    Change {
        bump,
        kind,
        symbol: symbol.to_owned(),
        reason: reason.into(),
    }
}

/// Where a named type travels, seen from the component's exports.
#[derive(Default, Clone, Copy)]
struct Flow {
    /// Reaches the component from the host (an export's parameter).
    inbound: bool,
    /// Leaves the component (an export's result, or anything of an import).
    outbound: bool,
}

/// The changes between two component documents.
pub(super) fn changes(old: &AbiFingerprint, new: &AbiFingerprint) -> Vec<Change> {
    let empty = WitWorld {
        world: String::new(),
        imports: Vec::new(),
        exports: Vec::new(),
        types: BTreeMap::new(),
    };
    let (ow, nw) = (
        old.wit.as_ref().unwrap_or(&empty),
        new.wit.as_ref().unwrap_or(&empty),
    );
    let mut out = Vec::new();
    items(&ow.exports, &nw.exports, true, &mut out);
    items(&ow.imports, &nw.imports, false, &mut out);
    let flow = flows(new, nw);
    let old_flow = flows(old, ow);
    let mut reported = BTreeSet::new();
    functions(
        &old.exports,
        &new.exports,
        true,
        (ow, nw),
        (&old_flow, &flow),
        &mut reported,
        &mut out,
    );
    functions(
        &old.imports,
        &new.imports,
        false,
        (ow, nw),
        (&old_flow, &flow),
        &mut reported,
        &mut out,
    );
    out
}

/// Interface-level changes: presence and versions.
fn items(old: &[WitItem], new: &[WitItem], export: bool, out: &mut Vec<Change>) {
    let by = |list: &[WitItem]| -> BTreeMap<String, WitItem> {
        list.iter().map(|i| (i.unversioned(), i.clone())).collect()
    };
    let (o, n) = (by(old), by(new));
    for (key, oi) in &o {
        match (n.get(key), export) {
            (None, true) => out.push(change(
                Bump::Major,
                ChangeKind::ExportRemoved,
                &oi.name,
                "exported interface removed",
            )),
            (None, false) => out.push(change(
                Bump::Patch,
                ChangeKind::ImportRemoved,
                &oi.name,
                "import no longer needed",
            )),
            (Some(ni), _) if oi.version != ni.version => {
                let (ov, nv) = (version(oi), version(ni));
                let newer = match (&ov, &nv) {
                    (Some(a), Some(b)) => b > a,
                    _ => true,
                };
                let show = |i: &WitItem| i.version.clone().unwrap_or_else(|| "none".into());
                let (bump, kind, reason) = if export {
                    let same_track = match (&ov, &nv) {
                        (Some(a), Some(b)) => track(a) == track(b),
                        _ => false,
                    };
                    let bump = if newer && same_track {
                        Bump::Minor
                    } else {
                        Bump::Major
                    };
                    (
                        bump,
                        ChangeKind::InterfaceVersionChanged,
                        format!("exported interface version {} → {}", show(oi), show(ni)),
                    )
                } else if newer {
                    (
                        Bump::Major,
                        ChangeKind::ImportChanged,
                        format!(
                            "host requirement: the host must provide {} (was {}); major for \
                             hosts that lack it",
                            ni.name,
                            show(oi)
                        ),
                    )
                } else {
                    (
                        Bump::Patch,
                        ChangeKind::ImportChanged,
                        format!("needs the older {} (was {})", ni.name, show(oi)),
                    )
                };
                out.push(change(bump, kind, &ni.name, reason));
            }
            _ => {}
        }
    }
    for (key, ni) in &n {
        if o.contains_key(key) {
            continue;
        }
        if export {
            out.push(change(
                Bump::Minor,
                ChangeKind::ExportAdded,
                &ni.name,
                "exported interface added",
            ));
        } else {
            out.push(change(
                Bump::Major,
                ChangeKind::ImportAdded,
                &ni.name,
                format!(
                    "host requirement: the host must provide {}; major for hosts that lack it",
                    ni.name
                ),
            ));
        }
    }
}

fn version(i: &WitItem) -> Option<semver::Version> {
    semver::Version::parse(i.version.as_deref()?).ok()
}

/// The compatibility track of a version: the major, or `0.minor`, or `0.0.patch`.
fn track(v: &semver::Version) -> (u64, u64, u64) {
    match (v.major, v.minor) {
        (0, 0) => (0, 0, v.patch),
        (0, m) => (0, m, 0),
        (m, _) => (m, 0, 0),
    }
}

/// Which named types reach the component from the host and which leave it.
fn flows(doc: &AbiFingerprint, world: &WitWorld) -> BTreeMap<String, Flow> {
    let mut out: BTreeMap<String, Flow> = BTreeMap::new();
    let mut mark = |t: &str, inbound: bool| {
        let mut todo = vec![t.to_owned()];
        let mut seen = BTreeSet::new();
        while let Some(t) = todo.pop() {
            if !seen.insert(t.clone()) {
                continue;
            }
            let f = out.entry(t.clone()).or_default();
            if inbound {
                f.inbound = true;
            } else {
                f.outbound = true;
            }
            if let Some(def) = world.types.get(&t) {
                todo.extend(nested(def, world));
            }
        }
    };
    for s in &doc.exports {
        let (params, result) = split_signature(&s.signature);
        for t in &s.types {
            let local = t.rsplit('#').next().unwrap_or(t);
            let named = |text: &str| mentions(text, local) || mentions(text, t);
            // A resource's own functions carry it both ways; be conservative.
            if named(result) || !named(params) {
                mark(t, false);
            }
            if named(params) {
                mark(t, true);
            }
        }
    }
    for s in &doc.imports {
        for t in &s.types {
            mark(t, false);
            mark(t, true);
        }
    }
    out
}

/// Named types a definition mentions (the keys of `world.types` that appear in it).
fn nested(def: &WitType, world: &WitWorld) -> Vec<String> {
    world
        .types
        .keys()
        .filter(|k| {
            let local = k.rsplit('#').next().unwrap_or(k);
            def.items
                .iter()
                .filter_map(|i| i.ty.as_deref())
                .any(|ty| mentions(ty, local) || mentions(ty, k))
        })
        .cloned()
        .collect()
}

/// True when `text` mentions the WIT name `name` as a whole word.
fn mentions(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == ':' || c == '/';
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// `func(a: T) -> R` → (`a: T`, `R`).
fn split_signature(sig: &str) -> (&str, &str) {
    let open = sig.find('(').map_or(0, |i| i + 1);
    match sig.rfind(") -> ") {
        Some(close) => (&sig[open..close], &sig[close + 5..]),
        None => (&sig[open..sig.rfind(')').unwrap_or(sig.len())], ""),
    }
}

#[allow(clippy::too_many_arguments)]
fn functions(
    old: &[Symbol],
    new: &[Symbol],
    export: bool,
    worlds: (&WitWorld, &WitWorld),
    flow: (&BTreeMap<String, Flow>, &BTreeMap<String, Flow>),
    reported: &mut BTreeSet<String>,
    out: &mut Vec<Change>,
) {
    let by = |list: &[Symbol]| -> BTreeMap<String, Symbol> {
        list.iter()
            .map(|s| (unversioned(&s.name), s.clone()))
            .collect()
    };
    let (o, n) = (by(old), by(new));
    let interface_gone = |name: &str, world: &WitWorld, list: &[WitItem]| {
        let iface = unversioned(name.split('#').next().unwrap_or(name));
        name.contains('#')
            && !list.iter().any(|i| i.unversioned() == iface)
            && !world.types.is_empty()
    };
    for (key, os) in &o {
        let Some(ns) = n.get(key) else {
            let list = if export {
                &worlds.1.exports
            } else {
                &worlds.1.imports
            };
            if interface_gone(&os.name, worlds.1, list) {
                continue; // the whole interface is reported once
            }
            if export {
                out.push(change(
                    Bump::Major,
                    ChangeKind::ExportRemoved,
                    &os.name,
                    format!("function removed ({})", os.signature),
                ));
            } else {
                out.push(change(
                    Bump::Patch,
                    ChangeKind::ImportRemoved,
                    &os.name,
                    "import no longer needed",
                ));
            }
            continue;
        };
        if os.signature != ns.signature {
            let (kind, reason) = if export {
                (
                    ChangeKind::SignatureChanged,
                    format!("{} → {}", os.signature, ns.signature),
                )
            } else {
                (
                    ChangeKind::ImportChanged,
                    format!(
                        "host requirement: {} → {}; major for hosts that provide the old one",
                        os.signature, ns.signature
                    ),
                )
            };
            out.push(change(Bump::Major, kind, &ns.name, reason));
        }
        let reach: BTreeSet<&String> = os.types.iter().chain(&ns.types).collect();
        for ty in reach {
            let (a, b) = (worlds.0.types.get(ty), worlds.1.types.get(ty));
            let (Some(a), Some(b)) = (a, b) else {
                continue;
            };
            if a.definition == b.definition || !reported.insert(ty.clone()) {
                continue;
            }
            let f = flow.1.get(ty).copied().unwrap_or_default();
            let g = flow.0.get(ty).copied().unwrap_or_default();
            let inbound_only = export && !(f.outbound || g.outbound);
            for (bump, reason) in type_changes(a, b, inbound_only) {
                let kind = if export {
                    ChangeKind::TypeChanged
                } else {
                    ChangeKind::ImportChanged
                };
                let bump = if export { bump } else { Bump::Major };
                out.push(change(
                    bump,
                    kind,
                    &ns.name,
                    format!("type `{ty}`: {reason}"),
                ));
            }
        }
    }
    for (key, ns) in &n {
        if o.contains_key(key) {
            continue;
        }
        let list = if export {
            &worlds.0.exports
        } else {
            &worlds.0.imports
        };
        if interface_gone(&ns.name, worlds.0, list) {
            continue; // the whole interface is reported once
        }
        if export {
            out.push(change(
                Bump::Minor,
                ChangeKind::ExportAdded,
                &ns.name,
                format!("function added ({})", ns.signature),
            ));
        } else {
            out.push(change(
                Bump::Major,
                ChangeKind::ImportAdded,
                &ns.name,
                format!(
                    "host requirement: the host must provide {} ({}); major for hosts that \
                     lack it",
                    ns.name, ns.signature
                ),
            ));
        }
    }
}

/// Why two definitions of one named type differ, with the bump each reason requires.
/// `inbound_only`: the type only ever travels from the host to the component.
fn type_changes(a: &WitType, b: &WitType, inbound_only: bool) -> Vec<(Bump, String)> {
    let mut out = Vec::new();
    if a.kind != b.kind {
        out.push((Bump::Major, format!("{} → {}", a.definition, b.definition)));
        return out;
    }
    let names = |t: &WitType| t.items.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
    let am: BTreeMap<&str, &Option<String>> =
        a.items.iter().map(|i| (i.name.as_str(), &i.ty)).collect();
    let bm: BTreeMap<&str, &Option<String>> =
        b.items.iter().map(|i| (i.name.as_str(), &i.ty)).collect();
    let what = match a.kind.as_str() {
        "record" => "field",
        "resource" => "function",
        "flags" => "flag",
        _ => "case",
    };
    for (name, ty) in &am {
        match bm.get(name) {
            None => out.push((Bump::Major, format!("{what} `{name}` removed"))),
            Some(t) if t != ty => out.push((
                Bump::Major,
                format!(
                    "{what} `{name}` type {} → {}",
                    ty.as_deref().unwrap_or("none"),
                    t.as_deref().unwrap_or("none")
                ),
            )),
            Some(_) => {}
        }
    }
    for name in bm.keys().filter(|n| !am.contains_key(*n)) {
        let bump = match a.kind.as_str() {
            "record" => Bump::Major,
            // A new resource function is also a new exported function (reported there).
            "resource" => Bump::Minor,
            "variant" | "enum" | "flags" if inbound_only => Bump::Minor,
            _ => Bump::Major,
        };
        let why = match (a.kind.as_str(), bump) {
            ("record", _) => "",
            ("resource", _) => "",
            (_, Bump::Minor) => " (the type only reaches the component as a parameter)",
            _ => " (the component may return it to hosts that cannot decode it)",
        };
        out.push((bump, format!("{what} `{name}` added{why}")));
    }
    let (na, nb) = (names(a), names(b));
    let common_a: Vec<&String> = na.iter().filter(|n| bm.contains_key(n.as_str())).collect();
    let common_b: Vec<&String> = nb.iter().filter(|n| am.contains_key(n.as_str())).collect();
    if common_a != common_b && a.kind != "resource" {
        out.push((
            Bump::Major,
            format!("{what}s reordered: {} → {}", na.join(", "), nb.join(", ")),
        ));
    }
    if out.is_empty() {
        out.push((Bump::Major, format!("{} → {}", a.definition, b.definition)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_whole_words_only() {
        assert!(mentions("func(p: point) -> u32", "point"));
        assert!(!mentions("func(p: point-2d) -> u32", "point"));
        assert!(mentions("option<tuple<u32, access>>", "access"));
    }

    #[test]
    fn signature_splits_into_params_and_result() {
        assert_eq!(split_signature("func(a: b) -> c"), ("a: b", "c"));
        assert_eq!(split_signature("func(a: b)"), ("a: b", ""));
    }

    /// Documents of two WIT worlds, written to a temporary directory.
    #[cfg(feature = "component")]
    fn worlds(old: &str, new: &str) -> (AbiFingerprint, AbiFingerprint) {
        let dir = tempfile::tempdir().unwrap();
        let doc = |name: &str, text: &str| {
            let path = camino::Utf8PathBuf::from_path_buf(dir.path().join(name)).unwrap();
            std::fs::write(&path, text).unwrap();
            super::super::component::describe_wit(&path, None).unwrap()
        };
        (doc("old.wit", old), doc("new.wit", new))
    }

    #[cfg(feature = "component")]
    fn verdict(old: &str, new: &str) -> (Bump, Vec<Change>) {
        let (o, n) = worlds(old, new);
        let diff = super::super::diff(&o, &n);
        (diff.verdict, diff.changes)
    }

    #[test]
    #[cfg(feature = "component")]
    fn exported_interface_versions_and_returned_cases() {
        let world = |version: &str, body: &str| {
            format!(
                "package a:b@{version};\ninterface api {{\n{body}\n}}\nworld w {{ export api; }}\n"
            )
        };
        let body = "variant out { a, b }\n get: func() -> out;";
        // Same world, newer minor version of the exported interface: minor.
        let (bump, changes) = verdict(&world("1.2.0", body), &world("1.3.0", body));
        assert_eq!(bump, Bump::Minor, "{changes:?}");
        assert_eq!(changes[0].kind, ChangeKind::InterfaceVersionChanged);
        assert_eq!(changes[0].symbol, "a:b/api@1.3.0");
        // Another major: major.
        let (bump, _) = verdict(&world("1.2.0", body), &world("2.0.0", body));
        assert_eq!(bump, Bump::Major);
        // A case added to a type the component returns: major (hosts cannot decode it).
        let more = "variant out { a, b, c }\n get: func() -> out;";
        let (bump, changes) = verdict(&world("1.2.0", body), &world("1.2.0", more));
        assert_eq!(bump, Bump::Major, "{changes:?}");
        assert_eq!(changes[0].symbol, "a:b/api@1.2.0#get");
        assert!(changes[0].reason.contains("case `c` added"), "{changes:?}");
        // Fields reordered: major, and said so.
        let rec = |fields: &str| format!("record r {{ {fields} }}\n put: func(x: r);");
        let (bump, changes) = verdict(
            &world("1.0.0", &rec("x: u8, y: u8")),
            &world("1.0.0", &rec("y: u8, x: u8")),
        );
        assert_eq!(bump, Bump::Major);
        assert!(
            changes.iter().any(|c| c.reason.contains("reordered")),
            "{changes:?}"
        );
        // Nothing changed: patch, no changes.
        let (bump, changes) = verdict(&world("1.0.0", body), &world("1.0.0", body));
        assert_eq!((bump, changes.len()), (Bump::Patch, 0));
    }

    #[test]
    fn versions_on_one_track_are_compatible() {
        let v = |s: &str| semver::Version::parse(s).unwrap();
        assert_eq!(track(&v("1.2.0")), track(&v("1.9.3")));
        assert_eq!(track(&v("0.2.4")), track(&v("0.2.6")));
        assert_ne!(track(&v("0.2.4")), track(&v("0.3.0")));
        assert_ne!(track(&v("1.0.0")), track(&v("2.0.0")));
    }
}
