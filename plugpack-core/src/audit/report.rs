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

/// The overall result (the verdict): `package` puts it on the plugin manifest
/// (`dev.plugpack.audit.verdict`) and the CLI maps it to exit codes 0, 1 and 3. From worst
/// to best: a database problem the policy denies, denied findings, advisories not checked,
/// warnings, nothing to report. A verdict never claims a check that was not made: without a
/// database it is at best [`Outcome::Unchecked`], never [`Outcome::Clean`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Advisories checked against a database; no finding at all (allowed and ignored ones
    /// aside).
    Clean,
    /// Advisories checked; nothing denied, but warnings (a malformed advisory, a stale
    /// database, an unmaintained crate, a lax licence string, …).
    Warned,
    /// Advisories were NOT checked (no database, `--allow-no-db`); nothing else denied.
    /// Licences and yanked versions may still have been checked.
    Unchecked,
    /// Denied findings.
    Denied,
    /// The database is missing or stale and the policy denies that.
    DatabaseUnusable,
}

impl Outcome {
    /// The kebab-case name (the manifest annotation's value).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Clean => "clean",
            Outcome::Warned => "warned",
            Outcome::Unchecked => "unchecked",
            Outcome::Denied => "denied",
            Outcome::DatabaseUnusable => "database-unusable",
        }
    }

    /// Whether `package` refuses to bundle (without `--allow-findings`).
    pub fn refuses(self) -> bool {
        matches!(self, Outcome::Denied | Outcome::DatabaseUnusable)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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
