//! The audit report: the versioned document (`schema: "plugpack-audit/1"`) that the CLI renders
//! as JSON and that `package` attaches to the bundle.

use serde::{Deserialize, Serialize};

use super::{DbInfo, Finding, IgnoreEntry};
use crate::licenses::LicenseReport;

/// The JSON report's schema name.
pub const SCHEMA: &str = "plugpack-audit/1";

/// Whether the advisories were checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdvisoryStatus {
    /// Checked against [`AuditReport::database`].
    Checked,
    /// No database was found.
    NotChecked,
}

/// What became of one ignore entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoreStatus {
    /// The entry.
    #[serde(flatten)]
    pub entry: IgnoreEntry,
    /// `applied`, `unused` or `expired`.
    pub state: String,
}

/// What cargo's local index cache said about the scanned crates.io versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct YankedSummary {
    /// Versions found in the cache (yanked or not).
    pub known: usize,
    /// Of those, yanked (each is also a `yanked` finding).
    pub yanked: usize,
    /// `name@version` not in the cache: their yanked state is unknown (no network is used).
    pub unknown: Vec<String>,
}

/// Counts of findings by effect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Deny-level, not ignored: these fail the audit.
    pub denied: usize,
    /// Warnings, not ignored.
    pub warnings: usize,
    /// Allowed (kept for the record).
    pub allowed: usize,
    /// Covered by an ignore entry.
    pub ignored: usize,
}

/// The overall result, which the CLI maps to exit codes 0, 1 and 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Nothing denied.
    Clean,
    /// Denied findings.
    Denied,
    /// The database is missing or stale and the policy denies that.
    DatabaseUnusable,
}

/// The audit of one plugin (or one lockfile).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditReport {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// `plugpack <version>`.
    pub tool: String,
    /// Plugin name (`None` in lockfile mode).
    pub plugin: Option<String>,
    /// Plugin version.
    pub version: Option<String>,
    /// `artifacts` (the exact set of the build) or `lockfile` (every locked package).
    pub mode: String,
    /// Targets whose artifacts were scanned.
    pub targets: Vec<String>,
    /// False when a prebuilt artifact's set came from the resolve graph only.
    pub exact: bool,
    /// The lockfile results point into, relative to the workspace root.
    pub lockfile: Option<String>,
    /// Whether advisories were checked.
    pub advisories: AdvisoryStatus,
    /// The database used.
    pub database: Option<DbInfo>,
    /// Crates scanned.
    pub packages_scanned: usize,
    /// Findings: deny first, then by code, crate and id.
    pub findings: Vec<Finding>,
    /// Yanked-state coverage (`None` when advisories were not checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yanked: Option<YankedSummary>,
    /// Licence decisions (`None` in lockfile mode, which has no licence metadata).
    pub licenses: Option<LicenseReport>,
    /// What became of each ignore entry.
    pub ignores: Vec<IgnoreStatus>,
    /// Counts.
    pub summary: Summary,
    /// Overall result.
    pub outcome: Outcome,
}

impl AuditReport {
    /// The report as it goes into a bundle: without the day-dependent database age and
    /// without the database's path (its identity, date and URL say which database it was).
    pub fn for_bundle(&self) -> AuditReport {
        let mut r = self.clone();
        if let Some(db) = &mut r.database {
            db.age_days = None;
            db.location = None;
        }
        r
    }
}
