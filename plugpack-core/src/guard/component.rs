//! The guard for WebAssembly components: the component's WIT world (`detail: wit`) against
//! the host's world ([`AbiExpectation::from_wit`], or a component document).
//!
//! * every interface the component imports must be one the host provides (its world's
//!   imports, or a package in [`AbiExpectation::provided_packages`]) at a compatible
//!   version: the same track (major, or `0.minor`) and not older than the component's;
//!   every imported function must be one the host provides with the same WIT type;
//! * every interface and function the host calls (its world's exports) must be exported,
//!   at a compatible version (not older than the host's), with the same WIT type.
//!
//! Functions are matched by WIT path without version (`pkg:ns/iface#func`) and compared by
//! their sha256, which covers the signature and every type it reaches (see
//! [`crate::fingerprint::component`]).

use std::collections::BTreeMap;

use camino::Utf8Path;

use super::{AbiExpectation, Reason};
use crate::fingerprint::component::{WitItem, unversioned};
use crate::fingerprint::{AbiFingerprint, Symbol};

/// `"1.2.0"` → parsed; `None` for no or an unparsable version.
fn parse(v: Option<&str>) -> Option<semver::Version> {
    semver::Version::parse(v?).ok()
}

/// True when a provider at `provided` satisfies a user at `needed`: both unversioned, or
/// the same track (major, `0.minor`, `0.0.patch`) with `provided >= needed`.
pub(crate) fn satisfies(provided: Option<&str>, needed: Option<&str>) -> bool {
    match (parse(provided), parse(needed)) {
        (None, None) => provided == needed,
        (Some(p), Some(n)) => {
            let track = |v: &semver::Version| match (v.major, v.minor) {
                (0, 0) => (0, 0, v.patch),
                (0, m) => (0, m, 0),
                (m, _) => (m, 0, 0),
            };
            track(&p) == track(&n) && p >= n
        }
        _ => false,
    }
}

fn by_unversioned(items: &[WitItem]) -> BTreeMap<String, &WitItem> {
    items.iter().map(|i| (i.unversioned(), i)).collect()
}

fn symbols(list: &[Symbol]) -> BTreeMap<String, &Symbol> {
    list.iter().map(|s| (unversioned(&s.name), s)).collect()
}

/// The reasons `doc` (a component) does not fit `expectation`.
pub(super) fn reasons(doc: &AbiFingerprint, expectation: &AbiExpectation) -> Vec<Reason> {
    let mut reasons = Vec::new();
    let Some(world) = &doc.wit else {
        return vec![Reason::Unreadable {
            error: "the component document has no WIT world".to_owned(),
        }];
    };
    let own_exports = symbols(&doc.exports);
    let own_items = by_unversioned(&world.exports);
    // What the host calls.
    for (name, expected) in &expectation.required_exports {
        let key = unversioned(name);
        match own_exports.get(&key) {
            None => reasons.push(Reason::MissingExport { name: name.clone() }),
            Some(found) => {
                if let Some(expected) = expected
                    && *expected != found.sha256
                {
                    reasons.push(Reason::ChangedExport {
                        name: found.name.clone(),
                        expected: *expected,
                        found: found.sha256,
                        signature: found.signature.clone(),
                    });
                }
            }
        }
    }
    if let Some(host) = &expectation.wit {
        for item in &host.exports {
            match own_items.get(&item.unversioned()) {
                None if item.functions.is_empty() => {
                    reasons.push(Reason::MissingExport {
                        name: item.name.clone(),
                    });
                }
                None => {} // its functions are reported one by one
                Some(own) if !satisfies(own.version.as_deref(), item.version.as_deref()) => {
                    reasons.push(Reason::IncompatibleVersion {
                        name: item.unversioned(),
                        needed: item.version.clone().unwrap_or_default(),
                        found: own.version.clone().unwrap_or_default(),
                    });
                }
                Some(_) => {}
            }
        }
    }
    // What the component needs.
    let host_imports = expectation
        .wit
        .as_ref()
        .map(|w| by_unversioned(&w.imports))
        .unwrap_or_default();
    let provided_functions: BTreeMap<String, &str> = expectation
        .provided_imports
        .iter()
        .flatten()
        .map(|(name, sha)| (unversioned(name), sha.as_str()))
        .collect();
    let mut unprovided_interfaces = Vec::new();
    for item in &world.imports {
        let by_package = item.package.as_ref().and_then(|p| {
            expectation
                .provided_packages
                .get(p)
                .map(|v| (p.clone(), v.clone()))
        });
        if let Some((_, version)) = &by_package {
            if !satisfies(Some(version), item.version.as_deref()) {
                reasons.push(Reason::IncompatibleVersion {
                    name: item.unversioned(),
                    needed: item.version.clone().unwrap_or_default(),
                    found: version.clone(),
                });
            }
            continue;
        }
        match host_imports.get(&item.unversioned()) {
            None => {
                unprovided_interfaces.push(item.unversioned());
                reasons.push(Reason::UnprovidedImport {
                    name: item.name.clone(),
                    signature: "interface".to_owned(),
                });
            }
            Some(host) if !satisfies(host.version.as_deref(), item.version.as_deref()) => {
                reasons.push(Reason::IncompatibleVersion {
                    name: item.unversioned(),
                    needed: item.version.clone().unwrap_or_default(),
                    found: host.version.clone().unwrap_or_default(),
                });
            }
            Some(_) => {}
        }
    }
    for import in &doc.imports {
        let key = unversioned(&import.name);
        let interface = key.split('#').next().unwrap_or(&key).to_owned();
        let package = world
            .imports
            .iter()
            .find(|i| i.unversioned() == interface)
            .and_then(|i| i.package.clone());
        let by_package = package.is_some_and(|p| expectation.provided_packages.contains_key(&p));
        if by_package || unprovided_interfaces.contains(&interface) {
            continue;
        }
        if expectation.provided_imports.is_none() {
            continue;
        }
        let sha = import.sha256.to_string();
        if provided_functions.get(&key) != Some(&sha.as_str()) {
            reasons.push(Reason::UnprovidedImport {
                name: import.name.clone(),
                signature: import.signature.clone(),
            });
        }
    }
    reasons
}

impl AbiExpectation {
    /// The expectation of a host whose world is the WIT at `path` (a `.wit` file, or a
    /// directory with its `deps/`); `world` picks one when the package has several. The
    /// host provides the world's imports and calls its exports.
    #[cfg(feature = "component")]
    pub fn from_wit(
        path: &Utf8Path,
        world: Option<&str>,
    ) -> Result<Self, crate::fingerprint::Error> {
        let doc = crate::fingerprint::component::describe_wit(path, world)?;
        Ok(Self::from_fingerprint(&doc))
    }

    /// A host world from a file: a `plugpack-abi/1` document (JSON), or WIT (a `.wit` file
    /// or a directory; feature `component`).
    pub fn load(path: &Utf8Path) -> Result<Self, crate::fingerprint::Error> {
        if path.is_dir() || path.extension() == Some("wit") {
            #[cfg(feature = "component")]
            return Self::from_wit(path, None);
            #[cfg(not(feature = "component"))]
            return Err(crate::fingerprint::Error::Unsupported {
                path: path.to_owned(),
                reason: "a WIT world; reading WIT needs plugpack-core's `component` feature"
                    .to_owned(),
            });
        }
        let bytes = std::fs::read(path).map_err(|source| crate::fingerprint::Error::Read {
            path: path.to_owned(),
            source,
        })?;
        let doc = AbiFingerprint::from_json(path, &bytes)?;
        Ok(Self::from_fingerprint(&doc))
    }

    /// Declares that the host implements every interface of WIT package `package`
    /// (`wasi:cli`) at `version` (`0.2.6`), as a WASI implementation such as
    /// `wasmtime-wasi` does, without listing them in its world: imports from it are checked
    /// by version only.
    pub fn provide_package(mut self, package: &str, version: &str) -> Self {
        self.provided_packages
            .insert(package.to_owned(), version.to_owned());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::satisfies;

    #[test]
    fn versions_satisfy_on_the_same_track_only_when_not_older() {
        assert!(satisfies(Some("1.1.0"), Some("1.0.0")));
        assert!(satisfies(Some("1.0.0"), Some("1.0.0")));
        assert!(!satisfies(Some("1.0.0"), Some("1.1.0")));
        assert!(!satisfies(Some("2.0.0"), Some("1.0.0")));
        assert!(satisfies(Some("0.2.6"), Some("0.2.4")));
        assert!(!satisfies(Some("0.3.0"), Some("0.2.4")));
        assert!(satisfies(None, None));
        assert!(!satisfies(None, Some("1.0.0")));
    }
}
