//! The host-side ABI guard: decide whether a plugin file matches what the host was built
//! against, *before* loading it.
//!
//! Input: a plugin file and an [`AbiExpectation`] (usually made with
//! [`AbiExpectation::from_fingerprint`] from the `plugpack-abi/1` document the host's own
//! build produced for the plugin interface). Output: [`Compatible`] or [`Incompatible`] with
//! *every* reason. Side effects: reads the file; never loads, maps as code or instantiates it
//! (`dlopen` already runs constructors, wasm instantiation runs the start function).
//!
//! A WebAssembly component is checked against the host's WIT world instead
//! ([`AbiExpectation::from_wit`], `component.rs`): imports the host must provide, at
//! compatible versions, and the exports it calls, with their WIT types.
//!
//! Extra exports are fine: hosts only call what they know. A plugin whose required exports
//! lack types never satisfies a types-level expectation ("no type info"): the guard cannot
//! vouch for signatures it cannot see (an extra export without a DWARF description does not
//! matter). An export that was an alias in the expectation's document (`alias_of`:
//! identical code folded into another export's body) and is not the same alias in the
//! plugin, or the other way round, is checked for presence only: its recorded types were
//! borrowed, as `abi-diff` rates it (`alias-changed`, patch).
//!
//! ```no_run
//! use plugpack_core::guard::{AbiExpectation, check_file};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let expected = AbiExpectation::from_json(&std::fs::read("plugin-abi.json")?)?;
//! match check_file("libplugin.so".into(), &expected) {
//!     Ok(ok) => println!("compatible ({})", ok.fingerprint),
//!     Err(bad) => eprintln!("refusing plugin:\n{bad}"),
//! }
//! # Ok(()) }
//! ```

mod component;

use std::collections::{BTreeMap, BTreeSet};

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::fingerprint::{self, AbiFingerprint, Detail, Format};
use crate::types::Sha256Digest;

/// What a host expects of a plugin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbiExpectation {
    /// Target triple (informative; the checks use format, architecture and pointer width).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Container format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// Architecture (`x86_64`, `aarch64`, `wasm32`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// Pointer width in bits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer_width: Option<u8>,
    /// Exports the host calls, with the per-symbol hash it was built against (`None`:
    /// presence only).
    pub required_exports: BTreeMap<String, Option<Sha256Digest>>,
    /// For wasm: the imports the host provides (`module::name` → core signature). `None`
    /// means imports are not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provided_imports: Option<BTreeMap<String, String>>,
    /// Accepted overall fingerprints (empty: any).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub accepted_fingerprints: BTreeSet<Sha256Digest>,
    /// Require a types-level fingerprint.
    #[serde(default)]
    pub require_types: bool,
    /// Required exports that were aliases in the document the expectation came from (export
    /// → the export it aliased). Their hashes cover borrowed types, so when the plugin's
    /// export is not the same alias (the two bodies split, or folded anew) only its presence
    /// is checked, as `abi-diff` does.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub aliases: BTreeMap<String, String>,
    /// For components: the host's WIT world (interfaces it provides and calls, with
    /// versions). Functions are also in `required_exports` and `provided_imports` (WIT path
    /// → sha256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wit: Option<crate::fingerprint::component::WitWorld>,
    /// For components: WIT packages the host implements whole (`wasi:cli` → `0.2.6`, as
    /// `wasmtime-wasi` does), checked by version only ([`AbiExpectation::provide_package`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub provided_packages: BTreeMap<String, String>,
}

impl AbiExpectation {
    /// Expect exactly the interface described by `doc`: its platform, all its exports with
    /// their hashes, its imports as what the host provides, types if it has them. The
    /// overall fingerprint is not pinned (extra exports are fine); add it to
    /// `accepted_fingerprints` to pin it.
    pub fn from_fingerprint(doc: &AbiFingerprint) -> Self {
        let wasm = doc.format == Format::Wasm;
        let component = doc.format == Format::Component;
        AbiExpectation {
            target: doc.target.clone(),
            format: Some(doc.format),
            architecture: Some(doc.architecture.clone()),
            pointer_width: Some(doc.pointer_width),
            required_exports: doc
                .exports
                .iter()
                .map(|s| (s.name.clone(), Some(s.sha256)))
                .collect(),
            provided_imports: if component {
                Some(
                    doc.imports
                        .iter()
                        .map(|s| (s.name.clone(), s.sha256.to_string()))
                        .collect(),
                )
            } else {
                wasm.then(|| {
                    doc.imports
                        .iter()
                        .map(|s| (s.name.clone(), s.signature.clone()))
                        .collect()
                })
            },
            accepted_fingerprints: BTreeSet::new(),
            require_types: doc.detail == Detail::Types,
            aliases: doc
                .exports
                .iter()
                .filter_map(|s| Some((s.name.clone(), s.alias_of.clone()?)))
                .collect(),
            wit: doc.wit.clone(),
            provided_packages: BTreeMap::new(),
        }
    }

    /// Parses a `plugpack-abi/1` document and calls [`AbiExpectation::from_fingerprint`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, fingerprint::Error> {
        let doc = AbiFingerprint::from_json(Utf8Path::new("<expectation>"), bytes)?;
        Ok(Self::from_fingerprint(&doc))
    }
}

/// The plugin passed every check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compatible {
    /// The plugin's overall fingerprint.
    pub fingerprint: Sha256Digest,
    /// Its detail level.
    pub detail: Detail,
}

/// One reason to refuse a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Reason {
    /// The file could not be read or is not a plugin.
    Unreadable {
        /// The error, rendered.
        error: String,
    },
    /// Built for another platform.
    WrongTarget {
        /// What the host expects.
        expected: String,
        /// What the file is.
        found: String,
    },
    /// A required export is missing.
    MissingExport {
        /// Its name.
        name: String,
    },
    /// A required export exists with another signature or layout.
    ChangedExport {
        /// Its name.
        name: String,
        /// The hash the host expects.
        expected: Sha256Digest,
        /// The plugin's.
        found: Sha256Digest,
        /// The plugin's signature.
        signature: String,
    },
    /// The plugin needs an import the host does not provide (or with another signature).
    UnprovidedImport {
        /// `module::name`.
        name: String,
        /// The signature the plugin wants.
        signature: String,
    },
    /// The host needs type information the plugin's fingerprint lacks.
    NoTypeInfo {
        /// Why (from the fingerprint's notes).
        notes: Vec<String>,
    },
    /// A component imports or exports an interface at a version the host cannot use
    /// (another track, or newer than the host provides / older than the host calls).
    IncompatibleVersion {
        /// The interface (`pkg:ns/iface`).
        name: String,
        /// The version needed.
        needed: String,
        /// The version found.
        found: String,
    },
    /// The overall fingerprint is not an accepted one.
    FingerprintMismatch {
        /// The plugin's.
        found: Sha256Digest,
    },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Unreadable { error } => write!(f, "cannot inspect: {error}"),
            Reason::WrongTarget { expected, found } => {
                write!(f, "wrong target: expected {expected}, found {found}")
            }
            Reason::MissingExport { name } => write!(f, "missing export `{name}`"),
            Reason::ChangedExport {
                name, signature, ..
            } => write!(f, "export `{name}` changed (now {signature})"),
            Reason::UnprovidedImport { name, signature } => {
                write!(
                    f,
                    "needs import `{name}` ({signature}) the host does not provide"
                )
            }
            Reason::NoTypeInfo { notes } => {
                write!(f, "no type information ({})", notes.join("; "))
            }
            Reason::IncompatibleVersion {
                name,
                needed,
                found,
            } => write!(
                f,
                "interface `{name}`: version {needed} needed, {found} found (incompatible)"
            ),
            Reason::FingerprintMismatch { found } => {
                write!(f, "fingerprint {found} is not an accepted one")
            }
        }
    }
}

/// The plugin failed at least one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incompatible {
    /// The file.
    pub path: Utf8PathBuf,
    /// Every reason, in check order.
    pub reasons: Vec<Reason>,
}

impl std::fmt::Display for Incompatible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is incompatible:", self.path)?;
        for r in &self.reasons {
            write!(f, "\n  - {r}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Incompatible {}

/// Checks `path` against `expectation` without loading it.
pub fn check_file(
    path: &Utf8Path,
    expectation: &AbiExpectation,
) -> Result<Compatible, Incompatible> {
    match fingerprint::fingerprint_file(path) {
        Ok(doc) => check(path, &doc, expectation),
        Err(e) => {
            let mut error = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                error.push_str(&format!(": {s}"));
                source = s.source();
            }
            Err(Incompatible {
                path: path.to_owned(),
                reasons: vec![Reason::Unreadable { error }],
            })
        }
    }
}

/// Checks an already computed fingerprint (`path` names the plugin in the result).
pub fn check(
    path: &Utf8Path,
    doc: &AbiFingerprint,
    expectation: &AbiExpectation,
) -> Result<Compatible, Incompatible> {
    let mut reasons = Vec::new();
    let platform_mismatch = expectation.format.is_some_and(|f| f != doc.format)
        || expectation
            .architecture
            .as_ref()
            .is_some_and(|a| *a != doc.architecture)
        || expectation
            .pointer_width
            .is_some_and(|w| w != doc.pointer_width);
    if platform_mismatch {
        let show = |format: Option<Format>, arch: Option<&str>, width: Option<u8>| {
            format!(
                "{} {} {}-bit",
                format.map_or("?".to_owned(), |f| f.to_string()),
                arch.unwrap_or("?"),
                width.map_or("?".to_owned(), |w| w.to_string())
            )
        };
        reasons.push(Reason::WrongTarget {
            expected: show(
                expectation.format,
                expectation.architecture.as_deref(),
                expectation.pointer_width,
            ),
            found: show(
                Some(doc.format),
                Some(&doc.architecture),
                Some(doc.pointer_width),
            ),
        });
    }
    if doc.format == Format::Component && !platform_mismatch {
        reasons.extend(component::reasons(doc, expectation));
        return finish(path, doc, expectation, reasons);
    }
    // Types are needed for the exports the host calls: an extra export without a DWARF
    // description does not make the others unverifiable.
    let untyped = |found: &fingerprint::Symbol| {
        expectation.require_types && doc.export_detail(found) != Detail::Types
    };
    let no_types = expectation.require_types
        && doc.detail != Detail::Types
        && (expectation.required_exports.is_empty()
            || expectation
                .required_exports
                .keys()
                .filter_map(|name| doc.export(name))
                .any(untyped));
    if no_types {
        reasons.push(Reason::NoTypeInfo {
            notes: doc.notes.clone(),
        });
    }
    for (name, expected) in &expectation.required_exports {
        match doc.export(name) {
            None => reasons.push(Reason::MissingExport { name: name.clone() }),
            // Without types the hashes are not comparable; `NoTypeInfo` already says so.
            Some(found) if !untyped(found) => {
                // An alias on one side only: its types were borrowed, compare by name.
                let same_alias = expectation.aliases.get(name) == found.alias_of.as_ref();
                if let Some(expected) = expected
                    && *expected != found.sha256
                    && same_alias
                {
                    reasons.push(Reason::ChangedExport {
                        name: name.clone(),
                        expected: *expected,
                        found: found.sha256,
                        signature: found.signature.clone(),
                    });
                }
            }
            Some(_) => {}
        }
    }
    if let Some(provided) = &expectation.provided_imports {
        for import in &doc.imports {
            if provided.get(&import.name) != Some(&import.signature) {
                reasons.push(Reason::UnprovidedImport {
                    name: import.name.clone(),
                    signature: import.signature.clone(),
                });
            }
        }
    }
    finish(path, doc, expectation, reasons)
}

/// Adds the fingerprint pin to `reasons` and gives the verdict.
fn finish(
    path: &Utf8Path,
    doc: &AbiFingerprint,
    expectation: &AbiExpectation,
    mut reasons: Vec<Reason>,
) -> Result<Compatible, Incompatible> {
    if !expectation.accepted_fingerprints.is_empty()
        && !expectation.accepted_fingerprints.contains(&doc.fingerprint)
    {
        reasons.push(Reason::FingerprintMismatch {
            found: doc.fingerprint,
        });
    }
    if reasons.is_empty() {
        Ok(Compatible {
            fingerprint: doc.fingerprint,
            detail: doc.detail,
        })
    } else {
        Err(Incompatible {
            path: path.to_owned(),
            reasons,
        })
    }
}
