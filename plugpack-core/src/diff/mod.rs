//! What changed between two releases (`plugpack-diff/1`): crates added, removed, upgraded
//! and downgraded (with their licences), licence changes of a crate, advisories that appear
//! or disappear, the ABI verdict and signer changes.
//!
//! Each side is a bundle (read like [`crate::report`]: only what it carries) or an SBOM file
//! (CycloneDX or SPDX JSON: crates and licences only; CycloneDX `vulnerabilities[]` give the
//! advisories). The ABI verdict needs two bundles; signer changes need two bundles.

mod render;

use std::collections::{BTreeMap, BTreeSet};

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use render::{render_human, render_markdown};

/// `schema` of the JSON document.
pub const SCHEMA: &str = "plugpack-diff/1";

/// Why a side could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file is neither a bundle nor an SBOM.
    #[error("{path} is neither a plugpack bundle nor a CycloneDX or SPDX JSON document: {reason}")]
    Unrecognized {
        /// The file.
        path: Utf8PathBuf,
        /// Why.
        reason: String,
    },
    /// An unknown `--fail-on` kind.
    #[error(
        "unknown --fail-on kind `{0}`; use new-advisory, new-license, abi-major, signer-change"
    )]
    FailOn(String),
}

/// A kind of change `--fail-on` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailOn {
    /// An advisory (not ignored) that the old side did not have.
    NewAdvisory,
    /// A licence identifier no crate of the old side had.
    NewLicense,
    /// The ABI verdict is `major`.
    AbiMajor,
    /// The set of signing key ids changed.
    SignerChange,
}

impl std::str::FromStr for FailOn {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "new-advisory" => Ok(FailOn::NewAdvisory),
            "new-license" => Ok(FailOn::NewLicense),
            "abi-major" => Ok(FailOn::AbiMajor),
            "signer-change" => Ok(FailOn::SignerChange),
            other => Err(Error::FailOn(other.to_owned())),
        }
    }
}

/// The difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    /// [`SCHEMA`].
    pub schema: String,
    /// The old side (file name, plugin and version when known).
    pub old: SideInfo,
    /// The new side.
    pub new: SideInfo,
    /// Crates only in the new side.
    pub added: Vec<CrateChange>,
    /// Crates only in the old side.
    pub removed: Vec<CrateChange>,
    /// Crates with a higher version in the new side.
    pub upgraded: Vec<VersionChange>,
    /// Crates with a lower version in the new side.
    pub downgraded: Vec<VersionChange>,
    /// Crates whose licence changed.
    pub license_changes: Vec<LicenseChange>,
    /// Licence identifiers the new side has that no crate of the old side had.
    pub new_licenses: Vec<String>,
    /// Advisories only in the new side.
    pub advisories_appeared: Vec<AdvisoryChange>,
    /// Advisories only in the old side.
    pub advisories_resolved: Vec<AdvisoryChange>,
    /// ABI verdict (`none`, `patch`, `minor`, `major`) when both sides are bundles.
    pub abi_verdict: Option<String>,
    /// ABI changes, one line each.
    pub abi_changes: Vec<String>,
    /// Signing key ids, when both sides are bundles.
    pub signers: Option<SignerChange>,
    /// The `--fail-on` kinds that this diff triggers.
    pub triggered: Vec<FailOn>,
}

/// One side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideInfo {
    /// File name.
    pub file: String,
    /// `bundle`, `cyclonedx` or `spdx`.
    pub kind: String,
    /// Plugin name.
    pub plugin: Option<String>,
    /// Plugin version.
    pub version: Option<String>,
}

/// A crate added or removed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CrateChange {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Licence.
    pub license: String,
}

/// A version change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct VersionChange {
    /// Name.
    pub name: String,
    /// Old version.
    pub from: String,
    /// New version.
    pub to: String,
    /// Licence in the new side.
    pub license: String,
}

/// A licence change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LicenseChange {
    /// Name.
    pub name: String,
    /// Version in the new side.
    pub version: String,
    /// Old licence.
    pub from: String,
    /// New licence.
    pub to: String,
}

/// An advisory that appeared or disappeared.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AdvisoryChange {
    /// Advisory id.
    pub id: String,
    /// Crate.
    pub crate_name: String,
    /// Crate version.
    pub crate_version: String,
    /// Status on its side (`denied`, `warned`, `ignored`, …).
    pub status: String,
}

/// Signing key ids of both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignerChange {
    /// Old key ids.
    pub old: Vec<String>,
    /// New key ids.
    pub new: Vec<String>,
    /// Whether they differ.
    pub changed: bool,
}

/// What one side holds.
struct Side {
    info: SideInfo,
    /// (name, version) → (licence, build-only).
    crates: BTreeMap<(String, String), String>,
    advisories: BTreeSet<AdvisoryChange>,
    key_ids: Option<Vec<String>>,
    bundle: bool,
}

fn read_side(path: &Utf8Path, ctx: &crate::ctx::Ctx) -> Result<Side, crate::Error> {
    let file = path.file_name().unwrap_or(path.as_str()).to_owned();
    let head = {
        use std::io::Read;
        let mut h = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(1).read_to_end(&mut h))
            .map_err(|e| Error::Unrecognized {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        h
    };
    if head.first() != Some(&b'{') {
        let report = crate::report::build(path, &Default::default(), ctx)?;
        return Ok(Side {
            info: SideInfo {
                file,
                kind: "bundle".to_owned(),
                plugin: Some(report.plugin.name.clone()),
                version: report.plugin.version.clone(),
            },
            crates: report
                .crates
                .iter()
                .map(|c| ((c.name.clone(), c.version.clone()), c.license.clone()))
                .collect(),
            advisories: report
                .advisories
                .iter()
                .map(|a| AdvisoryChange {
                    id: a.id.clone(),
                    crate_name: a.crate_name.clone(),
                    crate_version: a.crate_version.clone(),
                    status: a.status.clone(),
                })
                .collect(),
            key_ids: Some(report.verification.key_ids.clone()),
            bundle: true,
        });
    }
    let bytes =
        crate::types::read_small_file(path, 64 * 1024 * 1024).map_err(|e| Error::Unrecognized {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    let doc: Value = serde_json::from_slice(&bytes).map_err(|e| Error::Unrecognized {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    if doc.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        let root = &doc["metadata"]["component"];
        let mut crates = BTreeMap::new();
        let mut names = BTreeMap::new();
        for c in doc["components"].as_array().into_iter().flatten() {
            let license = c["licenses"]
                .get(0)
                .and_then(|l| s(l, "expression").or_else(|| s(&l["license"], "name")))
                .unwrap_or_else(|| "(none declared)".to_owned());
            let key = (
                s(c, "name").unwrap_or_default(),
                s(c, "version").unwrap_or_default(),
            );
            if let Some(r) = s(c, "bom-ref") {
                names.insert(r, key.clone());
            }
            crates.insert(key, license);
        }
        let advisories = doc["vulnerabilities"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|v| {
                let id = s(v, "id").unwrap_or_default();
                let state = v["analysis"]
                    .get("state")
                    .and_then(Value::as_str)
                    .map(|st| if st == "not_affected" { "ignored" } else { st })
                    .unwrap_or("affected")
                    .to_owned();
                v["affects"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| names.get(a["ref"].as_str()?).cloned())
                    .map(move |(name, version)| AdvisoryChange {
                        id: id.clone(),
                        crate_name: name,
                        crate_version: version,
                        status: state.clone(),
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        return Ok(Side {
            info: SideInfo {
                file,
                kind: "cyclonedx".to_owned(),
                plugin: s(root, "name"),
                version: s(root, "version"),
            },
            crates,
            advisories,
            key_ids: None,
            bundle: false,
        });
    }
    if doc.get("spdxVersion").is_some() {
        let described: BTreeSet<String> = doc["relationships"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["relationshipType"] == "DESCRIBES")
            .filter_map(|r| s(r, "relatedSpdxElement"))
            .collect();
        let mut crates = BTreeMap::new();
        let mut info = SideInfo {
            file,
            kind: "spdx".to_owned(),
            plugin: None,
            version: None,
        };
        for p in doc["packages"].as_array().into_iter().flatten() {
            let key = (
                s(p, "name").unwrap_or_default(),
                s(p, "versionInfo").unwrap_or_default(),
            );
            if described.contains(&s(p, "SPDXID").unwrap_or_default()) {
                info.plugin = Some(key.0);
                info.version = Some(key.1);
                continue;
            }
            crates.insert(key, s(p, "licenseDeclared").unwrap_or_default());
        }
        return Ok(Side {
            info,
            crates,
            advisories: BTreeSet::new(),
            key_ids: None,
            bundle: false,
        });
    }
    Err(Error::Unrecognized {
        path: path.to_owned(),
        reason: "no `bomFormat: CycloneDX` and no `spdxVersion`".to_owned(),
    }
    .into())
}

/// The licence identifiers of an expression (`MIT OR Apache-2.0` → `MIT`, `Apache-2.0`;
/// `GPL-2.0 WITH Classpath-exception-2.0` stays one identifier); free text is one identifier.
fn license_ids(expression: &str) -> Vec<String> {
    let spaced = expression.replace(['(', ')'], " ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    if !tokens.iter().any(|t| matches!(*t, "OR" | "AND" | "WITH")) {
        return vec![expression.trim().to_owned()];
    }
    let mut out: Vec<String> = Vec::new();
    let mut with = false;
    for t in tokens {
        match t {
            "OR" | "AND" => {}
            "WITH" => with = true,
            id if with => {
                if let Some(last) = out.last_mut() {
                    last.push_str(" WITH ");
                    last.push_str(id);
                }
                with = false;
            }
            id => out.push(id.to_owned()),
        }
    }
    out
}

fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    match (semver::Version::parse(a), semver::Version::parse(b)) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        _ => a.cmp(b),
    }
}

/// Compares `old` with `new`.
pub fn diff(old: &Utf8Path, new: &Utf8Path, ctx: &crate::ctx::Ctx) -> Result<Diff, crate::Error> {
    let o = read_side(old, ctx)?;
    let n = read_side(new, ctx)?;
    let by_name = |side: &Side| {
        let mut m: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for ((name, version), license) in &side.crates {
            m.entry(name.clone())
                .or_default()
                .push((version.clone(), license.clone()));
        }
        for v in m.values_mut() {
            v.sort_by(|a, b| version_cmp(&a.0, &b.0));
        }
        m
    };
    let (om, nm) = (by_name(&o), by_name(&n));
    let mut d = Diff {
        schema: SCHEMA.to_owned(),
        old: o.info.clone(),
        new: n.info.clone(),
        added: Vec::new(),
        removed: Vec::new(),
        upgraded: Vec::new(),
        downgraded: Vec::new(),
        license_changes: Vec::new(),
        new_licenses: Vec::new(),
        advisories_appeared: n.advisories.difference(&o.advisories).cloned().collect(),
        advisories_resolved: o.advisories.difference(&n.advisories).cloned().collect(),
        abi_verdict: None,
        abi_changes: Vec::new(),
        signers: None,
        triggered: Vec::new(),
    };
    // Advisories compare by (id, crate name) across versions: an upgrade that keeps the
    // advisory is not "resolved and appeared".
    let key = |a: &AdvisoryChange| (a.id.clone(), a.crate_name.clone());
    let old_keys: BTreeSet<_> = o.advisories.iter().map(key).collect();
    let new_keys: BTreeSet<_> = n.advisories.iter().map(key).collect();
    d.advisories_appeared
        .retain(|a| !old_keys.contains(&key(a)));
    d.advisories_resolved
        .retain(|a| !new_keys.contains(&key(a)));
    let names: BTreeSet<&String> = om.keys().chain(nm.keys()).collect();
    for name in names {
        match (om.get(name), nm.get(name)) {
            (None, Some(vs)) => d.added.extend(vs.iter().map(|(v, l)| CrateChange {
                name: name.clone(),
                version: v.clone(),
                license: l.clone(),
            })),
            (Some(vs), None) => d.removed.extend(vs.iter().map(|(v, l)| CrateChange {
                name: name.clone(),
                version: v.clone(),
                license: l.clone(),
            })),
            (Some(ov), Some(nv)) => {
                let (Some((o_ver, o_lic)), Some((n_ver, n_lic))) = (ov.last(), nv.last()) else {
                    continue;
                };
                let change = VersionChange {
                    name: name.clone(),
                    from: o_ver.clone(),
                    to: n_ver.clone(),
                    license: n_lic.clone(),
                };
                match version_cmp(o_ver, n_ver) {
                    std::cmp::Ordering::Less => d.upgraded.push(change),
                    std::cmp::Ordering::Greater => d.downgraded.push(change),
                    std::cmp::Ordering::Equal => {}
                }
                if o_lic != n_lic {
                    d.license_changes.push(LicenseChange {
                        name: name.clone(),
                        version: n_ver.clone(),
                        from: o_lic.clone(),
                        to: n_lic.clone(),
                    });
                }
            }
            (None, None) => {}
        }
    }
    let ids = |side: &Side| -> BTreeSet<String> {
        side.crates.values().flat_map(|l| license_ids(l)).collect()
    };
    d.new_licenses = ids(&n).difference(&ids(&o)).cloned().collect();
    if o.bundle && n.bundle {
        if let Ok(abi) = crate::fingerprint::diff_paths(old, new) {
            d.abi_verdict = Some(abi.verdict.to_string());
            d.abi_changes = abi
                .changes
                .iter()
                .map(|c| format!("{}: {} ({})", c.bump, c.symbol, c.reason))
                .collect();
        }
        if let (Some(ok), Some(nk)) = (&o.key_ids, &n.key_ids) {
            d.signers = Some(SignerChange {
                changed: ok != nk,
                old: ok.clone(),
                new: nk.clone(),
            });
        }
    }
    if d.advisories_appeared.iter().any(|a| a.status != "ignored") {
        d.triggered.push(FailOn::NewAdvisory);
    }
    if !d.new_licenses.is_empty() {
        d.triggered.push(FailOn::NewLicense);
    }
    if d.abi_verdict.as_deref() == Some("major") {
        d.triggered.push(FailOn::AbiMajor);
    }
    if d.signers.as_ref().is_some_and(|s| s.changed) {
        d.triggered.push(FailOn::SignerChange);
    }
    Ok(d)
}

/// Pretty JSON with a trailing newline.
pub fn render_json(d: &Diff) -> String {
    let mut s = serde_json::to_string_pretty(d).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn licence_ids_split_expressions_but_keep_exceptions_and_free_text() {
        assert_eq!(license_ids("MIT OR Apache-2.0"), vec!["MIT", "Apache-2.0"]);
        assert_eq!(
            license_ids("(MIT AND BSD-3-Clause) OR GPL-2.0 WITH Classpath-exception-2.0"),
            vec![
                "MIT",
                "BSD-3-Clause",
                "GPL-2.0 WITH Classpath-exception-2.0"
            ]
        );
        assert_eq!(
            license_ids("Fixture Proprietary Licence"),
            vec!["Fixture Proprietary Licence"]
        );
    }
}
