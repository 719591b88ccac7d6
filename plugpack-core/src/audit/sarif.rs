//! SARIF 2.1.0 rendering of audit reports. Rule ids are stable: the advisory id
//! (`RUSTSEC-…`) for advisory findings, `plugpack/<code>` for everything else. Results that
//! concern a crate are located at its `[[package]]` line in `Cargo.lock` (relative to
//! `%SRCROOT%`, the workspace root); vulnerability rules carry `security-severity`. The run's
//! `properties` carry the verdicts (`plugpack-verdict`, the worst; `plugpack-advisories`,
//! `not-checked` when any report was made without a database; `plugpack-audits`, one entry
//! per report).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{AdvisoryStatus, AuditReport, Code, Finding, Level};

const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn rule_id(f: &Finding) -> String {
    match &f.id {
        Some(id) => id.clone(),
        None => format!("plugpack/{}", f.code.as_str()),
    }
}

fn sarif_level(level: Level) -> &'static str {
    match level {
        Level::Deny => "error",
        Level::Warn => "warning",
        Level::Allow => "note",
    }
}

/// One SARIF log with one run holding every report's findings.
pub fn render(reports: &[AuditReport]) -> Value {
    let mut rules: BTreeMap<String, Value> = BTreeMap::new();
    let mut results = Vec::new();
    for report in reports {
        let lockfile = report
            .lockfile
            .clone()
            .unwrap_or_else(|| "Cargo.lock".to_owned());
        for f in &report.findings {
            let id = rule_id(f);
            rules.entry(id.clone()).or_insert_with(|| {
                let mut properties = json!({ "tags": [f.code.as_str()] });
                if let Some(sev) = &f.severity {
                    properties["security-severity"] = json!(format!("{:.1}", sev.score));
                } else if f.code == Code::Vulnerability {
                    // No CVSS: GitHub treats a missing score as unknown; say "high" by default.
                    properties["security-severity"] = json!("7.0");
                }
                let mut rule = json!({
                    "id": id,
                    "name": f.code.as_str(),
                    "shortDescription": { "text": if f.id.is_some() { f.message.clone() } else { f.code.description().to_owned() } },
                    "fullDescription": { "text": f.code.description() },
                    "defaultConfiguration": { "level": sarif_level(f.code.default_level()) },
                    "properties": properties,
                });
                if let Some(url) = &f.url {
                    rule["helpUri"] = json!(url);
                }
                rule
            });
            let mut text = f.message.clone();
            if let Some(p) = &f.package {
                text = format!("{} {}: {text}", p.name, p.version);
            }
            if f.path.len() > 1 {
                text.push_str(&format!(" (path: {})", f.path.join(" → ")));
            }
            if f.build_only {
                text.push_str(" [build-only]");
            }
            let mut result = json!({
                "ruleId": id,
                "level": sarif_level(f.level),
                "message": { "text": text },
            });
            if let Some(line) = f.package.as_ref().and_then(|p| p.lock_line) {
                result["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": { "uri": lockfile, "uriBaseId": "%SRCROOT%" },
                        "region": { "startLine": line }
                    }
                }]);
            }
            if let Some(p) = &f.package {
                let key = format!(
                    "{}/{}/{}/{}",
                    report.plugin.as_deref().unwrap_or("lockfile"),
                    id,
                    p.name,
                    p.version
                );
                result["partialFingerprints"] = json!({ "plugpack/v1": key });
            }
            if let Some(s) = &f.ignored {
                result["suppressions"] = json!([{ "kind": "external", "justification": s.reason }]);
            }
            results.push(result);
        }
    }
    // The verdicts travel with the results, so a SARIF consumer sees an `unchecked` audit
    // (no advisory database) as such rather than as an empty, clean-looking run.
    let verdict = reports.iter().map(|r| r.outcome).max();
    let audits: Vec<Value> = reports
        .iter()
        .map(|r| {
            json!({
                "plugin": r.plugin,
                "version": r.version,
                "verdict": r.outcome.as_str(),
                "advisories": r.advisories,
            })
        })
        .collect();
    let advisories = if reports
        .iter()
        .all(|r| r.advisories == AdvisoryStatus::Checked)
    {
        "checked"
    } else {
        "not-checked"
    };
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "plugpack",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/plugpack/plugpack",
                "rules": rules.into_values().collect::<Vec<_>>(),
            }},
            "results": results,
            "properties": {
                "plugpack-verdict": verdict.map(|v| v.as_str()),
                "plugpack-advisories": advisories,
                "plugpack-audits": audits,
            },
        }]
    })
}
