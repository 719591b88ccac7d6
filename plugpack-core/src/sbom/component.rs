//! The CycloneDX components of an SBOM: one per crate (licence, checksum, authors, links and
//! `plugpack:` properties, with the findings they raise), the plugin's artifact properties and
//! the tool component naming plugpack.

use std::collections::BTreeSet;

use super::cyclonedx::{Component, Contact, ExternalReference, Hash, Property};
use super::{Finding, FindingCode, Licensing, SbomOptions, SpecVersion, cargo_purl};
use crate::build::BuiltArtifact;
use crate::depset::{DepPackage, DepSet, Scope};

/// The `metadata.tools` entry: plugpack itself, with its version and repository.
pub(super) fn tool_component() -> Component {
    Component {
        kind: "application".to_owned(),
        name: "plugpack".to_owned(),
        version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        external_references: vec![ExternalReference {
            kind: "vcs".to_owned(),
            url: env!("CARGO_PKG_REPOSITORY").to_owned(),
        }],
        ..Component::default()
    }
}

/// The `plugpack:artifact:*`, target, plugin, profile, rustc and ABI properties of the
/// plugin's own component (`metadata.component`).
pub(super) fn artifact_properties(
    set: &DepSet,
    artifact: &BuiltArtifact,
    options: &SbomOptions,
) -> Vec<Property> {
    let mut props = vec![
        Property::new("plugpack:artifact:file-name", artifact.file_name.clone()),
        Property::new("plugpack:artifact:size", artifact.size.to_string()),
        Property::new("plugpack:target", artifact.target.clone()),
        Property::new("plugpack:plugin:name", artifact.plugin.clone()),
        Property::new("plugpack:plugin:kind", artifact.kind.to_string()),
        Property::new("plugpack:cargo:profile", artifact.profile.clone()),
        Property::new("plugpack:dependency-set:exact", set.exact.to_string()),
    ];
    for reason in &set.inexact_reasons {
        props.push(Property::new(
            "plugpack:dependency-set:inexact-reason",
            reason.clone(),
        ));
    }
    if let Some(rustc) = &artifact.rustc_version {
        props.push(Property::new("plugpack:rustc:version", rustc.clone()));
    }
    if let Some((digest, detail)) = &options.abi_fingerprint {
        props.push(Property::new(
            "plugpack:abi:fingerprint",
            digest.to_string(),
        ));
        props.push(Property::new("plugpack:abi:detail", detail.to_string()));
    }
    props
}

/// The component of crate `p`: purl, licence choices, checksum hash, authors (`authors`
/// contacts for 1.6, one `author` string for 1.5), links and `plugpack:` properties;
/// licence and checksum problems go to `findings`.
pub(super) fn describe(
    p: &DepPackage,
    bom_ref: String,
    spec: SpecVersion,
    findings: &mut BTreeSet<Finding>,
) -> Component {
    let who = format!("{}@{}", p.name, p.version);
    let mut properties = Vec::new();
    let licensing = Licensing::of(p.license.as_deref());
    match &licensing {
        Licensing::Spdx(_) => {}
        Licensing::NonSpdx(raw) => {
            properties.push(Property::new("plugpack:license:non-spdx", "true"));
            findings.insert(Finding {
                code: FindingCode::NonSpdxLicense,
                package: who.clone(),
                message: format!(
                    "licence `{raw}` is not an SPDX expression; recorded as a named licence"
                ),
            });
        }
        Licensing::Missing => {
            properties.push(Property::new("plugpack:license:missing", "true"));
            let message = match &p.license_file {
                Some(file) => {
                    format!("no SPDX `license`, only license-file `{file}`; no licence recorded")
                }
                None => "declares no licence (`license` is missing)".to_owned(),
            };
            findings.insert(Finding {
                code: FindingCode::MissingLicense,
                package: who.clone(),
                message,
            });
        }
    }
    if let Some(file) = &p.license_file {
        properties.push(Property::new("plugpack:license:file", file.clone()));
    }
    for feature in &p.features {
        properties.push(Property::new("plugpack:crate:feature", feature.clone()));
    }
    for kind in &p.kinds {
        properties.push(Property::new("plugpack:crate:kind", kind.clone()));
    }
    if let Some(local) = &p.local_path {
        properties.push(Property::new("plugpack:crate:local-path", local.clone()));
    }
    if p.path_from_root.len() > 1 {
        properties.push(Property::new(
            "plugpack:dependency-path",
            p.path_from_root.join(" > "),
        ));
    }
    properties.sort();

    let mut hashes = Vec::new();
    match &p.checksum {
        Some(sum) if is_sha256_hex(sum) => hashes.push(Hash {
            alg: "SHA-256".to_owned(),
            content: sum.to_ascii_lowercase(),
        }),
        _ => {
            if p.source.as_deref().is_some_and(|s| !s.starts_with("git+")) {
                findings.insert(Finding {
                    code: FindingCode::MissingChecksum,
                    package: who.clone(),
                    message: "registry crate without a checksum in Cargo.lock; no hash recorded"
                        .to_owned(),
                });
            }
        }
    }

    let contacts: Vec<Contact> = p.authors.iter().map(|a| contact(a)).collect();
    let (authors, author) = match spec {
        SpecVersion::V1_6 => (contacts, None),
        SpecVersion::V1_5 => (
            Vec::new(),
            (!p.authors.is_empty()).then(|| p.authors.join(", ")),
        ),
    };

    let mut external_references: Vec<ExternalReference> = [
        ("vcs", &p.repository),
        ("website", &p.homepage),
        ("documentation", &p.documentation),
    ]
    .into_iter()
    .filter_map(|(kind, url)| {
        let url = url.as_deref()?.trim();
        is_url(url).then(|| ExternalReference {
            kind: kind.to_owned(),
            url: url.to_owned(),
        })
    })
    .collect();
    external_references.sort();
    external_references.dedup();

    Component {
        kind: "library".to_owned(),
        purl: Some(cargo_purl(&p.name, &p.version, p.source.as_deref())),
        bom_ref: Some(bom_ref),
        authors,
        author,
        name: p.name.clone(),
        version: Some(p.version.clone()),
        description: p
            .description
            .as_deref()
            .map(|d| d.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|d| !d.is_empty()),
        scope: Some(
            match p.scope {
                Scope::Required => "required",
                Scope::BuildOnly => "excluded",
            }
            .to_owned(),
        ),
        hashes,
        licenses: licensing.choices(),
        external_references,
        properties,
    }
}

/// `Name <email>` → contact; anything else is a name.
fn contact(author: &str) -> Contact {
    let author = author.trim();
    if let Some((name, rest)) = author.split_once('<')
        && let Some(email) = rest.strip_suffix('>')
        && email.contains('@')
        && !email.contains(char::is_whitespace)
    {
        let name = name.trim();
        return Contact {
            name: (!name.is_empty()).then(|| name.to_owned()),
            email: Some(email.to_owned()),
        };
    }
    Contact {
        name: Some(author.to_owned()),
        email: None,
    }
}

/// 64 hex digits: a SHA-256 checksum as `Cargo.lock` records it.
fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A conservative check for an absolute URL (the schema wants an IRI reference).
fn is_url(s: &str) -> bool {
    s.split_once("://").is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
            && !rest.is_empty()
            && !s.contains(char::is_whitespace)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_split_name_and_email() {
        assert_eq!(
            contact("Jane Doe <jane@example.com>"),
            Contact {
                name: Some("Jane Doe".to_owned()),
                email: Some("jane@example.com".to_owned())
            }
        );
        assert_eq!(
            contact("The Team"),
            Contact {
                name: Some("The Team".to_owned()),
                email: None
            }
        );
    }

    #[test]
    fn urls_are_checked() {
        assert!(is_url("https://github.com/a/b"));
        assert!(!is_url("github.com/a/b"));
        assert!(!is_url("https://a b"));
    }
}
