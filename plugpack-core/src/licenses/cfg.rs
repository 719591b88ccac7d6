//! The licence policy: the `licenses` table inside the audit policy.

use serde::{Deserialize, Serialize};

/// `exceptions = [{ crate = "…", allow = ["…"] }]`: licences accepted for one crate only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LicenseException {
    /// Crate name.
    #[serde(rename = "crate")]
    pub krate: String,
    /// Licences (SPDX ids) accepted for it, even when denied or copyleft.
    pub allow: Vec<String>,
}

/// One licence file whose content a clarification depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClarifyFile {
    /// Path relative to the crate's directory.
    pub path: String,
    /// Lowercase hex SHA-256 of the file (`sha256:` prefix optional).
    pub hash: String,
}

/// `clarify = [{ crate, expression, license-files }]`: the licence of a crate whose
/// metadata is wrong or missing, valid only while its licence files are unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Clarification {
    /// Crate name.
    #[serde(rename = "crate")]
    pub krate: String,
    /// Exact version it applies to (any when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The SPDX expression to use instead of the declared one.
    pub expression: String,
    /// Files that must hash as recorded for the clarification to apply.
    #[serde(default)]
    pub license_files: Vec<ClarifyFile>,
}

/// The `licenses` table as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LicenseConfig {
    /// Accepted licences, most preferred first. Unset: everything not denied is accepted and
    /// permissive licences are preferred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<Vec<String>>,
    /// Rejected licences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny: Option<Vec<String>>,
    /// Per-crate exceptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exceptions: Option<Vec<LicenseException>>,
    /// Per-crate clarifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clarify: Option<Vec<Clarification>>,
    /// Skip crates that are not published (`publish = false`); default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_private: Option<bool>,
}

/// Checks licence ids and expressions; returns the offending key and why.
pub fn validate(config: &LicenseConfig) -> Result<(), (String, String)> {
    let check_ids = |key: &str, ids: &[String]| -> Result<(), (String, String)> {
        for (i, id) in ids.iter().enumerate() {
            if spdx::Licensee::parse(id).is_err() {
                return Err((
                    format!("{key}[{i}]"),
                    format!("`{id}` is not an SPDX licence id"),
                ));
            }
        }
        Ok(())
    };
    check_ids("allow", config.allow.as_deref().unwrap_or_default())?;
    check_ids("deny", config.deny.as_deref().unwrap_or_default())?;
    for (i, e) in config.exceptions.iter().flatten().enumerate() {
        check_ids(&format!("exceptions[{i}].allow"), &e.allow)?;
    }
    for (i, c) in config.clarify.iter().flatten().enumerate() {
        if spdx::Expression::parse(&c.expression).is_err() {
            return Err((
                format!("clarify[{i}].expression"),
                format!("`{}` is not an SPDX expression", c.expression),
            ));
        }
        for (j, f) in c.license_files.iter().enumerate() {
            let hex = f.hash.strip_prefix("sha256:").unwrap_or(&f.hash);
            if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err((
                    format!("clarify[{i}].license-files[{j}].hash"),
                    "must be a hex SHA-256 (64 digits)".to_owned(),
                ));
            }
        }
    }
    Ok(())
}
