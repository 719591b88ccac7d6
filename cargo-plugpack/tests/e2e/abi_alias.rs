//! Aliased exports: identical functions folded into one body by a release build (LLVM's
//! function merging, as in rure's `rure_is_match`/`rure_set_is_match`) keep the types level.
//! Fixture: `abi-plugin` with `--features alias-pair` (two folded pairs: one whose declared
//! types differ, one whose types are the same) and `alias-split` (the second bodies changed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use camino::Utf8PathBuf;
use plugpack_core::fingerprint::{AbiFingerprint, Detail};
use plugpack_core::guard::{AbiExpectation, Reason, check_file};
use serde_json::Value;

use crate::support::{self, json_lines, plugpack, run_ok};

const PAIRS: [(&str, &str); 2] = [
    ("plugin_is_match", "plugin_set_is_match"),
    ("plugin_weight", "plugin_weight_again"),
];

/// A release build of `abi-plugin` with `features`: the fingerprint document, the shipped
/// artifact and the debuginfo companion's (copies, so later builds cannot change them).
struct Build {
    json: PathBuf,
    shipped: PathBuf,
    companion: PathBuf,
}

fn release(features: &str, dir: &Path) -> Build {
    build(features, "release", dir)
}

/// `cargo plugpack fingerprint` of `abi-plugin` with `features` (`base`: none) in `profile`.
fn build(features: &str, profile: &str, dir: &Path) -> Build {
    let target_dir = support::fixture_target_dir().join(match profile {
        "release" => format!("abi-host-release-{features}"),
        _ => format!("abi-host-{features}"),
    });
    let json = dir.join(format!("{features}-{profile}.json"));
    let mut cmd = plugpack();
    cmd.arg("fingerprint")
        .arg("--manifest-path")
        .arg(support::fixture_manifest("abi-plugin"))
        .arg("--target-dir")
        .arg(&target_dir)
        .args(["--locked", "--offline", "-q", "-o"])
        .arg(&json);
    if profile == "release" {
        cmd.arg("--release");
    }
    if features != "base" {
        cmd.args(["--features", features]);
    }
    run_ok(&mut cmd);
    let copy = |from: PathBuf, name: &str| {
        let to = dir.join(format!("{features}-{profile}-{name}.so"));
        std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
        to
    };
    let out = if profile == "release" {
        "release"
    } else {
        "debug"
    };
    let companion = target_dir.join(format!("plugpack-abi/{out}/libabi_plugin.so"));
    Build {
        json,
        shipped: copy(
            target_dir.join(format!("{out}/libabi_plugin.so")),
            "shipped",
        ),
        // Dev builds have full DWARF: the companion is only built when a document is not
        // at the types level.
        companion: if companion.exists() {
            copy(companion, "companion")
        } else {
            PathBuf::new()
        },
    }
}

/// Defined dynamic symbols → address, as `nm` reports them.
fn nm_addresses(so: &Path) -> BTreeMap<String, String> {
    let out = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(so)
        .output()
        .unwrap();
    assert!(out.status.success(), "nm {}", so.display());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let (address, _, name) = (parts.next()?, parts.next()?, parts.next()?);
            Some((name.to_owned(), address.to_owned()))
        })
        .collect()
}

fn load(json: &Path) -> AbiFingerprint {
    let path = Utf8PathBuf::from_path_buf(json.to_owned()).unwrap();
    AbiFingerprint::from_json(&path, &std::fs::read(json).unwrap()).unwrap()
}

fn abi_diff(old: &Path, new: &Path) -> Value {
    let out = run_ok(
        plugpack()
            .args(["abi-diff", "--message-format", "json"])
            .arg(old)
            .arg(new),
    );
    json_lines(&out).remove(0)
}

/// Of each folded pair, the alias and the export it aliases (checked to be exactly one way).
fn aliases(doc: &AbiFingerprint) -> BTreeMap<String, String> {
    doc.exports
        .iter()
        .filter_map(|s| Some((s.name.clone(), s.alias_of.clone()?)))
        .collect()
}

#[test]
fn folded_exports_are_aliases_and_keep_the_types_level() {
    let dir = support::tempdir();
    let pair = release("alias-pair", dir.path());
    // The fold is real: one address per pair, in the shipped file and in the companion.
    for so in [&pair.shipped, &pair.companion] {
        let nm = nm_addresses(so);
        for (a, b) in PAIRS {
            assert_eq!(nm[a], nm[b], "{a}/{b} not folded in {}", so.display());
        }
        assert_ne!(nm["plugin_is_match"], nm["plugin_weight"]);
    }
    let doc = load(&pair.json);
    assert_eq!(doc.detail, Detail::Types, "{:#?}", doc.notes);
    let alias_map = aliases(&doc);
    assert_eq!(alias_map.len(), 2, "{alias_map:?}");
    for (a, b) in PAIRS {
        let (alias, of) = match alias_map.get(a) {
            Some(of) => (a, of.as_str()),
            None => (b, alias_map[b].as_str()),
        };
        assert_eq!(of, if alias == a { b } else { a });
        let (alias, of) = (doc.export(alias).unwrap(), doc.export(of).unwrap());
        // The alias carries the declared types of the subprogram it shares.
        assert_eq!(alias.signature, of.signature);
        assert!(alias.signature.starts_with("fn(*abi_plugin::"), "{alias:?}");
        assert_eq!(alias.types, of.types);
        assert!(!alias.types.is_empty());
        assert_eq!(alias.detail, Some(Detail::Types));
        assert!(
            alias.note.as_deref().unwrap().contains("alias of"),
            "{alias:?}"
        );
        assert!(of.note.is_none());
        assert!(
            doc.notes.iter().any(|n| n.contains(&alias.name)),
            "{:?}",
            doc.notes
        );
    }
    assert!(
        doc.exports.iter().all(|s| s.detail == Some(Detail::Types)),
        "{:#?}",
        doc.exports
    );

    // Split: each export has its own body and DWARF subprogram again.
    let split = release("alias-split", dir.path());
    let nm = nm_addresses(&split.companion);
    for (a, b) in PAIRS {
        assert_ne!(nm[a], nm[b], "{a}/{b} still folded");
    }
    let split_doc = load(&split.json);
    assert_eq!(split_doc.detail, Detail::Types);
    assert!(aliases(&split_doc).is_empty());
    assert_eq!(
        split_doc.export("plugin_set_is_match").unwrap().signature,
        "fn(*abi_plugin::PatternSet, u32) -> bool"
    );

    // Splitting off is no ABI change by itself, either way: the pair whose declared types
    // differ is reported (patch), the pair with the same types hashes the same.
    for (old, new) in [(&pair.json, &split.json), (&split.json, &pair.json)] {
        let d = abi_diff(old, new);
        assert_eq!(d["verdict"], "patch", "{d:#}");
        let changes = d["changes"].as_array().unwrap();
        assert_eq!(changes.len(), 1, "{d:#}");
        assert_eq!(changes[0]["kind"], "alias-changed");
        let symbol = changes[0]["symbol"].as_str().unwrap();
        assert!(PAIRS[0].0 == symbol || PAIRS[0].1 == symbol, "{d:#}");
    }

    // The host guard agrees with the diff, in both directions.
    let utf8 = |p: &Path| Utf8PathBuf::from_path_buf(p.to_owned()).unwrap();
    for (expected, plugin) in [(&doc, &split.companion), (&split_doc, &pair.companion)] {
        let expectation = AbiExpectation::from_fingerprint(expected);
        if let Err(refused) = check_file(&utf8(plugin), &expectation) {
            panic!("{refused}");
        }
    }
}

/// libabigail cross-check: `abidw` records the same aliases (`alias='…'` on the described
/// symbol), and `abidiff` sees no ABI change when they split off, in either direction.
#[test]
#[ignore = "interop: needs abidw and abidiff (abigail-tools); run by .ci/test"]
fn abidw_records_the_same_aliases_and_abidiff_sees_no_change_on_the_split() {
    support::require_tool("abidw");
    support::require_tool("abidiff");
    let dir = support::tempdir();
    let pair = release("alias-pair", dir.path());
    let split = release("alias-split", dir.path());
    let out = Command::new("abidw").arg(&pair.companion).output().unwrap();
    assert!(out.status.success(), "abidw failed");
    let xml = String::from_utf8(out.stdout).unwrap();
    let attr = |line: &str, key: &str| {
        let start = line.find(&format!(" {key}='"))? + key.len() + 3;
        let len = line[start..].find('\'')?;
        Some(line[start..start + len].to_owned())
    };
    let mut theirs = BTreeMap::new();
    for line in xml.lines().filter(|l| l.contains("<elf-symbol ")) {
        if let (Some(name), Some(list)) = (attr(line, "name"), attr(line, "alias")) {
            for alias in list.split(',') {
                theirs.insert(alias.to_owned(), name.clone());
            }
        }
    }
    let ours = aliases(&load(&pair.json));
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 2);
    for (old, new) in [
        (&pair.companion, &split.companion),
        (&split.companion, &pair.companion),
    ] {
        let out = Command::new("abidiff").arg(old).arg(new).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    assert_eq!(abi_diff(&pair.json, &split.json)["verdict"], "patch");
}

/// An export DWARF does not describe at all (from a dependency built without debuginfo) is
/// named, at the symbols level; the other exports keep their types and are compared with
/// them, and the guard only cares about the exports the host requires.
#[test]
fn an_undescribed_export_is_named_and_the_others_keep_their_types() {
    let dir = support::tempdir();
    let base = build("base", "dev", dir.path());
    let undescribed = build("undescribed", "dev", dir.path());
    let doc = load(&undescribed.json);
    assert_eq!(doc.detail, Detail::Symbols);
    assert!(
        doc.notes
            .iter()
            .any(|n| n.contains("`plugin_undescribed` has no DWARF description")),
        "{:?}",
        doc.notes
    );
    for export in &doc.exports {
        if export.name == "plugin_undescribed" {
            assert_eq!(export.detail, Some(Detail::Symbols));
            assert_eq!(export.signature, "fn");
            assert_eq!(export.note.as_deref(), Some("no DWARF description"));
        } else {
            assert_eq!(export.detail, Some(Detail::Types), "{export:?}");
            assert!(export.signature.starts_with("fn("), "{export:?}");
        }
    }
    assert_eq!(
        doc.export("plugin_limit").unwrap().sha256,
        load(&base.json).export("plugin_limit").unwrap().sha256
    );
    let d = abi_diff(&base.json, &undescribed.json);
    assert_eq!(d["verdict"], "minor", "{d:#}");
    let kinds: Vec<&str> = d["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["export-added", "detail-differs"], "{d:#}");
    // A real change of a typed export is still seen in a mixed document.
    let changed = build("undescribed,param-i64", "dev", dir.path());
    let d = abi_diff(&base.json, &changed.json);
    assert_eq!(d["verdict"], "major", "{d:#}");
    assert!(
        d["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["kind"] == "signature-changed" && c["symbol"] == "plugin_scale"),
        "{d:#}"
    );
    // The guard: the extra undescribed export does not matter, the changed one does.
    let utf8 = |p: &Path| Utf8PathBuf::from_path_buf(p.to_owned()).unwrap();
    let expectation = AbiExpectation::from_fingerprint(&load(&base.json));
    if let Err(refused) = check_file(&utf8(&undescribed.shipped), &expectation) {
        panic!("{refused}");
    }
    let refused = check_file(&utf8(&changed.shipped), &expectation).unwrap_err();
    assert!(
        matches!(&refused.reasons[..], [Reason::ChangedExport { name, .. }] if name == "plugin_scale"),
        "{refused}"
    );
}

/// An artifact built with full debuginfo (dev profile) whose DWARF describes its exports gets
/// no debuginfo companion build even when one export is undescribed: the companion would set
/// the same level, and the per-package `debug = false` override of the undescribed export's
/// crate applies to it too, so it could only repeat the same document (issue 12).
#[test]
fn full_debuginfo_with_an_undescribed_export_builds_no_companion() {
    let dir = support::tempdir();
    let json = dir.path().join("undescribed.json");
    let out = support::run(
        plugpack()
            .arg("fingerprint")
            .arg("--manifest-path")
            .arg(support::fixture_manifest("abi-plugin"))
            .arg("--target-dir")
            .arg(support::fixture_target_dir().join("abi-host-undescribed"))
            .args(["--locked", "--offline", "--features", "undescribed", "-o"])
            .arg(&json),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("Fingerprint"), "{stderr}");
    assert!(!stderr.contains("debuginfo companion"), "{stderr}");
    let doc = load(&json);
    assert_eq!(doc.detail, Detail::Symbols);
    assert_eq!(
        doc.export("plugin_undescribed").unwrap().detail,
        Some(Detail::Symbols)
    );
    assert_eq!(
        doc.export("plugin_limit").unwrap().detail,
        Some(Detail::Types)
    );
}

/// Function index of each function export of a wasm module (export section, id 7).
fn wasm_function_exports(wasm: &[u8]) -> BTreeMap<String, u64> {
    fn leb(bytes: &[u8], at: &mut usize) -> u64 {
        let (mut value, mut shift) = (0u64, 0);
        loop {
            let byte = bytes[*at];
            *at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return value;
            }
            shift += 7;
        }
    }
    let mut at = 8;
    let mut out = BTreeMap::new();
    while at < wasm.len() {
        let id = wasm[at];
        at += 1;
        let len = leb(wasm, &mut at) as usize;
        let end = at + len;
        if id == 7 {
            let mut p = at;
            for _ in 0..leb(wasm, &mut p) {
                let name_len = leb(wasm, &mut p) as usize;
                let name = String::from_utf8(wasm[p..p + name_len].to_vec()).unwrap();
                p += name_len;
                let kind = wasm[p];
                p += 1;
                let index = leb(wasm, &mut p);
                if kind == 0 {
                    out.insert(name, index);
                }
            }
        }
        at = end;
    }
    out
}

/// wasm: the two exports of one folded function share a function index; DWARF describes
/// it under one name only. Same treatment as native aliases.
#[test]
fn wasm_exports_of_one_function_are_aliases() {
    let dir = support::tempdir();
    let target = "wasm32-unknown-unknown";
    let target_dir = support::fixture_target_dir().join("abi-wasm-release-alias-pair");
    let json = dir.path().join("wasm.json");
    run_ok(
        plugpack()
            .arg("fingerprint")
            .arg("--manifest-path")
            .arg(support::fixture_manifest("abi-plugin"))
            .arg("--target-dir")
            .arg(&target_dir)
            .args([
                "--locked",
                "--offline",
                "-q",
                "--release",
                "--target",
                target,
            ])
            .args(["--features", "alias-pair", "-o"])
            .arg(&json),
    );
    let shipped = std::fs::read(target_dir.join(target).join("release/abi_plugin.wasm")).unwrap();
    let index = wasm_function_exports(&shipped);
    for (a, b) in PAIRS {
        assert_eq!(index[a], index[b], "{a}/{b} not folded: {index:?}");
    }
    assert_ne!(index["plugin_is_match"], index["plugin_weight"]);
    let doc = load(&json);
    assert_eq!(doc.detail, Detail::Types, "{:#?}", doc.notes);
    let alias_map = aliases(&doc);
    assert_eq!(alias_map.len(), 2, "{alias_map:?}");
    for (alias, of) in &alias_map {
        assert!(PAIRS.contains(&(of, alias)) || PAIRS.contains(&(alias, of)));
        let (alias, of) = (doc.export(alias).unwrap(), doc.export(of).unwrap());
        assert_eq!(alias.signature, of.signature);
        assert!(alias.signature.contains(" | fn(*abi_plugin::"), "{alias:?}");
    }
}
