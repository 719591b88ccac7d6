//! WebAssembly components (`wasm32-wasip2`): the WIT world a component embeds, decoded with
//! `wit-parser` (its `decoding` feature reads the component's type information through
//! `wasmparser`; feature `component`), as a `detail: wit` document. The document types and
//! the semver rules need no `wit-parser`: a host with only `guard` reads and compares
//! component documents, one with `component` also decodes components and WIT files.
//!
//! For a component the public API *is* its world: the interfaces and functions it exports,
//! the ones it imports from the host, and the types they use. The core modules inside are an
//! implementation detail and are not fingerprinted. A host world (a WIT file or directory)
//! is described the same way ([`describe_wit`]), so the guard compares like with like.
//!
//! # Canonical form
//! * Every function is one symbol named by its WIT path, `pkg:ns/iface@1.2.0#func`
//!   (`#[method]res.name`, `#[constructor]res`, `#[static]res.name` for resource functions,
//!   the bare name for a function a world imports or exports directly), with the signature
//!   `func(a: T, …) -> R` (`async func` for async functions).
//! * Types render as WIT spells them: primitives, `list<T>`, `option<T>`, `result<T, E>`,
//!   `tuple<…>`, `borrow<R>`, a resource's own handle as its name; a named type by its name
//!   when it belongs to the same interface, else as `pkg:ns/iface#name` (no version).
//! * Every named type reachable from a function (through fields, cases, aliases and a
//!   resource's methods) is described once in [`WitWorld::types`], keyed
//!   `pkg:ns/iface#name`: `record { x: s32, y: s32 }`, `variant { a(u32), b }`,
//!   `enum { … }`, `flags { … }`, `resource { <its functions' signatures> }`, `type = T`.
//! * A symbol's sha256 covers its unversioned path, its signature and the definitions of the
//!   types it reaches; versions are left out of these hashes so that a host built against
//!   `log@1.0.0` can compare the functions of `log@1.1.0`. Interface versions are compared
//!   separately (the diff and the guard both do).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::types::Sha256Digest;

#[cfg(feature = "component")]
pub use super::wit_decode::describe_wit;

/// The world of a component (or a host's world), as recorded in a `detail: wit` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitWorld {
    /// The world's WIT name (`pkg:ns/world@1.2.0`; components built by `wit-component`
    /// name their own world `root:component/root`).
    pub world: String,
    /// Interfaces (and bare functions) the host must provide, by WIT name, sorted.
    pub imports: Vec<WitItem>,
    /// Interfaces (and bare functions) the component provides, by WIT name, sorted.
    pub exports: Vec<WitItem>,
    /// Named types reachable from the functions, keyed `pkg:ns/iface#name`.
    pub types: BTreeMap<String, WitType>,
}

/// One imported or exported interface (or bare function) of a world.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitItem {
    /// WIT name with version (`wasi:io/streams@0.2.4`), or the plain name of an unnamed
    /// interface or bare function.
    pub name: String,
    /// The package (`wasi:io`), for interfaces of a package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// The package version, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The symbols (WIT paths) of its functions, sorted.
    #[serde(default)]
    pub functions: Vec<String>,
    /// Named types it defines (keys of [`WitWorld::types`]), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    /// sha256 over its functions' and types' canonical lines (versions excluded).
    pub sha256: Sha256Digest,
}

impl WitItem {
    /// The name without its `@version`.
    pub fn unversioned(&self) -> String {
        unversioned(&self.name)
    }
}

/// One named WIT type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitType {
    /// `record`, `variant`, `enum`, `flags`, `resource` or `type` (an alias or a named
    /// `list`/`option`/… type).
    pub kind: String,
    /// Fields (records), cases (variants, with their payload type), names (enums, flags)
    /// or functions (resources, with their signature), in declaration order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<WitTypeItem>,
    /// The canonical one-line definition hashed into symbol digests.
    pub definition: String,
}

/// A field, case, flag or resource function of a [`WitType`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WitTypeItem {
    /// Its name.
    pub name: String,
    /// Its type (field, case payload) or signature (resource function).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub ty: Option<String>,
}

/// `name@version#rest` → `name#rest`.
pub fn unversioned(name: &str) -> String {
    match name.find('@') {
        None => name.to_owned(),
        Some(at) => {
            let rest = name[at..].find('#').map_or("", |i| &name[at + i..]);
            format!("{}{rest}", &name[..at])
        }
    }
}

/// True when `head` (the first 8 bytes or more) starts a component, not a core module.
pub fn is_component(head: &[u8]) -> bool {
    // Magic, then a 2-byte version and the 2-byte layer: 1 is the component model.
    head.len() >= 8 && head.starts_with(b"\0asm") && head[6..8] == [1, 0]
}

/// A component's world (feature `component`); without the feature, a clear refusal.
pub(crate) fn read(
    path: &camino::Utf8Path,
    bytes: &[u8],
) -> Result<super::AbiFingerprint, super::Error> {
    #[cfg(feature = "component")]
    return super::wit_decode::read(path, bytes);
    #[cfg(not(feature = "component"))]
    {
        let _ = bytes;
        Err(super::Error::Unsupported {
            path: path.to_owned(),
            reason: "a wasm component; decoding its WIT world needs plugpack-core's \
                     `component` feature"
                .to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unversioned_drops_only_the_version() {
        assert_eq!(unversioned("wasi:io/streams@0.2.4"), "wasi:io/streams");
        assert_eq!(unversioned("a:b/c@1.2.0#[method]r.f"), "a:b/c#[method]r.f");
        assert_eq!(unversioned("run"), "run");
    }

    #[test]
    fn component_header_is_told_from_a_core_module() {
        assert!(is_component(b"\0asm\x0d\0\x01\0"));
        assert!(!is_component(b"\0asm\x01\0\0\0"));
        assert!(!is_component(b"\0asm"));
    }
}
