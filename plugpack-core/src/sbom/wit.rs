//! The WIT packages a WebAssembly component imports, as SBOM components.
//!
//! A component needs its host to provide the interfaces it imports (`wasi:io/streams@0.2.6`,
//! `plugpack:host/log@1.0.0`); those interfaces are a dependency as real as a linked crate,
//! only supplied at instantiation. Each imported WIT package becomes one `type: library`
//! component with `scope: required`, `name` `ns:pkg`, `version`, the imported interfaces in
//! `plugpack:wit:interface` properties and `plugpack:wit:provided-by` = `host`, and the
//! plugin depends on it.
//!
//! There is no purl type for WIT packages yet, so the `bom-ref` is a purl-*like*
//! `pkg:wit/<namespace>/<name>@<version>` (the shape a `wit` type would take, as wkg and
//! OCI registries name packages `namespace:name`), and the `purl` field stays empty so no
//! scanner looks it up in a registry that does not exist (docs/sbom.md).

use super::Sbom;
use super::cyclonedx::{Component, Property};
use crate::fingerprint::component::WitWorld;

/// The purl-like reference of WIT package `package` (`wasi:io`) at `version`.
pub fn wit_ref(package: &str, version: Option<&str>) -> String {
    let (namespace, name) = package.split_once(':').unwrap_or(("", package));
    match version {
        Some(v) => format!("pkg:wit/{namespace}/{name}@{v}"),
        None => format!("pkg:wit/{namespace}/{name}"),
    }
}

/// Adds the packages `world` imports to `sbom` (and to the plugin's dependencies), then
/// renews the serial number.
pub(super) fn add_imported_packages(sbom: &mut Sbom, world: &WitWorld) {
    let mut packages: std::collections::BTreeMap<String, Component> = Default::default();
    for item in &world.imports {
        let Some(package) = &item.package else {
            continue; // an unnamed interface or a bare function: the world's own
        };
        let reference = wit_ref(package, item.version.as_deref());
        let component = packages
            .entry(reference.clone())
            .or_insert_with(|| Component {
                kind: "library".to_owned(),
                bom_ref: Some(reference.clone()),
                name: package.clone(),
                version: item.version.clone(),
                scope: Some("required".to_owned()),
                properties: vec![Property::new("plugpack:wit:provided-by", "host")],
                ..Component::default()
            });
        component
            .properties
            .push(Property::new("plugpack:wit:interface", &item.name));
    }
    let bom = &mut sbom.bom;
    let root = bom.metadata.component.bom_ref.clone();
    for (reference, mut component) in packages {
        component.properties.sort();
        if let Some(root) = &root {
            if let Some(dep) = bom.dependencies.iter_mut().find(|d| &d.reference == root) {
                dep.depends_on.push(reference.clone());
                dep.depends_on.sort();
                dep.depends_on.dedup();
            }
        }
        bom.dependencies.push(super::cyclonedx::Dependency {
            reference: reference.clone(),
            depends_on: Vec::new(),
        });
        bom.components.push(component);
    }
    bom.components.sort_by(|a, b| a.bom_ref.cmp(&b.bom_ref));
    bom.dependencies.sort();
    bom.dependencies.dedup();
    bom.serial_number = String::new();
    bom.serial_number = super::serial_number(bom);
}

#[cfg(test)]
mod tests {
    use super::wit_ref;

    #[test]
    fn wit_refs_are_purl_shaped() {
        assert_eq!(wit_ref("wasi:io", Some("0.2.6")), "pkg:wit/wasi/io@0.2.6");
        assert_eq!(wit_ref("local:thing", None), "pkg:wit/local/thing");
    }
}
