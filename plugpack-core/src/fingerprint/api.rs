//! API level (optional extra): a hash per public item of the crate, from rustdoc JSON.
//!
//! `cargo rustdoc --lib -- -Z unstable-options --output-format json` with
//! `RUSTC_BOOTSTRAP=1` (works on stable) writes `<target-dir>/doc/<crate>.json`. We walk the
//! public modules from the crate root and hash, per item path, its canonical JSON with
//! rustdoc's numeric ids, spans, docs and links removed and struct fields / enum variants /
//! trait items inlined by name, so the hash does not depend on id numbering. Impl blocks are
//! not covered. API differences are warnings in [`super::AbiDiff::api_changes`], never part
//! of the semver verdict or of the ABI fingerprint.

use std::collections::BTreeMap;
#[cfg(feature = "tool")]
use std::process::Command;

use camino::Utf8Path;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Error;
use crate::types::Sha256Digest;

/// The public API of a crate, hashed per item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiFingerprint {
    /// rustdoc JSON `format_version` it was read from.
    pub format_version: u64,
    /// sha256 over the sorted `path kind sha` lines.
    pub digest: Sha256Digest,
    /// Item path (`crate::module::Name`) → `kind sha256:…`.
    pub items: BTreeMap<String, String>,
}

const DROPPED_KEYS: &[&str] = &["id", "span", "docs", "links", "impls", "crate_id"];

struct Doc<'a> {
    index: &'a serde_json::Map<String, Value>,
}

impl Doc<'_> {
    fn item(&self, id: &Value) -> Option<&Value> {
        let key = match id {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            _ => return None,
        };
        self.index.get(&key)
    }

    /// Canonical form: ids dropped, child items (fields, variants, trait items) inlined.
    fn canonical(&self, value: &Value, depth: usize) -> Value {
        if depth > 64 {
            return Value::Null;
        }
        match value {
            Value::Object(map) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    if DROPPED_KEYS.contains(&k.as_str()) {
                        continue;
                    }
                    let inline = matches!(k.as_str(), "fields" | "variants" | "items")
                        && v.as_array()
                            .is_some_and(|a| a.iter().all(|x| x.is_number()));
                    let v = if inline {
                        Value::Array(
                            v.as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(|id| self.item(id))
                                .map(|item| self.canonical(item, depth + 1))
                                .collect(),
                        )
                    } else {
                        self.canonical(v, depth + 1)
                    };
                    out.insert(k.clone(), v);
                }
                Value::Object(out)
            }
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.canonical(v, depth + 1)).collect())
            }
            other => other.clone(),
        }
    }

    fn walk(&self, module: &Value, path: &str, out: &mut BTreeMap<String, String>, depth: usize) {
        if depth > 32 {
            return;
        }
        let items = module
            .pointer("/inner/module/items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for id in &items {
            let Some(item) = self.item(id) else { continue };
            if item.get("visibility").and_then(Value::as_str) != Some("public") {
                continue;
            }
            let Some(inner) = item.get("inner").and_then(Value::as_object) else {
                continue;
            };
            let Some(kind) = inner.keys().next() else {
                continue;
            };
            let name = item
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("_")
                .to_owned();
            let item_path = format!("{path}::{name}");
            if kind == "module" {
                self.walk(item, &item_path, out, depth + 1);
                continue;
            }
            let canonical = self.canonical(item, 0);
            let bytes = crate::types::canonical_json(&canonical).unwrap_or_default();
            out.insert(
                item_path,
                format!("{kind} {}", Sha256Digest::of_bytes(&bytes)),
            );
        }
    }
}

/// Reads a rustdoc JSON document (`path` names it in errors).
pub fn from_rustdoc_json(path: &Utf8Path, bytes: &[u8]) -> Result<ApiFingerprint, Error> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|source| Error::BadDocument {
        path: path.to_owned(),
        source,
    })?;
    let bad = |what: &str| Error::Malformed {
        path: path.to_owned(),
        format: "rustdoc JSON",
        reason: what.to_owned(),
    };
    let index = doc
        .get("index")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("no `index`"))?;
    let d = Doc { index };
    let root = doc
        .get("root")
        .and_then(|r| d.item(r))
        .ok_or_else(|| bad("no root module"))?;
    let crate_name = root.get("name").and_then(Value::as_str).unwrap_or("crate");
    let mut items = BTreeMap::new();
    d.walk(root, crate_name, &mut items, 0);
    let mut text = String::new();
    for (p, v) in &items {
        text.push_str(&format!("{p} {v}\n"));
    }
    Ok(ApiFingerprint {
        format_version: doc
            .get("format_version")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        digest: Sha256Digest::of_bytes(text.as_bytes()),
        items,
    })
}

#[cfg(feature = "tool")]
/// Runs `cargo rustdoc` (JSON output, `RUSTC_BOOTSTRAP=1`) for one package and reads the
/// result. `args` are the cargo selection/feature/network flags; the documents go to
/// `target_dir`.
pub fn rustdoc(
    cargo: &str,
    manifest: &Utf8Path,
    package_spec: &str,
    lib_name: &str,
    args: &[String],
    target_dir: &Utf8Path,
) -> Result<ApiFingerprint, Error> {
    let mut cmd = Command::new(cargo);
    cmd.args(["rustdoc", "--lib", "-q", "--manifest-path"])
        .arg(manifest)
        .args(["-p", package_spec])
        .arg("--target-dir")
        .arg(target_dir)
        .args(args)
        .args(["--", "-Z", "unstable-options", "--output-format", "json"])
        .env("RUSTC_BOOTSTRAP", "1");
    crate::process::output(&mut cmd).map_err(|source| Error::Rustdoc {
        package: package_spec.to_owned(),
        source,
    })?;
    let json = target_dir.join("doc").join(format!("{lib_name}.json"));
    let bytes = std::fs::read(&json).map_err(|source| Error::Read {
        path: json.clone(),
        source,
    })?;
    from_rustdoc_json(&json, &bytes)
}

/// Differences between two API fingerprints, as warning lines.
pub fn changes(old: &ApiFingerprint, new: &ApiFingerprint) -> Vec<String> {
    let mut out = Vec::new();
    for (path, o) in &old.items {
        match new.items.get(path) {
            None => out.push(format!("API: `{path}` removed")),
            Some(n) if n != o => out.push(format!("API: `{path}` changed")),
            Some(_) => {}
        }
    }
    for path in new.items.keys() {
        if !old.items.contains_key(path) {
            out.push(format!("API: `{path}` added"));
        }
    }
    if old.format_version != new.format_version {
        out.push(format!(
            "API: rustdoc JSON format {} → {}: hashes may differ for that reason alone",
            old.format_version, new.format_version
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(field_ty: &str, ids: (u64, u64)) -> Vec<u8> {
        let (s, f) = ids;
        serde_json::to_vec(&serde_json::json!({
            "format_version": 57,
            "root": 0,
            "index": {
                "0": {"name": "p", "visibility": "public",
                      "inner": {"module": {"is_crate": true, "items": [s, 9]}}},
                s.to_string(): {"name": "S", "visibility": "public", "span": {"begin": [s, 0]},
                      "inner": {"struct": {"kind": {"plain": {"fields": [f]}}, "impls": [7]}}},
                f.to_string(): {"name": "x", "visibility": "public",
                      "inner": {"struct_field": {"primitive": field_ty}}},
                "9": {"name": "hidden", "visibility": "default",
                      "inner": {"function": {}}}
            }
        }))
        .unwrap()
    }

    #[test]
    fn hashes_ignore_ids_and_see_field_types() {
        let p = Utf8Path::new("d.json");
        let a = from_rustdoc_json(p, &doc("u32", (1, 2))).unwrap();
        let b = from_rustdoc_json(p, &doc("u32", (5, 6))).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.items.keys().collect::<Vec<_>>(), ["p::S"]);
        let c = from_rustdoc_json(p, &doc("u64", (1, 2))).unwrap();
        assert_ne!(a.digest, c.digest);
        assert_eq!(changes(&a, &c), ["API: `p::S` changed"]);
    }
}
