//! SPDX 2.3 JSON documents (`*.spdx.json`), converted from the CycloneDX [`Bom`] of the same
//! artifact, so both documents list exactly the same crates.
//!
//! Mapping:
//! - `metadata.component` (the plugin) → the package the document `DESCRIBES`
//!   (`primaryPackagePurpose: LIBRARY`, its artifact SHA-256 as checksum);
//! - each component → a package: `name`, `versionInfo`, the crate's `SHA256` checksum from
//!   `Cargo.lock`, the purl as a `PACKAGE-MANAGER`/`purl` external reference, `supplier` from
//!   the crate's first author (`NOASSERTION` when it names none), `downloadLocation` (the
//!   crates.io download URL for crates.io crates, the pinned `git+URL@commit` for git crates,
//!   else `NOASSERTION`);
//! - licences: `licenseDeclared` is the crate's `license` field (canonical SPDX); a non-SPDX
//!   string becomes a `LicenseRef-…` with its text in `hasExtractedLicensingInfos`; a crate
//!   declaring none gets `NOASSERTION`. `licenseConcluded` is the declared expression: plugpack
//!   concludes from the manifest and scans no files (`NOASSERTION` where nothing is declared);
//! - `dependencies` → relationships: `A DEPENDS_ON B` when `B` is linked into the plugin
//!   (`scope: required`), `B BUILD_DEPENDENCY_OF A` when `B` is a build-only crate
//!   (`scope: excluded`) used by a linked crate; edges among build-only crates are `DEPENDS_ON`.
//!
//! Determinism: packages are sorted by `SPDXID`, relationships by (element, type, related);
//! `created` is the project epoch. `documentNamespace` is
//! `https://github.com/plugpack/plugpack/spdx/<plugin>-<version>-<target>-<UUIDv5>`, the UUID
//! derived (like the CycloneDX serial number) from the canonical JSON of the document with
//! an empty namespace: same content, same namespace.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::Sbom;
use super::cyclonedx::{Bom, Component, LicenseChoice};

/// Media type of SPDX 2.3 JSON documents (OCI referrer `artifactType`).
pub const MEDIA_TYPE: &str = "application/spdx+json";

/// Prefix of `documentNamespace`.
const NAMESPACE_BASE: &str = "https://github.com/plugpack/plugpack/spdx/";

/// An SPDX 2.3 document (only the fields plugpack writes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    /// `SPDX-2.3`.
    pub spdx_version: String,
    /// `CC0-1.0` (required by the specification).
    pub data_license: String,
    /// `SPDXRef-DOCUMENT`.
    #[serde(rename = "SPDXID")]
    pub spdx_id: String,
    /// `<plugin>-<version>-<target>`.
    pub name: String,
    /// Deterministic, content-derived URI (see the module docs).
    pub document_namespace: String,
    /// Creators and time.
    pub creation_info: CreationInfo,
    /// Non-SPDX licences referenced as `LicenseRef-…`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub has_extracted_licensing_infos: Vec<ExtractedLicense>,
    /// The plugin and its crates, sorted by `SPDXID`.
    pub packages: Vec<Package>,
    /// `DESCRIBES`, `DEPENDS_ON`, `BUILD_DEPENDENCY_OF`, sorted.
    pub relationships: Vec<Relationship>,
}

/// `creationInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreationInfo {
    /// RFC 3339 UTC (the project epoch).
    pub created: String,
    /// `Tool: plugpack-<version>`.
    pub creators: Vec<String>,
}

/// `hasExtractedLicensingInfos[]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtractedLicense {
    /// `LicenseRef-…`.
    pub license_id: String,
    /// The crate's `license` string as written.
    pub extracted_text: String,
    /// Same as the text (a name is required when the licence is not on the SPDX list).
    pub name: String,
}

/// A package (the plugin or one crate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    /// `SPDXRef-Package-…`.
    #[serde(rename = "SPDXID")]
    pub spdx_id: String,
    /// Crate name.
    pub name: String,
    /// Crate version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_info: Option<String>,
    /// `Person: …`, `Organization: …` or `NOASSERTION`.
    pub supplier: String,
    /// Where the source came from, or `NOASSERTION`.
    pub download_location: String,
    /// Always `false`: no files are listed.
    pub files_analyzed: bool,
    /// `SHA256` of the `.crate` file (or of the plugin artifact).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checksums: Vec<Checksum>,
    /// Concluded licence (see the module docs).
    pub license_concluded: String,
    /// Declared licence.
    pub license_declared: String,
    /// `NOASSERTION` (copyright lines live in the notices document).
    pub copyright_text: String,
    /// The crate's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The purl.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_refs: Vec<ExternalRef>,
    /// `LIBRARY`.
    pub primary_package_purpose: String,
    /// Remarks (build-only, licence file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `checksums[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checksum {
    /// `SHA256`.
    pub algorithm: String,
    /// Lowercase hex.
    pub checksum_value: String,
}

/// `externalRefs[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalRef {
    /// `PACKAGE-MANAGER`.
    pub reference_category: String,
    /// `purl`.
    pub reference_type: String,
    /// The purl.
    pub reference_locator: String,
}

/// `relationships[]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Relationship {
    /// Subject `SPDXID`.
    pub spdx_element_id: String,
    /// `DESCRIBES`, `DEPENDS_ON`, `BUILD_DEPENDENCY_OF`.
    pub relationship_type: String,
    /// Object `SPDXID`.
    pub related_spdx_element: String,
}

impl Document {
    /// The document as pretty JSON with a trailing newline.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

/// `<plugin>-<version>-<target>.spdx.json`.
pub fn file_name(sbom: &Sbom) -> String {
    format!("{}-{}-{}.spdx.json", sbom.plugin, sbom.version, sbom.target)
}

/// The SPDX 2.3 document of the same crates as `sbom`'s CycloneDX document.
pub fn from_sbom(sbom: &Sbom) -> Document {
    from_bom(
        &sbom.bom,
        &format!("{}-{}-{}", sbom.plugin, sbom.version, sbom.target),
    )
}

/// Converts a CycloneDX document (pure); `name` becomes the document name.
pub fn from_bom(bom: &Bom, name: &str) -> Document {
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut used = BTreeSet::new();
    let mut extracted = BTreeMap::new();
    let root = &bom.metadata.component;
    let all: Vec<&Component> = std::iter::once(root).chain(&bom.components).collect();
    let mut packages = Vec::new();
    for c in &all {
        let base = format!(
            "SPDXRef-Package-{}-{}",
            id_safe(&c.name),
            id_safe(c.version.as_deref().unwrap_or(""))
        );
        let mut id = base.clone();
        let mut n = 2;
        while !used.insert(id.clone()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        if let Some(r) = &c.bom_ref {
            ids.insert(r.clone(), id.clone());
        }
        packages.push(package(c, id, &mut extracted));
    }
    let root_id = packages[0].spdx_id.clone();
    let build_only: BTreeSet<&str> = bom
        .components
        .iter()
        .filter(|c| c.scope.as_deref() == Some("excluded"))
        .filter_map(|c| c.bom_ref.as_deref())
        .collect();
    let mut relationships = vec![Relationship {
        spdx_element_id: "SPDXRef-DOCUMENT".to_owned(),
        relationship_type: "DESCRIBES".to_owned(),
        related_spdx_element: root_id,
    }];
    for dep in &bom.dependencies {
        let Some(from) = ids.get(&dep.reference) else {
            continue;
        };
        for to_ref in &dep.depends_on {
            let Some(to) = ids.get(to_ref) else { continue };
            let from_is_build = build_only.contains(dep.reference.as_str());
            relationships.push(if build_only.contains(to_ref.as_str()) && !from_is_build {
                Relationship {
                    spdx_element_id: to.clone(),
                    relationship_type: "BUILD_DEPENDENCY_OF".to_owned(),
                    related_spdx_element: from.clone(),
                }
            } else {
                Relationship {
                    spdx_element_id: from.clone(),
                    relationship_type: "DEPENDS_ON".to_owned(),
                    related_spdx_element: to.clone(),
                }
            });
        }
    }
    relationships.sort();
    relationships.dedup();
    packages.sort_by(|a, b| a.spdx_id.cmp(&b.spdx_id));
    let mut doc = Document {
        spdx_version: "SPDX-2.3".to_owned(),
        data_license: "CC0-1.0".to_owned(),
        spdx_id: "SPDXRef-DOCUMENT".to_owned(),
        name: name.to_owned(),
        document_namespace: String::new(),
        creation_info: CreationInfo {
            created: bom.metadata.timestamp.clone(),
            creators: vec![format!("Tool: plugpack-{}", env!("CARGO_PKG_VERSION"))],
        },
        has_extracted_licensing_infos: extracted.into_values().collect(),
        packages,
        relationships,
    };
    doc.document_namespace = namespace(&doc);
    doc
}

/// The content-derived `documentNamespace`.
fn namespace(doc: &Document) -> String {
    let ns = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, NAMESPACE_BASE.as_bytes());
    let bytes =
        crate::types::canonical_json(doc).unwrap_or_else(|_| format!("{doc:?}").into_bytes());
    format!(
        "{NAMESPACE_BASE}{}-{}",
        id_safe(&doc.name),
        uuid::Uuid::new_v5(&ns, &bytes)
    )
}

/// One package from one component; non-SPDX licences are collected into `extracted`.
fn package(
    c: &Component,
    spdx_id: String,
    extracted: &mut BTreeMap<String, ExtractedLicense>,
) -> Package {
    let declared = match c.licenses.first() {
        Some(LicenseChoice::Expression { expression }) => expression.clone(),
        Some(LicenseChoice::License { license }) => {
            let id = format!("LicenseRef-{}", id_safe(&license.name));
            extracted
                .entry(id.clone())
                .or_insert_with(|| ExtractedLicense {
                    license_id: id.clone(),
                    extracted_text: license.name.clone(),
                    name: license.name.clone(),
                });
            id
        }
        None => "NOASSERTION".to_owned(),
    };
    let checksums = c
        .hashes
        .iter()
        .filter(|h| h.alg == "SHA-256")
        .map(|h| Checksum {
            algorithm: "SHA256".to_owned(),
            checksum_value: h.content.clone(),
        })
        .collect::<Vec<_>>();
    let purl = c.purl.clone().or_else(|| c.bom_ref.clone());
    let property = |name: &str| {
        c.properties
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    };
    let download_location = match &purl {
        Some(p) if c.scope.is_some() => download_location(p, &c.name, c, !checksums.is_empty()),
        _ => "NOASSERTION".to_owned(),
    };
    let supplier = c
        .authors
        .first()
        .and_then(|a| a.name.clone().or_else(|| a.email.clone()))
        .or_else(|| {
            c.author
                .as_deref()
                .and_then(|a| a.split(',').next())
                .map(|a| a.trim().to_owned())
        })
        .map(|a| supplier_person(&a))
        .unwrap_or_else(|| "NOASSERTION".to_owned());
    let mut comments = Vec::new();
    if c.scope.as_deref() == Some("excluded") {
        comments.push("build-only: compiled to build the plugin, not linked into it".to_owned());
    }
    if let Some(file) = property("plugpack:license:file") {
        comments.push(format!("license-file: {file}"));
    }
    Package {
        spdx_id,
        name: c.name.clone(),
        version_info: c.version.clone(),
        supplier,
        download_location,
        files_analyzed: false,
        checksums,
        license_concluded: declared.clone(),
        license_declared: declared,
        copyright_text: "NOASSERTION".to_owned(),
        description: c.description.clone(),
        external_refs: purl
            .into_iter()
            .filter(|p| p.starts_with("pkg:"))
            .map(|p| ExternalRef {
                reference_category: "PACKAGE-MANAGER".to_owned(),
                reference_type: "purl".to_owned(),
                reference_locator: p,
            })
            .collect(),
        primary_package_purpose: "LIBRARY".to_owned(),
        comment: (!comments.is_empty()).then(|| comments.join("; ")),
    }
}

/// `Person: NAME` with the characters SPDX's tag-value grammar reserves replaced.
fn supplier_person(author: &str) -> String {
    let name = author.split('<').next().unwrap_or(author).trim();
    let name = if name.is_empty() { author.trim() } else { name };
    let clean: String = name
        .chars()
        .map(|ch| if ch.is_control() { ' ' } else { ch })
        .collect();
    format!("Person: {}", clean.trim())
}

/// crates.io crates (no qualifier, a checksum) → the download URL; git crates → their
/// pinned `git+URL@commit`; anything else (path crates, other registries) → `NOASSERTION`.
fn download_location(purl: &str, name: &str, c: &Component, has_checksum: bool) -> String {
    let local = c
        .properties
        .iter()
        .any(|p| p.name == "plugpack:crate:local-path");
    match purl.split_once('?') {
        None if has_checksum && !local => format!(
            "https://crates.io/api/v1/crates/{name}/{}/download",
            c.version.as_deref().unwrap_or_default()
        ),
        Some((_, q)) => q
            .split('&')
            .find_map(|kv| kv.strip_prefix("vcs_url="))
            .map(percent_decode)
            .unwrap_or_else(|| "NOASSERTION".to_owned()),
        None => "NOASSERTION".to_owned(),
    }
}

/// Decodes `%XX` escapes (the purl encoder's output).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Letters, digits, `.` and `-` (the `idstring` grammar of SPDX identifiers); anything
/// else becomes `-`.
fn id_safe(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || ch == '.' || ch == '-' {
                ch
            } else {
                '-'
            }
        })
        .collect();
    if out.is_empty() {
        "unnamed".to_owned()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbom::cyclonedx::{Dependency, Hash, NamedLicense, Property};

    fn component(name: &str, scope: Option<&str>, license: Option<LicenseChoice>) -> Component {
        Component {
            kind: "library".to_owned(),
            bom_ref: Some(format!("pkg:cargo/{name}@1.0.0")),
            purl: Some(format!("pkg:cargo/{name}@1.0.0")),
            name: name.to_owned(),
            version: Some("1.0.0".to_owned()),
            scope: scope.map(str::to_owned),
            hashes: vec![Hash {
                alg: "SHA-256".to_owned(),
                content: "ab".repeat(32),
            }],
            licenses: license.into_iter().collect(),
            ..Component::default()
        }
    }

    fn bom() -> Bom {
        let mut root = component("plug", None, None);
        root.purl = None;
        root.properties = vec![Property::new("plugpack:target", "wasm32-wasip1")];
        Bom {
            schema: String::new(),
            bom_format: "CycloneDX".to_owned(),
            spec_version: "1.6".to_owned(),
            serial_number: String::new(),
            version: 1,
            metadata: crate::sbom::cyclonedx::Metadata {
                timestamp: "2024-01-01T00:00:00Z".to_owned(),
                lifecycles: Vec::new(),
                tools: crate::sbom::cyclonedx::Tools {
                    components: Vec::new(),
                },
                component: root,
                properties: Vec::new(),
            },
            components: vec![
                component(
                    "linked",
                    Some("required"),
                    Some(LicenseChoice::Expression {
                        expression: "MIT OR Apache-2.0".to_owned(),
                    }),
                ),
                component(
                    "macro",
                    Some("excluded"),
                    Some(LicenseChoice::License {
                        license: NamedLicense {
                            name: "Fixture Licence 1.0".to_owned(),
                        },
                    }),
                ),
                component("helper", Some("excluded"), None),
            ],
            dependencies: vec![
                Dependency {
                    reference: "pkg:cargo/plug@1.0.0".to_owned(),
                    depends_on: vec![
                        "pkg:cargo/linked@1.0.0".to_owned(),
                        "pkg:cargo/macro@1.0.0".to_owned(),
                    ],
                },
                Dependency {
                    reference: "pkg:cargo/macro@1.0.0".to_owned(),
                    depends_on: vec!["pkg:cargo/helper@1.0.0".to_owned()],
                },
            ],
            vulnerabilities: Vec::new(),
        }
    }

    #[test]
    fn relationships_distinguish_linked_and_build_only_crates() {
        let doc = from_bom(&bom(), "plug-1.0.0-wasm32-wasip1");
        let rels: Vec<(&str, &str, &str)> = doc
            .relationships
            .iter()
            .map(|r| {
                (
                    r.spdx_element_id.as_str(),
                    r.relationship_type.as_str(),
                    r.related_spdx_element.as_str(),
                )
            })
            .collect();
        assert_eq!(
            rels,
            vec![
                (
                    "SPDXRef-DOCUMENT",
                    "DESCRIBES",
                    "SPDXRef-Package-plug-1.0.0"
                ),
                (
                    "SPDXRef-Package-macro-1.0.0",
                    "BUILD_DEPENDENCY_OF",
                    "SPDXRef-Package-plug-1.0.0"
                ),
                (
                    "SPDXRef-Package-macro-1.0.0",
                    "DEPENDS_ON",
                    "SPDXRef-Package-helper-1.0.0"
                ),
                (
                    "SPDXRef-Package-plug-1.0.0",
                    "DEPENDS_ON",
                    "SPDXRef-Package-linked-1.0.0"
                ),
            ]
        );
    }

    #[test]
    fn licences_checksums_purls_and_locations() {
        let doc = from_bom(&bom(), "plug");
        let get = |n: &str| doc.packages.iter().find(|p| p.name == n).unwrap();
        let linked = get("linked");
        assert_eq!(linked.license_declared, "MIT OR Apache-2.0");
        assert_eq!(linked.license_concluded, "MIT OR Apache-2.0");
        assert_eq!(
            linked.download_location,
            "https://crates.io/api/v1/crates/linked/1.0.0/download"
        );
        assert_eq!(linked.checksums[0].algorithm, "SHA256");
        assert_eq!(
            linked.external_refs[0].reference_locator,
            "pkg:cargo/linked@1.0.0"
        );
        let mac = get("macro");
        assert_eq!(mac.license_declared, "LicenseRef-Fixture-Licence-1.0");
        assert_eq!(
            doc.has_extracted_licensing_infos[0].extracted_text,
            "Fixture Licence 1.0"
        );
        assert_eq!(get("helper").license_declared, "NOASSERTION");
        assert_eq!(get("plug").download_location, "NOASSERTION");
    }

    #[test]
    fn namespace_follows_content() {
        let a = from_bom(&bom(), "plug");
        assert_eq!(
            a.document_namespace,
            from_bom(&bom(), "plug").document_namespace
        );
        let mut changed = bom();
        changed.components[0].version = Some("1.0.1".to_owned());
        assert_ne!(
            a.document_namespace,
            from_bom(&changed, "plug").document_namespace
        );
        assert!(a.document_namespace.starts_with(NAMESPACE_BASE));
    }

    #[test]
    fn git_sources_decode_and_ids_are_safe() {
        assert_eq!(
            percent_decode("git%2Bhttps://example.com/b.git%400123abcd"),
            "git+https://example.com/b.git@0123abcd"
        );
        assert_eq!(id_safe("a_b+c"), "a-b-c");
    }
}
