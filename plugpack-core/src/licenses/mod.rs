//! Licence evaluation of the crates linked into a plugin, under the policy's `licenses` table.
//!
//! Input: the plugin's own licence, the [`Scope::Required`](crate::depset::Scope) crates of its
//! dependency set (build-only crates are not distributed and are never evaluated) and a
//! [`LicenseConfig`]. Output: [`LicenseReport`] with one [`LicenseDecision`] per crate and the
//! findings. Side effects: reads the licence files named by `clarify` entries.
//!
//! Why this shape:
//! - Every `OR` expression is expanded into its alternatives (disjunctive normal form); the
//!   chosen alternative is the allowed one that causes no conflict and whose worst licence is
//!   earliest in `allow` (the ordered preference). The choice is recorded as the concluded
//!   licence, which the SBOM carries.
//! - Conflicts are checked beyond the allow-list, because an allow-list written for one
//!   plugin is easily copied to another: strong copyleft (GPL, AGPL, SSPL) and LGPL (Rust
//!   links statically) inside a permissively licensed plugin are errors; MPL, EPL and CDDL
//!   are warnings; `LicenseRef-*` or missing licences are errors unless clarified; known
//!   pairwise incompatibilities (GPL-2.0-only with Apache-2.0) are errors.
//! - Licence strings that only parse leniently (`BSD`, `Apache 2`) are used as guessed but
//!   reported as warnings.

mod cfg;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::Digest;

pub use cfg::{Clarification, ClarifyFile, LicenseConfig, LicenseException, validate};

use crate::audit::Code;
use crate::depset::DepPackage;

/// How a crate's licence was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// An allowed alternative exists.
    Allowed,
    /// No acceptable alternative (see the findings).
    Rejected,
    /// Not published (`publish = false`) and `ignore-private` is on.
    IgnoredPrivate,
}

/// The decision for one crate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseDecision {
    /// Crate name.
    pub name: String,
    /// Version.
    pub version: String,
    /// `license` as declared in its manifest.
    pub declared: Option<String>,
    /// The expression evaluated (declared, or from `clarify`, normalised).
    pub expression: Option<String>,
    /// Where the expression came from: `declared`, `clarified`, `lax-parsed` or `none`.
    pub source: String,
    /// The chosen alternative (the concluded licence), when one is acceptable.
    pub concluded: Option<String>,
    /// Verdict.
    pub verdict: Verdict,
}

/// A licence problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseFinding {
    /// Finding code.
    pub code: Code,
    /// Crate name (`None` for plugin-wide findings).
    pub package: Option<String>,
    /// Crate version.
    pub version: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// Result of [`check`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseReport {
    /// The plugin's own licence.
    pub plugin_license: Option<String>,
    /// True when the plugin's licence has an alternative free of copyleft (or it has none,
    /// i.e. it is proprietary): copyleft dependencies then conflict.
    pub plugin_permissive: bool,
    /// One decision per evaluated crate, sorted by name and version.
    pub packages: Vec<LicenseDecision>,
    /// Findings, sorted.
    pub findings: Vec<LicenseFinding>,
}

/// A crate to evaluate.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The crate.
    pub package: &'a DepPackage,
    /// `publish = false`.
    pub private: bool,
}

/// Licence preference when the policy has no `allow` list: permissive first.
const DEFAULT_PREFERENCE: &[&str] = &[
    "MIT",
    "Apache-2.0",
    "BSD-3-Clause",
    "BSD-2-Clause",
    "ISC",
    "Zlib",
    "0BSD",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "BSL-1.0",
    "Unlicense",
    "CC0-1.0",
];

/// Licence family, for conflict checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Family {
    Permissive,
    WeakCopyleft,
    StrongCopyleft,
    Unknown,
}

fn family(req: &spdx::LicenseReq) -> Family {
    match &req.license {
        spdx::LicenseItem::Other(_) => Family::Unknown,
        spdx::LicenseItem::Spdx { id, .. } => {
            let name = id.name;
            if ["GPL-", "AGPL-", "SSPL-", "LGPL-"]
                .iter()
                .any(|p| name.starts_with(p))
            {
                Family::StrongCopyleft
            } else if ["MPL-", "EPL-", "CDDL-"]
                .iter()
                .any(|p| name.starts_with(p))
            {
                Family::WeakCopyleft
            } else {
                Family::Permissive
            }
        }
    }
}

/// Disjunctive normal form: alternatives, each a list of requirements that all apply.
fn alternatives(expr: &spdx::Expression) -> Vec<Vec<spdx::LicenseReq>> {
    let mut stack: Vec<Vec<Vec<spdx::LicenseReq>>> = Vec::new();
    for node in expr.iter() {
        match node {
            spdx::expression::ExprNode::Req(r) => stack.push(vec![vec![r.req.clone()]]),
            spdx::expression::ExprNode::Op(op) => {
                let (Some(b), Some(a)) = (stack.pop(), stack.pop()) else {
                    return Vec::new();
                };
                match op {
                    spdx::expression::Operator::Or => {
                        let mut both = a;
                        both.extend(b);
                        stack.push(both);
                    }
                    spdx::expression::Operator::And => {
                        let mut product = Vec::new();
                        for x in &a {
                            for y in &b {
                                let mut joined = x.clone();
                                joined.extend(y.iter().cloned());
                                product.push(joined);
                            }
                        }
                        stack.push(product);
                    }
                }
            }
        }
    }
    stack.pop().unwrap_or_default()
}

fn render(alt: &[spdx::LicenseReq]) -> String {
    alt.iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The expression rebuilt from its alternatives (normalises lax syntax such as `MIT/Apache-2.0`).
fn normalized(alts: &[Vec<spdx::LicenseReq>]) -> String {
    let parts: Vec<String> = alts
        .iter()
        .map(|alt| {
            let s = render(alt);
            if alt.len() > 1 && alts.len() > 1 {
                format!("({s})")
            } else {
                s
            }
        })
        .collect();
    parts.join(" OR ")
}

fn licensees(ids: &[String]) -> Vec<spdx::Licensee> {
    ids.iter()
        .filter_map(|id| spdx::Licensee::parse(id).ok())
        .collect()
}

fn is_gpl2_only(req: &spdx::LicenseReq) -> bool {
    matches!(&req.license, spdx::LicenseItem::Spdx { id, or_later: false }
        if id.name == "GPL-2.0-only" || id.name == "GPL-2.0")
}

/// Licences GPL-2.0-only cannot be combined with in one binary (FSF's list).
fn gpl2_incompatible(req: &spdx::LicenseReq) -> bool {
    match &req.license {
        spdx::LicenseItem::Spdx { id, .. } => [
            "Apache-2.0",
            "GPL-3.0",
            "AGPL-3.0",
            "LGPL-3.0",
            "MPL-1.1",
            "EPL-1.0",
            "EPL-2.0",
            "CDDL-1.0",
        ]
        .iter()
        .any(|p| id.name.starts_with(p)),
        spdx::LicenseItem::Other(_) => false,
    }
}

fn parse_expression(s: &str) -> Result<(spdx::Expression, bool), String> {
    match spdx::Expression::parse(s) {
        Ok(e) => Ok((e, false)),
        Err(strict) => match spdx::Expression::parse_mode(s, spdx::ParseMode::LAX) {
            Ok(e) => Ok((e, true)),
            Err(_) => Err(strict.to_string()),
        },
    }
}

fn sha256_hex(path: &camino::Utf8Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(format!("{:x}", sha2::Sha256::digest(&bytes)))
}

/// Evaluates `candidates` under `policy` for a plugin licensed `plugin_license`.
pub fn check(
    plugin_license: Option<&str>,
    candidates: &[Candidate<'_>],
    policy: &LicenseConfig,
) -> LicenseReport {
    let allow = policy.allow.as_deref().map(licensees);
    let deny = licensees(policy.deny.as_deref().unwrap_or_default());
    let default_pref = licensees(
        &DEFAULT_PREFERENCE
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<_>>(),
    );
    let ignore_private = policy.ignore_private.unwrap_or(true);
    let mut findings = Vec::new();

    let plugin_expr = plugin_license.and_then(|l| parse_expression(l).ok().map(|(e, _)| e));
    let plugin_alts = plugin_expr.as_ref().map(alternatives).unwrap_or_default();
    let plugin_permissive = plugin_alts.is_empty()
        || plugin_alts
            .iter()
            .any(|alt| alt.iter().all(|r| family(r) == Family::Permissive));

    let mut packages = Vec::new();
    // Concluded requirements of every crate, for the pairwise check.
    let mut concluded_reqs: Vec<(String, spdx::LicenseReq)> = Vec::new();
    if let Some(alt) = plugin_alts.first() {
        for r in alt {
            concluded_reqs.push(("the plugin".to_owned(), r.clone()));
        }
    }

    let mut sorted: Vec<&Candidate<'_>> = candidates.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.package.name, &a.package.version).cmp(&(&b.package.name, &b.package.version))
    });
    for cand in sorted {
        let pkg = cand.package;
        let finding = |code: Code, message: String| LicenseFinding {
            code,
            package: Some(pkg.name.clone()),
            version: Some(pkg.version.clone()),
            message,
        };
        let mut decision = LicenseDecision {
            name: pkg.name.clone(),
            version: pkg.version.clone(),
            declared: pkg.license.clone(),
            expression: None,
            source: "none".to_owned(),
            concluded: None,
            verdict: Verdict::Rejected,
        };
        if cand.private && ignore_private {
            decision.verdict = Verdict::IgnoredPrivate;
            packages.push(decision);
            continue;
        }
        // Clarification first: it replaces whatever is declared.
        let mut text: Option<String> = None;
        let mut clarified = false;
        for c in policy.clarify.iter().flatten() {
            if c.krate != pkg.name || c.version.as_ref().is_some_and(|v| *v != pkg.version) {
                continue;
            }
            let mismatch = c.license_files.iter().find_map(|f| {
                let want = f.hash.strip_prefix("sha256:").unwrap_or(&f.hash);
                let got = pkg
                    .package_dir
                    .as_ref()
                    .and_then(|d| sha256_hex(&d.join(&f.path)));
                match got {
                    Some(h) if h.eq_ignore_ascii_case(want) => None,
                    Some(h) => Some(format!("{} has sha256 {h}, clarify expects {want}", f.path)),
                    None => Some(format!("{} cannot be read", f.path)),
                }
            });
            match mismatch {
                None => {
                    text = Some(c.expression.clone());
                    clarified = true;
                }
                Some(why) => findings.push(finding(
                    Code::LicenseClarifyMismatch,
                    format!("clarification not applied: {why}"),
                )),
            }
        }
        if text.is_none() {
            text = pkg.license.clone();
        }
        let Some(text) = text else {
            let message = match &pkg.license_file {
                Some(file) => format!(
                    "no SPDX licence, only license-file `{file}`; add a `clarify` entry with its hash"
                ),
                None => "no licence declared".to_owned(),
            };
            findings.push(finding(Code::LicenseUnknown, message));
            packages.push(decision);
            continue;
        };
        let (expr, lax) = match parse_expression(&text) {
            Ok(parsed) => parsed,
            Err(e) => {
                findings.push(finding(
                    Code::LicenseUnknown,
                    format!("`{text}` is not an SPDX expression: {e}"),
                ));
                packages.push(decision);
                continue;
            }
        };
        let alts = alternatives(&expr);
        let shown = normalized(&alts);
        decision.expression = Some(shown.clone());
        decision.source = if clarified {
            "clarified"
        } else if lax {
            "lax-parsed"
        } else {
            "declared"
        }
        .to_owned();
        if lax {
            findings.push(finding(
                Code::LicenseLax,
                format!("`{text}` is not valid SPDX; read as `{shown}`"),
            ));
        }
        let exceptions: Vec<spdx::Licensee> = policy
            .exceptions
            .iter()
            .flatten()
            .filter(|e| e.krate == pkg.name)
            .flat_map(|e| licensees(&e.allow))
            .collect();
        let excepted = |r: &spdx::LicenseReq| exceptions.iter().any(|l| l.satisfies(r));
        let denied = |r: &spdx::LicenseReq| deny.iter().any(|l| l.satisfies(r));
        // Rank of one requirement: its position in the preference list; None = not allowed.
        let rank = |r: &spdx::LicenseReq| -> Option<usize> {
            if excepted(r) {
                return Some(allow.as_ref().map_or(0, Vec::len) + DEFAULT_PREFERENCE.len());
            }
            if denied(r) {
                return None;
            }
            match &allow {
                Some(list) => list.iter().position(|l| l.satisfies(r)),
                None => Some(
                    default_pref
                        .iter()
                        .position(|l| l.satisfies(r))
                        .unwrap_or(DEFAULT_PREFERENCE.len()),
                ),
            }
        };
        let conflict = |r: &spdx::LicenseReq| -> Option<Code> {
            if excepted(r) {
                return None;
            }
            match family(r) {
                Family::StrongCopyleft if plugin_permissive => Some(Code::LicenseCopyleft),
                Family::Unknown if !clarified => Some(Code::LicenseUnknown),
                _ => None,
            }
        };
        let best = alts
            .iter()
            .filter_map(|alt| {
                let ranks: Option<Vec<usize>> = alt.iter().map(rank).collect();
                let worst = ranks?.into_iter().max().unwrap_or(0);
                let conflicts = alt.iter().filter(|r| conflict(r).is_some()).count();
                Some(((conflicts, worst, alt.len(), render(alt)), alt))
            })
            .min_by(|a, b| a.0.cmp(&b.0));
        match best {
            None => {
                let any_denied = alts.iter().flatten().any(denied);
                let (code, why) = if any_denied {
                    (Code::LicenseDenied, "is denied by the policy")
                } else {
                    (Code::LicenseNotAllowed, "is not in the policy's allow list")
                };
                findings.push(finding(code, format!("`{shown}` {why}")));
            }
            Some((_, alt)) => {
                let chosen = render(alt);
                decision.concluded = Some(chosen.clone());
                decision.verdict = Verdict::Allowed;
                for r in alt {
                    match conflict(r) {
                        Some(Code::LicenseCopyleft) => {
                            decision.verdict = Verdict::Rejected;
                            findings.push(finding(
                                Code::LicenseCopyleft,
                                format!(
                                    "`{r}` is copyleft and is linked statically into a plugin licensed `{}`",
                                    plugin_license.unwrap_or("(none: proprietary)")
                                ),
                            ));
                        }
                        Some(code) => {
                            decision.verdict = Verdict::Rejected;
                            findings.push(finding(
                                code,
                                format!("`{r}` is not a known licence; add a `clarify` entry"),
                            ));
                        }
                        None if family(r) == Family::WeakCopyleft && !excepted(r) => {
                            findings.push(finding(
                                Code::LicenseWeakCopyleft,
                                format!(
                                    "`{r}` is file-level copyleft: ship its source files' notices and changes"
                                ),
                            ));
                        }
                        None => {}
                    }
                    concluded_reqs.push((format!("{} {}", pkg.name, pkg.version), r.clone()));
                }
            }
        }
        packages.push(decision);
    }

    // Pairwise incompatibilities among everything linked into the one binary.
    let mut seen = BTreeSet::new();
    for (who_a, a) in &concluded_reqs {
        if !is_gpl2_only(a) {
            continue;
        }
        for (who_b, b) in &concluded_reqs {
            if who_a != who_b && gpl2_incompatible(b) && seen.insert((who_a.clone(), who_b.clone()))
            {
                findings.push(LicenseFinding {
                    code: Code::LicenseIncompatible,
                    package: None,
                    version: None,
                    message: format!(
                        "{who_a} is `{a}` and {who_b} is `{b}`: they cannot be combined in one binary"
                    ),
                });
            }
        }
    }

    findings.sort_by(|a, b| {
        (&a.package, &a.version, a.code, &a.message)
            .cmp(&(&b.package, &b.version, b.code, &b.message))
    });
    LicenseReport {
        plugin_license: plugin_license.map(str::to_owned),
        plugin_permissive,
        packages,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::depset::Scope;

    fn pkg(name: &str, license: Option<&str>) -> DepPackage {
        DepPackage {
            id: format!("{name} 1.0.0"),
            name: name.to_owned(),
            version: "1.0.0".to_owned(),
            source: None,
            local_path: None,
            checksum: None,
            lock_line: None,
            license: license.map(str::to_owned),
            license_file: None,
            package_dir: None,
            authors: vec![],
            description: None,
            repository: None,
            homepage: None,
            documentation: None,
            scope: Scope::Required,
            features: vec![],
            kinds: vec![],
            path_from_root: vec!["p".to_owned(), name.to_owned()],
            is_root: false,
        }
    }

    fn run(plugin: &str, pkgs: &[DepPackage], policy: &LicenseConfig) -> LicenseReport {
        let cands: Vec<Candidate<'_>> = pkgs
            .iter()
            .map(|p| Candidate {
                package: p,
                private: false,
            })
            .collect();
        check(Some(plugin), &cands, policy)
    }

    fn codes(r: &LicenseReport) -> Vec<Code> {
        r.findings.iter().map(|f| f.code).collect()
    }

    #[test]
    fn or_expression_records_most_preferred_branch() {
        let policy = LicenseConfig {
            allow: Some(vec!["Apache-2.0".to_owned(), "MIT".to_owned()]),
            ..Default::default()
        };
        let r = run("MIT", &[pkg("dual", Some("MIT OR Apache-2.0"))], &policy);
        assert!(r.findings.is_empty(), "{r:?}");
        assert_eq!(r.packages[0].concluded.as_deref(), Some("Apache-2.0"));
        let r = run(
            "MIT",
            &[pkg("dual", Some("MIT OR Apache-2.0"))],
            &LicenseConfig::default(),
        );
        assert_eq!(r.packages[0].concluded.as_deref(), Some("MIT"));
    }

    #[test]
    fn gpl_in_mit_plugin_is_error_but_fine_in_gpl_plugin() {
        let deps = [pkg("g", Some("GPL-3.0-only"))];
        let r = run("MIT", &deps, &LicenseConfig::default());
        assert_eq!(codes(&r), vec![Code::LicenseCopyleft]);
        let r = run("GPL-3.0-or-later", &deps, &LicenseConfig::default());
        assert!(r.findings.is_empty(), "{r:?}");
        let r = run(
            "MIT",
            &[pkg("l", Some("LGPL-2.1-or-later"))],
            &LicenseConfig::default(),
        );
        assert_eq!(codes(&r), vec![Code::LicenseCopyleft]);
    }

    #[test]
    fn copyleft_branch_avoided_when_permissive_branch_exists() {
        let r = run(
            "MIT",
            &[pkg("x", Some("GPL-3.0-only OR MIT"))],
            &LicenseConfig::default(),
        );
        assert!(r.findings.is_empty(), "{r:?}");
        assert_eq!(r.packages[0].concluded.as_deref(), Some("MIT"));
    }

    #[test]
    fn weak_copyleft_warns_unknown_errors_lax_warns() {
        let r = run(
            "MIT",
            &[pkg("m", Some("MPL-2.0"))],
            &LicenseConfig::default(),
        );
        assert_eq!(codes(&r), vec![Code::LicenseWeakCopyleft]);
        let r = run(
            "MIT",
            &[pkg("u", Some("LicenseRef-Proprietary"))],
            &LicenseConfig::default(),
        );
        assert_eq!(codes(&r), vec![Code::LicenseUnknown]);
        let r = run("MIT", &[pkg("n", None)], &LicenseConfig::default());
        assert_eq!(codes(&r), vec![Code::LicenseUnknown]);
        let r = run(
            "MIT",
            &[pkg("b", Some("Apache 2.0"))],
            &LicenseConfig::default(),
        );
        assert_eq!(codes(&r), vec![Code::LicenseLax], "{r:?}");
        assert_eq!(r.packages[0].source, "lax-parsed");
        let r = run("MIT", &[pkg("b", Some("BSD"))], &LicenseConfig::default());
        assert_eq!(codes(&r), vec![Code::LicenseLax], "{r:?}");
        assert!(
            r.packages[0]
                .concluded
                .as_deref()
                .unwrap()
                .starts_with("BSD-"),
            "{r:?}"
        );
        let r = run(
            "MIT",
            &[pkg("b", Some("MIT/Apache-2.0"))],
            &LicenseConfig::default(),
        );
        assert_eq!(
            r.packages[0].expression.as_deref(),
            Some("MIT OR Apache-2.0")
        );
    }

    #[test]
    fn allow_deny_and_exceptions() {
        let policy = LicenseConfig {
            allow: Some(vec!["MIT".to_owned()]),
            deny: Some(vec!["Zlib".to_owned()]),
            exceptions: Some(vec![LicenseException {
                krate: "special".to_owned(),
                allow: vec!["BSL-1.0".to_owned()],
            }]),
            ..Default::default()
        };
        let r = run(
            "MIT",
            &[
                pkg("special", Some("BSL-1.0")),
                pkg("other", Some("BSL-1.0")),
                pkg("z", Some("Zlib")),
            ],
            &policy,
        );
        assert_eq!(
            codes(&r),
            vec![Code::LicenseNotAllowed, Code::LicenseDenied],
            "{r:?}"
        );
        assert_eq!(r.packages[1].name, "special");
        assert_eq!(r.packages[1].verdict, Verdict::Allowed);
    }

    #[test]
    fn gpl2_only_with_apache_is_incompatible() {
        let r = run(
            "GPL-2.0-only",
            &[pkg("a", Some("Apache-2.0"))],
            &LicenseConfig::default(),
        );
        assert_eq!(codes(&r), vec![Code::LicenseIncompatible], "{r:?}");
        let r = run(
            "GPL-2.0-or-later",
            &[pkg("a", Some("Apache-2.0"))],
            &LicenseConfig::default(),
        );
        assert!(r.findings.is_empty(), "{r:?}");
    }

    #[test]
    fn private_crates_are_skipped_unless_configured() {
        let p = pkg("internal", None);
        let cands = [Candidate {
            package: &p,
            private: true,
        }];
        let r = check(Some("MIT"), &cands, &LicenseConfig::default());
        assert!(r.findings.is_empty());
        assert_eq!(r.packages[0].verdict, Verdict::IgnoredPrivate);
        let policy = LicenseConfig {
            ignore_private: Some(false),
            ..Default::default()
        };
        let r = check(Some("MIT"), &cands, &policy);
        assert_eq!(codes(&r), vec![Code::LicenseUnknown]);
    }

    #[test]
    fn clarification_needs_matching_licence_file_hash() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = camino::Utf8Path::from_path(tmp.path()).unwrap();
        std::fs::write(dir.join("LICENSE"), "MIT licence text\n").unwrap();
        let mut p = pkg("c", None);
        p.license_file = Some("LICENSE".to_owned());
        p.package_dir = Some(dir.to_owned());
        let good = format!("{:x}", sha2::Sha256::digest(b"MIT licence text\n"));
        let policy = |hash: &str| LicenseConfig {
            clarify: Some(vec![Clarification {
                krate: "c".to_owned(),
                version: None,
                expression: "MIT".to_owned(),
                license_files: vec![ClarifyFile {
                    path: "LICENSE".to_owned(),
                    hash: hash.to_owned(),
                }],
            }]),
            ..Default::default()
        };
        let r = run("MIT", std::slice::from_ref(&p), &policy(&good));
        assert!(r.findings.is_empty(), "{r:?}");
        assert_eq!(r.packages[0].source, "clarified");
        let r = run("MIT", std::slice::from_ref(&p), &policy(&"0".repeat(64)));
        assert_eq!(
            codes(&r),
            vec![Code::LicenseUnknown, Code::LicenseClarifyMismatch],
            "{r:?}"
        );
    }
}
