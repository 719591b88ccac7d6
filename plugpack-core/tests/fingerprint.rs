//! Stage tests of the fingerprint diff and the host guard on recorded documents (no cargo).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use camino::Utf8Path;
use plugpack_core::fingerprint::{self, AbiFingerprint, Bump, ChangeKind};
use plugpack_core::guard::{self, AbiExpectation, Reason};
use serde_json::json;

const H1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const H2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const H3: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";

fn doc(value: serde_json::Value) -> AbiFingerprint {
    let mut base = json!({
        "schema": "plugpack-abi/1",
        "format": "elf",
        "architecture": "x86_64",
        "pointer_width": 64,
        "endianness": "little",
        "detail": "types",
        "exports": [],
        "imports": [],
        "fingerprint": H3,
    });
    for (k, v) in value.as_object().unwrap() {
        base[k] = v.clone();
    }
    AbiFingerprint::from_json(
        Utf8Path::new("test.json"),
        &serde_json::to_vec(&base).unwrap(),
    )
    .unwrap()
}

fn sym(name: &str, kind: &str, sig: &str, sha: &str) -> serde_json::Value {
    json!({"name": name, "kind": kind, "signature": sig, "sha256": sha})
}

fn kinds(diff: &fingerprint::AbiDiff) -> Vec<ChangeKind> {
    diff.changes.iter().map(|c| c.kind).collect()
}

#[test]
fn exported_data_size_change_is_major() {
    let mut a = sym("TABLE", "data", "data [u8; 4]", H1);
    a["size"] = json!(4);
    let mut b = sym("TABLE", "data", "data [u8; 4]", H1);
    b["size"] = json!(8);
    let d = fingerprint::diff(&doc(json!({"exports": [a]})), &doc(json!({"exports": [b]})));
    assert_eq!(d.verdict, Bump::Major);
    assert_eq!(kinds(&d), [ChangeKind::DataSizeChanged]);
    assert_eq!(d.changes[0].reason, "size 4 → 8");
}

#[test]
fn wasm_import_changes_map_to_semver() {
    let wasm = |imports: serde_json::Value| {
        doc(
            json!({"format": "wasm", "architecture": "wasm32", "pointer_width": 32,
                   "imports": imports}),
        )
    };
    let old = wasm(json!([
        sym("env::log", "function", "fn(i32) -> ()", H1),
        sym("env::gone", "function", "fn() -> ()", H1)
    ]));
    let new = wasm(json!([sym("env::log", "function", "fn(i64) -> ()", H2)]));
    let d = fingerprint::diff(&old, &new);
    assert_eq!(d.verdict, Bump::Major);
    assert_eq!(
        kinds(&d),
        [ChangeKind::ImportChanged, ChangeKind::ImportRemoved]
    );
    // Only dropping an import: patch.
    let d = fingerprint::diff(
        &old,
        &wasm(json!([sym("env::log", "function", "fn(i32) -> ()", H1)])),
    );
    assert_eq!(d.verdict, Bump::Patch);
    assert_eq!(kinds(&d), [ChangeKind::ImportRemoved]);
}

#[test]
fn different_detail_levels_are_reported_and_compared_by_name() {
    let typed = doc(json!({"exports": [sym("f", "function", "fn(i32) -> i32", H1)]}));
    let bare = doc(json!({"detail": "symbols", "exports": [sym("f", "function", "fn", H2)]}));
    let d = fingerprint::diff(&typed, &bare);
    assert_eq!(d.detail, fingerprint::Detail::Symbols);
    assert_eq!(kinds(&d), [ChangeKind::DetailDiffers]);
    assert!(d.changes[0].reason.contains("`types`"), "{:?}", d.changes);
    // A removal is still seen at the lower level.
    let empty = doc(json!({"detail": "symbols"}));
    let d = fingerprint::diff(&typed, &empty);
    assert_eq!(d.verdict, Bump::Major);
    assert!(kinds(&d).contains(&ChangeKind::ExportRemoved));
}

#[test]
fn another_architecture_is_major() {
    let d = fingerprint::diff(&doc(json!({})), &doc(json!({"architecture": "aarch64"})));
    assert_eq!(d.verdict, Bump::Major);
    assert_eq!(kinds(&d), [ChangeKind::PlatformChanged]);
}

#[test]
fn unknown_schema_is_rejected() {
    let err = AbiFingerprint::from_json(Utf8Path::new("x.json"), br#"{"schema":"plugpack-abi/9"}"#)
        .unwrap_err();
    assert!(err.to_string().contains("plugpack-abi/9"), "{err}");
    let err = AbiFingerprint::from_json(Utf8Path::new("x.json"), b"{").unwrap_err();
    assert!(matches!(err, fingerprint::Error::BadDocument { .. }));
}

#[test]
fn guard_returns_every_reason() {
    let host = doc(json!({"exports": [
        sym("a", "function", "fn(i32) -> i32", H1),
        sym("b", "function", "fn() -> ()", H1)
    ]}));
    let mut expectation = AbiExpectation::from_fingerprint(&host);
    expectation
        .accepted_fingerprints
        .insert(H1.parse().unwrap());
    let plugin = doc(json!({
        "architecture": "aarch64",
        "exports": [sym("a", "function", "fn(i64) -> i32", H2), sym("c", "function", "fn", H1)]
    }));
    let bad = guard::check(Utf8Path::new("p.so"), &plugin, &expectation).unwrap_err();
    let got: Vec<&str> = bad
        .reasons
        .iter()
        .map(|r| match r {
            Reason::WrongTarget { .. } => "wrong-target",
            Reason::ChangedExport { .. } => "changed",
            Reason::MissingExport { .. } => "missing",
            Reason::FingerprintMismatch { .. } => "fingerprint",
            _ => "other",
        })
        .collect();
    assert_eq!(got, ["wrong-target", "changed", "missing", "fingerprint"]);
    let text = bad.to_string();
    assert!(text.contains("missing export `b`"), "{text}");
}

#[test]
fn guard_wants_types_when_the_host_has_them() {
    let host = doc(json!({"exports": [sym("a", "function", "fn(i32) -> i32", H1)]}));
    let expectation = AbiExpectation::from_fingerprint(&host);
    assert!(expectation.require_types);
    let plugin = doc(json!({
        "detail": "symbols",
        "notes": ["no DWARF debug info"],
        "exports": [sym("a", "function", "fn", H2)]
    }));
    let bad = guard::check(Utf8Path::new("p.so"), &plugin, &expectation).unwrap_err();
    assert_eq!(
        bad.reasons,
        [Reason::NoTypeInfo {
            notes: vec!["no DWARF debug info".into()]
        }]
    );
    // Extra exports are fine.
    let plugin = doc(json!({"exports": [
        sym("a", "function", "fn(i32) -> i32", H1),
        sym("z", "function", "fn() -> ()", H2)
    ]}));
    guard::check(Utf8Path::new("p.so"), &plugin, &expectation).unwrap();
}

#[test]
fn a_missing_file_is_refused_not_panicked() {
    let bad = guard::check_file(
        Utf8Path::new("/nonexistent/plugin.so"),
        &AbiExpectation::default(),
    )
    .unwrap_err();
    assert!(matches!(bad.reasons[..], [Reason::Unreadable { .. }]));
}

#[test]
fn a_renamed_field_is_patch_but_a_moved_one_is_major() {
    let with_fields = |fields: serde_json::Value, sha: &str| {
        let mut f = sym("f", "function", "fn(*p::S) -> ()", sha);
        f["types"] = json!(["p::S"]);
        let mut g = sym("g", "function", "fn(*p::S) -> i32", sha);
        g["types"] = json!(["p::S"]);
        doc(json!({
            "exports": [f, g],
            "types": {"p::S": {"kind": "struct", "size": 8, "align": 4, "fields": fields}}
        }))
    };
    let old = with_fields(
        json!([{"name": "a", "offset": 0, "type": "u32"}, {"name": "b", "offset": 4, "type": "u32"}]),
        H1,
    );
    let renamed = with_fields(
        json!([{"name": "a", "offset": 0, "type": "u32"}, {"name": "c", "offset": 4, "type": "u32"}]),
        H2,
    );
    let d = fingerprint::diff(&old, &renamed);
    assert_eq!(d.verdict, Bump::Patch, "{:#?}", d.changes);
    assert!(
        d.changes[0].reason.contains("renamed to `c`"),
        "{:#?}",
        d.changes
    );
    // Both exports that reach the type are listed.
    assert_eq!(d.changes.len(), 2, "{:#?}", d.changes);
    let swapped = with_fields(
        json!([{"name": "b", "offset": 0, "type": "u32"}, {"name": "a", "offset": 4, "type": "u32"}]),
        H2,
    );
    let d = fingerprint::diff(&old, &swapped);
    assert_eq!(d.verdict, Bump::Major);
    assert!(
        d.changes
            .iter()
            .any(|c| c.reason.contains("field `a` offset 0 → 4")),
        "{:#?}",
        d.changes
    );
}

fn data(name: &str) -> camino::Utf8PathBuf {
    camino::Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/abi")
        .join(name)
}

#[test]
fn macho_dylib_reads_types_from_its_dsym() {
    let doc = fingerprint::fingerprint_file(&data("libnocore.dylib")).unwrap();
    assert_eq!(doc.format, fingerprint::Format::Macho);
    assert_eq!(doc.architecture, "x86_64");
    assert_eq!(doc.detail, fingerprint::Detail::Types, "{:?}", doc.notes);
    let sigs: Vec<(&str, &str)> = doc
        .exports
        .iter()
        .map(|s| (s.name.as_str(), s.signature.as_str()))
        .collect();
    assert_eq!(
        sigs,
        [
            ("PLUGIN_DATA", "data i32"),
            ("plugin_answer", "fn(i32) -> i32")
        ]
    );
    // The same bytes without the .dSYM beside them: symbols level, kinds still known.
    let bytes = std::fs::read(data("libnocore.dylib")).unwrap();
    let bare = fingerprint::fingerprint_bytes(Utf8Path::new("lib.dylib"), &bytes).unwrap();
    assert_eq!(bare.detail, fingerprint::Detail::Symbols);
    assert_eq!(bare.exports[1].kind, fingerprint::SymbolKind::Function);
}

#[test]
fn pe_dll_is_read_at_the_symbols_level() {
    let doc = fingerprint::fingerprint_file(&data("nocore.dll")).unwrap();
    assert_eq!(doc.format, fingerprint::Format::Pe);
    assert_eq!(doc.pointer_width, 64);
    assert_eq!(doc.detail, fingerprint::Detail::Symbols);
    let names: Vec<(&str, fingerprint::SymbolKind)> = doc
        .exports
        .iter()
        .map(|s| (s.name.as_str(), s.kind))
        .collect();
    assert_eq!(
        names,
        [
            ("PLUGIN_DATA", fingerprint::SymbolKind::Data),
            ("plugin_answer", fingerprint::SymbolKind::Function)
        ]
    );
    assert!(!doc.notes.is_empty());
}

#[test]
fn object_files_are_not_plugins() {
    let err = fingerprint::fingerprint_file(&data("nocore.o")).unwrap_err();
    assert!(err.to_string().contains("relocatable object"), "{err}");
}

/// `g` aliases `f` (same code; DWARF describes only `f`), then splits off with its own
/// declared types.
fn alias_docs() -> (AbiFingerprint, AbiFingerprint) {
    let f = sym("f", "function", "fn(*p::A) -> i32", H1);
    let mut g = sym("g", "function", "fn(*p::A) -> i32", H2);
    g["alias_of"] = json!("f");
    g["detail"] = json!("types");
    g["note"] = json!("alias of `f`");
    let folded = doc(json!({"exports": [f.clone(), g]}));
    let split = doc(json!({"exports": [f, sym("g", "function", "fn(*p::B) -> i32", H3)]}));
    (folded, split)
}

#[test]
fn an_alias_that_splits_off_is_no_abi_change_by_itself() {
    let (folded, split) = alias_docs();
    for (old, new) in [(&folded, &split), (&split, &folded)] {
        let d = fingerprint::diff(old, new);
        assert_eq!(d.verdict, Bump::Patch, "{:#?}", d.changes);
        assert_eq!(kinds(&d), [ChangeKind::AliasChanged]);
        assert_eq!(d.changes[0].symbol, "g");
        assert!(d.changes[0].reason.contains("alias of `f`"), "{:#?}", d);
    }
    // Split off with the same types: the same hash, nothing to report.
    let mut same = split.clone();
    same.exports[1] = folded.exports[1].clone();
    same.exports[1].alias_of = None;
    same.exports[1].note = None;
    assert!(fingerprint::diff(&folded, &same).is_empty());
    // The export it aliased is still compared on its own.
    let mut changed = split.clone();
    changed.exports[0].signature = "fn(*p::A) -> i64".into();
    changed.exports[0].sha256 = H3.parse().unwrap();
    let d = fingerprint::diff(&folded, &changed);
    assert_eq!(d.verdict, Bump::Major);
    assert!(kinds(&d).contains(&ChangeKind::SignatureChanged));
    // Both aliases of the same export: compared like any export.
    let mut moved = folded.clone();
    moved.exports[1].signature = "fn(*p::A) -> i64".into();
    moved.exports[1].sha256 = H3.parse().unwrap();
    assert_eq!(fingerprint::diff(&folded, &moved).verdict, Bump::Major);
}

#[test]
fn the_guard_treats_an_alias_split_as_the_diff_does() {
    let (folded, split) = alias_docs();
    let path = Utf8Path::new("p.so");
    let from_folded = AbiExpectation::from_fingerprint(&folded);
    assert_eq!(from_folded.aliases.get("g").map(String::as_str), Some("f"));
    guard::check(path, &split, &from_folded).unwrap();
    let from_split = AbiExpectation::from_fingerprint(&split);
    assert!(from_split.aliases.is_empty());
    guard::check(path, &folded, &from_split).unwrap();
    // The expectation survives a JSON round trip (hosts may store it).
    let stored: AbiExpectation =
        serde_json::from_slice(&serde_json::to_vec(&from_folded).unwrap()).unwrap();
    assert_eq!(stored, from_folded);
    // A change of the aliased export is still refused.
    let mut changed = split.clone();
    changed.exports[0].sha256 = H3.parse().unwrap();
    let bad = guard::check(path, &changed, &from_folded).unwrap_err();
    assert!(
        matches!(&bad.reasons[..], [Reason::ChangedExport { name, .. }] if name == "f"),
        "{bad}"
    );
}

#[test]
fn exports_state_their_detail_and_older_documents_give_theirs() {
    // A document from before per-export detail: every export has the document's level.
    let old = doc(json!({"detail": "symbols", "exports": [sym("f", "function", "fn", H1)]}));
    assert_eq!(old.exports[0].detail, None);
    assert_eq!(
        old.export_detail(&old.exports[0]),
        fingerprint::Detail::Symbols
    );
    // A document where only `h` has no description: `f` keeps its types and is compared
    // with them; `h` is compared by name and kind.
    let mixed = |f_sig: &str, f_sha: &str, h: serde_json::Value| {
        let mut f = sym("f", "function", f_sig, f_sha);
        f["detail"] = json!("types");
        doc(json!({"detail": "symbols", "exports": [f, h]}))
    };
    let mut h = sym("h", "function", "fn", H1);
    h["detail"] = json!("symbols");
    let a = mixed("fn(i32) -> i32", H1, h.clone());
    let b = mixed("fn(i64) -> i32", H2, h.clone());
    let d = fingerprint::diff(&a, &b);
    assert_eq!(d.verdict, Bump::Major);
    assert_eq!(kinds(&d), [ChangeKind::SignatureChanged]);
    assert_eq!(d.changes[0].symbol, "f");
    // `h` gains its description: reported for `h` alone, not a change of the ABI.
    let mut h_typed = sym("h", "function", "fn() -> u8", H2);
    h_typed["detail"] = json!("types");
    let c = mixed("fn(i32) -> i32", H1, h_typed);
    let d = fingerprint::diff(&a, &c);
    assert_eq!(d.verdict, Bump::Patch, "{:#?}", d.changes);
    assert_eq!(kinds(&d), [ChangeKind::DetailDiffers]);
    assert_eq!(d.changes[0].symbol, "h");
}

#[test]
fn the_guard_needs_types_only_for_the_exports_the_host_requires() {
    let host = doc(json!({"exports": [sym("a", "function", "fn(i32) -> i32", H1)]}));
    let expectation = AbiExpectation::from_fingerprint(&host);
    let mut a = sym("a", "function", "fn(i32) -> i32", H1);
    a["detail"] = json!("types");
    let mut z = sym("z", "function", "fn", H2);
    z["detail"] = json!("symbols");
    let notes = json!(["function `z` has no DWARF description"]);
    let plugin = doc(json!({"detail": "symbols", "notes": notes, "exports": [a, z.clone()]}));
    guard::check(Utf8Path::new("p.so"), &plugin, &expectation).unwrap();
    // The required export itself without types: refused, whatever its hash.
    let mut a = sym("a", "function", "fn", H2);
    a["detail"] = json!("symbols");
    let plugin = doc(json!({"detail": "symbols", "notes": notes, "exports": [a, z]}));
    let bad = guard::check(Utf8Path::new("p.so"), &plugin, &expectation).unwrap_err();
    assert!(
        matches!(&bad.reasons[..], [Reason::NoTypeInfo { .. }]),
        "{bad}"
    );
}
