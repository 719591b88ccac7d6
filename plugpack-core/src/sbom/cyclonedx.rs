//! CycloneDX 1.5 / 1.6 JSON wire types: only the fields plugpack writes, with the field
//! names the specification gives. Optional fields are omitted when empty so the output stays
//! minimal and valid against both schemas.

use serde::{Deserialize, Serialize};

/// A CycloneDX BOM document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bom {
    /// The JSON schema URL of the spec version.
    #[serde(rename = "$schema")]
    pub schema: String,
    /// Always `CycloneDX`.
    #[serde(rename = "bomFormat")]
    pub bom_format: String,
    /// `1.5` or `1.6`.
    #[serde(rename = "specVersion")]
    pub spec_version: String,
    /// `urn:uuid:…`, derived from the content (see [`super::serial_number`]).
    #[serde(rename = "serialNumber")]
    pub serial_number: String,
    /// Document version; always 1 (a new build is a new document).
    pub version: u32,
    /// Metadata: tool, timestamp, the plugin itself.
    pub metadata: Metadata,
    /// The crates, sorted by `bom-ref`.
    pub components: Vec<Component>,
    /// The dependency graph, sorted by `ref`.
    pub dependencies: Vec<Dependency>,
    /// Known vulnerabilities of the listed components (from the audit; see
    /// [`super::Sbom::add_vulnerabilities`]), sorted by id; omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vulnerabilities: Vec<serde_json::Value>,
}

/// `metadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// RFC 3339 UTC timestamp (the project epoch / `SOURCE_DATE_EPOCH`).
    pub timestamp: String,
    /// Lifecycle phases; always `build`.
    pub lifecycles: Vec<Lifecycle>,
    /// The tool that wrote the BOM.
    pub tools: Tools,
    /// The plugin artifact described.
    pub component: Component,
    /// Document-level properties.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

/// `metadata.lifecycles[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// `build`.
    pub phase: String,
}

/// `metadata.tools` (object form, 1.5+).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tools {
    /// The tools as components.
    pub components: Vec<Component>,
}

/// A component (a crate, the plugin, or the tool).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Component {
    /// `library` or `application`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Unique reference within the BOM (the purl for crates).
    #[serde(rename = "bom-ref", default, skip_serializing_if = "Option::is_none")]
    pub bom_ref: Option<String>,
    /// Authors as contacts (1.6 only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<Contact>,
    /// Authors as one string (1.5; deprecated in 1.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Crate name.
    pub name: String,
    /// Version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `required` (linked) or `excluded` (build-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Hashes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
    /// Licences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<LicenseChoice>,
    /// Package URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// Links.
    #[serde(
        rename = "externalReferences",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub external_references: Vec<ExternalReference>,
    /// Properties, sorted by name then value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

/// `organizationalContact`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Contact {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// E-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hash {
    /// `SHA-256`.
    pub alg: String,
    /// Lowercase hex.
    pub content: String,
}

/// One entry of `licenses`: an SPDX expression, or a single named licence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LicenseChoice {
    /// `{"expression": "MIT OR Apache-2.0"}`.
    Expression {
        /// Canonical SPDX expression.
        expression: String,
    },
    /// `{"license": {"name": "…"}}`.
    License {
        /// The licence.
        license: NamedLicense,
    },
}

/// A licence known only by name (not an SPDX expression).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedLicense {
    /// The string as the crate wrote it.
    pub name: String,
}

/// `externalReference`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ExternalReference {
    /// `vcs`, `website`, `documentation`.
    #[serde(rename = "type")]
    pub kind: String,
    /// URL.
    pub url: String,
}

/// `property`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Property {
    /// Name (`plugpack:…`).
    pub name: String,
    /// Value.
    pub value: String,
}

impl Property {
    /// A property.
    pub fn new(name: &str, value: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            value: value.into(),
        }
    }
}

/// `dependency`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Dependency {
    /// The depending component's `bom-ref`.
    #[serde(rename = "ref")]
    pub reference: String,
    /// `bom-ref`s it depends on, sorted.
    #[serde(rename = "dependsOn")]
    pub depends_on: Vec<String>,
}
