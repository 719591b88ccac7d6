//! Comparing two fingerprints and mapping the difference onto semver.
//!
//! Components (`detail: wit` on both sides) follow the WIT rules of
//! [`super::component_diff`]. Other artifacts: **major** when an export is removed, a function signature or any reachable layout
//! changed (size, alignment, field offset or type), exported data changed type or size, or a
//! wasm module needs a new import or changed an import's signature; **minor** when exports
//! were only added; **patch** otherwise (nothing changed, a wasm import was dropped, or a
//! field was renamed without moving or changing type).
//! Each export is compared at the lower of its two records' detail levels (a document that
//! predates per-export detail gives its own level to every export), and the diff says when
//! they differ. An export that became or stopped being an alias (`alias_of`: the optimiser
//! folded identical code, DWARF describes only one of the names) is no ABI change by itself:
//! an alias's types are borrowed, its own were never seen.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{AbiFingerprint, Detail, Error, Field, Format, Symbol, SymbolKind, TypeLayout};

/// A semver bump level (ordered: `None < Patch < Minor < Major`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bump {
    /// Same version.
    None,
    /// Patch release.
    Patch,
    /// Minor release.
    Minor,
    /// Major release.
    Major,
}

impl std::fmt::Display for Bump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Bump::None => "none",
            Bump::Patch => "patch",
            Bump::Minor => "minor",
            Bump::Major => "major",
        })
    }
}

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// An export disappeared.
    ExportRemoved,
    /// An export appeared.
    ExportAdded,
    /// An export's kind or signature changed.
    SignatureChanged,
    /// Exported data changed size.
    DataSizeChanged,
    /// A type reachable from an export changed layout.
    LayoutChanged,
    /// A wasm module needs a new import.
    ImportAdded,
    /// A wasm import's signature changed.
    ImportChanged,
    /// A wasm import is no longer needed.
    ImportRemoved,
    /// The artifacts are for different formats or architectures.
    PlatformChanged,
    /// The two fingerprints (or one export's two records) have different detail levels.
    DetailDiffers,
    /// An export became or stopped being an alias of another export (identical code
    /// folded into one body, or split off again). No ABI change by itself: the alias's
    /// recorded types were borrowed from the export it aliased.
    AliasChanged,
    /// A WIT type a component function reaches changed (fields, cases, flags, resource
    /// functions).
    TypeChanged,
    /// An exported WIT interface changed version.
    InterfaceVersionChanged,
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Change {
    /// What the change requires.
    pub bump: Bump,
    /// What happened.
    pub kind: ChangeKind,
    /// The symbol (or type) concerned.
    pub symbol: String,
    /// Why, in words (`u32 → u64`, `field `x` offset 8 → 16`, …).
    pub reason: String,
}

/// The result of [`diff`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbiDiff {
    /// The bump the changes require (`patch` when nothing changed).
    pub verdict: Bump,
    /// Old overall fingerprint.
    pub old_fingerprint: crate::types::Sha256Digest,
    /// New overall fingerprint.
    pub new_fingerprint: crate::types::Sha256Digest,
    /// Detail level the comparison was made at: the lower of the two documents' (exports
    /// typed on both sides are still compared with their types).
    pub detail: Detail,
    /// Every change, most severe first.
    pub changes: Vec<Change>,
    /// Public API differences (rustdoc JSON, when both sides have it): warnings only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_changes: Vec<String>,
}

impl AbiDiff {
    /// True when nothing changed at all.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

fn change(bump: Bump, kind: ChangeKind, symbol: &str, reason: impl Into<String>) -> Change {
    Change {
        bump,
        kind,
        symbol: symbol.to_owned(),
        reason: reason.into(),
    }
}

/// Compares `old` with `new`.
pub fn diff(old: &AbiFingerprint, new: &AbiFingerprint) -> AbiDiff {
    let mut changes = Vec::new();
    let detail = old.detail.min(new.detail);
    if old.detail != new.detail {
        changes.push(change(
            Bump::Patch,
            ChangeKind::DetailDiffers,
            "*",
            format!(
                "old has detail `{}`, new has `{}`: exports without types on either side \
                 compared at the `symbols` level only",
                old.detail, new.detail
            ),
        ));
    }
    if (
        old.format,
        &old.architecture,
        old.pointer_width,
        &old.endianness,
    ) != (
        new.format,
        &new.architecture,
        new.pointer_width,
        &new.endianness,
    ) {
        changes.push(change(
            Bump::Major,
            ChangeKind::PlatformChanged,
            "*",
            format!(
                "{} {} {}-bit {} → {} {} {}-bit {}",
                old.format,
                old.architecture,
                old.pointer_width,
                old.endianness,
                new.format,
                new.architecture,
                new.pointer_width,
                new.endianness
            ),
        ));
    }
    let components = old.format == Format::Component && new.format == Format::Component;
    if components {
        changes.extend(super::component_diff::changes(old, new));
    }
    let by_name = |list: &[Symbol]| -> BTreeMap<String, Symbol> {
        if components {
            return BTreeMap::new(); // compared above, by WIT path
        }
        list.iter().map(|s| (s.name.clone(), s.clone())).collect()
    };
    let (old_exports, new_exports) = (by_name(&old.exports), by_name(&new.exports));
    let mut reported_types: BTreeMap<String, Bump> = BTreeMap::new();
    for (name, o) in &old_exports {
        let Some(n) = new_exports.get(name) else {
            changes.push(change(
                Bump::Major,
                ChangeKind::ExportRemoved,
                name,
                format!("{} removed", describe(o)),
            ));
            continue;
        };
        compare_export(old, new, o, n, detail, &mut changes, &mut reported_types);
    }
    for (name, n) in &new_exports {
        if !old_exports.contains_key(name) {
            changes.push(change(
                Bump::Minor,
                ChangeKind::ExportAdded,
                name,
                format!("{} added", describe(n)),
            ));
        }
    }
    let (old_imports, new_imports) = (by_name(&old.imports), by_name(&new.imports));
    for (name, n) in &new_imports {
        match old_imports.get(name) {
            None => changes.push(change(
                Bump::Major,
                ChangeKind::ImportAdded,
                name,
                format!("new import the host must provide: {}", n.signature),
            )),
            Some(o) if o.kind != n.kind || o.signature != n.signature => changes.push(change(
                Bump::Major,
                ChangeKind::ImportChanged,
                name,
                format!("{} → {}", o.signature, n.signature),
            )),
            Some(_) => {}
        }
    }
    for name in old_imports.keys() {
        if !new_imports.contains_key(name) {
            changes.push(change(
                Bump::Patch,
                ChangeKind::ImportRemoved,
                name,
                "import no longer needed",
            ));
        }
    }
    changes.sort_by(|a, b| {
        b.bump
            .cmp(&a.bump)
            .then_with(|| a.symbol.cmp(&b.symbol))
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.reason.cmp(&b.reason))
    });
    let verdict = changes
        .iter()
        .map(|c| c.bump)
        .max()
        .unwrap_or(Bump::Patch)
        .max(Bump::Patch);
    AbiDiff {
        verdict,
        old_fingerprint: old.fingerprint,
        new_fingerprint: new.fingerprint,
        detail,
        changes,
        api_changes: match (&old.api, &new.api) {
            (Some(a), Some(b)) => super::api::changes(a, b),
            _ => Vec::new(),
        },
    }
}

fn describe(s: &Symbol) -> String {
    match s.kind {
        SymbolKind::Function => format!("function `{}`", s.name),
        SymbolKind::Data => format!("data `{}`", s.name),
        other => format!("{} `{}`", other.as_str(), s.name),
    }
}

/// The core (symbols-level) part of a signature: wasm keeps its core signature before ` | `.
fn symbols_level(s: &Symbol) -> String {
    match s.kind {
        SymbolKind::Function | SymbolKind::Data | SymbolKind::Unknown
            if !s.signature.contains(" | ") && !s.signature.starts_with("fn(") =>
        {
            s.signature.clone()
        }
        _ => s
            .signature
            .split(" | ")
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

#[allow(clippy::too_many_arguments)]
fn compare_export(
    old: &AbiFingerprint,
    new: &AbiFingerprint,
    o: &Symbol,
    n: &Symbol,
    detail: Detail,
    changes: &mut Vec<Change>,
    reported: &mut BTreeMap<String, Bump>,
) {
    let name = &o.name;
    let (ol, nl) = (old.export_detail(o), new.export_detail(n));
    let detail = detail.min(ol).min(nl);
    if ol != nl && old.detail == new.detail {
        // Documents at different levels already say so once, for every export.
        changes.push(change(
            Bump::Patch,
            ChangeKind::DetailDiffers,
            name,
            format!(
                "old record has detail `{ol}`, new has `{nl}`: compared at the `{detail}` \
                 level only"
            ),
        ));
    }
    if o.kind != n.kind {
        changes.push(change(
            Bump::Major,
            ChangeKind::SignatureChanged,
            name,
            format!("kind {} → {}", o.kind.as_str(), n.kind.as_str()),
        ));
        return;
    }
    if o.kind == SymbolKind::Data && o.size != n.size {
        changes.push(change(
            Bump::Major,
            ChangeKind::DataSizeChanged,
            name,
            format!(
                "size {} → {}",
                o.size.map_or("?".to_owned(), |s| s.to_string()),
                n.size.map_or("?".to_owned(), |s| s.to_string())
            ),
        ));
    }
    if detail == Detail::Symbols {
        // Native symbols-level signatures are just `fn`/`data`; wasm keeps core signatures.
        let (os, ns) = if ol == nl {
            (o.signature.clone(), n.signature.clone())
        } else {
            (symbols_level(o), symbols_level(n))
        };
        let comparable = !(ol != nl && old.format != super::Format::Wasm);
        if comparable && os != ns {
            changes.push(change(
                Bump::Major,
                ChangeKind::SignatureChanged,
                name,
                format!("{os} → {ns}"),
            ));
        }
        return;
    }
    if o.alias_of != n.alias_of {
        // One side borrowed its types from the export it aliased: its own declared types
        // were not in DWARF, so a difference here is not evidence of an ABI change. The
        // export it aliased is compared on its own.
        if o.sha256 != n.sha256 {
            let role = |s: &Symbol| match &s.alias_of {
                Some(of) => format!("an alias of `{of}` ({})", s.signature),
                None => format!("described directly ({})", s.signature),
            };
            changes.push(change(
                Bump::Patch,
                ChangeKind::AliasChanged,
                name,
                format!(
                    "was {}, now {}: an alias's types are those of the code it shares, its own \
                     were not recorded; compared by name only",
                    role(o),
                    role(n)
                ),
            ));
        }
        return;
    }
    if o.signature != n.signature {
        changes.push(change(
            Bump::Major,
            ChangeKind::SignatureChanged,
            name,
            format!("{} → {}", o.signature, n.signature),
        ));
    }
    // Layout changes of reachable types, reported once per type (naming the first export).
    let reach: BTreeSet<&String> = o.types.iter().chain(n.types.iter()).collect();
    for ty in reach {
        if let Some(bump) = reported.get(ty) {
            if o.sha256 != n.sha256 {
                changes.push(change(
                    *bump,
                    ChangeKind::LayoutChanged,
                    name,
                    format!("reaches changed type `{ty}`"),
                ));
            }
            continue;
        }
        match (old.types.get(ty), new.types.get(ty)) {
            (Some(a), Some(b)) if a != b => {
                let reasons = layout_changes(a, b);
                let worst = reasons.iter().map(|(b, _)| *b).max().unwrap_or(Bump::Major);
                reported.insert(ty.clone(), worst);
                for (bump, reason) in reasons {
                    changes.push(change(
                        bump,
                        ChangeKind::LayoutChanged,
                        name,
                        format!("type `{ty}`: {reason}"),
                    ));
                }
            }
            _ => {}
        }
    }
}

/// Reasons for a layout difference, each with the bump it requires. A field renamed at the
/// same offset with the same type changes no byte of the layout: patch (API-level only).
pub(crate) fn layout_changes(a: &TypeLayout, b: &TypeLayout) -> Vec<(Bump, String)> {
    let mut out = Vec::new();
    let opt = |v: Option<u64>| v.map_or("?".to_owned(), |v| v.to_string());
    if a.kind != b.kind {
        out.push((Bump::Major, format!("kind {:?} → {:?}", a.kind, b.kind)));
    }
    if a.size != b.size {
        out.push((
            Bump::Major,
            format!("size {} → {}", opt(a.size), opt(b.size)),
        ));
    }
    if a.align != b.align {
        out.push((
            Bump::Major,
            format!("alignment {} → {}", opt(a.align), opt(b.align)),
        ));
    }
    field_changes("", &a.fields, &b.fields, &mut out);
    let av: BTreeMap<&str, _> = a.variants.iter().map(|v| (v.name.as_str(), v)).collect();
    let bv: BTreeMap<&str, _> = b.variants.iter().map(|v| (v.name.as_str(), v)).collect();
    for (name, va) in &av {
        match bv.get(name) {
            None => out.push((Bump::Major, format!("variant `{name}` removed"))),
            Some(vb) => {
                if va.discriminant != vb.discriminant {
                    out.push((
                        Bump::Major,
                        format!("variant `{name}` discriminant changed"),
                    ));
                }
                field_changes(&format!("{name}."), &va.fields, &vb.fields, &mut out);
            }
        }
    }
    for name in bv.keys() {
        if !av.contains_key(name) {
            out.push((Bump::Major, format!("variant `{name}` added")));
        }
    }
    if a.enumerators != b.enumerators {
        out.push((
            Bump::Major,
            format!(
                "enumerators [{}] → [{}]",
                a.enumerators.join(", "),
                b.enumerators.join(", ")
            ),
        ));
    }
    if out.is_empty() {
        out.push((Bump::Major, "layout changed".to_owned()));
    }
    out
}

fn field_changes(prefix: &str, a: &[Field], b: &[Field], out: &mut Vec<(Bump, String)>) {
    let am: BTreeMap<&str, &Field> = a.iter().map(|f| (f.name.as_str(), f)).collect();
    let bm: BTreeMap<&str, &Field> = b.iter().map(|f| (f.name.as_str(), f)).collect();
    let removed: Vec<&Field> = a
        .iter()
        .filter(|f| !bm.contains_key(f.name.as_str()))
        .collect();
    let mut added: Vec<&Field> = b
        .iter()
        .filter(|f| !am.contains_key(f.name.as_str()))
        .collect();
    for fa in removed {
        // Same offset and type under a new name: a rename.
        if let Some(i) = added
            .iter()
            .position(|fb| fb.offset == fa.offset && fb.ty == fa.ty)
        {
            let fb = added.remove(i);
            out.push((
                Bump::Patch,
                format!(
                    "field `{prefix}{}` renamed to `{prefix}{}` (offset {}, type {} unchanged)",
                    fa.name, fb.name, fa.offset, fa.ty
                ),
            ));
            continue;
        }
        out.push((
            Bump::Major,
            format!("field `{prefix}{}` (offset {}) removed", fa.name, fa.offset),
        ));
    }
    for (name, fa) in &am {
        if let Some(fb) = bm.get(name) {
            if fa.offset != fb.offset {
                out.push((
                    Bump::Major,
                    format!(
                        "field `{prefix}{name}` offset {} → {}",
                        fa.offset, fb.offset
                    ),
                ));
            }
            if fa.ty != fb.ty {
                out.push((
                    Bump::Major,
                    format!("field `{prefix}{name}` type {} → {}", fa.ty, fb.ty),
                ));
            }
        }
    }
    for fb in added {
        out.push((
            Bump::Major,
            format!(
                "field `{prefix}{}` inserted at offset {}",
                fb.name, fb.offset
            ),
        ));
    }
}

/// The outcome of comparing a version bump with what the ABI diff requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionCheck {
    /// Baseline version.
    pub old_version: String,
    /// Current version.
    pub new_version: String,
    /// The bump the versions make, in cargo's semver terms (0.x: a minor bump counts as
    /// major and a patch bump as minor; 0.0.x: any bump is major).
    pub actual: Bump,
    /// The bump the ABI diff requires.
    pub required: Bump,
    /// `actual >= required`.
    pub ok: bool,
}

/// Compares the version bump `old_version → new_version` with `required`.
pub fn check_version(
    old_version: &str,
    new_version: &str,
    required: Bump,
) -> Result<VersionCheck, Error> {
    let parse = |v: &str, what: &str| {
        semver::Version::parse(v).map_err(|source| Error::BadVersion {
            version: v.to_owned(),
            what: what.to_owned(),
            source,
        })
    };
    let old = parse(old_version, "baseline version")?;
    let new = parse(new_version, "current version")?;
    let actual = actual_bump(&old, &new);
    // Nothing changed needs no bump at all.
    let required_effective = if required == Bump::Patch {
        Bump::None
    } else {
        required
    };
    Ok(VersionCheck {
        old_version: old_version.to_owned(),
        new_version: new_version.to_owned(),
        actual,
        required,
        ok: actual >= required_effective,
    })
}

/// The smallest version after `old_version` whose bump (in cargo's semver terms, see
/// [`VersionCheck::actual`]) satisfies `required`, so a failed check can say what to set:
/// `1.2.3` + major → `2.0.0`, `0.1.0` + major → `0.2.0` (0.x: minor acts as major),
/// `0.0.3` + minor → `0.0.4`. `None` when no bump is needed or `old_version` is not semver.
pub fn minimum_version(old_version: &str, required: Bump) -> Option<String> {
    let old = semver::Version::parse(old_version).ok()?;
    let (major, minor, patch) = (old.major, old.minor, old.patch);
    let next = match (required, major, minor) {
        (Bump::None | Bump::Patch, ..) => return None,
        (Bump::Major, 1.., _) => (major + 1, 0, 0),
        (Bump::Minor, 1.., _) => (major, minor + 1, 0),
        (Bump::Major, 0, 1..) => (0, minor + 1, 0),
        (Bump::Minor, 0, 1..) => (0, minor, patch + 1),
        (_, 0, 0) => (0, 0, patch + 1),
    };
    Some(semver::Version::new(next.0, next.1, next.2).to_string())
}

fn actual_bump(old: &semver::Version, new: &semver::Version) -> Bump {
    if new <= old {
        return Bump::None;
    }
    if old.major > 0 || new.major > old.major {
        if new.major != old.major {
            Bump::Major
        } else if new.minor != old.minor {
            Bump::Minor
        } else {
            Bump::Patch
        }
    } else if old.minor > 0 || new.minor > old.minor {
        // 0.x.y: the minor number is the breaking one.
        if new.minor != old.minor {
            Bump::Major
        } else if new.patch != old.patch {
            Bump::Minor
        } else {
            Bump::Patch
        }
    } else if new.patch != old.patch {
        // 0.0.z: every patch release is breaking.
        Bump::Major
    } else {
        Bump::Patch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_bumps_follow_cargo_semver() {
        let cases = [
            ("1.2.3", "2.0.0", Bump::Major),
            ("1.2.3", "1.3.0", Bump::Minor),
            ("1.2.3", "1.2.4", Bump::Patch),
            ("1.2.3", "1.2.3", Bump::None),
            ("1.2.3", "1.2.2", Bump::None),
            ("0.3.1", "0.4.0", Bump::Major),
            ("0.3.1", "0.3.2", Bump::Minor),
            ("0.3.1", "1.0.0", Bump::Major),
            ("0.0.1", "0.0.2", Bump::Major),
            ("1.2.3", "1.2.4-rc.1", Bump::Patch),
        ];
        for (old, new, want) in cases {
            let got = actual_bump(
                &semver::Version::parse(old).unwrap(),
                &semver::Version::parse(new).unwrap(),
            );
            assert_eq!(got, want, "{old} → {new}");
        }
    }

    #[test]
    fn minimum_version_is_the_smallest_passing_one() {
        let cases = [
            ("1.2.3", Bump::Major, Some("2.0.0")),
            ("1.2.3", Bump::Minor, Some("1.3.0")),
            ("0.1.0", Bump::Major, Some("0.2.0")),
            ("0.3.1", Bump::Minor, Some("0.3.2")),
            ("0.0.3", Bump::Major, Some("0.0.4")),
            ("0.0.3", Bump::Minor, Some("0.0.4")),
            ("1.0.0", Bump::Patch, None),
            ("1.0.0", Bump::None, None),
            ("x", Bump::Major, None),
        ];
        for (old, required, want) in cases {
            let got = minimum_version(old, required);
            assert_eq!(got.as_deref(), want, "{old} {required}");
            if let Some(v) = got {
                // It passes, and nothing below it does.
                assert!(check_version(old, &v, required).unwrap().ok, "{old} → {v}");
                let v = semver::Version::parse(&v).unwrap();
                let below = if v.patch > 0 {
                    semver::Version::new(v.major, v.minor, v.patch - 1)
                } else if v.minor > 0 {
                    semver::Version::new(v.major, v.minor - 1, 99)
                } else {
                    semver::Version::new(v.major - 1, 99, 99)
                };
                assert!(
                    !check_version(old, &below.to_string(), required).unwrap().ok,
                    "{old} → {below}"
                );
            }
        }
    }

    #[test]
    fn check_version_requires_enough_bump() {
        assert!(check_version("1.0.0", "1.0.0", Bump::Patch).unwrap().ok);
        assert!(!check_version("1.0.0", "1.0.1", Bump::Minor).unwrap().ok);
        assert!(check_version("1.0.0", "1.1.0", Bump::Minor).unwrap().ok);
        assert!(!check_version("1.0.0", "1.1.0", Bump::Major).unwrap().ok);
        // 0.x: minor acts as major.
        assert!(check_version("0.3.1", "0.4.0", Bump::Major).unwrap().ok);
        assert!(!check_version("0.3.1", "0.3.2", Bump::Major).unwrap().ok);
        assert!(check_version("0.3.1", "0.3.2", Bump::Minor).unwrap().ok);
        assert!(check_version("x", "1.0.0", Bump::Patch).is_err());
    }
}
