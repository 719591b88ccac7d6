//! Findings: stable codes (kebab-case, documented, their level configurable in the policy's
//! `lints` table) and the [`Finding`] values the report holds.

use serde::{Deserialize, Serialize};

use super::cfg::Level;

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $level:ident, $desc:literal; )*) => {
        /// Every finding code of the audit (advisories, database, ignores, licences).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[non_exhaustive]
        pub enum Code {
            $( $(#[$doc])* #[serde(rename = $name)] $variant, )*
        }

        impl Code {
            /// All codes, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable name (also the SARIF rule id suffix and the `lints` key).
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The level when the policy does not set one.
            pub fn default_level(self) -> Level {
                match self { $(Code::$variant => Level::$level,)* }
            }

            /// One-line description.
            pub fn description(self) -> &'static str {
                match self { $(Code::$variant => $desc,)* }
            }

            /// The code with this name.
            pub fn from_name(name: &str) -> Option<Code> {
                match name { $($name => Some(Code::$variant),)* _ => None }
            }
        }
    };
}

codes! {
    /// A RustSec vulnerability affects a crate in the set.
    Vulnerability = "vulnerability", Deny, "a known vulnerability affects this crate version";
    /// The crate is unmaintained.
    Unmaintained = "unmaintained", Warn, "the crate is no longer maintained";
    /// The crate has unsound APIs.
    Unsound = "unsound", Warn, "the crate exposes unsound (undefined-behaviour) APIs";
    /// An informational notice.
    Notice = "notice", Warn, "an informational RustSec notice applies to this crate";
    /// The version was yanked from crates.io (per the local index cache).
    Yanked = "yanked", Warn, "this version was yanked from its registry";
    /// An advisory file could not be parsed; it was skipped.
    MalformedAdvisory = "malformed-advisory", Warn, "an advisory database file could not be parsed and was skipped";
    /// The database is older than `max-db-age`.
    StaleDb = "stale-db", Warn, "the advisory database is older than max-db-age";
    /// No database: advisories were not checked.
    NoDb = "no-db", Warn, "no advisory database: advisories were not checked";
    /// An ignore is past its `until` date and no longer applies.
    IgnoreExpired = "ignore-expired", Warn, "an ignore entry has expired and no longer applies";
    /// An ignore matched nothing.
    IgnoreUnused = "ignore-unused", Warn, "an ignore entry matched no finding";
    /// A licence is on the deny list.
    LicenseDenied = "license-denied", Deny, "the crate's licence is denied by the policy";
    /// No alternative of the licence is allowed.
    LicenseNotAllowed = "license-not-allowed", Deny, "the crate's licence is not in the allow list";
    /// Strong copyleft or LGPL inside a permissively licensed plugin.
    LicenseCopyleft = "license-copyleft", Deny, "copyleft licence linked into a permissively licensed plugin";
    /// MPL, EPL or CDDL.
    LicenseWeakCopyleft = "license-weak-copyleft", Warn, "file-level copyleft licence (MPL, EPL, CDDL)";
    /// Missing, unparsable or `LicenseRef-*` licence without a clarification.
    LicenseUnknown = "license-unknown", Deny, "the crate's licence is missing or unknown and not clarified";
    /// Two licences in one binary that cannot be combined.
    LicenseIncompatible = "license-incompatible", Deny, "two licences in the plugin cannot be combined in one binary";
    /// The licence string only parsed leniently.
    LicenseLax = "license-lax", Warn, "the licence string is not valid SPDX and was guessed";
    /// A clarification's licence file hash does not match.
    LicenseClarifyMismatch = "license-clarify-mismatch", Warn, "a clarification was not applied because a licence file changed";
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// CVSS score and qualitative rating.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Severity {
    /// Base score, 0.0–10.0.
    pub score: f64,
    /// `none`, `low`, `medium`, `high` or `critical`.
    pub rating: super::cfg::SeverityLevel,
    /// The CVSS vector string.
    pub vector: String,
}

/// The crate a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FindingPackage {
    /// Crate name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Line of its `[[package]]` entry in `Cargo.lock`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_line: Option<usize>,
}

/// The ignore entry that covers a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// Why (from the policy).
    pub reason: String,
    /// Until when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// VEX justification or state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vex: Option<String>,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Code.
    pub code: Code,
    /// Effective level after the policy (lints, severity threshold, scope, build-only).
    pub level: Level,
    /// Advisory id (`RUSTSEC-…`) for advisory findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Aliases (CVE, GHSA).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Advisory title or the problem in one line.
    pub message: String,
    /// CVSS severity, when the advisory has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// The affected crate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<FindingPackage>,
    /// Versions that fix it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patched: Vec<String>,
    /// Dependency path from the plugin (plugin first, crate last).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<String>,
    /// Only compiled to build the plugin (build script, proc-macro), not shipped.
    pub build_only: bool,
    /// Targets whose artifact contains the crate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// Advisory URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The ignore entry covering it (it then never fails the audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored: Option<Suppression>,
}

impl Finding {
    /// A finding with only a code, level and message.
    pub fn simple(code: Code, level: Level, message: String) -> Finding {
        Finding {
            code,
            level,
            id: None,
            aliases: Vec::new(),
            message,
            severity: None,
            package: None,
            patched: Vec::new(),
            path: Vec::new(),
            build_only: false,
            targets: Vec::new(),
            url: None,
            ignored: None,
        }
    }

    /// True when it fails the audit.
    pub fn is_denied(&self) -> bool {
        self.level == Level::Deny && self.ignored.is_none()
    }

    /// Sort key: deny first, then code, crate, id, message.
    pub(crate) fn sort_key(&self) -> impl Ord + '_ {
        (
            std::cmp::Reverse(self.level),
            self.code,
            self.package.as_ref().map(|p| (&p.name, &p.version)),
            &self.id,
            &self.message,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
        for c in Code::ALL {
            assert_eq!(Code::from_name(c.as_str()), Some(*c));
            assert_eq!(
                serde_json::to_value(c).unwrap(),
                serde_json::json!(c.as_str())
            );
        }
    }
}
