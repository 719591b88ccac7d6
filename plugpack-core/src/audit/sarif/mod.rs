//! SARIF 2.1.0 rendering of audit reports, in the shape GitHub code scanning accepts.
//!
//! - Rule ids are stable: the advisory id (`RUSTSEC-…`) for advisory findings,
//!   `plugpack/<code>` for everything else. Every rule has `shortDescription`,
//!   `fullDescription` and `help` (text and Markdown); vulnerability rules carry
//!   `properties.security-severity` (the CVSS base score; 7.0 when the advisory has none) so
//!   GitHub ranks them.
//! - Every result has a `physicalLocation` whose `uri` is relative to the repository root
//!   (`%SRCROOT%`; see [`Options::uri_prefix`]): results that concern a crate point at its
//!   `[[package]]` line in `Cargo.lock`, the rest at line 1 of it. Upload-sarif rejects a whole
//!   file with one location-less result.
//! - Notices about the tool's own configuration (no or stale advisory database, a malformed
//!   advisory file) are not results: they go to `invocations[0].toolConfigurationNotifications`
//!   (their descriptors in `tool.driver.notifications`), so a day-dependent message such as the
//!   database's age never becomes a new alert.
//! - `partialFingerprints["plugpack/v1"]` is built from stable parts only (plugin, rule, crate,
//!   version; a hash of the message for findings without a crate), so alerts survive re-runs.
//! - The run's `properties` carry the verdicts (`plugpack-verdict`, the worst;
//!   `plugpack-advisories`, `not-checked` when any report was made without a database;
//!   `plugpack-audits`, one entry per report).

use std::collections::BTreeMap;

use camino::Utf8Path;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{AdvisoryStatus, AuditReport, Code, Finding, Level};

const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// How URIs are written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Path of the reports' base directory (the workspace root, or the directory of a
    /// `--lockfile`) relative to the repository root, with a trailing `/`, or empty when it
    /// is the repository root. Prepended to each report's `lockfile`. See [`uri_prefix_for`].
    pub uri_prefix: String,
}

/// The [`Options::uri_prefix`] for reports whose paths are relative to `dir`: `dir` relative
/// to the nearest enclosing git work tree (the first ancestor holding `.git`, a directory or
/// a worktree's file). Empty when `dir` is the top or there is no repository. Reads only the
/// file system.
pub fn uri_prefix_for(dir: &Utf8Path) -> String {
    let dir = dir.canonicalize_utf8().unwrap_or_else(|_| dir.to_owned());
    let Some(top) = dir.ancestors().find(|a| a.join(".git").exists()) else {
        return String::new();
    };
    match dir.strip_prefix(top) {
        Ok(rel) if !rel.as_str().is_empty() => {
            let parts: Vec<&str> = rel.components().map(|c| c.as_str()).collect();
            format!("{}/", parts.join("/"))
        }
        _ => String::new(),
    }
}

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

/// Findings about plugpack's own inputs rather than the project's code.
fn is_tool_notice(code: Code) -> bool {
    matches!(code, Code::StaleDb | Code::NoDb | Code::MalformedAdvisory)
}

fn short_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn rule_for(f: &Finding, id: &str) -> Value {
    let mut tags = vec![f.code.as_str()];
    if f.id.is_some() || f.code == Code::Yanked {
        tags.insert(0, "security");
    }
    let mut properties = json!({ "tags": tags });
    if let Some(sev) = &f.severity {
        properties["security-severity"] = json!(format!("{:.1}", sev.score));
    } else if f.code == Code::Vulnerability {
        // No CVSS: GitHub treats a missing score as no severity; say "high" by default.
        properties["security-severity"] = json!("7.0");
    }
    let short = if f.id.is_some() {
        f.message.clone()
    } else {
        f.code.description().to_owned()
    };
    let mut text = format!("{}.", f.code.description());
    let mut markdown = format!("**{}**: {}.", f.code.as_str(), f.code.description());
    if f.id.is_some() {
        text = format!("{id}: {}. {text}", f.message);
        markdown = format!("**{id}**: {}\n\n{markdown}", md_text(&f.message));
        if !f.aliases.is_empty() {
            text.push_str(&format!(" Aliases: {}.", f.aliases.join(", ")));
            markdown.push_str(&format!("\n\nAliases: {}", md_text(&f.aliases.join(", "))));
        }
        if !f.patched.is_empty() {
            text.push_str(&format!(" Patched: {}.", f.patched.join("; ")));
            markdown.push_str(&format!(
                "\n\nPatched versions: `{}`",
                f.patched.join("; ").replace('`', "'")
            ));
        } else if f.code == Code::Vulnerability {
            text.push_str(" No patched version.");
            markdown.push_str("\n\nNo patched version.");
        }
    }
    if let Some(url) = &f.url {
        text.push_str(&format!(" See {url}"));
        markdown.push_str(&format!("\n\nSee <{}>", url.replace(['<', '>'], "")));
    }
    let mut rule = json!({
        "id": id,
        "name": f.code.as_str(),
        "shortDescription": { "text": short },
        "fullDescription": { "text": f.code.description() },
        "help": { "text": text, "markdown": markdown },
        "defaultConfiguration": { "level": sarif_level(f.code.default_level()) },
        "properties": properties,
    });
    if let Some(url) = &f.url {
        rule["helpUri"] = json!(url);
    }
    rule
}

/// Text shown inside Markdown: characters that would start markup are escaped.
fn md_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\`*_[]<>|#!".contains(c) {
            out.push('\\');
        }
        if c.is_control() {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// One SARIF log with one run holding every report's findings, URIs relative to the
/// reports' base directory (see [`render_with`] for repository-relative URIs).
pub fn render(reports: &[AuditReport]) -> Value {
    render_with(reports, &Options::default())
}

/// One SARIF log with one run holding every report's findings.
pub fn render_with(reports: &[AuditReport], options: &Options) -> Value {
    let mut rules: BTreeMap<String, Value> = BTreeMap::new();
    let mut notification_rules: BTreeMap<String, Value> = BTreeMap::new();
    let mut notifications = Vec::new();
    let mut results = Vec::new();
    for report in reports {
        let lockfile = format!(
            "{}{}",
            options.uri_prefix,
            report.lockfile.as_deref().unwrap_or("Cargo.lock")
        );
        let subject = report.plugin.as_deref().unwrap_or("lockfile");
        for f in &report.findings {
            let id = rule_id(f);
            if is_tool_notice(f.code) {
                notification_rules.entry(id.clone()).or_insert_with(|| {
                    json!({
                        "id": id,
                        "name": f.code.as_str(),
                        "shortDescription": { "text": f.code.description() },
                    })
                });
                notifications.push(json!({
                    "descriptor": { "id": id },
                    "level": sarif_level(f.level),
                    "message": { "text": format!("{subject}: {}", f.message) },
                }));
                continue;
            }
            rules.entry(id.clone()).or_insert_with(|| rule_for(f, &id));
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
            if report.plugin.is_some() {
                text = format!("{subject}: {text}");
            }
            let line = f.package.as_ref().and_then(|p| p.lock_line).unwrap_or(1);
            let key = match &f.package {
                Some(p) => format!("{subject}/{id}/{}/{}", p.name, p.version),
                None => format!("{subject}/{id}/{}", short_hash(&f.message)),
            };
            let mut result = json!({
                "ruleId": id,
                "level": sarif_level(f.level),
                "message": { "text": text },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": lockfile, "uriBaseId": "%SRCROOT%" },
                        "region": { "startLine": line }
                    }
                }],
                "partialFingerprints": { "plugpack/v1": key },
            });
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
    let mut driver = json!({
        "name": "plugpack",
        "version": env!("CARGO_PKG_VERSION"),
        "informationUri": "https://github.com/plugpack/plugpack",
        "rules": rules.into_values().collect::<Vec<_>>(),
    });
    if !notification_rules.is_empty() {
        driver["notifications"] = json!(notification_rules.into_values().collect::<Vec<_>>());
    }
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": driver },
            "invocations": [{
                "executionSuccessful": true,
                "toolConfigurationNotifications": notifications,
            }],
            "results": results,
            "properties": {
                "plugpack-verdict": verdict.map(|v| v.as_str()),
                "plugpack-advisories": advisories,
                "plugpack-audits": audits,
            },
        }]
    })
}

#[cfg(test)]
mod tests;
