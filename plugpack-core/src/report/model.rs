//! The `plugpack-report/1` document: plain serializable facts, every list sorted.

use serde::{Deserialize, Serialize};

/// The report of one bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`super::SCHEMA`].
    pub schema: String,
    /// The bundle's file name.
    pub bundle: String,
    /// What the bundle is.
    pub plugin: PluginFacts,
    /// Signatures and, with `--key`/`--policy`, the verification outcome.
    pub verification: VerificationFacts,
    /// The audit verdict (absent when the bundle carries no audit report).
    pub audit: Option<AuditFacts>,
    /// How it was built.
    pub reproducibility: ReproducibilityFacts,
    /// The plugin files per target.
    pub artifacts: Vec<ArtifactFacts>,
    /// `--baseline`: the ABI diff and semver verdict.
    pub abi_diff: Option<AbiDiffFacts>,
    /// Advisory findings (vulnerabilities, unmaintained, unsound, notices, yanked …).
    pub advisories: Vec<AdvisoryFacts>,
    /// Other audit findings (licence findings, database problems …).
    pub other_findings: Vec<FindingFacts>,
    /// Licences of the linked crates.
    pub licenses: LicenseFacts,
    /// Every crate of every SBOM, with its declared licence.
    pub crates: Vec<CrateFacts>,
    /// The dependency tree per target, from the SBOMs.
    pub trees: Vec<TreeFacts>,
}

/// Identity of the plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginFacts {
    /// `dev.plugpack.plugin`.
    pub name: String,
    /// `org.opencontainers.image.version`.
    pub version: Option<String>,
    /// The bundle's tag.
    pub tag: Option<String>,
    /// Digest of the tagged entry (what signatures cover).
    pub digest: String,
    /// `cdylib` or `wasm`.
    pub kind: Option<String>,
    /// The source revision, when recorded.
    pub revision: Option<String>,
    /// Target triples.
    pub targets: Vec<String>,
}

/// Signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationFacts {
    /// `not-verified` (no `--key`/`--policy` given), `verified` or `rejected`.
    pub status: String,
    /// How many DSSE envelopes the bundle carries.
    pub signatures: usize,
    /// Key ids named by the envelopes (unverified claims unless `status` is `verified`).
    pub key_ids: Vec<String>,
    /// The policy rule that applied.
    pub policy: Option<String>,
    /// Key ids whose signatures verified.
    pub verified_signers: Vec<String>,
    /// Why verification failed.
    pub failures: Vec<String>,
}

/// The audit verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFacts {
    /// `clean`, `warned`, `unchecked`, `denied`, `database-unusable`.
    pub outcome: String,
    /// Whether advisories were checked.
    pub advisories: String,
    /// The advisory database used.
    pub database: Option<String>,
    /// Denied findings.
    pub denied: u64,
    /// Warnings.
    pub warnings: u64,
    /// Ignored findings.
    pub ignored: u64,
    /// The tool that audited.
    pub tool: Option<String>,
}

/// Reproducibility facts from the SBOM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReproducibilityFacts {
    /// `SOURCE_DATE_EPOCH` as RFC 3339.
    pub timestamp: Option<String>,
    /// `rustc --version`.
    pub toolchain: Option<String>,
    /// Cargo profile.
    pub profile: Option<String>,
    /// Whether the dependency set is exact.
    pub exact_dependency_set: Option<bool>,
}

/// One plugin file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactFacts {
    /// Target triple.
    pub target: String,
    /// File name.
    pub file: String,
    /// SHA-256.
    pub digest: String,
    /// Bytes.
    pub size: u64,
    /// ABI fingerprint digest.
    pub abi_fingerprint: Option<String>,
    /// ABI detail level.
    pub abi_detail: Option<String>,
}

/// `--baseline` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbiDiffFacts {
    /// The baseline's file name.
    pub baseline: String,
    /// `none`, `patch`, `minor`, `major`.
    pub verdict: String,
    /// One line per change.
    pub changes: Vec<String>,
}

/// One advisory finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdvisoryFacts {
    /// RUSTSEC id.
    pub id: String,
    /// CVE/GHSA aliases.
    pub aliases: Vec<String>,
    /// `vulnerability`, `unmaintained`, `unsound`, `notice`, `yanked` …
    pub kind: String,
    /// Title.
    pub title: String,
    /// Affected crate.
    pub crate_name: String,
    /// Its version.
    pub crate_version: String,
    /// Dependency path from the plugin (`a > b > c`).
    pub path: String,
    /// Fixed versions.
    pub patched: Vec<String>,
    /// Severity rating.
    pub severity: Option<String>,
    /// CVSS base score.
    pub cvss_score: Option<f64>,
    /// CVSS vector.
    pub cvss_vector: Option<String>,
    /// `denied`, `warned`, `ignored`, `allowed`.
    pub status: String,
    /// Why it is ignored.
    pub ignore_reason: Option<String>,
    /// Until when the ignore holds.
    pub ignore_until: Option<String>,
    /// VEX justification of the ignore.
    pub vex: Option<String>,
    /// Only in build-time crates.
    pub build_only: bool,
    /// Advisory URL.
    pub url: Option<String>,
}

/// Another audit finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingFacts {
    /// Code.
    pub code: String,
    /// `deny`, `warn`, …
    pub level: String,
    /// Message.
    pub message: String,
    /// Crate concerned (may be empty).
    pub crate_name: String,
}

/// Licences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseFacts {
    /// The plugin's own licence.
    pub plugin_license: Option<String>,
    /// Linked crates per (concluded, else declared) licence.
    pub summary: Vec<LicenseCount>,
    /// Per linked crate.
    pub crates: Vec<CrateLicense>,
}

/// One line of the licence summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseCount {
    /// Licence.
    pub license: String,
    /// Number of crates.
    pub crates: usize,
}

/// Licence facts of one linked crate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrateLicense {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Declared expression.
    pub declared: String,
    /// The branch the licence policy chose (from the audit).
    pub concluded: Option<String>,
    /// The policy's verdict.
    pub verdict: Option<String>,
    /// Where the licence came from (`declared`, `clarified`, …).
    pub why: Option<String>,
    /// Whether the bundle carries notices (else copyright lines are "not collected").
    pub notices_collected: bool,
    /// Copyright lines from the crate's sources.
    pub copyrights: Vec<String>,
    /// NOTICE files.
    pub notice_texts: Vec<NoticeText>,
    /// No licence text was found in its sources.
    pub license_text_missing: bool,
}

/// A NOTICE file's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeText {
    /// File name.
    pub file: String,
    /// Text.
    pub text: String,
}

/// A crate of the SBOMs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrateFacts {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Declared licence.
    pub license: String,
    /// Compiled only to build the plugin (on every target).
    pub build_only: bool,
}

/// A dependency tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeFacts {
    /// Target triple.
    pub target: String,
    /// The plugin.
    pub root: TreeNode,
}

/// A tree node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeNode {
    /// Crate name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Build-only.
    pub build_only: bool,
    /// Already shown above (not expanded again).
    pub repeated: bool,
    /// Dependencies.
    pub children: Vec<TreeNode>,
}
