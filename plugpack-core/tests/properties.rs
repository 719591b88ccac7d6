//! Property tests (proptest) for the pieces whose correctness is a law rather than an example:
//! canonical JSON (digests and signatures depend on it) and the semver verdict of ABI diffs
//! (a verdict never decreases when a change is added).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};

use camino::Utf8Path;
use plugpack_core::fingerprint::{self, AbiFingerprint, Bump};
use plugpack_core::types::{Sha256Digest, canonical_json};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Arbitrary JSON values: every scalar kind, strings with control and non-ASCII characters,
/// nested arrays and objects.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        (-1.0e15f64..1.0e15).prop_map(|f| json!(f)),
        ".*".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(".*", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Canonical bytes parse back to the same value, and canonicalising them again changes
    /// nothing.
    #[test]
    fn canonical_json_round_trips_and_is_idempotent(value in json_value()) {
        let bytes = canonical_json(&value).unwrap();
        let parsed: Value = serde_json::from_slice(&bytes).unwrap();
        prop_assert_eq!(&parsed, &value);
        prop_assert_eq!(canonical_json(&parsed).unwrap(), bytes);
    }

    /// Equal maps give equal bytes whatever their iteration order (a `HashMap` iterates in a
    /// random order per process), keys come out sorted by their UTF-8 bytes, and there is no
    /// white space between tokens.
    #[test]
    fn canonical_json_ignores_map_order(entries in prop::collection::vec((".*", any::<u32>()), 0..16)) {
        let hashed: HashMap<String, u32> = entries.iter().cloned().collect();
        let sorted: BTreeMap<String, u32> = entries.iter().cloned().collect();
        let a = canonical_json(&hashed).unwrap();
        let b = canonical_json(&sorted).unwrap();
        prop_assert_eq!(&a, &b);
        let expected = format!(
            "{{{}}}",
            sorted
                .iter()
                .map(|(k, v)| format!("{}:{v}", serde_json::to_string(k).unwrap()))
                .collect::<Vec<_>>()
                .join(",")
        );
        prop_assert_eq!(String::from_utf8(a).unwrap(), expected);
    }
}

/// One change to one symbol of a document (each symbol is changed at most once, so changes
/// never undo each other).
#[derive(Debug, Clone, Copy)]
enum Change {
    RemoveExport,
    RetypeExport,
    AddExport,
    AddImport,
    RemoveImport,
    RetypeImport,
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        Just(Change::RemoveExport),
        Just(Change::RetypeExport),
        Just(Change::AddExport),
        Just(Change::AddImport),
        Just(Change::RemoveImport),
        Just(Change::RetypeImport),
    ]
}

/// A wasm-style document with `exports` functions `e0…` and `imports` functions `env::i0…`.
fn document(
    exports: &BTreeMap<String, String>,
    imports: &BTreeMap<String, String>,
) -> AbiFingerprint {
    let symbol = |name: &String, signature: &String| {
        json!({
            "name": name,
            "kind": "function",
            "signature": signature,
            "sha256": Sha256Digest::of_bytes(signature.as_bytes()),
        })
    };
    let doc = json!({
        "schema": "plugpack-abi/1",
        "format": "wasm",
        "architecture": "wasm32",
        "pointer_width": 32,
        "endianness": "little",
        "detail": "symbols",
        "exports": exports.iter().map(|(n, s)| symbol(n, s)).collect::<Vec<_>>(),
        "imports": imports.iter().map(|(n, s)| symbol(n, s)).collect::<Vec<_>>(),
        "fingerprint": Sha256Digest::of_bytes(b"unused"),
    });
    AbiFingerprint::from_json(
        Utf8Path::new("prop.json"),
        &serde_json::to_vec(&doc).unwrap(),
    )
    .unwrap()
}

/// A change applied to a named symbol (or, for additions, creating that name).
type Edit = (Change, String);

/// Turns raw (change, index) pairs into edits that each touch a different symbol, so no
/// edit undoes another.
fn edits(
    raw: &[(Change, usize)],
    exports: &BTreeMap<String, String>,
    imports: &BTreeMap<String, String>,
) -> Vec<Edit> {
    let mut touched = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for (n, (c, index)) in raw.iter().enumerate() {
        let name = match c {
            Change::RemoveExport | Change::RetypeExport => {
                match exports.keys().nth(index % exports.len().max(1)) {
                    Some(name) => name.clone(),
                    None => continue,
                }
            }
            Change::RemoveImport | Change::RetypeImport => {
                match imports.keys().nth(index % imports.len().max(1)) {
                    Some(name) => name.clone(),
                    None => continue,
                }
            }
            Change::AddExport => format!("added{n}"),
            Change::AddImport => format!("env::added{n}"),
        };
        if touched.insert(name.clone()) {
            out.push((*c, name));
        }
    }
    out
}

fn apply(
    exports: &BTreeMap<String, String>,
    imports: &BTreeMap<String, String>,
    edits: &[Edit],
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let (mut e, mut i) = (exports.clone(), imports.clone());
    for (c, name) in edits {
        match c {
            Change::RemoveExport => {
                e.remove(name);
            }
            Change::RetypeExport => {
                e.insert(name.clone(), "fn(i64) -> i64".to_owned());
            }
            Change::AddExport => {
                e.insert(name.clone(), "fn(i32) -> i32".to_owned());
            }
            Change::AddImport => {
                i.insert(name.clone(), "fn(i32)".to_owned());
            }
            Change::RemoveImport => {
                i.remove(name);
            }
            Change::RetypeImport => {
                i.insert(name.clone(), "fn(f64)".to_owned());
            }
        }
    }
    (e, i)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Adding one more (independent) change never lowers the verdict, and the verdict of a
    /// set of changes is the largest verdict of any one of them alone.
    #[test]
    fn semver_verdict_never_decreases_when_a_change_is_added(
        n_exports in 0usize..6,
        n_imports in 0usize..4,
        raw in prop::collection::vec((change(), 0usize..8), 0..10),
    ) {
        let exports: BTreeMap<String, String> =
            (0..n_exports).map(|k| (format!("e{k}"), "fn(i32) -> i32".to_owned())).collect();
        let imports: BTreeMap<String, String> =
            (0..n_imports).map(|k| (format!("env::i{k}"), "fn(i32)".to_owned())).collect();
        let base = document(&exports, &imports);
        let edits = edits(&raw, &exports, &imports);
        let verdict_of = |edits: &[Edit]| {
            let (e, i) = apply(&exports, &imports, edits);
            fingerprint::diff(&base, &document(&e, &i)).verdict
        };
        let mut previous = verdict_of(&[]);
        prop_assert_eq!(previous, Bump::Patch, "no change must be a patch");
        for k in 1..=edits.len() {
            let verdict = verdict_of(&edits[..k]);
            prop_assert!(
                verdict >= previous,
                "verdict fell from {} to {} when {:?} was added to {:?}",
                previous, verdict, edits[k - 1], &edits[..k - 1]
            );
            previous = verdict;
        }
        let largest_single = edits
            .iter()
            .map(|edit| verdict_of(std::slice::from_ref(edit)))
            .max()
            .unwrap_or(Bump::Patch);
        prop_assert_eq!(previous, largest_single);
    }
}
