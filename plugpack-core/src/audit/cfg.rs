//! The audit policy: `[package.metadata.plugpack.audit]`, `[workspace.metadata.plugpack.audit]`
//! or the `[audit]` table of `plugpack.toml` (lowest precedence).
//!
//! Every key is optional and unknown keys are rejected (toml's error names the file, line and
//! key). [`AuditConfig::layer`] merges one level over another key by key; [`validate`] checks
//! values serde cannot (dates, empty reasons, VEX justifications) and names the key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::licenses::LicenseConfig;

/// What to do with a finding kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// Not reported (kept in JSON).
    Allow,
    /// Reported; does not fail the audit.
    Warn,
    /// Fails the audit (exit code 1).
    Deny,
}

impl Level {
    /// One step lower (`deny` → `warn`); used for build-only crates.
    pub fn lowered(self) -> Level {
        match self {
            Level::Deny => Level::Warn,
            other => other,
        }
    }

    /// The name used in config and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Allow => "allow",
            Level::Warn => "warn",
            Level::Deny => "deny",
        }
    }
}

/// CVSS qualitative severity, ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeverityLevel {
    /// 0.0
    None,
    /// 0.1–3.9
    Low,
    /// 4.0–6.9
    Medium,
    /// 7.0–8.9
    High,
    /// 9.0–10.0
    Critical,
}

impl SeverityLevel {
    /// The name used in config and output.
    pub fn as_str(self) -> &'static str {
        match self {
            SeverityLevel::None => "none",
            SeverityLevel::Low => "low",
            SeverityLevel::Medium => "medium",
            SeverityLevel::High => "high",
            SeverityLevel::Critical => "critical",
        }
    }
}

/// Which dependencies to report on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DepScope {
    /// Every crate in the set.
    #[default]
    All,
    /// Only the plugin's direct dependencies.
    Direct,
    /// Only crates reached through another dependency.
    Transitive,
}

/// One `ignore = [{ id, reason, until, vex }]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IgnoreEntry {
    /// Advisory id (`RUSTSEC-…`) or one of its aliases (`CVE-…`, `GHSA-…`).
    pub id: String,
    /// Why it is acceptable (mandatory, non-empty).
    pub reason: String,
    /// Last day (UTC, `YYYY-MM-DD`) the ignore applies; afterwards it is reported as expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// CycloneDX VEX justification (`code_not_reachable`, …) or state (`false_positive`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vex: Option<String>,
}

/// The `audit` table as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AuditConfig {
    /// Advisory database directory (relative to the file that sets it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db: Option<String>,
    /// Days after which the database counts as stale (default 90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_db_age: Option<u32>,
    /// A missing database is an error instead of a warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_db: Option<bool>,
    /// Vulnerabilities below this CVSS severity are at most warnings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_threshold: Option<SeverityLevel>,
    /// Which dependencies to report on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<DepScope>,
    /// Level per finding code (`vulnerability = "deny"`, `unmaintained = "warn"`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lints: Option<BTreeMap<String, Level>>,
    /// Accepted advisories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<Vec<IgnoreEntry>>,
    /// Licence policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licenses: Option<LicenseConfig>,
}

impl AuditConfig {
    /// `self` with every key it leaves unset taken from `lower` (`lints` merge per code).
    pub fn layer(self, lower: &AuditConfig) -> AuditConfig {
        let lints = match (self.lints, &lower.lints) {
            (Some(mine), Some(theirs)) => {
                let mut merged = theirs.clone();
                merged.extend(mine);
                Some(merged)
            }
            (mine, theirs) => mine.or_else(|| theirs.clone()),
        };
        AuditConfig {
            db: self.db.or_else(|| lower.db.clone()),
            max_db_age: self.max_db_age.or(lower.max_db_age),
            require_db: self.require_db.or(lower.require_db),
            severity_threshold: self.severity_threshold.or(lower.severity_threshold),
            scope: self.scope.or(lower.scope),
            lints,
            ignore: self.ignore.or_else(|| lower.ignore.clone()),
            licenses: self.licenses.or_else(|| lower.licenses.clone()),
        }
    }
}

/// The CycloneDX 1.5+ `analysis.justification` values.
pub const VEX_JUSTIFICATIONS: &[&str] = &[
    "code_not_present",
    "code_not_reachable",
    "requires_configuration",
    "requires_dependency",
    "requires_environment",
    "protected_by_compiler",
    "protected_at_runtime",
    "protected_at_perimeter",
    "protected_by_mitigating_control",
];

/// The CycloneDX 1.5+ `analysis.state` values accepted as `vex`.
pub const VEX_STATES: &[&str] = &[
    "resolved",
    "resolved_with_pedigree",
    "exploitable",
    "in_triage",
    "false_positive",
    "not_affected",
];

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, format).ok()
}

/// Checks what serde cannot; returns the offending key (dotted, under `audit`) and why.
pub fn validate(config: &AuditConfig) -> Result<(), (String, String)> {
    if let Some(lints) = &config.lints {
        for code in lints.keys() {
            if crate::audit::Code::from_name(code).is_none() {
                return Err((
                    format!("audit.lints.{code}"),
                    format!(
                        "unknown finding code `{code}` (known: {})",
                        crate::audit::Code::ALL
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
    }
    if let Some(db) = &config.db {
        if db.trim().is_empty() {
            return Err(("audit.db".to_owned(), "must not be empty".to_owned()));
        }
    }
    for (i, entry) in config.ignore.iter().flatten().enumerate() {
        let key = |k: &str| format!("audit.ignore[{i}].{k}");
        if entry.id.trim().is_empty() {
            return Err((key("id"), "must not be empty".to_owned()));
        }
        if entry.reason.trim().is_empty() {
            return Err((
                key("reason"),
                format!("ignoring `{}` needs a reason", entry.id),
            ));
        }
        if let Some(until) = &entry.until {
            if parse_date(until).is_none() {
                return Err((
                    key("until"),
                    format!("`{until}` is not a date (YYYY-MM-DD)"),
                ));
            }
        }
        if let Some(vex) = &entry.vex {
            if !VEX_JUSTIFICATIONS.contains(&vex.as_str()) && !VEX_STATES.contains(&vex.as_str()) {
                return Err((
                    key("vex"),
                    format!(
                        "`{vex}` is not a CycloneDX justification ({}) or state ({})",
                        VEX_JUSTIFICATIONS.join(", "),
                        VEX_STATES.join(", ")
                    ),
                ));
            }
        }
    }
    if let Some(licenses) = &config.licenses {
        crate::licenses::validate(licenses).map_err(|(k, m)| (format!("audit.licenses.{k}"), m))?;
    }
    Ok(())
}
