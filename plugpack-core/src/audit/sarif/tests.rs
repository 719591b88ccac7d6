use serde_json::Value;

use super::*;
use crate::audit::{
    FindingPackage, Outcome, SCHEMA, Severity, SeverityLevel, Summary, Suppression,
};

fn finding(code: Code, level: Level, message: &str) -> Finding {
    Finding::simple(code, level, message.to_owned())
}

fn on(mut f: Finding, name: &str, version: &str, line: Option<usize>) -> Finding {
    f.package = Some(FindingPackage {
        name: name.to_owned(),
        version: version.to_owned(),
        lock_line: line,
    });
    f
}

fn report(plugin: Option<&str>, findings: Vec<Finding>) -> AuditReport {
    AuditReport {
        schema: SCHEMA.to_owned(),
        tool: "plugpack test".to_owned(),
        plugin: plugin.map(str::to_owned),
        version: plugin.map(|_| "1.0.0".to_owned()),
        mode: "artifacts".to_owned(),
        targets: Vec::new(),
        exact: true,
        lockfile: Some("Cargo.lock".to_owned()),
        advisories: AdvisoryStatus::Checked,
        database: None,
        packages_scanned: 3,
        findings,
        yanked: None,
        licenses: None,
        ignores: Vec::new(),
        summary: Summary::default(),
        outcome: Outcome::Denied,
    }
}

/// A report with every kind of finding the renderer distinguishes.
fn mixed(stale_days: u32) -> Vec<AuditReport> {
    let mut vuln = on(
        finding(
            Code::Vulnerability,
            Level::Deny,
            "Buffer overflow in SmallVec::insert_many",
        ),
        "smallvec",
        "1.6.0",
        Some(42),
    );
    vuln.id = Some("RUSTSEC-2021-0003".to_owned());
    vuln.aliases = vec!["CVE-2021-25900".to_owned()];
    vuln.patched = vec![">= 1.6.1".to_owned()];
    vuln.url = Some("https://rustsec.org/advisories/RUSTSEC-2021-0003".to_owned());
    vuln.severity = Some(Severity {
        score: 9.8,
        rating: SeverityLevel::Critical,
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".to_owned(),
    });
    let mut unscored = on(
        finding(Code::Vulnerability, Level::Deny, "no score"),
        "other",
        "0.1.0",
        Some(7),
    );
    unscored.id = Some("RUSTSEC-2099-0001".to_owned());
    let mut ignored = on(
        finding(Code::Unmaintained, Level::Warn, "unmaintained"),
        "old",
        "0.2.0",
        Some(12),
    );
    ignored.id = Some("RUSTSEC-2099-0002".to_owned());
    ignored.ignored = Some(Suppression {
        reason: "not reachable".to_owned(),
        until: None,
        vex: None,
    });
    vec![
        report(
            Some("plug"),
            vec![
                vuln,
                unscored,
                ignored,
                // A licence finding on a path crate: no lockfile line.
                on(
                    finding(Code::LicenseUnknown, Level::Deny, "no licence"),
                    "local",
                    "0.1.0",
                    None,
                ),
                finding(
                    Code::IgnoreUnused,
                    Level::Warn,
                    "ignore of RUSTSEC-1 matched no finding",
                ),
                finding(
                    Code::StaleDb,
                    Level::Warn,
                    &format!("the advisory database is {stale_days} days old"),
                ),
                finding(
                    Code::MalformedAdvisory,
                    Level::Warn,
                    "crates/x/RUSTSEC-bad.md: not TOML",
                ),
            ],
        ),
        report(None, vec![finding(Code::NoDb, Level::Warn, "no database")]),
    ]
}

/// GitHub code scanning's own rules for an upload (beyond the schema): every result has a
/// physical location with a relative URI and a line, a rule id that names a rule, and a
/// fingerprint; every rule has the texts GitHub shows.
pub(crate) fn github_problems(sarif: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for run in sarif["runs"].as_array().unwrap() {
        let rules: Vec<&Value> = run["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .collect();
        for rule in &rules {
            for key in ["shortDescription", "fullDescription", "help"] {
                if rule[key]["text"].as_str().is_none_or(str::is_empty) {
                    problems.push(format!("rule {} has no {key}", rule["id"]));
                }
            }
        }
        for (i, r) in run["results"].as_array().unwrap().iter().enumerate() {
            let id = r["ruleId"].as_str().unwrap_or_default();
            if !rules.iter().any(|rule| rule["id"] == id) {
                problems.push(format!("result {i}: rule id {id:?} names no rule"));
            }
            let Some(loc) = r["locations"][0]["physicalLocation"].as_object() else {
                problems.push(format!("result {i}: no physicalLocation"));
                continue;
            };
            let uri = loc["artifactLocation"]["uri"].as_str().unwrap_or_default();
            if uri.is_empty() || uri.starts_with('/') || uri.contains("://") || uri.contains('\\') {
                problems.push(format!(
                    "result {i}: uri {uri:?} is not repository-relative"
                ));
            }
            if loc["region"]["startLine"].as_u64().is_none_or(|l| l < 1) {
                problems.push(format!("result {i}: no startLine"));
            }
            if r["partialFingerprints"]
                .as_object()
                .is_none_or(|m| m.is_empty())
            {
                problems.push(format!("result {i}: no partialFingerprints"));
            }
        }
    }
    problems
}

fn schema_errors(sarif: &Value) -> Vec<String> {
    let schema: Value = serde_json::from_str(include_str!(
        "../../../../tests/data/schemas/sarif-schema-2.1.0.json"
    ))
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    validator
        .iter_errors(sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

#[test]
fn valid_and_accepted_by_github_rules() {
    let sarif = render_with(
        &mixed(100),
        &Options {
            uri_prefix: "plugins/".to_owned(),
        },
    );
    assert_eq!(schema_errors(&sarif), Vec::<String>::new());
    assert_eq!(github_problems(&sarif), Vec::<String>::new());
    let run = &sarif["runs"][0];
    let results = run["results"].as_array().unwrap();
    // Tool notices left the results; the other five stayed.
    assert_eq!(results.len(), 5, "{results:#?}");
    let vuln = &results[0];
    assert_eq!(vuln["ruleId"], "RUSTSEC-2021-0003");
    let loc = &vuln["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "plugins/Cargo.lock");
    assert_eq!(loc["region"]["startLine"], 42);
    let licence = results
        .iter()
        .find(|r| r["ruleId"] == "plugpack/license-unknown")
        .unwrap();
    assert_eq!(
        licence["locations"][0]["physicalLocation"]["region"]["startLine"],
        1
    );
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let rule = |id: &str| rules.iter().find(|r| r["id"] == id).unwrap();
    assert_eq!(
        rule("RUSTSEC-2021-0003")["properties"]["security-severity"],
        "9.8"
    );
    assert_eq!(
        rule("RUSTSEC-2099-0001")["properties"]["security-severity"],
        "7.0"
    );
    assert!(rule("plugpack/license-unknown")["properties"]["security-severity"].is_null());
    let help = rule("RUSTSEC-2021-0003")["help"]["text"].as_str().unwrap();
    assert!(
        help.contains(">= 1.6.1") && help.contains("CVE-2021-25900"),
        "{help}"
    );
    // Ignored findings stay, suppressed.
    let ignored = results
        .iter()
        .find(|r| r["ruleId"] == "RUSTSEC-2099-0002")
        .unwrap();
    assert_eq!(ignored["suppressions"][0]["justification"], "not reachable");
    // The notices: stale and missing database, malformed advisory.
    let notes = run["invocations"][0]["toolConfigurationNotifications"]
        .as_array()
        .unwrap();
    let ids: Vec<&str> = notes
        .iter()
        .map(|n| n["descriptor"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "plugpack/stale-db",
            "plugpack/malformed-advisory",
            "plugpack/no-db"
        ]
    );
    assert!(
        rules
            .iter()
            .all(|r| !r["id"].as_str().unwrap().ends_with("-db"))
    );
    // The checker really checks: a result without a location, an absolute URI and an
    // unknown rule id are each reported.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][1]
        .as_object_mut()
        .unwrap()
        .remove("locations");
    broken["runs"][0]["results"][2]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
        "/abs/Cargo.lock".into();
    broken["runs"][0]["results"][3]["ruleId"] = "nope".into();
    assert_eq!(
        github_problems(&broken).len(),
        3,
        "{:#?}",
        github_problems(&broken)
    );
}

#[test]
fn fingerprints_are_stable_across_runs() {
    let fingerprints = |sarif: &Value| -> Vec<Value> {
        sarif["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["partialFingerprints"].clone())
            .collect()
    };
    // A day later the database is a day older; no result changes.
    let a = render(&mixed(100));
    let b = render(&mixed(101));
    assert_eq!(a["runs"][0]["results"], b["runs"][0]["results"]);
    let prints = fingerprints(&a);
    let mut unique = prints.clone();
    unique.sort_by_key(|v| v.to_string());
    unique.dedup();
    assert_eq!(unique.len(), prints.len(), "{prints:#?}");
    assert_eq!(
        prints[0]["plugpack/v1"],
        "plug/RUSTSEC-2021-0003/smallvec/1.6.0"
    );
}

#[test]
fn uri_prefix_is_the_path_below_the_repository_top() {
    let dir = tempfile::tempdir().unwrap();
    let root = Utf8Path::from_path(dir.path()).unwrap();
    std::fs::create_dir_all(root.join("repo/.git")).unwrap();
    std::fs::create_dir_all(root.join("repo/a/b")).unwrap();
    assert_eq!(uri_prefix_for(&root.join("repo")), "");
    assert_eq!(uri_prefix_for(&root.join("repo/a/b")), "a/b/");
    // A worktree's `.git` is a file.
    std::fs::create_dir_all(root.join("wt/sub")).unwrap();
    std::fs::write(root.join("wt/.git"), "gitdir: elsewhere\n").unwrap();
    assert_eq!(uri_prefix_for(&root.join("wt/sub")), "sub/");
}
